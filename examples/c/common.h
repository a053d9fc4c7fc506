/* Helpers shared by the C examples. */
#ifndef HONNIN_EXAMPLE_COMMON_H
#define HONNIN_EXAMPLE_COMMON_H

#include <stddef.h>

#include "honnin.h"

/* Zeroes a buffer that held a face image (in a way the compiler keeps) and frees it. */
void wipe_free(unsigned char *data, size_t len);

/* Reads a whole file into one buffer of its size, unbuffered, so that no
 * stdio buffer or outgrown block keeps a copy of the face image. NULL on
 * failure (reported on stderr). */
unsigned char *read_file(const char *path, size_t *len);

/* Prints a failed call's status and the library's detail to stderr. */
void report(const char *what, honnin_status status);

/* "match", "no_match", "inconclusive" or "none". */
const char *decision_word(honnin_decision d);

#endif
