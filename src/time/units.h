/* units.h: durations and sizes as people write them in job documents.
 *
 * Durations: "90s", "15m", "1h30m", "2d", "250ms", or integer seconds
 * ("3600"); components in falling order, each unit once (w d h m s ms).
 * Sizes: "512K", "4M", "1G", "2T" (powers of 1024, an optional "B" or
 * "iB" after the letter, any case), or integer bytes ("1048576").
 * Negative values, overflow, empty strings and garbage are errors that name
 * FIELD and quote the text. */
#ifndef CHIME_UNITS_H
#define CHIME_UNITS_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define UNITS_DURATION_MAX_US (INT64_C(100) * 366 * 86400 * 1000000) /* ~100 years */
#define UNITS_SIZE_MAX ((int64_t)1 << 50)                            /* 1 PiB */

int units_duration_parse(const char *s, const char *field, int64_t *ret_us,
                         struct err *err);
int units_size_parse(const char *s, const char *field, int64_t *ret_bytes,
                     struct err *err);

/* Writes the shortest canonical form ("1h30m", "250ms", "0s") into BUF
 * (at least 32 bytes); returns BUF. Largest units first, zero components
 * left out (8 days is "1w1d"); anything finer than a millisecond is
 * dropped, and a negative value gets a '-' that parse refuses. */
char *units_duration_format(int64_t us, char *buf, size_t len);
/* "4M", "1536K", "17" (bytes when not a whole multiple); returns BUF. */
char *units_size_format(int64_t bytes, char *buf, size_t len);

#endif
