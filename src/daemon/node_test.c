/* node_test.c: the daemon's logic against fakes (node_int.h's node_io):
 * a store whose writes wait until the test completes them, a runner that
 * records starts and lets the test report exits, a notifier that records
 * the events handed to it, and a clock the test sets. The engine is the
 * real one, made with the daemon's ops (node_engine_new()). */
#include "daemon/node_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec/exec.h"
#include "job/jobsave.h"
#include "notify/payload.h"
#include "sched/sched.h"
#include "store/store.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"

#define SEC INT64_C(1000000)
#define OPS_MAX 4096
#define STARTS_MAX 16
#define EVENTS_MAX 16

static struct fake {
    int64_t now;
    int allocs_to_fail;             /* the next N allocations fail */
    int submits_to_fail;            /* the next N submits fail (the store is closing) */
    /* submitted ops, not yet completed, in order */
    struct store_op *ops[OPS_MAX];
    store_cb *cbs[OPS_MAX];
    size_t n_ops;
    /* what completed, in order: kind, and for runs their state and error */
    enum store_op_kind kinds[OPS_MAX];
    enum store_run_state states[OPS_MAX];
    int64_t fires[OPS_MAX];
    char texts[OPS_MAX][160];
    size_t n_done;
    int64_t next_id;
    /* store_exec_all */
    size_t exec_all_sizes[8], n_exec_all;
    /* recovery */
    struct store_run unfinished[4];
    size_t n_unfinished;
    struct store_run updates[4];
    char update_errors[4][128];
    size_t n_updates;
    const char *doc;                /* every job version's document */
    /* the runner */
    struct exec_callbacks started[STARTS_MAX];
    int64_t started_ids[STARTS_MAX];
    size_t n_started;
    char attached[STARTS_MAX][PATH_MAX];
    struct exec_callbacks attached_cb[STARTS_MAX];
    size_t n_attached;
    char runs[STARTS_MAX];          /* the fake exec_runs point here */
    size_t n_cancelled;
    /* the notifier */
    char keys[EVENTS_MAX][128];
    char event_states[EVENTS_MAX][32];
    size_t n_events;
} F;

static int64_t fake_now(struct node *n)
{
    (void)n;
    return F.now;
}

static void *fake_alloc(struct node *n, size_t size)
{
    (void)n;
    if (F.allocs_to_fail > 0) {
        F.allocs_to_fail--;
        return NULL;
    }
    return calloc(1, size);
}

static int fake_submit(struct node *n, struct store_op *op, store_cb *cb)
{
    (void)n;
    if (F.submits_to_fail > 0) {
        F.submits_to_fail--;
        return -CHIME_EIO;
    }
    assert_true(F.n_ops < OPS_MAX);
    F.ops[F.n_ops] = op;
    F.cbs[F.n_ops++] = cb;
    return 0;
}

static int fake_exec_all(struct node *n, struct store_op *const *ops, size_t n_ops)
{
    (void)n;
    F.exec_all_sizes[F.n_exec_all++] = n_ops;
    for (size_t i = 0; i < n_ops; i++)
        assert_int_equal(ops[i]->kind, STORE_OP_JOB_PLAN);
    return 0;
}

static int fake_unfinished(struct node *n, struct store_run_page *ret, struct err *err)
{
    (void)n, (void)err;
    memset(ret, 0, sizeof *ret);
    ret->items = calloc(F.n_unfinished + 1, sizeof *ret->items);
    memcpy(ret->items, F.unfinished, F.n_unfinished * sizeof *ret->items);
    ret->n = F.n_unfinished;
    return 0;
}

static int fake_run_update(struct node *n, const struct store_run *r, struct err *err)
{
    (void)n, (void)err;
    F.updates[F.n_updates] = *r;
    snprintf(F.update_errors[F.n_updates], sizeof F.update_errors[0], "%s",
             r->error ? r->error : "");
    F.updates[F.n_updates++].error = NULL;
    return 0;
}

static int fake_job_doc(struct node *n, int64_t id, int64_t version, char **ret, size_t *ret_len,
                        struct err *err)
{
    (void)n, (void)id, (void)version, (void)err;
    *ret = strdup(F.doc);
    *ret_len = strlen(F.doc);
    return 0;
}

static int fake_exec_start(struct node *n, const struct exec_spec *spec,
                           const struct exec_callbacks *cb, struct exec_run **ret, struct err *err)
{
    (void)n, (void)err;
    assert_true(F.n_started < STARTS_MAX);
    F.started_ids[F.n_started] = spec->run_id;
    F.started[F.n_started] = *cb;
    *ret = (struct exec_run *)&F.runs[F.n_started++];
    return 0;
}

