/* store.c: the store's backend-neutral half: checking arguments, the write
 * queue and its thread, callbacks on the loop, and dispatch to a backend.
 *
 * Group commit. store_submit() appends an op to a queue; the store thread
 * takes everything queued (up to batch_max ops) and hands the chain to the
 * backend, which commits it as one transaction with a savepoint per op.
 * While one batch is being made durable (an fsync, milliseconds), the next
 * batch fills up: the more ops arrive, the more each fsync carries, and no
 * op waits for a timer. Finished batches go to a "done" list that the
 * loop drains on a uv_async_t, calling each op's callback in order.
 *
 * The write lock serialises batches and store_exec(): a backend's write
 * connection is used by one thread at a time. */
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "store/backend.h"
#include "util/err.h"
#include "util/metrics.h"
#include "../banned.h"

#define READERS_DEFAULT         4
#define READERS_MAX             64
#define BUSY_TIMEOUT_DEFAULT_MS 5000
#define BATCH_DEFAULT           256

#define LAZY_WAIT_US 1000 /* the longest a batch of lazy ops waits for company */

struct store {
    const struct store_backend *be;
    void *b; /* the backend's handle */

    pthread_mutex_t write_lock; /* one batch (or store_exec) at a time */
    struct store_stats stats;   /* guarded by write_lock */
    struct metric *commit_ok, *commit_failed; /* chime_store_commit_seconds; NULL: none */
    /* the same as stats' last_*, for store_write_health(), which must not
     * wait for a transaction in progress */
    pthread_mutex_t health_lock;
    int64_t last_commit_us, last_failure_us;
    char last_error[128];

    /* guarded by queue_lock */
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_cond;
    bool gathering;           /* the writer waits for company (gather_lazy) */
    bool urgent;              /* an op that must not wait came meanwhile */
    struct store_op *queue_head, *queue_tail; /* waiting for the thread */
    struct store_op *done_head, *done_tail;   /* waiting for the loop */
    bool stopping;

    int batch_max;
    uv_loop_t *loop;  /* NULL: synchronous writes only */
    uv_async_t async; /* wakes the loop for done ops */
    pthread_t thread;
};

/* Backends by the prefix of the path; the first match wins, "" matches all. */
static const struct {
    const char *prefix;
    const struct store_backend *be; /* NULL: known but not built */
} backends[] = {
    {"postgres://", NULL},
    {"postgresql://", NULL},
    {"", &sqlite_backend},
};

/* ---- checking arguments ---- */

static int check_name(const char *s, const char *field, struct err *err)
{
    char q[80];
    size_t n;

    if (!s || !*s)
        return err_set(err, CHIME_EINVAL, field, "%s is empty", field);
    n = strnlen(s, STORE_NAME_MAX + 1);
    if (n > STORE_NAME_MAX)
        return err_set(err, CHIME_EINVAL, field, "'%s' is longer than %d bytes",
                       err_quote(s, n, q, sizeof q), STORE_NAME_MAX);
    return 0;
}

static int check_text(const char *s, size_t max, const char *field, struct err *err)
{
    if (s && strnlen(s, max + 1) > max)
        return err_set(err, CHIME_ETOOBIG, field, "%s is longer than %zu bytes", field, max);
    return 0;
}

static int check_id(int64_t id, const char *field, struct err *err)
{
    if (id <= 0)
        return err_set(err, CHIME_EINVAL, field, "'%" PRId64 "' is not an id", id);
    return 0;
}

static int check_version(int64_t v, struct err *err)
{
    if (v < STORE_NEW)
        return err_set(err, CHIME_EINVAL, "version", "'%" PRId64 "' is not a version", v);
    return 0;
}

static int check_state(enum store_run_state st, bool zero_ok, const char *field, struct err *err)
{
    if ((zero_ok && st == 0) || ((int)st > 0 && st < STORE_RUN_STATE_END))
        return 0;
    return err_set(err, CHIME_EINVAL, field, "'%d' is not a run state", (int)st);
}

/* The fields both run_insert and run_update write. */
static int check_run(const struct store_run *r, struct err *err)
{
    int rc;

    if ((rc = check_state(r->state, false, "state", err)) < 0
        || (rc = check_text(r->node, STORE_TEXT_MAX, "node", err)) < 0)
        return rc;
    return 0;
}

static int check_run_insert(const struct store_op *op, struct err *err)
{
    const struct store_run *r = &op->run_insert.run;
    int rc;

    if ((rc = check_id(r->job_id, "job_id", err)) < 0 || (rc = check_run(r, err)) < 0
        || (rc = check_text(r->triggered_by, STORE_TEXT_MAX, "triggered_by", err)) < 0)
        return rc;
    if ((int)r->reason <= 0 || r->reason >= STORE_REASON_END)
        return err_set(err, CHIME_EINVAL, "reason", "'%d' is not a run reason", (int)r->reason);
    if (r->fire_us == STORE_NULL || r->queued_us == STORE_NULL)
        return err_set(err, CHIME_EINVAL, "fire_us", "a run needs its fire and queued instants");
    if (r->attempt < 1)
        return err_set(err, CHIME_EINVAL, "attempt", "'%" PRId64 "' is not an attempt", r->attempt);
    return 0;
}

