/* tz_test.h: what tz_test.c, tz_glibc_test.c and tz_file_test.c share
 * (tests only): civil instants, loading a zone or a file, glibc as the
 * oracle (compare_zone() checks one zone against TZ=... and localtime_r),
 * the expected error of a load, and a writer of TZif files. Functions are
 * static inline so that a file using only some of them compiles cleanly. */
#ifndef CHIME_TIME_TZ_TEST_H
#define CHIME_TIME_TZ_TEST_H

#include "time/tz.h"

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "time/civil.h"
#include "time/tzrule.h"
#include "util/err.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define MAX_DIFFS 10                    /* differences printed per test */
#define SPREAD 200                      /* evenly spread instants per zone */
#define RANDOM 200                      /* pseudo-random instants per zone */
#define TZ_WINDOW 93599                 /* the largest UTC offset, 25:59:59 */

/* UTC instant or wall of a civil date and time. */
static inline int64_t at(int64_t y, int mo, int d, int h, int mi, int s)
{
    return civil_seconds(y, mo, d, h, mi, s);
}

static inline const struct tz *load(const char *name)
{
    const struct tz *z = NULL;
    struct err err = { 0 };

    if (tz_load(name, &z, &err) != 0)
        fail_msg("tz_load(%s): %s", name, err.msg);
    return z;
}

static inline unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- glibc as the oracle ---- */

struct glibc_info {
    long utoff_s;
    int isdst;
    char abbr[16];
};

static inline void glibc_use(const char *tz)
{
    if (tz)
        setenv("TZ", tz, 1);
    else
        unsetenv("TZ");
    tzset();
}

static inline void glibc_at(int64_t t_s, struct glibc_info *g)
{
    time_t t = (time_t)t_s;
    struct tm tm;

    if (!localtime_r(&t, &tm))
        fail_msg("localtime_r(%" PRId64 ") failed", t_s);
    g->utoff_s = tm.tm_gmtoff;
    g->isdst = tm.tm_isdst;
    snprintf(g->abbr, sizeof g->abbr, "%s", tm.tm_zone ? tm.tm_zone : "");
}

struct tally {
    const char *what;
    long zones, instants, walls, diffs;
};

