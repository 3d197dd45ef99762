/* sched_retry_test.c: the engine's failures on a fake clock: retries with
 * backoff and its ceiling, timeouts, disabling after consecutive failures,
 * dead letters, and fires whose record the store cannot write. The harness
 * is sched_test.h's. */
#include "sched/sched.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "sched/sched_test.h"

static void test_sched_retries_with_exponential_backoff_then_dead_letters(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z"), now;

    (void)state;
    setup(0);
    put("{\"name\":\"flaky\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
        "\"retry\":{\"max_attempts\":3,\"backoff\":\"10s\",\"factor\":2}}", t);
    assert_int_equal(sched_trigger(H.s, "default/flaky", NULL, NULL, t, NULL, NULL), 0);
    flush(t);
    exit_run(0, 1, 0, false, now = t + SEC);
    assert_int_equal(sched_tick(H.s, now), now + 10 * SEC);     /* 10s */
    sched_tick(H.s, now + 10 * SEC);
    flush(now + 10 * SEC);
    assert_int_equal(H.started[0]->attempt, 2);
    assert_int_equal(H.started[0]->reason, STORE_REASON_RETRY);
    assert_int_equal(H.started[0]->fire_us, t);                 /* the same fire */
    exit_run(0, 1, 0, false, now = now + 11 * SEC);
    assert_int_equal(sched_tick(H.s, now), now + 20 * SEC);     /* 20s */
    sched_tick(H.s, now + 20 * SEC);
    flush(now + 20 * SEC);
    exit_run(0, 2, 0, false, now + 21 * SEC);
    assert_int_equal(H.dead, 1);
    /* the dead letter is the last attempt as it ended */
    assert_int_equal(H.dead_run.attempt, 3);
    assert_int_equal(H.dead_run.state, STORE_RUN_FAILED);
    assert_int_equal(H.dead_exit_code, 2);
    assert_int_equal(H.notified_state[JOB_ON_FAILURE], STORE_RUN_FAILED);
    assert_int_equal(H.notified_state[JOB_ON_RETRY], STORE_RUN_FAILED);
    assert_int_equal(H.notified[JOB_ON_RETRY], 2);
    assert_int_equal(H.notified[JOB_ON_FAILURE], 1);
    assert_int_equal(count("default/flaky", STORE_RUN_FAILED), 3);
    teardown();
}

static void test_sched_backoff_has_a_ceiling(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z"), now = t;

    (void)state;
    setup(0);
    put("{\"name\":\"c\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
        "\"retry\":{\"max_attempts\":6,\"backoff\":\"10s\",\"factor\":10,\"max_backoff\":\"5m\"}}",
        t);
    sched_trigger(H.s, "default/c", NULL, NULL, t, NULL, NULL);
    flush(t);
    for (int a = 1; a <= 4; a++) {
        int64_t want[] = { 0, 10, 100, 300, 300 };
        int64_t wake;

        exit_run(0, 1, 0, false, now);
        wake = sched_tick(H.s, now);
        assert_int_equal(wake - now, want[a] * SEC);
        now = wake;
        sched_tick(H.s, now);
        flush(now);
    }
    teardown();
}

static void test_sched_timeout_is_a_failure_that_retries(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"slow\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
        "\"timeout\":\"5s\",\"retry\":{\"max_attempts\":2}}", t);
    sched_trigger(H.s, "default/slow", NULL, NULL, t, NULL, NULL);
    flush(t);
    exit_run(0, -1, 9, true, t + 6 * SEC);
    assert_int_equal(count("default/slow", STORE_RUN_TIMED_OUT), 1);
    assert_int_equal(H.notified[JOB_ON_TIMEOUT], 1);
    assert_true(sched_tick(H.s, t + 6 * SEC) < INT64_MAX);   /* a retry is due */
    teardown();
}

