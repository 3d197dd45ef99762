/* nodecall.c: calls from the API's threads into the engine. A call is
 * queued under the node's mutex, the loop is woken (uv_async_t), runs it,
 * and the caller waits on the call's condition variable. A trigger's call
 * is answered later, when the store has recorded the run (its id is what
 * the API returns). During shutdown calls are refused, never left waiting. */
#include "daemon/node_int.h"

#include <stdlib.h>
#include <string.h>

#include "job/jobsave.h"
#include "notify/notify.h"
#include "sched/sched.h"
#include "store/store.h"
#include "util/err.h"
#include "../banned.h"

/* Runs C on the loop and waits for it. */
static int call(struct node *n, struct call *c)
{
    pthread_cond_init(&c->cv, NULL);
    pthread_mutex_lock(&n->mu);
    if (n->stopping) {
        pthread_mutex_unlock(&n->mu);
        pthread_cond_destroy(&c->cv);
        return err_set(&c->err, CHIME_EIO, NULL, "the daemon is shutting down");
    }
    c->next = n->calls;
    n->calls = c;
    pthread_mutex_unlock(&n->mu);
    uv_async_send(&n->wake);
    pthread_mutex_lock(&n->mu);
    while (!c->done)
        pthread_cond_wait(&c->cv, &n->mu);
    pthread_mutex_unlock(&n->mu);
    pthread_cond_destroy(&c->cv);
    return c->rc;
}

int node_check_channels(void *ctx, const struct job *j, struct err *err)
{
    struct node *n = ctx;

    return n->notify ? notify_check_job(n->notify, j, err) : 0;
}

static void engine_fail(struct jobsave_item *it, const struct err *e, int *n)
{
    it->engine_failed = true;
    it->err = *e;
    (*n)++;
}

/* The engine's copy of J (borrowed), or NULL when one cannot be made:
 * made from its plan on the loop's thread, as a job loaded from the store
 * is; the plan goes to the store (job KEY) for the next start-up unless
 * the save wrote it already (PLANNED, jobsave_write()). The engine keeps
 * the copy for as long as it schedules it. J stays with its batch, to be
 * freed on the thread that allocated it: freed here, its chunks would go
 * to this thread's cache and come back as the next copies' (a name is as
 * long as a name), and each copy would then keep a page of the API
 * thread's heap from being given back. */
static struct job *engine_copy(struct node *n, const struct job *j, int64_t key, int64_t version,
                               bool planned)
{
    struct store_job_plan p;
    struct job *c = NULL;
    char *texts = NULL;

    if (job_plan_make(j, version, &p, &texts) < 0)
        return NULL;
    if (job_from_plan(&p, j->ns, j->name, &c, NULL) < 0) {
        free(texts);
        return NULL;
    }
    c->paused = j->paused;
    if (planned)
        free(texts);
    else
        node_plan_write(n, key, &p, texts);
    return c;
}

int node_jobs_apply(struct node *n, struct jobsave *b)
{
    size_t count = jobsave_count(b), *order = calloc(count + 1, sizeof *order);
    ssize_t k = order ? jobsave_order(b, order) : -CHIME_ENOMEM;
    int64_t now = node_now_us(n);
    int refused = 0;
    /* the plans of a batch are written in transactions of many
     * (node_plans_flush()), not one submitted each */
    bool gather = !n->loading && count > 1;

    if (k < 0) {
        struct err e = { 0 };

        err_set(&e, CHIME_ENOMEM, "", "out of memory handing the jobs to the engine");
        for (size_t i = 0; i < count; i++) {
            struct jobsave_item *it = jobsave_item(b, i);

            if (!it->failed && it->act != JOBSAVE_UNCHANGED)
                engine_fail(it, &e, &refused);
        }
    }
    n->loading |= gather;
    for (ssize_t i = 0; i < k; i++) {
        struct jobsave_item *it = jobsave_item(b, order[i]);
        struct err e = { 0 };
        struct job *j = it->job;
        int rc;

        if (it->act == JOBSAVE_REMOVE) {
            rc = sched_job_remove(n->sched, it->id, &e);
            rc = rc == -CHIME_ENOTFOUND ? 0 : rc; /* it never loaded: gone all the same */
        } else if (it->act == JOBSAVE_STATE) {
            rc = sched_job_pause(n->sched, it->id, it->job->paused, now, &e);
        } else {
            struct job *c = engine_copy(n, j, it->key, it->version, it->planned);

            /* the engine takes the job, also when it fails */
            if (c)
                j = c;
            else
                it->job = NULL;
            rc = sched_job_put(n->sched, j, it->key, it->version, INT64_MIN, now, now, &e);
        }
        if (rc < 0)
            engine_fail(it, &e, &refused);
    }
    if (gather) {
        node_plans_flush(n);
        n->loading = false;
    }
    free(order);
    return refused;
}

static int do_jobs_apply(struct node *n, struct call *c)
{
    c->u.apply.refused = node_jobs_apply(n, c->u.apply.batch);
    return 0;
}

static int do_job_remove(struct node *n, struct call *c)
{
    return sched_job_remove(n->sched, c->u.remove.id, &c->err);
}

static int do_job_pause(struct node *n, struct call *c)
{
    return sched_job_pause(n->sched, c->u.pause.id, c->u.pause.paused, node_now_us(n), &c->err);
}

