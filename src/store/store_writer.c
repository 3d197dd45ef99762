/* store_writer.c: the write queue and its thread.
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
#include "store/store_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "store/backend.h"
#include "util/err.h"
#include "util/metrics.h"
#include "../banned.h"

#define LAZY_WAIT_US 1000 /* the longest a batch of lazy ops waits for company */

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
    store_op_prepare(op);
    write_batch(s, op);
    return op->rc;
}

/* Prepares OPS and links them into one list, for one transaction. */
static void ops_chain(struct store_op *const *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        store_op_prepare(ops[i]);
        if (i > 0)
            ops[i - 1]->next = ops[i];
    }
}

/* Counts OPS once written and unlinks them; returns the index of FAILED
 * among them (N: not one of them). Under s->write_lock. */
static size_t ops_unchain(struct store *s, struct store_op *const *ops, size_t n,
                          const struct store_op *failed)
{
    size_t at = n;

    for (size_t i = 0; i < n; i++) {
        s->stats.ops++;
        if (ops[i]->rc < 0)
            s->stats.failed_ops++;
        ops[i]->next = NULL;
        if (ops[i] == failed)
            at = i;
    }
    return at;
}

int store_exec_all(struct store *s, struct store_op *const *ops, size_t n)
{
    struct err e = {0};
    int rc;

    if (n == 0)
        return 0;
    ops_chain(ops, n);
    pthread_mutex_lock(&s->write_lock);
    rc = batch_write(s, ops[0], &e);
    ops_unchain(s, ops, n, NULL);
    pthread_mutex_unlock(&s->write_lock);
    return rc;
}

int store_exec_atomic(struct store *s, struct store_op *const *ops, size_t n, size_t *ret_failed,
                      struct err *err)
{
    struct store_op *failed = NULL;
    struct err e = {0};
    size_t at;
    int rc;

    if (n == 0)
        return 0;
    ops_chain(ops, n);
    pthread_mutex_lock(&s->write_lock);
    rc = s->be->write_atomic(s->b, ops[0], &failed, &e);
    s->stats.batches++;
    if (rc == 0)
        s->stats.commits++;
    at = ops_unchain(s, ops, n, failed);
    pthread_mutex_unlock(&s->write_lock);
    if (at < n && ret_failed)
        *ret_failed = at;
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

void *store_writer_main(void *arg)
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
void store_writer_drain(struct store *s)
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

void store_writer_on_done(uv_async_t *h)
{
    store_writer_drain(h->data);
}

int store_submit(struct store *s, struct store_op *op, store_cb *cb)
{
    store_op_prepare(op);
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
