/*
 * honnin C API example: one person at the counter, as a terminal runs it.
 *
 *   counter [--models DIR] [--calibration FILE] [--onnxruntime LIB]
 *           [--frames-per-attempt N] --staff same|different|unsure CARD [FRAME ...]
 *
 * The person chooses the face check when frames are given: each FRAME is fed
 * in turn, a binary PPM (P6, as raw RGB pixels with their row stride, the way
 * a camera driver hands frames over) or an encoded image. When the face path
 * closes (non-matches, no usable frame, frames run out) or no frame is given,
 * the staff visual check takes over: the card photo is prepared for the
 * staff's screen, and the staff member's judgement (--staff) decides.
 *
 * Presentation-attack detection runs when the PAD models are in the model
 * directory (HONNIN_PAD_MODE_DEFAULT): frames judged a printed photo or a
 * screen close the face path with fallback 7, and staff decide.
 *
 * Prints one line per step and a last line "DECISION: ...". Exit status: 0
 * match, 1 no match, 2 inconclusive, 3 error, 64 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "honnin.h"

/* Skips whitespace and '#' comments in a PPM header; returns the next number or -1. */
static long ppm_number(const unsigned char *data, size_t len, size_t *at) {
    while (*at < len) {
        if (data[*at] == '#') {
            while (*at < len && data[*at] != '\n') {
                (*at)++;
            }
        } else if (data[*at] == ' ' || data[*at] == '\t' || data[*at] == '\n' || data[*at] == '\r') {
            (*at)++;
        } else {
            break;
        }
    }
    long value = 0;
    size_t start = *at;
    while (*at < len && data[*at] >= '0' && data[*at] <= '9' && *at - start < 7) {
        value = value * 10 + (data[*at] - '0');
        (*at)++;
    }
    return *at > start ? value : -1;
}

/* Feeds one frame file: a P6 PPM as raw RGB pixels, anything else as an encoded image. */
static honnin_status feed_file(honnin_session *session, const char *path, honnin_step *step) {
    size_t len = 0;
    unsigned char *data = read_file(path, &len);
    if (data == NULL) {
        return HONNIN_STATUS_IO;
    }
    honnin_status status;
    if (len > 2 && data[0] == 'P' && data[1] == '6') {
        size_t at = 2;
        long width = ppm_number(data, len, &at);
        long height = ppm_number(data, len, &at);
        long maxval = ppm_number(data, len, &at);
        if (width <= 0 || height <= 0 || maxval != 255 || at >= len) {
            fprintf(stderr, "%s: not an 8-bit binary PPM\n", path);
            wipe_free(data, len);
            return HONNIN_STATUS_INVALID_ARGUMENT;
        }
        at++; /* the one whitespace byte after maxval */
        /* honnin checks that width, height and stride fit the bytes given. */
        status = honnin_session_feed_pixels(session, data + at, len - at, (uint32_t)width, (uint32_t)height,
                                            (size_t)width * 3, HONNIN_PIXEL_FORMAT_RGB8, step);
    } else {
        status = honnin_session_feed_image(session, data, len, step);
    }
    wipe_free(data, len);
    return status;
}