static int check_run_update(const struct store_op *op, struct err *err)
{
    int rc;

    if ((rc = check_id(op->run_update.run.id, "id", err)) < 0
        || (rc = check_run(&op->run_update.run, err)) < 0
        || (rc = check_state(op->run_update.expect_state, true, "expect_state", err)) < 0)
        return rc;
    return 0;
}

static int check_job_put(const struct store_op *op, struct err *err)
{
    int rc;

    if ((rc = check_name(op->job_put.ns, "namespace", err)) < 0
        || (rc = check_name(op->job_put.name, "name", err)) < 0
        || (rc = check_text(op->job_put.author, STORE_TEXT_MAX, "author", err)) < 0
        || (rc = check_version(op->job_put.expect_version, err)) < 0)
        return rc;
    if (!op->job_put.doc)
        return err_set(err, CHIME_EINVAL, "document", "document is missing");
    return check_text(op->job_put.doc, STORE_DOC_MAX, "document", err);
}

static int check_job_delete(const struct store_op *op, struct err *err)
{
    int rc;

    if ((rc = check_name(op->job_delete.ns, "namespace", err)) < 0
        || (rc = check_name(op->job_delete.name, "name", err)) < 0)
        return rc;
    return check_version(op->job_delete.expect_version, err);
}

static int check_job_state(const struct store_op *op, struct err *err)
{
    if (op->job_state.consecutive_failures < 0)
        return err_set(err, CHIME_EINVAL, "consecutive_failures", "'%" PRId64 "' is negative",
                       op->job_state.consecutive_failures);
    return check_id(op->job_state.job_id, "job_id", err);
}

static int check_dead_insert(const struct store_op *op, struct err *err)
{
    if (!op->dead_insert.reason)
        return err_set(err, CHIME_EINVAL, "reason", "reason is missing");
    return check_id(op->dead_insert.run_id, "run_id", err);
}

static int check_dead_remove(const struct store_op *op, struct err *err)
{
    return check_id(op->dead_remove.run_id, "run_id", err);
}

/* Texts of a plan are names and expressions: short, bounded like a document. */
static int check_job_plan(const struct store_op *op, struct err *err)
{
    const struct store_job_plan *p = &op->job_plan.plan;
    const char *texts[] = {p->kind, p->cron, p->zone, p->after, p->when, p->concurrency,
                           p->catch_up};
    int rc;

    if ((rc = check_id(op->job_plan.job_id, "job_id", err)) < 0)
        return rc;
    if (p->version < 1)
        return err_set(err, CHIME_EINVAL, "version", "'%" PRId64 "' is not a version",
                       p->version);
    if (!p->kind)
        return err_set(err, CHIME_EINVAL, "kind", "a plan needs its schedule's kind");
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if ((rc = check_text(texts[i], STORE_DOC_MAX, "plan", err)) < 0)
            return rc;
    return 0;
}

static int check_token_insert(const struct store_op *op, struct err *err)
{
    const struct store_token *t = op->token_insert.token;
    int rc;

    if (!t)
        return err_set(err, CHIME_EINVAL, "token", "token is missing");
    if ((rc = check_name(t->name, "name", err)) < 0
        || (rc = check_text(t->created_by, STORE_TEXT_MAX, "created_by", err)) < 0
        || (rc = check_text(t->namespaces, STORE_DOC_MAX, "namespaces", err)) < 0)
        return rc;
    if (!t->key[0] || !t->role[0])
        return err_set(err, CHIME_EINVAL, "key", "a token needs its key and role");
    if (t->hash_len == 0 || t->hash_len > STORE_TOKEN_HASH_MAX)
        return err_set(err, CHIME_EINVAL, "hash", "a token needs the hash of its secret");
    return 0;
}

static int check_token_revoke(const struct store_op *op, struct err *err)
{
    return check_name(op->token_revoke.name, "name", err);
}

static int check_audit_insert(const struct store_op *op, struct err *err)
{
    const struct store_audit *a = &op->audit_insert.entry;
    int rc;

    if (!a->method || !a->route || !a->target)
        return err_set(err, CHIME_EINVAL, "method", "an audit entry needs its request");
    if ((rc = check_text(a->token, STORE_TEXT_MAX, "token", err)) < 0
        || (rc = check_text(a->address, STORE_TEXT_MAX, "address", err)) < 0
        || (rc = check_text(a->method, STORE_TEXT_MAX, "method", err)) < 0
        || (rc = check_text(a->route, STORE_TEXT_MAX, "route", err)) < 0)
        return rc;
    if (!a->ns[0] != !a->name[0])
        return err_set(err, CHIME_EINVAL, "job", "an audit entry's job needs both names");
    return 0;
}

static int check_ns_user_claim(const struct store_op *op, struct err *err)
{
    int rc = check_name(op->ns_user_claim.ns, "namespace", err);

    if (rc < 0)
        return rc;
    if (op->ns_user_claim.lo < 1 || op->ns_user_claim.hi < op->ns_user_claim.lo
        || op->ns_user_claim.hi > INT64_C(2147483646))
        return err_set(err, CHIME_ERANGE, "uid_range", "'%lld-%lld' is not a range of uids",
                       (long long)op->ns_user_claim.lo, (long long)op->ns_user_claim.hi);
    if (op->ns_user_claim.n_avoid && !op->ns_user_claim.avoid)
        return err_set(err, CHIME_EINVAL, "avoid", "is missing");
    for (size_t i = 1; i < op->ns_user_claim.n_avoid; i++)
        if (op->ns_user_claim.avoid[i] <= op->ns_user_claim.avoid[i - 1])
            return err_set(err, CHIME_EINVAL, "avoid", "is not sorted ascending");
    return 0;
}

