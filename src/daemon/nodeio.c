/* nodeio.c: the daemon's real node_io (node_int.h): the store, the
 * runner, the notifier and the wall clock. The daemon's logic reaches
 * them only through n->io, so its unit tests (node_test.c) put fakes in
 * their place and drive time themselves. */
#include "daemon/node_int.h"

#include <stdlib.h>
#include <time.h>

#include "exec/exec.h"
#include "notify/notify.h"
#include "store/store.h"
#include "../banned.h"

int64_t node_wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t io_now_us(struct node *n)
{
    (void)n;
    return node_wall_us();
}

static void *io_alloc(struct node *n, size_t size)
{
    (void)n;
    return calloc(1, size);
}

static int io_submit(struct node *n, struct store_op *op, store_cb *cb)
{
    return store_submit(n->store, op, cb);
}

static int io_exec_all(struct node *n, struct store_op *const *ops, size_t n_ops)
{
    return store_exec_all(n->store, ops, n_ops);
}

static int io_runs_unfinished(struct node *n, struct store_run_page *ret, struct err *err)
{
    return store_run_unfinished(n->store, ret, err);
}

static int io_run_update(struct node *n, const struct store_run *r, struct err *err)
{
    return store_run_update(n->store, r, 0, err);
}

static int io_job_doc(struct node *n, int64_t job_id, int64_t version, char **ret,
                      size_t *ret_len, struct err *err)
{
    return store_job_doc(n->store, job_id, version, ret, ret_len, err);
}

static int io_exec_start(struct node *n, const struct exec_spec *spec,
                         const struct exec_callbacks *cb, struct exec_run **ret, struct err *err)
{
    return exec_start(n->exec, spec, cb, ret, err);
}

static int io_exec_attach(struct node *n, const char *dir, const struct exec_callbacks *cb,
                          struct exec_run **ret, struct err *err)
{
    return exec_attach(n->exec, dir, cb, ret, err);
}

static void io_exec_cancel(struct node *n, struct exec_run *er)
{
    (void)n;
    exec_cancel(er);
}

static void io_notify_event(struct node *n, const struct payload_event *e, int64_t version,
                            const char *key)
{
    if (n->notify)
        notify_event(n->notify, e, version, key);
}

const struct node_io node_io_real = {
    io_now_us,      io_alloc,       io_submit,      io_exec_all,    io_runs_unfinished,
    io_run_update,  io_job_doc,     io_exec_start,  io_exec_attach, io_exec_cancel,
    io_notify_event,
};
