/* sched_test.c: the engine's firing on a fake clock: cron, at, every and
 * reboot fires, the lead, catch-up and clock jumps, previews, planned jobs,
 * adoption after a restart, and which fires count when the job is put
 * (the misfire grace). Concurrency and priorities are
 * sched_limits_test.c's, retries and store failures sched_retry_test.c's;
 * the harness is sched_test.h's. */
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

/* With a lead, a fire is handled (recorded, started) before its instant,
 * and its run carries the instant its process may start at; a job with a
 * live run is handled at the instant, so its policy sees the truth. */
static void test_sched_handles_fires_early_within_the_lead(void **state)
{
    int64_t t0 = T("2026-01-01T00:01:00Z"), due = T("2026-01-01T00:05:00Z");
    int64_t lead = 20000;

    (void)state;
    setup_lead(0, lead);
    put("{\"name\":\"a\",\"schedule\":{\"cron\":\"*/5 * * * *\"},\"command\":[\"true\"]}", t0);
    assert_int_equal(sched_tick(H.s, t0), due - lead);
    assert_int_equal(sched_tick(H.s, due - lead - 1), due - lead);
    assert_int_equal(H.npending, 0);
    /* the next wake is the next instant itself while this run lives */
    assert_int_equal(sched_tick(H.s, due - lead), T("2026-01-01T00:10:00Z"));
    flush(due - lead + 100);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(H.runs[0].fire_us, due);
    assert_int_equal(H.started[0]->start_at_us, due);
    assert_int_equal(H.started[0]->queued_us, due - lead);
    /* the run is still live at the next instant's lead: not early (forbid
     * would skip a fire the run might not be in the way of by then) */
    sched_run_started(H.s, H.started[0], 4242, due + 200);
    assert_int_equal(sched_tick(H.s, due + 10 * SEC), T("2026-01-01T00:10:00Z"));
    assert_int_equal(sched_tick(H.s, T("2026-01-01T00:10:00Z") - lead), T("2026-01-01T00:10:00Z"));
    assert_int_equal(count("default/a", STORE_RUN_SKIPPED), 0);
    exit_run(0, 0, 0, false, T("2026-01-01T00:10:00Z") - 5000);
    sched_tick(H.s, T("2026-01-01T00:10:00Z") - 5000);
    flush(T("2026-01-01T00:10:00Z") - 4000);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(H.started[0]->start_at_us, T("2026-01-01T00:10:00Z"));
    assert_int_equal(count("default/a", STORE_RUN_SKIPPED), 0);
    teardown();
}

/* ---- tests ---- */

static void test_sched_fires_cron_on_time_and_records_before_start(void **state)
{
    int64_t t0 = T("2026-01-01T00:01:00Z"), due = T("2026-01-01T00:05:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"a\",\"schedule\":{\"cron\":\"*/5 * * * *\"},\"command\":[\"true\"]}", t0);
    assert_int_equal(sched_tick(H.s, t0), due);
    assert_int_equal(sched_tick(H.s, due - 1), due);  /* a timer that wakes early */
    assert_int_equal(H.npending, 0);
    assert_int_equal(sched_tick(H.s, due), T("2026-01-01T00:10:00Z"));
    assert_int_equal(H.npending, 1);
    assert_int_equal(H.nstarted, 0);    /* not before the store has it */
    flush(due + 100);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(H.runs[0].fire_us, due);
    assert_int_equal(H.runs[0].reason, STORE_REASON_SCHEDULE);
    sched_run_started(H.s, H.started[0], 4242, due + 200);
    assert_int_equal(H.runs[0].state, STORE_RUN_RUNNING);
    exit_run(0, 0, 0, false, due + 5 * SEC);
    assert_int_equal(H.runs[0].state, STORE_RUN_SUCCEEDED);
    assert_int_equal(H.notified[JOB_ON_SUCCESS], 1);
    teardown();
}

static void test_sched_at_fires_at_its_microsecond(void **state)
{
    int64_t at = T("2026-05-01T09:00:00.250Z");

    (void)state;
    setup(0);
    put("{\"name\":\"once\",\"schedule\":{\"at\":\"2026-05-01T09:00:00.250Z\"},"
        "\"command\":[\"true\"]}", at - 3600 * SEC);
    assert_int_equal(sched_tick(H.s, at - 1), at);
    assert_int_equal(H.npending, 0);
    assert_int_equal(sched_tick(H.s, at), INT64_MAX);   /* once, then nothing */
    flush(at);
    assert_int_equal(H.runs[0].fire_us, at);
    teardown();
}

