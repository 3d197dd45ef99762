/* tz.c: IANA time zones from TZif files, answering as glibc's localtime_r.
 *
 * A zone is a table of transitions and, in TZif version 2 and later, a
 * POSIX rule (tzrule.c) for instants from the last transition on. The
 * invariant: for every instant, tz_info_at() returns glibc's tm_gmtoff,
 * tm_isdst and tm_zone, and a span [start_s, end_s) over which all three
 * stay the same. Spans are kept maximal: transitions that change none of
 * the three (fat TZif files have many) are dropped at load time, and the
 * table's last span is joined with the rule's first when they agree. The
 * one exception is a rule that goes years without a change (glibc's
 * reading of a rule before 1970, or a rule whose two changes coincide):
 * tzrule.c cuts such a span at every eighth new year rather than search on.
 *
 * glibc's choices copied here (tzfile.c, __tzfile_read/__tzfile_compute):
 * - before the first transition, the first non-DST type, or type 0 when
 *   all are DST; RFC 8536 would say type 0, glibc skips e.g. a leading
 *   DST type so that time before the table is standard time;
 * - from the last transition on (that instant included) the footer rule,
 *   so the last transition's own type only shows for instants whose year
 *   does not fit tm_year, where glibc cannot run the rule;
 * - a file without transitions ignores its footer and uses its type;
 * - leap-second records (right/ zones) are skipped: transition times are
 *   compared with the instant as they are, and tm_gmtoff is the type's
 *   offset without the leap correction.
 *
 * All UTC offsets lie within +-25:59:59 (checked), so the instants a wall
 * maps to lie within that distance of it; tz_local_to_utc() walks the
 * (usually one or two) spans of that window.
 *
 * tz_info_at() and tz_local_to_utc() read an immutable zone and never
 * allocate. Zones are found by name, path or $TZ, and cached, in
 * tzcache.c. */
#include "time/tz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "time/civil.h"
#include "time/tz_int.h"
#include "time/tzrule.h"
#include "util/err.h"
#include "../banned.h"

#define TZ_UTOFF_MAX 93599          /* 25:59:59, RFC 8536's bound */
#define TZIF_HEADER_LEN 44

struct tz_type {
    int32_t utoff_s;                /* seconds east of UTC */
    bool isdst;
    const char *abbr;               /* into abbrs, or into rule */
};

struct tz {
    char *name;
    struct tz_type *types;
    size_t ntypes;
    char *abbrs;                    /* the file's abbreviations, NUL-terminated */
    int64_t *at;                    /* merged transitions, ascending */
    unsigned char *at_type;         /* the type in force from at[i] on */
    size_t n;
    unsigned char first_type;       /* before at[0]: glibc's pick */
    bool has_rule;                  /* rule applies from rule_from_s on */
    int64_t rule_from_s;            /* the last transition; INT64_MIN: always */
    int64_t rule_lo_s, rule_hi_s;   /* where glibc can run the rule */
    unsigned char last_type;        /* from rule_from_s on, outside those */
    struct tzrule rule;
};

