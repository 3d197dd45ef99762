/* sched_limits_test.c: the engine's concurrency on a fake clock: forbid
 * refusing a trigger, allow up to max instances, queue, replace, the
 * global limit by priority, after chains, cancelling a queued run. The
 * harness is sched_test.h's. */
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

/* A trigger the job's concurrency refuses is refused at once, naming the
 * live run, and leaves no record: forbid, allow at max_instances, a full
 * queue. Replace and a free slot still trigger. */
static void test_sched_trigger_refused_by_concurrency_names_the_live_run(void **state)
{
    static const struct {
        const char *doc;
        int accepted;           /* triggers let in before the refusal */
    } cases[] = {
        { "{\"name\":\"j\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}", 1 },
        { "{\"name\":\"j\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
          "\"concurrency\":\"allow\",\"max_instances\":3}", 3 },
        { "{\"name\":\"j\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
          "\"concurrency\":\"queue\",\"max_instances\":2}", 3 },
    };
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct sched_run *r = NULL;
        struct sched_stats st;
        struct err err = { 0 };
        int64_t first;

        setup(0);
        put(cases[k].doc, t);
        for (int i = 0; i < cases[k].accepted; i++) {
            assert_int_equal(sched_trigger(H.s, "default/j", NULL, "ops", t, &r, &err), 0);
            flush(t);
        }
        first = H.started[0]->id;
        r = NULL;
        assert_int_equal(sched_trigger(H.s, "default/j", NULL, "ops", t + SEC, &r, &err),
                         -CHIME_ECONFLICT);
        assert_non_null(r);
        assert_int_equal(r->id, first);          /* the oldest active run */
        assert_string_equal(err.field, "job");
        assert_non_null(strstr(err.msg, "job 'default/j' refuses another run now"));
        assert_int_equal(H.npending, 0);          /* nothing recorded... */
        assert_int_equal(H.nruns, cases[k].accepted);
        assert_int_equal(count("default/j", STORE_RUN_SKIPPED), 0);
        sched_stats(H.s, &st);
        assert_int_equal(st.skipped, 0);          /* ...nor counted */
        assert_int_equal(st.fires, cases[k].accepted);
        /* once the active run is over, a trigger is let in again (the
         * queue's waiting run takes the slot first, and waits no more) */
        while (H.nstarted)
            exit_run(0, 0, 0, false, t + 2 * SEC);
        flush(t + 2 * SEC);
        while (H.nstarted)
            exit_run(0, 0, 0, false, t + 2 * SEC);
        assert_int_equal(sched_trigger(H.s, "default/j", NULL, "ops", t + 3 * SEC, &r, &err), 0);
        teardown();
    }
    /* replace never refuses: it cancels the active run */
    setup(0);
    put("{\"name\":\"r\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
        "\"concurrency\":\"replace\"}", t);
    assert_int_equal(sched_trigger(H.s, "default/r", NULL, NULL, t, NULL, NULL), 0);
    flush(t);
    assert_int_equal(sched_trigger(H.s, "default/r", NULL, NULL, t + SEC, NULL, NULL), 0);
    assert_int_equal(H.cancels, 1);
    teardown();
}

static void test_sched_allow_runs_up_to_max_instances(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"a\",\"schedule\":{\"every\":\"1m\"},\"command\":[\"x\"],"
        "\"concurrency\":\"allow\",\"max_instances\":2}", t);
    for (int k = 1; k <= 3; k++) {
        sched_tick(H.s, t + k * 60 * SEC);
        flush(t + k * 60 * SEC);
    }
    assert_int_equal(H.nstarted, 2);
    assert_int_equal(count("default/a", STORE_RUN_SKIPPED), 1);
    teardown();
}

static void test_sched_queue_waits_for_the_active_run(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"q\",\"schedule\":{\"every\":\"1m\"},\"command\":[\"x\"],"
        "\"concurrency\":\"queue\",\"max_instances\":1}", t);
    sched_tick(H.s, t + 60 * SEC);
    flush(t + 60 * SEC);
    sched_tick(H.s, t + 120 * SEC);
    flush(t + 120 * SEC);
    sched_tick(H.s, t + 180 * SEC);     /* the queue (1) is full: skipped */
    flush(t + 180 * SEC);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(count("default/q", STORE_RUN_QUEUED), 2);  /* the running one: not reported */
    assert_int_equal(count("default/q", STORE_RUN_SKIPPED), 1);
    exit_run(0, 0, 0, false, t + 190 * SEC);
    assert_int_equal(H.nstarted, 1);    /* the waiting one now runs */
    assert_int_equal(H.started[0]->fire_us, t + 120 * SEC);
    teardown();
}

