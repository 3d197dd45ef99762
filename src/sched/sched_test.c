/* sched_test.c: every policy of the engine on a fake clock.
 *
 * The harness plays store and runner: ops->record() queues the run and
 * flush() reports it recorded (as the store thread would, later);
 * ops->start() lists the run, and the test decides when it started and how
 * it exited. Time is whatever the test passes to sched_tick(). */
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

#define MAXEV 4096

struct rec {                    /* one run as the fake store saw it last */
    int64_t id;
    char job[140];
    int64_t fire_us;
    int attempt;
    enum store_reason reason;
    enum store_run_state state;
    const char *error;
};

struct harness {
    struct sched *s;
    struct sched_run *pending[MAXEV];   /* recorded, not yet confirmed */
    int npending;
    struct sched_run *started[MAXEV];   /* started, not yet exited */
    void *started_user[MAXEV];          /* each one's user, as start saw it */
    int nstarted;
    struct rec runs[MAXEV];             /* by id - 1 */
    int nruns;
    int cancels, dead, duplicates_left;
    bool store_full;                    /* flush() fails every record */
    bool unique;                        /* flush() gives a known (job, fire, attempt) id 0 */
    int record_failures;
    struct rec dead_run;                /* the last run dead-lettered, as its update said */
    int dead_exit_code;
    int notified[JOB_ON_COUNT];
    enum store_run_state notified_state[JOB_ON_COUNT]; /* of the run, as the last one was told */
    uint64_t rnd;
    int puts_with_body;                 /* ops->job_put calls */
    int64_t put_key, put_version;
    char put_argv0[64];
};

static struct harness H;

static void save(const struct sched_run *r)
{
    struct rec *x;

    if (r->id <= 0 || r->id > H.nruns)
        return;
    x = &H.runs[r->id - 1];
    job_id(r->job, x->job, sizeof x->job);
    x->fire_us = r->fire_us;
    x->attempt = r->attempt;
    x->reason = r->reason;
    x->state = r->state;
    x->error = r->error;
}

static void fake_record(void *ctx, struct sched_run *r)
{
    (void)ctx;
    assert_true(H.npending < MAXEV);
    H.pending[H.npending++] = r;
}

static void fake_update(void *ctx, const struct sched_run *r)
{
    (void)ctx;
    assert_true(r->id > 0);     /* only recorded runs are updated */
    save(r);
    if (r->dead_letter) {
        H.dead++;
        H.dead_run = H.runs[r->id - 1];
        H.dead_exit_code = r->exit_code;
    }
}

static void fake_start(void *ctx, struct sched_run *r)
{
    (void)ctx;
    assert_true(r->id > 0);     /* never started before it is durable */
    H.started_user[H.nstarted] = r->user;
    H.started[H.nstarted++] = r;
}

static void fake_cancel(void *ctx, struct sched_run *r)
{
    (void)ctx;
    (void)r;
    H.cancels++;
}

static void fake_job_state(void *ctx, const struct job *j, int64_t key, bool paused,
                           int failures, int64_t last_fire_us)
{
    (void)ctx, (void)j, (void)key, (void)paused, (void)failures, (void)last_fire_us;
}

static void fake_notify(void *ctx, const struct job *j, const struct sched_run *r,
                        enum job_notify_event ev)
{
    (void)ctx, (void)j;
    H.notified[ev]++;
    if (r)
        H.notified_state[ev] = r->state;
}

static uint64_t fake_random(void *ctx)
{
    (void)ctx;
    H.rnd = H.rnd * 6364136223846793005u + 1442695040888963407u;
    return H.rnd >> 1;
}

static void fake_job_put(void *ctx, const struct job *j, int64_t key, int64_t version)
{
    (void)ctx;
    assert_non_null(j->body);
    H.puts_with_body++;
    H.put_key = key;
    H.put_version = version;
    snprintf(H.put_argv0, sizeof H.put_argv0, "%s",
             j->body->argv ? j->body->argv[0] : j->body->shell);
}

static const struct sched_ops ops = {
    NULL, fake_record, fake_update, fake_start, fake_cancel,
    fake_job_state, fake_notify, fake_random, fake_job_put,
};

/* Whether the fake store has a run of R's (job, fire, attempt), its unique key. */
static bool known(const struct sched_run *r)
{
    char job[140];

    job_id(r->job, job, sizeof job);
    for (int i = 0; i < H.nruns; i++)
        if (strcmp(H.runs[i].job, job) == 0 && H.runs[i].fire_us == r->fire_us
            && H.runs[i].attempt == r->attempt)
            return true;
    return false;
}

/* The store confirms every pending record (ids in order; a duplicate gets
 * 0), or fails each while store_full. */