struct tzif_header {
    unsigned char version;          /* 0 for version 1, else '2', '3', ... */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

const char *tz_quote(const char *s, char *buf, size_t size)
{
    return err_quote(s, SIZE_MAX, buf, size);
}

int tz_bad(struct err *err, const char *name, const char *why)
{
    char q[QUOTE_LEN];

    err_set(err, CHIME_EINVAL, "timezone", "time zone '%s' is not valid TZif: %s",
            tz_quote(name, q, sizeof q), why);
    return -CHIME_EINVAL;       /* a constant, for the static analyser */
}

int tz_no_memory(struct err *err)
{
    err_set(err, CHIME_ENOMEM, "timezone", "out of memory loading a time zone");
    return -CHIME_ENOMEM;
}

/* The first instant of year Y (UTC). */
static int64_t year_start(int64_t y)
{
    return civil_days(y, 1, 1) * 86400;
}

/* glibc runs the rule only where the UTC year fits tm_year (an int counting
 * from 1900); beyond, __offtime fails and glibc uses the last type. */
static int64_t rule_min_s(void)
{
    return year_start((int64_t)INT_MIN + 1900);
}

static int64_t rule_max_s(void)
{
    return year_start((int64_t)INT_MAX + 1900 + 1);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_header(const unsigned char *d, size_t len, size_t pos,
                       struct tzif_header *h, const char *name, struct err *err)
{
    const unsigned char *p = d + pos;

    if (len - pos < TZIF_HEADER_LEN)
        return tz_bad(err, name, "truncated header");
    if (memcmp(p, "TZif", 4) != 0)
        return tz_bad(err, name, "no TZif magic");
    /* glibc reads any later version with version 2's layout */
    h->version = p[4];
    if (h->version != 0 && (h->version < '2' || h->version > '9'))
        return tz_bad(err, name, "unknown version");
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return 0;
}

/* Bytes in a data block whose times take TSIZE bytes; never overflows. */
static uint64_t block_len(const struct tzif_header *h, unsigned tsize)
{
    return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Reads the data block at *POS into Z's raw transitions, types and
 * abbreviations, checking every count, index and order. */
static int read_block(struct tz *z, const unsigned char *d, size_t len, size_t *pos,
                      const struct tzif_header *h, unsigned tsize, const char *name,
                      struct err *err)
{
    const unsigned char *p = d + *pos;
    size_t i, n = h->timecnt;

    if (h->typecnt == 0 || h->typecnt > 256)
        return tz_bad(err, name, "type count is not 1-256");
    if (h->charcnt == 0)
        return tz_bad(err, name, "no abbreviations");
    if (h->isstdcnt > h->typecnt || h->isutcnt > h->typecnt)
        return tz_bad(err, name, "more indicators than types");
    if (block_len(h, tsize) > len - *pos)
        return tz_bad(err, name, "truncated data");

    z->at = malloc(n ? n * sizeof *z->at : 1);
    z->at_type = malloc(n ? n : 1);
    z->types = calloc(h->typecnt, sizeof *z->types);
    z->abbrs = malloc(h->charcnt);
    if (!z->at || !z->at_type || !z->types || !z->abbrs)
        return tz_no_memory(err);
    z->n = n;
    z->ntypes = h->typecnt;

    for (i = 0; i < n; i++) {
        z->at[i] = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
        if (i > 0 && z->at[i] <= z->at[i - 1])
            return tz_bad(err, name, "transitions out of order");
    }
    p += n * tsize;
    for (i = 0; i < n; i++) {
        if (p[i] >= h->typecnt)
            return tz_bad(err, name, "transition type out of range");
        z->at_type[i] = p[i];
    }
    p += n;

    memcpy(z->abbrs, p + (size_t)h->typecnt * 6, h->charcnt);
    for (i = 0; i < h->typecnt; i++, p += 6) {
        int32_t utoff = (int32_t)be32(p);
        unsigned idx = p[5];

        if (utoff < -TZ_UTOFF_MAX || utoff > TZ_UTOFF_MAX)
            return tz_bad(err, name, "UTC offset beyond 25:59:59");
        if (p[4] > 1)
            return tz_bad(err, name, "DST flag is not 0 or 1");
        if (idx >= h->charcnt || !memchr(z->abbrs + idx, '\0', h->charcnt - idx))
            return tz_bad(err, name, "abbreviation out of range or unterminated");
        z->types[i] = (struct tz_type){ utoff, p[4] == 1, z->abbrs + idx };
    }
    p += h->charcnt;
    p += (size_t)h->leapcnt * (tsize + 4);     /* leap seconds: ignored */
    for (i = 0; i < (size_t)h->isstdcnt + h->isutcnt; i++)
        if (p[i] > 1)
            return tz_bad(err, name, "standard/UT indicator is not 0 or 1");
    p += (size_t)h->isstdcnt + h->isutcnt;
    *pos = (size_t)(p - d);
    return 0;
}

/* The footer of a version 2+ file: "\n" rule "\n", the end of the file.
 * An empty rule means none. */
static int read_footer(struct tz *z, const unsigned char *p, size_t len, bool *ret_rule,
                       const char *name, struct err *err)
{
    const unsigned char *nl;
    struct err rule_err = { 0 };
    char q[QUOTE_LEN];
    size_t flen;

    if (len < 2 || p[0] != '\n' || p[len - 1] != '\n')
        return tz_bad(err, name, "missing footer");
    flen = len - 2;
    nl = memchr(p + 1, '\n', flen);
    if (nl || memchr(p + 1, '\0', flen))
        return tz_bad(err, name, "footer holds a newline or NUL");
    *ret_rule = flen > 0;
    if (flen > 0 && tzrule_parse((const char *)p + 1, flen, &z->rule, &rule_err) < 0) {
        err_set(err, CHIME_EINVAL, "timezone", "time zone '%s' has a bad footer: %s",
                tz_quote(name, q, sizeof q), rule_err.msg);
        return -CHIME_EINVAL;
    }
    return 0;
}

static bool type_same(const struct tz_type *a, const struct tz_type *b)
{
    return a->utoff_s == b->utoff_s && a->isdst == b->isdst && strcmp(a->abbr, b->abbr) == 0;
}

/* Picks glibc's types for before and after the table, and merges the raw
 * transitions into spans that differ from their neighbours. */
static void finish(struct tz *z, bool footer)
{
    unsigned char same[256] = { 0 }; /* the first type equal to each type */
    size_t i, j, m = 0, raw = z->n, used;
    unsigned char prev, first = 0;

    for (i = 0; i < z->ntypes; i++) {
        same[i] = (unsigned char)i;
        for (j = 0; j < i; j++)
            if (type_same(&z->types[j], &z->types[i])) {
                same[i] = same[j];
                break;
            }
    }
    while (first < z->ntypes - 1 && z->types[first].isdst)
        first++;
    if (z->types[first].isdst)
        first = 0;
    z->first_type = same[first];

    /* glibc ignores the footer of a file without transitions */
    z->has_rule = footer && raw > 0;
    if (raw > 0) {
        z->rule_from_s = z->at[raw - 1];
        z->last_type = same[z->at_type[raw - 1]];
    }
    if (z->has_rule) {
        z->rule_lo_s = z->rule_from_s > rule_min_s() ? z->rule_from_s : rule_min_s();
        z->rule_hi_s = rule_max_s();
    }
    if (z->has_rule && !z->rule.has_dst) {
        /* a rule without DST that says what the last type says (most
         * zones today) changes nothing: let the last span run forever */
        struct tz_type std = { z->rule.std_utoff_s, false, z->rule.std_abbr };

        if (type_same(&std, &z->types[z->last_type]))
            z->has_rule = false;
    }
    used = z->has_rule ? raw - 1 : raw;
    prev = z->first_type;
    for (i = 0; i < used; i++) {
        unsigned char t = same[z->at_type[i]];

        if (t == prev)
            continue;
        z->at[m] = z->at[i];
        z->at_type[m++] = t;
        prev = t;
    }
    z->n = m;
}

int tz_parse(const char *name, const unsigned char *data, size_t len, struct tz **ret,
             struct err *err)
{
    struct tzif_header h;
    struct tz *z = NULL;
    size_t pos = TZIF_HEADER_LEN;
    bool footer = false;
    unsigned char version;
    int rc;

    if (!name)
        name = "";
    if (len > TZ_FILE_MAX)
        return tz_bad(err, name, "larger than 1 MiB");
    rc = read_header(data, len, 0, &h, name, err);
    if (rc < 0)
        return rc;
    if (h.version != 0) {
        /* version 2+: skip the 32-bit block for the 64-bit one */
        uint64_t skip = block_len(&h, 4);

        if (skip > len - pos)
            return tz_bad(err, name, "truncated version 1 data");
        pos += (size_t)skip;
        version = h.version;
        rc = read_header(data, len, pos, &h, name, err);
        if (rc < 0)
            return rc;
        if (h.version != version)
            return tz_bad(err, name, "second header's version differs");
        pos += TZIF_HEADER_LEN;
    }

    z = calloc(1, sizeof *z);
    if (!z || !(z->name = strdup(name))) {
        rc = tz_no_memory(err);
        goto done;
    }
    rc = read_block(z, data, len, &pos, &h, h.version ? 8 : 4, name, err);
    if (rc < 0)
        goto done;
    if (h.version != 0)
        rc = read_footer(z, data + pos, len - pos, &footer, name, err);
    else if (pos != len)
        rc = tz_bad(err, name, "data after the end");
    if (rc < 0)
        goto done;
    finish(z, footer);
    *ret = z;
    z = NULL;
done:
    tz_free(z);
    return rc;
}

/* A zone made of a POSIX rule alone (a $TZ that names no file): glibc
 * applies the rule at every instant. */
int tz_rule_zone(const char *name, const char *spec, struct tz **ret, struct err *err)
{
    struct tz *z = calloc(1, sizeof *z);
    int rc;

    if (!z || !(z->name = strdup(name)) || !(z->types = calloc(1, sizeof *z->types))) {
        rc = tz_no_memory(err);
        goto done;
    }
    rc = tzrule_parse(spec, strlen(spec), &z->rule, err);
    if (rc < 0)
        goto done;
    z->ntypes = 1;
    z->types[0] = (struct tz_type){ z->rule.std_utoff_s, false, z->rule.std_abbr };
    if (z->rule.has_dst) {
        z->has_rule = true;
        z->rule_from_s = INT64_MIN;
        z->rule_lo_s = rule_min_s();
        z->rule_hi_s = rule_max_s();
    }
    *ret = z;
    z = NULL;
done:
    tz_free(z);
    return rc;
}

void tz_free(struct tz *z)
{
    if (!z)
        return;
    free(z->name);
    free(z->types);
    free(z->abbrs);
    free(z->at);
    free(z->at_type);
    free(z);
}

const char *tz_name(const struct tz *z)
{
    return z->name;
}

static void type_info(const struct tz *z, unsigned type, struct tz_info *ret)
{
    ret->utoff_s = z->types[type].utoff_s;
    ret->isdst = z->types[type].isdst;
    ret->abbr = z->types[type].abbr;
}

static bool info_same(const struct tz_info *a, const struct tz_info *b)
{
    return a->utoff_s == b->utoff_s && a->isdst == b->isdst && strcmp(a->abbr, b->abbr) == 0;
}

/* T_S before the rule, or a zone without one: the merged table. */
static void table_info(const struct tz *z, int64_t t_s, struct tz_info *ret)
{
    size_t lo = 0, hi = z->n;       /* the count of at[] <= t_s is in [lo, hi] */

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (z->at[mid] <= t_s)
            lo = mid + 1;
        else
            hi = mid;
    }
    type_info(z, lo ? z->at_type[lo - 1] : z->first_type, ret);
    ret->start_s = lo ? z->at[lo - 1] : INT64_MIN;
    ret->end_s = lo < z->n ? z->at[lo] : z->has_rule ? z->rule_from_s : INT64_MAX;
}

/* T_S at or after rule_from_s: the rule, or the last type where glibc
 * cannot compute the year. */
static void tail_info(const struct tz *z, int64_t t_s, struct tz_info *ret)
{
    if (t_s >= z->rule_lo_s && t_s < z->rule_hi_s) {
        tzrule_info_at(&z->rule, t_s, z->rule_lo_s, z->rule_hi_s, ret);
        return;
    }
    type_info(z, z->last_type, ret);
    if (t_s < z->rule_lo_s) {
        ret->start_s = z->rule_from_s;
        ret->end_s = z->rule_lo_s;
    } else {
        ret->start_s = z->rule_hi_s > z->rule_from_s ? z->rule_hi_s : z->rule_from_s;
        ret->end_s = INT64_MAX;
    }
}

void tz_info_at(const struct tz *z, int64_t t_s, struct tz_info *ret)
{
    struct tz_info other;

    if (!z->has_rule || t_s < z->rule_from_s) {
        table_info(z, t_s, ret);
        if (z->has_rule && ret->end_s == z->rule_from_s) {
            tail_info(z, z->rule_from_s, &other);
            if (info_same(ret, &other))
                ret->end_s = other.end_s;
        }
        return;
    }
    tail_info(z, t_s, ret);
    if (ret->start_s == z->rule_from_s && z->rule_from_s != INT64_MIN) {
        table_info(z, z->rule_from_s - 1, &other);
        if (info_same(ret, &other))
            ret->start_s = other.start_s;
    }
}

static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t r;

    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Whether the forward shift at T_S from offset A_S to B_S skips WALL_S:
 * the walls T+A .. T+B-1 never occur. */
static bool skips(int64_t t_s, int32_t a_s, int32_t b_s, int64_t wall_s)
{
    int64_t from, to;

    if (b_s <= a_s || __builtin_add_overflow(t_s, a_s, &from) ||
        __builtin_add_overflow(t_s, b_s, &to))
        return false;
    return from <= wall_s && wall_s < to;
}

void tz_local_to_utc(const struct tz *z, int64_t wall_s, struct tz_local *ret)
{
    int64_t lo = add_sat(wall_s, -TZ_UTOFF_MAX), hi = add_sat(wall_s, TZ_UTOFF_MAX);
    int64_t t, first = 0, last = 0, gap = 0;
    struct tz_info cur, next;
    bool gap_found = false;
    size_t found = 0;

    /* Every instant whose wall is WALL_S lies in [lo, hi]: visit the spans
     * there in order; each holds at most one, WALL_S minus its offset. */
    tz_info_at(z, lo, &cur);
    for (;;) {
        if (!__builtin_sub_overflow(wall_s, (int64_t)cur.utoff_s, &t) && t >= cur.start_s &&
            (t < cur.end_s || cur.end_s == INT64_MAX)) {
            if (found++ == 0)
                first = t;
            last = t;
        }
        if (cur.end_s == INT64_MAX || cur.end_s > hi)
            break;
        tz_info_at(z, cur.end_s, &next);
        if (!gap_found && skips(cur.end_s, cur.utoff_s, next.utoff_s, wall_s)) {
            gap_found = true;
            gap = cur.end_s;
        }
        cur = next;
    }

    if (found == 0) {
        /* With offsets bounded, a wall that never occurs lies in a forward
         * shift inside the window; only walls within a day of the int64
         * range can miss, and they go to that end of time. */
        ret->kind = TZ_LOCAL_GAP;
        ret->first_s = gap_found ? gap : wall_s < 0 ? INT64_MIN : INT64_MAX;
        ret->last_s = ret->first_s;
        return;
    }
    ret->kind = found == 1 ? TZ_LOCAL_UNIQUE : TZ_LOCAL_OVERLAP;
    ret->first_s = first;
    ret->last_s = last;
}
