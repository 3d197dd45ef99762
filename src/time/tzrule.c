/* tzrule.c: POSIX TZ rules, parsed strictly and evaluated as glibc does.
 *
 * The grammar is what glibc's __tzset_parse_tz accepts from a well-formed
 * string. Where glibc shrugs at garbage (no offset, a bad date, text left
 * over) and quietly falls back to a nameless UTC, this parser says no: a
 * zone file with a broken footer is a broken zone file.
 *
 * Evaluation copies __tz_compute. The year is the instant's UTC calendar
 * year, not its local one; both changes are computed for that year; DST
 * holds from the start change to the end change, or outside them when the
 * end comes first in the year (southern hemisphere). Spans are derived
 * from the same per-year changes, so they agree with the point answers
 * everywhere, glibc's odd corners included: a year up to 1970 counts its
 * days from 1970-01-01 (compute_change), and a change that falls outside
 * its own UTC year (J365/25) does not happen, the answer flips at the
 * UTC new year instead. */
#include "time/tzrule.h"

#include <stdio.h>
#include <string.h>

#include "time/civil.h"
#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

#define OFFSET_HOURS_MAX 24     /* POSIX: a UTC offset's hours are 0-24 */
#define TIME_HOURS_MAX 167      /* TZif v3: a change's time of day, either sign */
#define NUM_CAP 100000          /* a digit string stops growing here */
#define DEFAULT_TIME_S 7200     /* a change's time of day when omitted: 02:00 */
#define SPAN_CUT_YEARS 8        /* a changeless span is cut at such years */
#define QUOTE_LEN 80            /* a quoted rule in a message, with NUL */

struct cursor {
    const char *p;
    const char *end;
};

/* Copies the N bytes at S for a message: printable ASCII as is, other bytes
 * as \xNN, cut with "..." when they do not fit in SIZE (at least 8). */
static const char *quote(const char *s, size_t n, char *buf, size_t size)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = c >= 0x20 && c < 0x7f ? 1 : 4;

        if (o + need + (i + 1 == n ? 1 : 4) > size) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (need == 1)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
    }
    buf[o] = '\0';
    return buf;
}

