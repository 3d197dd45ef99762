/* health_test.c: the health measurements and their judgement on a fake
 * clock: loop lag, the error rate over its window, p95 durations, the
 * stuck threshold, and the status with its reasons. */
#include "sched/health.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../banned.h"

#define S INT64_C(1000000)
#define MS INT64_C(1000)

static void test_health_loop_lag_is_the_worst_recent_wake(void **state)
{
    struct health_lag l = {0};
    int64_t t = 1000 * S;

    (void)state;
    assert_int_equal(health_lag_us(&l, 0), 0);
    health_lag_sample(&l, t, t + 2 * MS);
    health_lag_sample(&l, t + S, t + S + 700 * MS);    /* one slow wake */
    health_lag_sample(&l, t + 2 * S, t + 2 * S - MS);  /* early: no lag */
    assert_int_equal(health_lag_us(&l, 0), 700 * MS);
    /* ten on-time wakes later the slow one is forgotten */
    for (int i = 3; i < 3 + HEALTH_LAG_SAMPLES; i++)
        health_lag_sample(&l, t + i * S, t + i * S + MS);
    assert_int_equal(health_lag_us(&l, 0), MS);
    /* a loop that does not wake at all: how overdue its timer is */
    assert_int_equal(health_lag_us(&l, 5 * S), 5 * S);
    assert_int_equal(health_lag_us(&l, -3 * S), MS);
}

static void test_health_error_rate_counts_only_its_window(void **state)
{
    struct health_rate r;
    uint32_t failed, total;
    int64_t t0 = 1700000000 * S;

    (void)state;
    health_rate_init(&r, 15 * 60 * S);     /* 60 buckets of 15 s */
    for (int i = 0; i < 10; i++)
        health_rate_add(&r, t0 + i * S, i < 6);
    health_rate_get(&r, t0 + 20 * S, &failed, &total);
    assert_int_equal(failed, 6);
    assert_int_equal(total, 10);
    health_rate_add(&r, t0 + 10 * 60 * S, false);
    health_rate_get(&r, t0 + 10 * 60 * S, &failed, &total);
    assert_int_equal(failed, 6);
    assert_int_equal(total, 11);
    /* 15 minutes after the first ones, they have left the window */
    health_rate_get(&r, t0 + 16 * 60 * S, &failed, &total);
    assert_int_equal(failed, 0);
    assert_int_equal(total, 1);
    /* a bucket reused a window later starts from zero */
    health_rate_add(&r, t0 + 30 * 60 * S, true);
    health_rate_get(&r, t0 + 30 * 60 * S, &failed, &total);
    assert_int_equal(failed, 1);
    assert_int_equal(total, 1);
    /* a short window still has buckets of a second */
    health_rate_init(&r, 10 * S);
    assert_int_equal(r.width_us, S);
}

static void test_health_error_rate_is_high_over_the_threshold_with_enough_runs(void **state)
{
    struct health_config c = {0};

    (void)state;
    health_config_defaults(&c);     /* 0.5, at least 10 runs */
    assert_false(health_rate_high(&c, 9, 9));       /* too few to judge */
    assert_false(health_rate_high(&c, 5, 10));      /* at the threshold is not over it */
    assert_true(health_rate_high(&c, 6, 10));
    assert_true(health_rate_high(&c, 10, 10));
    assert_false(health_rate_high(&c, 0, 0));
    c.error_rate = 0.1;
    c.error_min_runs = 1;
    assert_true(health_rate_high(&c, 1, 1));
    assert_false(health_rate_high(&c, 1, 10));
}

static void test_health_p95_needs_five_runs_and_takes_the_nearest_rank(void **state)
{
    struct health_durations *d = health_durations_new(2);

    (void)state;
    for (int i = 1; i <= 4; i++)
        health_durations_add(d, 7, i * S);
    assert_int_equal(health_durations_p95(d, 7), 0);
    health_durations_add(d, 7, 5 * S);
    assert_int_equal(health_durations_p95(d, 7), 5 * S);
    for (int i = 6; i <= 40; i++)       /* the last 20 are kept: 21 s .. 40 s */
        health_durations_add(d, 7, i * S);
    assert_int_equal(health_durations_p95(d, 7), 39 * S);
    /* at most two jobs are followed */
    for (int i = 0; i < 5; i++) {
        health_durations_add(d, 8, S);
        health_durations_add(d, 9, S);
    }
    assert_int_equal(health_durations_p95(d, 8), S);
    assert_int_equal(health_durations_p95(d, 9), 0);
    assert_int_equal(health_durations_p95(d, 10), 0);
    health_durations_free(d);
    health_durations_free(NULL);
}

static void test_health_durations_keep_every_job_as_the_table_grows(void **state)
{
    struct health_durations *d = health_durations_new(100000);

    (void)state;
    /* 5,000 jobs, keys far apart and close together: the table doubles
     * many times, and every job keeps its own durations through it */
    for (int round = 0; round < 5; round++)
        for (int64_t k = 1; k <= 5000; k++)
            health_durations_add(d, k % 2 ? k : k << 32, (k % 7 + 1) * S);
    for (int64_t k = 1; k <= 5000; k++)
        assert_int_equal(health_durations_p95(d, k % 2 ? k : k << 32), (k % 7 + 1) * S);
    assert_int_equal(health_durations_p95(d, 5001), 0);
    health_durations_free(d);
}

