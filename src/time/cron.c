/* cron.c: parsing cron expressions into bit sets, and finding next fires.
 *
 * next() never steps second by second: it finds the next matching wall
 * time field by field (month, then day from a per-month bit set of
 * matching days, then hour, minute, second, each by the lowest set bit at
 * or above the current value) and maps that wall time to an instant under
 * the zone's rules. Wildcard expressions walk the zone's spans of constant
 * offset, so a wall time that occurs twice fires twice and one that does
 * not exist never fires; fixed-time expressions map each wall time to its
 * first occurrence, or to the end of the gap that skipped it.
 *
 * cron_parse() proves every expression fires at least once: the days a
 * month offers depend only on its length and the weekday of its first day,
 * and every such pair occurs in the Gregorian 400-year cycle, so checking
 * the pairs of the selected months is exact. */
#include "time/cron.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "time/civil.h"
#include "time/tz.h"
#include "time/units.h"
#include "util/err.h"
#include "../banned.h"

enum field_id { F_SEC, F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

struct field_def {
    const char *name;
    int min, max;
    const char *const *names;   /* names for min.., or NULL */
};

_Static_assert(F_COUNT == CRON_NFIELDS, "one warning slot per field");

/* Read by their first three letters; shown whole in warnings. */
static const char *const month_names[] = { "January", "February", "March",     "April",
                                           "May",     "June",     "July",      "August",
                                           "September", "October", "November", "December",
                                           NULL };
static const char *const dow_names[] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday", NULL };

static const struct field_def fields[F_COUNT] = {
    [F_SEC] = { "second", 0, 59, NULL },
    [F_MIN] = { "minute", 0, 59, NULL },
    [F_HOUR] = { "hour", 0, 23, NULL },
    [F_DOM] = { "day-of-month", 1, 31, NULL },
    [F_MONTH] = { "month", 1, 12, month_names },
    [F_DOW] = { "day-of-week", 0, 7, dow_names },   /* 7 is Sunday again */
};

/* The last value of field F a '*' covers: day-of-week's 7 repeats its 0. */
static int field_top(enum field_id f)
{
    return f == F_DOW ? 6 : fields[f].max;
}

static const struct macro {
    const char *name;
    const char *expr;
} macros[] = {
    { "@yearly", "0 0 1 1 *" },  { "@annually", "0 0 1 1 *" },
    { "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
    { "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
    { "@hourly", "0 * * * *" },
};

/* ---- parsing ---- */

/* A value quoted in a message: at most 40 bytes of it, escaped. */
static const char *quote(const char *s, size_t len, char *buf, size_t size)
{
    return err_quote(s, len, buf, size);
}

static int bad(struct err *err, int code, enum field_id f, const char *s, size_t len,
               const char *why)
{
    char q[64];

    return err_set(err, code, fields[f].name, "'%s' %s", quote(s, len, q, sizeof q), why);
}

/* Reads a number or a name at *p (not past END) into *ret; advances *p. */
static int parse_value(enum field_id f, const char **p, const char *end, int *ret,
                       struct err *err)
{
    const struct field_def *d = &fields[f];
    const char *s = *p;
    long v = 0;

    if (s < end && isdigit((unsigned char)*s)) {
        while (s < end && isdigit((unsigned char)*s)) {
            if (v > 1000)       /* far out of every range already */
                return bad(err, CHIME_ERANGE, f, *p, (size_t)(end - *p), "is out of range");
            v = v * 10 + (*s++ - '0');
        }
    } else if (d->names && end - s >= 3) {
        int i;

        for (i = 0; d->names[i]; i++)
            if (strncasecmp(s, d->names[i], 3) == 0)
                break;
        if (!d->names[i])
            return bad(err, CHIME_EINVAL, f, s, (size_t)(end - s), "is not a value or a name");
        v = d->min + i;
        s += 3;
    } else {
        return bad(err, CHIME_EINVAL, f, s, (size_t)(end - s), "is not a value");
    }
    if (v < d->min || v > d->max) {
        char why[48];

        snprintf(why, sizeof why, "is out of range %d-%d", d->min, d->max);
        return bad(err, CHIME_ERANGE, f, *p, (size_t)(s - *p), why);
    }
    *p = s;
    *ret = (int)v;
    return 0;
}

/* The Quartz day forms: L, L-n, LW, nW in day-of-month; dL, d#n in
 * day-of-week. Returns 1 when ITEM was one (and sets its bit), 0 when it
 * is an ordinary item, or an error. */
static int parse_special(struct cron *c, enum field_id f, const char *item, size_t len,
                         struct err *err)
{
    const char *end = item + len;
    const char *p = item;
    int v = 0, n;
    int rc;

    if (f == F_DOM) {
        if (len == 1 && toupper((unsigned char)item[0]) == 'L') {
            c->dom_last |= 1;
            return 1;
        }
        if (len == 2 && strncasecmp(item, "LW", 2) == 0) {
            c->dom_weekday |= 1;
            return 1;
        }
        if (len > 2 && toupper((unsigned char)item[0]) == 'L' && item[1] == '-') {
            p = item + 2;
            if (!isdigit((unsigned char)*p) || len > 4)
                return bad(err, CHIME_EINVAL, f, item, len, "is not L-n with n 1-30");
            for (n = 0; p < end && isdigit((unsigned char)*p); p++)
                n = n * 10 + (*p - '0');
            if (p != end || n < 1 || n > 30)
                return bad(err, CHIME_ERANGE, f, item, len, "is not L-n with n 1-30");
            c->dom_last |= 1u << n;
            return 1;
        }
        if (len >= 2 && toupper((unsigned char)item[len - 1]) == 'W') {
            rc = parse_value(f, &p, end - 1, &v, err);
            if (rc < 0)
                return rc;
            if (p != end - 1)
                return bad(err, CHIME_EINVAL, f, item, len, "is not nW with n 1-31");
            c->dom_weekday |= 1u << v;
            return 1;
        }
        return 0;
    }
    if (f != F_DOW || len < 2)
        return 0;
    if (toupper((unsigned char)item[len - 1]) == 'L') {
        rc = parse_value(f, &p, end - 1, &v, err);
        if (rc < 0)
            return rc;
        if (p != end - 1)
            return bad(err, CHIME_EINVAL, f, item, len, "is not dL with d a weekday");
        c->dow_last |= (uint8_t)(1u << (v % 7));
        return 1;
    }
    if (memchr(item, '#', len)) {
        rc = parse_value(f, &p, end, &v, err);
        if (rc < 0)
            return rc;
        if (p + 2 != end || *p != '#' || p[1] < '1' || p[1] > '5')
            return bad(err, CHIME_EINVAL, f, item, len, "is not d#n with n 1-5");
        c->dow_nth |= UINT64_C(1) << ((v % 7) * 5 + (p[1] - '1'));
        return 1;
    }
    return 0;
}

/* What a parse notes for cron_warnings(), per field: the first step larger
 * than the field's range (0: none) and the value it selects. Kept out of
 * struct cron: every job holds one of those, and only a save asks. */
struct warn {
    int big_step[F_COUNT];
    int big_first[F_COUNT];
};

/* One comma-separated item of field F: '*', '?', a value or a range, with
 * an optional step, or a Quartz day form. ORs its bits into *SET. */
static int parse_item(struct cron *c, struct warn *w, enum field_id f, const char *item,
                      size_t len, uint64_t *set, struct err *err)
{
    const struct field_def *d = &fields[f];
    const char *end = item + len;
    const char *p = item;
    int lo = 0, hi = 0, step = 1;
    int rc;

    if (len == 0)
        return bad(err, CHIME_EINVAL, f, item, len, "has an empty list item");
    rc = parse_special(c, f, item, len, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (*p == '*' || *p == '?') {
        if (*p == '?' && f != F_DOM && f != F_DOW)
            return bad(err, CHIME_EINVAL, f, item, len, "uses '?' outside the day fields");
        p++;
        lo = d->min;
        hi = field_top(f);
        if (p < end && *p != '/')
            return bad(err, CHIME_EINVAL, f, item, len, "is not a value, range or step");
    } else {
        rc = parse_value(f, &p, end, &lo, err);
        if (rc < 0)
            return rc;
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            rc = parse_value(f, &p, end, &hi, err);
            if (rc < 0)
                return rc;
            if (f == F_DOW)
                hi = cron_dow_range_end(lo, hi);
            if (hi < lo)
                return bad(err, CHIME_ERANGE, f, item, len, "is a range that ends before it starts");
        } else if (p < end && *p == '/') {
            /* a/n: from a to the end; "7/2" is Sunday */
            hi = lo > field_top(f) ? lo : field_top(f);
        }
    }
    if (p < end && *p == '/') {
        const char *s = ++p;
        long n = 0;

        while (p < end && isdigit((unsigned char)*p) && n <= CRON_STEP_MAX)
            n = n * 10 + (*p++ - '0');
        if (p < end && isdigit((unsigned char)*p))
            n = CRON_STEP_MAX + 1;      /* more digits than any step has */
        while (p < end && isdigit((unsigned char)*p))
            p++;
        if (p == s || p != end)
            return bad(err, CHIME_EINVAL, f, item, len, "has a step that is not a number");
        if (n < 1 || n > CRON_STEP_MAX) {
            char why[48];

            snprintf(why, sizeof why, "has a step out of range 1-%d", CRON_STEP_MAX);
            return bad(err, CHIME_ERANGE, f, item, len, why);
        }
        step = (int)n;
        /* crontab(5) takes it and cron selects the first value only:
         * valid, but worth a warning (the first such step of the field) */
        if (w && step > field_top(f) - d->min && !w->big_step[f]) {
            w->big_step[f] = step;
            w->big_first[f] = f == F_DOW ? lo % 7 : lo;
        }
    }
    if (p != end)
        return bad(err, CHIME_EINVAL, f, item, len, "is not a value, range or step");
    for (int v = lo; v <= hi; v += step)
        *set |= UINT64_C(1) << (f == F_DOW ? v % 7 : v);
    return 0;
}

int cron_dow_range_end(int lo, int hi)
{
    /* Only a range that would run backwards ends on the 7: "0-0" is one
     * Sunday, not the week from Sunday to Sunday. */
    return hi == 0 && lo > 0 ? 7 : hi;
}

static int parse_field(struct cron *c, struct warn *w, enum field_id f, const char *s,
                       size_t len, struct err *err)
{
    const char *end = s + len;
    uint64_t set = 0;
    int rc;

    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *item_end = comma ? comma : end;

        rc = parse_item(c, w, f, s, (size_t)(item_end - s), &set, err);
        if (rc < 0)
            return rc;
        s = item_end + 1;
    }
    switch (f) {
    case F_SEC: c->sec = set; break;
    case F_MIN: c->min = set; break;
    case F_HOUR: c->hour = (uint32_t)set; break;
    case F_DOM: c->dom = (uint32_t)set; break;
    case F_MONTH: c->month = (uint16_t)set; break;
    case F_DOW: c->dow = (uint8_t)set; break;
    default: break;
    }
    return 0;
}

static int parse_every(const char *arg, struct cron *c, struct err *err)
{
    int64_t us;
    int rc;

    rc = units_duration_parse(arg, "expression", &us, err);
    if (rc < 0)
        return rc;
    if (us < 1000000)
        return err_set(err, CHIME_ERANGE, "expression",
                       "'@every %s' is shorter than one second", arg);
    c->every_us = us;
    c->flags = CRON_EVERY;
    return 0;
}

/* Matching days of a month of NDAYS days whose first day is weekday WDAY1,
 * as bit n for day n. */
static uint32_t month_days(const struct cron *c, int ndays, int wday1)
{
    /* bit n for days n, n+7, n+14, ... of the month, n = 1..7 */
    static const uint32_t every7[8] = { 0, 0x20408102, 0x40810204, 0x81020408,
                                        0x02040810, 0x04081020, 0x08102040, 0x10204080 };
    uint32_t valid = (uint32_t)((UINT64_C(2) << ndays) - 2);
    uint32_t dom = c->dom, dow = 0;
    uint32_t bits;

    for (bits = c->dom_last; bits; bits &= bits - 1) {
        int back = __builtin_ctz(bits);

        if (ndays - back >= 1)
            dom |= 1u << (ndays - back);
    }
    for (bits = c->dom_weekday; bits; bits &= bits - 1) {
        int day = __builtin_ctz(bits);
        int wd;

        if (day == 0)
            day = ndays;            /* LW: the last weekday */
        if (day > ndays)
            continue;               /* no day n in this month */
        wd = (wday1 + day - 1) % 7;
        if (wd == 6)                /* Saturday: Friday, or Monday on the 1st */
            day = day == 1 ? 3 : day - 1;
        else if (wd == 0)           /* Sunday: Monday, or Friday on the last day */
            day = day == ndays ? day - 2 : day + 1;
        dom |= 1u << day;
    }
    /* the first weekday d of the month is day (d - wday1 + 7) % 7 + 1 */
    if (c->dow == 0x7f)
        dow = valid;
    else
        for (bits = c->dow; bits; bits &= bits - 1)
            dow |= every7[(__builtin_ctz(bits) - wday1 + 7) % 7 + 1];
    for (bits = c->dow_last; bits; bits &= bits - 1) {
        int first = (__builtin_ctz(bits) - wday1 + 7) % 7 + 1;

        dow |= 1u << (first + (ndays - first) / 7 * 7);
    }
    for (uint64_t nth = c->dow_nth; nth; nth &= nth - 1) {
        int bit = __builtin_ctzll(nth);
        int day = (bit / 5 - wday1 + 7) % 7 + 1 + 7 * (bit % 5);

        if (day <= ndays)
            dow |= 1u << day;
    }
    /* Vixie's rule: both fields restricted means either may match. */
    bits = c->flags & (CRON_DOM_STAR | CRON_DOW_STAR) ? dom & dow : dom | dow;
    return bits & valid;
}

/* Every month length and first weekday occurs in the 400-year cycle, so an
 * expression fires iff one of these month shapes offers a day. */
static bool ever_fires(const struct cron *c)
{
    for (int m = 1; m <= 12; m++) {
        if (!(c->month >> m & 1))
            continue;
        for (int leap = 0; leap <= (m == 2); leap++)
            for (int wd = 0; wd < 7; wd++)
                if (month_days(c, civil_month_days(leap ? 2000 : 2001, m), wd))
                    return true;
    }
    return false;
}

/* cron_parse(), and with W the steps past their field's range. */
static int parse(const char *expr, struct cron *ret, struct warn *w, struct err *err)
{
    const char *field_at[F_COUNT + 1];
    size_t field_len[F_COUNT + 1];
    struct cron c = { 0 };
    const char *s = expr;
    char q[64];
    int n = 0, first;
    int rc;

    if (!expr)
        return err_set(err, CHIME_EINVAL, "expression", "missing expression");
    if (strnlen(expr, CRON_MAX_LEN + 1) > CRON_MAX_LEN)
        return err_set(err, CHIME_ETOOBIG, "expression", "expression is longer than %d bytes",
                       CRON_MAX_LEN);
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '@') {
        size_t len = strcspn(s, " \t\r\n");
        const char *arg = s + len;

        while (isspace((unsigned char)*arg))
            arg++;
        if (len == 6 && strncasecmp(s, "@every", 6) == 0 && *arg) {
            char dur[64];
            size_t alen = strcspn(arg, " \t\r\n");

            if (arg[alen + strspn(arg + alen, " \t\r\n")] || alen >= sizeof dur)
                return err_set(err, CHIME_EINVAL, "expression", "'%s' is not '@every DURATION'",
                               quote(s, strlen(s), q, sizeof q));
            memcpy(dur, arg, alen);
            dur[alen] = '\0';
            rc = parse_every(dur, &c, err);
            if (rc < 0)
                return rc;
            *ret = c;
            return 0;
        }
        if (*arg)
            return err_set(err, CHIME_EINVAL, "expression", "'%s' takes no argument",
                           quote(s, len, q, sizeof q));
        if (len == 7 && strncasecmp(s, "@reboot", 7) == 0) {
            c.flags = CRON_REBOOT;
            *ret = c;
            return 0;
        }
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strlen(macros[i].name) == len && strncasecmp(s, macros[i].name, len) == 0)
                return parse(macros[i].expr, ret, w, err);
        return err_set(err, CHIME_EINVAL, "expression", "'%s' is not a known macro",
                       quote(s, len, q, sizeof q));
    }
    while (*s) {
        if (n == F_COUNT)
            return err_set(err, CHIME_EINVAL, "expression",
                           "'%s' has more than 6 fields", quote(expr, strlen(expr), q, sizeof q));
        field_at[n] = s;
        field_len[n] = strcspn(s, " \t\r\n");
        s += field_len[n++];
        while (isspace((unsigned char)*s))
            s++;
    }
    if (n != 5 && n != 6)
        return err_set(err, CHIME_EINVAL, "expression", "'%s' has %d fields, not 5 or 6",
                       quote(expr, strlen(expr), q, sizeof q), n);
    first = n == 6 ? F_SEC : F_MIN;
    if (n == 5)
        c.sec = 1;          /* second 0 */
    else
        c.flags |= CRON_SECONDS;
    for (int i = 0; i < n; i++) {
        rc = parse_field(&c, w, (enum field_id)(first + i), field_at[i], field_len[i], err);
        if (rc < 0)
            return rc;
    }
    if (*field_at[F_DOM - first] == '*' || *field_at[F_DOM - first] == '?')
        c.flags |= CRON_DOM_STAR;
    if (*field_at[F_DOW - first] == '*' || *field_at[F_DOW - first] == '?')
        c.flags |= CRON_DOW_STAR;
    if ((n == 5 || *field_at[0] != '*') && *field_at[F_MIN - first] != '*'
        && *field_at[F_HOUR - first] != '*')
        c.flags |= CRON_FIXED;
    if (!ever_fires(&c))
        return err_set(err, CHIME_ENEVER, "expression",
                       "'%s' never fires: no selected month has a matching day",
                       quote(expr, strlen(expr), q, sizeof q));
    *ret = c;
    return 0;
}

