/*
 * honnin C API example: verify live photos against card photos.
 *
 *   verify [--models DIR] [--calibration FILE] [--onnxruntime LIB]
 *          [--pad-calibration FILE | --no-pad] CARD LIVE [CARD LIVE ...]
 *
 * Presentation-attack detection (PAD) runs when the PAD models are in the
 * model directory, at the PAD calibration built into honnin, unless
 * --pad-calibration names another or --no-pad turns it off (a terminal with
 * its own PAD sensor). Whether it runs is written to stderr.
 *
 * CARD is a card photo: an image file, ICAO DG2, an ISO/IEC 19794-5 record or
 * My Number card data (the format is sniffed). LIVE is an encoded image. One
 * line per pair:
 *
 *   CARD <tab> LIVE <tab> decision <tab> reason <tab> score <tab> threshold
 *
 * Exit status: 0 when every pair matched, 1 when one did not, 2 when one was
 * inconclusive, 3 on an error (the highest applies), 64 for bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "honnin.h"

int main(int argc, char **argv) {
    honnin_engine_config config;
    if (honnin_engine_config_default(&config) != HONNIN_STATUS_OK) {
        return 3;
    }
    config.models.dir = "models";
    config.calibration.path = "calibration/intel-reid-0095.json";
    /* PAD: HONNIN_PAD_MODE_DEFAULT (on when the PAD models are there) unless chosen. */
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--no-pad") == 0) {
            config.pad_mode = HONNIN_PAD_MODE_OFF;
            config.pad_calibration.path = NULL;
            i -= 1; /* no value */
        } else if (strcmp(argv[i], "--pad-calibration") == 0) {
            config.pad_mode = HONNIN_PAD_MODE_CALIBRATED;
            config.pad_calibration.path = argv[i + 1];
        } else if (strcmp(argv[i], "--models") == 0) {
            config.models.dir = argv[i + 1];
        } else if (strcmp(argv[i], "--calibration") == 0) {
            config.calibration.path = argv[i + 1];
        } else if (strcmp(argv[i], "--onnxruntime") == 0) {
            config.onnxruntime_path = argv[i + 1]; /* else HONNIN_ORT_LIB */
        } else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i]);
            return 64;
        }
    }
    int pairs = argc - i;
    if (pairs < 2 || pairs % 2 != 0) {
        fprintf(stderr,
                "usage: %s [--models DIR] [--calibration FILE] [--onnxruntime LIB] [--pad-calibration FILE | "
                "--no-pad] CARD LIVE [CARD LIVE ...]\n",
                argv[0]);
        return 64;
    }

    honnin_engine *engine = NULL;
    honnin_status status = honnin_engine_create(&config, &engine);
    if (status != HONNIN_STATUS_OK) {
        report("building the engine", status);
        return 3;
    }
    honnin_pad_info pad;
    status = honnin_engine_pad(engine, &pad);
    if (status != HONNIN_STATUS_OK) {
        report("reading the engine's PAD", status);
        honnin_engine_free(engine);
        return 3;
    }
    if (pad.on) {
        fprintf(stderr, "presentation-attack detection: on (liveness threshold %.4f, target BPCER %.2f)\n",
                (double)pad.threshold, pad.target_bpcer);
    } else {
        fprintf(stderr, "presentation-attack detection: off\n");
    }

    int exit_code = 0;
    for (; i + 1 < argc; i += 2) {
        size_t card_len = 0, live_len = 0;
        unsigned char *card = read_file(argv[i], &card_len);
        unsigned char *live = card ? read_file(argv[i + 1], &live_len) : NULL;
        if (card == NULL || live == NULL) {
            wipe_free(card, card_len);
            exit_code = 3;
            continue;
        }
        honnin_outcome outcome;
        status = honnin_engine_verify(engine, card, card_len, live, live_len, &outcome);
        /* honnin has wiped its own copies; wipe ours too. */
        wipe_free(card, card_len);
        wipe_free(live, live_len);
        if (status != HONNIN_STATUS_OK) {
            char what[4096];
            snprintf(what, sizeof what, "%s against %s", argv[i + 1], argv[i]);
            report(what, status);
            exit_code = 3;
            continue;
        }
        printf("%s\t%s\t%s\t%s\t%.9g\t%.9g\n", argv[i], argv[i + 1], decision_word(outcome.decision),
               honnin_reason_code(outcome.reason), (double)outcome.score, (double)outcome.threshold);
        int code = outcome.decision == HONNIN_DECISION_MATCH      ? 0
                   : outcome.decision == HONNIN_DECISION_NO_MATCH ? 1
                                                                  : 2;
        if (code > exit_code) {
            exit_code = code;
        }
    }

    status = honnin_engine_free(engine);
    if (status != HONNIN_STATUS_OK) {
        report("freeing the engine", status);
        return 3;
    }
    /* Every handle made was freed: nothing of it stays in the library. */
    size_t live = 0;
    if (honnin_live_handles(&live) != HONNIN_STATUS_OK || live != 0) {
        fprintf(stderr, "%zu handle(s) still live at exit\n", live);
        return 3;
    }
    return exit_code;
}
