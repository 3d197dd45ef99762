/* noderun.c: the runs, from the engine's ops to the store and the runner:
 * a run recorded (op_record, on_recorded), started (op_start, start_run),
 * followed to its exit (on_run_started, on_run_exit, report_exit), its changes
 * and end written (op_update, dead letters, job states), the runs the
 * store has as unfinished adopted at start-up (node_recover_runs), and the
 * tick after every engine call.
 *
 * A run's failures reach the engine as outcomes, never as silence: a
 * record the store cannot take (or one the daemon has no memory for)
 * comes back as sched_run_record_failed(), a start that fails as an exit
 * with an error, a lost holder as a lost run with its typed cause. Each is
 * reported from the loop (the defer timer), not from inside the engine's
 * call.
 *
 * Everything outside the daemon is reached through n->io (node_int.h):
 * the store's writes, the runner, the clock. */
#include "daemon/node_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "exec/exec.h"
#include "job/job.h"
#include "job/jobsecret.h"
#include "sched/sched.h"
#include "store/store.h"
#include "store/vocab.h"
#include "util/err.h"
#include "util/log.h"
#include "../banned.h"

static void on_defer(uv_timer_t *t);

/* ---- the timer: handle what is due, sleep until the next instant ---- */

/* Handles what is due and sleeps until the next instant, but never longer
 * than TICK_MAX_US: the timer runs on the monotonic clock (microsecond
 * precision), so a wall clock set forward or back is noticed at the next
 * wake, and the engine's catch-up and no-double rules take it from there. */
#define TICK_MAX_US INT64_C(1000000)
/* A scheduled fire is recorded and its holder set up this long ahead of
 * its instant; the holder starts the job at the instant (docs/sched.md). */
#define FIRE_LEAD_US INT64_C(25000)
#define PRUNE_EVERY_MS 500   /* retention passes per job, at most one per */

void node_tick(struct node *n)
{
    struct itimerspec its = { 0 };
    int64_t now, next, delay;

    if (n->stopping)
        return;
    now = node_now_us(n);
    next = sched_tick(n->sched, now);
    delay = next == INT64_MAX || next - now > TICK_MAX_US ? TICK_MAX_US : next - now;
    if (delay < 1)
        delay = 1;
    its.it_value.tv_sec = delay / 1000000;
    its.it_value.tv_nsec = (long)(delay % 1000000) * 1000;
    if (n->tfd >= 0)
        timerfd_settime(n->tfd, 0, &its, NULL);
}

/* ---- engine ops: the store ---- */

struct run_op {
    struct store_op op;
    struct node *n;
    struct run_op *next_unwritten;
    struct sched_run *run;      /* insert: the engine's run */
    char error[256];
    char who[256];
};

static struct run_op *run_op_new(struct node *n, enum store_op_kind kind)
{
    struct run_op *o = n->io->alloc(n, sizeof *o);

    if (!o) {
        log_error("out of memory for a store write");
        return NULL;
    }
    o->n = n;
    o->op.kind = kind;
    o->op.data = o;
    return o;
}

static void fill_run(struct run_op *o, const struct sched_run *r, struct store_run *sr)
{
    store_run_init(sr);
    sr->id = r->id;
    sr->job_id = r->job_key;
    sr->job_version = r->job_version;
    sr->fire_us = r->fire_us;
    sr->reason = r->reason;
    sr->attempt = r->attempt;
    sr->state = r->state;
    sr->queued_us = r->queued_us;
    if (r->started_us)
        sr->started_us = r->started_us;
    if (r->finished_us)
        sr->finished_us = r->finished_us;
    if (r->pid)
        sr->pid = r->pid;
    if (r->holder_pid)
        sr->holder_pid = r->holder_pid;
    if (r->exit_code >= 0)
        sr->exit_code = r->exit_code;
    if (r->signal)
        sr->signal = r->signal;
    if (r->cpu_user_ms >= 0) {
        sr->cpu_user_ms = r->cpu_user_ms;
        sr->cpu_sys_ms = r->cpu_sys_ms;
        sr->max_rss_kb = r->max_rss_kb;
        sr->output_bytes = r->output_bytes;
    }
    if (r->error) {
        snprintf(o->error, sizeof o->error, "%s", r->error);
        sr->error = o->error;
    }
    sr->node = o->n->host;
    if (r->triggered_by) {
        snprintf(o->who, sizeof o->who, "%s", r->triggered_by);
        sr->triggered_by = o->who;
    }
}

