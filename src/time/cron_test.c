/* cron_test.c: the cron dialect and next(), on hand-checked tables.
 * Expected instants were worked out by hand from the zones' published
 * rules (transition dates, weekdays), not produced by the code under test. */
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

static int64_t at(const char *iso, const struct tz *z)
{
    struct err err = { 0 };
    int64_t us = 0;

    if (isotime_parse(iso, z, "test", &us, &err) < 0)
        fail_msg("bad test instant '%s': %s", iso, err.msg);
    return us;
}

static const struct tz *zone(const char *name)
{
    const struct tz *z = NULL;
    struct err err = { 0 };

    if (tz_load(name, &z, &err) < 0)
        fail_msg("zone %s: %s", name, err.msg);
    return z;
}

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

/* ---- property: next() against a brute-force reference ----
 *
 * The reference decides whether one instant is a fire straight from the
 * definitions (the fields as bit sets, the Quartz day forms day by day, the
 * DST rule instant by instant) and is walked over every candidate instant
 * between the start and next(): any fire next() skipped is found. */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int pick(int n)
{
    return (int)(rng() % (uint64_t)n);
}

static bool ref_day_matches(const struct cron *c, int64_t y, int m, int d)
{
    int nd = civil_month_days(y, m);
    int wd = civil_wday(civil_days(y, m, d));
    bool dom = c->dom >> d & 1, dow = c->dow >> wd & 1;

    for (int n = 0; n <= 30; n++)
        if ((c->dom_last >> n & 1) && nd - n == d)
            dom = true;
    for (int n = 0; n <= 31; n++) {
        int day = n == 0 ? nd : n, w;

        if (!(c->dom_weekday >> n & 1) || day > nd)
            continue;
        if (n == 0) {           /* LW: step back over the weekend */
            while (civil_wday(civil_days(y, m, day)) % 6 == 0)
                day--;
        } else {
            w = civil_wday(civil_days(y, m, day));
            if (w == 6)
                day = day == 1 ? 3 : day - 1;
            else if (w == 0)
                day = day == nd ? day - 2 : day + 1;
        }
        if (day == d)
            dom = true;
    }
    if ((c->dow_last >> wd & 1) && d + 7 > nd)
        dow = true;
    if (c->dow_nth >> (wd * 5 + (d - 1) / 7) & 1)
        dow = true;
    if (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR))
        return dom && dow;
    return dom || dow;
}

static bool ref_wall_matches(const struct cron *c, int64_t wall)
{
    struct civil t;

    civil_from_seconds(wall, &t);
    return (c->sec >> t.sec & 1) && (c->min >> t.min & 1) && (c->hour >> t.hour & 1)
        && (c->month >> t.month & 1) && ref_day_matches(c, t.year, t.month, t.day);
}

static bool ref_is_fire(const struct cron *c, const struct tz *z, int64_t t)
{
    struct tz_info in, prev = { 0 };
    int64_t wall;

    tz_info_at(z, t, &in);
    wall = t + in.utoff_s;
    if (in.start_s != INT64_MIN)
        tz_info_at(z, in.start_s - 1, &prev);
    else
        prev.utoff_s = in.utoff_s;
    if (!(c->flags & CRON_FIXED))
        return ref_wall_matches(c, wall);
    /* fixed time: a wall already seen in the previous span is no fire */
    if (ref_wall_matches(c, wall))
        return !(prev.utoff_s > in.utoff_s && wall < in.start_s + prev.utoff_s);
    /* ... and the end of a gap fires for every wall the gap skipped */
    if (t == in.start_s && prev.utoff_s < in.utoff_s)
        for (int64_t w = in.start_s + prev.utoff_s; w < wall; w++)
            if (ref_wall_matches(c, w))
                return true;
    return false;
}

static void random_field(char *buf, size_t len, int lo, int hi, const char *const *names,
                         bool day)
{
    int a = lo + pick(hi - lo + 1), b = lo + pick(hi - lo + 1);

    if (a > b) {
        int x = a;

        a = b;
        b = x;
    }
    switch (pick(day ? 12 : 8)) {
    case 0: case 1: snprintf(buf, len, "*"); break;
    case 2: snprintf(buf, len, "*/%d", 1 + pick(hi - lo < 12 ? 3 : 20)); break;
    case 3: snprintf(buf, len, "%d", a); break;
    case 4: snprintf(buf, len, "%d-%d", a, b); break;
    case 5: snprintf(buf, len, "%d-%d/%d", a, b, 1 + pick(4)); break;
    case 6: snprintf(buf, len, "%d,%d,%d", a, b, lo + pick(hi - lo + 1)); break;
    case 7:
        if (names)
            snprintf(buf, len, "%s", names[a - lo]);
        else
            snprintf(buf, len, "%d/%d", a, 1 + pick(10));
        break;
    default:
        if (hi == 31) {
            static const char *const forms[] = { "L", "LW", "15W", "1W", "L-3", "31W", "?" };
            snprintf(buf, len, "%s", forms[pick(7)]);
        } else {
            snprintf(buf, len, pick(2) ? "%dL" : "%d#%d", pick(7), 1 + pick(5));
        }
    }
}