static void test_sched_replace_cancels_the_active_run(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"r\",\"schedule\":{\"every\":\"1m\"},\"command\":[\"x\"],"
        "\"concurrency\":\"replace\"}", t);
    sched_tick(H.s, t + 60 * SEC);
    flush(t + 60 * SEC);
    sched_tick(H.s, t + 120 * SEC);
    flush(t + 120 * SEC);
    assert_int_equal(H.cancels, 1);
    assert_int_equal(H.nstarted, 2);    /* the new one did not wait */
    exit_run(0, -1, 15, false, t + 121 * SEC);
    assert_int_equal(count("default/r", STORE_RUN_CANCELLED), 1);
    assert_int_equal(H.dead, 0);        /* a cancel is no failure */
    teardown();
}

static void test_sched_global_limit_starts_higher_priority_first(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(1);
    put("{\"name\":\"blocker\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}", t);
    put("{\"name\":\"low\",\"schedule\":{\"every\":\"1m\"},\"command\":[\"x\"],"
        "\"priority\":\"low\"}", t);
    put("{\"name\":\"hot\",\"schedule\":{\"every\":\"1m\"},\"command\":[\"x\"],"
        "\"priority\":\"critical\"}", t);
    put("{\"name\":\"mid\",\"schedule\":{\"every\":\"1m\"},\"command\":[\"x\"]}", t);
    sched_trigger(H.s, "default/blocker", NULL, NULL, t, NULL, NULL);
    flush(t);
    assert_int_equal(H.nstarted, 1);
    sched_tick(H.s, t + 60 * SEC);
    flush(t + 60 * SEC);                /* all three wait for the one slot */
    assert_int_equal(H.nstarted, 1);
    exit_run(0, 0, 0, false, t + 60 * SEC);
    assert_string_equal(H.started[0]->job->name, "hot");
    exit_run(0, 0, 0, false, t + 61 * SEC);
    assert_string_equal(H.started[0]->job->name, "mid");
    exit_run(0, 0, 0, false, t + 62 * SEC);
    assert_string_equal(H.started[0]->job->name, "low");
    exit_run(0, 0, 0, false, t + 63 * SEC);
    {
        struct sched_stats st;

        sched_stats(H.s, &st);
        assert_int_equal(st.running, 0);
        assert_int_equal(st.queued, 0);
        assert_int_equal(st.fires, 4);
    }
    teardown();
}

static void test_sched_after_chain_fans_in(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"import\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}", t);
    put("{\"name\":\"prices\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}", t);
    put("{\"name\":\"score\",\"schedule\":{\"after\":[\"import\",\"prices\"]},"
        "\"command\":[\"x\"]}", t);
    sched_trigger(H.s, "default/import", NULL, NULL, t, NULL, NULL);
    sched_trigger(H.s, "default/prices", NULL, NULL, t, NULL, NULL);
    flush(t);
    exit_run(0, 0, 0, false, t + SEC);
    assert_int_equal(H.nstarted, 1);            /* score waits for both */
    exit_run(0, 0, 0, false, t + 2 * SEC);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(H.started[0]->reason, STORE_REASON_AFTER);
    assert_string_equal(H.started[0]->job->name, "score");
    exit_run(0, 0, 0, false, t + 3 * SEC);
    /* one upstream fails: a success-only dependent does not fire */
    sched_trigger(H.s, "default/import", NULL, NULL, t + 4 * SEC, NULL, NULL);
    sched_trigger(H.s, "default/prices", NULL, NULL, t + 4 * SEC, NULL, NULL);
    flush(t + 4 * SEC);
    exit_run(0, 0, 0, false, t + 5 * SEC);
    exit_run(0, 1, 0, false, t + 6 * SEC);
    assert_int_equal(H.nstarted, 0);
    teardown();
}

static void test_sched_cancels_a_queued_run_at_once(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(1);
    put("{\"name\":\"a\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}", t);
    put("{\"name\":\"b\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}", t);
    sched_trigger(H.s, "default/a", NULL, NULL, t, NULL, NULL);
    sched_trigger(H.s, "default/b", "{\"X\":\"1\"}", NULL, t, NULL, NULL);
    flush(t);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(sched_cancel(H.s, 2, NULL), 0);
    assert_int_equal(H.runs[1].state, STORE_RUN_CANCELLED);
    assert_int_equal(sched_cancel(H.s, 99, NULL), -CHIME_ENOTFOUND);
    exit_run(0, 0, 0, false, t + SEC);
    assert_int_equal(H.nstarted, 0);
    teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sched_trigger_refused_by_concurrency_names_the_live_run),
        cmocka_unit_test(test_sched_allow_runs_up_to_max_instances),
        cmocka_unit_test(test_sched_queue_waits_for_the_active_run),
        cmocka_unit_test(test_sched_replace_cancels_the_active_run),
        cmocka_unit_test(test_sched_global_limit_starts_higher_priority_first),
        cmocka_unit_test(test_sched_after_chain_fans_in),
        cmocka_unit_test(test_sched_cancels_a_queued_run_at_once),
    };

    return cmocka_run_group_tests_name("sched_limits", tests, NULL, NULL);
}
