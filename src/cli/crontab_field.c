/* crontab_field.c: the five time fields of a crontab line, by cron's rules.
 *
 * cron (cronie, and Vixie cron whose parser it keeps) reads a field as a
 * list of '*', N, N-M, either of them with "/STEP", and cronie's N~M; names
 * are three letters, in ranges and lists too; 0 and 7 are both Sunday; a
 * step follows only '*' or a range; a range does not wrap. The fields are
 * read here into bit sets by those rules (a day-of-week range ending on
 * Sunday by cron_dow_range_end(), the rule chime's parser follows), and
 * then given to chime's own
 * cron parser, whose bit sets must come back equal (and the '*' at the
 * start of each field with them: cron's day rule and its daylight saving
 * rule both look at it). When they do not, or when chime does not read
 * the text at all ('~'), the fields are written out as the lists of values
 * cron chose. So a job fires exactly when cron would fire the line. */
#include "cli/crontab_field.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "time/cron.h"
#include "util/err.h"
#include "../banned.h"

/* 64-bit FNV-1a of N bytes of S, then of SALT: the deterministic stand-in
 * for the random number cronie draws for '~' when it reads the file. */
static uint64_t fnv1a(const char *s, size_t n, unsigned salt)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
    h = (h ^ salt) * 0x100000001b3u;
    return h;
}

struct field_def {
    const char *name;
    int low, high;
    const char *const *names;   /* the value of names[i] is low + i */
};

static const char *const month_names[] = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL,
};
/* cronie's DowNames: "sun" is 0, found before the 7 at the end */
static const char *const dow_names[] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL,
};

enum { F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW };

static const struct field_def field_defs[CRONTAB_FIELDS] = {
    [F_MIN] = { "minute", 0, 59, NULL },
    [F_HOUR] = { "hour", 0, 23, NULL },
    [F_DOM] = { "day-of-month", 1, 31, NULL },
    [F_MONTH] = { "month", 1, 12, month_names },
    [F_DOW] = { "day-of-week", 0, 7, dow_names },
};

/* One number at *P (before END): digits, or a name when the field has
 * them. Leading zeros are fine and the value saturates, so that a long
 * run of digits is out of range rather than wrapped. */
static int field_number(const char **p, const char *end, const struct field_def *d, bool names,
                        long *ret)
{
    const char *s = *p;
    long v = 0;

    if (s < end && isdigit((unsigned char)*s)) {
        for (; s < end && isdigit((unsigned char)*s); s++)
            v = v > 100000 ? v : v * 10 + (*s - '0');
        *p = s;
        *ret = v;
        return 0;
    }
    if (!names || !d->names)
        return -1;
    for (; s < end && isalpha((unsigned char)*s); s++)
        ;
    for (size_t i = 0; d->names[i] && s > *p; i++)
        if ((size_t)(s - *p) == strlen(d->names[i]) && !strncasecmp(*p, d->names[i], 3)) {
            *ret = d->low + (long)i;
            *p = s;
            return 0;
        }
    return -1;
}

/* What one field says: bit n for value n; PICKED the value '~' chose, or -1. */
struct field_val {
    uint64_t bits;
    long picked;
};

static int field_bad(const struct field_def *d, const char *s, size_t n, struct err *err,
                     const char *why)
{
    char q[64];

    return err_set(err, CHIME_EINVAL, d->name, "'%s' %s", err_quote(s, n, q, sizeof q), why);
}

/* Parses field S (N bytes, no blanks) as cronie's get_list(): a list of
 * '*', N, N-M, either with "/STEP", and N~M (cronie 1.6: one value picked
 * from N-M; either end may be left out). SEED feeds the pick. */
static int field_parse(const struct field_def *d, const char *s, size_t n, uint64_t seed,
                       struct field_val *ret, struct err *err)
{
    const char *p = s, *end = s + n;
    struct field_val v = { 0, -1 };

