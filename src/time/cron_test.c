/* cron_test.c: the cron dialect and next(), on hand-checked tables.
 * Expected instants were worked out by hand from the zones' published
 * rules (transition dates, weekdays), not produced by the code under test.
 * next() against brute-force references is cron_reference_test.c's. */
#include "time/cron.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "time/civil.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "time/cron_test.h"

/* ---- next(): each row lists the fires that follow FROM, in order ---- */

struct next_case {
    const char *expr;
    const char *zone;
    const char *from;
    const char *fires[6];
};

static const struct next_case next_cases[] = {
    /* America/New_York springs forward 2026-03-08 02:00 EST -> 03:00 EDT. */
    { "30 2 * * *", "America/New_York", "2026-03-07T12:00:00-05:00",
      { "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00" } },
    { "0 2 * * *", "America/New_York", "2026-03-07T12:00:00-05:00",
      { "2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00" } },
    { "0 30 2 * * *", "America/New_York", "2026-03-07T12:00:00-05:00",
      { "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00" } },
    /* two walls in the gap and one just after it: all one fire */
    { "0,30 2-3 8 3 *", "America/New_York", "2026-03-08T00:00:00-05:00",
      { "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00", "2027-03-08T02:00:00-05:00" } },
    { "*/30 * * * *", "America/New_York", "2026-03-08T01:00:00-05:00",
      { "2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00" } },
    { "15 * * * *", "America/New_York", "2026-03-08T00:30:00-05:00",
      { "2026-03-08T01:15:00-05:00", "2026-03-08T03:15:00-04:00" } },
    /* ... and falls back 2026-11-01 02:00 EDT -> 01:00 EST. */
    { "30 1 * * *", "America/New_York", "2026-10-31T12:00:00-04:00",
      { "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00" } },
    { "30 1 * * *", "America/New_York", "2026-11-01T01:45:00-04:00",
      { "2026-11-02T01:30:00-05:00" } },
    { "30 1 * * *", "America/New_York", "2026-11-01T01:10:00-05:00",
      { "2026-11-02T01:30:00-05:00" } },
    { "0 1-2 * * *", "America/New_York", "2026-11-01T00:00:00-04:00",
      { "2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-02T01:00:00-05:00" } },
    { "0 0-23 * * *", "America/New_York", "2026-11-01T00:30:00-04:00",
      { "2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00" } },
    { "*/30 * * * *", "America/New_York", "2026-11-01T00:45:00-04:00",
      { "2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00" } },
    { "@hourly", "America/New_York", "2026-11-01T00:30:00-04:00",
      { "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00" } },
    /* Europe/London: 01:00 GMT -> 02:00 BST on 03-29, back on 10-25. */
    { "30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z",
      { "2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00" } },
    { "30 1 * * *", "Europe/London", "2026-10-24T12:00:00+01:00",
      { "2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00" } },
    /* Europe/Berlin: 02:00 CET -> 03:00 CEST on 03-29, back on 10-25. */
    { "30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00+01:00",
      { "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00" } },
    { "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00+02:00",
      { "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00" } },
    { "30 * * * *", "Europe/Berlin", "2026-10-25T01:45:00+02:00",
      { "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00" } },
    /* Australia/Lord_Howe shifts by 30 minutes: 02:00 -> 02:30 on
     * 2026-10-04, 02:00 -> 01:30 on 2026-04-05. */
    { "15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30",
      { "2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00" } },
    { "*/15 * * * *", "Australia/Lord_Howe", "2026-10-04T01:40:00+10:30",
      { "2026-10-04T01:45:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00" } },
    { "45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00+11:00",
      { "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30" } },
    { "*/15 * * * *", "Australia/Lord_Howe", "2026-04-05T01:20:00+11:00",
      { "2026-04-05T01:30:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-05T01:30:00+10:30",
        "2026-04-05T01:45:00+10:30", "2026-04-05T02:00:00+10:30" } },
    /* 45-minute offsets: Kathmandu (+05:45, no DST), Chatham (+12:45,
     * DST 02:45 -> 03:45 on 2026-09-27). */
    { "0 9 * * *", "Asia/Kathmandu", "2026-01-01T00:00:00Z",
      { "2026-01-01T09:00:00+05:45", "2026-01-02T09:00:00+05:45" } },
    { "0 3 * * *", "Pacific/Chatham", "2026-09-26T12:00:00+12:45",
      { "2026-09-27T03:45:00+13:45", "2026-09-28T03:00:00+13:45" } },
    { "0 * * * *", "Pacific/Chatham", "2026-09-27T01:30:00+12:45",
      { "2026-09-27T02:00:00+12:45", "2026-09-27T04:00:00+13:45" } },
    /* Quartz day forms (UTC). Jan 31 and Feb 28 2026 are Saturdays, May
     * 31 a Sunday, Aug 1 and 15 Saturdays, Nov 1 and 15 Sundays. */
    { "0 0 L * *", "UTC", "2026-01-15T00:00:00Z",
      { "2026-01-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00",
        "2026-04-30T00:00:00+00:00" } },
    { "0 0 L * *", "UTC", "2028-02-01T00:00:00Z", { "2028-02-29T00:00:00+00:00" } },
    { "0 0 L-2 * *", "UTC", "2026-01-15T00:00:00Z",
      { "2026-01-29T00:00:00+00:00", "2026-02-26T00:00:00+00:00" } },
    { "0 0 LW * *", "UTC", "2026-01-15T00:00:00Z",
      { "2026-01-30T00:00:00+00:00", "2026-02-27T00:00:00+00:00", "2026-03-31T00:00:00+00:00",
        "2026-04-30T00:00:00+00:00", "2026-05-29T00:00:00+00:00" } },
    { "0 0 15W * *", "UTC", "2026-08-01T00:00:00Z",
      { "2026-08-14T00:00:00+00:00", "2026-09-15T00:00:00+00:00", "2026-10-15T00:00:00+00:00",
        "2026-11-16T00:00:00+00:00" } },
    { "0 0 1W * *", "UTC", "2026-07-15T00:00:00Z",
      { "2026-08-03T00:00:00+00:00", "2026-09-01T00:00:00+00:00", "2026-10-01T00:00:00+00:00",
        "2026-11-02T00:00:00+00:00" } },
    { "0 0 31W * *", "UTC", "2026-12-15T00:00:00Z",
      { "2026-12-31T00:00:00+00:00", "2027-01-29T00:00:00+00:00", "2027-03-31T00:00:00+00:00" } },
    { "0 0 ? * 5L", "UTC", "2026-01-01T00:00:00Z",
      { "2026-01-30T00:00:00+00:00", "2026-02-27T00:00:00+00:00" } },
    { "0 0 * * FRIL", "UTC", "2026-01-01T00:00:00Z", { "2026-01-30T00:00:00+00:00" } },
    { "0 0 12 ? * 2#3", "UTC", "2026-01-01T00:00:00Z",
      { "2026-01-20T12:00:00+00:00", "2026-02-17T12:00:00+00:00" } },
    { "0 0 * * 1#5", "UTC", "2026-01-01T00:00:00Z",
      { "2026-03-30T00:00:00+00:00", "2026-06-29T00:00:00+00:00", "2026-08-31T00:00:00+00:00",
        "2026-11-30T00:00:00+00:00" } },
    { "0 0 * 2 1#5", "UTC", "2026-01-01T00:00:00Z", { "2044-02-29T00:00:00+00:00" } },
    /* Vixie's day rule: both restricted is OR, a '*' start is AND. */
    { "0 0 13 * FRI", "UTC", "2026-01-01T00:00:00Z",
      { "2026-01-02T00:00:00+00:00", "2026-01-09T00:00:00+00:00", "2026-01-13T00:00:00+00:00",
        "2026-01-16T00:00:00+00:00" } },
    { "0 0 */10 * MON", "UTC", "2026-01-01T00:00:00Z", { "2026-05-11T00:00:00+00:00" } },
    /* 7 is Sunday; names in any case; ranges of names. */
    { "0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", { "2026-01-04T00:00:00+00:00" } },
    { "0 9 * jan-FeB/1 Sat-sun", "UTC", "2026-01-01T00:00:00Z",
      { "2026-01-03T09:00:00+00:00", "2026-01-04T09:00:00+00:00", "2026-01-10T09:00:00+00:00" } },
    { "*/5 9-17 * * MON-FRI", "UTC", "2026-01-02T17:56:00Z",
      { "2026-01-05T09:00:00+00:00", "2026-01-05T09:05:00+00:00" } },
    /* February 29th, and 2100 is no leap year. */
    { "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z",
      { "2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00" } },
    { "0 0 29 2 *", "UTC", "2097-01-01T00:00:00Z",
      { "2104-02-29T00:00:00+00:00", "2108-02-29T00:00:00+00:00" } },
    /* Seconds, steps from a start, and macros. */
    { "*/20 * * * * *", "UTC", "2026-01-01T00:00:00Z",
      { "2026-01-01T00:00:20+00:00", "2026-01-01T00:00:40+00:00", "2026-01-01T00:01:00+00:00" } },
    { "0 */15 * * * *", "UTC", "2026-01-01T00:07:00Z",
      { "2026-01-01T00:15:00+00:00", "2026-01-01T00:30:00+00:00" } },
    { "10/25 * * * *", "UTC", "2026-01-01T00:00:00Z",
      { "2026-01-01T00:10:00+00:00", "2026-01-01T00:35:00+00:00", "2026-01-01T01:10:00+00:00" } },
    { "@yearly", "UTC", "2026-06-01T00:00:00Z", { "2027-01-01T00:00:00+00:00" } },
    { "@monthly", "UTC", "2026-06-01T00:00:00Z", { "2026-07-01T00:00:00+00:00" } },
    { "@weekly", "UTC", "2026-06-01T00:00:00Z", { "2026-06-07T00:00:00+00:00" } },
    { "@daily", "UTC", "2026-06-01T00:00:00Z", { "2026-06-02T00:00:00+00:00" } },
    { "@every 15m", "UTC", "2026-01-01T00:07:00Z",
      { "2026-01-01T00:15:00+00:00", "2026-01-01T00:30:00+00:00" } },
    /* strictly after: a fire at FROM itself is not next */
    { "* * * * * *", "UTC", "2026-01-01T00:00:00Z", { "2026-01-01T00:00:01+00:00" } },
    { "* * * * * *", "UTC", "2026-01-01T00:00:00.5Z", { "2026-01-01T00:00:01+00:00" } },
    /* Far instants: the POSIX rule past the table, up to 2200. */
    { "30 2 * * *", "America/New_York", "2199-03-09T12:00:00-05:00",
      { "2199-03-10T03:00:00-04:00", "2199-03-11T02:30:00-04:00" } },
    { "0 0 1 1 *", "America/New_York", "2199-12-31T12:00:00-05:00",
      { "2200-01-01T00:00:00-05:00" } },
    { "30 2 * * *", "Australia/Sydney", "2150-10-03T01:00:00+10:00",
      { "2150-10-03T02:30:00+10:00", "2150-10-04T03:00:00+11:00", "2150-10-05T02:30:00+11:00" } },
};

