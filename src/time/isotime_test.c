/* isotime_test.c: tests of isotime.c. Expected instants in the tables were
 * worked out independently of this code (the epoch seconds of each UTC
 * time, and each zone's offset from the tz database), not computed by the
 * code under test. */
#include "time/isotime.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

#define S INT64_C(1000000)      /* one second in microseconds */

/* Epoch seconds of UTC times used below. */
#define T_2026_03_08_0700 INT64_C(1772953200)
#define T_2026_11_01_0530 INT64_C(1793511000)
#define T_2026_11_24_0100 INT64_C(1795482000)
#define T_1969_07_20_2017_40 INT64_C(-14182940)
#define T_1850_01_01 INT64_C(-3786825600)
#define T_1900_01_01 INT64_C(-2208988800)
#define T_0001_01_01 INT64_C(-62135596800)
#define T_9999_12_31_235959 INT64_C(253402300799)
#define T_2026_01_01 INT64_C(1767225600)
#define T_1980_01_01 INT64_C(315532800)
#define T_2024_02_29 INT64_C(1709164800)
#define T_2000_02_29 INT64_C(951782400)
#define T_2200_01_01 INT64_C(7258118400)

static const struct tz *zone(const char *name)
{
    const struct tz *z = NULL;
    struct err err = { 0 };

    if (tz_load(name, &z, &err) != 0)
        fail_msg("zone %s: %s", name, err.msg);
    return z;
}

struct shown {
    int64_t t_us;
    const char *zone;           /* NULL: isotime_format_utc() */
    int flags;
    const char *text;
};

static const struct shown shown[] = {
    { 0, "UTC", 0, "1970-01-01T00:00:00+00:00" },
    { 0, "UTC", ISOTIME_MICROS, "1970-01-01T00:00:00.000000+00:00" },
    { 0, NULL, 0, "1970-01-01T00:00:00.000000Z" },
    { T_2026_11_24_0100 * S, NULL, 0, "2026-11-24T01:00:00.000000Z" },
    { T_2026_11_24_0100 * S + 402000, NULL, 0, "2026-11-24T01:00:00.402000Z" },
    /* before 1970: floor, not truncation */
    { -1, NULL, 0, "1969-12-31T23:59:59.999999Z" },
    { -1, "UTC", 0, "1969-12-31T23:59:59+00:00" },
    { -1 * S, NULL, 0, "1969-12-31T23:59:59.000000Z" },
    { -1 * S - 500000, NULL, 0, "1969-12-31T23:59:58.500000Z" },
    { -1, "America/New_York", ISOTIME_MICROS, "1969-12-31T18:59:59.999999-05:00" },
    { T_1969_07_20_2017_40 * S, "America/New_York", 0, "1969-07-20T16:17:40-04:00" },
    /* spring forward in New York: 01:59:59 EST, then 03:00:00 EDT */
    { (T_2026_03_08_0700 - 1) * S, "America/New_York", 0, "2026-03-08T01:59:59-05:00" },
    { T_2026_03_08_0700 * S, "America/New_York", 0, "2026-03-08T03:00:00-04:00" },
    /* fall back: 01:30 twice */
    { T_2026_11_01_0530 * S, "America/New_York", 0, "2026-11-01T01:30:00-04:00" },
    { (T_2026_11_01_0530 + 3600) * S, "America/New_York", 0, "2026-11-01T01:30:00-05:00" },
    { T_2026_01_01 * S, "Asia/Kathmandu", 0, "2026-01-01T05:45:00+05:45" },
    { T_1980_01_01 * S, "Asia/Kathmandu", 0, "1980-01-01T05:30:00+05:30" },
    { T_2026_01_01 * S, "America/St_Johns", 0, "2025-12-31T20:30:00-03:30" },
    /* local mean time, with seconds in the offset */
    { T_1850_01_01 * S, "America/New_York", 0, "1849-12-31T19:03:58-04:56:02" },
    { T_1900_01_01 * S, "Asia/Kathmandu", 0, "1900-01-01T05:41:16+05:41:16" },
    { T_0001_01_01 * S, NULL, 0, "0001-01-01T00:00:00.000000Z" },
    { T_9999_12_31_235959 * S + 999999, NULL, 0, "9999-12-31T23:59:59.999999Z" },
    { T_2200_01_01 * S, "Europe/Berlin", 0, "2200-01-01T01:00:00+01:00" },
};