static int check_audit_prune(const struct store_op *op, struct err *err)
{
    if (op->audit_prune.keep < 0 || op->audit_prune.before_us < 0 || op->audit_prune.max < 0)
        return err_set(err, CHIME_EINVAL, "keep", "audit prune limits must not be negative");
    return 0;
}

/* A job's event names its job; a daemon event names channels instead. */
static int check_outbox_owner(const struct store_op *op, struct err *err)
{
    int rc;

    if (op->outbox_add.channels) {
        if (op->outbox_add.ns || op->outbox_add.name || op->outbox_add.job_version)
            return err_set(err, CHIME_EINVAL, "channels", "a daemon event names no job");
        return check_text(op->outbox_add.channels, STORE_PAYLOAD_MAX, "channels", err);
    }
    if ((rc = check_name(op->outbox_add.ns, "namespace", err)) < 0)
        return rc;
    return check_name(op->outbox_add.name, "name", err);
}

static int check_outbox_add(const struct store_op *op, struct err *err)
{
    int rc;

    if ((rc = check_outbox_owner(op, err)) < 0
        || (rc = check_text(op->outbox_add.event, STORE_EVENT_MAX, "event", err)) < 0
        || (rc = check_text(op->outbox_add.key, STORE_TEXT_MAX, "key", err)) < 0
        || (rc = check_text(op->outbox_add.payload, STORE_PAYLOAD_MAX, "payload", err)) < 0)
        return rc;
    if (!op->outbox_add.event || !op->outbox_add.key || !op->outbox_add.payload)
        return err_set(err, CHIME_EINVAL, "event", "a notification needs its event, key and"
                       " payload");
    if (op->outbox_add.job_version < 0)
        return err_set(err, CHIME_EINVAL, "version", "'%" PRId64 "' is not a version",
                       op->outbox_add.job_version);
    return 0;
}

static int check_outbox_claim(const struct store_op *op, struct err *err)
{
    if (!op->outbox_claim.ret)
        return err_set(err, CHIME_EINVAL, NULL, "a claim needs a row to fill");
    if (op->outbox_claim.lease_us <= 0)
        return err_set(err, CHIME_EINVAL, "lease", "'%" PRId64 "' is not a lease",
                       op->outbox_claim.lease_us);
    return 0;
}

static int check_outbox_done(const struct store_op *op, struct err *err)
{
    enum store_outbox_state st = op->outbox_done.state;

    if (st != STORE_OUTBOX_PENDING && st != STORE_OUTBOX_DELIVERED && st != STORE_OUTBOX_FAILED)
        return err_set(err, CHIME_EINVAL, "state", "'%d' is not how a delivery ends", (int)st);
    return check_id(op->outbox_done.id, "id", err);
}

static int check_outbox_requeue(const struct store_op *op, struct err *err)
{
    return op->outbox_requeue.id ? check_id(op->outbox_requeue.id, "id", err) : 0;
}

static int check_outbox_prune(const struct store_op *op, struct err *err)
{
    if (op->outbox_prune.max < 0)
        return err_set(err, CHIME_EINVAL, "max", "'%" PRId64 "' is negative",
                       op->outbox_prune.max);
    return 0;
}

static int check_retain(const struct store_op *op, struct err *err)
{
    const struct store_retention *d = &op->retain.def;

    if (op->retain.job_id < 0)
        return check_id(op->retain.job_id, "job_id", err);
    if (op->retain.after < 0 || op->retain.jobs < 0 || op->retain.max < 0)
        return err_set(err, CHIME_EINVAL, "max", "retention bounds must not be negative");
    if (d->runs < 0 || d->for_us < 0 || d->output < 0 || d->dead_letters < 0)
        return err_set(err, CHIME_EINVAL, "keep", "retention limits must not be negative");
    return 0;
}

static int (*const op_checks[STORE_OP_KIND_END])(const struct store_op *, struct err *) = {
    [STORE_OP_JOB_PUT] = check_job_put,         [STORE_OP_JOB_DELETE] = check_job_delete,
    [STORE_OP_JOB_STATE] = check_job_state,     [STORE_OP_RUN_INSERT] = check_run_insert,
    [STORE_OP_RUN_UPDATE] = check_run_update,   [STORE_OP_DEAD_INSERT] = check_dead_insert,
    [STORE_OP_DEAD_REMOVE] = check_dead_remove, 
    [STORE_OP_JOB_PLAN] = check_job_plan,
    [STORE_OP_OUTBOX_ADD] = check_outbox_add,
    [STORE_OP_OUTBOX_CLAIM] = check_outbox_claim,
    [STORE_OP_OUTBOX_DONE] = check_outbox_done,
    [STORE_OP_OUTBOX_REQUEUE] = check_outbox_requeue,
    [STORE_OP_OUTBOX_PRUNE] = check_outbox_prune,
    [STORE_OP_RETAIN] = check_retain,
    [STORE_OP_TOKEN_INSERT] = check_token_insert, [STORE_OP_TOKEN_REVOKE] = check_token_revoke,
    [STORE_OP_AUDIT_INSERT] = check_audit_insert, [STORE_OP_AUDIT_PRUNE] = check_audit_prune,
    [STORE_OP_NS_USER_CLAIM] = check_ns_user_claim,
};

