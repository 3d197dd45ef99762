/* sched_test.h: the harness sched_test.c, sched_limits_test.c and
 * sched_retry_test.c share (tests only).
 *
 * The harness plays store and runner: ops->record() queues the run and
 * flush() reports it recorded (as the store thread would, later);
 * ops->start() lists the run, and the test decides when it started and how
 * it exited. Time is whatever the test passes to sched_tick(). Each test
 * binary has its own harness H. Functions are static inline so that a file
 * using only some of them compiles cleanly. */
#ifndef CHIME_SCHED_SCHED_TEST_H
#define CHIME_SCHED_SCHED_TEST_H

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

static inline void save(const struct sched_run *r)
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

static inline void fake_record(void *ctx, struct sched_run *r)
{
    (void)ctx;
    assert_true(H.npending < MAXEV);
    H.pending[H.npending++] = r;
}

static inline void fake_update(void *ctx, const struct sched_run *r)
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

static inline void fake_start(void *ctx, struct sched_run *r)
{
    (void)ctx;
    assert_true(r->id > 0);     /* never started before it is durable */
    H.started_user[H.nstarted] = r->user;
    H.started[H.nstarted++] = r;
}

static inline void fake_cancel(void *ctx, struct sched_run *r)
{
    (void)ctx;
    (void)r;
    H.cancels++;
}

static inline void fake_job_state(void *ctx, const struct job *j, int64_t key, bool paused,
                           int failures, int64_t last_fire_us)
{
    (void)ctx, (void)j, (void)key, (void)paused, (void)failures, (void)last_fire_us;
}

static inline void fake_notify(void *ctx, const struct job *j, const struct sched_run *r,
                        enum job_notify_event ev)
{
    (void)ctx, (void)j;
    H.notified[ev]++;
    if (r)
        H.notified_state[ev] = r->state;
}

static inline uint64_t fake_random(void *ctx)
{
    (void)ctx;
    H.rnd = H.rnd * 6364136223846793005u + 1442695040888963407u;
    return H.rnd >> 1;
}

static inline void fake_job_put(void *ctx, const struct job *j, int64_t key, int64_t version)
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
static inline bool known(const struct sched_run *r)
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
static inline void flush(int64_t now)
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

static inline int64_t T(const char *iso)
{
    const struct tz *utc;
    int64_t us;

    assert_int_equal(tz_load("UTC", &utc, NULL), 0);
    assert_int_equal(isotime_parse(iso, utc, "t", &us, NULL), 0);
    return us;
}

#define SEC INT64_C(1000000)

static inline void setup_lead(int max_concurrent, int64_t lead_us)
{
    const struct tz *utc;
    struct sched_config cfg = { max_concurrent, NULL, lead_us };

    memset(&H, 0, sizeof H);
    assert_int_equal(tz_load("UTC", &utc, NULL), 0);
    cfg.default_zone = utc;
    assert_int_equal(sched_new(&ops, &cfg, &H.s), 0);
}

static inline void setup(int max_concurrent)
{
    setup_lead(max_concurrent, 0);
}

/* Puts DOC as the store hands a job over: with its newest fire handled
 * (INT64_MIN: none) and the instant its version was written. */
static inline void put_at(const char *doc, int64_t last_fire, int64_t since, int64_t now)
{
    struct err err = { 0 };
    struct job *j = NULL;

    if (job_parse(doc, strlen(doc), "default", &j, &err) < 0)
        fail_msg("job: %s: %s", err.field, err.msg);
    if (sched_job_put(H.s, j, 0, 1, last_fire, since, now, &err) < 0)
        fail_msg("put: %s: %s", err.field, err.msg);
}

/* A live save at NOW. */
static inline void put(const char *doc, int64_t now)
{
    put_at(doc, INT64_MIN, now, now);
}

/* Started run number I (0-based among those not yet exited) exits. */
static inline void exit_run(int i, int code, int sig, bool timed_out, int64_t now)
{
    struct sched_result res = { code, sig, timed_out, false, false, NULL };
    struct sched_run *r = H.started[i];

    memmove(H.started + i, H.started + i + 1, (size_t)(--H.nstarted - i) * sizeof r);
    sched_run_exited(H.s, r, &res, now);
    flush(now);
}

static inline int count(const char *job, enum store_run_state st)
{
    int n = 0;

    for (int i = 0; i < H.nruns; i++)
        if (strcmp(H.runs[i].job, job) == 0 && H.runs[i].state == st)
            n++;
    return n;
}

static inline void teardown(void)
{
    sched_free(H.s);
    H.s = NULL;
}

#endif