struct good {
    const char *text;
    const char *zone;
    int64_t t_us;
};

static const struct good good[] = {
    /* New York's gap: 02:30 does not exist; the first instant after it */
    { "2026-03-08T02:30:00", "America/New_York", T_2026_03_08_0700 * S },
    { "2026-03-08T02:00:00", "America/New_York", T_2026_03_08_0700 * S },
    { "2026-03-08T02:59:59.999", "America/New_York", T_2026_03_08_0700 * S },
    { "2026-03-08T03:00:00", "America/New_York", T_2026_03_08_0700 * S },
    { "2026-03-08T01:59:59", "America/New_York", (T_2026_03_08_0700 - 1) * S },
    /* its overlap: 01:30 twice; the first occurrence */
    { "2026-11-01T01:30:00", "America/New_York", T_2026_11_01_0530 * S },
    { "2026-11-01T01:30:00.25", "America/New_York", T_2026_11_01_0530 * S + 250000 },
    { "2026-11-01T01:30:00-04:00", "America/New_York", T_2026_11_01_0530 * S },
    { "2026-11-01T01:30:00-05:00", "America/New_York", (T_2026_11_01_0530 + 3600) * S },
    { "2026-03-08T03:00:00-04:00", "UTC", T_2026_03_08_0700 * S },
    /* separators, Z, offsets in every form */
    { "2026-11-24T01:00:00.000000Z", "America/New_York", T_2026_11_24_0100 * S },
    { "2026-11-24T01:00:00Z", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24T01:00:00z", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24t01:00:00Z", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24 01:00:00Z", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24T01:00Z", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24T01:00", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24T01:00", "America/New_York", (T_2026_11_24_0100 + 5 * 3600) * S },
    { "2026-11-24T06:30:00+05:30", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24T06:30:00+0530", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24T06:00:00+05", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-23T20:00:00-05", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24T01:00:00-00:00", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-24T01:00:00+00", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-25T00:59:00+23:59", "UTC", T_2026_11_24_0100 * S },
    { "2026-11-23T01:01:00-23:59", "UTC", T_2026_11_24_0100 * S },
    /* a date alone: local midnight */
    { "2026-11-24", "UTC", (T_2026_11_24_0100 - 3600) * S },
    { "2026-11-24", "America/New_York", (T_2026_11_24_0100 + 4 * 3600) * S },
    { "2026-11-24", NULL, (T_2026_11_24_0100 - 3600) * S },
    /* fractions: 1 to 9 digits, truncated to microseconds */
    { "2026-11-24T01:00:00.5Z", "UTC", T_2026_11_24_0100 * S + 500000 },
    { "2026-11-24T01:00:00.05Z", "UTC", T_2026_11_24_0100 * S + 50000 },
    { "2026-11-24T01:00:00.000001Z", "UTC", T_2026_11_24_0100 * S + 1 },
    { "2026-11-24T01:00:00.1234567Z", "UTC", T_2026_11_24_0100 * S + 123456 },
    { "2026-11-24T01:00:00.123456789Z", "UTC", T_2026_11_24_0100 * S + 123456 },
    { "2026-11-24T01:00:00.999999999Z", "UTC", T_2026_11_24_0100 * S + 999999 },
    { "2026-11-24T01:00:00.000000000Z", "UTC", T_2026_11_24_0100 * S },
    /* Kathmandu's quarter hour */
    { "2026-01-01T05:45:00", "Asia/Kathmandu", T_2026_01_01 * S },
    { "1980-01-01T05:30:00", "Asia/Kathmandu", T_1980_01_01 * S },
    /* leap days */
    { "2024-02-29T00:00:00Z", "UTC", T_2024_02_29 * S },
    { "2000-02-29", "UTC", T_2000_02_29 * S },
    /* before 1970, and local mean time */
    { "1969-12-31T23:59:59.999999Z", "UTC", -1 },
    { "1969-07-20T16:17:40", "America/New_York", T_1969_07_20_2017_40 * S },
    { "1849-12-31T19:03:58-04:56:02", "UTC", T_1850_01_01 * S },
    { "1849-12-31T19:03:58", "America/New_York", T_1850_01_01 * S },
    { "1900-01-01T05:41:16", "Asia/Kathmandu", T_1900_01_01 * S },
    /* the ends of the range, which bound the written date, not the instant */
    { "0001-01-01T00:00:00Z", "UTC", T_0001_01_01 * S },
    { "0001-01-01", "UTC", T_0001_01_01 * S },
    { "0001-01-01T00:00:00+05:00", "UTC", (T_0001_01_01 - 5 * 3600) * S },
    { "9999-12-31T23:59:59.999999Z", "UTC", T_9999_12_31_235959 * S + 999999 },
    { "9999-12-31T23:59:59-23:59", "UTC", (T_9999_12_31_235959 + 86340) * S },
};