/* Clears OP's results and refuses it (op->rc < 0) when malformed. */
static void op_prepare(struct store_op *op)
{
    op->rc = 0;
    memset(&op->err, 0, sizeof op->err);
    op->ret_id = 0;
    op->ret_version = 0;
    op->ret_ids = NULL;
    op->n_ret_ids = 0;
    op->next = NULL;
    if ((int)op->kind <= 0 || op->kind >= STORE_OP_KIND_END)
        op->rc = err_set(&op->err, CHIME_EINVAL, "kind", "'%d' is not an op", (int)op->kind);
    else
        op->rc = op_checks[op->kind](op, &op->err);
}

static int check_limit(int limit, int *ret, struct err *err)
{
    if (limit < 0 || limit > STORE_LIMIT_MAX)
        return err_set(err, CHIME_ERANGE, "limit", "'%d' is out of range 1-%d", limit,
                       STORE_LIMIT_MAX);
    *ret = limit ? limit : STORE_LIMIT_DEFAULT;
    return 0;
}

/* ---- writing ---- */

/* The backend writes the chain from FIRST as one transaction, timed for
 * the commit latency histogram and the health check (the last commit and
 * the last failure of a whole transaction). Under write_lock. */
static int batch_write(struct store *s, struct store_op *first, struct err *e)
{
    struct timespec t0, t1, now;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = s->be->write(s->b, first, e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    clock_gettime(CLOCK_REALTIME, &now);
    s->stats.batches++;
    if (rc == 0) {
        s->stats.commits++;
        s->stats.last_commit_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    } else {
        s->stats.last_failure_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
        snprintf(s->stats.last_error, sizeof s->stats.last_error, "%.120s", e->msg);
    }
    pthread_mutex_lock(&s->health_lock);
    s->last_commit_us = s->stats.last_commit_us;
    s->last_failure_us = s->stats.last_failure_us;
    memcpy(s->last_error, s->stats.last_error, sizeof s->last_error);
    pthread_mutex_unlock(&s->health_lock);
    metric_observe(rc == 0 ? s->commit_ok : s->commit_failed,
                   (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return rc;
}

/* Runs the chain from FIRST as one batch. */
static void write_batch(struct store *s, struct store_op *first)
{
    struct err e = {0};

    pthread_mutex_lock(&s->write_lock);
    (void)batch_write(s, first, &e);
    for (struct store_op *op = first; op; op = op->next) {
        s->stats.ops++;
        if (op->rc < 0)
            s->stats.failed_ops++;
    }
    pthread_mutex_unlock(&s->write_lock);
}

int store_exec(struct store *s, struct store_op *op)
{
    op_prepare(op);
    write_batch(s, op);
    return op->rc;
}

int store_exec_all(struct store *s, struct store_op *const *ops, size_t n)
{
    struct err e = {0};
    int rc;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        op_prepare(ops[i]);
        if (i > 0)
            ops[i - 1]->next = ops[i];
    }
    pthread_mutex_lock(&s->write_lock);
    rc = batch_write(s, ops[0], &e);
    for (size_t i = 0; i < n; i++) {
        s->stats.ops++;
        if (ops[i]->rc < 0)
            s->stats.failed_ops++;
        ops[i]->next = NULL;
    }
    pthread_mutex_unlock(&s->write_lock);
    return rc;
}

int store_exec_atomic(struct store *s, struct store_op *const *ops, size_t n, size_t *ret_failed,
                      struct err *err)
{
    struct store_op *failed = NULL;
    struct err e = {0};
    int rc;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        op_prepare(ops[i]);
        if (i > 0)
            ops[i - 1]->next = ops[i];
    }
    pthread_mutex_lock(&s->write_lock);
    rc = s->be->write_atomic(s->b, ops[0], &failed, &e);
    s->stats.batches++;
    if (rc == 0)
        s->stats.commits++;
    for (size_t i = 0; i < n; i++) {
        s->stats.ops++;
        if (ops[i]->rc < 0)
            s->stats.failed_ops++;
        ops[i]->next = NULL;
        if (ops[i] == failed && ret_failed)
            *ret_failed = i;
    }
    pthread_mutex_unlock(&s->write_lock);
    if (rc < 0) {
        if (!failed && ret_failed)
            *ret_failed = n;
        if (err)
            *err = e;
    }
    return rc;
}

/* Whether OP may wait a moment for company: what a run's end writes. Its
 * commit is an fdatasync like any other, and nobody waits on it to start a
 * process, so a batch of only these gathers for up to LAZY_WAIT_US. */
static bool op_lazy(const struct store_op *op)
{
    return op->kind == STORE_OP_RUN_UPDATE || op->kind == STORE_OP_JOB_STATE
           || op->kind == STORE_OP_DEAD_INSERT
           || op->kind == STORE_OP_OUTBOX_ADD;
}

/* With the queue lock held: waits up to LAZY_WAIT_US while the queue holds
 * only lazy ops, fewer than a batch; returns as soon as another kind comes. */
static void gather_lazy(struct store *s)
{
    struct timespec until;
    int n = 0;

    for (struct store_op *op = s->queue_head; op; op = op->next, n++)
        if (!op_lazy(op))
            return;
    if (n >= s->batch_max || s->stopping)
        return;
    s->urgent = false;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += LAZY_WAIT_US * 1000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    s->gathering = true;
    while (!s->stopping && !s->urgent
           && pthread_cond_timedwait(&s->queue_cond, &s->queue_lock, &until) == 0)
        ;
    s->gathering = false;
    s->urgent = false;
}

static void *writer_main(void *arg)
{
    struct store *s = arg;

    pthread_mutex_lock(&s->queue_lock);
    for (;;) {
        struct store_op *first, *last;
        int n = 1;

        while (!s->queue_head && !s->stopping)
            pthread_cond_wait(&s->queue_cond, &s->queue_lock);
        if (!s->queue_head)
            break; /* stopping, and nothing left */
        gather_lazy(s);
        first = last = s->queue_head;
        while (last->next && n < s->batch_max) {
            last = last->next;
            n++;
        }
        s->queue_head = last->next;
        if (!s->queue_head)
            s->queue_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->queue_lock);

        write_batch(s, first);

        pthread_mutex_lock(&s->queue_lock);
        if (s->done_tail)
            s->done_tail->next = first;
        else
            s->done_head = first;
        s->done_tail = last;
        uv_async_send(&s->async);
    }
    pthread_mutex_unlock(&s->queue_lock);
    return NULL;
}