static void test_sched_forbid_records_a_skipped_fire(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"f\",\"schedule\":{\"every\":\"1m\"},\"command\":[\"sleep\",\"100\"]}", t);
    sched_tick(H.s, t + 60 * SEC);
    flush(t + 60 * SEC);
    sched_tick(H.s, t + 120 * SEC);
    flush(t + 120 * SEC);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(count("default/f", STORE_RUN_SKIPPED), 1);
    teardown();
}

static void test_sched_catch_up_after_downtime_follows_policy(void **state)
{
    static const struct {
        const char *catch_up;
        int runs, missed;
    } cases[] = {
        /* hourly, last fire 05:00, restart at 10:30, grace 3h: 06:00 and
         * 07:00 are past the grace; 08:00, 09:00, 10:00 are within it */
        { "none", 0, 5 }, { "latest", 1, 4 }, { "all", 3, 2 },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char doc[300];
        int64_t now = T("2026-01-01T10:30:00Z");

        setup(0);
        snprintf(doc, sizeof doc,
                 "{\"name\":\"h\",\"schedule\":{\"cron\":\"0 * * * *\"},\"command\":[\"x\"],"
                 "\"concurrency\":\"allow\",\"max_instances\":10,"
                 "\"misfire\":{\"grace\":\"3h\",\"catch_up\":\"%s\"}}", cases[i].catch_up);
        put_at(doc, T("2026-01-01T05:00:00Z"), T("2026-01-01T00:00:00Z"), now);
        assert_int_equal(sched_tick(H.s, now), T("2026-01-01T11:00:00Z"));
        flush(now);
        assert_int_equal(count("default/h", STORE_RUN_MISSED), cases[i].missed);
        /* the backlog runs one fire after another, oldest first */
        for (int k = 0; k < cases[i].runs; k++) {
            int64_t want = T("2026-01-01T10:00:00Z") - (cases[i].runs - 1 - k) * 3600 * SEC;

            assert_int_equal(H.nstarted, 1);
            assert_int_equal(H.started[0]->reason, STORE_REASON_CATCH_UP);
            assert_int_equal(H.started[0]->fire_us, want);
            exit_run(0, 0, 0, false, now + (k + 1) * SEC);
        }
        assert_int_equal(H.nstarted, 0);
        teardown();
    }
}

static void test_sched_clock_jumps_neither_burst_nor_double(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"m\",\"schedule\":{\"cron\":\"* * * * *\"},\"command\":[\"x\"],"
        "\"concurrency\":\"allow\",\"max_instances\":100}", t);
    sched_tick(H.s, t + 60 * SEC);
    flush(t + 60 * SEC);
    assert_int_equal(H.nstarted, 1);
    /* forward 3 hours: one run (the newest within the 1h grace), no burst */
    sched_tick(H.s, t + 3 * 3600 * SEC + 60 * SEC);
    flush(t + 3 * 3600 * SEC + 60 * SEC);
    assert_int_equal(H.nstarted, 2);
    /* backward 2 hours: nothing fires again until the clock passes the newest fire */
    assert_int_equal(sched_tick(H.s, t + 3600 * SEC), t + 3 * 3600 * SEC + 120 * SEC);
    flush(t + 3600 * SEC);
    assert_int_equal(H.nstarted, 2);
    sched_tick(H.s, t + 3 * 3600 * SEC + 120 * SEC);
    flush(t + 3 * 3600 * SEC + 120 * SEC);
    assert_int_equal(H.nstarted, 3);
    teardown();
}

static void test_sched_drops_a_fire_the_store_already_has(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"d\",\"schedule\":{\"every\":\"1m\"},\"command\":[\"x\"]}", t);
    sched_tick(H.s, t + 60 * SEC);
    H.duplicates_left = 1;      /* another node, or before a crash, recorded it */
    flush(t + 60 * SEC);
    assert_int_equal(H.nstarted, 0);
    sched_tick(H.s, t + 120 * SEC);
    flush(t + 120 * SEC);
    assert_int_equal(H.nstarted, 1);    /* forbid sees no active run left behind */
    teardown();
}