static void check_next(const struct next_case *tc)
{
    const struct tz *z = zone(tc->zone);
    struct err err = { 0 };
    struct cron c;
    int64_t t;

    if (cron_parse(tc->expr, &c, &err) < 0)
        fail_msg("'%s': %s: %s", tc->expr, err.field, err.msg);
    t = at(tc->from, z);
    for (int i = 0; i < 6 && tc->fires[i]; i++) {
        char got[ISOTIME_LEN];

        if (cron_next(&c, z, t, &t, &err) < 0)
            fail_msg("'%s' in %s from %s: %s", tc->expr, tc->zone, tc->from, err.msg);
        isotime_format(t, z, 0, got, sizeof got);
        if (strcmp(got, tc->fires[i]) != 0)
            fail_msg("'%s' in %s from %s: fire %d is %s, expected %s", tc->expr, tc->zone,
                     tc->from, i + 1, got, tc->fires[i]);
    }
}

static void test_cron_next_matches_hand_checked_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof next_cases / sizeof next_cases[0]; i++)
        check_next(&next_cases[i]);
}

/* The engine's "30 2 * * *" in New York must fire exactly once on each
 * day of a whole year, both transitions included. */
static void test_cron_fixed_time_fires_once_every_day_across_a_year(void **state)
{
    const struct tz *z = zone("America/New_York");
    struct cron c;
    int64_t t = at("2026-01-01T00:00:00-05:00", z);
    int64_t prev_day = -1;
    int n = 0;

    (void)state;
    assert_int_equal(cron_parse("30 2 * * *", &c, NULL), 0);
    for (;;) {
        struct tz_info in;
        int64_t day;

        assert_int_equal(cron_next(&c, z, t, &t, NULL), 0);
        if (t >= at("2027-01-01T00:00:00-05:00", z))
            break;
        tz_info_at(z, t / 1000000, &in);
        day = (t / 1000000 + in.utoff_s) / 86400;
        assert_int_equal(day, prev_day < 0 ? day : prev_day + 1);
        prev_day = day;
        n++;
    }
    assert_int_equal(n, 365);
}

