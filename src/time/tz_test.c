/* tz_test.c: tests of tz.c and tzrule.c.
 *
 * The oracle is glibc: every TZif file under /usr/share/zoneinfo is read
 * through tz_load() and through setenv("TZ")/tzset()/localtime_r, and the
 * two must agree on offset, DST flag and abbreviation at every transition
 * (and the second either side), at spread and pseudo-random instants and
 * at UTC new years in the rule years; tz_local_to_utc() is checked against
 * an exhaustive search built on glibc. The hand-checked tables below were
 * worked out from the zones' published rules, not from the code. */
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
#include "../banned.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define MAX_DIFFS 10                    /* differences printed per test */
#define SPREAD 200                      /* evenly spread instants per zone */
#define RANDOM 200                      /* pseudo-random instants per zone */
#define TZ_WINDOW 93599                 /* the largest UTC offset, 25:59:59 */

/* UTC instant or wall of a civil date and time. */
static int64_t at(int64_t y, int mo, int d, int h, int mi, int s)
{
    return civil_seconds(y, mo, d, h, mi, s);
}

static const struct tz *load(const char *name)
{
    const struct tz *z = NULL;
    struct err err = { 0 };

    if (tz_load(name, &z, &err) != 0)
        fail_msg("tz_load(%s): %s", name, err.msg);
    return z;
}

static unsigned char *slurp(const char *path, size_t *len)
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

static void glibc_use(const char *tz)
{
    if (tz)
        setenv("TZ", tz, 1);
    else
        unsetenv("TZ");
    tzset();
}

static void glibc_at(int64_t t_s, struct glibc_info *g)
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