static void test_sched_disables_after_consecutive_failures(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"bad\",\"schedule\":{\"every\":\"1m\"},\"command\":[\"x\"],"
        "\"disable_after_failures\":2}", t);
    for (int k = 1; k <= 2; k++) {
        sched_tick(H.s, t + k * 60 * SEC);
        flush(t + k * 60 * SEC);
        exit_run(0, 1, 0, false, t + k * 60 * SEC + SEC);
    }
    assert_int_equal(H.notified[JOB_ON_DISABLED], 1);
    assert_int_equal(sched_job_next(H.s, "default/bad"), INT64_MAX);
    assert_int_equal(sched_tick(H.s, t + 10 * 60 * SEC), INT64_MAX);
    assert_int_equal(sched_job_pause(H.s, "default/bad", false, t + 10 * 60 * SEC, NULL), 0);
    assert_int_equal(sched_job_next(H.s, "default/bad"), t + 11 * 60 * SEC);
    teardown();
}

/* ---- when the store cannot write ---- */

/* Drives the engine from FROM to TO as the daemon's timer would (at each
 * instant it asks for, at least once a second), the store confirming or
 * failing each record; returns the most records pending after one tick. */
static int drive(int64_t from, int64_t to)
{
    int most = 0;

    for (int64_t now = from; now <= to;) {
        int64_t next = sched_tick(H.s, now);

        if (H.npending > most)
            most = H.npending;
        flush(now);
        while (H.nstarted > 0) {
            sched_run_started(H.s, H.started[0], 100, now);
            exit_run(0, 0, 0, false, now);
        }
        now = next > now + SEC ? now + SEC : next;
    }
    return most;
}

/* Fire instants FROM, FROM + STEP, ... up to TO of JOB each have exactly one run. */
static void assert_one_run_per_fire(const char *job, int64_t from, int64_t to, int64_t step)
{
    for (int64_t f = from; f <= to; f += step) {
        int n = 0;

        for (int i = 0; i < H.nruns; i++)
            n += strcmp(H.runs[i].job, job) == 0 && H.runs[i].fire_us == f;
        if (n != 1)
            fail_msg("fire %lld has %d runs", (long long)((f - from) / SEC), n);
    }
}

/* A fire whose record fails is not lost: the job goes back to it, the
 * store is tried again after 1 s, then 2 s, and once it writes the fire
 * runs, within its grace, as scheduled: one run, started once. */
static void test_sched_records_a_fire_again_once_the_store_writes(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z"), f = t + 3600 * SEC;

    (void)state;
    setup(0);
    H.unique = true;
    put("{\"name\":\"a\",\"schedule\":{\"every\":\"1h\"},\"command\":[\"x\"]}", t);
    sched_tick(H.s, f);
    H.store_full = true;
    flush(f);
    assert_int_equal(H.record_failures, 1);
    assert_int_equal(H.nruns, 0);
    assert_int_equal(sched_tick(H.s, f + 1), f + SEC);  /* tried again in 1 s */
    sched_tick(H.s, f + SEC);
    assert_int_equal(H.npending, 1);                    /* the same fire again */
    assert_int_equal(H.pending[0]->fire_us, f);
    flush(f + SEC);
    assert_int_equal(sched_tick(H.s, f + SEC + 1), f + 3 * SEC);     /* then 2 s */
    H.store_full = false;
    sched_tick(H.s, f + 3 * SEC);
    flush(f + 3 * SEC);
    assert_int_equal(H.nruns, 1);
    assert_int_equal(H.runs[0].fire_us, f);
    assert_int_equal(H.runs[0].reason, STORE_REASON_SCHEDULE);
    assert_int_equal(H.nstarted, 1);
    /* the next fire is on its schedule again, and the wait starts over */
    assert_int_equal(sched_tick(H.s, f + 4 * SEC), f + 3600 * SEC);
    teardown();
}

/* An every-1s job through 20 s of failing records, grace 1h or 5 s:
 * each fire second ends with exactly one run; with the short grace the
 * fires older than 5 s when the store writes again are missed, and say
 * the store could not write. */