static int fake_exec_attach(struct node *n, const char *dir, const struct exec_callbacks *cb,
                            struct exec_run **ret, struct err *err)
{
    (void)n, (void)err;
    snprintf(F.attached[F.n_attached], sizeof F.attached[0], "%s", dir);
    F.attached_cb[F.n_attached] = *cb;
    *ret = (struct exec_run *)&F.runs[F.n_attached++];
    return 0;
}

static void fake_exec_cancel(struct node *n, struct exec_run *er)
{
    (void)n, (void)er;
    F.n_cancelled++;
}

static void fake_notify_event(struct node *n, const struct payload_event *e, int64_t version,
                              const char *key)
{
    (void)n, (void)version;
    assert_true(F.n_events < EVENTS_MAX);
    snprintf(F.event_states[F.n_events], sizeof F.event_states[0], "%s",
             e->state ? e->state : "");
    snprintf(F.keys[F.n_events++], sizeof F.keys[0], "%s", key);
}

static const struct node_io fake_io = {
    fake_now,       fake_alloc,      fake_submit,      fake_exec_all,    fake_unfinished,
    fake_run_update, fake_job_doc,   fake_exec_start,  fake_exec_attach, fake_exec_cancel,
    fake_notify_event,
};

/* ---- the node ---- */

static char tmp_dir[64];
static int64_t next_key;

static struct node *node_fake(int max_concurrent)
{
    struct node *n = calloc(1, sizeof *n);
    struct err err = { 0 };

    memset(&F, 0, sizeof F);
    F.next_id = 1;
    next_key = 0;
    assert_non_null(n);
    n->io = &fake_io;
    n->tfd = n->lock_fd = n->listen_fd = -1;
    n->opt.max_concurrent = max_concurrent;
    snprintf(n->host, sizeof n->host, "test-host");
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/chime-node-test-XXXXXX");
    assert_non_null(mkdtemp(tmp_dir));
    assert_true(node_path_join(n->runs_dir, sizeof n->runs_dir, tmp_dir, "runs"));
    assert_true(node_path_join(n->work_dir, sizeof n->work_dir, tmp_dir, "work"));
    assert_int_equal(mkdir(n->runs_dir, 0700), 0);
    assert_int_equal(mkdir(n->work_dir, 0700), 0);
    pthread_mutex_init(&n->mu, NULL);
    assert_int_equal(tz_load("UTC", &n->zone, &err), 0);
    assert_int_equal(uv_loop_init(&n->loop), 0);
    n->loop.data = n;
    node_timers_init(n);
    assert_int_equal(node_engine_new(n, &err), 0);
    return n;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void node_fake_free(struct node *n)
{
    char cmd[128];

    sched_free(n->sched);
    uv_close((uv_handle_t *)&n->defer, on_closed);
    uv_close((uv_handle_t *)&n->prune_timer, on_closed);
    uv_close((uv_handle_t *)&n->rewrite_timer, on_closed);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&n->loop), 0);
    node_unwritten_free(n);
    node_bodies_free(n);
    free(n->prune_jobs);
    pthread_mutex_destroy(&n->mu);
    free(n);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    assert_int_equal(system(cmd), 0);
}

static int64_t T(const char *iso)
{
    const struct tz *utc;
    int64_t us = 0;

    assert_int_equal(tz_load("UTC", &utc, NULL), 0);
    assert_int_equal(isotime_parse(iso, utc, "t", &us, NULL), 0);
    return us;
}

static void put(struct node *n, const char *doc)
{
    struct job *j = NULL;
    struct err err = { 0 };

    assert_int_equal(job_parse(doc, strlen(doc), "default", &j, &err), 0);
    next_key++;
    assert_int_equal(sched_job_put(n->sched, j, next_key, 1, INT64_MIN, F.now, F.now, &err), 0);
    F.doc = doc;
}

/* Completes the ops submitted so far and those their callbacks submit, in
 * order, as the store would: a run insert gets the next id. RC applies to
 * run inserts (0: written). */
