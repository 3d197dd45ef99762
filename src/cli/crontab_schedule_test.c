/* crontab_schedule_test.c: tests of crontab.c's schedules, as cronie reads
 * them: macros, ranges, steps, lists and names, the day rule, Sunday at a
 * range's end, oversized steps, random picks. The helpers are
 * crontab_test.h's. */
#include "cli/crontab.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "job/job.h"
#include "time/cron.h"
#include "util/err.h"
#include "cli/crontab_test.h"
#include "../banned.h"

/* ---- schedules ---- */

static void test_crontab_macros_are_chimes(void **state)
{
    static const char *const names[] = { "@reboot", "@yearly", "@annually", "@monthly",
                                         "@weekly", "@daily",  "@midnight", "@hourly" };
    char text[512];
    size_t k = 0;
    struct crontab *c;

    (void)state;
    for (size_t i = 0; i < 8; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "%s\tdo-%zu\n", names[i], i);
    snprintf(text + k, sizeof text - k, "@Daily x\n@every 5m x\n@daily\n@ x\n");
    c = convert(text);
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(str(job_at(c, i + 1)->doc, "schedule.cron"), names[i]);
    assert_non_null(strstr(job_at(c, 1)->what, "daemon starts"));
    /* cron compares them case by case, and has no @every */
    assert_non_null(strstr(error_at(c, 9), "not a cron macro"));
    assert_non_null(strstr(error_at(c, 10), "not a cron macro"));
    assert_non_null(strstr(error_at(c, 11), "command: missing"));
    assert_non_null(strstr(error_at(c, 12), "not a cron macro"));
    crontab_free(c);
}

static void test_crontab_fields_take_ranges_steps_lists_and_names(void **state)
{
    struct crontab *c = convert("*/15 0-23/2 1,15 * * a\n"
                                "0 9 * JAN-mar,Dec Mon-Fri b\n"
                                "0 9 * * 7 c\n"
                                "0 9 * * 0-7/7 d\n"
                                "00 09 01 01 00 e\n"
                                "0 9 * * */2 f\n"
                                "0 9 * * 5-7 g\n");

    (void)state;
    assert_string_equal(job_at(c, 1)->schedule, "*/15 0-23/2 1,15 * *");
    assert_string_equal(job_at(c, 2)->schedule, "0 9 * JAN-mar,Dec Mon-Fri");
    for (size_t line = 3; line <= 7; line++)
        (void)job_at(c, line);
    crontab_free(c);
}

static void test_crontab_fields_refuse_what_cron_refuses(void **state)
{
    struct crontab *c = convert("61 * * * * a\n"
                                "* 24 * * * a\n"
                                "* * 0 * * a\n"
                                "* * * 13 * a\n"
                                "* * * * 8 a\n"
                                "10-5 * * * * a\n"
                                "*/0 * * * * a\n"
                                "5/15 * * * * a\n"
                                "1, * * * * a\n"
                                "* * L * * a\n"
                                "* * ? * * a\n"
                                "* * * * monday a\n"
                                "* * * * 5#2 a\n"
                                "*x * * * * a\n"
                                "* * * * 6-1 a\n"
                                "99999999999999999999 * * * * a\n"
                                "* * * jan/2 * a\n");

    (void)state;
    assert_string_equal(error_at(c, 1), "minute: '61' is out of range 0-59");
    assert_non_null(strstr(error_at(c, 2), "hour"));
    assert_non_null(strstr(error_at(c, 3), "day-of-month"));
    assert_non_null(strstr(error_at(c, 4), "month"));
    assert_non_null(strstr(error_at(c, 5), "day-of-week"));
    assert_non_null(strstr(error_at(c, 6), "runs backwards"));
    assert_non_null(strstr(error_at(c, 7), "is not a step"));
    assert_non_null(strstr(error_at(c, 8), "minute"));
    assert_non_null(strstr(error_at(c, 9), "ends with ','"));
    for (size_t line = 10; line <= 17; line++)
        assert_int_equal(at(c, line)->kind, CRONTAB_ERROR);
    crontab_free(c);
}

static void test_crontab_day_fields_keep_cron_day_rule(void **state)
{
    /* both restricted: either matches (the 1st, the 15th, every Friday);
     * one of them '*', even with a step: both must */
    struct crontab *c = convert("30 4 1,15 * 5 either\n30 4 */2 * 5 both\n");
    struct cron a, b;

    (void)state;
    assert_int_equal(cron_parse(job_at(c, 1)->schedule, &a, NULL), 0);
    assert_int_equal(cron_parse(job_at(c, 2)->schedule, &b, NULL), 0);
    assert_false(a.flags & (CRON_DOM_STAR | CRON_DOW_STAR));
    assert_true(b.flags & CRON_DOM_STAR);
    /* 2026-11-06 is a Friday, neither the 1st nor the 15th */
    assert_true(cron_matches_wall(&a, 1793939400));
    assert_false(cron_matches_wall(&b, 1793939400));
    crontab_free(c);
}

static void test_crontab_refuses_a_schedule_that_never_fires(void **state)
{
    struct crontab *c = convert("0 0 30 2 * never\n0 0 31 4,6,9,11 * never\n0 0 31 2 1 monday\n");

    (void)state;
    assert_non_null(strstr(error_at(c, 1), "never fires"));
    assert_non_null(strstr(error_at(c, 2), "never fires"));
    /* the day rule: every Monday of February */
    (void)job_at(c, 3);
    crontab_free(c);
}

