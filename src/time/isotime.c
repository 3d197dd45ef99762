/* isotime.c: ISO 8601 instants in and out.
 *
 * Parsing takes two passes over a small struct: scan() reads fixed digit
 * counts at fixed places and nothing else, check() then checks the
 * calendar and the clock. So text that is malformed anywhere is
 * CHIME_EINVAL, and only well-formed text can be CHIME_ERANGE.
 *
 * Instants are int64_t microseconds since the epoch. Formatting splits
 * them with floor division, so an instant before 1970 prints the second it
 * falls in (-1us is 1969-12-31T23:59:59.999999Z, not ...00.-00001). */
#include "time/isotime.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "time/civil.h"
#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

#define US_PER_S INT64_C(1000000)
#define QUOTE_LEN 64                /* a quoted value in a message, with NUL */
#define MAX_YEAR 9999
#define FRACTION_DIGITS 9           /* at most, in the text */

/* What the text says, before any of it is checked against the calendar. */
struct fields {
    int year;                   /* MAX_YEAR + 1: more than four digits */
    int month, day;
    int hour, min, sec;
    int32_t us;                 /* the fraction, truncated to microseconds */
    bool date_only;             /* "YYYY-MM-DD": local midnight */
    bool has_offset;            /* "Z" or a numeric offset was given */
    int off_sign;               /* +1 east of UTC, -1 west */
    int off_h, off_m, off_s;
};

struct reader {
    const char *s;              /* the whole text, for messages */
    const char *p;              /* the next byte to read */
    const char *field;
    struct err *err;
};