static void on_recorded(struct store_op *op)
{
    struct run_op *o = op->data;
    struct node *n = o->n;
    struct sched_run *r = o->run;
    struct hostrun *h = r->user;
    struct call *waiter = h ? h->waiter : NULL;
    int rc = op->rc;                                /* OP lives in O, freed below */
    int64_t id = rc == 0 ? op->ret_id : 0;          /* STORE_EXISTS: 0, a duplicate */

    if (op->rc < 0)
        log_error("recording a run of %s/%s failed: %s", r->job->ns, r->job->name,
                  op->err.msg);
    if (waiter) {       /* a trigger waits to learn the run's id */
        struct call **p;

        h->waiter = NULL;
        pthread_mutex_lock(&n->mu);
        for (p = &n->deferred; *p && *p != waiter; p = &(*p)->next_deferred)
            ;
        if (*p)
            *p = waiter->next_deferred;
        waiter->u.trigger.run_id = id;
        if (op->rc < 0)     /* the caller is told why: nothing was recorded, nothing runs */
            waiter->rc = err_set(&waiter->err, op->err.code == CHIME_ENOSPC ? CHIME_ENOSPC
                                                                            : CHIME_EIO,
                                 NULL, "the run was not recorded: %s", op->err.msg);
        else
            waiter->rc = id ? 0
                            : err_set(&waiter->err, CHIME_EIO, NULL, "the run was not recorded");
        waiter->done = true;
        pthread_cond_broadcast(&waiter->cv);
        pthread_mutex_unlock(&n->mu);
    }
    free(o);
    if (rc != 0 || store_run_state_finished(r->state)) {
        /* failed, a duplicate, or a final record: the engine takes R back
         * (and may record it again, with a new host part) or frees it */
        r->user = NULL;
        if (h) {
            free(h->error);
            free(h);
        }
    }
    if (rc < 0) {
        sched_run_record_failed(n->sched, r, node_now_us(n));
    } else {
        sched_run_recorded(n->sched, r, id, node_now_us(n));
    }
    node_tick(n);
}

/* R's record never reached the store (no memory for it, or the store is
 * closing): the engine hears it as a failed record, from the loop (on_defer),
 * and takes R back as it does for a write the store refused. */
static void record_lost(struct node *n, struct sched_run *r)
{
    struct hostrun *h = r->user;

    if (h) {
        free(h->error);
        free(h);
        r->user = NULL;
    }
    r->host_next = n->unrecorded;
    n->unrecorded = r;
    uv_timer_start(&n->defer, on_defer, 0, 0);
}

static void op_record(void *ctx, struct sched_run *r)
{
    struct node *n = ctx;
    struct run_op *o = run_op_new(n, STORE_OP_RUN_INSERT);
    struct hostrun *h = o ? n->io->alloc(n, sizeof *h) : NULL;

    if (!h) {
        log_error("out of memory recording a run of %s/%s: it is recorded again later",
                  r->job->ns, r->job->name);
        free(o);
        record_lost(n, r);
        return;
    }
    h->n = n;
    h->r = r;
    r->user = h;
    if (store_run_state_finished(r->state))
        node_watch_run_final(n, r);     /* a skipped or missed fire */
    o->run = r;
    fill_run(o, r, &o->op.run_insert.run);
    o->op.run_insert.run.id = 0;
    if (n->io->submit(n, &o->op, on_recorded) < 0) {
        log_error("the store is closing: a run of %s/%s is not recorded", r->job->ns,
                  r->job->name);
        free(o);
        record_lost(n, r);
    }
}

/* The end of runs, their dead letters and job states must reach the
 * store: a row left `running` would never end. Each op carries copies of
 * what it writes, so one the store could not write (a full disk, an I/O
 * error) is written again as it is, after REWRITE_MS, in order; and while
 * any waits, newer ones wait behind it, so a late write never undoes a
 * newer one. Bounded: past UNWRITTEN_MAX the newest are dropped, said in
 * the log. */
#define REWRITE_MS 1000
#define UNWRITTEN_MAX 100000

static void on_written(struct store_op *op);