static void store_commits(struct node *n, int rc)
{
    size_t i = 0;

    (void)n;
    while (i < F.n_ops) {
        struct store_op *op = F.ops[i];
        size_t k = F.n_done++;

        F.kinds[k] = op->kind;
        if (op->kind == STORE_OP_RUN_INSERT) {
            F.states[k] = op->run_insert.run.state;
            F.fires[k] = op->run_insert.run.fire_us;
        } else if (op->kind == STORE_OP_RUN_UPDATE) {
            F.states[k] = op->run_update.run.state;
            snprintf(F.texts[k], sizeof F.texts[0], "%s",
                     op->run_update.run.error ? op->run_update.run.error : "");
        } else if (op->kind == STORE_OP_DEAD_INSERT) {
            snprintf(F.texts[k], sizeof F.texts[0], "%s", op->dead_insert.reason);
        }
        op->rc = op->kind == STORE_OP_RUN_INSERT ? rc : 0;
        if (op->rc < 0)
            err_set(&op->err, -rc, NULL, "disk full");
        else if (op->kind == STORE_OP_RUN_INSERT)
            op->ret_id = F.next_id++;
        F.cbs[i](op);
        i++;
    }
    F.n_ops = 0;
}

/* The index of the Nth (0, 1, ...) completed op of KIND, or -1. */
static int done_op(enum store_op_kind kind, int nth)
{
    for (size_t i = 0; i < F.n_done; i++)
        if (F.kinds[i] == kind && nth-- == 0)
            return (int)i;
    return -1;
}

static size_t events_keyed(const char *key)
{
    size_t k = 0;

    for (size_t i = 0; i < F.n_events; i++)
        k += strcmp(F.keys[i], key) == 0;
    return k;
}

static void run_exits(size_t started, int code)
{
    struct exec_result res = { 0 };

    res.outcome = EXEC_EXITED;
    res.exit_code = code;
    res.finished_us = F.now;
    F.started[started].on_exit((struct exec_run *)&F.runs[started], &res,
                               F.started[started].data);
}

/* A node with job DOC (manual) triggered once, its run started and
 * exited with CODE, and every write completed. */
static struct node *manual_run_exits(const char *doc, int code)
{
    struct node *n = node_fake(4);

    F.now = T("2026-01-01T00:00:00Z");
    put(n, doc);
    assert_int_equal(sched_trigger(n->sched, "default/a", NULL, NULL, F.now, NULL, NULL), 0);
    store_commits(n, 0);
    assert_int_equal(F.n_started, 1);
    run_exits(0, code);
    store_commits(n, 0);
    return n;
}

/* ---- run-end handling ---- */

static void test_node_failed_run_is_retried_then_dead_lettered_once(void **state)
{
    struct node *n;
    struct sched_stats st;
    int k;

    (void)state;
    n = node_fake(4);
    F.now = T("2026-01-01T00:00:00Z");
    put(n, "{\"name\":\"a\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
           "\"retry\":{\"max_attempts\":2,\"backoff\":\"10s\"},"
           "\"notify\":{\"on_failure\":[\"ops\"],\"on_retry\":[\"ops\"]}}");
    assert_int_equal(sched_trigger(n->sched, "default/a", NULL, "me", F.now, NULL, NULL), 0);
    node_tick(n);
    store_commits(n, 0);            /* the plan and the insert: run 1 starts */
    assert_int_equal(F.n_started, 1);
    assert_int_equal(F.started_ids[0], 1);
    F.now += SEC;
    run_exits(0, 3);
    store_commits(n, 0);
    assert_int_equal(events_keyed("retry:1"), 1);
    assert_int_equal(F.n_started, 1);           /* the retry waits for its backoff */
    F.now += 10 * SEC;
    node_tick(n);
    store_commits(n, 0);
    assert_int_equal(F.n_started, 2);
    assert_int_equal(F.started_ids[1], 2);
    F.now += SEC;
    run_exits(1, 3);
    store_commits(n, 0);
    /* the last attempt's end: its final update, then its dead letter */
    k = done_op(STORE_OP_DEAD_INSERT, 0);
    assert_true(k > 0);
    assert_int_equal(F.kinds[k - 1], STORE_OP_RUN_UPDATE);
    assert_int_equal(F.states[k - 1], STORE_RUN_FAILED);
    assert_string_equal(F.texts[k], "failed (exit code 3) after 2 attempts");
    assert_int_equal(done_op(STORE_OP_DEAD_INSERT, 1), -1);
    /* each event handed to the outbox once, keyed by its run */
    assert_int_equal(events_keyed("failure:2"), 1);
    assert_int_equal(events_keyed("retry:1"), 1);
    assert_int_equal(F.n_events, 2);
    sched_stats(n->sched, &st);
    assert_int_equal(st.running, 0);
    assert_int_equal(st.dead_letters, 1);
    node_fake_free(n);
}

