/* cron_reference_test.c: cron.c against brute-force references: next() on
 * random expressions in many zones, single-value ranges and oversized
 * steps field by field, and the warnings oversized steps give. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cron_next_skips_no_fire_of_random_expressions),
        cmocka_unit_test(test_cron_single_value_ranges_match_brute_force),
        cmocka_unit_test(test_cron_oversized_steps_select_the_first_value_by_brute_force),
        cmocka_unit_test(test_cron_warns_of_each_oversized_step_in_words),
    };

    return cmocka_run_group_tests_name("cron_reference", tests, NULL, NULL);
}
