/* tzrule.h: a POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"), as found at
 * the end of TZif files version 2 and later and in $TZ, evaluated exactly
 * as glibc's tzset.c evaluates it.
 *
 * A rule is a plain value: tzrule_parse() fills one in and allocates
 * nothing, so it can be embedded, copied and shared between threads.
 * Times are seconds since the epoch, offsets seconds east of UTC. */
#ifndef CHIME_TZRULE_H
#define CHIME_TZRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct tz_info;

#define TZRULE_ABBR_SIZE 64     /* an abbreviation and its NUL */

enum tzrule_kind {
    TZRULE_JULIAN1,             /* Jn: day n of 1-365, February 29 not counted */
    TZRULE_JULIAN0,             /* n: day n of 0-365, February 29 counted */
    TZRULE_MONTH,               /* Mm.w.d: weekday d of week w of month m */
};

/* The day and local time of day at which a change happens each year. */
struct tzrule_date {
    enum tzrule_kind kind;
    int day;                    /* JULIAN1 1-365, JULIAN0 0-365 */
    int month;                  /* MONTH: 1-12 */
    int week;                   /* MONTH: 1-5, 5 meaning the last */
    int wday;                   /* MONTH: 0 Sunday - 6 Saturday */
    int32_t time_s;             /* local time of day, -167h to +167h */
};

struct tzrule {
    char std_abbr[TZRULE_ABBR_SIZE];
    char dst_abbr[TZRULE_ABBR_SIZE];    /* "" without DST */
    int32_t std_utoff_s;                /* seconds east of UTC */
    int32_t dst_utoff_s;                /* std_utoff_s without DST */
    bool has_dst;
    struct tzrule_date start;           /* into DST, in standard local time */
    struct tzrule_date end;             /* out of DST, in daylight local time */
};

/* Parses the LEN bytes at S (no NUL needed) as a whole TZ rule: std offset
 * [dst [offset] [,start[/time],end[/time]]], names bare (3+ letters) or
 * quoted (<+0330>). Offsets are at most 24:59:59, times of day at most
 * 167:59:59 either way (TZif version 3). A DST name without dates gets
 * M3.2.0,M11.1.0. Anything else, including trailing text, is CHIME_EINVAL
 * with field "timezone". */
int tzrule_parse(const char *s, size_t len, struct tzrule *ret, struct err *err);

/* Fills *RET for instant T_S, LO_S <= T_S < HI_S, with the span clipped to
 * [LO_S, HI_S). The years of LO_S and HI_S must fit an int plus 1900 (the
 * range of glibc's tm_year). abbr points into R. Like glibc, DST is decided
 * per UTC calendar year, from that year's two changes. */
void tzrule_info_at(const struct tzrule *r, int64_t t_s, int64_t lo_s,
                    int64_t hi_s, struct tz_info *ret);

#endif