static void test_sched_every_jitter_delays_within_bound(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"j\",\"schedule\":{\"every\":\"10m\",\"jitter\":\"30s\"},"
        "\"command\":[\"x\"]}", t);
    for (int k = 1; k <= 20; k++) {
        int64_t wake = sched_tick(H.s, t + (k - 1) * 600 * SEC + 1);

        assert_true(wake >= t + k * 600 * SEC && wake < t + k * 600 * SEC + 30 * SEC);
        sched_tick(H.s, wake);
        flush(wake);
        assert_int_equal(H.started[0]->fire_us, t + k * 600 * SEC);    /* the fire itself */
        exit_run(0, 0, 0, false, wake + SEC);
    }
    teardown();
}

static void test_sched_reboot_fires_at_the_first_tick_only(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"boot\",\"schedule\":{\"cron\":\"@reboot\"},\"command\":[\"x\"]}", t);
    assert_int_equal(sched_tick(H.s, t), INT64_MAX);
    assert_int_equal(H.npending, 1);
    sched_tick(H.s, t + SEC);
    assert_int_equal(H.npending, 1);
    flush(t + SEC);
    teardown();
}

static void test_sched_preview_lists_next_fires(void **state)
{
    const char *doc = "{\"name\":\"p\",\"schedule\":{\"cron\":\"0 9 * * MON\","
                      "\"timezone\":\"Europe/Berlin\"},\"command\":[\"x\"]}";
    struct job *j = NULL;
    int64_t out[3];

    (void)state;
    assert_int_equal(job_parse(doc, strlen(doc), "default", &j, NULL), 0);
    assert_int_equal(sched_preview(j, NULL, T("2026-01-01T00:00:00Z"), 3, out), 3);
    assert_int_equal(out[0], T("2026-01-05T08:00:00Z"));
    assert_int_equal(out[2], T("2026-01-19T08:00:00Z"));
    job_free(j);
}

/* A job made from its store columns (job_from_plan()) fires as the job
 * made from its document does. */
static void test_sched_previews_a_planned_job_as_its_document(void **state)
{
    static const char *const docs[] = {
        "{\"name\": \"c\", \"schedule\": {\"cron\": \"*/5 9-17 * * MON-FRI\"}, \"shell\": \"x\"}",
        "{\"name\": \"z\", \"schedule\": {\"cron\": \"30 2 * * *\", \"timezone\": \"Europe/Berlin\"},"
        " \"shell\": \"x\"}",
        "{\"name\": \"e\", \"namespace\": \"t\", \"schedule\": {\"every\": \"90s\","
        " \"start\": \"2026-01-01T00:00:00Z\", \"jitter\": \"10s\"}, \"shell\": \"x\"}",
        "{\"name\": \"e2\", \"schedule\": {\"every\": \"1h\"}, \"shell\": \"x\"}",
        "{\"name\": \"a\", \"schedule\": {\"at\": \"2027-03-01T10:00:00.250000+01:00\"},"
        " \"shell\": \"x\"}",
    };
    const struct tz *utc = NULL;

    (void)state;
    assert_int_equal(tz_load("UTC", &utc, NULL), 0);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        struct job *j = NULL, *back = NULL;
        struct store_job_plan plan;
        char *texts = NULL;
        int64_t fa[8], fb[8];
        int na, nb;

        assert_int_equal(job_parse(docs[i], strlen(docs[i]), "default", &j, NULL), 0);
        assert_int_equal(job_plan_make(j, 3, &plan, &texts), 0);
        assert_int_equal(job_from_plan(&plan, j->ns, j->name, &back, NULL), 0);
        na = sched_preview(j, utc, T("2026-11-24T00:00:00Z"), 8, fa);
        nb = sched_preview(back, utc, T("2026-11-24T00:00:00Z"), 8, fb);
        assert_true(na > 0);
        assert_int_equal(na, nb);
        assert_memory_equal(fa, fb, (size_t)na * sizeof fa[0]);
        free(texts);
        job_free(back);
        job_free(j);
    }
}