/* ---- parse errors: each names its field and quotes the value ---- */

struct bad_case {
    const char *expr;
    int code;
    const char *field;
    const char *msg;        /* a part of the message */
};

static const struct bad_case bad_cases[] = {
    { "", CHIME_EINVAL, "expression", "has 0 fields" },
    { "* * * *", CHIME_EINVAL, "expression", "has 4 fields, not 5 or 6" },
    { "* * * * * * *", CHIME_EINVAL, "expression", "more than 6 fields" },
    { "60 * * * *", CHIME_ERANGE, "minute", "'60' is out of range 0-59" },
    { "0 60 * * * *", CHIME_ERANGE, "minute", "'60' is out of range 0-59" },
    { "60 0 * * * *", CHIME_ERANGE, "second", "'60' is out of range 0-59" },
    { "* 24 * * *", CHIME_ERANGE, "hour", "'24' is out of range 0-23" },
    { "* * 0 * *", CHIME_ERANGE, "day-of-month", "'0' is out of range 1-31" },
    { "* * 32 * *", CHIME_ERANGE, "day-of-month", "'32' is out of range 1-31" },
    { "* * * 13 *", CHIME_ERANGE, "month", "'13' is out of range 1-12" },
    { "* * * * 8", CHIME_ERANGE, "day-of-week", "'8' is out of range 0-7" },
    { "*/0 * * * *", CHIME_ERANGE, "minute", "step out of range" },
    { "*/61 * * * *", 0, NULL, NULL },  /* valid: a step past the range, minute 0 only */
    { "*/65536 * * * *", CHIME_ERANGE, "minute", "'*/65536' has a step out of range 1-65535" },
    { "0 0 * * */65536", CHIME_ERANGE, "day-of-week", "step out of range 1-65535" },
    { "0 0 1 1-2/0 *", CHIME_ERANGE, "month", "'1-2/0' has a step out of range" },
    { "0 0 1/00000000000000000000 * *", CHIME_ERANGE, "day-of-month", "step out of range" },
    { "*/ * * * *", CHIME_EINVAL, "minute", "step that is not a number" },
    { "*/-1 * * * *", CHIME_EINVAL, "minute", "step that is not a number" },
    { "* */1x * * *", CHIME_EINVAL, "hour", "step that is not a number" },
    { "*/99999999999999999999 * * * *", CHIME_ERANGE, "minute", "step out of range" },
    { "0 0 * * 6-5", CHIME_ERANGE, "day-of-week", "ends before it starts" },
    { "0 0 * * 7-1", CHIME_ERANGE, "day-of-week", "ends before it starts" },
    { "0 0 * * sun-sat-sun", CHIME_EINVAL, "day-of-week", "is not a value, range or step" },
    { "0 0 * * sat-", CHIME_EINVAL, "day-of-week", "is not a value" },
    { "5-1 * * * *", CHIME_ERANGE, "minute", "ends before it starts" },
    { "a * * * *", CHIME_EINVAL, "minute", "'a' is not a value" },
    { "1,,2 * * * *", CHIME_EINVAL, "minute", "empty list item" },
    { "1, * * * *", CHIME_EINVAL, "minute", "empty list item" },
    { "-1 * * * *", CHIME_EINVAL, "minute", "is not a value" },
    { "1- * * * *", CHIME_EINVAL, "minute", "is not a value" },
    { "1-2-3 * * * *", CHIME_EINVAL, "minute", "'1-2-3' is not a value, range or step" },
    { "1/2/3 * * * *", CHIME_EINVAL, "minute", "step that is not a number" },
    { "99999999999 * * * *", CHIME_ERANGE, "minute", "out of range" },
    { "? * * * *", CHIME_EINVAL, "minute", "'?' outside the day fields" },
    { "* * * JANUARY *", CHIME_EINVAL, "month", "'JANUARY' is not a value" },
    { "* * * XYZ *", CHIME_EINVAL, "month", "'XYZ' is not a value or a name" },
    { "* * * * MONDAY", CHIME_EINVAL, "day-of-week", "'MONDAY' is not a value" },
    { "* * * * L", CHIME_EINVAL, "day-of-week", "'L' is not a value" },
    { "* * * * 1#6", CHIME_EINVAL, "day-of-week", "'1#6' is not d#n with n 1-5" },
    { "* * * * 1#", CHIME_EINVAL, "day-of-week", "is not d#n" },
    { "* * * * 8#1", CHIME_ERANGE, "day-of-week", "'8' is out of range 0-7" },
    { "* * * * 9L", CHIME_ERANGE, "day-of-week", "'9' is out of range 0-7" },
    { "* * L-31 * *", CHIME_ERANGE, "day-of-month", "'L-31' is not L-n with n 1-30" },
    { "* * L-0 * *", CHIME_ERANGE, "day-of-month", "is not L-n" },
    { "* * L-x * *", CHIME_EINVAL, "day-of-month", "is not L-n" },
    { "* * 32W * *", CHIME_ERANGE, "day-of-month", "'32' is out of range 1-31" },
    { "* * 1-5W * *", CHIME_EINVAL, "day-of-month", "'1-5W' is not nW" },
    { "* * W * *", CHIME_EINVAL, "day-of-month", "'W' is not a value" },
    { "* * L/2 * *", CHIME_EINVAL, "day-of-month", "'L/2' is not a value" },
    { "* * 1W * 1L", 0, NULL, NULL },   /* valid: both restricted, OR */
    { "0 0 30 2 *", CHIME_ENEVER, "expression", "never fires" },
    { "0 0 31 4,6,9,11 *", CHIME_ENEVER, "expression", "never fires" },
    { "0 0 L-29 2 *", CHIME_ENEVER, "expression", "never fires" },
    { "0 0 30W 2 *", CHIME_ENEVER, "expression", "never fires" },
    { "0 0 31 2,4 *", CHIME_ENEVER, "expression", "never fires" },
    { "@every 0s", CHIME_ERANGE, "expression", "shorter than one second" },
    { "@every 500ms", CHIME_ERANGE, "expression", "shorter than one second" },
    { "@every", CHIME_EINVAL, "expression", "is not a known macro" },
    { "@every 5x", CHIME_EINVAL, "expression", "5x" },
    { "@every 5m 3", CHIME_EINVAL, "expression", "is not '@every DURATION'" },
    { "@daily now", CHIME_EINVAL, "expression", "'@daily' takes no argument" },
    { "@fortnightly", CHIME_EINVAL, "expression", "'@fortnightly' is not a known macro" },
    { "\xff\xfe * * * *", CHIME_EINVAL, "minute", "is not a value" },
};