static void differ(struct tally *ty, const char *zone, int64_t t_s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void differ(struct tally *ty, const char *zone, int64_t t_s, const char *fmt, ...)
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
static void check_instant(struct tally *ty, const char *zone, const struct tz *z, int64_t t_s)
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

static void offsets_add(struct offsets *o, long v)
{
    size_t i;

    for (i = 0; i < o->n; i++)
        if (o->v[i] == v)
            return;
    if (o->n < sizeof o->v / sizeof o->v[0])
        o->v[o->n++] = v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void check_wall(struct tally *ty, const char *zone, const struct tz *z,
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

static void instants_add(struct instants *s, int64_t t_s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        assert_non_null(s->v);
    }
    s->v[s->n++] = t_s;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The transitions in a TZif file's last data block, read independently of
 * tz.c so that a transition tz.c drops still gets checked. */
static void file_transitions(const unsigned char *d, size_t len, struct instants *out)
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
static void compare_zone(struct tally *ty, const char *zone, const struct tz *z,
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

/* nftw() takes no closure: the walk fills this list. */
static struct {
    char **names;
    size_t n, cap;
} found;

static int on_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    if (found.n == found.cap) {
        found.cap = found.cap ? found.cap * 2 : 1024;
        found.names = realloc(found.names, found.cap * sizeof *found.names);
        if (!found.names)
            return -1;
    }
    found.names[found.n] = strdup(path + strlen(ZONEINFO "/"));
    return found.names[found.n++] ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_tz_matches_glibc_for_every_zone_file(void **state)
{
    struct tally ty = { "zone", 0, 0, 0, 0 };
    long skipped = 0;
    clock_t begin = clock();
    size_t k;

    (void)state;
    unsetenv("TZDIR");
    /* FTW_PHYS: regular files once each; posix/ is links into the rest */
    assert_int_equal(nftw(ZONEINFO, on_file, 32, FTW_PHYS), 0);
    qsort(found.names, found.n, sizeof *found.names, cmp_str);
    for (k = 0; k < found.n; k++) {
        const char *name = found.names[k];
        char path[512];
        unsigned char *data;
        size_t len;

        snprintf(path, sizeof path, "%s/%s", ZONEINFO, name);
        data = slurp(path, &len);
        if (len < 4 || memcmp(data, "TZif", 4) != 0) {
            skipped++;          /* zone.tab, tzdata.zi, leapseconds, ... */
        } else {
            compare_zone(&ty, name, load(name), name, data, len, at(1850, 1, 1, 0, 0, 0),
                         at(2101, 1, 1, 0, 0, 0));
        }
        free(data);
        free(found.names[k]);
    }
    free(found.names);
    print_message("glibc agrees on %ld zones: %ld instants, %ld walls, %ld differences "
                  "(%ld other files skipped, %.1f s)\n", ty.zones, ty.instants, ty.walls,
                  ty.diffs, skipped, (double)(clock() - begin) / CLOCKS_PER_SEC);
    assert_true(ty.zones > 300);
    assert_int_equal(ty.diffs, 0);
}

/* $TZ holding a rule, no file: glibc's own POSIX path, 1970-2100. */
static void test_tz_matches_glibc_for_posix_tz_strings(void **state)
{
    static const char *const rules[] = {
        "EST5EDT,M3.2.0,M11.1.0",
        "<+0330>-3:30<+0430>,J79/24,J263/24",
        "AEST-10AEDT,M10.1.0,M4.1.0/3",            /* southern hemisphere */
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",    /* 30-minute DST */
        "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",         /* negative time (v3) */
        "IST-2IDT,M3.4.4/26,M10.5.0",              /* past 24:00 (v3) */
        "IST-1GMT0,M10.5.0,M3.5.0/1",              /* negative DST */
        "EST5EDT,0/0,J365/25",                     /* DST all year */
        "XXX3YYY,M3.2.0/-167,M11.1.0/167",
        "AAA-5:45",
        "<+13>-13",
        "ABC4DEF5,M1.1.0,M12.5.6",                 /* DST behind standard */
        "ZZZ0YYY,J60/0,60/0",
        "WWW-14VVV-14:30,1/0,J59/23:59:59",
    };
    struct tally ty = { "rule", 0, 0, 0, 0 };
    const struct tz *z;
    struct err err;
    size_t k;

    (void)state;
    for (k = 0; k < sizeof rules / sizeof rules[0]; k++) {
        glibc_use(rules[k]);
        assert_int_equal(tz_system(&z, &err), 0);
        assert_string_equal(tz_name(z), rules[k]);
        compare_zone(&ty, rules[k], z, rules[k], NULL, 0, at(1970, 1, 1, 0, 0, 0),
                     at(2101, 1, 1, 0, 0, 0));
    }
    glibc_use(NULL);
    print_message("glibc agrees on %ld rules: %ld instants, %ld walls, %ld differences\n",
                  ty.zones, ty.instants, ty.walls, ty.diffs);
    assert_int_equal(ty.diffs, 0);
}

/* ---- hand-checked cases ---- */

struct wall_case {
    const char *zone;
    int64_t wall_s;
    enum tz_local_kind kind;
    int64_t first_s, last_s;
};

#define WALL(z, y, mo, d, h, mi, k, f, l) { z, at(y, mo, d, h, mi, 0), k, f, l }

static void test_tz_maps_hand_checked_walls(void **state)
{
    const struct wall_case cases[] = {
        /* New York: 2026-03-08 02:00 EST -> 03:00 EDT at 07:00Z */
        WALL("America/New_York", 2026, 3, 8, 2, 30, TZ_LOCAL_GAP, at(2026, 3, 8, 7, 0, 0),
             at(2026, 3, 8, 7, 0, 0)),
        WALL("America/New_York", 2026, 3, 8, 1, 59, TZ_LOCAL_UNIQUE, at(2026, 3, 8, 6, 59, 0),
             at(2026, 3, 8, 6, 59, 0)),
        WALL("America/New_York", 2026, 3, 8, 3, 0, TZ_LOCAL_UNIQUE, at(2026, 3, 8, 7, 0, 0),
             at(2026, 3, 8, 7, 0, 0)),
        /* 2026-11-01 02:00 EDT -> 01:00 EST at 06:00Z: 01:30 twice */
        WALL("America/New_York", 2026, 11, 1, 1, 30, TZ_LOCAL_OVERLAP,
             at(2026, 11, 1, 5, 30, 0), at(2026, 11, 1, 6, 30, 0)),
        WALL("America/New_York", 2026, 11, 1, 2, 0, TZ_LOCAL_UNIQUE, at(2026, 11, 1, 7, 0, 0),
             at(2026, 11, 1, 7, 0, 0)),
        /* past the table (fat files end in 2037): the rule. 2040-03-11 and
         * 2040-11-04 are the second and first Sundays */
        WALL("America/New_York", 2040, 3, 11, 2, 30, TZ_LOCAL_GAP, at(2040, 3, 11, 7, 0, 0),
             at(2040, 3, 11, 7, 0, 0)),
        WALL("America/New_York", 2040, 11, 4, 1, 30, TZ_LOCAL_OVERLAP,
             at(2040, 11, 4, 5, 30, 0), at(2040, 11, 4, 6, 30, 0)),
        /* London: 2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 back */
        WALL("Europe/London", 2026, 3, 29, 1, 30, TZ_LOCAL_GAP, at(2026, 3, 29, 1, 0, 0),
             at(2026, 3, 29, 1, 0, 0)),
        WALL("Europe/London", 2026, 10, 25, 1, 30, TZ_LOCAL_OVERLAP,
             at(2026, 10, 25, 0, 30, 0), at(2026, 10, 25, 1, 30, 0)),
        /* Berlin: the same instants, an hour later on the wall */
        WALL("Europe/Berlin", 2026, 3, 29, 2, 30, TZ_LOCAL_GAP, at(2026, 3, 29, 1, 0, 0),
             at(2026, 3, 29, 1, 0, 0)),
        WALL("Europe/Berlin", 2026, 10, 25, 2, 30, TZ_LOCAL_OVERLAP,
             at(2026, 10, 25, 0, 30, 0), at(2026, 10, 25, 1, 30, 0)),
        WALL("Europe/Berlin", 2026, 7, 1, 12, 0, TZ_LOCAL_UNIQUE, at(2026, 7, 1, 10, 0, 0),
             at(2026, 7, 1, 10, 0, 0)),
        /* Dublin: IST (+1) is standard, GMT the negative DST; the walls
         * still move as in London */
        WALL("Europe/Dublin", 2026, 3, 29, 1, 30, TZ_LOCAL_GAP, at(2026, 3, 29, 1, 0, 0),
             at(2026, 3, 29, 1, 0, 0)),
        WALL("Europe/Dublin", 2026, 10, 25, 1, 30, TZ_LOCAL_OVERLAP,
             at(2026, 10, 25, 0, 30, 0), at(2026, 10, 25, 1, 30, 0)),
        /* Lord Howe: +10:30, +11 from the first Sunday of October 02:00
         * (2026-10-04) to the first Sunday of April 02:00 (2026-04-05) */
        WALL("Australia/Lord_Howe", 2026, 10, 4, 2, 15, TZ_LOCAL_GAP,
             at(2026, 10, 3, 15, 30, 0), at(2026, 10, 3, 15, 30, 0)),
        WALL("Australia/Lord_Howe", 2026, 4, 5, 1, 45, TZ_LOCAL_OVERLAP,
             at(2026, 4, 4, 14, 45, 0), at(2026, 4, 4, 15, 15, 0)),
        WALL("Australia/Lord_Howe", 2026, 4, 5, 2, 0, TZ_LOCAL_UNIQUE,
             at(2026, 4, 4, 15, 30, 0), at(2026, 4, 4, 15, 30, 0)),
        /* Kathmandu: +05:45, and +05:30 -> +05:45 at 1986-01-01 00:00 */
        WALL("Asia/Kathmandu", 2026, 6, 15, 12, 0, TZ_LOCAL_UNIQUE, at(2026, 6, 15, 6, 15, 0),
             at(2026, 6, 15, 6, 15, 0)),
        WALL("Asia/Kathmandu", 1986, 1, 1, 0, 10, TZ_LOCAL_GAP, at(1985, 12, 31, 18, 30, 0),
             at(1985, 12, 31, 18, 30, 0)),
        /* Sydney in the rule years, DST across the new year: starts on the
         * first Sunday of October 02:00 (2040-10-07), ends on the first
         * Sunday of April 03:00 (2040-04-01) */
        WALL("Australia/Sydney", 2040, 10, 7, 2, 30, TZ_LOCAL_GAP, at(2040, 10, 6, 16, 0, 0),
             at(2040, 10, 6, 16, 0, 0)),
        WALL("Australia/Sydney", 2040, 4, 1, 2, 30, TZ_LOCAL_OVERLAP,
             at(2040, 3, 31, 15, 30, 0), at(2040, 3, 31, 16, 30, 0)),
        WALL("Australia/Sydney", 2041, 1, 1, 0, 0, TZ_LOCAL_UNIQUE,
             at(2040, 12, 31, 13, 0, 0), at(2040, 12, 31, 13, 0, 0)),
        /* Apia skipped 2011-12-30: 2011-12-29 24:00 -10 became
         * 2011-12-31 00:00 +14, at 2011-12-30T10:00Z */
        WALL("Pacific/Apia", 2011, 12, 30, 12, 0, TZ_LOCAL_GAP, at(2011, 12, 30, 10, 0, 0),
             at(2011, 12, 30, 10, 0, 0)),
        WALL("Pacific/Apia", 2011, 12, 29, 23, 59, TZ_LOCAL_UNIQUE,
             at(2011, 12, 30, 9, 59, 0), at(2011, 12, 30, 9, 59, 0)),
        WALL("Pacific/Apia", 2011, 12, 31, 0, 0, TZ_LOCAL_UNIQUE, at(2011, 12, 30, 10, 0, 0),
             at(2011, 12, 30, 10, 0, 0)),
        WALL("UTC", 2026, 1, 1, 0, 0, TZ_LOCAL_UNIQUE, at(2026, 1, 1, 0, 0, 0),
             at(2026, 1, 1, 0, 0, 0)),
    };
    size_t k;

    (void)state;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const struct wall_case *c = &cases[k];
        struct tz_local l;

        tz_local_to_utc(load(c->zone), c->wall_s, &l);
        if (l.kind != c->kind || l.first_s != c->first_s || l.last_s != c->last_s)
            fail_msg("%s wall %" PRId64 ": want %d %" PRId64 " %" PRId64 ", got %d %" PRId64
                     " %" PRId64, c->zone, c->wall_s, (int)c->kind, c->first_s, c->last_s,
                     (int)l.kind, l.first_s, l.last_s);
    }
}

struct info_case {
    const char *zone;
    int64_t t_s;
    int32_t utoff_s;
    bool isdst;
    const char *abbr;
    int64_t start_s, end_s;
};

static void test_tz_reports_offset_and_span_of_an_instant(void **state)
{
    const struct info_case cases[] = {
        { "America/New_York", at(2026, 7, 1, 0, 0, 0), -4 * 3600, true, "EDT",
          at(2026, 3, 8, 7, 0, 0), at(2026, 11, 1, 6, 0, 0) },
        { "America/New_York", at(2045, 1, 10, 0, 0, 0), -5 * 3600, false, "EST",
          at(2044, 11, 6, 6, 0, 0), at(2045, 3, 12, 7, 0, 0) },
        { "Australia/Sydney", at(2041, 1, 1, 0, 0, 0), 11 * 3600, true, "AEDT",
          at(2040, 10, 6, 16, 0, 0), at(2041, 4, 6, 16, 0, 0) },
        { "Asia/Kathmandu", at(2026, 1, 1, 0, 0, 0), 20700, false, "+0545",
          at(1985, 12, 31, 18, 30, 0), INT64_MAX },
        { "Europe/Dublin", at(2026, 1, 15, 0, 0, 0), 0, true, "GMT",
          at(2025, 10, 26, 1, 0, 0), at(2026, 3, 29, 1, 0, 0) },
        { "Europe/Dublin", at(2026, 7, 15, 0, 0, 0), 3600, false, "IST",
          at(2026, 3, 29, 1, 0, 0), at(2026, 10, 25, 1, 0, 0) },
        { "Australia/Lord_Howe", at(2026, 12, 25, 0, 0, 0), 11 * 3600, true, "+11",
          at(2026, 10, 3, 15, 30, 0), at(2027, 4, 3, 15, 0, 0) },
        { "UTC", 0, 0, false, "UTC", INT64_MIN, INT64_MAX },
    };
    size_t k;

    (void)state;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const struct info_case *c = &cases[k];
        struct tz_info i;

        tz_info_at(load(c->zone), c->t_s, &i);
        if (i.utoff_s != c->utoff_s || i.isdst != c->isdst || strcmp(i.abbr, c->abbr) != 0 ||
            i.start_s != c->start_s || i.end_s != c->end_s)
            fail_msg("%s at %" PRId64 ": want %d %d %s [%" PRId64 ", %" PRId64 "), got %d %d %s"
                     " [%" PRId64 ", %" PRId64 ")", c->zone, c->t_s, (int)c->utoff_s,
                     (int)c->isdst, c->abbr, c->start_s, c->end_s, (int)i.utoff_s,
                     (int)i.isdst, i.abbr, i.start_s, i.end_s);
    }
}

/* ---- errors ---- */

static void expect_load_error(const char *name, int code, const char *says)
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

static void test_tz_reports_unknown_zone_as_not_found(void **state)
{
    (void)state;
    expect_load_error("Mars/Base", CHIME_ENOTFOUND, "unknown time zone 'Mars/Base'");
    expect_load_error("America", CHIME_ENOTFOUND, "unknown time zone 'America'");
    expect_load_error("America/New_York/x", CHIME_ENOTFOUND, "unknown time zone");
}

static void test_tz_rejects_names_outside_the_zone_directory(void **state)
{
    static const char *const names[] = {
        "../etc/passwd", "/etc/passwd", "", "Europe/../../etc/passwd", "Europe//Berlin",
        "Europe/", "./UTC", "Europe/.", "..", "Europe Berlin", "Europe/Berlin\n", "a\\b",
    };
    char longname[300];
    size_t k;

    (void)state;
    for (k = 0; k < sizeof names / sizeof names[0]; k++)
        expect_load_error(names[k], CHIME_EINVAL, "invalid time zone name");
    expect_load_error("../etc/passwd", CHIME_EINVAL, "'../etc/passwd'");
    expect_load_error("Europe/Berlin\n", CHIME_EINVAL, "'Europe/Berlin\\x0a'");
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    expect_load_error(longname, CHIME_EINVAL, "invalid time zone name");
}

static void test_tz_rejects_files_that_are_not_tzif(void **state)
{
    (void)state;
    expect_load_error("zone.tab", CHIME_EINVAL, "'zone.tab' is not valid TZif");
    expect_load_error("tzdata.zi", CHIME_EINVAL, "not valid TZif");
}

/* Every prefix of a real file parses or fails cleanly, never crashes;
 * only the whole file parses. */
static void test_tz_survives_every_truncation(void **state)
{
    static const char *const files[] = {
        "America/New_York", "Australia/Lord_Howe", "right/Europe/London", "Etc/UTC",
    };
    size_t k, n;

    (void)state;
    for (k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[256];
        unsigned char *data;
        size_t len;

        snprintf(path, sizeof path, "%s/%s", ZONEINFO, files[k]);
        if (access(path, R_OK) != 0)
            continue;
        data = slurp(path, &len);
        for (n = 0; n <= len; n++) {
            unsigned char *copy = malloc(n ? n : 1);  /* exact size for ASan */
            struct err err = { 0 };
            struct tz *z = NULL;
            int rc;

            memcpy(copy, data, n);
            rc = tz_parse(files[k], copy, n, &z, &err);
            if (n == len) {
                assert_int_equal(rc, 0);
            } else {
                assert_int_equal(rc, -CHIME_EINVAL);
                assert_string_equal(err.field, "timezone");
                assert_null(z);
            }
            tz_free(z);
            free(copy);
        }
        free(data);
    }
}

struct tzif_writer {
    unsigned char b[4096];
    size_t n;
};

static void put(struct tzif_writer *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof w->b);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put32(struct tzif_writer *w, uint32_t v)
{
    unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v };
    put(w, b, 4);
}

static void put64(struct tzif_writer *w, int64_t v)
{
    put32(w, (uint32_t)((uint64_t)v >> 32));
    put32(w, (uint32_t)v);
}

struct tzif_type {
    int32_t utoff_s;
    unsigned char isdst, idx;
};

/* A version 2 file: an empty version 1 block, then the given data. */
static void tzif2(struct tzif_writer *w, const int64_t *times, const unsigned char *idx,
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

static int parse_w(const struct tzif_writer *w, struct tz **z, struct err *err)
{
    return tz_parse("test", w->b, w->n, z, err);
}

static void expect_parse_error(const struct tzif_writer *w, const char *says)
{
    struct err err = { 0 };
    struct tz *z = NULL;
    int rc = parse_w(w, &z, &err);

    if (rc != -CHIME_EINVAL || strcmp(err.field, "timezone") != 0 || !strstr(err.msg, says))
        fail_msg("want an error saying '%s', got rc %d msg '%s'", says, rc, err.msg);
    assert_null(z);
}

static void test_tz_rejects_corrupted_tzif_data(void **state)
{
    const int64_t times[] = { 1000, 2000 };
    const unsigned char idx[] = { 1, 0 };
    const struct tzif_type types[] = { { 0, 0, 0 }, { 3600, 1, 4 } };
    struct tzif_type t2[2];
    struct tzif_writer w;
    struct tz *z = NULL;
    struct err err;
    const int64_t backwards[] = { 2000, 1000 };
    const unsigned char badidx[] = { 2, 0 };

    (void)state;
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "AAA0BBB,M3.2.0,M11.1.0");
    assert_int_equal(parse_w(&w, &z, &err), 0);
    tz_free(z);

    tzif2(&w, backwards, idx, 2, types, 2, "AAA\0BBB", 8, "");
    expect_parse_error(&w, "transitions out of order");
    tzif2(&w, times, badidx, 2, types, 2, "AAA\0BBB", 8, "");
    expect_parse_error(&w, "transition type out of range");
    memcpy(t2, types, sizeof t2);
    t2[1].idx = 8;
    tzif2(&w, times, idx, 2, t2, 2, "AAA\0BBB", 8, "");
    expect_parse_error(&w, "abbreviation out of range");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBBB", 8, "");
    expect_parse_error(&w, "unterminated");
    t2[1] = (struct tzif_type){ 3600, 2, 4 };
    tzif2(&w, times, idx, 2, t2, 2, "AAA\0BBB", 8, "");
    expect_parse_error(&w, "DST flag");
    t2[1] = (struct tzif_type){ 26 * 3600, 1, 4 };
    tzif2(&w, times, idx, 2, t2, 2, "AAA\0BBB", 8, "");
    expect_parse_error(&w, "UTC offset");
    tzif2(&w, times, idx, 2, types, 0, "AAA\0BBB", 8, "");
    expect_parse_error(&w, "type count");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "");
    w.b[44 + 7] = 'X';                      /* the second header's magic */
    expect_parse_error(&w, "no TZif magic");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "");
    w.b[4] = '1';
    expect_parse_error(&w, "unknown version");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "");
    w.b[w.n - 1] = 'x';
    expect_parse_error(&w, "missing footer");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "");
    w.n--;
    expect_parse_error(&w, "missing footer");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "A\nB");
    expect_parse_error(&w, "footer");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "garbage");
    expect_parse_error(&w, "bad footer: invalid TZ rule 'garbage'");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "EST5EDT,M3.2.0,M13.1.0");
    expect_parse_error(&w, "m 1-12");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "EST5EDT,M3.2.0,M11.1.0 ");
    expect_parse_error(&w, "unexpected text");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "EST5EDT,M3.2.0,M11.1.0/168");
    expect_parse_error(&w, "out of range");
    tzif2(&w, times, idx, 2, types, 2, "AAA\0BBB", 8, "\x01\xff");
    expect_parse_error(&w, "'\\x01\\xff'");
}