static void test_sched_keeps_jobs_without_their_body(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");
    const struct job *kept;
    struct store_job_plan plan;
    struct job *j = NULL, *planned = NULL;
    const char *doc = "{\"name\":\"b\",\"schedule\":{\"cron\":\"@hourly\"},"
                      "\"command\":[\"/bin/echo\",\"hi\"],\"env\":{\"A\":\"1\"}}";
    char *texts = NULL;

    (void)state;
    setup(0);
    assert_int_equal(job_parse(doc, strlen(doc), "default", &j, NULL), 0);
    assert_int_equal(job_plan_make(j, 4, &plan, &texts), 0);
    assert_int_equal(job_from_plan(&plan, "default", "p", &planned, NULL), 0);
    assert_int_equal(sched_job_put(H.s, j, 11, 4, INT64_MIN, t, t, NULL), 0);
    /* the host saw the body before the engine dropped it */
    assert_int_equal(H.puts_with_body, 1);
    assert_int_equal(H.put_key, 11);
    assert_int_equal(H.put_version, 4);
    assert_string_equal(H.put_argv0, "/bin/echo");
    kept = sched_job_get(H.s, "default/b");
    assert_non_null(kept);
    assert_null(kept->body);
    /* a job made from a plan has no body to show */
    assert_int_equal(sched_job_put(H.s, planned, 12, 4, INT64_MIN, t, t, NULL), 0);
    assert_int_equal(H.puts_with_body, 1);
    assert_int_equal(sched_job_next(H.s, "default/p"), T("2026-01-01T01:00:00Z"));
    assert_int_equal(sched_job_next(H.s, "default/b"), T("2026-01-01T01:00:00Z"));
    /* both fire, and a run carries the key and version its body is read by */
    sched_tick(H.s, T("2026-01-01T01:00:00Z"));
    flush(T("2026-01-01T01:00:00Z"));
    assert_int_equal(H.nstarted, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(H.started[i]->job_version, 4);
        assert_true(H.started[i]->job_key == 11 || H.started[i]->job_key == 12);
        assert_null(H.started[i]->job->body);
    }
    free(texts);
    teardown();
}

static void test_sched_finds_jobs_by_name_among_many(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");
    char doc[200], id[80];

    (void)state;
    setup(0);
    /* enough jobs to grow the hash a few times */
    for (int i = 0; i < 5000; i++) {
        snprintf(doc, sizeof doc, "{\"name\":\"j%d\",\"namespace\":\"n%d\","
                 "\"schedule\":{\"every\":\"%ds\"},\"shell\":\"x\"}", i, i % 7, 60 + i);
        put(doc, t);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "n%d/j%d", i % 7, i);
        assert_int_equal(sched_job_next(H.s, id), (t / SEC / (60 + i) + 1) * (60 + i) * SEC);
    }
    assert_int_equal(sched_job_next(H.s, "n1/j0"), INT64_MAX);     /* j0 is in n0 */
    assert_null(sched_job_get(H.s, "n0"));
    assert_null(sched_job_get(H.s, "n0/"));
    assert_null(sched_job_get(H.s, "n0/j"));
    assert_int_equal(sched_job_remove(H.s, "n3/j3", NULL), 0);
    assert_null(sched_job_get(H.s, "n3/j3"));
    assert_non_null(sched_job_get(H.s, "n3/j10"));
    teardown();
}

static void test_sched_adopts_runs_after_a_restart(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");
    struct sched_run *running = NULL, *queued = NULL, *gone = NULL;
    struct sched_result ok = { 0, 0, false, false, false, NULL };
    struct sched_result lost = { -1, 0, false, false, true, NULL };

    (void)state;
    setup(1);
    put("{\"name\":\"a\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
        "\"retry\":{\"max_attempts\":2}}", t);
    put("{\"name\":\"b\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}", t);
    H.nruns = 7;        /* the store already holds runs 1-7 */
    assert_int_equal(sched_run_adopt(H.s, "default/a", 6, t - SEC, 1, STORE_REASON_MANUAL, true, NULL, t,
                                     &running), 0);
    assert_int_equal(sched_run_adopt(H.s, "default/b", 7, t - SEC, 1, STORE_REASON_MANUAL, false, NULL,
                                     t, &queued), 0);
    assert_non_null(running);
    assert_non_null(queued);
    assert_int_equal(sched_run_adopt(H.s, "default/gone", 8, t, 1, STORE_REASON_MANUAL, true, NULL, t,
                                     &gone), -CHIME_ENOTFOUND);
    assert_int_equal(H.nstarted, 0);    /* the one slot is the adopted running run's */
    /* the holder is gone: lost, and retried by policy */
    sched_run_exited(H.s, running, &lost, t + SEC);
    assert_int_equal(H.nstarted, 1);    /* now the queued one starts */
    assert_ptr_equal(H.started[0], queued);
    sched_run_exited(H.s, queued, &ok, t + 2 * SEC);
    H.nstarted = 0;
    sched_tick(H.s, t + 60 * SEC);
    flush(t + 60 * SEC);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(H.started[0]->attempt, 2);
    assert_int_equal(H.started[0]->reason, STORE_REASON_RETRY);
    teardown();
}

