/* noderetain.c: retention, on a thread of its own (see node_int.h).
 *
 * Two kinds of work, both as the store's retain and audit_prune ops, each
 * in a transaction of its own (store_exec from this thread: the loop
 * never waits for one, and the store thread's group commits wait at most
 * for one small transaction):
 *
 * - jobs whose runs ended: the loop gathers them for PRUNE_EVERY_MS
 *   (node.c) and hands them over; they are done JOBS_PER_TX to a
 *   transaction, at most MAX_ROWS rows deleted per job per transaction (a
 *   job with more to delete comes round again);
 * - the sweep, every --retention-every: every job in id order (deleted
 *   ones, paused ones and finished one-shot jobs too, whose runs would
 *   otherwise never age out), SWEEP_JOBS jobs and at most MAX_ROWS rows a
 *   step, then the audit log MAX_ROWS entries a step, with a pause of
 *   YIELD_US between steps so the scheduler's own writes go first.
 *
 * Output files of deleted runs are removed here, after the commit. Each
 * transaction is timed (from asking for the writer to the commit), into
 * chime_retention_tx_seconds; the largest is a gauge and is logged with
 * each sweep's figures. */
#include "daemon/node_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/metrics.h"
#include "../banned.h"

#define S INT64_C(1000000)
#define MAX_ROWS 500            /* rows deleted per transaction, at most */
#define JOBS_PER_TX 32          /* jobs whose runs ended, per transaction */
#define SWEEP_JOBS 128          /* jobs a sweep step looks at */
#define YIELD_US INT64_C(10000) /* the pause between two steps */
#define EVERY_DEFAULT (60 * S)
#define DEAD_LETTERS_DEFAULT 1000
#define AUDIT_KEEP_DEFAULT 1000000
#define AUDIT_FOR_DEFAULT (INT64_C(365) * 86400 * S)

enum phase { SWEEP_RUNS, SWEEP_AUDIT };

struct node_retain {
    struct store *store;
    char runs_dir[PATH_MAX];
    struct store_retention def;
    int64_t audit_keep, audit_for_us, every_us;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;         /* guards jobs, stopping */
    pthread_cond_t cv;          /* on the monotonic clock */
    int64_t *jobs;
    size_t n_jobs, cap_jobs;
    bool stopping;
    /* the thread's own */
    enum phase phase;
    int64_t after;              /* the sweep's cursor: the last job done */
    int64_t next_step_us;       /* monotonic */
    struct {
        int64_t runs, audit, txs;
        double max_tx_s;
        int64_t started_us;
    } pass;
    struct metric *tx_seconds, *tx_max, *runs_total, *audit_total, *sweeps_total;
    double max_tx_s;
};

static const double tx_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                   0.05,   0.1,   0.25,   0.5,   1,    5};

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct metric *plain(struct metrics *m, enum metric_type t, const char *name,
                            const char *help, const double *bounds, size_t n_bounds)
{
    return metrics_get(metrics_family(m, t, name, help, NULL, bounds, n_bounds, -1, 0), NULL);
}

/* Removes the output files of the runs in IDS. */
static void remove_outputs(struct node_retain *r, const int64_t *ids, size_t n)
{
    char path[PATH_MAX];

    for (size_t i = 0; i < n; i++) {
        int k = snprintf(path, sizeof path, "%s/%lld" RUN_OUTPUT_SUFFIX, r->runs_dir,
                         (long long)ids[i]);

        if (k > 0 && (size_t)k < sizeof path && unlink(path) < 0 && errno != ENOENT)
            log_warn("retention: cannot remove %s: %s", path, strerror(errno));
    }
}

/* One transaction of OPS, timed; then the output files of their runs. */
static int run_tx(struct node_retain *r, struct store_op *const *ops, size_t n)
{
    int64_t t0 = mono_us();
    int rc = n == 1 ? store_exec(r->store, ops[0]) : store_exec_all(r->store, ops, n);
    double s = (double)(mono_us() - t0) / 1e6;

    metric_observe(r->tx_seconds, s);
    if (s > r->max_tx_s) {
        r->max_tx_s = s;
        metric_set(r->tx_max, s);
    }
    if (s > r->pass.max_tx_s)
        r->pass.max_tx_s = s;
    r->pass.txs++;
    for (size_t i = 0; i < n; i++) {
        if (ops[i]->rc < 0) {
            log_error("retention failed: %s", ops[i]->err.msg);
            rc = rc < 0 ? rc : ops[i]->rc;
            continue;
        }
        if (ops[i]->kind == STORE_OP_RETAIN) {
            remove_outputs(r, ops[i]->ret_ids, ops[i]->n_ret_ids);
            metric_add(r->runs_total, (double)ops[i]->n_ret_ids);
        }
    }
    return rc;
}