static void test_sched_fires_while_the_store_fails_each_keep_one_run(void **state)
{
    static const char *const graces[] = { "1h", "5s" };
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    for (size_t g = 0; g < 2; g++) {
        char doc[200];
        int missed = 0;

        setup(0);
        H.unique = true;
        snprintf(doc, sizeof doc,
                 "{\"name\":\"e\",\"schedule\":{\"every\":\"1s\"},\"command\":[\"x\"],"
                 "\"misfire\":{\"grace\":\"%s\"}}", graces[g]);
        put(doc, t);
        drive(t + SEC, t + 10 * SEC);
        H.store_full = true;
        drive(t + 10 * SEC + 1, t + 30 * SEC);
        assert_true(H.record_failures > 0);
        H.store_full = false;
        drive(t + 30 * SEC + 1, t + 60 * SEC);
        assert_one_run_per_fire("default/e", t + SEC, t + 55 * SEC, SEC);
        for (int i = 0; i < H.nruns; i++)
            if (H.runs[i].state == STORE_RUN_MISSED
                && strstr(H.runs[i].error, "the store could not write"))
                missed++;
        if (g == 0)
            assert_int_equal(missed, 0);
        else
            assert_true(missed >= 10);  /* 11 s .. 30 s less the last 5 s at least */
        teardown();
    }
}

/* Hours of failing records cost a bounded number of runs in memory (the
 * engine keeps no run per lost fire), and when the store writes again the
 * backlog goes through job_due()'s bounds: at most MISSED_RECORD_MAX missed
 * rows and the newest fire run, the older fires only counted. */
static void test_sched_a_long_store_outage_stays_bounded(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z"), out = 3 * 3600 * SEC;
    struct sched_stats st;
    int most;

    (void)state;
    setup(0);
    H.unique = true;
    put("{\"name\":\"l\",\"schedule\":{\"every\":\"1s\"},\"command\":[\"x\"],"
        "\"misfire\":{\"grace\":\"1h\"}}", t);
    H.store_full = true;
    most = drive(t + SEC, t + out);
    assert_true(most <= 102);
    assert_true(H.record_failures < 150000);    /* tried every 8 s, not every fire */
    H.store_full = false;
    drive(t + out + 1, t + out + 10 * SEC);
    assert_true(H.nruns <= 2 * 102 + 10);
    sched_stats(H.s, &st);
    assert_true(st.missed >= 2 * 3600);         /* past the grace: counted */
    assert_int_equal(count("default/l", STORE_RUN_SUCCEEDED) > 0, 1);
    teardown();
}

/* A manual trigger whose record fails is dropped (its caller is told):
 * nothing is recorded later and nothing runs. A retry whose record fails
 * is recorded again as it is, once. */
static void test_sched_failed_records_of_a_trigger_and_a_retry(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");
    struct sched_run *r = NULL;

    (void)state;
    setup(0);
    H.unique = true;
    put("{\"name\":\"m\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
        "\"retry\":{\"max_attempts\":2,\"backoff\":\"1s\"}}", t);
    assert_int_equal(sched_trigger(H.s, "default/m", NULL, NULL, t, &r, NULL), 0);
    H.store_full = true;
    flush(t);
    H.store_full = false;
    drive(t + 1, t + 20 * SEC);
    assert_int_equal(H.nruns, 0);
    assert_int_equal(sched_trigger(H.s, "default/m", NULL, NULL, t + 21 * SEC, &r, NULL), 0);
    flush(t + 21 * SEC);
    sched_run_started(H.s, H.started[0], 100, t + 21 * SEC);
    exit_run(0, 1, 0, false, t + 22 * SEC);     /* its retry is due at 23 s */
    H.store_full = true;
    sched_tick(H.s, t + 23 * SEC);
    flush(t + 23 * SEC);
    H.store_full = false;
    drive(t + 23 * SEC + 1, t + 40 * SEC);
    assert_int_equal(H.nruns, 2);
    assert_int_equal(H.runs[1].attempt, 2);
    assert_int_equal(H.runs[1].state, STORE_RUN_SUCCEEDED);
    teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sched_retries_with_exponential_backoff_then_dead_letters),
        cmocka_unit_test(test_sched_backoff_has_a_ceiling),
        cmocka_unit_test(test_sched_timeout_is_a_failure_that_retries),
        cmocka_unit_test(test_sched_disables_after_consecutive_failures),
        cmocka_unit_test(test_sched_records_a_fire_again_once_the_store_writes),
        cmocka_unit_test(test_sched_fires_while_the_store_fails_each_keep_one_run),
        cmocka_unit_test(test_sched_a_long_store_outage_stays_bounded),
        cmocka_unit_test(test_sched_failed_records_of_a_trigger_and_a_retry),
    };

    return cmocka_run_group_tests_name("sched_retry", tests, NULL, NULL);
}