/* A queued run adopted while a slot is free starts inside the adoption:
 * its host data must be there by then (a restored daemon crashed on a
 * run recorded but not started when its backup was taken). */
static void test_sched_adopted_queued_run_starts_with_its_user(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");
    int marker = 0;
    struct sched_run *queued;

    (void)state;
    setup(2);
    put("{\"name\":\"b\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}", t);
    H.nruns = 3;
    assert_int_equal(sched_run_adopt(H.s, "default/b", 3, t - SEC, 1, STORE_REASON_MANUAL, false,
                                     &marker, t, &queued), 0);
    assert_non_null(queued);
    assert_int_equal(H.nstarted, 1);
    assert_ptr_equal(H.started[0], queued);
    assert_ptr_equal(H.started_user[0], &marker);
    teardown();
}

/* Records still in flight keep their job: a job removed while the
 * cancelled record of its pending retry, or a skipped fire's record, has
 * not landed is freed only once it has (ASan sees a use after free
 * otherwise). */
static void test_sched_a_job_removed_with_records_in_flight_outlives_them(void **state)
{
    int64_t t = T("2026-01-01T00:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"r\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
        "\"retry\":{\"max_attempts\":2,\"backoff\":\"1h\"}}", t);
    assert_int_equal(sched_trigger(H.s, "default/r", NULL, NULL, t, NULL, NULL), 0);
    flush(t);
    assert_int_equal(H.nstarted, 1);
    exit_run(0, 1, 0, false, t + SEC);      /* failed: a retry waits an hour */
    flush(t + SEC);
    assert_int_equal(sched_job_remove(H.s, "default/r", NULL), 0);
    assert_int_equal(H.npending, 1);        /* the retry's cancelled record */
    assert_null(sched_job_get(H.s, "default/r"));
    flush(t + 2 * SEC);                     /* lands after the removal */
    assert_int_equal(H.runs[H.nruns - 1].state, STORE_RUN_CANCELLED);
    teardown();
}

/* ---- which fires count: a first fire already past when the job is put ---- */

#define H1 (3600 * SEC)

/* An `at` job saved with its instant 10 minutes past and a grace of 1h
 * runs once, as a catch-up; with its instant 2h past it leaves one missed
 * run. Either way the job is then done. */
static void test_sched_at_created_in_the_past_follows_the_misfire_grace(void **state)
{
    static const struct {
        int64_t ago;
        enum store_run_state want;
    } cases[] = {
        { 10 * 60 * SEC, STORE_RUN_RUNNING }, { 2 * H1, STORE_RUN_MISSED },
    };
    int64_t now = T("2026-03-01T12:00:00Z");

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char doc[300], at[40];
        int64_t when = now - cases[i].ago;

        setup(0);
        snprintf(at, sizeof at, "2026-03-01T%02d:%02d:00Z", (int)(when / H1 % 24),
                 (int)(when / (60 * SEC) % 60));
        snprintf(doc, sizeof doc,
                 "{\"name\":\"past\",\"schedule\":{\"at\":\"%s\"},\"command\":[\"x\"],"
                 "\"misfire\":{\"grace\":\"1h\"}}", at);
        put(doc, now);
        assert_int_equal(sched_job_next(H.s, "default/past"), when);
        assert_int_equal(sched_tick(H.s, now), INT64_MAX);
        flush(now);
        assert_int_equal(H.nruns, 1);
        assert_int_equal(H.runs[0].fire_us, when);
        if (cases[i].want == STORE_RUN_RUNNING) {
            assert_int_equal(H.nstarted, 1);
            assert_int_equal(H.runs[0].reason, STORE_REASON_CATCH_UP);
            exit_run(0, 0, 0, false, now + SEC);
            assert_int_equal(H.runs[0].state, STORE_RUN_SUCCEEDED);
        } else {
            assert_int_equal(H.nstarted, 0);
            assert_int_equal(H.runs[0].state, STORE_RUN_MISSED);
        }
        /* one fire, one entry: nothing more, however long we wait */
        assert_int_equal(sched_tick(H.s, now + 24 * H1), INT64_MAX);
        flush(now + 24 * H1);
        assert_int_equal(H.nruns, 1);
        teardown();
    }
}