static void push_jobs(struct node_retain *r, const int64_t *ids, size_t n)
{
    if (r->n_jobs + n > r->cap_jobs) {
        size_t cap = r->cap_jobs ? r->cap_jobs : 64;
        int64_t *grown;

        while (cap < r->n_jobs + n)
            cap *= 2;
        if (!(grown = realloc(r->jobs, cap * sizeof *grown)))
            return;     /* the sweep gets to them */
        r->jobs = grown;
        r->cap_jobs = cap;
    }
    memcpy(r->jobs + r->n_jobs, ids, n * sizeof *ids);
    r->n_jobs += n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* The jobs whose runs ended: JOBS_PER_TX to a transaction. A job that had
 * more to delete than its share goes round again. */
static void do_jobs(struct node_retain *r, int64_t *ids, size_t n)
{
    struct store_op ops[JOBS_PER_TX], *p[JOBS_PER_TX];
    int64_t again[JOBS_PER_TX];
    size_t i = 0, k, m, u = 0;

    qsort(ids, n, sizeof *ids, cmp_i64);
    for (k = 0; k < n; k++)     /* unique */
        if (k == 0 || ids[k] != ids[k - 1])
            ids[u++] = ids[k];
    while (i < u) {
        int64_t now = node_wall_us();
        size_t a = 0;

        for (k = 0; k < JOBS_PER_TX && i < u; k++, i++) {
            memset(&ops[k], 0, sizeof ops[k]);
            ops[k].kind = STORE_OP_RETAIN;
            ops[k].retain.job_id = ids[i];
            ops[k].retain.now_us = now;
            ops[k].retain.def = r->def;
            ops[k].retain.max = MAX_ROWS;
            p[k] = &ops[k];
        }
        (void)run_tx(r, p, k);
        for (m = 0; m < k; m++) {
            if (ops[m].rc >= 0 && ops[m].n_ret_ids >= MAX_ROWS)
                again[a++] = ops[m].retain.job_id;
            free(ops[m].ret_ids);
        }
        if (a) {
            pthread_mutex_lock(&r->mu);
            push_jobs(r, again, a);
            pthread_mutex_unlock(&r->mu);
        }
        if (i < u)
            usleep((useconds_t)YIELD_US);
    }
}

/* One step of the sweep: SWEEP_JOBS jobs, then the audit log. */
static void sweep_step(struct node_retain *r)
{
    struct store_op op = { 0 }, *p = &op;
    int64_t now = node_wall_us();

    if (r->pass.started_us == 0)
        r->pass.started_us = mono_us();
    if (r->phase == SWEEP_RUNS) {
        op.kind = STORE_OP_RETAIN;
        op.retain.after = r->after;
        op.retain.jobs = SWEEP_JOBS;
        op.retain.now_us = now;
        op.retain.def = r->def;
        op.retain.max = MAX_ROWS;
        if (run_tx(r, &p, 1) >= 0) {
            r->pass.runs += (int64_t)op.n_ret_ids;
            r->after = op.ret_id;
            if (op.ret_version)
                r->phase = SWEEP_AUDIT;
        } else {
            r->phase = SWEEP_AUDIT;     /* logged; the next sweep tries again */
        }
        free(op.ret_ids);
        r->next_step_us = mono_us() + YIELD_US;
        return;
    }
    op.kind = STORE_OP_AUDIT_PRUNE;
    op.audit_prune.before_us = r->audit_for_us ? now - r->audit_for_us : 0;
    op.audit_prune.keep = r->audit_keep;
    op.audit_prune.max = MAX_ROWS;
    if (run_tx(r, &p, 1) >= 0) {
        r->pass.audit += op.ret_id;
        metric_add(r->audit_total, (double)op.ret_id);
        if (op.ret_id >= MAX_ROWS) {
            r->next_step_us = mono_us() + YIELD_US;
            return;
        }
    }
    /* the pass is over */
    metric_inc(r->sweeps_total);
    if (r->pass.runs || r->pass.audit)
        log_info("retention sweep: %lld runs and %lld audit entries removed in %.0f ms, %lld"
                 " transactions, the longest %.1f ms",
                 (long long)r->pass.runs, (long long)r->pass.audit,
                 (double)(mono_us() - r->pass.started_us) / 1000, (long long)r->pass.txs,
                 r->pass.max_tx_s * 1000);
    else
        log_debug("retention sweep: nothing to remove (%lld transactions, the longest %.1f ms)",
                  (long long)r->pass.txs, r->pass.max_tx_s * 1000);
    memset(&r->pass, 0, sizeof r->pass);
    r->phase = SWEEP_RUNS;
    r->after = 0;
    r->next_step_us = mono_us() + r->every_us;
}

static void *retain_main(void *arg)
{
    struct node_retain *r = arg;

    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        int64_t now = mono_us();

        if (r->n_jobs) {
            int64_t *ids = r->jobs;
            size_t n = r->n_jobs;

            r->jobs = NULL;
            r->n_jobs = r->cap_jobs = 0;
            pthread_mutex_unlock(&r->mu);
            do_jobs(r, ids, n);
            free(ids);
            pthread_mutex_lock(&r->mu);
        } else if (now >= r->next_step_us) {
            pthread_mutex_unlock(&r->mu);
            sweep_step(r);
            pthread_mutex_lock(&r->mu);
        } else {
            struct timespec until;
            int64_t wait = r->next_step_us - now;

            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += (time_t)(wait / S);
            until.tv_nsec += (long)(wait % S) * 1000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &until);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int node_retain_start(struct node *n, struct err *err)
{
    struct node_retain *r = calloc(1, sizeof *r);
    struct metrics *m = node_watch_metrics(n);
    pthread_condattr_t ca;

    if (!r)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    n->retain = r;
    r->store = n->store;
    snprintf(r->runs_dir, sizeof r->runs_dir, "%s", n->runs_dir);
    r->def.runs = n->opt.keep_runs;
    r->def.for_us = n->opt.keep_for_us;
    r->def.output = n->opt.keep_output;
    r->def.dead_letters = n->opt.keep_dead_letters ? n->opt.keep_dead_letters
                                                   : DEAD_LETTERS_DEFAULT;
    r->audit_keep = n->opt.keep_audit ? n->opt.keep_audit : AUDIT_KEEP_DEFAULT;
    r->audit_for_us = n->opt.keep_audit_for_us ? n->opt.keep_audit_for_us : AUDIT_FOR_DEFAULT;
    r->every_us = n->opt.retention_every_us ? n->opt.retention_every_us : EVERY_DEFAULT;
    r->next_step_us = mono_us() + r->every_us;  /* the first sweep a period after start */
    r->tx_seconds = plain(m, METRIC_HISTOGRAM, "chime_retention_tx_seconds",
                          "Retention transactions, from asking for the writer to the commit",
                          tx_bounds, sizeof tx_bounds / sizeof tx_bounds[0]);
    r->tx_max = plain(m, METRIC_GAUGE, "chime_retention_tx_max_seconds",
                      "The longest retention transaction since the daemon started", NULL, 0);
    r->runs_total = plain(m, METRIC_COUNTER, "chime_retention_runs_deleted_total",
                          "Runs deleted by retention, with their output", NULL, 0);
    r->audit_total = plain(m, METRIC_COUNTER, "chime_retention_audit_deleted_total",
                           "Audit entries deleted by retention", NULL, 0);
    r->sweeps_total = plain(m, METRIC_COUNTER, "chime_retention_sweeps_total",
                            "Retention sweeps completed (every job and the audit log)", NULL, 0);
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, retain_main, r) != 0)
        return err_set(err, CHIME_EIO, NULL, "cannot start the retention thread");
    r->started = true;
    return 0;
}

void node_retain_jobs(struct node *n, const int64_t *ids, size_t n_ids)
{
    struct node_retain *r = n->retain;

    if (!r || !n_ids)
        return;
    pthread_mutex_lock(&r->mu);
    push_jobs(r, ids, n_ids);
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void node_retain_stop(struct node *n)
{
    struct node_retain *r = n->retain;

    if (!r)
        return;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->stopping = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    free(r->jobs);
    free(r);
    n->retain = NULL;
}
