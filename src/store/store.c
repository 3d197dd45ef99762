/* store.c: the store's backend-neutral half: opening and closing, and the
 * calls of the interface, each dispatched to a backend after its arguments
 * are checked. The checks are in store_args.c, the write queue with its
 * thread and group commit in store_writer.c, what they share in
 * store_int.h. */
#include "store/store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "store/backend.h"
#include "store/store_int.h"
#include "util/err.h"
#include "util/metrics.h"
#include "../banned.h"

#define READERS_DEFAULT         4
#define READERS_MAX             64
#define BUSY_TIMEOUT_DEFAULT_MS 5000
#define BATCH_DEFAULT           256

static const struct {
    const char *prefix;
    const struct store_backend *be; /* NULL: known but not built */
} backends[] = {
    {"postgres://", NULL},
    {"postgresql://", NULL},
    {"", &sqlite_backend},
};

/* ---- writing: the interface's shorthands ---- */

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
        if (uv_async_init(s->loop, &s->async, store_writer_on_done) < 0) {
            be->close(s->b);
            store_free(s);
            return err_set(err, CHIME_EIO, NULL, "cannot make the store's wake-up");
        }
        s->async.data = s;
        if (pthread_create(&s->thread, NULL, store_writer_main, s) != 0) {
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
        store_writer_drain(s);
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

    if ((rc = store_arg_name(ns, "namespace", err)) < 0
        || (rc = store_arg_name(name, "name", err)) < 0)
        return rc;
    if (version < 0)
        return err_set(err, CHIME_EINVAL, "version", "'%" PRId64 "' is not a version", version);
    return s->be->job_get(s->b, ns, name, version, ret, err);
}

static int check_job_filter(const struct store_job_filter *f, struct err *err)
{
    int rc;

    if (f->ns && (rc = store_arg_name(f->ns, "namespace", err)) < 0)
        return rc;
    if (!f->label_key != !f->label_value)
        return err_set(err, CHIME_EINVAL, "label", "a label filter needs both a key and a value");
    return 0;
}

int store_job_list(struct store *s, const struct store_job_filter *f, struct store_job_page *ret,
                   struct err *err)
{
    int limit = 0, rc;

    if ((rc = check_job_filter(f, err)) < 0 || (rc = store_arg_limit(f->limit, &limit, err)) < 0)
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

    if ((rc = store_arg_name(ns, "namespace", err)) < 0
        || (rc = store_arg_name(name, "name", err)) < 0
        || (rc = store_arg_limit(limit, &limit, err)) < 0)
        return rc;
    return s->be->job_versions(s->b, ns, name, cursor, limit, ret, err);
}

int store_job_scan(struct store *s, store_job_scan_cb *cb, void *ctx, struct err *err)
{
    if (!cb)
        return err_set(err, CHIME_EINVAL, NULL, "no callback");
    return s->be->job_scan(s->b, cb, ctx, err);
}

int store_job_heads(struct store *s, const char *author, store_job_head_cb *cb, void *ctx,
                    struct err *err)
{
    if (!cb)
        return err_set(err, CHIME_EINVAL, NULL, "no callback");
    return s->be->job_heads(s->b, author, cb, ctx, err);
}

int store_job_doc(struct store *s, int64_t job_id, int64_t version, char **ret, size_t *ret_len,
                  struct err *err)
{
    int rc = store_arg_id(job_id, "job_id", err);

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
    int rc = store_arg_id(id, "id", err);

    return rc < 0 ? rc : s->be->run_get(s->b, id, ret, err);
}

/* A filter's namespace and job: none, a namespace, or both. */
static int check_filter_job(const char *ns, const char *name, struct err *err)
{
    int rc;

    if (ns && (rc = store_arg_name(ns, "namespace", err)) < 0)
        return rc;
    if (name && !ns)
        return err_set(err, CHIME_EINVAL, "job", "a job filter needs a namespace");
    if (name && (rc = store_arg_name(name, "name", err)) < 0)
        return rc;
    return 0;
}

static int check_run_filter(const struct store_run_filter *f, struct err *err)
{
    int rc = check_filter_job(f->ns, f->name, err);

    return rc < 0 ? rc : store_arg_state(f->state, true, "state", err);
}

int store_run_list(struct store *s, const struct store_run_filter *f, struct store_run_page *ret,
                   struct err *err)
{
    int limit = 0, rc;

    if ((rc = check_run_filter(f, err)) < 0 || (rc = store_arg_limit(f->limit, &limit, err)) < 0)
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
        || (rc = store_arg_limit(f->limit, &limit, err)) < 0)
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
    int rc = store_arg_limit(limit, &limit, err);

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
        rc = store_arg_text(f->token, STORE_TEXT_MAX, "token", err);
    return rc;
}

int store_audit_list(struct store *s, const struct store_audit_filter *f,
                     struct store_audit_page *ret, struct err *err)
{
    int limit = 0, rc;

    if ((rc = check_audit_filter(f, err)) < 0 || (rc = store_arg_limit(f->limit, &limit, err)) < 0)
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
        rc = store_arg_name(f->channel, "channel", err);
    if (rc == 0 && f->state && ((int)f->state < 0 || f->state >= STORE_OUTBOX_STATE_END))
        rc = err_set(err, CHIME_EINVAL, "state", "'%d' is not a notification state",
                     (int)f->state);
    return rc;
}

int store_outbox_list(struct store *s, const struct store_outbox_filter *f,
                      struct store_outbox_page *ret, struct err *err)
{
    int limit = 0, rc;

    if ((rc = check_outbox_filter(f, err)) < 0 || (rc = store_arg_limit(f->limit, &limit, err)) < 0)
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
    int rc = store_arg_id(id, "id", err);

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