static int peek(const struct cursor *c)
{
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static bool skip(struct cursor *c, int ch)
{
    if (peek(c) != ch)
        return false;
    c->p++;
    return true;
}

static bool is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_offset_start(int ch)
{
    return ch == '+' || ch == '-' || is_digit(ch);
}

/* glibc's parse_tzname: three or more letters, else <...> holding three or
 * more letters, digits and signs. */
static const char *parse_abbr(struct cursor *c, char *out)
{
    const char *s = c->p;
    size_t n = 0;

    while (s + n < c->end && is_alpha((unsigned char)s[n]))
        n++;
    if (n >= 3) {
        c->p = s + n;
    } else {
        if (peek(c) != '<')
            return "expected an abbreviation of 3 or more letters or <...>";
        s++;
        n = 0;
        while (s + n < c->end &&
               (is_alpha((unsigned char)s[n]) || is_digit((unsigned char)s[n]) ||
                s[n] == '+' || s[n] == '-'))
            n++;
        if (s + n == c->end || s[n] != '>' || n < 3)
            return "expected 3 or more letters, digits or signs between < and >";
        c->p = s + n + 1;
    }
    if (n >= TZRULE_ABBR_SIZE)
        return "abbreviation is too long";
    memcpy(out, s, n);
    out[n] = '\0';
    return NULL;
}

static bool parse_num(struct cursor *c, int *ret)
{
    int v = 0;

    if (!is_digit(peek(c)))
        return false;
    while (is_digit(peek(c))) {
        if (v < NUM_CAP)
            v = v * 10 + (*c->p - '0');
        c->p++;
    }
    *ret = v;
    return true;
}

/* hh[:mm[:ss]] in seconds, hh at most HOURS_MAX. */
static const char *parse_hms(struct cursor *c, int hours_max, int32_t *ret_s)
{
    int h, m = 0, s = 0;

    if (!parse_num(c, &h))
        return "expected hours";
    if (skip(c, ':')) {
        if (!parse_num(c, &m))
            return "expected minutes after ':'";
        if (skip(c, ':') && !parse_num(c, &s))
            return "expected seconds after ':'";
    }
    if (h > hours_max || m > 59 || s > 59)
        return "hours, minutes or seconds out of range";
    *ret_s = h * 3600 + m * 60 + s;
    return NULL;
}

static int parse_sign(struct cursor *c)
{
    if (skip(c, '-'))
        return -1;
    skip(c, '+');
    return 1;
}

/* A POSIX offset counts hours west: "EST5" is 5 hours behind UTC. */
static const char *parse_offset(struct cursor *c, int32_t *ret_utoff_s)
{
    int sign = parse_sign(c);
    const char *why;
    int32_t v;

    why = parse_hms(c, OFFSET_HOURS_MAX, &v);
    if (why)
        return why;
    *ret_utoff_s = -sign * v;
    return NULL;
}

static const char *parse_date(struct cursor *c, struct tzrule_date *d)
{
    int ch = peek(c);
    const char *why;
    int32_t v;
    int sign;

    memset(d, 0, sizeof *d);
    if (skip(c, 'J')) {
        d->kind = TZRULE_JULIAN1;
        if (!parse_num(c, &d->day) || d->day < 1 || d->day > 365)
            return "expected a day Jn of 1-365";
    } else if (is_digit(ch)) {
        d->kind = TZRULE_JULIAN0;
        if (!parse_num(c, &d->day) || d->day > 365)
            return "expected a day n of 0-365";
    } else if (skip(c, 'M')) {
        d->kind = TZRULE_MONTH;
        if (!parse_num(c, &d->month) || !skip(c, '.') || !parse_num(c, &d->week) ||
            !skip(c, '.') || !parse_num(c, &d->wday) || d->month < 1 ||
            d->month > 12 || d->week < 1 || d->week > 5 || d->wday > 6)
            return "expected a date Mm.w.d with m 1-12, w 1-5, d 0-6";
    } else {
        return "expected a date Jn, n or Mm.w.d";
    }
    d->time_s = DEFAULT_TIME_S;
    if (skip(c, '/')) {
        sign = parse_sign(c);
        why = parse_hms(c, TIME_HOURS_MAX, &v);
        if (why)
            return why;
        d->time_s = sign * v;
    }
    return NULL;
}

static const char *parse_rule(struct cursor *c, struct tzrule *r)
{
    const char *why;

    why = parse_abbr(c, r->std_abbr);
    if (why)
        return why;
    if (!is_offset_start(peek(c)))
        return "expected a UTC offset after the abbreviation";
    why = parse_offset(c, &r->std_utoff_s);
    if (why)
        return why;
    r->dst_utoff_s = r->std_utoff_s;
    if (c->p == c->end)
        return NULL;

    why = parse_abbr(c, r->dst_abbr);
    if (why)
        return why;
    r->has_dst = true;
    /* glibc: daylight time defaults to one hour ahead of standard time */
    r->dst_utoff_s = r->std_utoff_s + 3600;
    if (is_offset_start(peek(c))) {
        why = parse_offset(c, &r->dst_utoff_s);
        if (why)
            return why;
    }
    if (c->p == c->end) {
        /* glibc would take the dates from the posixrules file (New York's);
         * its built-in default is the US rule since 2007, used here. */
        r->start = (struct tzrule_date){ TZRULE_MONTH, 0, 3, 2, 0, DEFAULT_TIME_S };
        r->end = (struct tzrule_date){ TZRULE_MONTH, 0, 11, 1, 0, DEFAULT_TIME_S };
        return NULL;
    }
    if (!skip(c, ','))
        return "expected ',' before the start date";
    why = parse_date(c, &r->start);
    if (why)
        return why;
    if (!skip(c, ','))
        return "expected ',' before the end date";
    return parse_date(c, &r->end);
}

int tzrule_parse(const char *s, size_t len, struct tzrule *ret, struct err *err)
{
    struct cursor c = { s, s + len };
    struct tzrule r;
    char q[QUOTE_LEN];
    const char *why;

    memset(&r, 0, sizeof r);
    why = parse_rule(&c, &r);
    if (!why && c.p != c.end)
        why = "unexpected text after the rule";
    if (why) {
        err_set(err, CHIME_EINVAL, "timezone", "invalid TZ rule '%s': %s",
                quote(s, len, q, sizeof q), why);
        return -CHIME_EINVAL;   /* a constant, for the static analyser */
    }
    *ret = r;
    return 0;
}

/* One UTC calendar year and its two changes, as __tz_compute sees it. */
struct year {
    int64_t y;
    int64_t jan1;               /* days since 1970-01-01 of January 1 */
    bool leap;
    int64_t start_s, end_s;     /* [January 1, next January 1) UTC */
    int64_t on_s;               /* the change into DST */
    int64_t off_s;              /* the change out of DST */
};

/* Days before each month, in common and leap years. */
static const short month_days_before[2][12] = {
    { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 },
    { 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335 },
};

/* glibc's compute_change: when D happens in year YR, its time of day read
 * on a clock UTOFF_S east of UTC (the offset in force before it). */
static int64_t change_at(const struct tzrule_date *d, int32_t utoff_s, const struct year *yr)
{
    /* glibc counts from 1970-01-01 for every year up to 1970 */
    int64_t t = yr->y > 1970 ? yr->start_s : 0;
    int day, mday, mdays, w;    /* day: days after January 1 */

    switch (d->kind) {
    case TZRULE_JULIAN1:
        day = d->day - 1 + (d->day >= 60 && yr->leap);
        break;
    case TZRULE_JULIAN0:
        day = d->day;
        break;
    default:
        day = month_days_before[yr->leap][d->month - 1];
        mdays = d->month == 12 ? 31 : month_days_before[yr->leap][d->month] - day;
        mday = (d->wday - civil_wday(yr->jan1 + day) + 7) % 7;
        for (w = 1; w < d->week && mday + 7 < mdays; w++)
            mday += 7;
        day += mday;
        break;
    }
    return t + (int64_t)day * 86400 - utoff_s + d->time_s;
}

static void year_init(const struct tzrule *r, int64_t y, int64_t jan1, struct year *yr)
{
    yr->y = y;
    yr->jan1 = jan1;
    yr->leap = civil_is_leap(y);
    yr->start_s = jan1 * 86400;
    yr->end_s = (jan1 + 365 + yr->leap) * 86400;
    yr->on_s = change_at(&r->start, r->std_utoff_s, yr);
    yr->off_s = change_at(&r->end, r->dst_utoff_s, yr);
}

static void year_next_init(const struct tzrule *r, struct year *yr)
{
    year_init(r, yr->y + 1, yr->jan1 + 365 + yr->leap, yr);
}

static void year_prev_init(const struct tzrule *r, struct year *yr)
{
    year_init(r, yr->y - 1, yr->jan1 - 365 - civil_is_leap(yr->y - 1), yr);
}

/* The UTC year of T_S: a guess from the mean Gregorian year, off by at
 * most one, then checked against its January 1. */
static void year_init_at(const struct tzrule *r, int64_t t_s, struct year *yr)
{
    int64_t days = civil_floordiv(t_s, 86400);
    int64_t y = 1970 + civil_floordiv(days * 400, 146097);
    int64_t jan1 = civil_days(y, 1, 1);

    if (days < jan1) {
        y--;
        jan1 = civil_days(y, 1, 1);
    } else if (days >= jan1 + 365 + civil_is_leap(y)) {
        jan1 += 365 + civil_is_leap(y);
        y++;
    }
    year_init(r, y, jan1, yr);
}

/* __tz_compute's test. */
static bool year_dst(const struct year *yr, int64_t t_s)
{
    if (yr->on_s > yr->off_s)   /* DST spans the new year */
        return t_s < yr->off_s || t_s >= yr->on_s;
    return t_s >= yr->on_s && t_s < yr->off_s;
}

/* The year's first change after T_S, or INT64_MAX. A change inside the
 * year always flips the answer, unless both fall on the same instant,
 * when DST is never on. */
static int64_t year_next(const struct year *yr, int64_t t_s)
{
    int64_t next = INT64_MAX;

    if (yr->on_s == yr->off_s)
        return next;
    if (yr->on_s > t_s && yr->on_s < yr->end_s)
        next = yr->on_s;
    if (yr->off_s > t_s && yr->off_s < yr->end_s && yr->off_s < next)
        next = yr->off_s;
    return next;
}

/* The year's last change at or before T_S (after January 1), or INT64_MIN. */
static int64_t year_prev(const struct year *yr, int64_t t_s)
{
    int64_t prev = INT64_MIN;

    if (yr->on_s == yr->off_s)
        return prev;
    if (yr->on_s <= t_s && yr->on_s > yr->start_s)
        prev = yr->on_s;
    if (yr->off_s <= t_s && yr->off_s > yr->start_s && yr->off_s > prev)
        prev = yr->off_s;
    return prev;
}

static bool year_changeless(const struct year *yr)
{
    return year_next(yr, yr->start_s) == INT64_MAX;
}

/* Whether the new year at the start of YR, which changes nothing, still
 * ends a span: a rule can go years without a change (see the top), and
 * rather than search on, such a stretch is cut at every year divisible
 * by SPAN_CUT_YEARS. Decided by the new year alone, so that every instant
 * of a span reports the same span. */
static bool year_cuts(const struct year *before, const struct year *yr)
{
    return yr->y % SPAN_CUT_YEARS == 0 && year_changeless(before) && year_changeless(yr);
}

/* Where the answer DST, true at T_S in year CUR, next changes: at a change
 * in the year, or at a new year where the next year's answer differs. */
static int64_t span_end(const struct tzrule *r, const struct year *cur,
                        int64_t t_s, bool dst, int64_t hi_s)
{
    struct year yr = *cur, before;
    int64_t next = year_next(&yr, t_s);

    while (next == INT64_MAX) {
        int64_t boundary = yr.end_s;

        if (boundary >= hi_s)
            return hi_s;
        before = yr;
        year_next_init(r, &yr);
        if (year_dst(&yr, boundary) != dst || year_cuts(&before, &yr))
            return boundary;
        next = year_next(&yr, boundary);
    }
    return next < hi_s ? next : hi_s;
}

static int64_t span_start(const struct tzrule *r, const struct year *cur,
                          int64_t t_s, bool dst, int64_t lo_s)
{
    struct year yr = *cur, after;
    int64_t prev = year_prev(&yr, t_s);

    while (prev == INT64_MIN) {
        int64_t boundary = yr.start_s;

        if (boundary <= lo_s)
            return lo_s;
        after = yr;
        year_prev_init(r, &yr);
        if (year_dst(&yr, boundary - 1) != dst || year_cuts(&yr, &after))
            return boundary;
        prev = year_prev(&yr, boundary - 1);
    }
    return prev > lo_s ? prev : lo_s;
}

void tzrule_info_at(const struct tzrule *r, int64_t t_s, int64_t lo_s,
                    int64_t hi_s, struct tz_info *ret)
{
    struct year yr;
    bool dst = false;

    ret->start_s = lo_s;
    ret->end_s = hi_s;
    if (r->has_dst) {
        year_init_at(r, t_s, &yr);
        dst = year_dst(&yr, t_s);
        ret->start_s = span_start(r, &yr, t_s, dst, lo_s);
        ret->end_s = span_end(r, &yr, t_s, dst, hi_s);
    }
    ret->isdst = dst;
    ret->utoff_s = dst ? r->dst_utoff_s : r->std_utoff_s;
    ret->abbr = dst ? r->dst_abbr : r->std_abbr;
}
