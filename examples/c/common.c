/* Helpers shared by the C examples: reading and wiping face images, and
 * reporting a failed call. */
#define _POSIX_C_SOURCE 200809L /* fileno */

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The largest input file read: honnin's default limit for encoded input. */
#define MAX_FILE_BYTES (32 * 1024 * 1024)

/* Wipes and frees a buffer that held a face image. */
void wipe_free(unsigned char *data, size_t len) {
    if (data == NULL) {
        return;
    }
    volatile unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        p[i] = 0;
    }
    free(data);
}

/* Reads a whole file into one buffer of its size, unbuffered, so that no
 * stdio buffer or outgrown block keeps a copy of the face image. NULL on
 * failure (reported). */
unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    setvbuf(f, NULL, _IONBF, 0);
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > MAX_FILE_BYTES) {
        fprintf(stderr, "%s: not a regular, non-empty file of at most %d bytes\n", path, MAX_FILE_BYTES);
        fclose(f);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *data = malloc(size);
    if (data == NULL) {
        fprintf(stderr, "%s: out of memory\n", path);
        fclose(f);
        return NULL;
    }
    size_t got = fread(data, 1, size, f);
    fclose(f);
    if (got != size) {
        fprintf(stderr, "%s: read %zu of %zu bytes\n", path, got, size);
        wipe_free(data, size);
        return NULL;
    }
    *len = size;
    return data;
}

/* Prints a failed call's status and detail to stderr. */
void report(const char *what, honnin_status status) {
    char detail[1024];
    size_t written = 0;
    if (honnin_last_error_detail(detail, sizeof detail, &written) != HONNIN_STATUS_OK) {
        detail[0] = '\0';
    }
    /* A longer detail is cut to fit, as snprintf does (written >= sizeof detail). */
    fprintf(stderr, "%s: %s (status %u): %s\n", what, honnin_status_text(status), (unsigned)status, detail);
}

const char *decision_word(honnin_decision d) {
    switch (d) {
    case HONNIN_DECISION_MATCH:
        return "match";
    case HONNIN_DECISION_NO_MATCH:
        return "no_match";
    case HONNIN_DECISION_INCONCLUSIVE:
        return "inconclusive";
    default:
        return "none";
    }
}