    for (;;) {
        const char *el = p;
        long a, b, step = 1;

        if (p < end && *p == '*') {
            p++;
            a = d->low;
            b = d->high;
        } else if (p < end && *p == '~') {
            a = d->low;
            b = d->high;
            goto pick;
        } else {
            if (field_number(&p, end, d, true, &a) < 0)
                return field_bad(d, el, (size_t)(end - el), err,
                                 d->names ? "is not a number or a name" : "is not a number");
            if (p < end && *p == '~')
                goto pick;
            if (p == end || *p == ',') {
                if (a < d->low || a > d->high)
                    return err_set(err, CHIME_ERANGE, d->name, "'%ld' is out of range %d-%d", a,
                                   d->low, d->high);
                v.bits |= UINT64_C(1) << a;
                goto next;
            }
            if (*p != '-')
                return field_bad(d, el, (size_t)(end - el), err,
                                 "is not a number, a range or a list (cron has no L, W, # or ?; "
                                 "a step follows '*' or a range)");
            p++;
            if (field_number(&p, end, d, true, &b) < 0)
                return field_bad(d, el, (size_t)(end - el), err, "is not a range");
            if (d == &field_defs[F_DOW] && a <= 7 && b <= 7)
                b = cron_dow_range_end((int)a, (int)b);     /* "sat-sun" is 6-7 */
            if (a < d->low || a > d->high || b < d->low || b > d->high)
                return err_set(err, CHIME_ERANGE, d->name, "range %ld-%ld is out of %d-%d", a, b,
                               d->low, d->high);
            if (a > b)
                return err_set(err, CHIME_ERANGE, d->name,
                               "range %ld-%ld runs backwards (cron ranges do not wrap)", a, b);
        }
        if (p < end && *p == '/') {
            const char *st = ++p;

            if (field_number(&p, end, d, false, &step) < 0 || step == 0)
                return field_bad(d, st - 1, (size_t)(end - st + 1), err,
                                 "is not a step: want '/' and a whole number from 1");
        }
        if (p < end && *p != ',')
            return field_bad(d, el, (size_t)(end - el), err, "has something after its value");
        for (long i = a; i <= b; i += step)
            v.bits |= UINT64_C(1) << i;
        goto next;
    pick:
        p++;    /* the '~' */
        if (p < end && *p != ',') {
            if (field_number(&p, end, d, true, &b) < 0 || (p < end && *p != ','))
                return field_bad(d, el, (size_t)(end - el), err, "is not a random range N~M");
        } else {
            b = d->high;
        }
        if (a < d->low || a > d->high || b < d->low || b > d->high || a > b)
            return field_bad(d, el, (size_t)(p - el), err,
                             "is not a random range within the field");
        v.picked = a + (long)(seed % (uint64_t)(b - a + 1));
        v.bits |= UINT64_C(1) << v.picked;
    next:
        if (p == end)
            break;
        p++;    /* the ',' */
        if (p == end)
            return field_bad(d, s, n, err, "ends with ','");
    }
    /* 0 and 7 are both Sunday */
    if (d == &field_defs[F_DOW] && (v.bits & (1u | 1u << 7)))
        v.bits |= 1u | 1u << 7;
    *ret = v;
    return 0;
}

/* FIELD's values as a list of ranges ("1-5,7"), for an expression chime
 * must read exactly as cron did. */
static void field_list(uint64_t bits, int low, int high, char *buf, size_t len)
{
    size_t k = 0;

    buf[0] = '\0';
    for (int i = low; i <= high; i++) {
        int j = i;

        if (!(bits >> i & 1))
            continue;
        while (j + 1 <= high && (bits >> (j + 1) & 1))
            j++;
        if (k < len)
            k += (size_t)snprintf(buf + k, len - k, "%s%d", k ? "," : "", i);
        if (j > i && k < len)
            k += (size_t)snprintf(buf + k, len - k, "%s%d", j == i + 1 ? "," : "-", j);
        i = j;
    }
}

/* The step S for which "* / S" (no blanks) selects BITS, or 0 when none does:
 * a field that starts with '*' must go on starting with it, since cron
 * reads that as "unrestricted" for the day rule and daylight saving. */
static int star_step(uint64_t bits, int low, int high)
{
    for (int s = 1; s <= high - low + 1; s++) {
        uint64_t want = 0;

        for (int i = low; i <= high; i += s)
            want |= UINT64_C(1) << i;
        if (want == bits)
            return s;
    }
    return 0;
}

/* Whether chime's compiled expression C fires exactly when cron's fields
 * V (with the star flags of their text) would. */