/* A run whose holder is lost: its record says why, from exec's typed
 * cause, and the engine ends it as lost (the notification's state). */
static void test_node_lost_run_ends_lost_with_its_typed_cause(void **state)
{
    struct node *n;
    struct exec_result res = { 0 };
    int k;

    (void)state;
    n = node_fake(4);
    F.now = T("2026-01-01T00:00:00Z");
    put(n, "{\"name\":\"a\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
           "\"notify\":{\"on_failure\":[\"ops\"]}}");
    assert_int_equal(sched_trigger(n->sched, "default/a", NULL, NULL, F.now, NULL, NULL), 0);
    store_commits(n, 0);
    assert_int_equal(F.n_started, 1);
    res.outcome = EXEC_LOST;
    res.lost = EXEC_LOST_MACHINE;
    res.exit_code = -1;
    snprintf(res.error, sizeof res.error, "a text nobody reads");
    F.started[0].on_exit((struct exec_run *)&F.runs[0], &res, F.started[0].data);
    store_commits(n, 0);
    k = done_op(STORE_OP_RUN_UPDATE, 0);
    assert_true(k >= 0);
    assert_int_equal(F.states[k], STORE_RUN_LOST);
    assert_string_equal(F.texts[k],
                        "the machine went down while it ran: its holder left no exit record");
    assert_int_equal(events_keyed("failure:1"), 1);
    assert_string_equal(F.event_states[0], "lost");
    node_fake_free(n);
}

/* ---- the notification hand-off ---- */

/* A failure that disables its job: the "disabled" event is keyed by the
 * failure's run, so the outbox records each once; a job version that
 * names no channel for an event hands nothing over. */
static void test_node_disabled_event_is_keyed_by_the_failed_run(void **state)
{
    struct node *n;

    (void)state;
    n = manual_run_exits("{\"name\":\"a\",\"schedule\":{\"manual\":true},\"command\":[\"x\"],"
                         "\"disable_after_failures\":1,"
                         "\"notify\":{\"on_failure\":[\"ops\"],\"on_disabled\":[\"ops\"]}}",
                         1);
    assert_int_equal(events_keyed("failure:1"), 1);
    assert_int_equal(events_keyed("disabled:1"), 1);
    assert_int_equal(F.n_events, 2);
    assert_true(done_op(STORE_OP_JOB_STATE, 0) >= 0);   /* paused, in the store */
    node_fake_free(n);
}

static void test_node_event_without_a_channel_is_not_handed_over(void **state)
{
    struct node *n;

    (void)state;
    n = manual_run_exits("{\"name\":\"a\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}",
                         1);
    assert_int_equal(F.n_events, 0);
    node_fake_free(n);
}

/* ---- records that never reach the store ---- */

/* A scheduled fire whose record cannot be made (no memory for it, or the
 * store closing) is not dropped: the engine hears a failed record, goes
 * back to the fire and records it again after its wait. */
static void record_fails_then_fire_is_recorded_again(int allocs, int submits)
{
    struct node *n;
    struct sched_stats st;
    int64_t fire = T("2026-01-01T00:01:00Z");
    int k;

    n = node_fake(4);
    F.now = T("2026-01-01T00:00:30Z");
    put(n, "{\"name\":\"a\",\"schedule\":{\"cron\":\"* * * * *\"},\"command\":[\"x\"]}");
    store_commits(n, 0);                        /* its plan */
    F.now = fire;
    F.allocs_to_fail = allocs;
    F.submits_to_fail = submits;
    node_tick(n);
    for (size_t i = 0; i < F.n_ops; i++)        /* no record reached the store */
        assert_int_not_equal(F.ops[i]->kind, STORE_OP_RUN_INSERT);
    uv_run(&n->loop, UV_RUN_NOWAIT);            /* the loop reports it */
    sched_stats(n->sched, &st);
    assert_int_equal(st.record_failures, 1);
    F.now += 2 * SEC;
    node_tick(n);
    store_commits(n, 0);
    k = done_op(STORE_OP_RUN_INSERT, 0);
    assert_true(k >= 0);
    assert_int_equal(F.fires[k], fire);         /* the same fire, recorded now */
    assert_int_equal(F.n_started, 1);
    F.now += SEC;
    run_exits(0, 0);
    store_commits(n, 0);
    node_fake_free(n);
}

static void test_node_record_out_of_memory_reaches_the_engine(void **state)
{
    (void)state;
    record_fails_then_fire_is_recorded_again(1, 0);
}