static const char *quote(const char *s, char *buf, size_t len)
{
    return err_quote(s, SIZE_MAX, buf, len);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A syntax error at the reader's position: WHAT was expected there. */
static int want(const struct reader *r, const char *what)
{
    char q[QUOTE_LEN];

    quote(r->s, q, sizeof q);
    if (*r->p == '\0')
        return err_set(r->err, CHIME_EINVAL, r->field,
                       "'%s' is cut short: want %s at position %zu", q, what,
                       (size_t)(r->p - r->s) + 1);
    return err_set(r->err, CHIME_EINVAL, r->field,
                   "'%s' is not ISO 8601: want %s at position %zu", q, what,
                   (size_t)(r->p - r->s) + 1);
}

/* Reads exactly N digits into *RET. */
static int read_digits(struct reader *r, int n, int *ret, const char *what)
{
    int i, v = 0;

    for (i = 0; i < n; i++) {
        if (!is_digit(r->p[i])) {
            r->p += i;
            return want(r, what);
        }
        v = v * 10 + (r->p[i] - '0');
    }
    r->p += n;
    *ret = v;
    return 0;
}

static int expect(struct reader *r, char c, const char *what)
{
    if (*r->p != c)
        return want(r, what);
    r->p++;
    return 0;
}

/* "YYYY-MM-DD". A year of more than four digits is read whole, so that
 * "12026-01-01" is reported as out of range rather than as garbage. */
static int scan_date(struct reader *r, struct fields *f)
{
    size_t n;
    int rc;

    for (n = 0; is_digit(r->p[n]); n++)
        ;
    if (n > 4 && r->p[n] == '-') {
        f->year = MAX_YEAR + 1;
        r->p += n;
    } else if ((rc = read_digits(r, 4, &f->year, "the year (YYYY)")) < 0) {
        return rc;
    }
    if ((rc = expect(r, '-', "'-'")) < 0 ||
        (rc = read_digits(r, 2, &f->month, "the month (MM)")) < 0 ||
        (rc = expect(r, '-', "'-'")) < 0 ||
        (rc = read_digits(r, 2, &f->day, "the day (DD)")) < 0)
        return rc;
    return 0;
}

/* "HH:MM[:SS[.f{1,9}]]" */
static int scan_time(struct reader *r, struct fields *f)
{
    char q[QUOTE_LEN];
    size_t n;
    int rc;

    if ((rc = read_digits(r, 2, &f->hour, "the hour (HH)")) < 0 ||
        (rc = expect(r, ':', "':'")) < 0 ||
        (rc = read_digits(r, 2, &f->min, "the minute (MM)")) < 0)
        return rc;
    if (*r->p != ':')
        return 0;
    r->p++;
    if ((rc = read_digits(r, 2, &f->sec, "the second (SS)")) < 0)
        return rc;
    if (*r->p != '.')
        return 0;
    r->p++;
    for (n = 0; is_digit(r->p[n]); n++)
        if (n < 6)
            f->us = f->us * 10 + (r->p[n] - '0');
    if (n == 0)
        return want(r, "the digits of the fraction");
    if (n > FRACTION_DIGITS)
        return err_set(r->err, CHIME_EINVAL, r->field,
                       "'%s' has a fraction of more than %d digits",
                       quote(r->s, q, sizeof q), FRACTION_DIGITS);
    r->p += n;
    for (; n < 6; n++)
        f->us *= 10;
    return 0;
}

/* "Z", "z", "+HH", "+HHMM", "+HH:MM" or "+HH:MM:SS" (the last for the
 * local mean time offsets of old dates, which format() writes). */
static int scan_offset(struct reader *r, struct fields *f)
{
    int rc;

    if (*r->p == 'Z' || *r->p == 'z') {
        r->p++;
        f->has_offset = true;
        f->off_sign = 1;
        return 0;
    }
    if (*r->p != '+' && *r->p != '-')
        return want(r, "'Z', an offset (+HH:MM) or the end");
    f->has_offset = true;
    f->off_sign = *r->p == '-' ? -1 : 1;
    r->p++;
    if ((rc = read_digits(r, 2, &f->off_h, "the offset's hours (HH)")) < 0)
        return rc;
    if (is_digit(*r->p))
        return read_digits(r, 2, &f->off_m, "the offset's minutes (MM)");
    if (*r->p != ':')
        return 0;
    r->p++;
    if ((rc = read_digits(r, 2, &f->off_m, "the offset's minutes (MM)")) < 0)
        return rc;
    if (*r->p != ':')
        return 0;
    r->p++;
    return read_digits(r, 2, &f->off_s, "the offset's seconds (SS)");
}

static int scan(struct reader *r, struct fields *f)
{
    char q[QUOTE_LEN];
    int rc;

    if ((rc = scan_date(r, f)) < 0)
        return rc;
    if (*r->p == '\0') {
        f->date_only = true;
        return 0;
    }
    if (*r->p != 'T' && *r->p != 't' && *r->p != ' ')
        return want(r, "'T', ' ' or the end");
    r->p++;
    if ((rc = scan_time(r, f)) < 0)
        return rc;
    if (*r->p != '\0' && (rc = scan_offset(r, f)) < 0)
        return rc;
    if (*r->p != '\0')
        return err_set(r->err, CHIME_EINVAL, r->field,
                       "'%s' has trailing text at position %zu",
                       quote(r->s, q, sizeof q), (size_t)(r->p - r->s) + 1);
    return 0;
}

/* Checks well-formed fields against the calendar and the clock. */
static int check(const struct reader *r, const struct fields *f)
{
    char q[QUOTE_LEN];

    quote(r->s, q, sizeof q);
    if (f->year < 1 || f->year > MAX_YEAR)
        return err_set(r->err, CHIME_ERANGE, r->field,
                       "'%s' has a year out of range 0001-9999", q);
    if (f->month < 1 || f->month > 12)
        return err_set(r->err, CHIME_ERANGE, r->field,
                       "'%s' has month %02d out of range 01-12", q, f->month);
    if (f->day < 1 || f->day > civil_month_days(f->year, f->month))
        return err_set(r->err, CHIME_ERANGE, r->field,
                       "'%s' has day %02d out of range 01-%02d for %04d-%02d",
                       q, f->day, civil_month_days(f->year, f->month),
                       f->year, f->month);
    if (f->hour > 23)
        return err_set(r->err, CHIME_ERANGE, r->field,
                       "'%s' has hour %02d out of range 00-23", q, f->hour);
    if (f->min > 59)
        return err_set(r->err, CHIME_ERANGE, r->field,
                       "'%s' has minute %02d out of range 00-59", q, f->min);
    /* A leap second has no instant of its own in time_t arithmetic. */
    if (f->sec > 59)
        return err_set(r->err, CHIME_ERANGE, r->field,
                       "'%s' has second %02d out of range 00-59", q, f->sec);
    if (f->off_h > 23 || f->off_m > 59 || f->off_s > 59)
        return err_set(r->err, CHIME_ERANGE, r->field,
                       "'%s' has an offset out of range (at most 23:59:59 either way)", q);
    return 0;
}

int isotime_parse(const char *s, const struct tz *z, const char *field,
                  int64_t *ret_us, struct err *err)
{
    struct reader r = { s ? s : "", s ? s : "", field, err };
    struct fields f = { 0 };
    int64_t wall_s, t_s, frac_us;
    int rc;

    if ((rc = scan(&r, &f)) < 0 || (rc = check(&r, &f)) < 0)
        return rc;
    wall_s = civil_seconds(f.year, f.month, f.day, f.hour, f.min, f.sec);
    frac_us = f.us;
    if (f.has_offset) {
        t_s = wall_s - f.off_sign * ((int64_t)f.off_h * 3600 + (int64_t)f.off_m * 60 + f.off_s);
    } else if (!z) {
        t_s = wall_s;           /* no zone: UTC */
    } else {
        struct tz_local loc;

        /* docs/design.md's rule for fixed times: a wall skipped by a gap is the
         * first instant after it (the transition itself, whatever the
         * fraction said: every wall in the gap lands there), and a wall
         * that occurs twice is its first occurrence. */
        tz_local_to_utc(z, wall_s, &loc);
        t_s = loc.first_s;
        if (loc.kind == TZ_LOCAL_GAP)
            frac_us = 0;
    }
    *ret_us = t_s * US_PER_S + frac_us;
    return 0;
}

/* Writes T_US at offset OFF_S; ZULU: UTC with "Z" instead of "+00:00". */
static char *format(int64_t t_us, int32_t off_s, bool zulu, bool micros,
                    char *buf, size_t len)
{
    int64_t t_s = civil_floordiv(t_us, US_PER_S);
    int64_t us = t_us % US_PER_S;   /* t_s * US_PER_S can overflow */
    int64_t a = off_s < 0 ? -(int64_t)off_s : off_s;
    char frac[16] = "", off[24] = "Z";
    struct civil c;

    if (us < 0)
        us += US_PER_S;
    civil_from_seconds(t_s + off_s, &c);
    if (micros)
        snprintf(frac, sizeof frac, ".%06" PRId64, us);
    if (!zulu && a % 60 != 0)
        snprintf(off, sizeof off, "%c%02" PRId64 ":%02" PRId64 ":%02" PRId64,
                 off_s < 0 ? '-' : '+', a / 3600, a / 60 % 60, a % 60);
    else if (!zulu)
        snprintf(off, sizeof off, "%c%02" PRId64 ":%02" PRId64,
                 off_s < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    if (len > 0)
        snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%s%s",
                 c.year, c.month, c.day, c.hour, c.min, c.sec, frac, off);
    return buf;
}

char *isotime_format(int64_t t_us, const struct tz *z, int flags, char *buf,
                     size_t len)
{
    struct tz_info info = { 0 };

    if (z)
        tz_info_at(z, civil_floordiv(t_us, US_PER_S), &info);
    return format(t_us, info.utoff_s, false, flags & ISOTIME_MICROS, buf, len);
}

char *isotime_format_utc(int64_t t_us, char *buf, size_t len)
{
    return format(t_us, 0, true, true, buf, len);
}