int cron_parse(const char *expr, struct cron *ret, struct err *err)
{
    return parse(expr, ret, NULL, err);
}

/* ---- next fire ---- */

/* The lowest set bit of SET at or above FROM, or -1. */
static int next_bit(uint64_t set, int from)
{
    if (from > 63)
        return -1;
    set &= ~UINT64_C(0) << from;
    return set ? __builtin_ctzll(set) : -1;
}

/* The first wall time at or after FROM that the fields match, in *RET.
 * Returns 1 when it is before LIMIT, 0 when there is none before LIMIT. */
static int next_wall(const struct cron *c, int64_t from, int64_t limit, int64_t *ret)
{
    struct civil t;
    int64_t year, limit_year;
    int month, day, hour, min, sec;
    uint32_t days = 0;
    int64_t days_year = 0;
    int days_month = 0;

    if (!(c->month & 0x1ffe) || !c->hour || !c->min || !c->sec)
        return 0;       /* an empty field (only a hand-made struct) never matches */
    civil_from_seconds(from, &t);
    year = t.year;
    month = t.month;
    day = t.day;
    hour = t.hour;
    min = t.min;
    sec = t.sec;
    civil_from_seconds(limit, &t);
    limit_year = t.year;
    for (;;) {
        if (!(c->month >> month & 1)) {
            month = next_bit(c->month, month);
            if (month < 0) {
                year++;
                month = next_bit(c->month, 1);
                if (month < 1)
                    return 0;   /* unreachable: the set is not empty */
            }
            day = 1;
            hour = min = sec = 0;
        }
        if (year > limit_year)
            return 0;
        if (days_year != year || days_month != month) {
            int64_t d1 = civil_days(year, month, 1);

            days = month_days(c, civil_month_days(year, month), civil_wday(d1));
            days_year = year;
            days_month = month;
        }
        int d = next_bit(days, day);

        if (d < 0) {
            if (++month > 12) {
                month = 1;
                year++;
            }
            day = 1;
            hour = min = sec = 0;
            continue;
        }
        if (d != day) {
            day = d;
            hour = min = sec = 0;
        }
        if (civil_seconds(year, month, day, 0, 0, 0) >= limit)
            return 0;
        int h = next_bit(c->hour, hour);

        if (h < 0) {
            day++;
            hour = min = sec = 0;
            continue;
        }
        if (h != hour) {
            hour = h;
            min = sec = 0;
        }
        int m = next_bit(c->min, min);

        if (m < 0) {
            hour++;
            min = sec = 0;
            continue;
        }
        if (m != min) {
            min = m;
            sec = 0;
        }
        int s = next_bit(c->sec, sec);

        if (s < 0) {
            min++;
            sec = 0;
            continue;
        }
        *ret = civil_seconds(year, month, day, hour, min, s);
        return *ret < limit;
    }
}