/* Calls back every done op, in order. On the loop thread. */
static void done_drain(struct store *s)
{
    struct store_op *op, *next;

    pthread_mutex_lock(&s->queue_lock);
    op = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->queue_lock);
    for (; op; op = next) {
        next = op->next; /* the callback may reuse op */
        op->next = NULL;
        op->cb(op);
    }
}

static void on_done(uv_async_t *h)
{
    done_drain(h->data);
}

int store_submit(struct store *s, struct store_op *op, store_cb *cb)
{
    op_prepare(op);
    op->cb = cb;
    if (!s->loop)
        return op->rc = err_set(&op->err, CHIME_EINVAL, NULL, "store was opened without a loop");
    pthread_mutex_lock(&s->queue_lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->queue_lock);
        return op->rc = err_set(&op->err, CHIME_EINVAL, NULL, "store is closing");
    }
    if (s->queue_tail)
        s->queue_tail->next = op;
    else
        s->queue_head = op;
    s->queue_tail = op;
    if (!op_lazy(op))
        s->urgent = true;
    if (!s->gathering || s->urgent)
        pthread_cond_signal(&s->queue_cond);
    pthread_mutex_unlock(&s->queue_lock);
    return 0;
}

/* A shorthand's op: copies OP's error to ERR. */
static int exec_into(struct store *s, struct store_op *op, struct err *err)
{
    int rc = store_exec(s, op);

    if (rc < 0 && err)
        *err = op->err;
    return rc;
}

int store_job_put(struct store *s, const char *ns, const char *name, const char *doc,
                  const char *author, int64_t expect_version, bool paused, int64_t now_us,
                  int64_t *ret_version, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_JOB_PUT};
    int rc;

    op.job_put.ns = ns;
    op.job_put.name = name;
    op.job_put.doc = doc;
    op.job_put.author = author;
    op.job_put.expect_version = expect_version;
    op.job_put.paused = paused;
    op.job_put.now_us = now_us;
    rc = exec_into(s, &op, err);
    if (rc >= 0 && ret_version)
        *ret_version = op.ret_version;
    return rc;
}

int store_job_delete(struct store *s, const char *ns, const char *name, int64_t expect_version,
                     int64_t now_us, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_JOB_DELETE};

    op.job_delete.ns = ns;
    op.job_delete.name = name;
    op.job_delete.expect_version = expect_version;
    op.job_delete.now_us = now_us;
    return exec_into(s, &op, err);
}

int store_run_insert(struct store *s, const struct store_run *r, int64_t *ret_id, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_RUN_INSERT};
    int rc;

    op.run_insert.run = *r;
    rc = exec_into(s, &op, err);
    if (rc >= 0 && ret_id)
        *ret_id = op.ret_id;
    return rc;
}

int store_run_update(struct store *s, const struct store_run *r, enum store_run_state expect_state,
                     struct err *err)
{
    struct store_op op = {.kind = STORE_OP_RUN_UPDATE};

    op.run_update.run = *r;
    op.run_update.expect_state = expect_state;
    return exec_into(s, &op, err);
}

int store_dead_insert(struct store *s, int64_t run_id, const char *reason, int64_t now_us,
                      struct err *err)
{
    struct store_op op = {.kind = STORE_OP_DEAD_INSERT};

    op.dead_insert.run_id = run_id;
    op.dead_insert.reason = reason;
    op.dead_insert.now_us = now_us;
    return exec_into(s, &op, err);
}