static void on_rewrite(uv_timer_t *t)
{
    struct node *n = t->data;
    struct run_op *o = n->unwritten;

    n->unwritten = n->unwritten_tail = NULL;
    n->n_unwritten = 0;
    while (o) {
        struct run_op *next = o->next_unwritten;

        o->next_unwritten = NULL;
        if (n->io->submit(n, &o->op, on_written) < 0)
            free(o);
        o = next;
    }
}

static void unwritten_add(struct node *n, struct run_op *o)
{
    if (n->n_unwritten >= UNWRITTEN_MAX || n->stopping) {
        log_error("a store write is dropped: %zu writes wait for the store already",
                  n->n_unwritten);
        free(o);
        return;
    }
    if (n->unwritten_tail)
        n->unwritten_tail->next_unwritten = o;
    else
        n->unwritten = o;
    n->unwritten_tail = o;
    n->n_unwritten++;
    if (!uv_is_active((uv_handle_t *)&n->rewrite_timer))
        uv_timer_start(&n->rewrite_timer, on_rewrite, REWRITE_MS, 0);
}

/* Submits a write that must not be lost (see on_written). */
static void submit_write(struct node *n, struct run_op *o)
{
    if (n->unwritten)
        unwritten_add(n, o);
    else if (n->io->submit(n, &o->op, on_written) < 0)
        free(o);
}

static void on_written(struct store_op *op)
{
    struct run_op *o = op->data;

    if (op->rc < 0)
        log_error("a store write failed: %s", op->err.msg);
    if (op->rc < 0 && (op->err.code == CHIME_ENOSPC || op->err.code == CHIME_EIO)) {
        unwritten_add(o->n, o);
        return;
    }
    free(o);
}

void node_unwritten_free(struct node *n)
{
    while (n->unwritten) {
        struct run_op *o = n->unwritten;

        n->unwritten = o->next_unwritten;
        free(o);
    }
    n->unwritten_tail = NULL;
    n->n_unwritten = 0;
}

/* Retention, enforced as runs end: the job's own limits (its document's
 * "retention", else the daemon's), applied on the retention thread
 * (noderetain.c), which also removes the output files. */
static void prune(struct node *n, int64_t job_id)
{
    node_retain_jobs(n, &job_id, 1);
}

/* A prune looks at every run its job keeps, so it runs once per job per
 * PRUNE_EVERY_MS however often the job's runs end, not once per run. */
static void on_prune_timer(uv_timer_t *t)
{
    struct node *n = t->data;

    node_retain_jobs(n, n->prune_jobs, n->n_prune_jobs);   /* it sorts and dedups */
    n->n_prune_jobs = 0;
}

static void prune_soon(struct node *n, int64_t job_id)
{
    if (n->n_prune_jobs == n->cap_prune_jobs) {
        size_t cap = n->cap_prune_jobs ? 2 * n->cap_prune_jobs : 64;
        int64_t *grown = realloc(n->prune_jobs, cap * sizeof *grown);

        if (!grown) {
            prune(n, job_id);
            return;
        }
        n->prune_jobs = grown;
        n->cap_prune_jobs = cap;
    }
    n->prune_jobs[n->n_prune_jobs++] = job_id;
    if (!uv_is_active((uv_handle_t *)&n->prune_timer))
        uv_timer_start(&n->prune_timer, on_prune_timer, PRUNE_EVERY_MS, 0);
}

/* R's dead letter: its reason is R's final state, how its process ended
 * and the error, e.g. "failed (exit code 3) after 2 attempts". */
static void dead_letter(struct node *n, const struct sched_run *r)
{
    struct run_op *o = run_op_new(n, STORE_OP_DEAD_INSERT);
    char how[48] = "";

    if (!o)
        return;
    if (r->signal > 0)
        snprintf(how, sizeof how, " (signal %d)", r->signal);
    else if (r->exit_code >= 0)
        snprintf(how, sizeof how, " (exit code %d)", r->exit_code);
    snprintf(o->error, sizeof o->error, "%s%s after %d attempt%s%s%s", store_run_state_name(r->state),
             how, r->attempt, r->attempt == 1 ? "" : "s", r->error ? ": " : "",
             r->error ? r->error : "");
    o->op.dead_insert.run_id = r->id;
    o->op.dead_insert.reason = o->error;
    o->op.dead_insert.now_us = node_now_us(n);
    submit_write(n, o);
}