/* Wildcard expressions follow real instants: walk the zone's spans of one
 * offset from the instant after AFTER, and in each look for a matching wall
 * time inside the span's walls. A wall skipped by a gap belongs to no span;
 * one repeated by an overlap belongs to two and fires in both. */
static int next_wild(const struct cron *c, const struct tz *z, int64_t after,
                     int64_t limit, int64_t *ret)
{
    int64_t t = after + 1;

    while (t < limit) {
        struct tz_info in;
        int64_t wall, end_wall;

        tz_info_at(z, t, &in);
        if (in.end_s <= t)
            return 0;       /* a span that does not hold T: never loop on it */
        end_wall = in.end_s >= limit ? limit + in.utoff_s : in.end_s + in.utoff_s;
        if (next_wall(c, t + in.utoff_s, end_wall, &wall)) {
            *ret = wall - in.utoff_s;
            return 1;
        }
        t = in.end_s;
    }
    return 0;
}

/* Fixed-time expressions fire once per matching wall time: at its first
 * occurrence, or, for a wall skipped by a gap, at the gap's end. That map
 * from walls to instants never decreases, so the first wall at or after
 * AFTER's own whose instant lies beyond AFTER gives the next fire. */
static int next_fixed(const struct cron *c, const struct tz *z, int64_t after,
                      int64_t limit, int64_t *ret)
{
    struct tz_info in, prev;
    int64_t from, wall;

    tz_info_at(z, after, &in);
    from = after + in.utoff_s + 1;
    if (in.start_s != INT64_MIN && after - in.start_s < INT64_C(2) * 86400) {
        /* AFTER in the second pass of an overlap (within a day of the
         * span's start, as offsets change by less): every repeated wall
         * already had its first occurrence, before AFTER. */
        tz_info_at(z, in.start_s - 1, &prev);
        if (prev.utoff_s > in.utoff_s && from < in.start_s + prev.utoff_s)
            from = in.start_s + prev.utoff_s;
    }
    while (next_wall(c, from, limit + INT64_C(86400) * 2, &wall)) {
        struct tz_local loc;

        /* Common case: the wall lies in AFTER's own span, whose start no
         * longer overlaps the previous span's walls (FROM skipped those). */
        if (wall - in.utoff_s < in.end_s) {
            *ret = wall - in.utoff_s;
            return 1;
        }
        tz_local_to_utc(z, wall, &loc);
        if (loc.first_s >= limit)
            return 0;
        if (loc.first_s > after) {
            *ret = loc.first_s;
            return 1;
        }
        from = wall + 1;    /* a wall of an overlap whose first pass is over */
    }
    return 0;
}