int store_dead_remove(struct store *s, int64_t run_id, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_DEAD_REMOVE};

    op.dead_remove.run_id = run_id;
    return exec_into(s, &op, err);
}

int store_retain(struct store *s, int64_t job_id, const struct store_retention *def,
                 int64_t now_us, int64_t max, int64_t **ret_ids, size_t *ret_n, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_RETAIN};
    int rc;

    op.retain.job_id = job_id;
    op.retain.def = *def;
    op.retain.now_us = now_us;
    op.retain.max = max;
    rc = exec_into(s, &op, err);
    if (rc < 0)
        return rc;
    *ret_ids = op.ret_ids;
    *ret_n = op.n_ret_ids;
    return rc;
}

int store_token_insert(struct store *s, const struct store_token *t, int64_t *ret_id,
                       struct err *err)
{
    struct store_op op = {.kind = STORE_OP_TOKEN_INSERT};
    int rc;

    op.token_insert.token = t;
    rc = exec_into(s, &op, err);
    if (rc >= 0 && ret_id)
        *ret_id = op.ret_id;
    return rc;
}

int store_token_revoke(struct store *s, const char *name, int64_t now_us, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_TOKEN_REVOKE};

    op.token_revoke.name = name;
    op.token_revoke.now_us = now_us;
    return exec_into(s, &op, err);
}

int store_ns_user_claim(struct store *s, const char *ns, int64_t lo, int64_t hi,
                        const int64_t *avoid, size_t n_avoid, int64_t *ret_uid, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_NS_USER_CLAIM};
    int rc;

    op.ns_user_claim.ns = ns;
    op.ns_user_claim.lo = lo;
    op.ns_user_claim.hi = hi;
    op.ns_user_claim.avoid = avoid;
    op.ns_user_claim.n_avoid = n_avoid;
    rc = exec_into(s, &op, err);
    if (rc >= 0)
        *ret_uid = op.ret_id;
    return rc;
}

int store_audit_insert(struct store *s, const struct store_audit *a, int64_t *ret_id,
                       struct err *err)
{
    struct store_op op = {.kind = STORE_OP_AUDIT_INSERT};
    int rc;

    op.audit_insert.entry = *a;
    rc = exec_into(s, &op, err);
    if (rc >= 0 && ret_id)
        *ret_id = op.ret_id;
    return rc;
}

int store_audit_prune(struct store *s, int64_t before_us, int64_t keep, int64_t *ret_n,
                      struct err *err)
{
    struct store_op op = {.kind = STORE_OP_AUDIT_PRUNE};
    int rc;

    op.audit_prune.before_us = before_us;
    op.audit_prune.keep = keep;
    rc = exec_into(s, &op, err);
    if (rc >= 0 && ret_n)
        *ret_n = op.ret_id;
    return rc;
}

/* ---- opening and closing ---- */

static void store_release_locks(struct store *s)
{
    pthread_cond_destroy(&s->queue_cond);
    pthread_mutex_destroy(&s->queue_lock);
    pthread_mutex_destroy(&s->write_lock);
    pthread_mutex_destroy(&s->health_lock);
}

/* Frees S when no libuv handle was made: otherwise on_closed() does. */
static void store_free(struct store *s)
{
    store_release_locks(s);
    free(s);
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

int store_open(const struct store_options *opt, struct store **ret, struct err *err)
{
    struct store_options o = *opt;
    const struct store_backend *be = NULL;
    struct store *s;
    size_t i;
    int rc;

    if (!o.path || !*o.path)
        return err_set(err, CHIME_EINVAL, "path", "database path is empty");
    for (i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strncmp(o.path, backends[i].prefix, strlen(backends[i].prefix)) == 0)
            break;
    be = backends[i].be;
    if (!be)
        return err_set(err, CHIME_EINVAL, "path", "'%s' backend is not built into this chime",
                       backends[i].prefix);
    if (o.readers < 0 || o.readers > READERS_MAX || o.busy_timeout_ms < 0 || o.batch_max < 0)
        return err_set(err, CHIME_ERANGE, NULL, "store options are out of range");
    if (!o.readers)
        o.readers = READERS_DEFAULT;
    if (!o.busy_timeout_ms)
        o.busy_timeout_ms = BUSY_TIMEOUT_DEFAULT_MS;
    if (!o.batch_max)
        o.batch_max = BATCH_DEFAULT;

    s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    s->be = be;
    s->batch_max = o.batch_max;
    pthread_mutex_init(&s->health_lock, NULL);
    if (o.metrics) {
        static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
        static const char *const labels[] = {"result", NULL};
        struct metric_family *f = metrics_family(
            o.metrics, METRIC_HISTOGRAM, "chime_store_commit_seconds",
            "Write transactions of the store (group commits), by result, in seconds", labels,
            bounds, sizeof bounds / sizeof bounds[0], -1, 0);

        s->commit_ok = metrics_get(f, (const char *const[]){"committed"});
        s->commit_failed = metrics_get(f, (const char *const[]){"failed"});
    }
    s->loop = o.loop;
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_mutex_init(&s->queue_lock, NULL);
    pthread_cond_init(&s->queue_cond, NULL);

    rc = be->open(&o, &s->b, err);
    if (rc < 0) {
        store_free(s);
        return rc;
    }
    if (s->loop) {
        if (uv_async_init(s->loop, &s->async, on_done) < 0) {
            be->close(s->b);
            store_free(s);
            return err_set(err, CHIME_EIO, NULL, "cannot make the store's wake-up");
        }
        s->async.data = s;
        if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
            be->close(s->b);
            store_release_locks(s);
            uv_close((uv_handle_t *)&s->async, on_closed); /* frees s */
            return err_set(err, CHIME_EIO, NULL, "cannot start the store thread");
        }
    }
    *ret = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->loop) {
        pthread_mutex_lock(&s->queue_lock);
        s->stopping = true;
        pthread_cond_signal(&s->queue_cond);
        pthread_mutex_unlock(&s->queue_lock);
        pthread_join(s->thread, NULL);
        done_drain(s);
    }
    s->be->close(s->b);
    if (s->loop) {
        store_release_locks(s);
        uv_close((uv_handle_t *)&s->async, on_closed); /* frees s */
    } else {
        store_free(s);
    }
}