static inline void differ(struct tally *ty, const char *zone, int64_t t_s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline void differ(struct tally *ty, const char *zone, int64_t t_s, const char *fmt, ...)
{
    va_list ap;

    if (ty->diffs++ >= MAX_DIFFS)
        return;
    fprintf(stderr, "  %s: %s at %" PRId64 ": ", ty->what, zone, t_s);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Compares tz_info_at() with glibc at T_S and checks the span holds T_S. */
static inline void check_instant(struct tally *ty, const char *zone, const struct tz *z, int64_t t_s)
{
    struct glibc_info g;
    struct tz_info i;

    glibc_at(t_s, &g);
    tz_info_at(z, t_s, &i);
    ty->instants++;
    if (i.utoff_s != g.utoff_s || (int)i.isdst != g.isdst || strcmp(i.abbr, g.abbr) != 0)
        differ(ty, zone, t_s, "glibc %ld %d %s, tz %d %d %s", g.utoff_s, g.isdst, g.abbr,
               (int)i.utoff_s, (int)i.isdst, i.abbr);
    if (!(i.start_s <= t_s && (t_s < i.end_s || i.end_s == INT64_MAX)))
        differ(ty, zone, t_s, "span [%" PRId64 ", %" PRId64 ") misses it", i.start_s, i.end_s);
}

/* The distinct offsets glibc reports in a zone: every instant a wall maps
 * to has one of them, so trying each gives the exhaustive answer. */
struct offsets {
    long v[64];
    size_t n;
};

static inline void offsets_add(struct offsets *o, long v)
{
    size_t i;

    for (i = 0; i < o->n; i++)
        if (o->v[i] == v)
            return;
    if (o->n < sizeof o->v / sizeof o->v[0])
        o->v[o->n++] = v;
}

static inline int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static inline void check_wall(struct tally *ty, const char *zone, const struct tz *z,
                       const struct offsets *o, int64_t wall_s)
{
    int64_t sol[64];
    size_t i, n = 0;
    struct glibc_info g, h;
    struct tz_local l;

    for (i = 0; i < o->n; i++) {
        glibc_at(wall_s - o->v[i], &g);
        if (g.utoff_s == o->v[i])
            sol[n++] = wall_s - o->v[i];
    }
    qsort(sol, n, sizeof sol[0], cmp_i64);
    tz_local_to_utc(z, wall_s, &l);
    ty->walls++;
    if (n == 0) {
        /* first_s must be a forward shift across the wall */
        glibc_at(l.first_s - 1, &g);
        glibc_at(l.first_s, &h);
        if (l.kind != TZ_LOCAL_GAP || l.first_s - 1 + g.utoff_s >= wall_s ||
            l.first_s + h.utoff_s <= wall_s || l.last_s != l.first_s)
            differ(ty, zone, wall_s, "wall: want a gap, got kind %d [%" PRId64 ", %" PRId64 "]",
                   (int)l.kind, l.first_s, l.last_s);
        return;
    }
    if (l.kind != (n == 1 ? TZ_LOCAL_UNIQUE : TZ_LOCAL_OVERLAP) || l.first_s != sol[0] ||
        l.last_s != sol[n - 1])
        differ(ty, zone, wall_s, "wall: want %zu instants [%" PRId64 ", %" PRId64
               "], got kind %d [%" PRId64 ", %" PRId64 "]", n, sol[0], sol[n - 1],
               (int)l.kind, l.first_s, l.last_s);
}

/* A growing list of instants. */
struct instants {
    int64_t *v;
    size_t n, cap;
};

static inline void instants_add(struct instants *s, int64_t t_s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        assert_non_null(s->v);
    }
    s->v[s->n++] = t_s;
}

static inline uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The transitions in a TZif file's last data block, read independently of
 * tz.c so that a transition tz.c drops still gets checked. */
static inline void file_transitions(const unsigned char *d, size_t len, struct instants *out)
{
    uint32_t c[6];
    size_t i, pos = 0, tsize = 4;
    int block;

    for (block = 0; block < 2; block++) {
        assert_true(len >= pos + 44);
        for (i = 0; i < 6; i++)
            c[i] = (uint32_t)d[pos + 20 + 4 * i] << 24 | (uint32_t)d[pos + 21 + 4 * i] << 16 |
                   (uint32_t)d[pos + 22 + 4 * i] << 8 | d[pos + 23 + 4 * i];
        pos += 44;
        if (block == 1 || d[4] == 0)
            break;
        pos += (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
        tsize = 8;
    }
    for (i = 0; i < c[3]; i++) {
        const unsigned char *p = d + pos + i * tsize;
        uint64_t u = 0;
        size_t k;

        for (k = 0; k < tsize; k++)
            u = u << 8 | p[k];
        instants_add(out, tsize == 8 ? (int64_t)u : (int64_t)(int32_t)(uint32_t)u);
    }
}

/* Compares one zone with glibc (TZ=GLIBC_TZ) from FROM_S to TO_S. */
static inline void compare_zone(struct tally *ty, const char *zone, const struct tz *z,
                         const char *glibc_tz, const unsigned char *data, size_t len,
                         int64_t from_s, int64_t to_s)
{
    struct instants s = { 0 }, walls = { 0 };
    struct offsets o = { .n = 0 };
    struct glibc_info g;
    struct tz_info i, j;
    uint64_t seed = 88172645463325252u;
    int64_t t, y;
    size_t k;

    glibc_use(glibc_tz);
    for (k = 0; zone[k]; k++)
        seed = seed * 31 + (unsigned char)zone[k];

    /* every span boundary tz.c reports, which must also be a change */
    for (t = from_s;;) {
        tz_info_at(z, t, &i);
        if (i.end_s >= to_s || i.end_s == INT64_MAX)
            break;
        if (i.end_s <= t) {
            differ(ty, zone, t, "span [%" PRId64 ", %" PRId64 ") ends before it",
                   i.start_s, i.end_s);
            break;
        }
        t = i.end_s;
        tz_info_at(z, t - 1, &j);
        tz_info_at(z, t, &i);
        /* spans are maximal, but for a rule read in glibc's pre-1970 way,
         * which can go years without a change and is cut every 8 */
        if (j.utoff_s == i.utoff_s && j.isdst == i.isdst && strcmp(j.abbr, i.abbr) == 0 &&
            t >= 0)
            differ(ty, zone, t, "span boundary changes nothing");
        instants_add(&s, t - 1);
        instants_add(&s, t);
        instants_add(&s, t + 1);
        instants_add(&walls, t - 1 + j.utoff_s);
        instants_add(&walls, t + j.utoff_s);
        instants_add(&walls, t - 1 + i.utoff_s);
        instants_add(&walls, t + i.utoff_s);
        instants_add(&walls, t + (j.utoff_s + i.utoff_s) / 2);
    }
    /* every transition in the file */
    if (data) {
        struct instants ft = { 0 };

        file_transitions(data, len, &ft);
        for (k = 0; k < ft.n; k++)
            if (ft.v[k] > from_s && ft.v[k] < to_s) {
                instants_add(&s, ft.v[k] - 1);
                instants_add(&s, ft.v[k]);
                instants_add(&s, ft.v[k] + 1);
            }
        free(ft.v);
    }
    for (k = 0; k < SPREAD; k++)
        instants_add(&s, from_s + (int64_t)k * ((to_s - from_s) / SPREAD));
    for (k = 0; k < RANDOM; k++) {
        t = from_s + (int64_t)(rng_next(&seed) % (uint64_t)(to_s - from_s));
        instants_add(&s, t);
        instants_add(&walls, t + (int64_t)(rng_next(&seed) % 7200) - 3600);
    }
    /* glibc decides DST by UTC year in the rule years: new years matter */
    for (y = 2030; y <= 2100; y++) {
        t = at(y, 1, 1, 0, 0, 0);
        instants_add(&s, t - 1);
        instants_add(&s, t);
        instants_add(&s, t - 14 * 3600);
        instants_add(&s, t + 14 * 3600);
    }

    for (k = 0; k < s.n; k++) {
        check_instant(ty, zone, z, s.v[k]);
        glibc_at(s.v[k], &g);
        offsets_add(&o, g.utoff_s);
    }
    for (k = 0; k < walls.n; k++)
        check_wall(ty, zone, z, &o, walls.v[k]);
    ty->zones++;
    free(s.v);
    free(walls.v);
}

static inline void expect_load_error(const char *name, int code, const char *says)
{
    const struct tz *z = NULL;
    struct err err = { 0 };
    int rc = tz_load(name, &z, &err);

    if (rc != -code || err.code != code || strcmp(err.field, "timezone") != 0 ||
        !strstr(err.msg, says))
        fail_msg("tz_load(%.40s): rc %d code %d field '%s' msg '%s'", name, rc, err.code,
                 err.field, err.msg);
    assert_null(z);
}

struct tzif_writer {
    unsigned char b[4096];
    size_t n;
};

static inline void put(struct tzif_writer *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof w->b);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static inline void put32(struct tzif_writer *w, uint32_t v)
{
    unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v };
    put(w, b, 4);
}

static inline void put64(struct tzif_writer *w, int64_t v)
{
    put32(w, (uint32_t)((uint64_t)v >> 32));
    put32(w, (uint32_t)v);
}

struct tzif_type {
    int32_t utoff_s;
    unsigned char isdst, idx;
};

/* A version 2 file: an empty version 1 block, then the given data. */
static inline void tzif2(struct tzif_writer *w, const int64_t *times, const unsigned char *idx,
                  size_t n, const struct tzif_type *types, size_t ntypes, const char *abbrs,
                  size_t charcnt, const char *footer)
{
    static const unsigned char zeros[16] = { 0 };
    size_t i;

    w->n = 0;
    put(w, "TZif2", 5);
    put(w, zeros, 15);
    put(w, zeros, 16);                      /* isut, isstd, leap, time counts */
    put32(w, 1);                            /* typecnt */
    put32(w, 1);                            /* charcnt */
    put(w, zeros, 7);                       /* UTC, and one NUL */
    put(w, "TZif2", 5);
    put(w, zeros, 15);
    put32(w, 0);
    put32(w, 0);
    put32(w, 0);
    put32(w, (uint32_t)n);
    put32(w, (uint32_t)ntypes);
    put32(w, (uint32_t)charcnt);
    for (i = 0; i < n; i++)
        put64(w, times[i]);
    put(w, idx, n);
    for (i = 0; i < ntypes; i++) {
        put32(w, (uint32_t)types[i].utoff_s);
        put(w, &types[i].isdst, 1);
        put(w, &types[i].idx, 1);
    }
    put(w, abbrs, charcnt);
    put(w, "\n", 1);
    put(w, footer, strlen(footer));
    put(w, "\n", 1);
}

static inline int parse_w(const struct tzif_writer *w, struct tz **z, struct err *err)
{
    return tz_parse("test", w->b, w->n, z, err);
}

static inline void expect_parse_error(const struct tzif_writer *w, const char *says)
{
    struct err err = { 0 };
    struct tz *z = NULL;
    int rc = parse_w(w, &z, &err);

    if (rc != -CHIME_EINVAL || strcmp(err.field, "timezone") != 0 || !strstr(err.msg, says))
        fail_msg("want an error saying '%s', got rc %d msg '%s'", says, rc, err.msg);
    assert_null(z);
}

#endif