static void test_crontab_random_pick_is_in_range_and_stable(void **state)
{
    const char *text = "6~15 ~ * * * a\n~5 0 * * * b\n";
    struct crontab *c = convert(text), *again = convert(text);
    struct cron cr;

    (void)state;
    assert_int_equal(cron_parse(job_at(c, 1)->schedule, &cr, NULL), 0);
    assert_int_equal(__builtin_popcountll(cr.min), 1);
    assert_true(cr.min >= UINT64_C(1) << 6 && cr.min <= UINT64_C(1) << 15);
    assert_int_equal(__builtin_popcount(cr.hour), 1);
    assert_non_null(strstr(job_at(c, 1)->what, "picked"));
    assert_int_equal(cron_parse(job_at(c, 2)->schedule, &cr, NULL), 0);
    assert_true(cr.min <= UINT64_C(1) << 5);
    assert_string_equal(job_at(c, 1)->schedule, job_at(again, 1)->schedule);
    crontab_free(c);
    crontab_free(again);
}


/* The dow bits chime reads from the schedule of the job at LINE. */
static unsigned dow_of(const struct crontab *c, size_t line)
{
    struct cron cr;

    assert_int_equal(cron_parse(job_at(c, line)->schedule, &cr, NULL), 0);
    return cr.dow;
}

static void test_crontab_ranges_ending_on_sunday_read_as_cronie(void **state)
{
    /* cronie: a range whose end is Sunday's 0 and before its start ends on
     * 7; "sun-sun" and "0-0" are one Sunday */
    struct crontab *c = convert("0 0 * * sat-sun a\n"
                                "0 0 * * SUN-SUN b\n"
                                "0 0 * * 0-0 c\n"
                                "0 0 * * 7-7 d\n"
                                "0 0 * * 5-0 e\n"
                                "0 0 * * fri-sun/2 f\n"
                                "0 0 * * 0-7 g\n"
                                "0 0 * * mon-sun h\n"
                                "0 0 * * sat-sun,wed i\n");

    (void)state;
    assert_int_equal(dow_of(c, 1), 0x41);
    assert_string_equal(job_at(c, 1)->schedule, "0 0 * * sat-sun");    /* kept as written */
    assert_int_equal(dow_of(c, 2), 0x01);
    assert_int_equal(dow_of(c, 3), 0x01);
    assert_int_equal(dow_of(c, 4), 0x01);
    assert_int_equal(dow_of(c, 5), 0x61);
    assert_int_equal(dow_of(c, 6), 0x21);
    assert_int_equal(dow_of(c, 7), 0x7f);
    assert_int_equal(dow_of(c, 8), 0x7f);
    assert_int_equal(dow_of(c, 9), 0x49);
    assert_int_equal(crontab_tally(c, CRONTAB_ERROR), 0);
    crontab_free(c);
}

static void test_crontab_oversized_steps_import_with_a_warning(void **state)
{
    struct crontab *c = convert("0 0 * * */30 a\n"
                                "0 0 */45 * * b\n"
                                "0 */30 * * * c\n"
                                "*/90 * * * * d\n"
                                "0 0 1 */13 * e\n"
                                "0 0 * * */70000 f\n"
                                "*/90 */30 * * * g\n"
                                "*/59 * * * * h\n");
    struct cron cr;

    (void)state;
    assert_string_equal(job_at(c, 1)->schedule, "0 0 * * */30");
    assert_string_equal(job_at(c, 1)->what,
                        "warning: step 30 exceeds day-of-week's range 0-6: selects Sunday only");
    assert_non_null(strstr(job_at(c, 2)->what, "step 45 exceeds day-of-month's range"));
    assert_non_null(strstr(job_at(c, 3)->what, "step 30 exceeds hour's range"));
    assert_non_null(strstr(job_at(c, 4)->what, "step 90 exceeds minute's range"));
    assert_non_null(strstr(job_at(c, 5)->what, "selects January only"));
    /* past chime's largest step: written as a step chime reads the same way */
    assert_int_equal(cron_parse(job_at(c, 6)->schedule, &cr, NULL), 0);
    assert_int_equal(cr.dow, 0x01);
    assert_non_null(strstr(job_at(c, 6)->what, "selects Sunday only"));
    assert_string_equal(job_at(c, 7)->what,
                        "warning: step 90 exceeds minute's range 0-59: selects minute 0 only; "
                        "warning: step 30 exceeds hour's range 0-23: selects hour 0 only");
    assert_null(job_at(c, 8)->what);
    crontab_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crontab_macros_are_chimes),
        cmocka_unit_test(test_crontab_fields_take_ranges_steps_lists_and_names),
        cmocka_unit_test(test_crontab_fields_refuse_what_cron_refuses),
        cmocka_unit_test(test_crontab_day_fields_keep_cron_day_rule),
        cmocka_unit_test(test_crontab_refuses_a_schedule_that_never_fires),
        cmocka_unit_test(test_crontab_random_pick_is_in_range_and_stable),
        cmocka_unit_test(test_crontab_ranges_ending_on_sunday_read_as_cronie),
        cmocka_unit_test(test_crontab_oversized_steps_import_with_a_warning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