/* ---- reading ---- */

int store_job_get(struct store *s, const char *ns, const char *name, struct store_job *ret,
                  struct err *err)
{
    return store_job_get_version(s, ns, name, 0, ret, err);
}

int store_job_get_version(struct store *s, const char *ns, const char *name, int64_t version,
                          struct store_job *ret, struct err *err)
{
    int rc;

    if ((rc = check_name(ns, "namespace", err)) < 0 || (rc = check_name(name, "name", err)) < 0)
        return rc;
    if (version < 0)
        return err_set(err, CHIME_EINVAL, "version", "'%" PRId64 "' is not a version", version);
    return s->be->job_get(s->b, ns, name, version, ret, err);
}

static int check_job_filter(const struct store_job_filter *f, struct err *err)
{
    int rc;

    if (f->ns && (rc = check_name(f->ns, "namespace", err)) < 0)
        return rc;
    if (!f->label_key != !f->label_value)
        return err_set(err, CHIME_EINVAL, "label", "a label filter needs both a key and a value");
    return 0;
}

int store_job_list(struct store *s, const struct store_job_filter *f, struct store_job_page *ret,
                   struct err *err)
{
    int limit = 0, rc;

    if ((rc = check_job_filter(f, err)) < 0 || (rc = check_limit(f->limit, &limit, err)) < 0)
        return rc;
    return s->be->job_list(s->b, f, limit, ret, err);
}

int store_job_count(struct store *s, const struct store_job_filter *f, int64_t *ret,
                    struct err *err)
{
    int rc = check_job_filter(f, err);

    return rc < 0 ? rc : s->be->job_count(s->b, f, ret, err);
}

int store_job_versions(struct store *s, const char *ns, const char *name, const char *cursor,
                       int limit, struct store_version_page *ret, struct err *err)
{
    int rc;

    if ((rc = check_name(ns, "namespace", err)) < 0 || (rc = check_name(name, "name", err)) < 0
        || (rc = check_limit(limit, &limit, err)) < 0)
        return rc;
    return s->be->job_versions(s->b, ns, name, cursor, limit, ret, err);
}

int store_job_scan(struct store *s, store_job_scan_cb *cb, void *ctx, struct err *err)
{
    if (!cb)
        return err_set(err, CHIME_EINVAL, NULL, "no callback");
    return s->be->job_scan(s->b, cb, ctx, err);
}

int store_job_doc(struct store *s, int64_t job_id, int64_t version, char **ret, size_t *ret_len,
                  struct err *err)
{
    int rc = check_id(job_id, "job_id", err);

    if (rc == 0 && version < 1)
        rc = err_set(err, CHIME_EINVAL, "version", "'%" PRId64 "' is not a version", version);
    return rc < 0 ? rc : s->be->job_doc(s->b, job_id, version, ret, ret_len, err);
}

int store_job_doc_find(struct store *s, const char *needle, int64_t newest, char **ret,
                       size_t *ret_len, struct err *err)
{
    if (!needle || !needle[0] || newest < 0)
        return err_set(err, CHIME_EINVAL, NULL, "nothing to look for");
    return s->be->job_doc_find(s->b, needle, newest, ret, ret_len, err);
}

int store_run_get(struct store *s, int64_t id, struct store_run *ret, struct err *err)
{
    int rc = check_id(id, "id", err);

    return rc < 0 ? rc : s->be->run_get(s->b, id, ret, err);
}

/* A filter's namespace and job: none, a namespace, or both. */
static int check_filter_job(const char *ns, const char *name, struct err *err)
{
    int rc;

    if (ns && (rc = check_name(ns, "namespace", err)) < 0)
        return rc;
    if (name && !ns)
        return err_set(err, CHIME_EINVAL, "job", "a job filter needs a namespace");
    if (name && (rc = check_name(name, "name", err)) < 0)
        return rc;
    return 0;
}

static int check_run_filter(const struct store_run_filter *f, struct err *err)
{
    int rc = check_filter_job(f->ns, f->name, err);

    return rc < 0 ? rc : check_state(f->state, true, "state", err);
}

int store_run_list(struct store *s, const struct store_run_filter *f, struct store_run_page *ret,
                   struct err *err)
{
    int limit = 0, rc;