static int do_trigger(struct node *n, struct call *c)
{
    struct sched_run *r = NULL;
    int rc = sched_trigger(n->sched, c->u.trigger.id, c->u.trigger.params, c->u.trigger.who,
                           node_now_us(n), &r, &c->err);
    struct hostrun *h;

    if (rc == -CHIME_ECONFLICT)
        c->u.trigger.run_id = r->id;     /* the live run that refused it */
    if (rc < 0)
        return rc;
    h = r->user;        /* op_record made it, and the insert is on its way */
    if (!h)
        return err_set(&c->err, CHIME_EIO, NULL, "the run could not be recorded");
    h->waiter = c;
    c->u.trigger.host = h;
    c->deferred = true;
    c->next_deferred = n->deferred;
    n->deferred = c;
    return 0;
}

static int do_cancel(struct node *n, struct call *c)
{
    return sched_cancel(n->sched, c->u.cancel.run_id, &c->err);
}

static int (*const call_fns[])(struct node *n, struct call *c) = {
    [CALL_JOBS_APPLY] = do_jobs_apply, [CALL_JOB_REMOVE] = do_job_remove,
    [CALL_JOB_PAUSE] = do_job_pause,   [CALL_TRIGGER] = do_trigger,
    [CALL_CANCEL] = do_cancel,
};

void node_on_wake(uv_async_t *a)
{
    struct node *n = a->data;
    struct call *c, *todo;

    pthread_mutex_lock(&n->mu);
    todo = n->calls;
    n->calls = NULL;
    pthread_mutex_unlock(&n->mu);
    /* the queue is newest first: reverse it to keep arrival order */
    for (c = NULL; todo;) {
        struct call *next = todo->next;

        todo->next = c;
        c = todo;
        todo = next;
    }
    while (c) {
        struct call *next = c->next;

        c->rc = n->stopping ? err_set(&c->err, CHIME_EIO, NULL, "the daemon is shutting down")
                            : call_fns[c->kind](n, c);
        node_tick(n);
        if (!c->deferred) {
            pthread_mutex_lock(&n->mu);
            c->done = true;
            pthread_cond_broadcast(&c->cv);
            pthread_mutex_unlock(&n->mu);
        }
        c = next;
    }
}

static int api_jobs_apply(void *ctx, struct jobsave *b, struct err *err)
{
    struct call c = { .kind = CALL_JOBS_APPLY, .u.apply.batch = b };
    int rc = call(ctx, &c);

    if (rc < 0) {
        if (err)
            *err = c.err;
        return rc;
    }
    return c.u.apply.refused;
}

static int api_job_remove(void *ctx, const char *id, struct err *err)
{
    struct call c = { .kind = CALL_JOB_REMOVE, .u.remove.id = id };
    int rc = call(ctx, &c);

    if (rc < 0 && err)
        *err = c.err;
    return rc;
}

static int api_job_pause(void *ctx, const char *id, bool paused, struct err *err)
{
    struct call c = { .kind = CALL_JOB_PAUSE, .u.pause = { id, paused } };
    int rc = call(ctx, &c);

    if (rc < 0 && err)
        *err = c.err;
    return rc;
}

static int api_trigger(void *ctx, const char *id, const char *params, const char *who,
                       int64_t *ret_run_id, struct err *err)
{
    struct call c = { .kind = CALL_TRIGGER, .u.trigger = { id, params, who, 0, NULL } };
    int rc = call(ctx, &c);

    if (rc == 0 || rc == -CHIME_ECONFLICT)
        *ret_run_id = c.u.trigger.run_id;
    if (rc < 0 && err)
        *err = c.err;
    return rc;
}

static int api_cancel(void *ctx, int64_t run_id, struct err *err)
{
    struct call c = { .kind = CALL_CANCEL, .u.cancel.run_id = run_id };
    int rc = call(ctx, &c);

    if (rc < 0 && err)
        *err = c.err;
    return rc;
}

/* A read: under the engine lock, not through the loop (node_int.h). */
static int64_t api_job_next(void *ctx, const char *id)
{
    struct node *n = ctx;
    int64_t next;

    pthread_rwlock_rdlock(&n->engine_lk);
    next = sched_job_next(n->sched, id);
    pthread_rwlock_unlock(&n->engine_lk);
    return next;
}


void node_refuse_calls(struct node *n)
{
    struct call *c;

    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    c = n->calls;
    n->calls = NULL;
    for (; c; c = c->next) {
        c->rc = err_set(&c->err, CHIME_EIO, NULL, "the daemon is shutting down");
        c->done = true;
        pthread_cond_broadcast(&c->cv);
    }
    /* triggers still waiting for their record: the record may come after
     * the API has stopped, so answer them now (the run itself is safe:
     * recorded as queued, started at the next start) */
    for (c = n->deferred; c; c = c->next_deferred)
        if (!c->done) {
            c->u.trigger.host->waiter = NULL;
            c->rc = err_set(&c->err, CHIME_EIO, NULL, "the daemon is shutting down");
            c->done = true;
            pthread_cond_broadcast(&c->cv);
        }
    n->deferred = NULL;
    pthread_mutex_unlock(&n->mu);
}

struct api_engine node_api_engine(struct node *n)
{
    return (struct api_engine){ n, api_jobs_apply, api_job_remove,
                                api_job_pause, api_trigger, api_cancel, api_job_next };
}