static void test_node_record_not_submitted_reaches_the_engine(void **state)
{
    (void)state;
    record_fails_then_fire_is_recorded_again(0, 1);
}

/* The store refused the insert (a full disk): the engine hears it too. */
static void test_node_record_refused_by_the_store_reaches_the_engine(void **state)
{
    struct node *n;
    struct sched_stats st;

    (void)state;
    n = node_fake(4);
    F.now = T("2026-01-01T00:00:30Z");
    put(n, "{\"name\":\"a\",\"schedule\":{\"cron\":\"* * * * *\"},\"command\":[\"x\"]}");
    store_commits(n, 0);
    F.now = T("2026-01-01T00:01:00Z");
    node_tick(n);
    store_commits(n, -CHIME_ENOSPC);
    sched_stats(n->sched, &st);
    assert_int_equal(st.record_failures, 1);
    assert_int_equal(F.n_started, 0);
    node_fake_free(n);
}

/* ---- recovery at start-up ---- */

static void unfinished(int64_t id, const char *name, enum store_run_state state)
{
    struct store_run *r = &F.unfinished[F.n_unfinished++];

    store_run_init(r);
    r->id = id;
    snprintf(r->ns, sizeof r->ns, "default");
    snprintf(r->name, sizeof r->name, "%s", name);
    r->fire_us = F.now - 60 * SEC;
    r->attempt = 1;
    r->reason = STORE_REASON_MANUAL;
    r->state = state;
}

static void test_node_recovery_adopts_runs_and_marks_orphans_lost(void **state)
{
    struct node *n;
    struct err err = { 0 };
    struct exec_result res = { 0 };
    char out[PATH_MAX];
    FILE *f;

    (void)state;
    n = node_fake(4);
    F.now = T("2026-01-01T00:00:00Z");
    put(n, "{\"name\":\"a\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}");
    put(n, "{\"name\":\"b\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}");
    store_commits(n, 0);
    unfinished(5, "a", STORE_RUN_RUNNING);      /* its holder was forked: followed */
    unfinished(6, "b", STORE_RUN_QUEUED);       /* never started: started now */
    unfinished(7, "gone", STORE_RUN_RUNNING);   /* its job is gone: lost */
    node_run_output(n, 5, out, sizeof out);
    assert_non_null(f = fopen(out, "w"));
    fclose(f);
    assert_int_equal(node_recover_runs(n, &err), 0);
    assert_int_equal(F.n_attached, 1);
    assert_string_equal(F.attached[0], out);
    assert_int_equal(F.n_started, 1);
    assert_int_equal(F.started_ids[0], 6);
    assert_int_equal(F.n_updates, 1);
    assert_int_equal(F.updates[0].id, 7);
    assert_int_equal(F.updates[0].state, STORE_RUN_LOST);
    assert_string_equal(F.update_errors[0], "its job no longer exists");
    /* the adopted runs end as any other */
    res.outcome = EXEC_EXITED;
    F.attached_cb[0].on_exit((struct exec_run *)&F.runs[0], &res, F.attached_cb[0].data);
    run_exits(0, 0);
    store_commits(n, 0);
    assert_int_equal(done_op(STORE_OP_RUN_UPDATE, 0) >= 0, true);
    assert_int_equal(F.states[done_op(STORE_OP_RUN_UPDATE, 0)], STORE_RUN_SUCCEEDED);
    node_fake_free(n);
}

/* Out of memory while adopting a run is an error of the start-up, not a
 * run whose job is gone: nothing is recorded as lost. */
static void test_node_recovery_out_of_memory_marks_nothing_lost(void **state)
{
    struct node *n;
    struct err err = { 0 };

    (void)state;
    n = node_fake(4);
    F.now = T("2026-01-01T00:00:00Z");
    put(n, "{\"name\":\"a\",\"schedule\":{\"manual\":true},\"command\":[\"x\"]}");
    store_commits(n, 0);
    unfinished(5, "a", STORE_RUN_QUEUED);
    F.allocs_to_fail = 1;
    assert_int_equal(node_recover_runs(n, &err), -CHIME_ENOMEM);
    assert_int_equal(err.code, CHIME_ENOMEM);
    assert_int_equal(F.n_updates, 0);
    assert_int_equal(F.n_started, 0);
    node_fake_free(n);
}

/* ---- plans ---- */

/* While loading, the plans the engine hands over are written in batches
 * of NODE_PLAN_BATCH, one transaction each, and none is submitted alone;
 * afterwards each goes to the store on its own. */
