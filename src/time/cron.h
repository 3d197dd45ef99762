/* cron.h: a compiled cron expression and the instants it fires.
 *
 * The dialect is docs/design.md's: 5 fields (minute hour day-of-month month
 * day-of-week) or 6 (second first), names, lists, ranges, steps, '?', the
 * Quartz day forms L, L-n, LW, nW, dL and d#n, the macros, "@every
 * DURATION" and "@reboot". An expression compiles into a fixed struct of
 * bit sets that callers embed (the engine keeps one per job, so it stays
 * small: see the static assertion below); it holds no pointers, is
 * immutable after cron_parse() and needs no release.
 *
 * Ranges: 0 and 7 are both Sunday, and a day-of-week range that ends on
 * Sunday written as 0 ends on the 7 ("sat-sun", "5-0": Friday to Sunday),
 * as in cronie; "0-0", "sun-sun" and "7-7" are Sunday only, "0-7" every
 * day. A step larger than its field's range ("* / 30" in day-of-week) is
 * valid crontab(5): it selects the first value of its range only, and
 * cron_warnings() says so.
 *
 * Daylight saving: a fixed-time expression (second, minute and hour fields
 * that do not start with '*') fires once at the first instant after a gap
 * that skipped its wall time, and once, at the first occurrence, for a wall
 * time that occurs twice; any other expression fires at every real instant
 * whose wall time matches. */
#ifndef CHIME_CRON_H
#define CHIME_CRON_H

#include <stdint.h>

struct tz;
struct err;

#define CRON_MAX_LEN 1024       /* longer expressions are rejected */
#define CRON_LAST_YEAR 9999     /* next() finds nothing past this year */
#define CRON_STEP_MAX 65535     /* larger steps are rejected */
#define CRON_WARNING_MAX 160    /* bytes of one warning, NUL included */
#define CRON_NFIELDS 6          /* second minute hour day-of-month month day-of-week */

enum cron_flag {
    CRON_SECONDS = 1 << 0,      /* written with 6 fields */
    CRON_DOM_STAR = 1 << 1,     /* day-of-month starts with '*' or '?' */
    CRON_DOW_STAR = 1 << 2,     /* day-of-week starts with '*' or '?' */
    CRON_FIXED = 1 << 3,        /* fixed-time: see the DST rule above */
    CRON_EVERY = 1 << 4,        /* "@every": every_us since the epoch */
    CRON_REBOOT = 1 << 5,       /* "@reboot": never at an instant */
};

struct cron {
    uint64_t sec;           /* bit n: second n, 0-59 */
    uint64_t min;           /* bit n: minute n, 0-59 */
    uint64_t dow_nth;       /* bit 5*d + n-1: the nth weekday d of the month (d#n) */
    int64_t every_us;       /* "@every" period; 0 otherwise */
    uint32_t hour;          /* bit n: hour n, 0-23 */
    uint32_t dom;           /* bit n: day n, 1-31 */
    uint32_t dom_last;      /* bit n: n days before the last day (bit 0: L) */
    uint32_t dom_weekday;   /* bit n: the weekday nearest day n (nW); bit 0: LW */
    uint16_t month;         /* bit n: month n, 1-12 */
    uint8_t dow;            /* bit d: weekday d, 0 Sunday - 6 Saturday */
    uint8_t dow_last;       /* bit d: the last weekday d of the month (dL) */
    uint8_t flags;          /* enum cron_flag */
};

_Static_assert(sizeof(struct cron) <= 64, "a compiled expression fits 64 bytes");

/* Compiles EXPR into *RET. Errors name the field ("minute", "day-of-week",
 * "expression") and quote the value; an expression that can never fire
 * (such as "0 0 30 2 *") is CHIME_ENEVER. */
int cron_parse(const char *expr, struct cron *ret, struct err *err);

/* The first fire strictly after AFTER_US in zone Z (borrowed), in
 * microseconds since the epoch; fires fall on whole seconds, or on
 * multiples of the period for "@every". CHIME_ENEVER for "@reboot" and when
 * no fire exists before the end of CRON_LAST_YEAR. */
int cron_next(const struct cron *c, const struct tz *z, int64_t after_us,
              int64_t *ret_us, struct err *err);

/* Writes at most MAX warnings about EXPR (such as "step 30 exceeds
 * day-of-week's range 0-6: selects Sunday only") into OUT, one per field
 * with a step larger than its range, and returns how many it wrote (0 for
 * an expression cron_parse() refuses). A warning is about an expression
 * that is valid but likely not meant. It parses EXPR again: the compiled
 * expression keeps no more than firing needs. */
int cron_warnings(const char *expr, char (*out)[CRON_WARNING_MAX], int max);

/* The end of day-of-week range LO-HI (values 0-7) as cron reads it: a
 * range that ends on Sunday written as 0 ends on 7 when LO is past 0
 * ("sat-sun" is 6-7); any other range ends on HI ("sun-sun" is 0-0). */
int cron_dow_range_end(int lo, int hi);

/* Whether the expression matches wall time WALL_S, ignoring the DST rule
 * (for tests and for showing why a time fires). */
int cron_matches_wall(const struct cron *c, int64_t wall_s);

#endif