/* A replace (or patch) that moves an `at` job's instant into the past is
 * a save like a create: its fire is due now. */
static void test_sched_at_replaced_into_the_past_fires_once(void **state)
{
    int64_t now = T("2026-03-01T12:00:00Z");

    (void)state;
    setup(0);
    put("{\"name\":\"a\",\"schedule\":{\"at\":\"2026-03-02T00:00:00Z\"},\"command\":[\"x\"]}",
        now - H1);
    put("{\"name\":\"a\",\"schedule\":{\"at\":\"2026-03-01T11:30:00Z\"},\"command\":[\"x\"]}",
        now);
    sched_tick(H.s, now);
    flush(now);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(H.started[0]->fire_us, T("2026-03-01T11:30:00Z"));
    assert_int_equal(H.started[0]->reason, STORE_REASON_CATCH_UP);
    exit_run(0, 0, 0, false, now + SEC);
    /* saved again unchanged: the fire was handled, it does not come back */
    put("{\"name\":\"a\",\"schedule\":{\"at\":\"2026-03-01T11:30:00Z\"},\"command\":[\"y\"]}",
        now + 2 * SEC);
    assert_int_equal(sched_tick(H.s, now + 3 * SEC), INT64_MAX);
    flush(now + 3 * SEC);
    assert_int_equal(H.nruns, 1);
    teardown();
}

/* Restart after downtime, for jobs that never fired: their version was
 * written at 00:00, the daemon went down before any fire and starts
 * again at 03:30 with a grace of 2h. The fires of the downtime count
 * from the version: 01:00 is past the grace (missed), 02:00 and 03:00
 * are within it and follow catch_up; the `at` job's one fire (02:15) is
 * within it; one at 00:30 is past it. Nothing is left without a run. */
static void test_sched_restart_handles_the_first_fires_of_jobs_that_never_fired(void **state)
{
    static const struct {
        const char *schedule, *catch_up;
        int64_t runs[3];        /* the fires run, oldest first, as hours * 4 (15 min) */
        int nruns, missed;
        const char *next;       /* the next fire after the backlog; NULL: none */
    } cases[] = {
        { "{\"every\":\"1h\"}", "none", { 0 }, 0, 3, "2026-01-01T04:00:00Z" },
        { "{\"every\":\"1h\"}", "latest", { 12 }, 1, 2, "2026-01-01T04:00:00Z" },
        { "{\"every\":\"1h\"}", "all", { 8, 12 }, 2, 1, "2026-01-01T04:00:00Z" },
        { "{\"cron\":\"0 * * * *\"}", "none", { 0 }, 0, 3, "2026-01-01T04:00:00Z" },
        { "{\"cron\":\"0 * * * *\"}", "latest", { 12 }, 1, 2, "2026-01-01T04:00:00Z" },
        { "{\"cron\":\"0 * * * *\"}", "all", { 8, 12 }, 2, 1, "2026-01-01T04:00:00Z" },
        { "{\"at\":\"2026-01-01T02:15:00Z\"}", "none", { 0 }, 0, 1, NULL },
        { "{\"at\":\"2026-01-01T02:15:00Z\"}", "latest", { 9 }, 1, 0, NULL },
        { "{\"at\":\"2026-01-01T02:15:00Z\"}", "all", { 9 }, 1, 0, NULL },
        { "{\"at\":\"2026-01-01T00:30:00Z\"}", "latest", { 0 }, 0, 1, NULL },
        { "{\"at\":\"2026-01-01T00:30:00Z\"}", "all", { 0 }, 0, 1, NULL },
    };
    int64_t written = T("2026-01-01T00:00:00Z"), now = T("2026-01-01T03:30:00Z");

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char doc[300];

        setup(0);
        snprintf(doc, sizeof doc,
                 "{\"name\":\"n\",\"schedule\":%s,\"command\":[\"x\"],"
                 "\"misfire\":{\"grace\":\"2h\",\"catch_up\":\"%s\"}}", cases[i].schedule,
                 cases[i].catch_up);
        put_at(doc, INT64_MIN, written, now);
        sched_tick(H.s, now);
        flush(now);
        assert_int_equal(count("default/n", STORE_RUN_MISSED), cases[i].missed);
        for (int k = 0; k < cases[i].nruns; k++) {
            assert_int_equal(H.nstarted, 1);
            assert_int_equal(H.started[0]->fire_us, written + cases[i].runs[k] * H1 / 4);
            assert_int_equal(H.started[0]->reason, STORE_REASON_CATCH_UP);
            exit_run(0, 0, 0, false, now + (k + 1) * SEC);
        }
        assert_int_equal(H.nstarted, 0);
        assert_int_equal(H.nruns, cases[i].nruns + cases[i].missed);
        assert_int_equal(sched_job_next(H.s, "default/n"),
                         cases[i].next ? T(cases[i].next) : INT64_MAX);
        teardown();
    }
}