struct bad {
    const char *text;
    int code;
    const char *says;           /* a part of the message */
};

static const struct bad bad[] = {
    { "", CHIME_EINVAL, "'' is cut short: want the year (YYYY) at position 1" },
    /* the calendar and the clock */
    { "2026-02-30T00:00:00Z", CHIME_ERANGE,
      "'2026-02-30T00:00:00Z' has day 30 out of range 01-28 for 2026-02" },
    { "2026-13-01", CHIME_ERANGE, "'2026-13-01' has month 13 out of range 01-12" },
    { "2026-00-01", CHIME_ERANGE, "has month 00 out of range" },
    { "2026-01-00", CHIME_ERANGE, "has day 00 out of range 01-31 for 2026-01" },
    { "2026-04-31", CHIME_ERANGE, "has day 31 out of range 01-30 for 2026-04" },
    { "2025-02-29", CHIME_ERANGE, "has day 29 out of range 01-28 for 2025-02" },
    { "1900-02-29", CHIME_ERANGE, "has day 29 out of range 01-28 for 1900-02" },
    { "0000-01-01", CHIME_ERANGE, "has a year out of range 0001-9999" },
    { "12026-01-01", CHIME_ERANGE, "has a year out of range 0001-9999" },
    { "99999999999999999999-01-01T00:00:00Z", CHIME_ERANGE, "year out of range" },
    { "2026-01-01T24:00:00Z", CHIME_ERANGE, "has hour 24 out of range 00-23" },
    { "2026-01-01T99:00", CHIME_ERANGE, "has hour 99" },
    { "2026-01-01T23:60:00Z", CHIME_ERANGE, "has minute 60 out of range 00-59" },
    { "2026-12-31T23:59:60Z", CHIME_ERANGE, "has second 60 out of range 00-59" },
    { "2026-01-01T00:00:00+24:00", CHIME_ERANGE,
      "has an offset out of range (at most 23:59:59 either way)" },
    { "2026-01-01T00:00:00-24:00", CHIME_ERANGE, "offset out of range" },
    { "2026-01-01T00:00:00+23:60", CHIME_ERANGE, "offset out of range" },
    { "2026-01-01T00:00:00+2400", CHIME_ERANGE, "offset out of range" },
    { "2026-01-01T00:00:00-99", CHIME_ERANGE, "offset out of range" },
    { "2026-01-01T00:00:00+00:00:60", CHIME_ERANGE, "offset out of range" },
    /* syntax wins over range */
    { "2026-13-01x", CHIME_EINVAL, "want 'T', ' ' or the end at position 11" },
    { "12026-01-01T00:00:00Zjunk", CHIME_EINVAL, "trailing text at position 22" },
    /* digit counts */
    { "2026-1-01", CHIME_EINVAL, "'2026-1-01' is not ISO 8601: want the month (MM) at position 7" },
    { "2026-01-1", CHIME_EINVAL, "cut short: want the day (DD) at position 10" },
    { "26-01-01", CHIME_EINVAL, "want the year (YYYY) at position 3" },
    { "2026/01/01", CHIME_EINVAL, "want '-' at position 5" },
    { "20260101", CHIME_EINVAL, "want '-' at position 5" },
    { "2026-01-01T1:00", CHIME_EINVAL, "want the hour (HH) at position 13" },
    { "2026-01-01T01:0", CHIME_EINVAL, "want the minute (MM) at position 16" },
    { "2026-01-01T0100", CHIME_EINVAL, "want ':' at position 14" },
    { "2026-01-01T01", CHIME_EINVAL, "cut short: want ':' at position 14" },
    { "2026-01-01T01:00:0", CHIME_EINVAL, "want the second (SS) at position 19" },
    { "2026-01-01T01:00:00.", CHIME_EINVAL, "want the digits of the fraction at position 21" },
    { "2026-01-01T01:00:00.Z", CHIME_EINVAL, "want the digits of the fraction" },
    { "2026-01-01T01:00:00,5Z", CHIME_EINVAL, "want 'Z', an offset (+HH:MM) or the end at position 20" },
    { "2026-01-01T01:00:00.1234567890Z", CHIME_EINVAL, "has a fraction of more than 9 digits" },
    { "2026-01-01T01:00.5", CHIME_EINVAL, "want 'Z', an offset" },
    { "2026-01-01T01:00:00+5", CHIME_EINVAL, "want the offset's hours (HH) at position 22" },
    { "2026-01-01T01:00:00+05:3", CHIME_EINVAL, "want the offset's minutes (MM) at position 25" },
    { "2026-01-01T01:00:00+053", CHIME_EINVAL, "want the offset's minutes (MM) at position 24" },
    { "2026-01-01T01:00:00+05:", CHIME_EINVAL, "want the offset's minutes (MM)" },
    { "2026-01-01T01:00:00+05:30:", CHIME_EINVAL, "want the offset's seconds (SS)" },
    { "2026-01-01T01:00:00+05:30:0", CHIME_EINVAL, "want the offset's seconds (SS)" },
    { "2026-01-01T01:00:00+05:30:00:00", CHIME_EINVAL, "trailing text at position 29" },
    { "2026-01-01T01:00:00+053000", CHIME_EINVAL, "trailing text at position 25" },
    { "2026-01-01T01:00:00UTC", CHIME_EINVAL, "want 'Z', an offset" },
    { "2026-01-01T01:00:00ZZ", CHIME_EINVAL, "trailing text at position 21" },
    { "2026-01-01T01:00:00Zjunk", CHIME_EINVAL, "trailing text" },
    { "2026-01-01Z", CHIME_EINVAL, "want 'T', ' ' or the end at position 11" },
    { "2026-01-01+01:00", CHIME_EINVAL, "want 'T', ' ' or the end" },
    { "+2026-01-01", CHIME_EINVAL, "want the year (YYYY) at position 1" },
    { "-2026-01-01", CHIME_EINVAL, "want the year" },
    { "2026-01-01T01:00:00\xff", CHIME_EINVAL, "'2026-01-01T01:00:00\\xff' is not ISO 8601" },
    { "\x01", CHIME_EINVAL, "'\\x01' is not ISO 8601" },
    /* spaces */
    { " 2026-01-01", CHIME_EINVAL, "want the year (YYYY) at position 1" },
    { "2026-01-01 ", CHIME_EINVAL, "cut short: want the hour (HH) at position 12" },
    { "2026-01-01  01:00", CHIME_EINVAL, "want the hour (HH) at position 12" },
    { "2026-01-01T 01:00", CHIME_EINVAL, "want the hour (HH)" },
    { "2026-01-01T01:00:00 ", CHIME_EINVAL, "want 'Z', an offset" },
    { "2026-01-01T01:00:00 Z", CHIME_EINVAL, "want 'Z', an offset" },
    { "2026-01-01T01:00:00Z ", CHIME_EINVAL, "trailing text at position 21" },
    { "2026 -01-01", CHIME_EINVAL, "want '-' at position 5" },
    { "2026-01-01T01: 00", CHIME_EINVAL, "want the minute (MM)" },
    { "2026-01-01T01:00:00+ 05:00", CHIME_EINVAL, "want the offset's hours" },
};