static void op_update(void *ctx, const struct sched_run *r)
{
    struct node *n = ctx;
    struct run_op *o = run_op_new(n, STORE_OP_RUN_UPDATE);

    if (o) {
        fill_run(o, r, &o->op.run_update.run);
        submit_write(n, o);
    }
    if (store_run_state_finished(r->state)) {
        if (r->dead_letter)
            dead_letter(n, r);      /* after the run's final state, in the same order */
        node_watch_run_final(n, r);
        prune_soon(n, r->job_key);
        /* final: the engine frees R next, so its host part goes now */
        struct hostrun *h = r->user;

        if (h) {
            free(h->error);
            free(h);
            ((struct sched_run *)r)->user = NULL;
        }
    }
}

static void op_job_state(void *ctx, const struct job *j, int64_t key, bool paused,
                         int failures, int64_t last_fire_us)
{
    struct node *n = ctx;
    struct run_op *o = run_op_new(n, STORE_OP_JOB_STATE);

    (void)j;
    if (!o)
        return;
    o->op.job_state.job_id = key;
    o->op.job_state.set = STORE_STATE_PAUSED | STORE_STATE_FAILURES | STORE_STATE_LAST_FIRE;
    o->op.job_state.paused = paused;
    o->op.job_state.consecutive_failures = failures;
    o->op.job_state.last_fire_us = last_fire_us == INT64_MIN ? STORE_NULL : last_fire_us;
    submit_write(n, o);
}

static uint64_t op_random(void *ctx)
{
    struct node *n = ctx;

    n->rnd ^= n->rnd << 13;
    n->rnd ^= n->rnd >> 7;
    n->rnd ^= n->rnd << 17;
    return n->rnd;
}

/* ---- engine ops: the runner ---- */

static void on_run_started(struct exec_run *er, const struct exec_status *st, void *data)
{
    struct hostrun *h = data;

    (void)er;
    h->r->holder_pid = st->holder_pid;
    sched_run_started(h->n->sched, h->r, st->job_pid, st->started_us ? st->started_us : node_now_us(h->n));
    node_watch_run_started(h->n, h);
    node_tick(h->n);
}

/* The engine keeps error texts by pointer: give it one that lives with the run. */
static const char *keep_error(struct hostrun *h, const char *text)
{
    free(h->error);
    h->error = text ? strdup(text) : NULL;
    return h->error;
}

/* Why a run was lost, and what its record says: its holder is gone
 * without an exit record. By exec's typed cause (exec_lost), never by
 * its text; EXEC_LOST_RECORD keeps exec's own text. */
static const char *const lost_why[] = {
    [EXEC_LOST_HOLDER] = "its holder died or was killed while it ran and left no exit record",
    [EXEC_LOST_MACHINE] = "the machine went down while it ran: its holder left no exit record",
};

static void report_exit(struct hostrun *h, const struct exec_result *res)
{
    struct node *n = h->n;
    struct sched_run *r = h->r;
    struct sched_result sr = { res->exit_code, res->signal, res->timed_out, res->cancelled,
                               res->outcome == EXEC_LOST, NULL };

    h->er = NULL;
    if (res->holder_pid)
        r->holder_pid = res->holder_pid;
    if (res->job_pid && !r->pid)
        r->pid = res->job_pid;
    if (res->started_us && !r->started_us)
        r->started_us = res->started_us;
    r->cpu_user_ms = res->cpu_user_ms;
    r->cpu_sys_ms = res->cpu_sys_ms;
    r->max_rss_kb = res->max_rss_kb;
    r->output_bytes = res->output_bytes;
    if (res->outcome == EXEC_FAILED && sr.exit_code == 0)
        sr.exit_code = -1;
    if (res->outcome == EXEC_LOST && res->lost != EXEC_LOST_RECORD)
        sr.error = keep_error(h, lost_why[res->lost == EXEC_LOST_MACHINE ? EXEC_LOST_MACHINE
                                                                    : EXEC_LOST_HOLDER]);
    else if (res->error[0])
        sr.error = keep_error(h, res->error);
    sched_run_exited(n->sched, r, &sr, res->finished_us ? res->finished_us : node_now_us(n));
    node_tick(n);
}

static void on_run_exit(struct exec_run *er, const struct exec_result *res, void *data)
{
    (void)er;
    report_exit(data, res);
}

/* Reports, from the loop, what failed inside an engine call: runs that
 * could not start (an exit with their error) and records that never
 * reached the store (sched_run_record_failed()). */