    if ((rc = check_run_filter(f, err)) < 0 || (rc = check_limit(f->limit, &limit, err)) < 0)
        return rc;
    return s->be->run_list(s->b, f, limit, ret, err);
}

int store_run_count(struct store *s, const struct store_run_filter *f, int64_t *ret,
                    struct err *err)
{
    int rc = check_run_filter(f, err);

    return rc < 0 ? rc : s->be->run_count(s->b, f, ret, err);
}

int store_run_unfinished(struct store *s, struct store_run_page *ret, struct err *err)
{
    return s->be->run_unfinished(s->b, ret, err);
}

int store_dead_list(struct store *s, const struct store_dead_filter *f, struct store_dead_page *ret,
                    struct err *err)
{
    int limit = 0, rc;

    if ((rc = check_filter_job(f->ns, f->name, err)) < 0
        || (rc = check_limit(f->limit, &limit, err)) < 0)
        return rc;
    return s->be->dead_list(s->b, f, limit, ret, err);
}

int store_token_get(struct store *s, const char *key, struct store_token *ret, struct err *err)
{
    if (!key || !*key || strnlen(key, STORE_TOKEN_KEY_MAX + 1) > STORE_TOKEN_KEY_MAX)
        return err_set(err, CHIME_EINVAL, "token", "not a token id");
    return s->be->token_get(s->b, key, ret, err);
}

int store_token_list(struct store *s, bool revoked, const char *cursor, int limit,
                     struct store_token_page *ret, struct err *err)
{
    int rc = check_limit(limit, &limit, err);

    return rc < 0 ? rc : s->be->token_list(s->b, revoked, cursor, limit, ret, err);
}

int store_token_count(struct store *s, int64_t *ret, struct err *err)
{
    return s->be->token_count(s->b, ret, err);
}

static int check_audit_filter(const struct store_audit_filter *f, struct err *err)
{
    int rc = check_filter_job(f->ns, f->name, err);

    if (rc == 0 && f->ns && !f->name)
        rc = err_set(err, CHIME_EINVAL, "job", "an audit filter names a whole job");
    if (rc == 0 && f->token)
        rc = check_text(f->token, STORE_TEXT_MAX, "token", err);
    return rc;
}

int store_audit_list(struct store *s, const struct store_audit_filter *f,
                     struct store_audit_page *ret, struct err *err)
{
    int limit = 0, rc;

    if ((rc = check_audit_filter(f, err)) < 0 || (rc = check_limit(f->limit, &limit, err)) < 0)
        return rc;
    return s->be->audit_list(s->b, f, limit, ret, err);
}

int store_audit_count(struct store *s, const struct store_audit_filter *f, int64_t *ret,
                      struct err *err)
{
    int rc = check_audit_filter(f, err);

    return rc < 0 ? rc : s->be->audit_count(s->b, f, ret, err);
}

static int check_outbox_filter(const struct store_outbox_filter *f, struct err *err)
{
    int rc = check_filter_job(f->ns, f->name, err);

    if (rc == 0 && f->channel)
        rc = check_name(f->channel, "channel", err);
    if (rc == 0 && f->state && ((int)f->state < 0 || f->state >= STORE_OUTBOX_STATE_END))
        rc = err_set(err, CHIME_EINVAL, "state", "'%d' is not a notification state",
                     (int)f->state);
    return rc;
}

int store_outbox_list(struct store *s, const struct store_outbox_filter *f,
                      struct store_outbox_page *ret, struct err *err)
{
    int limit = 0, rc;

    if ((rc = check_outbox_filter(f, err)) < 0 || (rc = check_limit(f->limit, &limit, err)) < 0)
        return rc;
    return s->be->outbox_list(s->b, f, limit, ret, err);
}

int store_outbox_count(struct store *s, const struct store_outbox_filter *f, int64_t *ret,
                       struct err *err)
{
    int rc = check_outbox_filter(f, err);

    return rc < 0 ? rc : s->be->outbox_count(s->b, f, ret, err);
}

int store_outbox_get(struct store *s, int64_t id, struct store_outbox *ret, struct err *err)
{
    int rc = check_id(id, "id", err);

    return rc < 0 ? rc : s->be->outbox_get(s->b, id, ret, err);
}

int store_outbox_next_due(struct store *s, int64_t *ret_us, struct err *err)
{
    return s->be->outbox_next_due(s->b, ret_us, err);
}

int store_check(struct store *s, struct err *err)
{
    return s->be->check(s->b, err);
}

int store_backup(struct store *s, const char *dest, struct err *err)
{
    if (!dest || !*dest)
        return err_set(err, CHIME_EINVAL, "path", "a backup needs a destination");
    return s->be->backup(s->b, dest, err);
}

void store_write_health(struct store *s, int64_t *ret_commit_us, int64_t *ret_failure_us,
                        char *error, size_t len)
{
    pthread_mutex_lock(&s->health_lock);
    *ret_commit_us = s->last_commit_us;
    *ret_failure_us = s->last_failure_us;
    snprintf(error, len, "%s", s->last_error);
    pthread_mutex_unlock(&s->health_lock);
}

void store_stats(struct store *s, struct store_stats *ret)
{
    pthread_mutex_lock(&s->write_lock);
    *ret = s->stats;
    pthread_mutex_unlock(&s->write_lock);
}