static void test_format_shows_local_time_and_offset(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof shown / sizeof shown[0]; i++) {
        char buf[ISOTIME_LEN];
        const char *got;

        if (shown[i].zone)
            got = isotime_format(shown[i].t_us, zone(shown[i].zone),
                                 shown[i].flags, buf, sizeof buf);
        else
            got = isotime_format_utc(shown[i].t_us, buf, sizeof buf);
        if (got != buf)
            fail_msg("%" PRId64 " did not return its buffer", shown[i].t_us);
        if (strcmp(buf, shown[i].text) != 0)
            fail_msg("%" PRId64 " in %s gave '%s', expected '%s'",
                     shown[i].t_us, shown[i].zone ? shown[i].zone : "UTC",
                     buf, shown[i].text);
    }
}

static void test_format_without_a_zone_is_utc(void **state)
{
    char buf[ISOTIME_LEN];

    (void)state;
    assert_string_equal(isotime_format(T_2026_11_24_0100 * S + 7, NULL, 0,
                                       buf, sizeof buf),
                        "2026-11-24T01:00:00+00:00");
}

static void test_format_fits_extremes_and_cuts_short_buffers(void **state)
{
    static const char *zones[] = { "UTC", "America/New_York", "Asia/Kathmandu" };
    static const int64_t ts[] = { INT64_MIN, INT64_MIN + 1, -1, 0, INT64_MAX };
    char buf[ISOTIME_LEN + 8];
    size_t i, k;

    (void)state;
    for (i = 0; i < sizeof zones / sizeof zones[0]; i++)
        for (k = 0; k < sizeof ts / sizeof ts[0]; k++) {
            isotime_format(ts[k], zone(zones[i]), ISOTIME_MICROS, buf, sizeof buf);
            assert_true(strlen(buf) < ISOTIME_LEN);
            isotime_format_utc(ts[k], buf, sizeof buf);
            assert_true(strlen(buf) < ISOTIME_LEN);
        }
    memset(buf, 'x', sizeof buf);
    isotime_format_utc(0, buf, 11);
    assert_string_equal(buf, "1970-01-01");
    assert_int_equal(buf[11], 'x');
    buf[0] = 'x';
    isotime_format_utc(0, buf, 0);
    assert_int_equal(buf[0], 'x');
}

