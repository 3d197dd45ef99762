/* node.c: the daemon (see node.h): the engine's ops implemented with the
 * store and the runner, the loop's timer and signals, calls from the API's
 * threads, recovery at start-up.
 *
 * Every engine call happens on the loop thread, and every one is followed
 * by tick(), which handles what is due and re-arms the timerfd. Store
 * writes from the loop are submitted (the store thread commits them in
 * batches) and their callbacks come back here; a fire's run is started only
 * in the callback of its insert. */
#include "daemon/node.h"
#include "daemon/node_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "api/api.h"
#include "exec/exec.h"
#include "exec/spawner.h"
#include "job/job.h"
#include "job/jobsecret.h"
#include "notify/notify.h"
#include "sched/sched.h"
#include "store/store.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/secret.h"
#include "util/dirlock.h"
#include "util/err.h"
#include "util/log.h"
#include "../banned.h"

bool node_path_join(char *buf, size_t len, const char *a, const char *b)
{
    int k = snprintf(buf, len, "%s/%s", a, b);

    return k > 0 && (size_t)k < len;
}

int64_t node_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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
    now = node_now_us();
    next = sched_tick(n->sched, now);
    delay = next == INT64_MAX || next - now > TICK_MAX_US ? TICK_MAX_US : next - now;
    if (delay < 1)
        delay = 1;
    its.it_value.tv_sec = delay / 1000000;
    its.it_value.tv_nsec = (long)(delay % 1000000) * 1000;
    timerfd_settime(n->tfd, 0, &its, NULL);
}

static void on_timer(uv_poll_t *p, int status, int events)
{
    struct node *n = p->data;
    uint64_t expirations;

    (void)status, (void)events;
    (void)!read(n->tfd, &expirations, sizeof expirations);
    node_tick(n);
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
    struct run_op *o = calloc(1, sizeof *o);

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
    int64_t id = op->rc == 0 ? op->ret_id : 0;     /* STORE_EXISTS: 0, a duplicate */

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
        waiter->num = id;
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
    if (op->rc != 0 || store_run_state_finished(r->state)) {
        /* failed, a duplicate, or a final record: the engine takes R back
         * (and may record it again, with a new host part) or frees it */
        r->user = NULL;
        if (h) {
            free(h->error);
            free(h);
        }
    }
    if (op->rc < 0) {
        sched_run_record_failed(n->sched, r, node_now_us());
    } else {
        sched_run_recorded(n->sched, r, id, node_now_us());
    }
    node_tick(n);
}

