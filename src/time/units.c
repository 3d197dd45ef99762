/* units.c: durations and sizes as people write them in job documents.
 *
 * Both parsers read the text once, left to right, and never compute a
 * value that could overflow: a number saturates at NUM_CAP, far above any
 * legal value and far below INT64_MAX, and each product and sum is checked
 * against the maximum before it is formed. Syntax wins over range: text
 * that is malformed anywhere is CHIME_EINVAL even when a number in it is
 * also too big, so "99999999999999999999x" is reported as garbage. */
#include "time/units.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "../banned.h"

#define NUM_CAP (INT64_C(1) << 62)  /* where a digit string saturates */
#define QUOTE_LEN 64                /* a quoted value in a message, with NUL */
#define UNIT_QUOTE_LEN 16           /* a quoted unit in a message, with NUL */

struct unit {
    const char *name;
    int64_t mult;               /* microseconds (durations) or bytes (sizes) */
};

/* Falling order: a duration's components must come in this order. */
static const struct unit duration_units[] = {
    { "w", INT64_C(7) * 86400 * 1000000 },
    { "d", INT64_C(86400) * 1000000 },
    { "h", INT64_C(3600) * 1000000 },
    { "m", INT64_C(60) * 1000000 },
    { "s", INT64_C(1000000) },
    { "ms", INT64_C(1000) },
};
#define DURATION_SECONDS 4      /* index of "s": the unit of a bare number */
#define N_DURATION_UNITS (sizeof duration_units / sizeof duration_units[0])

/* Falling order too; the letters are matched in any case. */
static const struct unit size_units[] = {
    { "T", INT64_C(1) << 40 },
    { "G", INT64_C(1) << 30 },
    { "M", INT64_C(1) << 20 },
    { "K", INT64_C(1) << 10 },
};
#define N_SIZE_UNITS (sizeof size_units / sizeof size_units[0])

static const char *quote(const char *s, char *buf, size_t len)
{
    return err_quote(s, SIZE_MAX, buf, len);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Whether the LEN bytes at S spell WORD; FOLD: in any case (WORD is
 * upper case then). */
static bool spells(const char *s, size_t len, const char *word, bool fold)
{
    size_t k;

    if (strlen(word) != len)
        return false;
    for (k = 0; k < len; k++)
        if ((fold ? to_upper(s[k]) : s[k]) != word[k])
            return false;
    return true;
}

/* Reads the digits at *P into *RET, saturating at NUM_CAP, and advances
 * *P past them. Returns how many there were. */
static size_t read_digits(const char **p, int64_t *ret)
{
    const char *start = *p, *s;
    int64_t v = 0;

    for (s = start; is_digit(*s); s++) {
        int d = *s - '0';

        v = v > (NUM_CAP - d) / 10 ? NUM_CAP : v * 10 + d;
    }
    *ret = v;
    *p = s;
    return (size_t)(s - start);
}

/* Advances *P past a run of letters; returns its length. */
static size_t read_letters(const char **p)
{
    const char *start = *p, *s;

    for (s = start; is_letter(*s); s++)
        ;
    *p = s;
    return (size_t)(s - start);
}

/* The index of unit NAME (LEN bytes) in TABLE, or -1. FOLD matches the
 * name in any case (sizes); durations match exactly. */
static int find_unit(const struct unit *table, size_t n, const char *name,
                     size_t len, bool fold)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (spells(name, len, table[i].name, fold))
            return (int)i;
    return -1;
}

/* The error for character *P of S, where neither a number nor a unit can
 * stand: a sign, a decimal point, a space or other garbage. */
static int bad_char(const char *s, const char *p, const char *field,
                    struct err *err)
{
    char q[QUOTE_LEN], c[8];

    quote(s, q, sizeof q);
    if (p == s && *p == '-')
        return err_set(err, CHIME_EINVAL, field, "'%s' is negative", q);
    if (*p == '.' && p > s && is_digit(p[-1]))
        return err_set(err, CHIME_EINVAL, field,
                       "'%s' has a fraction (use a smaller unit)", q);
    return err_set(err, CHIME_EINVAL, field,
                   "'%s' has unexpected '%s' at position %zu", q,
                   err_quote(p, 1, c, sizeof c), (size_t)(p - s) + 1);
}

static int unit_without_number(const char *s, const char *name, size_t len,
                               const char *field, struct err *err)
{
    char q[QUOTE_LEN], u[UNIT_QUOTE_LEN];

    return err_set(err, CHIME_EINVAL, field,
                   "'%s' has unit '%s' without a number",
                   quote(s, q, sizeof q), err_quote(name, len, u, sizeof u));
}

/* A duration is one or more <digits><unit> with the units in falling
 * order, each at most once, or a bare number of seconds. */
int units_duration_parse(const char *s, const char *field, int64_t *ret_us,
                         struct err *err)
{
    char q[QUOTE_LEN], u[UNIT_QUOTE_LEN];
    const char *p = s;
    int64_t total = 0;
    bool over = false;          /* some part exceeded the maximum */
    unsigned seen = 0;          /* bit i: duration_units[i] was written */
    int prev = -1;              /* index of the unit written last */