static void test_health_stuck_after_prefers_the_job_then_p95_and_timeout(void **state)
{
    (void)state;
    /* the job's own stuck_after wins */
    assert_int_equal(health_stuck_after(5 * S, 100 * S, 10 * S, S, 60 * S), 5 * S);
    /* 3 x p95, at least the floor */
    assert_int_equal(health_stuck_after(0, 100 * S, 0, 0, 60 * S), 300 * S);
    assert_int_equal(health_stuck_after(0, 2 * S, 0, 0, 60 * S), 60 * S);
    /* the timeout with its kill grace, when that is sooner */
    assert_int_equal(health_stuck_after(0, 100 * S, 120 * S, 10 * S, 60 * S), 130 * S);
    assert_int_equal(health_stuck_after(0, 0, 120 * S, 10 * S, 60 * S), 130 * S);
    /* nothing known: never */
    assert_int_equal(health_stuck_after(0, 0, 0, 10 * S, 60 * S), 0);
}

static void test_health_evaluates_each_check_with_its_reason(void **state)
{
    struct health_config c = {0};
    struct health_input in = {0};
    struct health_report r;

    (void)state;
    health_config_defaults(&c);
    in.store_ok = in.store_read_ok = true;
    in.disk_known = true;
    in.disk_free = INT64_C(50) << 30;
    health_evaluate(&c, &in, &r);
    assert_int_equal(r.status, HEALTH_OK);
    for (int i = 0; i < HEALTH_CHECK_COUNT; i++)
        assert_string_equal(r.reason[i], "");

    in.loop_lag_us = 1500 * MS;
    in.stuck = 2;
    in.failed = 6;
    in.total = 10;
    health_evaluate(&c, &in, &r);
    assert_int_equal(r.status, HEALTH_DEGRADED);
    assert_string_equal(r.reason[HEALTH_LOOP],
                        "the scheduler loop is 1500 ms late, over the threshold of 1000 ms");
    assert_string_equal(r.reason[HEALTH_STUCK], "2 runs are stuck beyond their expected duration");
    assert_string_equal(r.reason[HEALTH_ERRORS],
                        "6 of the last 10 finished runs failed, over the threshold of 50%");
    /* too few runs to judge a rate */
    in.total = 9;
    in.failed = 9;
    health_evaluate(&c, &in, &r);
    assert_int_equal(r.check[HEALTH_ERRORS], HEALTH_OK);

    /* start-up's apply: not lag, however long, and said */
    in.starting = true;
    in.loop_lag_us = 30 * S;
    health_evaluate(&c, &in, &r);
    assert_int_equal(r.check[HEALTH_LOOP], HEALTH_DEGRADED);
    assert_string_equal(r.reason[HEALTH_LOOP],
                        "starting: no job fires until start-up has applied the jobs directory");
    in.starting = false;

    in.loop_lag_us = 11 * S;
    in.disk_free = 10 << 20;
    in.store_ok = false;
    snprintf(in.store_error, sizeof in.store_error, "disk I/O error");
    health_evaluate(&c, &in, &r);
    assert_int_equal(r.status, HEALTH_FAILING);
    assert_int_equal(r.check[HEALTH_LOOP], HEALTH_FAILING);
    assert_string_equal(r.reason[HEALTH_STORE], "database writes failing: disk I/O error");
    assert_string_equal(r.reason[HEALTH_DISK],
                        "the data directory's disk has 10.0 MiB free, under 100.0 MiB");
    in.disk_free = 500 << 20;
    health_evaluate(&c, &in, &r);
    assert_int_equal(r.check[HEALTH_DISK], HEALTH_DEGRADED);
    assert_string_equal(health_status_name(HEALTH_DEGRADED), "degraded");
    assert_string_equal(health_check_name(HEALTH_STUCK), "stuck_runs");
}

static void test_health_a_spawner_down_is_degraded_with_why(void **state)
{
    struct health_config c = {0};
    struct health_input in = {0};
    struct health_report r;

    (void)state;
    health_config_defaults(&c);
    in.store_ok = in.store_read_ok = true;
    snprintf(in.spawner_down, sizeof in.spawner_down, "it exited or was killed");
    health_evaluate(&c, &in, &r);
    assert_int_equal(r.status, HEALTH_DEGRADED);
    assert_int_equal(r.check[HEALTH_SPAWNER], HEALTH_DEGRADED);
    assert_string_equal(r.reason[HEALTH_SPAWNER],
                        "the spawner is down and runs wait for its restart: "
                        "it exited or was killed");
    assert_string_equal(health_check_name(HEALTH_SPAWNER), "spawner");
    in.spawner_down[0] = '\0';
    health_evaluate(&c, &in, &r);
    assert_int_equal(r.status, HEALTH_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_loop_lag_is_the_worst_recent_wake),
        cmocka_unit_test(test_health_error_rate_counts_only_its_window),
        cmocka_unit_test(test_health_durations_keep_every_job_as_the_table_grows),
        cmocka_unit_test(test_health_error_rate_is_high_over_the_threshold_with_enough_runs),
        cmocka_unit_test(test_health_p95_needs_five_runs_and_takes_the_nearest_rank),
        cmocka_unit_test(test_health_stuck_after_prefers_the_job_then_p95_and_timeout),
        cmocka_unit_test(test_health_evaluates_each_check_with_its_reason),
        cmocka_unit_test(test_health_a_spawner_down_is_degraded_with_why),
    };

    return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