/* A job whose version was written after its last fire counts its fires
 * from the version: the old schedule's instants in between are no fires. */
static void test_sched_restart_counts_fires_from_the_newer_version(void **state)
{
    int64_t now = T("2026-01-01T03:30:00Z");

    (void)state;
    setup(0);
    put_at("{\"name\":\"v\",\"schedule\":{\"cron\":\"0 * * * *\"},\"command\":[\"x\"]}",
           T("2026-01-01T01:00:00Z"), T("2026-01-01T02:30:00Z"), now);
    sched_tick(H.s, now);
    flush(now);
    assert_int_equal(H.nruns, 1);           /* 03:00 only; 02:00 was no fire of it */
    assert_int_equal(H.runs[0].fire_us, T("2026-01-01T03:00:00Z"));
    assert_int_equal(count("default/v", STORE_RUN_MISSED), 0);
    teardown();
}

/* After a restart with nothing due, the next fire is on time: reason
 * schedule, and handled early within the lead like any other. */
static void test_sched_restart_without_a_due_fire_fires_on_schedule(void **state)
{
    int64_t now = T("2026-01-01T03:30:00Z"), due = T("2026-01-01T04:00:00Z");

    (void)state;
    setup_lead(0, 1000);
    put_at("{\"name\":\"o\",\"schedule\":{\"cron\":\"0 * * * *\"},\"command\":[\"x\"]}",
           T("2026-01-01T03:00:00Z"), T("2026-01-01T00:00:00Z"), now);
    assert_int_equal(sched_tick(H.s, now), due - 1000);
    sched_tick(H.s, due - 1000);
    flush(due - 1000);
    assert_int_equal(H.nstarted, 1);
    assert_int_equal(H.started[0]->reason, STORE_REASON_SCHEDULE);
    assert_int_equal(H.started[0]->start_at_us, due);
    teardown();
}

static void test_sched_first_fire_counts_after_the_last_fire_and_the_version(void **state)
{
    const char *cron = "{\"name\":\"c\",\"schedule\":{\"cron\":\"0 * * * *\"},\"command\":[\"x\"]}";
    const char *at = "{\"name\":\"a\",\"schedule\":{\"at\":\"2026-01-01T02:15:00Z\"},"
                     "\"command\":[\"x\"]}";
    const struct tz *utc;
    struct job *c = NULL, *a = NULL;

    (void)state;
    assert_int_equal(tz_load("UTC", &utc, NULL), 0);
    assert_int_equal(job_parse(cron, strlen(cron), "default", &c, NULL), 0);
    assert_int_equal(job_parse(at, strlen(at), "default", &a, NULL), 0);
    assert_int_equal(sched_first_fire(c, utc, INT64_MIN, T("2026-01-01T00:30:00Z")),
                     T("2026-01-01T01:00:00Z"));
    assert_int_equal(sched_first_fire(c, utc, T("2026-01-01T05:00:00Z"),
                                      T("2026-01-01T00:30:00Z")),
                     T("2026-01-01T06:00:00Z"));
    /* an `at` counts whenever its version was saved, unless handled already */
    assert_int_equal(sched_first_fire(a, utc, INT64_MIN, T("2026-01-01T09:00:00Z")),
                     T("2026-01-01T02:15:00Z"));
    assert_int_equal(sched_first_fire(a, utc, T("2026-01-01T02:15:00Z"), INT64_MIN), INT64_MAX);
    job_free(c);
    job_free(a);
}