static bool cron_same(const struct cron *c, const struct field_val v[CRONTAB_FIELDS], bool dom_star,
                      bool dow_star)
{
    uint64_t dow = (v[F_DOW].bits & 0x7f) | (v[F_DOW].bits >> 7 & 1);

    return c->sec == 1 && !(c->flags & (CRON_SECONDS | CRON_EVERY | CRON_REBOOT))
           && c->min == v[F_MIN].bits && c->hour == v[F_HOUR].bits && c->dom == v[F_DOM].bits
           && c->month == v[F_MONTH].bits && c->dow == dow && !c->dom_last && !c->dom_weekday
           && !c->dow_last && !c->dow_nth && !!(c->flags & CRON_DOM_STAR) == dom_star
           && !!(c->flags & CRON_DOW_STAR) == dow_star;
}

/* Appends EXPR's warnings (a step past its field's range) to NOTES, after
 * the USED bytes already there. Returns 0. */
static int warnings(const char *expr, char *notes, size_t len, size_t used)
{
    char warn[CRON_NFIELDS][CRON_WARNING_MAX];
    int n = cron_warnings(expr, warn, CRON_NFIELDS);

    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(notes + used, len - used, "%swarning: %s", used ? "; " : "",
                                 warn[i]);
    return 0;
}

/* Writes the expression of fields F into EXPR; see crontab_field.h. */
int crontab_field_schedule(const char *const f[CRONTAB_FIELDS],
                           const size_t flen[CRONTAB_FIELDS], const char *line, size_t line_len,
                           char *expr, size_t expr_len, char *picks, size_t picks_len,
                           struct err *err)
{
    struct field_val v[CRONTAB_FIELDS] = { { 0, -1 } };
    char list[CRONTAB_FIELDS][200];
    bool dom_star = f[F_DOM][0] == '*', dow_star = f[F_DOW][0] == '*';
    struct cron c;
    size_t k = 0, used = 0;
    int rc;

    picks[0] = '\0';
    for (int i = 0; i < CRONTAB_FIELDS; i++) {
        rc = field_parse(&field_defs[i], f[i], flen[i], fnv1a(line, line_len, (unsigned)i), &v[i],
                         err);
        if (rc < 0)
            return rc;
        if (v[i].picked >= 0 && used < picks_len)
            used += (size_t)snprintf(picks + used, picks_len - used, "%s%s '%.*s' picked %ld",
                                     used ? "; " : "", field_defs[i].name,
                                     (int)(flen[i] > 40 ? 40 : flen[i]), f[i], v[i].picked);
    }
    for (int i = 0; i < CRONTAB_FIELDS && k < expr_len; i++)
        k += (size_t)snprintf(expr + k, expr_len - k, "%s%.*s", i ? " " : "", (int)flen[i], f[i]);
    rc = k < expr_len ? cron_parse(expr, &c, err) : -CHIME_ETOOBIG;
    if (rc == -CHIME_ENEVER)
        return rc;
    if (rc == 0 && cron_same(&c, v, dom_star, dow_star))
        return warnings(expr, picks, picks_len, used);
    /* chime reads the text otherwise (or not at all): the values as lists */
    k = 0;
    for (int i = 0; i < CRONTAB_FIELDS; i++) {
        const struct field_def *d = &field_defs[i];
        uint64_t bits = i == F_DOW ? (v[i].bits & 0x7f) : v[i].bits;
        int high = i == F_DOW ? 6 : d->high;

        if (f[i][0] == '*') {
            int step = star_step(bits, d->low, high);

            if (!step)
                return err_set(err, CHIME_EINVAL, d->name,
                               "'%.*s' cannot be written in chime's cron dialect",
                               (int)(flen[i] > 40 ? 40 : flen[i]), f[i]);
            if (step == 1)
                snprintf(list[i], sizeof list[i], "*");
            else
                snprintf(list[i], sizeof list[i], "*/%d", step);
        } else {
            field_list(bits, d->low, high, list[i], sizeof list[i]);
        }
        if (k < expr_len)
            k += (size_t)snprintf(expr + k, expr_len - k, "%s%s", i ? " " : "", list[i]);
    }
    if (k >= expr_len)
        return err_set(err, CHIME_ETOOBIG, "expression", "longer than %zu bytes", expr_len);
    rc = cron_parse(expr, &c, err);
    if (rc < 0)
        return rc;
    if (!cron_same(&c, v, dom_star, dow_star))
        return err_set(err, CHIME_EINVAL, "expression",
                       "'%s' cannot be written in chime's cron dialect", expr);
    return warnings(expr, picks, picks_len, used);
}