    if (!s || !*s)
        return err_set(err, CHIME_EINVAL, field, "'' is empty");
    while (*p) {
        const char *name;
        size_t digits, len;
        int64_t v;
        int i;

        digits = read_digits(&p, &v);
        name = p;
        len = read_letters(&p);
        if (digits == 0 && len == 0)
            return bad_char(s, p, field, err);
        if (digits == 0)
            return unit_without_number(s, name, len, field, err);
        if (len == 0) {
            if (*p != '\0')
                return bad_char(s, p, field, err);
            if (prev >= 0)
                return err_set(err, CHIME_EINVAL, field,
                               "'%s' ends in a number without a unit",
                               quote(s, q, sizeof q));
            i = DURATION_SECONDS;   /* the whole text is a number */
        } else {
            i = find_unit(duration_units, N_DURATION_UNITS, name, len, false);
            if (i < 0)
                return err_set(err, CHIME_EINVAL, field,
                               "'%s' has unknown unit '%s' (use w, d, h, m, s or ms)",
                               quote(s, q, sizeof q),
                               err_quote(name, len, u, sizeof u));
            if (seen & (1u << i))
                return err_set(err, CHIME_EINVAL, field,
                               "'%s' repeats unit '%s'", quote(s, q, sizeof q),
                               duration_units[i].name);
            if (i < prev)
                return err_set(err, CHIME_EINVAL, field,
                               "'%s' has unit '%s' after '%s' (write larger units first)",
                               quote(s, q, sizeof q), duration_units[i].name,
                               duration_units[prev].name);
        }
        seen |= 1u << i;
        prev = i;
        /* Both terms are at most the maximum before the sum, so the sum
         * cannot overflow; once over, stop adding. */
        if (over || v > UNITS_DURATION_MAX_US / duration_units[i].mult) {
            over = true;
            continue;
        }
        total += v * duration_units[i].mult;
        if (total > UNITS_DURATION_MAX_US)
            over = true;
    }
    if (over)
        return err_set(err, CHIME_ERANGE, field,
                       "'%s' is out of range (at most %" PRId64 "d)",
                       quote(s, q, sizeof q),
                       UNITS_DURATION_MAX_US / (INT64_C(86400) * 1000000));
    *ret_us = total;
    return 0;
}

/* A size is a number, optionally followed by one of K M G T (any case)
 * and then by nothing, "B" or "iB" (any case). */
int units_size_parse(const char *s, const char *field, int64_t *ret_bytes,
                     struct err *err)
{
    char q[QUOTE_LEN], u[UNIT_QUOTE_LEN];
    const char *p = s, *name;
    int64_t v, mult = 1;
    size_t digits, len;

    if (!s || !*s)
        return err_set(err, CHIME_EINVAL, field, "'' is empty");
    digits = read_digits(&p, &v);
    name = p;
    len = read_letters(&p);
    if (digits == 0 && len == 0)
        return bad_char(s, p, field, err);
    if (digits == 0)
        return unit_without_number(s, name, len, field, err);
    if (len > 0) {
        int i = find_unit(size_units, N_SIZE_UNITS, name, 1, true);
        const char *rest = name + 1;

        if (i < 0 || !(len == 1 || spells(rest, len - 1, "B", true) ||
                       spells(rest, len - 1, "IB", true)))
            return err_set(err, CHIME_EINVAL, field,
                           "'%s' has unknown unit '%s' (use K, M, G or T, or none for bytes)",
                           quote(s, q, sizeof q),
                           err_quote(name, len, u, sizeof u));
        mult = size_units[i].mult;
    }
    if (*p != '\0')
        return bad_char(s, p, field, err);
    if (v > UNITS_SIZE_MAX / mult)      /* exact: MULT is a power of 2 */
        return err_set(err, CHIME_ERANGE, field,
                       "'%s' is out of range (at most %" PRId64 "T)",
                       quote(s, q, sizeof q),
                       UNITS_SIZE_MAX / size_units[0].mult);
    *ret_bytes = v * mult;
    return 0;
}

/* Appends V and UNIT to BUF (LEN bytes, *O of them used); what does not
 * fit is cut, and *O never passes LEN - 1. */
static void append(char *buf, size_t len, size_t *o, const char *sign,
                   int64_t v, const char *unit)
{
    int n = snprintf(buf + *o, len - *o, "%s%" PRId64 "%s", sign, v, unit);

    if (n > 0)
        *o += (size_t)n < len - *o ? (size_t)n : len - *o - 1;
}

/* Greedy from the largest unit: 5400s is "1h30m", not "90m". Durations
 * are whole milliseconds when written, so anything finer is dropped
 * (toward zero); a negative value gets a '-' (which parse refuses). */
char *units_duration_format(int64_t us, char *buf, size_t len)
{
    /* The magnitude in ms, computed without negating INT64_MIN. */
    int64_t ms = us < 0 ? -(us / 1000) : us / 1000;
    const char *sign = us < 0 ? "-" : "";
    size_t i, o = 0;

    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (ms == 0)
        append(buf, len, &o, "", 0, "s");
    for (i = 0; i < N_DURATION_UNITS; i++) {
        int64_t unit_ms = duration_units[i].mult / 1000;

        if (ms >= unit_ms) {
            append(buf, len, &o, sign, ms / unit_ms, duration_units[i].name);
            ms %= unit_ms;
            sign = "";
        }
    }
    return buf;
}

/* The largest unit that divides BYTES, else plain bytes; negative values
 * (which parse refuses) are written as plain bytes. */
char *units_size_format(int64_t bytes, char *buf, size_t len)
{
    size_t i, o = 0;

    if (len == 0)
        return buf;
    buf[0] = '\0';
    for (i = 0; bytes > 0 && i < N_SIZE_UNITS; i++)
        if (bytes % size_units[i].mult == 0) {
            append(buf, len, &o, "", bytes / size_units[i].mult,
                   size_units[i].name);
            return buf;
        }
    append(buf, len, &o, "", bytes, "");
    return buf;
}
