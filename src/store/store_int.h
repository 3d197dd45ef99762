/* store_int.h: what the store's backend-neutral files share: store.c
 * (opening, closing, the calls of the interface), store_writer.c (the
 * write queue, its thread and group commit) and store_args.c (checking
 * arguments before a backend sees them). Private to src/store/store*.c;
 * the backends see struct store_backend (backend.h), never struct store. */
#ifndef CHIME_STORE_INT_H
#define CHIME_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "store/store.h"

struct err;
struct metric;
struct store_backend;

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

/* ---- store_args.c ---- */

/* Clears OP's results and refuses it (op->rc < 0) when malformed. */
void store_op_prepare(struct store_op *op);
/* S as a namespace, job or channel name in FIELD: not empty, at most
 * STORE_NAME_MAX bytes. */
int store_arg_name(const char *s, const char *field, struct err *err);
/* S (NULL: none) at most MAX bytes. */
int store_arg_text(const char *s, size_t max, const char *field, struct err *err);
/* ID as a row id: positive. */
int store_arg_id(int64_t id, const char *field, struct err *err);
/* ST as a run state; 0 too when ZERO_OK (a filter without one). */
int store_arg_state(enum store_run_state st, bool zero_ok, const char *field, struct err *err);
/* LIMIT as a page size, 0 for the default, into *RET. */
int store_arg_limit(int limit, int *ret, struct err *err);

/* ---- store_writer.c ---- */

/* The store thread: takes batches off the queue until stopping. */
void *store_writer_main(void *arg);
/* Calls back every done op, in order. On the loop thread. */
void store_writer_drain(struct store *s);
/* The loop's wake-up for done ops (s->async). */
void store_writer_on_done(uv_async_t *h);

#endif