static void test_node_plans_are_flushed_in_batches_while_loading(void **state)
{
    struct node *n;
    char doc[128];

    (void)state;
    n = node_fake(4);
    F.now = T("2026-01-01T00:00:00Z");
    n->loading = true;
    for (int i = 0; i < NODE_PLAN_BATCH + 1; i++) {
        struct job *j = NULL;

        snprintf(doc, sizeof doc,
                 "{\"name\":\"j%d\",\"schedule\":{\"cron\":\"0 3 * * *\"},\"command\":[\"x\"]}", i);
        assert_int_equal(job_parse(doc, strlen(doc), "default", &j, NULL), 0);
        assert_int_equal(sched_job_put(n->sched, j, i + 1, 1, INT64_MIN, F.now, F.now, NULL), 0);
    }
    assert_int_equal(F.n_exec_all, 1);
    assert_int_equal(F.exec_all_sizes[0], NODE_PLAN_BATCH);
    assert_int_equal(n->n_plans, 1);
    node_plans_flush(n);
    n->loading = false;
    assert_int_equal(F.n_exec_all, 2);
    assert_int_equal(F.exec_all_sizes[1], 1);
    assert_int_equal(n->n_plans, 0);
    assert_int_equal(F.n_ops, 0);
    F.doc = "{\"name\":\"later\",\"schedule\":{\"cron\":\"0 3 * * *\"},\"command\":[\"x\"]}";
    put(n, F.doc);
    assert_int_equal(F.n_ops, 1);
    assert_int_equal(F.ops[0]->kind, STORE_OP_JOB_PLAN);
    store_commits(n, 0);
    node_fake_free(n);
}

/* A saved batch's jobs stay with the batch, to be freed on the thread
 * that made them (an API thread's): the engine schedules copies made on
 * the loop, whose plans it writes, and frees nothing of the batch's. */
static void test_node_apply_copies_the_jobs_and_leaves_the_batch_its_own(void **state)
{
    struct jobsave_options so = { 0 };
    struct jobsave *b = NULL;
    struct job *saved[3];
    struct node *n;
    char doc[128], id[32];

    (void)state;
    n = node_fake(4);
    F.now = T("2026-01-01T00:00:00Z");
    assert_int_equal(jobsave_new(&so, &b, NULL), 0);
    for (int i = 0; i < 3; i++) {
        struct jobsave_item *it;
        struct job *j = NULL;

        snprintf(doc, sizeof doc,
                 "{\"name\":\"j%d\",\"schedule\":{\"cron\":\"0 3 * * *\"},\"command\":[\"x\"]}", i);
        assert_int_equal(job_parse(doc, strlen(doc), "default", &j, NULL), 0);
        assert_int_equal(jobsave_put(b, j, 0, false, NULL, NULL), 0);
        it = jobsave_item(b, (size_t)i);
        it->act = JOBSAVE_CREATE; /* as jobsave_check() and jobsave_write() leave it */
        it->key = i + 1;
        it->version = 1;
        saved[i] = j;
    }
    assert_int_equal(node_jobs_apply(n, b), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "default/j%d", i);
        assert_ptr_equal(jobsave_item(b, (size_t)i)->job, saved[i]);
        assert_non_null(sched_job_get(n->sched, id));
        assert_ptr_not_equal(sched_job_get(n->sched, id), saved[i]);
    }
    /* the copies' plans, in one transaction */
    assert_int_equal(F.n_exec_all, 1);
    assert_int_equal(F.exec_all_sizes[0], 3);
    jobsave_free(b);
    node_fake_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_failed_run_is_retried_then_dead_lettered_once),
        cmocka_unit_test(test_node_lost_run_ends_lost_with_its_typed_cause),
        cmocka_unit_test(test_node_disabled_event_is_keyed_by_the_failed_run),
        cmocka_unit_test(test_node_event_without_a_channel_is_not_handed_over),
        cmocka_unit_test(test_node_record_out_of_memory_reaches_the_engine),
        cmocka_unit_test(test_node_record_not_submitted_reaches_the_engine),
        cmocka_unit_test(test_node_record_refused_by_the_store_reaches_the_engine),
        cmocka_unit_test(test_node_recovery_adopts_runs_and_marks_orphans_lost),
        cmocka_unit_test(test_node_recovery_out_of_memory_marks_nothing_lost),
        cmocka_unit_test(test_node_plans_are_flushed_in_batches_while_loading),
        cmocka_unit_test(test_node_apply_copies_the_jobs_and_leaves_the_batch_its_own),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
