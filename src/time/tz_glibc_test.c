/* tz_glibc_test.c: tz.c and tzrule.c against glibc as the oracle.
 *
 * Every TZif file under /usr/share/zoneinfo is read through tz_load() and
 * through setenv("TZ")/tzset()/localtime_r, and the two must agree on
 * offset, DST flag and abbreviation at every transition (and the second
 * either side), at spread and pseudo-random instants and at UTC new years
 * in the rule years; tz_local_to_utc() is checked against an exhaustive
 * search built on glibc. So are POSIX TZ strings, crafted files and
 * version 1 files. The oracle is tz_test.h's compare_zone(). */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_matches_glibc_for_crafted_files),
        cmocka_unit_test(test_tz_reads_version_1_files),
        cmocka_unit_test(test_tz_matches_glibc_for_posix_tz_strings),
        cmocka_unit_test(test_tz_matches_glibc_for_every_zone_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