static void on_defer(uv_timer_t *t)
{
    struct node *n = t->data;
    struct hostrun *h;
    struct sched_run *r;

    while ((h = n->failed)) {
        struct exec_result res = { 0 };

        n->failed = h->next_failed;
        res.outcome = EXEC_FAILED;
        res.exit_code = -1;
        snprintf(res.error, sizeof res.error, "%s", h->error ? h->error : "could not start");
        report_exit(h, &res);
    }
    while ((r = n->unrecorded)) {
        n->unrecorded = r->host_next;
        r->host_next = NULL;
        sched_run_record_failed(n->sched, r, node_now_us(n));
    }
    node_tick(n);
}

void node_run_output(struct node *n, int64_t id, char *buf, size_t len)
{
    char name[32];

    snprintf(name, sizeof name, "%lld" RUN_OUTPUT_SUFFIX, (long long)id);
    if (!node_path_join(buf, len, n->runs_dir, name))
        buf[0] = '\0';         /* runs_dir is checked at start: cannot happen */
}

static void start_run(struct node *n, struct sched_run *r, struct hostrun *h);

static void op_start(void *ctx, struct sched_run *r)
{
    struct node *n = ctx;
    struct hostrun *h = r->user;

    if (n->stopping)
        return;     /* recorded as queued: started at the next start */
    start_run(n, r, h);
}

/* Run R could not start for ERR (READ: its job version was read): it fails,
 * reported from the loop, not from inside the engine's call. */
static void start_refused(struct node *n, struct sched_run *r, struct hostrun *h, bool read,
                          const struct err *err)
{
    char why[sizeof err->field + sizeof err->msg + 2];

    snprintf(why, sizeof why, "%s%s%s", err->field, err->field[0] ? ": " : "", err->msg);
    log_error("run %lld of %s/%s could not start: its job version %lld: %s",
              (long long)r->id, r->job->ns, r->job->name, (long long)r->job_version, why);
    keep_error(h, read ? why : "its job's document could not be read");
    h->next_failed = n->failed;
    n->failed = h;
    uv_timer_start(&n->defer, on_defer, 0, 0);
}

static void start_run(struct node *n, struct sched_run *r, struct hostrun *h)
{
    const struct job *j = r->job;
    const struct job_body *b = NULL;
    struct job *doc = NULL;
    struct exec_callbacks cb = { on_run_started, on_run_exit, h };
    struct exec_spec spec = { 0 };
    struct err err = { 0 };
    char root[PATH_MAX], dir[PATH_MAX];
    char **env = NULL, **secrets = NULL;
    struct job_kv *opened = NULL;
    struct job_body with_secrets;

    /* the secrets are opened here, live for exec_start() only, and go to
     * the holder in the spec: the job's env, and what its output hides */
    if (node_run_body(n, r, &b, &doc, &err) < 0
        || job_env_open(b, n->secret_key, &opened, &secrets, &err) < 0)
        goto refused;
    with_secrets = *b;
    with_secrets.env = opened;
    /* a trigger's params are checked against the version the run runs,
     * which may be newer than the one the API checked them against */
    if (node_run_env(r, &with_secrets, &env, &err) < 0) {
        job_env_release(opened, b->n_env, secrets);
        goto refused;
    }
    h->stuck_after_us = b->stuck_after_us;
    h->timeout_us = b->timeout_us;
    h->kill_grace_us = b->kill_grace_us;
    for (int ev = 0; ev < JOB_ON_COUNT; ev++)
        if (b->notify[ev] && b->notify[ev][0])
            h->notify_events |= (uint8_t)(1u << ev);
    h->notify_known = true;
    if (!node_path_join(root, sizeof root, n->work_dir, j->ns))
        root[0] = '\0';        /* exec refuses a relative root: the run fails */
    mkdir(root, 0700);          /* given to the job's user by its holder */
    node_run_output(n, r->id, dir, sizeof dir);
    spec.run_id = r->id;
    spec.argv = b->argv;
    spec.shell = b->shell;
    spec.env = env;
    spec.workdir_root = root;
    spec.workdir = b->workdir;
    spec.limits.memory = b->limits.memory;
    spec.limits.cpu_time_us = b->limits.cpu_time_us;
    spec.limits.processes = b->limits.processes;
    spec.limits.open_files = b->limits.open_files;
    spec.output_max = b->limits.output;
    spec.timeout_us = b->timeout_us;
    spec.kill_grace_us = b->kill_grace_us;
    spec.start_at_us = r->start_at_us;
    spec.output = dir;
    spec.secrets = secrets;
    if (node_users_find(n, j->ns, &spec, &err) < 0
        || n->io->exec_start(n, &spec, &cb, &h->er, &err) < 0) {
        /* no job user (its uid range used up), the spawner is gone or the
         * spec cannot be sent: the run fails, reported from the loop, not
         * from inside the engine's call */
        log_error("run %lld of %s/%s could not start: %s", (long long)r->id, j->ns, j->name,
                  err.msg);
        keep_error(h, err.msg);
        h->next_failed = n->failed;
        n->failed = h;
        uv_timer_start(&n->defer, on_defer, 0, 0);
    }
    node_env_free(env);
    job_env_release(opened, b->n_env, secrets);
    job_free(doc);
    return;
refused:
    start_refused(n, r, h, b != NULL, &err);
    job_free(doc);
}