int cron_next(const struct cron *c, const struct tz *z, int64_t after_us,
              int64_t *ret_us, struct err *err)
{
    /* Fires fall on whole seconds, so the next is after floor(after). */
    int64_t after = civil_floordiv(after_us, 1000000);
    int64_t limit = civil_seconds(CRON_LAST_YEAR + 1, 1, 1, 0, 0, 0) - INT64_C(86400) * 2;
    int64_t fire;
    int found;

    if (c->flags & CRON_REBOOT)
        return err_set(err, CHIME_ENEVER, "expression",
                       "'@reboot' fires when the daemon starts, never at an instant");
    if (c->flags & CRON_EVERY) {
        int64_t k = civil_floordiv(after_us, c->every_us) + 1;

        if (k > (limit * INT64_C(1000000)) / c->every_us)
            return err_set(err, CHIME_ENEVER, "expression", "no fire before the year %d",
                           CRON_LAST_YEAR + 1);
        *ret_us = k * c->every_us;
        return 0;
    }
    if (after >= limit)
        found = 0;
    else if (c->flags & CRON_FIXED)
        found = next_fixed(c, z, after, limit, &fire);
    else
        found = next_wild(c, z, after, limit, &fire);
    if (!found)
        return err_set(err, CHIME_ENEVER, "expression", "no fire before the year %d",
                       CRON_LAST_YEAR + 1);
    *ret_us = fire * 1000000;
    return 0;
}

int cron_warnings(const char *expr, char (*out)[CRON_WARNING_MAX], int max)
{
    struct warn w = {{0}};
    struct cron c;
    int n = 0;

    if (parse(expr, &c, &w, NULL) < 0)
        return 0;
    for (int f = 0; f < F_COUNT && n < max; f++) {
        const struct field_def *d = &fields[f];
        int first = w.big_first[f];
        char value[32];

        if (!w.big_step[f])
            continue;
        if (d->names)
            snprintf(value, sizeof value, "%s", d->names[first - d->min]);
        else
            snprintf(value, sizeof value, "%s %d", d->name, first);
        snprintf(out[n++], CRON_WARNING_MAX, "step %d exceeds %s's range %d-%d: selects %s only",
                 w.big_step[f], d->name, d->min, field_top((enum field_id)f), value);
    }
    return n;
}

int cron_matches_wall(const struct cron *c, int64_t wall_s)
{
    int64_t wall;

    if (c->flags & (CRON_EVERY | CRON_REBOOT))
        return 0;
    return next_wall(c, wall_s, wall_s + 1, &wall) == 1 && wall == wall_s;
}