static void test_parse_reads_zones_offsets_and_fractions(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct err err = { 0 };
        int64_t t = 42;
        const struct tz *z = good[i].zone ? zone(good[i].zone) : NULL;

        if (isotime_parse(good[i].text, z, "start", &t, &err) != 0)
            fail_msg("'%s' failed: %s", good[i].text, err.msg);
        if (t != good[i].t_us)
            fail_msg("'%s' in %s gave %" PRId64 ", expected %" PRId64,
                     good[i].text, good[i].zone ? good[i].zone : "no zone",
                     t, good[i].t_us);
    }
}

static void test_parse_rejects_bad_text_naming_the_field(void **state)
{
    const struct tz *ny = zone("America/New_York");
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct err err = { 0 };
        int64_t t = 42;
        int rc = isotime_parse(bad[i].text, ny, "start", &t, &err);

        if (rc != -bad[i].code || err.code != bad[i].code)
            fail_msg("'%s' gave %d (%s), expected %d", bad[i].text, rc,
                     err.msg, -bad[i].code);
        if (!strstr(err.msg, bad[i].says))
            fail_msg("'%s' said \"%s\", expected it to say \"%s\"",
                     bad[i].text, err.msg, bad[i].says);
        if (strcmp(err.field, "start") != 0)
            fail_msg("'%s' named field '%s'", bad[i].text, err.field);
        if (t != 42)
            fail_msg("'%s' wrote its result on failure", bad[i].text);
    }
}