int main(int argc, char **argv) {
    uint32_t judgement = 0;
    honnin_engine_config engine_config;
    honnin_session_options session_options;
    if (honnin_engine_config_default(&engine_config) != HONNIN_STATUS_OK ||
        honnin_session_options_default(&session_options) != HONNIN_STATUS_OK) {
        return 3;
    }
    engine_config.models.dir = "models";
    engine_config.calibration.path = "calibration/intel-reid-0095.json";
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        const char *value = argv[i + 1];
        if (strcmp(argv[i], "--models") == 0) {
            engine_config.models.dir = value;
        } else if (strcmp(argv[i], "--calibration") == 0) {
            engine_config.calibration.path = value;
        } else if (strcmp(argv[i], "--onnxruntime") == 0) {
            engine_config.onnxruntime_path = value;
        } else if (strcmp(argv[i], "--frames-per-attempt") == 0) {
            session_options.frames_per_attempt = (uint32_t)strtoul(value, NULL, 10);
        } else if (strcmp(argv[i], "--staff") == 0) {
            judgement = strcmp(value, "same") == 0        ? HONNIN_JUDGEMENT_SAME_PERSON
                        : strcmp(value, "different") == 0 ? HONNIN_JUDGEMENT_DIFFERENT_PERSON
                        : strcmp(value, "unsure") == 0    ? HONNIN_JUDGEMENT_UNSURE
                                                          : 0;
        } else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i]);
            return 64;
        }
    }
    if (i >= argc || judgement == 0) {
        fprintf(stderr,
                "usage: %s [--models DIR] [--calibration FILE] [--onnxruntime LIB] [--frames-per-attempt N]\n"
                "       --staff same|different|unsure CARD [FRAME ...]\n",
                argv[0]);
        return 64;
    }
    const char *card_path = argv[i++];

    honnin_engine *engine = NULL;
    honnin_status status = honnin_engine_create(&engine_config, &engine);
    if (status != HONNIN_STATUS_OK) {
        report("building the engine", status);
        return 3;
    }
    size_t card_len = 0;
    unsigned char *card = read_file(card_path, &card_len);
    honnin_session *session = NULL;
    if (card != NULL) {
        /* The session copies the card; ours is wiped at once. */
        status = honnin_session_new(engine, card, card_len, &session_options, &session);
        wipe_free(card, card_len);
        if (status != HONNIN_STATUS_OK) {
            report(card_path, status);
        }
    }
    /* The session holds the engine; this handle is no longer needed. */
    honnin_engine_free(engine);
    if (session == NULL) {
        return 3;
    }

    int exit_code = 3;
    uint32_t methods = 0, proposed = 0;
    if (honnin_session_offered_methods(session, &methods, &proposed) != HONNIN_STATUS_OK) {
        goto done;
    }
    printf("offered:%s%s\n", (methods & HONNIN_METHOD_AUTOMATIC) ? " face" : "",
           (methods & HONNIN_METHOD_STAFF_VISUAL) ? " staff" : "");

    honnin_step step;
    int decided = 0;
    if (i < argc) {
        status = honnin_session_choose(session, HONNIN_METHOD_AUTOMATIC);
        if (status != HONNIN_STATUS_OK) {
            report("choosing the face check", status);
            goto done;
        }
        int staff_offered = 0;
        for (; i < argc && !decided && !staff_offered; i++) {
            status = feed_file(session, argv[i], &step);
            if (status != HONNIN_STATUS_OK) {
                report(argv[i], status);
                goto done;
            }
            switch (step.kind) {
            case HONNIN_STEP_KIND_CONTINUE:
                printf("frame: continue (%u/%u) %s\n", step.collected, step.wanted, honnin_guidance_code(step.guidance));
                break;
            case HONNIN_STEP_KIND_RETRY:
                printf("frame: retry\n");
                break;
            case HONNIN_STEP_KIND_DECIDED:
                decided = 1;
                break;
            default:
                printf("frame: staff check offered (fallback %u)\n", step.fallback);
                staff_offered = 1;
            }
        }
        if (!decided && !staff_offered) {
            status = honnin_session_source_stopped(session, HONNIN_SOURCE_STOP_ENDED, &step);
            if (status != HONNIN_STATUS_OK) {
                report("ending the frames", status);
                goto done;
            }
            decided = step.kind == HONNIN_STEP_KIND_DECIDED;
            if (!decided) {
                printf("frames ended: staff check offered (fallback %u)\n", step.fallback);
            }
        }
    }

    honnin_outcome outcome;
    if (!decided) {
        status = honnin_session_choose(session, HONNIN_METHOD_STAFF_VISUAL);
        if (status != HONNIN_STATUS_OK) {
            report("choosing the staff check", status);
            goto done;
        }
        honnin_display_photo *photo = NULL;
        status = honnin_session_card_for_display(session, 160, 200, &photo);
        if (status != HONNIN_STATUS_OK) {
            report("preparing the card photo", status);
            goto done;
        }
        const uint8_t *pixels = NULL;
        size_t len = 0;
        uint32_t width = 0, height = 0, channels = 0;
        status = honnin_display_photo_pixels(photo, &pixels, &len, &width, &height, &channels);
        if (status == HONNIN_STATUS_OK) {
            /* A terminal draws the pixels here; this example prints their size and mean level. */
            unsigned long long sum = 0;
            for (size_t p = 0; p < len; p++) {
                sum += pixels[p];
            }
            printf("staff screen: %ux%u, %u channel(s), mean level %llu\n", width, height, channels,
                   len ? sum / len : 0);
        }
        honnin_display_photo_free(photo); /* wipes the pixels */
        if (status != HONNIN_STATUS_OK) {
            report("reading the card photo", status);
            goto done;
        }
        status = honnin_session_staff_decide(session, judgement, &outcome);
        if (status != HONNIN_STATUS_OK) {
            report("recording the staff decision", status);
            goto done;
        }
    } else {
        outcome = step.outcome;
    }
    if (outcome.metric != HONNIN_METRIC_NONE) {
        printf("DECISION: %s (%s) score %.9g threshold %.9g\n", decision_word(outcome.decision),
               outcome.method == HONNIN_METHOD_AUTOMATIC ? "face check" : "staff visual check", (double)outcome.score,
               (double)outcome.threshold);
    } else {
        printf("DECISION: %s (%s) %s\n", decision_word(outcome.decision),
               outcome.method == HONNIN_METHOD_AUTOMATIC ? "face check" : "staff visual check",
               honnin_reason_code(outcome.reason));
    }
    exit_code = outcome.decision == HONNIN_DECISION_MATCH      ? 0
                : outcome.decision == HONNIN_DECISION_NO_MATCH ? 1
                                                               : 2;

done:
    if (honnin_session_free(session) != HONNIN_STATUS_OK) {
        exit_code = 3;
    }
    size_t live = 0;
    if (honnin_live_handles(&live) != HONNIN_STATUS_OK || live != 0) {
        fprintf(stderr, "%zu handle(s) still live at exit\n", live);
        exit_code = 3;
    }
    return exit_code;
}
