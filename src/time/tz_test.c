/* tz_test.c: tests of tz.c and tzrule.c: hand-checked walls, offsets and
 * spans, loading (the cache, threads, $TZDIR, $TZ), POSIX rules and the
 * cache's bound. The hand-checked tables were worked out from the zones'
 * published rules, not from the code. glibc as the oracle is
 * tz_glibc_test.c's, broken and crafted files tz_file_test.c's; the
 * helpers are tz_test.h's. */
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
#include "time/tz_test.h"
#include "../banned.h"

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
        cmocka_unit_test(test_tz_returns_the_cached_zone_for_the_same_name),
        cmocka_unit_test(test_tz_gives_racing_threads_the_same_zone),
        cmocka_unit_test(test_tz_reads_zones_from_tzdir),
        cmocka_unit_test(test_tz_system_follows_tz_variable),
        cmocka_unit_test(test_tz_free_accepts_null),
        cmocka_unit_test(test_tzrule_parses_quoted_names_and_defaults),
        cmocka_unit_test(test_tzrule_rejects_malformed_rules),
        cmocka_unit_test(test_tz_refuses_more_than_4096_zones),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
