/* tz_file_test.c: tz.c on names and files it must refuse or survive:
 * unknown zones, names outside the zone directory, files that are not
 * TZif, every truncation and every single-byte change of a real file,
 * corrupted data, zones over 1 MiB, and the last type beyond the years
 * glibc can hold. The TZif writer is tz_test.h's. */
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

/* ---- errors ---- */

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_reports_unknown_zone_as_not_found),
        cmocka_unit_test(test_tz_rejects_names_outside_the_zone_directory),
        cmocka_unit_test(test_tz_rejects_files_that_are_not_tzif),
        cmocka_unit_test(test_tz_survives_every_truncation),
        cmocka_unit_test(test_tz_rejects_corrupted_tzif_data),
        cmocka_unit_test(test_tz_survives_every_corrupted_byte),
        cmocka_unit_test(test_tz_uses_the_last_type_beyond_glibc_years),
        cmocka_unit_test(test_tz_rejects_zones_over_1_mib),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