static void op_cancel(void *ctx, struct sched_run *r)
{
    struct node *n = ctx;
    struct hostrun *h = r->user;

    if (h && h->er)
        n->io->exec_cancel(n, h->er);
}

void node_timers_init(struct node *n)
{
    uv_timer_t *const timers[] = { &n->defer, &n->prune_timer, &n->rewrite_timer };

    for (size_t i = 0; i < sizeof timers / sizeof *timers; i++) {
        uv_timer_init(&n->loop, timers[i]);
        timers[i]->data = n;
    }
}

int node_engine_new(struct node *n, struct err *err)
{
    struct sched_ops ops = {
        n, op_record, op_update, op_start, op_cancel, op_job_state,
        node_notify, op_random, node_plan_put,
    };
    struct sched_config cfg = { 0 };
    int rc;

    cfg.max_concurrent = n->opt.max_concurrent;
    cfg.default_zone = n->zone;
    cfg.lead_us = FIRE_LEAD_US;
    rc = sched_new(&ops, &cfg, &n->sched);
    return rc < 0 ? err_set(err, -rc, NULL, "out of memory") : 0;
}

/* ---- recovery ---- */

/* Runs the store has as queued or running: a run directory means a holder
 * was forked for it (it may be running, or have ended while we were
 * down): follow it. Without one the process never started: queue it. */
int node_recover_runs(struct node *n, struct err *err)
{
    struct store_run_page page;
    int64_t now = node_now_us(n);
    int attached = 0, queued = 0;
    int rc;

    rc = n->io->runs_unfinished(n, &page, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < page.n; i++) {
        const struct store_run *sr = &page.items[i];
        char id[ID_LEN], dir[PATH_MAX];
        struct stat st;
        bool started;
        struct sched_run *r;
        struct hostrun *h;

        snprintf(id, sizeof id, "%s/%s", sr->ns, sr->name);
        node_run_output(n, sr->id, dir, sizeof dir);
        started = stat(dir, &st) == 0;
        h = n->io->alloc(n, sizeof *h);
        if (!h) {
            rc = err_set(err, CHIME_ENOMEM, NULL, "out of memory adopting run %lld",
                         (long long)sr->id);
            break;
        }
        h->n = n;       /* a queued run may start inside sched_run_adopt() */
        rc = sched_run_adopt(n->sched, id, sr->id, sr->fire_us, (int)sr->attempt,
                             sr->reason, started, h, now, &r);
        if (rc == -CHIME_ENOTFOUND) {
            /* its job is gone: the run cannot be followed by the engine */
            struct store_run upd = *sr;

            free(h);
            upd.state = STORE_RUN_LOST;
            upd.finished_us = now;
            upd.error = "its job no longer exists";
            n->io->run_update(n, &upd, NULL);
            rc = 0;
            continue;
        }
        if (rc < 0) {
            free(h);
            err_set(err, -rc, NULL, "out of memory adopting run %lld", (long long)sr->id);
            break;
        }
        h->r = r;
        if (started) {
            struct exec_callbacks cb = { on_run_started, on_run_exit, h };

            if (n->io->exec_attach(n, dir, &cb, &h->er, err) < 0)
                log_error("run %lld: %s", (long long)sr->id, err->msg);
            attached++;
        } else {
            queued++;
        }
    }
    store_run_page_release(&page);
    if (rc < 0)
        return rc;
    if (attached || queued)
        log_info("recovered %d running and %d queued runs", attached, queued);
    return 0;
}