/* Files no tzdata release contains, for glibc's corners: which type comes
 * before the first transition, a footer ignored or overriding the last
 * type, a rule running before 1970. Each is written out for glibc. */
struct crafted {
    const char *what;
    int64_t times[3];
    unsigned char idx[3];
    size_t n;
    struct tzif_type types[3];
    size_t ntypes;
    const char *abbrs;
    size_t charcnt;
    const char *footer;
};

static void test_tz_matches_glibc_for_crafted_files(void **state)
{
    static const struct crafted files[] = {
        { "type 0 is DST: before the table, the first standard type",
          { 1000000000, 1100000000 }, { 2, 1 }, 2,
          { { 3600, 1, 0 }, { 0, 0, 4 }, { 7200, 1, 8 } }, 3, "DDD\0SSS\0EEE", 12, "" },
        { "all types DST: before the table, type 0",
          { 1000000000 }, { 1 }, 1, { { 3600, 1, 0 }, { 7200, 1, 4 } }, 2, "AAA\0BBB", 8, "" },
        { "no transitions: the footer is ignored",
          { 0 }, { 0 }, 0, { { -17762, 0, 0 } }, 1, "LMT", 4, "EST5EDT,M3.2.0,M11.1.0" },
        { "a southern rule from 1938: years up to 1970 count from 1970",
          { -1000000000 }, { 0 }, 1, { { 36000, 0, 0 } }, 1, "AEST", 5,
          "AEST-10AEDT,M10.1.0,M4.1.0/3" },
        { "the footer overrides the last transition's type",
          { 1000000000, 2000000000 }, { 1, 0 }, 2, { { 1234, 0, 0 }, { 10800, 0, 4 } }, 2,
          "LMT\0+03", 8, "<+04>-4" },
        { "DST all year, flipping at UTC new year",
          { 1000000000 }, { 0 }, 1, { { -18000, 0, 0 } }, 1, "EST", 4, "EST5EDT,0/0,J365/25" },
        { "a footer without DST equal to the last type",
          { 1000000000 }, { 1 }, 1, { { 1234, 0, 0 }, { 10800, 0, 4 } }, 2, "LMT\0+03", 8,
          "<+03>-3" },
        { "the same type twice in a row, and an unused type",
          { 0, 100000000, 200000000 }, { 1, 1, 0 }, 3,
          { { 0, 0, 0 }, { 3600, 1, 4 }, { 7200, 0, 8 } }, 3, "AAA\0BBB\0CCC", 12, "" },
    };
    struct tally ty = { "crafted", 0, 0, 0, 0 };
    char dir[] = "/tmp/tz_test_XXXXXX", path[8][64];
    struct tzif_writer w;
    struct tz_info i;
    size_t k;

    (void)state;
    assert_non_null(mkdtemp(dir));
    for (k = 0; k < sizeof files / sizeof files[0]; k++) {
        const struct crafted *c = &files[k];
        struct err err = { 0 };
        struct tz *z = NULL;
        FILE *f;

        tzif2(&w, c->times, c->idx, c->n, c->types, c->ntypes, c->abbrs, c->charcnt,
              c->footer);
        if (parse_w(&w, &z, &err) != 0)
            fail_msg("%s: %s", c->what, err.msg);
        snprintf(path[k], sizeof path[k], "%s/z%zu", dir, k);
        f = fopen(path[k], "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(w.b, 1, w.n, f), w.n);
        fclose(f);
        compare_zone(&ty, c->what, z, path[k], w.b, w.n, at(1850, 1, 1, 0, 0, 0),
                     at(2101, 1, 1, 0, 0, 0));
        if (k == 6) {       /* nothing changes after 2001 */
            tz_info_at(z, 2000000000, &i);
            assert_true(i.start_s == 1000000000 && i.end_s == INT64_MAX);
        }
        tz_free(z);
    }
    for (k = 0; k < sizeof files / sizeof files[0]; k++)
        unlink(path[k]);
    rmdir(dir);
    glibc_use(NULL);
    assert_int_equal(ty.diffs, 0);
}

/* Every single-byte change of a real file is parsed or refused cleanly,
 * and what parses answers sanely. */
static void test_tz_survives_every_corrupted_byte(void **state)
{
    unsigned char *data;
    size_t len, k;
    long parsed = 0;

    (void)state;
    data = slurp(ZONEINFO "/Australia/Lord_Howe", &len);
    for (k = 0; k < len; k++) {
        static const unsigned char flips[] = { 0x00, 0x01, 0x80, 0xff };
        size_t f;

        for (f = 0; f < sizeof flips; f++) {
            unsigned char saved = data[k];
            struct err err = { 0 };
            struct tz *z = NULL;
            struct tz_info i;
            struct tz_local l;

            data[k] = saved != flips[f] ? flips[f] : (unsigned char)~saved;
            if (tz_parse("corrupt", data, len, &z, &err) == 0) {
                parsed++;
                tz_info_at(z, 0, &i);
                assert_true(i.start_s <= 0 && 0 < i.end_s);
                tz_info_at(z, at(2050, 6, 1, 0, 0, 0), &i);
                tz_local_to_utc(z, at(2050, 6, 1, 0, 0, 0), &l);
                tz_local_to_utc(z, INT64_MAX, &l);
                tz_local_to_utc(z, INT64_MIN, &l);
            } else {
                assert_int_equal(err.code, CHIME_EINVAL);
            }
            tz_free(z);
            data[k] = saved;
        }
    }
    assert_true(parsed > 0);
    free(data);
}

/* Version 1: the 32-bit block alone, no footer. Built from New York's
 * version 1 block; it must answer as the version 2 data where both have
 * transitions, and as glibc (last type) past 2037. */
static void test_tz_reads_version_1_files(void **state)
{
    struct tally ty = { "v1", 0, 0, 0, 0 };
    unsigned char *data;
    struct tz *z = NULL;
    struct err err;
    size_t len, v1len;
    uint32_t c[6];
    char dir[] = "/tmp/tz_test_XXXXXX", path[64];
    FILE *f;
    int k;

    (void)state;
    data = slurp(ZONEINFO "/America/New_York", &len);
    for (k = 0; k < 6; k++)
        c[k] = (uint32_t)data[20 + 4 * k] << 24 | (uint32_t)data[21 + 4 * k] << 16 |
               (uint32_t)data[22 + 4 * k] << 8 | data[23 + 4 * k];
    v1len = 44 + (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
    data[4] = 0;
    assert_int_equal(tz_parse(NULL, data, v1len, &z, &err), 0);
    assert_string_equal(tz_name(z), "");
    assert_int_equal(tz_parse("v1", data, v1len + 1, &(struct tz *){ NULL }, &err),
                     -CHIME_EINVAL);

    /* glibc reads the same bytes from a file */
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/NY1", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, v1len, f), v1len);
    fclose(f);
    compare_zone(&ty, "v1 New_York", z, path, data, v1len, at(1850, 1, 1, 0, 0, 0),
                 at(2101, 1, 1, 0, 0, 0));
    assert_int_equal(ty.diffs, 0);
    unlink(path);
    rmdir(dir);
    tz_free(z);
    free(data);
    glibc_use(NULL);
}

/* Beyond the years glibc's tm_year can hold, glibc cannot run the rule
 * and answers with the last transition's type. */
static void test_tz_uses_the_last_type_beyond_glibc_years(void **state)
{
    const int64_t times[] = { -(INT64_C(1) << 59) };
    const unsigned char idx[] = { 0 };
    const struct tzif_type types[] = { { 3600, 0, 0 } };
    int64_t lo = at((int64_t)INT32_MIN + 1900, 1, 1, 0, 0, 0);
    int64_t hi = at((int64_t)INT32_MAX + 1901, 1, 1, 0, 0, 0);
    struct tzif_writer w;
    struct tz *z = NULL;
    struct tz_info i;
    struct err err;

    (void)state;
    tzif2(&w, times, idx, 1, types, 1, "AAA", 4, "EST5EDT,M3.2.0,M11.1.0");
    assert_int_equal(parse_w(&w, &z, &err), 0);
    tz_info_at(z, times[0] + 1, &i);
    assert_string_equal(i.abbr, "AAA");     /* as before the transition: joined */
    assert_true(i.start_s == INT64_MIN && i.end_s == lo);
    tz_info_at(z, lo, &i);
    assert_int_equal(i.utoff_s, -5 * 3600);
    tz_info_at(z, INT64_MAX, &i);
    assert_string_equal(i.abbr, "AAA");
    assert_true(i.start_s == hi && i.end_s == INT64_MAX);
    tz_info_at(z, hi - 1, &i);
    assert_string_equal(i.abbr, "EST");
    assert_int_equal(i.end_s, hi);
    tz_free(z);
}

static void test_tz_rejects_zones_over_1_mib(void **state)
{
    size_t len = (1 << 20) + 1;
    unsigned char *big = calloc(1, len);
    char dir[] = "/tmp/tz_test_XXXXXX", path[64];
    struct err err = { 0 };
    struct tz *z = NULL;
    int fd;

    (void)state;
    assert_non_null(big);
    memcpy(big, "TZif2", 5);
    assert_int_equal(tz_parse("big", big, len, &z, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "larger than 1 MiB"));
    free(big);

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/Big", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)len), 0);   /* sparse */
    close(fd);
    setenv("TZDIR", dir, 1);
    expect_load_error("Big", CHIME_EINVAL, "'Big' is not valid TZif: larger than 1 MiB");
    unsetenv("TZDIR");
    unlink(path);
    rmdir(dir);
}

/* ---- loading ---- */

static void test_tz_returns_the_cached_zone_for_the_same_name(void **state)
{
    const struct tz *a = load("Europe/Paris"), *b = load("Europe/Paris");

    (void)state;
    assert_ptr_equal(a, b);
    assert_string_equal(tz_name(a), "Europe/Paris");
    assert_ptr_not_equal(a, load("Europe/London"));
}

static const char *const shared_names[] = {
    "Asia/Tokyo", "America/Chicago", "Europe/Madrid", "Africa/Lagos", "Pacific/Auckland",
    "America/Sao_Paulo", "Asia/Kolkata", "Europe/Moscow",
};
#define N_SHARED (sizeof shared_names / sizeof shared_names[0])
#define N_THREADS 8

static void *load_shared(void *arg)
{
    const struct tz **got = arg;
    struct err err;
    size_t k;

    for (k = 0; k < N_SHARED; k++)
        if (tz_load(shared_names[k], &got[k], &err) != 0)
            got[k] = NULL;
    return NULL;
}

/* Threads racing to load the same zones all get the one cached zone. */
static void test_tz_gives_racing_threads_the_same_zone(void **state)
{
    static const struct tz *got[N_THREADS][N_SHARED];
    pthread_t th[N_THREADS];
    size_t t, k;

    (void)state;
    for (t = 0; t < N_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, load_shared, got[t]), 0);
    for (t = 0; t < N_THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    for (t = 0; t < N_THREADS; t++)
        for (k = 0; k < N_SHARED; k++)
            assert_ptr_equal(got[t][k], got[0][k]);
    for (k = 0; k < N_SHARED; k++)
        assert_ptr_equal(got[0][k], load(shared_names[k]));
}

static void test_tz_reads_zones_from_tzdir(void **state)
{
    char dir[] = "/tmp/tz_test_XXXXXX", sub[64], path[96];
    unsigned char *data;
    const struct tz *z;
    struct tz_info i;
    size_t len;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/Test", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/Kathmandu", sub);
    data = slurp(ZONEINFO "/Asia/Kathmandu", &len);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    free(data);

    setenv("TZDIR", dir, 1);
    z = load("Test/Kathmandu");
    expect_load_error("Asia/Kathmandu", CHIME_ENOTFOUND, "unknown time zone");
    unsetenv("TZDIR");
    tz_info_at(z, 0, &i);
    assert_int_equal(i.utoff_s, 19800);         /* +05:30 in 1970 */
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

static void test_tz_system_follows_tz_variable(void **state)
{
    const struct tz *z, *again;
    struct err err = { 0 };
    struct tz_info i;
    char target[512];
    ssize_t n;

    (void)state;
    glibc_use(":America/New_York");
    assert_int_equal(tz_system(&z, &err), 0);
    assert_ptr_equal(z, load("America/New_York"));

    glibc_use(ZONEINFO "/Europe/Berlin");
    assert_int_equal(tz_system(&z, &err), 0);
    assert_string_equal(tz_name(z), "Europe/Berlin");
    assert_int_equal(tz_system(&again, &err), 0);
    assert_ptr_equal(z, again);

    glibc_use("");
    assert_int_equal(tz_system(&z, &err), 0);
    assert_string_equal(tz_name(z), "UTC");
    tz_info_at(z, 0, &i);
    assert_int_equal(i.utoff_s, 0);
    assert_string_equal(i.abbr, "UTC");

    glibc_use("<+03>-3");
    assert_int_equal(tz_system(&z, &err), 0);
    tz_info_at(z, at(2026, 1, 1, 0, 0, 0), &i);
    assert_int_equal(i.utoff_s, 3 * 3600);
    assert_string_equal(i.abbr, "+03");
    assert_true(i.start_s == INT64_MIN && i.end_s == INT64_MAX);

    glibc_use("Mars/Base");
    assert_int_equal(tz_system(&z, &err), -CHIME_ENOTFOUND);
    assert_string_equal(err.msg, "unknown time zone 'Mars/Base'");
    glibc_use("CET-1CEST,M3.5.0,M13.5.0/3");
    assert_int_equal(tz_system(&z, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "invalid TZ rule"));
    glibc_use("/nonexistent/zoneinfo/Europe/Berlin");
    assert_int_equal(tz_system(&z, &err), -CHIME_ENOTFOUND);

    /* no TZ: /etc/localtime, named after its link target */
    glibc_use(NULL);
    assert_int_equal(tz_system(&z, &err), 0);
    n = readlink("/etc/localtime", target, sizeof target - 1);
    if (n > 0) {
        target[n] = '\0';
        if (strstr(target, "zoneinfo/"))
            assert_string_equal(tz_name(z), strstr(target, "zoneinfo/") + 9);
    }
}

static void test_tz_free_accepts_null(void **state)
{
    (void)state;
    tz_free(NULL);
}

/* ---- rules ---- */

static void test_tzrule_parses_quoted_names_and_defaults(void **state)
{
    struct tzrule r;
    struct err err;

    (void)state;
    assert_int_equal(tzrule_parse("<+0330>-3:30<+0430>,J79/24,J263/24", 34, &r, &err), 0);
    assert_string_equal(r.std_abbr, "+0330");
    assert_string_equal(r.dst_abbr, "+0430");
    assert_int_equal(r.std_utoff_s, 12600);
    assert_int_equal(r.dst_utoff_s, 16200);     /* default: an hour ahead */
    assert_int_equal(r.start.kind, TZRULE_JULIAN1);
    assert_int_equal(r.start.time_s, 24 * 3600);

    assert_int_equal(tzrule_parse("EST5EDT", 7, &r, &err), 0);
    assert_true(r.has_dst);
    assert_int_equal(r.start.month, 3);
    assert_int_equal(r.end.month, 11);
    assert_int_equal(r.end.time_s, 7200);

    assert_int_equal(tzrule_parse("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 31, &r, &err), 0);
    assert_int_equal(r.start.time_s, -3600);
    assert_int_equal(r.std_utoff_s, -7200);
}

static void test_tzrule_rejects_malformed_rules(void **state)
{
    static const char *const bad[] = {
        "", "E", "EST", "ES5", "<E>5", "<+03-3", "EST+", "EST5:", "EST25", "EST5:60",
        "EST5EDT,", "EST5EDT,M3.2.0", "EST5EDT,M3.2.0,", "EST5EDT,M0.2.0,M11.1.0",
        "EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J365",
        "EST5EDT,366,J365", "EST5EDT,M3.2.0/,M11.1.0", "EST5EDT,M3.2.0/168,M11.1.0",
        "EST5,M3.2.0,M11.1.0", "EST5EDT,M3.2.0,M11.1.0,", "EST5 EDT", "EST5EDT;M3.2.0,M11.1.0",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ5",
    };
    struct tzrule r;
    struct err err;
    size_t k;

    (void)state;
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memset(&err, 0, sizeof err);
        if (tzrule_parse(bad[k], strlen(bad[k]), &r, &err) != -CHIME_EINVAL ||
            strcmp(err.field, "timezone") != 0)
            fail_msg("'%s' was accepted", bad[k]);
    }
    assert_int_equal(tzrule_parse("EST5\0", 5, &r, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "'EST5\\x00'"));
}

/* The cache is bounded. It stays full afterwards: this test runs last. */
static void test_tz_refuses_more_than_4096_zones(void **state)
{
    char dir[] = "/tmp/tz_test_XXXXXX", path[64], name[16];
    const struct tz *z;
    struct err err = { 0 };
    unsigned char *data;
    size_t len;
    int k, made = 0, rc = 0;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/Z", dir);
    data = slurp(ZONEINFO "/Etc/UTC", &len);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    free(data);
    setenv("TZDIR", dir, 1);
    for (k = 0; k < 5000 && rc == 0; k++) {
        snprintf(path, sizeof path, "%s/Z%d", dir, k);
        assert_int_equal(symlink("Z", path), 0);
        made++;
        snprintf(name, sizeof name, "Z%d", k);
        rc = tz_load(name, &z, &err);
    }
    assert_int_equal(rc, -CHIME_ETOOBIG);
    assert_true(k <= 4096);
    assert_string_equal(err.field, "timezone");
    assert_int_equal(tz_load("Z0", &z, &err), 0);      /* cached ones still load */
    unsetenv("TZDIR");
    for (k = 0; k < made; k++) {
        snprintf(path, sizeof path, "%s/Z%d", dir, k);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/Z", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_maps_hand_checked_walls),
        cmocka_unit_test(test_tz_reports_offset_and_span_of_an_instant),
        cmocka_unit_test(test_tz_reports_unknown_zone_as_not_found),
        cmocka_unit_test(test_tz_rejects_names_outside_the_zone_directory),
        cmocka_unit_test(test_tz_rejects_files_that_are_not_tzif),
        cmocka_unit_test(test_tz_survives_every_truncation),
        cmocka_unit_test(test_tz_rejects_corrupted_tzif_data),
        cmocka_unit_test(test_tz_survives_every_corrupted_byte),
        cmocka_unit_test(test_tz_matches_glibc_for_crafted_files),
        cmocka_unit_test(test_tz_reads_version_1_files),
        cmocka_unit_test(test_tz_returns_the_cached_zone_for_the_same_name),
        cmocka_unit_test(test_tz_gives_racing_threads_the_same_zone),
        cmocka_unit_test(test_tz_reads_zones_from_tzdir),
        cmocka_unit_test(test_tz_system_follows_tz_variable),
        cmocka_unit_test(test_tz_free_accepts_null),
        cmocka_unit_test(test_tzrule_parses_quoted_names_and_defaults),
        cmocka_unit_test(test_tzrule_rejects_malformed_rules),
        cmocka_unit_test(test_tz_matches_glibc_for_posix_tz_strings),
        cmocka_unit_test(test_tz_uses_the_last_type_beyond_glibc_years),
        cmocka_unit_test(test_tz_rejects_zones_over_1_mib),
        cmocka_unit_test(test_tz_matches_glibc_for_every_zone_file),
        cmocka_unit_test(test_tz_refuses_more_than_4096_zones),   /* last: fills the cache */
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