static void test_parse_rejects_every_cut_of_a_valid_time(void **state)
{
    /* Cut at these lengths the text is still valid: the date, minutes,
     * seconds, 1-6 fraction digits, "-04" and the whole. */
    static const char full[] = "2026-11-01T01:30:00.123456-04:00";
    static const size_t valid[] = { 10, 16, 19, 21, 22, 23, 24, 25, 26, 29, 32 };
    const struct tz *ny = zone("America/New_York");
    char buf[sizeof full];
    size_t n, k;

    (void)state;
    for (n = 0; n <= strlen(full); n++) {
        struct err err = { 0 };
        bool ok = false;
        int64_t t;
        int rc;

        for (k = 0; k < sizeof valid / sizeof valid[0]; k++)
            ok = ok || valid[k] == n;
        memcpy(buf, full, n);
        buf[n] = '\0';
        rc = isotime_parse(buf, ny, "f", &t, &err);
        if (ok && rc != 0)
            fail_msg("'%s' failed: %s", buf, err.msg);
        if (!ok && rc != -CHIME_EINVAL)
            fail_msg("'%s' gave %d, expected EINVAL", buf, rc);
    }
}

/* N copies of C between HEAD and TAIL, on the heap. */
static char *padded(const char *head, char c, size_t n, const char *tail)
{
    size_t h = strlen(head), t = strlen(tail);
    char *s = malloc(h + n + t + 1);

    assert_non_null(s);
    memcpy(s, head, h);
    memset(s + h, c, n);
    memcpy(s + h + n, tail, t + 1);
    return s;
}