/* catch_up: all under every concurrency policy: the backlog waits for the
 * run still live (one adopted after a restart, a manual one), then runs
 * one fire after another, oldest first; no catch-up fire is skipped, and
 * none cancels a run or is cancelled. */
static void test_sched_catch_up_all_runs_the_backlog_in_turn_under_every_policy(void **state)
{
    static const char *const policies[] = { "forbid", "allow", "queue", "replace" };
    int64_t now = T("2026-01-01T08:30:00Z");

    (void)state;
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        char doc[300];

        setup(0);
        snprintf(doc, sizeof doc,
                 "{\"name\":\"b\",\"schedule\":{\"cron\":\"0 * * * *\"},\"command\":[\"x\"],"
                 "\"concurrency\":\"%s\",\"max_instances\":3,"
                 "\"misfire\":{\"grace\":\"6h\",\"catch_up\":\"all\"}}", policies[i]);
        put_at(doc, T("2026-01-01T05:00:00Z"), T("2026-01-01T00:00:00Z"), now);
        assert_int_equal(sched_trigger(H.s, "default/b", NULL, NULL, now, NULL, NULL), 0);
        flush(now);
        sched_tick(H.s, now);
        flush(now);
        assert_int_equal(H.nstarted, 1);
        assert_int_equal(H.started[0]->reason, STORE_REASON_MANUAL);
        exit_run(0, 0, 0, false, now + SEC / 4);
        for (int k = 0; k < 3; k++) {
            assert_int_equal(H.nstarted, 1);
            assert_int_equal(H.started[0]->fire_us, T("2026-01-01T06:00:00Z") + k * H1);
            assert_int_equal(H.started[0]->reason, STORE_REASON_CATCH_UP);
            sched_run_started(H.s, H.started[0], 100 + k, now + (k + 1) * SEC);
            exit_run(0, 0, 0, false, now + (k + 1) * SEC + SEC / 2);
        }
        assert_int_equal(H.nstarted, 0);
        assert_int_equal(count("default/b", STORE_RUN_SUCCEEDED), 4);
        assert_int_equal(count("default/b", STORE_RUN_SKIPPED), 0);
        assert_int_equal(count("default/b", STORE_RUN_CANCELLED), 0);
        assert_int_equal(H.cancels, 0);
        assert_int_equal(H.nruns, 4);
        teardown();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sched_fires_cron_on_time_and_records_before_start),
        cmocka_unit_test(test_sched_at_fires_at_its_microsecond),
        cmocka_unit_test(test_sched_handles_fires_early_within_the_lead),
        cmocka_unit_test(test_sched_forbid_records_a_skipped_fire),
        cmocka_unit_test(test_sched_catch_up_after_downtime_follows_policy),
        cmocka_unit_test(test_sched_clock_jumps_neither_burst_nor_double),
        cmocka_unit_test(test_sched_drops_a_fire_the_store_already_has),
        cmocka_unit_test(test_sched_every_jitter_delays_within_bound),
        cmocka_unit_test(test_sched_reboot_fires_at_the_first_tick_only),
        cmocka_unit_test(test_sched_preview_lists_next_fires),
        cmocka_unit_test(test_sched_adopts_runs_after_a_restart),
        cmocka_unit_test(test_sched_adopted_queued_run_starts_with_its_user),
        cmocka_unit_test(test_sched_a_job_removed_with_records_in_flight_outlives_them),
        cmocka_unit_test(test_sched_keeps_jobs_without_their_body),
        cmocka_unit_test(test_sched_previews_a_planned_job_as_its_document),
        cmocka_unit_test(test_sched_finds_jobs_by_name_among_many),
        cmocka_unit_test(test_sched_at_created_in_the_past_follows_the_misfire_grace),
        cmocka_unit_test(test_sched_at_replaced_into_the_past_fires_once),
        cmocka_unit_test(test_sched_restart_handles_the_first_fires_of_jobs_that_never_fired),
        cmocka_unit_test(test_sched_restart_counts_fires_from_the_newer_version),
        cmocka_unit_test(test_sched_restart_without_a_due_fire_fires_on_schedule),
        cmocka_unit_test(test_sched_first_fire_counts_after_the_last_fire_and_the_version),
        cmocka_unit_test(test_sched_catch_up_all_runs_the_backlog_in_turn_under_every_policy),
    };

    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