static const char *const prop_zones[] = {
    "UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Australia/Lord_Howe",
    "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Apia", "Africa/Casablanca",
    "Europe/Dublin", "America/Sao_Paulo", "Asia/Tehran", "America/St_Johns",
    "Antarctica/Troll", "Australia/Sydney", "America/Santiago",
};

static void test_cron_next_skips_no_fire_of_random_expressions(void **state)
{
    static const char *const mon[] = { "JAN", "feb", "Mar", "APR", "may", "JUN",
                                       "jul", "AUG", "sep", "OCT", "nov", "DEC" };
    static const char *const dow[] = { "SUN", "mon", "Tue", "WED", "thu", "FRI", "sat", "SUN" };
    int cases = 0, fires = 0, steps = 0;

    (void)state;
    while (cases < 3000) {
        char f[6][32], expr[200];
        const struct tz *z = zone(prop_zones[pick(sizeof prop_zones / sizeof prop_zones[0])]);
        bool six = pick(3) == 0;
        struct cron c;
        int64_t t;

        random_field(f[0], sizeof f[0], 0, 59, NULL, false);
        random_field(f[1], sizeof f[1], 0, 59, NULL, false);
        random_field(f[2], sizeof f[2], 0, 23, NULL, false);
        random_field(f[3], sizeof f[3], 1, 31, NULL, true);
        random_field(f[4], sizeof f[4], 1, 12, mon, false);
        random_field(f[5], sizeof f[5], 0, 7, dow, true);
        if (pick(2))
            snprintf(f[3], sizeof f[3], "*");
        if (pick(2))
            snprintf(f[4], sizeof f[4], "*");
        if (six)
            snprintf(expr, sizeof expr, "%s %s %s %s %s %s", f[0], f[1], f[2], f[3], f[4], f[5]);
        else
            snprintf(expr, sizeof expr, "%s %s %s %s %s", f[1], f[2], f[3], f[4], f[5]);
        if (cron_parse(expr, &c, NULL) < 0)
            continue;           /* e.g. a step past the range: parse tests cover those */
        cases++;
        /* from 1972 (whole-minute offsets everywhere) to 2200, half the
         * time just before one of the zone's transitions */
        t = civil_seconds(1972 + pick(228), 1, 1, 0, 0, 0) + pick(366 * 86400);
        if (pick(2)) {
            struct tz_info in;

            tz_info_at(z, t, &in);
            if (in.end_s != INT64_MAX)
                t = in.end_s - pick(3 * 3600);
        }
        for (int k = 0; k < 3; k++) {
            int64_t next_us, next, window = six ? 2 * 3600 : 3 * 86400;
            struct err err = { 0 };

            if (cron_next(&c, z, t * 1000000, &next_us, &err) < 0)
                fail_msg("'%s' in %s after %lld: %s", expr, tz_name(z), (long long)t, err.msg);
            next = next_us / 1000000;
            if (next <= t || next_us % 1000000 || !ref_is_fire(&c, z, next))
                fail_msg("'%s' in %s after %lld: %lld is no fire", expr, tz_name(z),
                         (long long)t, (long long)next);
            /* every second of 6 fields; for 5, every whole-minute wall
             * and every span start (the end of a gap) */
            for (int64_t u = t + 1; u < next && u <= t + window;) {
                struct tz_info in;
                int64_t wall;

                tz_info_at(z, u, &in);
                wall = u + in.utoff_s;
                if (six || civil_floordiv(wall, 60) * 60 == wall || u == in.start_s) {
                    steps++;
                    if (ref_is_fire(&c, z, u))
                        fail_msg("'%s' in %s after %lld: next() gave %lld, skipping %lld",
                                 expr, tz_name(z), (long long)t, (long long)next, (long long)u);
                }
                if (six)
                    u++;
                else
                    u = u + 60 - (wall - civil_floordiv(wall, 60) * 60) < in.end_s
                            ? u + 60 - (wall - civil_floordiv(wall, 60) * 60)
                            : in.end_s;
            }
            fires++;
            t = next;
        }
    }
    print_message("checked %d expressions, %d fires, %d instants by brute force\n", cases,
                  fires, steps);
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

/* ---- single-value ranges and oversized steps, against brute force ----
 *
 * Each case names what its field selects, worked out from crontab(5)'s
 * words, not from the parser: "a-a" is a alone (day-of-week 7 is Sunday),
 * a step larger than the field's range selects the first value of its
 * range. A brute-force walk, minute by minute (second by second for the
 * seconds field), over a UTC span then finds the first fires and must
 * agree with cron_next(). The other fields are '*', so the day rule is
 * "both must match" and the restricted field alone decides. */

static const struct {
    int lo, hi;                 /* day-of-week: 0-7 */
    const char *const *names;
} bf_fields[CRON_NFIELDS] = {
    { 0, 59, NULL }, { 0, 59, NULL }, { 0, 23, NULL }, { 1, 31, NULL },
    { 1, 12, (const char *const[]){ "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                   "sep", "oct", "nov", "dec" } },
    { 0, 7, (const char *const[]){ "sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun" } },
};

enum { BF_SEC, BF_MIN, BF_HOUR, BF_DOM, BF_MONTH, BF_DOW };

static bool bf_match(const uint64_t want[CRON_NFIELDS], int64_t wall)
{
    struct civil t;
    int wd;

    civil_from_seconds(wall, &t);
    wd = civil_wday(civil_days(t.year, t.month, t.day));
    return (want[BF_SEC] >> t.sec & 1) && (want[BF_MIN] >> t.min & 1)
        && (want[BF_HOUR] >> t.hour & 1) && (want[BF_DOM] >> t.day & 1)
        && (want[BF_MONTH] >> t.month & 1) && (want[BF_DOW] >> wd & 1);
}

/* Field F written as TEXT selects the values of WANT (bit n: value n;
 * day-of-week's bit 7 is Sunday) and gives NWARN warnings; the next three
 * fires from 2026-01-01 must be the brute force's. Returns the instants
 * walked, for the caller's tally. */
static long bf_check(int f, const char *text, uint64_t want_bits, int nwarn)
{
    const struct tz *utc = zone("UTC");
    uint64_t want[CRON_NFIELDS];
    char expr[96], warn[CRON_NFIELDS][CRON_WARNING_MAX];
    const char *col[CRON_NFIELDS] = { "*", "*", "*", "*", "*", "*" };
    struct err err = { 0 };
    struct cron c;
    int64_t t = 1767225600;     /* 2026-01-01T00:00:00Z, a Thursday */
    int64_t step = f == BF_SEC ? 1 : 60;
    long walked = 0;
    int got;

    for (int i = 0; i < CRON_NFIELDS; i++)
        want[i] = (UINT64_C(2) << bf_fields[i].hi) - (UINT64_C(1) << bf_fields[i].lo);
    if (f == BF_DOW && (want_bits >> 7 & 1))
        want_bits = (want_bits | 1) & 0x7f;
    want[f] = want_bits;
    col[f] = text;
    if (f == BF_SEC) {
        snprintf(expr, sizeof expr, "%s * * * * *", text);
    } else {
        want[BF_SEC] = 1;
        snprintf(expr, sizeof expr, "%s %s %s %s %s", col[1], col[2], col[3], col[4], col[5]);
    }
    if (cron_parse(expr, &c, &err) < 0)
        fail_msg("'%s' should parse: %s: %s", expr, err.field, err.msg);
    got = cron_warnings(expr, warn, CRON_NFIELDS);
    if (got != nwarn)
        fail_msg("'%s': %d warnings, expected %d", expr, got, nwarn);
    for (int k = 0; k < 3; k++) {
        int64_t next_us, w = t + step;

        assert_int_equal(cron_next(&c, utc, t * 1000000, &next_us, NULL), 0);
        while (!bf_match(want, w)) {
            w += step;
            if (w - t > INT64_C(400) * 86400)
                fail_msg("'%s': brute force found no fire within 400 days", expr);
        }
        walked += (long)((w - t) / step);
        if (next_us != w * 1000000)
            fail_msg("'%s' fire %d: next() says %lld, brute force %lld", expr, k,
                     (long long)(next_us / 1000000), (long long)w);
        t = w;
    }
    return walked;
}

static void test_cron_single_value_ranges_match_brute_force(void **state)
{
    static const struct {
        const char *text;
        uint64_t want;          /* bit d: weekday d, 0 Sunday */
    } dow_cases[] = {
        { "0-0", 1 },         { "SUN-SUN", 1 },   { "sun-sun", 1 },     { "7-7", 1 },
        { "7-0", 1 },         { "0-7", 0x7f },    { "sun-sat", 0x7f },  { "mon-sun", 0x7f },
        { "sat-sun", 0x41 },  { "SAT-SUN", 0x41 }, { "6-0", 0x41 },     { "6-7", 0x41 },
        { "5-0", 0x61 },      { "fri-sun", 0x61 }, { "0-1", 0x03 },     { "sun-mon", 0x03 },
        { "7", 1 },           { "0", 1 },          { "sat-sun,3", 0x49 }, { "0-0,6-6", 0x41 },
        { "1-0/2", 0x2b },    { "sat-sun/1", 0x41 }, { "7/1", 1 },
    };
    char text[32];
    long walked = 0, n = 0;

    (void)state;
    for (int f = 0; f < CRON_NFIELDS; f++)
        for (int a = bf_fields[f].lo; a <= bf_fields[f].hi; a++) {
            snprintf(text, sizeof text, "%d-%d", a, a);
            walked += bf_check(f, text, UINT64_C(1) << a, 0), n++;
            if (f == BF_SEC || f == BF_HOUR) {
                snprintf(text, sizeof text, "%d-%d/%d", a, a, 2 + a % 7);
                walked += bf_check(f, text, UINT64_C(1) << a, 0), n++;
            }
            if (bf_fields[f].names) {
                snprintf(text, sizeof text, "%s-%s", bf_fields[f].names[a - bf_fields[f].lo],
                         bf_fields[f].names[a - bf_fields[f].lo]);
                walked += bf_check(f, text, UINT64_C(1) << a, 0), n++;
            }
        }
    for (size_t i = 0; i < sizeof dow_cases / sizeof dow_cases[0]; i++)
        walked += bf_check(BF_DOW, dow_cases[i].text, dow_cases[i].want, 0), n++;
    print_message("%ld expressions, %ld instants walked\n", n, walked);
}

static void test_cron_oversized_steps_select_the_first_value_by_brute_force(void **state)
{
    char text[48];
    long walked = 0, n = 0;

    (void)state;
    for (int f = 0; f < CRON_NFIELDS; f++) {
        int lo = bf_fields[f].lo, top = f == BF_DOW ? 6 : bf_fields[f].hi, span = top - lo;
        const int steps[] = { span + 1, span + 2, span + 7, 30, 45, 90, 100, 1000, CRON_STEP_MAX };
        const int starts[] = { lo, lo + 1, (lo + top) / 2, top };

        /* the largest step that keeps two values: no warning */
        snprintf(text, sizeof text, "*/%d", span);
        walked += bf_check(f, text, UINT64_C(1) << lo | UINT64_C(1) << top, 0), n++;
        for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
            if (steps[s] <= span)
                continue;       /* 30 fits minutes, 45 hours... */
            snprintf(text, sizeof text, "*/%d", steps[s]);
            walked += bf_check(f, text, UINT64_C(1) << lo, 1), n++;
            for (size_t a = 0; a < sizeof starts / sizeof starts[0]; a++) {
                int v = starts[a];

                snprintf(text, sizeof text, "%d/%d", v, steps[s]);
                walked += bf_check(f, text, UINT64_C(1) << v, 1), n++;
                snprintf(text, sizeof text, "%d-%d/%d", v, top, steps[s]);
                walked += bf_check(f, text, UINT64_C(1) << v, 1), n++;
            }
            /* a list: the step's value and the rest; one warning a field */
            snprintf(text, sizeof text, "*/%d,%d,%d/%d", steps[s], top, lo + 1, steps[s]);
            walked += bf_check(f, text, UINT64_C(1) << lo | UINT64_C(1) << top
                                            | UINT64_C(1) << (lo + 1), 1), n++;
        }
    }
    /* day-of-week's 7 and ranges that end on Sunday */
    walked += bf_check(BF_DOW, "7/30", 1, 1), n++;
    walked += bf_check(BF_DOW, "sat-sun/30", 1 << 6, 1), n++;
    walked += bf_check(BF_DOW, "SUN/30", 1, 1), n++;
    walked += bf_check(BF_DOW, "?/30", 1, 1), n++;
    walked += bf_check(BF_DOM, "?/45", 1 << 1, 1), n++;
    walked += bf_check(BF_MONTH, "feb/13", 1 << 2, 1), n++;
    print_message("%ld expressions, %ld instants walked\n", n, walked);
}

static void test_cron_warns_of_each_oversized_step_in_words(void **state)
{
    static const struct {
        const char *expr;
        int n;
        const char *first, *last;
    } cases[] = {
        { "0 0 * * */30", 1, "step 30 exceeds day-of-week's range 0-6: selects Sunday only", NULL },
        { "0 0 */45 * *", 1,
          "step 45 exceeds day-of-month's range 1-31: selects day-of-month 1 only", NULL },
        { "0 */30 * * *", 1, "step 30 exceeds hour's range 0-23: selects hour 0 only", NULL },
        { "5/90 0 * * *", 1, "step 90 exceeds minute's range 0-59: selects minute 5 only", NULL },
        { "0 0 1 mar/13 *", 1, "step 13 exceeds month's range 1-12: selects March only", NULL },
        { "*/90 0 0 1 * *", 1, "step 90 exceeds second's range 0-59: selects second 0 only", NULL },
        { "0 0 * * fri-sun/9", 1, "step 9 exceeds day-of-week's range 0-6: selects Friday only",
          NULL },
        { "0 0 * * 7/7", 1, "step 7 exceeds day-of-week's range 0-6: selects Sunday only", NULL },
        /* one warning a field, the first step; fields in order, seconds first */
        { "0 0 * * 1/30,2/40", 1, "step 30 exceeds day-of-week's range 0-6: selects Monday only",
          NULL },
        { "*/61 */90 */25 */32 */13 */8", 6,
          "step 61 exceeds second's range 0-59: selects second 0 only",
          "step 8 exceeds day-of-week's range 0-6: selects Sunday only" },
        { "0 0 * * *", 0, NULL, NULL },
        { "*/59 */23 */30 */11 */6", 0, NULL, NULL },
        { "0 0 1-5/10 * *", 0, NULL, NULL },     /* beyond its item, not its field */
        { "@every 90m", 0, NULL, NULL },
        { "@weekly", 0, NULL, NULL },
    };
    char warn[CRON_NFIELDS][CRON_WARNING_MAX];
    struct cron c;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n;

        assert_int_equal(cron_parse(cases[i].expr, &c, NULL), 0);
        n = cron_warnings(cases[i].expr, warn, CRON_NFIELDS);
        if (n != cases[i].n)
            fail_msg("'%s': %d warnings, expected %d", cases[i].expr, n, cases[i].n);
        if (n > 0)
            assert_string_equal(warn[0], cases[i].first);
        if (cases[i].last)
            assert_string_equal(warn[n - 1], cases[i].last);
    }
    /* MAX bounds what is written */
    memset(warn, 'x', sizeof warn);
    assert_int_equal(cron_warnings("*/90 */30 */45 * *", warn, 2), 2);
    assert_string_equal(warn[1], "step 30 exceeds hour's range 0-23: selects hour 0 only");
    assert_int_equal(warn[2][0], 'x');
    assert_int_equal(cron_warnings("*/90 */30 */45 * *", warn, 0), 0);
    /* an expression cron_parse() refuses has none */
    assert_int_equal(cron_warnings("*/0 * * * *", warn, CRON_NFIELDS), 0);
    assert_int_equal(cron_warnings(NULL, warn, CRON_NFIELDS), 0);
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
        cmocka_unit_test(test_cron_next_skips_no_fire_of_random_expressions),
        cmocka_unit_test(test_cron_rejects_bad_expressions_naming_the_field),
        cmocka_unit_test(test_cron_rejects_oversized_expression),
        cmocka_unit_test(test_cron_flags_fixed_time_as_cronie_does),
        cmocka_unit_test(test_cron_reboot_never_fires_at_an_instant),
        cmocka_unit_test(test_cron_finds_nothing_past_the_last_year),
        cmocka_unit_test(test_cron_matches_wall),
        cmocka_unit_test(test_cron_compiled_expression_is_small),
        cmocka_unit_test(test_cron_single_value_ranges_match_brute_force),
        cmocka_unit_test(test_cron_oversized_steps_select_the_first_value_by_brute_force),
        cmocka_unit_test(test_cron_warns_of_each_oversized_step_in_words),
    };

    return cmocka_run_group_tests_name("cron", tests, NULL, NULL);
}