static void flush(int64_t now)
{
    while (H.npending) {
        struct sched_run *r = H.pending[0];
        int64_t id;

        memmove(H.pending, H.pending + 1, (size_t)--H.npending * sizeof H.pending[0]);
        if (H.store_full) {
            H.record_failures++;
            sched_run_record_failed(H.s, r, now);
            continue;
        }
        if (H.unique && known(r)) {
            sched_run_recorded(H.s, r, 0, now);
            continue;
        }
        if (H.duplicates_left > 0) {
            H.duplicates_left--;
            id = 0;
        } else {
            id = ++H.nruns;
            r->id = id;
            save(r);
        }
        sched_run_recorded(H.s, r, id, now);
    }
}

static int64_t T(const char *iso)
{
    const struct tz *utc;
    int64_t us;

    assert_int_equal(tz_load("UTC", &utc, NULL), 0);
    assert_int_equal(isotime_parse(iso, utc, "t", &us, NULL), 0);
    return us;
}

#define SEC INT64_C(1000000)

static void setup_lead(int max_concurrent, int64_t lead_us)
{
    const struct tz *utc;
    struct sched_config cfg = { max_concurrent, NULL, lead_us };

    memset(&H, 0, sizeof H);
    assert_int_equal(tz_load("UTC", &utc, NULL), 0);
    cfg.default_zone = utc;
    assert_int_equal(sched_new(&ops, &cfg, &H.s), 0);
}

static void setup(int max_concurrent)
{
    setup_lead(max_concurrent, 0);
}

/* Puts DOC as the store hands a job over: with its newest fire handled
 * (INT64_MIN: none) and the instant its version was written. */
static void put_at(const char *doc, int64_t last_fire, int64_t since, int64_t now)
{
    struct err err = { 0 };
    struct job *j = NULL;

    if (job_parse(doc, strlen(doc), "default", &j, &err) < 0)
        fail_msg("job: %s: %s", err.field, err.msg);
    if (sched_job_put(H.s, j, 0, 1, last_fire, since, now, &err) < 0)
        fail_msg("put: %s: %s", err.field, err.msg);
}

/* A live save at NOW. */
static void put(const char *doc, int64_t now)
{
    put_at(doc, INT64_MIN, now, now);
}

/* Started run number I (0-based among those not yet exited) exits. */
static void exit_run(int i, int code, int sig, bool timed_out, int64_t now)
{
    struct sched_result res = { code, sig, timed_out, false, false, NULL };
    struct sched_run *r = H.started[i];

    memmove(H.started + i, H.started + i + 1, (size_t)(--H.nstarted - i) * sizeof r);
    sched_run_exited(H.s, r, &res, now);
    flush(now);
}

static int count(const char *job, enum store_run_state st)
{
    int n = 0;

    for (int i = 0; i < H.nruns; i++)
        if (strcmp(H.runs[i].job, job) == 0 && H.runs[i].state == st)
            n++;
    return n;
}

static void teardown(void)
{
    sched_free(H.s);
    H.s = NULL;
}

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
        cmocka_unit_test(test_sched_fires_cron_on_time_and_records_before_start),
        cmocka_unit_test(test_sched_at_fires_at_its_microsecond),
        cmocka_unit_test(test_sched_handles_fires_early_within_the_lead),
        cmocka_unit_test(test_sched_forbid_records_a_skipped_fire),
        cmocka_unit_test(test_sched_trigger_refused_by_concurrency_names_the_live_run),
        cmocka_unit_test(test_sched_allow_runs_up_to_max_instances),
        cmocka_unit_test(test_sched_queue_waits_for_the_active_run),
        cmocka_unit_test(test_sched_replace_cancels_the_active_run),
        cmocka_unit_test(test_sched_global_limit_starts_higher_priority_first),
        cmocka_unit_test(test_sched_retries_with_exponential_backoff_then_dead_letters),
        cmocka_unit_test(test_sched_backoff_has_a_ceiling),
        cmocka_unit_test(test_sched_timeout_is_a_failure_that_retries),
        cmocka_unit_test(test_sched_disables_after_consecutive_failures),
        cmocka_unit_test(test_sched_catch_up_after_downtime_follows_policy),
        cmocka_unit_test(test_sched_clock_jumps_neither_burst_nor_double),
        cmocka_unit_test(test_sched_after_chain_fans_in),
        cmocka_unit_test(test_sched_cancels_a_queued_run_at_once),
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
        cmocka_unit_test(test_sched_records_a_fire_again_once_the_store_writes),
        cmocka_unit_test(test_sched_fires_while_the_store_fails_each_keep_one_run),
        cmocka_unit_test(test_sched_a_long_store_outage_stays_bounded),
        cmocka_unit_test(test_sched_failed_records_of_a_trigger_and_a_retry),
    };

    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