static void test_cron_rejects_bad_expressions_naming_the_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *tc = &bad_cases[i];
        struct cron c, untouched;
        struct err err = { 0 };
        int rc;

        memset(&c, 0xab, sizeof c);
        untouched = c;
        rc = cron_parse(tc->expr, &c, &err);
        if (tc->code == 0) {
            if (rc != 0)
                fail_msg("'%s' should parse: %s", tc->expr, err.msg);
            continue;
        }
        if (rc != -tc->code || strcmp(err.field, tc->field) != 0 || !strstr(err.msg, tc->msg))
            fail_msg("'%s': got %d %s: %s; expected %d %s: ...%s...", tc->expr, rc, err.field,
                     err.msg, -tc->code, tc->field, tc->msg);
        assert_memory_equal(&c, &untouched, sizeof c);  /* *ret untouched on failure */
    }
}

static void test_cron_rejects_oversized_expression(void **state)
{
    static char big[CRON_MAX_LEN + 2];
    struct err err = { 0 };
    struct cron c;

    (void)state;
    memset(big, '1', sizeof big - 1);
    assert_int_equal(cron_parse(big, &c, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "expression");
    /* a long list of valid items is fine up to the limit */
    memset(big, 0, sizeof big);
    for (size_t n = 0; n + 10 < CRON_MAX_LEN;)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s1", n ? "," : "");
    strncat(big, " * * * *", sizeof big - strlen(big) - 1);
    assert_int_equal(cron_parse(big, &c, &err), 0);
}

static void test_cron_flags_fixed_time_as_cronie_does(void **state)
{
    static const struct {
        const char *expr;
        int fixed;
    } cases[] = {
        { "30 2 * * *", 1 },     { "0 0-23/2 * * *", 1 }, { "0 */2 * * *", 0 },
        { "* 2 * * *", 0 },      { "0 30 2 * * *", 1 },   { "* 30 2 * * *", 0 },
        { "@daily", 1 },         { "@hourly", 0 },        { "0,30 1,2 * * *", 1 },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cron c;

        assert_int_equal(cron_parse(cases[i].expr, &c, NULL), 0);
        if (!!(c.flags & CRON_FIXED) != cases[i].fixed)
            fail_msg("'%s' fixed-time should be %d", cases[i].expr, cases[i].fixed);
    }
}

static void test_cron_reboot_never_fires_at_an_instant(void **state)
{
    struct err err = { 0 };
    struct cron c;
    int64_t t = 0;

    (void)state;
    assert_int_equal(cron_parse("@reboot", &c, NULL), 0);
    assert_int_equal(cron_next(&c, zone("UTC"), 0, &t, &err), -CHIME_ENEVER);
    assert_non_null(strstr(err.msg, "daemon starts"));
    assert_int_equal(t, 0);
}

static void test_cron_finds_nothing_past_the_last_year(void **state)
{
    const struct tz *z = zone("UTC");
    struct cron c;
    int64_t t;

    (void)state;
    assert_int_equal(cron_parse("0 0 29 2 *", &c, NULL), 0);
    assert_int_equal(cron_next(&c, z, at("9996-03-01T00:00:00Z", z), &t, NULL), -CHIME_ENEVER);
    assert_int_equal(cron_parse("@every 1h", &c, NULL), 0);
    assert_int_equal(cron_next(&c, z, at("9999-12-31T12:00:00Z", z), &t, NULL), -CHIME_ENEVER);
}

static void test_cron_matches_wall(void **state)
{
    const struct tz *z = zone("UTC");
    struct cron c;

    (void)state;
    assert_int_equal(cron_parse("*/5 9-17 * * MON-FRI", &c, NULL), 0);
    assert_true(cron_matches_wall(&c, at("2026-01-05T09:05:00Z", z) / 1000000));
    assert_false(cron_matches_wall(&c, at("2026-01-05T09:05:01Z", z) / 1000000));
    assert_false(cron_matches_wall(&c, at("2026-01-04T09:05:00Z", z) / 1000000));
    assert_false(cron_matches_wall(&c, at("2026-01-05T18:00:00Z", z) / 1000000));
}

static void test_cron_compiled_expression_is_small(void **state)
{
    (void)state;
    assert_true(sizeof(struct cron) <= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cron_next_matches_hand_checked_table),
        cmocka_unit_test(test_cron_fixed_time_fires_once_every_day_across_a_year),
        cmocka_unit_test(test_cron_rejects_bad_expressions_naming_the_field),
        cmocka_unit_test(test_cron_rejects_oversized_expression),
        cmocka_unit_test(test_cron_flags_fixed_time_as_cronie_does),
        cmocka_unit_test(test_cron_reboot_never_fires_at_an_instant),
        cmocka_unit_test(test_cron_finds_nothing_past_the_last_year),
        cmocka_unit_test(test_cron_matches_wall),
        cmocka_unit_test(test_cron_compiled_expression_is_small),
    };

    return cmocka_run_group_tests_name("cron", tests, NULL, NULL);
}
