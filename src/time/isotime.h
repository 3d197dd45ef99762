/* isotime.h: ISO 8601 instants in and out.
 *
 * Out: "2026-03-08T03:00:00-04:00" in a zone (seconds always shown,
 * "+00:00" style offsets, microseconds only when asked), or
 * "2026-11-24T01:00:00.000000Z" in UTC for the API. An offset with
 * seconds (local mean time before ~1900: "-04:56:02") is written with them.
 * In: "YYYY-MM-DDTHH:MM[:SS[.f{1,9}]]" (T or t or one space) followed by
 * "Z"/"z", "+HH:MM", "+HHMM", "+HH" or "+HH:MM:SS" (offsets to +-23:59:59),
 * or by nothing: a local time read in the given zone, where a wall skipped
 * by a gap means the first instant after the gap (the fraction is dropped:
 * the whole gap lands there) and a wall that occurs twice means the first
 * occurrence (the rule docs/design.md gives fixed-time cron expressions). A
 * date alone means its local midnight. The fraction is truncated to
 * microseconds; second 60 is refused. Years 0001-9999 bound the written
 * date, not the instant. A NULL zone means UTC, in and out. Malformed text
 * is CHIME_EINVAL, well-formed text out of range CHIME_ERANGE. */
#ifndef CHIME_ISOTIME_H
#define CHIME_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

struct tz;
struct err;

#define ISOTIME_LEN 40      /* enough for every format below, with NUL */

enum {
    ISOTIME_MICROS = 1,     /* show ".ffffff" */
};

/* Formats T_US as local time in Z with its numeric offset. Returns BUF. */
char *isotime_format(int64_t t_us, const struct tz *z, int flags, char *buf,
                     size_t len);
/* Formats T_US in UTC with microseconds and "Z". Returns BUF. */
char *isotime_format_utc(int64_t t_us, char *buf, size_t len);

/* Parses S; Z (borrowed) reads times without an offset. Errors name FIELD. */
int isotime_parse(const char *s, const struct tz *z, const char *field,
                  int64_t *ret_us, struct err *err);

#endif