static void op_record(void *ctx, struct sched_run *r)
{
    struct node *n = ctx;
    struct run_op *o = run_op_new(n, STORE_OP_RUN_INSERT);
    struct hostrun *h = calloc(1, sizeof *h);

    if (!o || !h) {
        free(o);
        free(h);
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
    if (store_submit(n->store, &o->op, on_recorded) < 0) {
        log_error("the store is closing: a run of %s/%s is not recorded", r->job->ns,
                  r->job->name);
        free(o);
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
        if (store_submit(n->store, &o->op, on_written) < 0)
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
    else if (store_submit(n->store, &o->op, on_written) < 0)
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

static void node_unwritten_free(struct node *n)
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
    o->op.dead_insert.now_us = node_now_us();
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

/* ---- plans: the store's columns that start-up schedules by ---- */

struct plan_op {
    struct store_op op;
    char *texts;                /* what op.job_plan.plan's texts point into */
};

static void plan_op_free(struct plan_op *o)
{
    if (o) {
        free(o->texts);
        free(o);
    }
}

/* Writes the plans gathered at start-up in one transaction. */
void node_plans_flush(struct node *n)
{
    struct store_op *ops[NODE_PLAN_BATCH];

    if (!n->n_plans)
        return;
    for (size_t i = 0; i < n->n_plans; i++)
        ops[i] = &n->plans[i]->op;
    if (store_exec_all(n->store, ops, n->n_plans) < 0)
        log_error("writing %zu job plans failed: %s", n->n_plans, ops[0]->err.msg);
    for (size_t i = 0; i < n->n_plans; i++)
        plan_op_free(n->plans[i]);
    n->n_plans = 0;
}

static void on_plan_written(struct store_op *op)
{
    /* a conflict: a newer version was put meanwhile, and its plan follows */
    if (op->rc < 0 && op->err.code != CHIME_ECONFLICT && op->err.code != CHIME_ENOTFOUND)
        log_error("writing a job plan failed: %s", op->err.msg);
    plan_op_free(op->data);
}

/* A job version with its document's members: its plan goes to the store,
 * so that the next start-up schedules it without reading the document.
 * At start-up (the documents of jobs without a current plan) the plans
 * are written in batches; afterwards each is submitted. */
static void op_job_put(void *ctx, const struct job *j, int64_t key, int64_t version)
{
    struct node *n = ctx;
    struct plan_op *o;

    if (key <= 0 || version <= 0 || !(o = calloc(1, sizeof *o)))
        return;
    o->op.kind = STORE_OP_JOB_PLAN;
    o->op.data = o;
    o->op.job_plan.job_id = key;
    if (job_plan_make(j, version, &o->op.job_plan.plan, &o->texts) < 0) {
        free(o);
        return;
    }
    if (n->loading) {
        n->plans[n->n_plans++] = o;
        if (n->n_plans == NODE_PLAN_BATCH)
            node_plans_flush(n);
    } else if (store_submit(n->store, &o->op, on_plan_written) < 0) {
        plan_op_free(o);
    }
}

static void op_notify(void *ctx, const struct job *j, const struct sched_run *r,
                      enum job_notify_event ev)
{
    const struct hostrun *h = r ? r->user : NULL;

    /* into the outbox (nodenotify.c), unless the run's job version is known
     * to name no channel for EV: the outbox would add nothing */
    if (!h || !h->notify_known || (h->notify_events & (1u << ev)))
        node_notify_event(ctx, j, r, ev);
    if (ev == JOB_ON_SUCCESS)
        return;
    if (r)
        log_info("job %s/%s: %s of run %lld", j->ns, j->name, notify_event_name(ev),
                 (long long)r->id);
    else
        log_info("job %s/%s: %s", j->ns, j->name, notify_event_name(ev));
}

void node_notify(struct node *n, const struct job *j, const struct sched_run *r,
                 enum job_notify_event ev)
{
    op_notify(n, j, r, ev);
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

void node_on_started(struct exec_run *er, const struct exec_status *st, void *data)
{
    struct hostrun *h = data;

    (void)er;
    h->r->holder_pid = st->holder_pid;
    sched_run_started(h->n->sched, h->r, st->job_pid, st->started_us ? st->started_us : node_now_us());
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

/* What a lost run's record says, by exec_lost: its holder is gone
 * without an exit record, and why (EXEC_LOST_RECORD keeps exec's text). */
static const char *const lost_why[2] = {
    "its holder died or was killed while it ran and left no exit record",
    "the machine went down while it ran: its holder left no exit record",
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
        sr.error = keep_error(h, lost_why[res->lost == EXEC_LOST_MACHINE]);
    else if (res->error[0])
        sr.error = keep_error(h, res->error);
    sched_run_exited(n->sched, r, &sr, res->finished_us ? res->finished_us : node_now_us());
    node_tick(n);
}

void node_on_exit(struct exec_run *er, const struct exec_result *res, void *data)
{
    (void)er;
    report_exit(data, res);
}

static void on_defer(uv_timer_t *t)
{
    struct node *n = t->data;
    struct hostrun *h;

    while ((h = n->failed)) {
        struct exec_result res = { 0 };

        n->failed = h->next_failed;
        res.outcome = EXEC_FAILED;
        res.exit_code = -1;
        snprintf(res.error, sizeof res.error, "%s", h->error ? h->error : "could not start");
        report_exit(h, &res);
    }
}

/* The environment of a run into *RET: the job's env, its params (a manual
 * trigger's values, checked again against the version the run runs, else
 * the defaults), then chime's own variables (which neither may set). A
 * param shares no name with env nor with chime's (job_params_read()). */
static int run_env(const struct sched_run *r, const struct job_body *b, char ***ret,
                   struct err *err)
{
    const struct job *j = r->job;
    json_t *given = r->params ? json_loads(r->params, 0, NULL) : NULL;
    const char **param = calloc(b->n_params + 1, sizeof *param);
    size_t cap = b->n_env + b->n_params + JOB_VAR_COUNT + 1, k = 0;
    char **env = calloc(cap, sizeof *env);
    char fire[ISOTIME_LEN], id[24], attempt[16];
    const char *const value[JOB_VAR_COUNT] = {
        [JOB_VAR_JOB] = j->name,  [JOB_VAR_NAMESPACE] = j->ns, [JOB_VAR_RUN_ID] = id,
        [JOB_VAR_FIRE_TIME] = fire, [JOB_VAR_ATTEMPT] = attempt,
    };
    int rc = -CHIME_ENOMEM;

    if (!env || !param || (r->params && !given)) {
        err_set(err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    if ((rc = job_params_resolve(b, given, param, err)) < 0)
        goto done;
    for (size_t i = 0; i < b->n_env; i++)
        if (asprintf(&env[k], "%s=%s", b->env[i].key, b->env[i].value) >= 0)
            k++;
    for (size_t i = 0; i < b->n_params; i++)
        if (param[i] && asprintf(&env[k], "%s=%s", b->params[i].name, param[i]) >= 0)
            k++;
    isotime_format_utc(r->fire_us, fire, sizeof fire);
    snprintf(id, sizeof id, "%lld", (long long)r->id);
    snprintf(attempt, sizeof attempt, "%d", r->attempt);
    for (size_t i = 0; i < JOB_VAR_COUNT; i++)
        k += asprintf(&env[k], "%s=%s", job_run_var_names[i], value[i]) >= 0;
    env[k] = NULL;
    *ret = env;
    env = NULL;
done:
    free(env);
    free(param);
    json_decref(given);
    return rc;
}

static void env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
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
    struct exec_callbacks cb = { node_on_started, node_on_exit, h };
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
    if (run_env(r, &with_secrets, &env, &err) < 0) {
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
        || exec_start(n->exec, &spec, &cb, &h->er, &err) < 0) {
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
    env_free(env);
    job_env_release(opened, b->n_env, secrets);
    job_free(doc);
    return;
refused:
    start_refused(n, r, h, b != NULL, &err);
    job_free(doc);
}

static void op_cancel(void *ctx, struct sched_run *r)
{
    struct hostrun *h = r->user;

    (void)ctx;
    if (h && h->er)
        exec_cancel(h->er);
}

static const struct sched_ops node_ops = {
    NULL, op_record, op_update, op_start, op_cancel, op_job_state,
    op_notify, op_random, op_job_put,
};

/* ---- signals and shutdown ---- */

static void on_close(uv_handle_t *h)
{
    (void)h;
}

static void close_left(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, on_close);
}

static void finish_shutdown(struct node *n)
{
    uv_timer_stop(&n->grace);
    exec_free(n->exec);         /* holders carry on; the next start re-attaches */
    n->exec = NULL;
    uv_close((uv_handle_t *)&n->timer, on_close);
    uv_close((uv_handle_t *)&n->sig_term, on_close);
    uv_close((uv_handle_t *)&n->sig_int, on_close);
    uv_close((uv_handle_t *)&n->sig_hup, on_close);
    uv_close((uv_handle_t *)&n->wake, on_close);
    uv_close((uv_handle_t *)&n->grace, on_close);
    uv_close((uv_handle_t *)&n->defer, on_close);
    uv_close((uv_handle_t *)&n->prune_timer, on_close);
    uv_close((uv_handle_t *)&n->rewrite_timer, on_close);
    node_watch_close(n);
    n->loop_stopped = true;     /* the store's and the API's handles close in node_run */
}

static void on_grace(uv_timer_t *t)
{
    struct node *n = t->data;
    struct sched_stats st;

    sched_stats(n->sched, &st);
    if (st.running > 0 && uv_now(&n->loop) < (uint64_t)(n->opt.grace_us / 1000) + 1)
        return;
    if (st.running > 0)
        log_info("shutdown: %d runs still running; they go on and are re-attached at the next"
                 " start", st.running);
    finish_shutdown(n);
}

static void stop(struct node *n, const char *why)
{
    if (n->stopping)
        return;
    log_info("%s: stopping (no new fires)", why);
    node_refuse_calls(n);
    uv_poll_stop(&n->timer);
    if (n->opt.wait_runs) {
        uv_update_time(&n->loop);
        n->opt.grace_us += (int64_t)uv_now(&n->loop) * 1000;
        uv_timer_start(&n->grace, on_grace, 0, 100);
    } else {
        finish_shutdown(n);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct node *n = s->data;

    if (signum == SIGHUP) {
        node_notify_reload(n);          /* the channels first: jobs are checked against them */
        if (n->opt.jobs_dir)
            node_apply_jobs_dir(n);
        node_tick(n);
        return;
    }
    stop(n, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- the daemon ---- */

static int make_dir(const char *path, struct err *err)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return err_set(err, CHIME_EIO, "data-dir", "cannot create '%s': %s", path,
                       strerror(errno));
    return 0;
}

/* The first admin token, on a store without any (api_admin_token). */
static int node_admin_token(struct node *n, const char *dir, struct err *err)
{
    char path[PATH_MAX + 32];
    bool created = false;
    int rc = api_admin_token(n->store, dir, path, sizeof path, &created, err);

    if (rc < 0)
        return rc;
    if (created)
        log_info("made the admin token: its secret is in %s (mode 0600); chime on this machine "
                 "reads it from there, others need CHIME_TOKEN",
                 path);
    else if (access(path, F_OK) == 0)
        log_info("the admin token's secret is in %s", path);
    return 0;
}

static int start(struct node *n, struct err *err)
{
    struct store_options so = { 0 };
    struct sched_config cfg = { 0 };
    struct api_options ao = { 0 };
    char abs_dir[PATH_MAX], bound[128];
    int rc;

    if (make_dir(n->opt.data_dir, err) < 0 || !realpath(n->opt.data_dir, abs_dir))
        return err->code ? -err->code
                         : err_set(err, CHIME_EIO, "data-dir", "'%s': %s", n->opt.data_dir,
                                   strerror(errno));
    /* one daemon per data directory: a second would double every fire */
    if ((n->lock_fd = dirlock_take(abs_dir, err)) < 0)
        return n->lock_fd;
    if (!node_path_join(n->runs_dir, sizeof n->runs_dir, abs_dir, "runs")
        || !node_path_join(n->work_dir, sizeof n->work_dir, abs_dir, "work"))
        return err_set(err, CHIME_ETOOBIG, "data-dir", "'%s' is too long", abs_dir);
    if (make_dir(n->runs_dir, err) < 0 || make_dir(n->work_dir, err) < 0)
        return -err->code;
    /* the port next, before anything that must be torn down: a port in
     * use ends the start here, with the cause */
    if ((n->listen_fd = api_listen(n->opt.listen, err)) < 0)
        return n->listen_fd;
    node_private_files(abs_dir);
    /* before the spawner: it tries the sandbox in a child of its own */
    rc = node_users_open(n, err);
    if (rc < 0)
        return rc;
    /* the spawner first: forked while this process is small and has no thread */
    rc = exec_spawner_start(NULL, &n->spawner, err);
    if (rc < 0)
        return rc;
    rc = n->opt.timezone ? tz_load(n->opt.timezone, &n->zone, err) : tz_system(&n->zone, err);
    if (rc < 0)
        return rc;
    uv_loop_init(&n->loop);
    n->loop.data = n;
    uv_timer_init(&n->loop, &n->rewrite_timer);     /* before anything writes */
    n->rewrite_timer.data = n;
    rc = node_watch_start(n, abs_dir, err);
    if (rc < 0)
        return rc;
    so.path = abs_dir;
    so.loop = &n->loop;
    so.metrics = node_watch_metrics(n);
    rc = store_open(&so, &n->store, err);
    if (rc < 0)
        return rc;
    rc = node_retain_start(n, err);
    if (rc < 0)
        return rc;
    rc = node_secret_open(n, abs_dir, err);     /* before jobs: the jobs directory seals */
    if (rc < 0)
        return rc;
    rc = node_notify_open(n, abs_dir, err);    /* before jobs: saves check their channels */
    if (rc < 0)
        return rc;
    rc = exec_new(&n->loop, n->spawner, &n->exec, err);
    if (rc < 0)
        return rc;
    cfg.max_concurrent = n->opt.max_concurrent;
    cfg.default_zone = n->zone;
    cfg.lead_us = FIRE_LEAD_US;
    {
        struct sched_ops ops = node_ops;

        ops.ctx = n;
        rc = sched_new(&ops, &cfg, &n->sched);
        if (rc < 0)
            return err_set(err, -rc, NULL, "out of memory");
    }
    rc = node_load_jobs(n, err);
    if (rc < 0)
        return rc;
    rc = node_recover_runs(n, err);
    if (rc < 0)
        return rc;
    if (n->opt.jobs_dir)
        node_apply_jobs_dir(n);
    uv_async_init(&n->loop, &n->wake, node_on_wake);
    n->wake.data = n;
    n->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (n->tfd < 0)
        return err_set(err, CHIME_EIO, NULL, "timerfd: %s", strerror(errno));
    uv_poll_init(&n->loop, &n->timer, n->tfd);
    n->timer.data = n;
    uv_poll_start(&n->timer, UV_READABLE, on_timer);
    uv_timer_init(&n->loop, &n->grace);
    n->grace.data = n;
    uv_timer_init(&n->loop, &n->defer);
    n->defer.data = n;
    uv_timer_init(&n->loop, &n->prune_timer);
    n->prune_timer.data = n;
    uv_signal_init(&n->loop, &n->sig_term);
    uv_signal_init(&n->loop, &n->sig_int);
    uv_signal_init(&n->loop, &n->sig_hup);
    n->sig_term.data = n->sig_int.data = n->sig_hup.data = n;
    uv_signal_start(&n->sig_term, on_signal, SIGTERM);
    uv_signal_start(&n->sig_int, on_signal, SIGINT);
    uv_signal_start(&n->sig_hup, on_signal, SIGHUP);
    ao.listen = n->opt.listen;
    ao.listen_fd = n->listen_fd;
    ao.data_dir = abs_dir;
    ao.store = n->store;
    ao.default_zone = n->zone;
    ao.engine = node_api_engine(n);
    ao.metrics = node_watch_metrics(n);
    ao.health = node_watch_health;
    ao.health_ctx = n->watch;
    ao.metrics_open = n->opt.metrics_open;
    ao.triggers_per_job = (unsigned)n->opt.triggers_per_job;
    ao.triggers_per_token = (unsigned)n->opt.triggers_per_token;
    ao.connections_max = (unsigned)n->opt.api_connections;
    ao.connections_per_ip = (unsigned)n->opt.api_connections_per_address;
    ao.head_timeout_us = n->opt.api_head_timeout_us;
    ao.body_timeout_us = n->opt.api_body_timeout_us;
    ao.secret_key = n->secret_key;
    rc = node_admin_token(n, abs_dir, err);
    if (rc < 0)
        return rc;
    rc = node_notify_run(n, err);               /* the deliverers */
    if (rc < 0)
        return rc;
    ao.notify = n->notify;
    rc = api_start(&ao, bound, sizeof bound, &n->api, err);
    n->listen_fd = -1;                          /* api_start() took it */
    if (rc < 0)
        return rc;
    printf("chime serving on http://%s (data in %s, zone %s)\n", bound, abs_dir,
           tz_name(n->zone));
    fflush(stdout);
    node_tick(n);
    return 0;
}

/* The loop, run one iteration at a time so that the engine lock is let go
 * exactly while the loop waits for events (node_int.h, engine_lk). */
static void run_loop(struct node *n)
{
    int fd = uv_backend_fd(&n->loop);

    while (uv_run(&n->loop, UV_RUN_NOWAIT) && !n->loop_stopped) {
        struct pollfd p = {fd, POLLIN, 0};
        int timeout = uv_backend_timeout(&n->loop);

        pthread_rwlock_unlock(&n->engine_lk);
        poll(&p, 1, timeout);
        pthread_rwlock_wrlock(&n->engine_lk);
    }
}

int node_run(const struct node_options *opt, struct err *err)
{
    static const struct node_options defaults = { "./chime-data", "127.0.0.1:8717", NULL,
                                                   NULL, 64, 0, false };
    struct node *n = calloc(1, sizeof *n);
    pthread_rwlockattr_t lk_attr;
    uint64_t seed = 0;
    int rc;

    if (!n)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    n->opt = *opt;
    if (!n->opt.data_dir)
        n->opt.data_dir = defaults.data_dir;
    if (!n->opt.listen)
        n->opt.listen = defaults.listen;
    if (!n->opt.max_concurrent)
        n->opt.max_concurrent = defaults.max_concurrent;
    if (!n->opt.keep_runs)
        n->opt.keep_runs = 100;
    if (!n->opt.keep_for_us)
        n->opt.keep_for_us = INT64_C(30) * 86400 * 1000000;
    n->tfd = -1;
    n->lock_fd = -1;
    n->listen_fd = -1;
    pthread_mutex_init(&n->mu, NULL);
    pthread_rwlockattr_init(&lk_attr);
    pthread_rwlockattr_setkind_np(&lk_attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&n->engine_lk, &lk_attr);
    pthread_rwlockattr_destroy(&lk_attr);
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
        seed = (uint64_t)node_now_us();
    n->rnd = seed | 1;
    gethostname(n->host, sizeof n->host - 1);
    signal(SIGPIPE, SIG_IGN);
    /* what the daemon creates (the database and its journal, keys, tokens,
     * run output, directories) is its own: 0600 and 0700; a job starts
     * from 022 again (child.c) */
    umask(077);
    /* keep the heap: glibc's default trimming gave pages back after every
     * store transaction and faulted them in again on the next one, a tenth
     * of the daemon's CPU at 500 runs/s (bench/README.md) */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    pthread_rwlock_wrlock(&n->engine_lk);
    rc = start(n, err);
    if (rc == 0)
        run_loop(n);
    pthread_rwlock_unlock(&n->engine_lk);
    /* release in reverse, each free(NULL)-safe: the API first (its threads
     * use the store), then the store (its last callbacks still reach the
     * engine, which starts nothing while stopping), then the rest */
    node_refuse_calls(n);
    api_stop(n->api);
    node_notify_stop(n);                    /* deliveries in flight are abandoned */
    node_retain_stop(n);                    /* its step in progress ends first */
    store_close(n->store);
    secret_key_free(n->secret_key);
    node_notify_free(n);                    /* after the store's last callbacks */
    exec_free(n->exec);
    sched_free(n->sched);
    node_watch_close(n);                    /* when start() failed: its timer */
    if (n->loop.data) {
        /* when start() failed part way, or the loop stopped early, the
         * daemon's own handles are still open: every owner above has let go
         * of its own, so what is left is closed here, and this always ends */
        uv_walk(&n->loop, close_left, NULL);
        uv_run(&n->loop, UV_RUN_DEFAULT);   /* the close callbacks */
        uv_loop_close(&n->loop);
    }
    node_watch_free(n);
    exec_spawner_free(n->spawner);
    node_users_free(n);
    if (n->tfd >= 0)
        close(n->tfd);
    if (n->listen_fd >= 0)
        close(n->listen_fd);
    if (n->lock_fd >= 0)
        close(n->lock_fd);              /* last: the store is closed */
    free(n->prune_jobs);
    node_unwritten_free(n);             /* what the store never took */
    node_bodies_free(n);
    free(n);
    if (rc == 0)
        log_info("stopped");
    return rc;
}