static void test_parse_survives_very_long_text(void **state)
{
    static const struct {
        const char *head;
        char c;
        const char *tail;
        int code;
    } cases[] = {
        { "2026-01-01T00:00:00Z", 'x', "", CHIME_EINVAL },
        { "2026-01-01T00:00:00.", '1', "Z", CHIME_EINVAL },
        { "", '9', "-01-01", CHIME_ERANGE },
        { "", '9', "", CHIME_EINVAL },
        { "2026-01-01T00:00:00+", '0', "", CHIME_EINVAL },
        { "", ' ', "2026-01-01", CHIME_EINVAL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = padded(cases[i].head, cases[i].c, 100000, cases[i].tail);
        struct err err = { 0 };
        int64_t t;

        assert_int_equal(isotime_parse(s, NULL, "f", &t, &err), -cases[i].code);
        assert_true(strlen(err.msg) < sizeof err.msg - 1);
        assert_non_null(strstr(err.msg, "...'"));
        free(s);
    }
}

static void test_parse_null_text_is_invalid(void **state)
{
    struct err err = { 0 };
    int64_t t;

    (void)state;
    assert_int_equal(isotime_parse(NULL, NULL, "f", &t, &err), -CHIME_EINVAL);
    assert_int_equal(isotime_parse("2026-01-01", NULL, "f", &t, NULL), 0);
    assert_int_equal(isotime_parse("2026-01-0", NULL, "f", &t, NULL),
                     -CHIME_EINVAL);
}

/* A fixed xorshift64* sequence, so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

/* Random instants from 1900 to 2200 formatted in a zone parse back to
 * themselves; without their offset they parse back to themselves too,
 * unless they are the second occurrence of a repeated wall time, which
 * reads as the first occurrence: an earlier instant with the same wall. */
static void test_format_then_parse_round_trips_in_many_zones(void **state)
{
    static const char *zones[] = {
        "UTC", "America/New_York", "Europe/Berlin", "Asia/Kathmandu",
        "Australia/Lord_Howe", "America/St_Johns", "Europe/Dublin",
        "Pacific/Apia", "Europe/Amsterdam", "Africa/Casablanca",
        "Africa/Monrovia",
    };
    size_t i, k, repeats = 0;

    (void)state;
    for (i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        const struct tz *z = zone(zones[i]);

        for (k = 0; k < 20000; k++) {
            uint64_t r = rng_next();
            int64_t span = (T_2200_01_01 - T_1900_01_01) * S;
            int64_t t = T_1900_01_01 * S + (int64_t)(r % (uint64_t)span);
            char text[ISOTIME_LEN], local[ISOTIME_LEN], again[ISOTIME_LEN];
            struct err err = { 0 };
            int64_t back;

            if (k % 4 == 0)         /* whole seconds near transitions too */
                t -= t % S;
            isotime_format(t, z, ISOTIME_MICROS, text, sizeof text);
            if (isotime_parse(text, z, "f", &back, &err) != 0 || back != t)
                fail_msg("%s: %" PRId64 " gave '%s', read back as %" PRId64 " (%s)",
                         zones[i], t, text, back, err.msg);

            /* "YYYY-MM-DDTHH:MM:SS.ffffff" without the offset */
            memcpy(local, text, 26);
            local[26] = '\0';
            if (isotime_parse(local, z, "f", &back, &err) != 0)
                fail_msg("%s: '%s' failed: %s", zones[i], local, err.msg);
            if (back == t)
                continue;
            isotime_format(back, z, ISOTIME_MICROS, again, sizeof again);
            if (back > t || strncmp(again, local, 26) != 0)
                fail_msg("%s: '%s' read as '%s', not '%s'", zones[i], local,
                         again, text);
            repeats++;
        }
    }
    /* about 1 in 8760 instants is in a repeated hour in zones with DST */
    assert_true(repeats > 0);
}

/* Near every transition, not just at random: each second around the
 * New York changes of 2026 round-trips. */
static void test_round_trip_holds_each_second_around_transitions(void **state)
{
    static const int64_t around[] = { T_2026_03_08_0700, T_2026_11_01_0530 + 3600 };
    const struct tz *ny = zone("America/New_York");
    size_t i;
    int64_t d;

    (void)state;
    for (i = 0; i < sizeof around / sizeof around[0]; i++)
        for (d = -7200; d <= 7200; d++) {
            int64_t t = (around[i] + d) * S, back;
            char text[ISOTIME_LEN];
            struct err err = { 0 };

            isotime_format(t, ny, 0, text, sizeof text);
            if (isotime_parse(text, ny, "f", &back, &err) != 0 || back != t)
                fail_msg("%" PRId64 " gave '%s', read back as %" PRId64,
                         t, text, back);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_shows_local_time_and_offset),
        cmocka_unit_test(test_format_without_a_zone_is_utc),
        cmocka_unit_test(test_format_fits_extremes_and_cuts_short_buffers),
        cmocka_unit_test(test_parse_reads_zones_offsets_and_fractions),
        cmocka_unit_test(test_parse_rejects_bad_text_naming_the_field),
        cmocka_unit_test(test_parse_rejects_every_cut_of_a_valid_time),
        cmocka_unit_test(test_parse_survives_very_long_text),
        cmocka_unit_test(test_parse_null_text_is_invalid),
        cmocka_unit_test(test_format_then_parse_round_trips_in_many_zones),
        cmocka_unit_test(test_round_trip_holds_each_second_around_transitions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
