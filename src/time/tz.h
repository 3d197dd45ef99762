/* tz.h: IANA time zones, read from the system's TZif files.
 *
 * A zone is loaded once by name and cached for the life of the process;
 * the returned pointer is borrowed from the cache, immutable, and safe to
 * share between threads. Instants are seconds since the epoch (UTC); a
 * "wall" is a local date and time written as seconds since
 * 1970-01-01T00:00:00 as if it were UTC (see civil.h).
 *
 * Results equal glibc's localtime_r for every zone: the transition table
 * of TZif versions 1, 2 and 3, the POSIX TZ rule at the end of version 2+
 * files for instants past the last transition, and glibc's choice of type
 * for instants before the first. */
#ifndef CHIME_TZ_H
#define CHIME_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz;
struct err;

/* What a zone says about one instant, and the span it says it for. */
struct tz_info {
    int32_t utoff_s;        /* seconds east of UTC */
    bool isdst;
    const char *abbr;       /* "EST", "+0545"; borrowed from the zone */
    int64_t start_s;        /* first instant of the span; INT64_MIN: always */
    int64_t end_s;          /* first instant after the span; INT64_MAX: never */
};

enum tz_local_kind {
    TZ_LOCAL_UNIQUE,        /* the wall occurs once */
    TZ_LOCAL_GAP,           /* skipped by a forward shift (spring forward) */
    TZ_LOCAL_OVERLAP,       /* occurs twice (fall back) */
};

/* The instants a wall maps to. */
struct tz_local {
    enum tz_local_kind kind;
    int64_t first_s;        /* UNIQUE: the instant; OVERLAP: the earlier one;
                               GAP: the first instant after the gap, i.e.
                               the transition that skipped the wall */
    int64_t last_s;         /* OVERLAP: the later instant; else first_s */
};

/* Loads zone NAME ("Europe/Berlin", "UTC") from $TZDIR or
 * /usr/share/zoneinfo, or returns it from the cache. Names are relative
 * paths of [A-Za-z0-9_+.-] components: no "..", no leading '/', at most
 * 255 bytes. Unknown or malformed zones are CHIME_ENOTFOUND/CHIME_EINVAL
 * with field "timezone". */
int tz_load(const char *name, const struct tz **ret, struct err *err);

/* The system's zone: $TZ when set (with or without a leading ':'), else
 * /etc/localtime; UTC when neither exists. */
int tz_system(const struct tz **ret, struct err *err);

/* The name the zone was loaded by ("localtime" for /etc/localtime when its
 * link target names no zone). */
const char *tz_name(const struct tz *z);

/* Offset, DST flag, abbreviation and span of instant T_S. */
void tz_info_at(const struct tz *z, int64_t t_s, struct tz_info *ret);

/* The instants at which the local wall WALL_S occurs. */
void tz_local_to_utc(const struct tz *z, int64_t wall_s, struct tz_local *ret);

/* Parses TZif bytes (an in-memory file) into a zone owned by the caller,
 * for tests and the fuzzer; tz_free() releases it. Loaded zones come from
 * tz_load() and are never freed. */
int tz_parse(const char *name, const unsigned char *data, size_t len,
             struct tz **ret, struct err *err);
void tz_free(struct tz *z);

#endif
