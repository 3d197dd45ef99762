/* store_args.c: every argument checked before a backend sees it: each op
 * kind's check (op_checks, run by store_op_prepare() for every write) and
 * the checks of names, ids, states and page sizes the reads share. A
 * backend can then trust what it is given. */
#include "store/store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "../banned.h"

int store_arg_name(const char *s, const char *field, struct err *err)
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

int store_arg_text(const char *s, size_t max, const char *field, struct err *err)
{
    if (s && strnlen(s, max + 1) > max)
        return err_set(err, CHIME_ETOOBIG, field, "%s is longer than %zu bytes", field, max);
    return 0;
}

int store_arg_id(int64_t id, const char *field, struct err *err)
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

int store_arg_state(enum store_run_state st, bool zero_ok, const char *field, struct err *err)
{
    if ((zero_ok && st == 0) || ((int)st > 0 && st < STORE_RUN_STATE_END))
        return 0;
    return err_set(err, CHIME_EINVAL, field, "'%d' is not a run state", (int)st);
}

/* The fields both run_insert and run_update write. */
static int check_run(const struct store_run *r, struct err *err)
{
    int rc;

    if ((rc = store_arg_state(r->state, false, "state", err)) < 0
        || (rc = store_arg_text(r->node, STORE_TEXT_MAX, "node", err)) < 0)
        return rc;
    return 0;
}

static int check_run_insert(const struct store_op *op, struct err *err)
{
    const struct store_run *r = &op->run_insert.run;
    int rc;

    if ((rc = store_arg_id(r->job_id, "job_id", err)) < 0 || (rc = check_run(r, err)) < 0
        || (rc = store_arg_text(r->triggered_by, STORE_TEXT_MAX, "triggered_by", err)) < 0)
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

    if ((rc = store_arg_id(op->run_update.run.id, "id", err)) < 0
        || (rc = check_run(&op->run_update.run, err)) < 0
        || (rc = store_arg_state(op->run_update.expect_state, true, "expect_state", err)) < 0)
        return rc;
    return 0;
}

static int check_job_put(const struct store_op *op, struct err *err)
{
    int rc;

    if ((rc = store_arg_name(op->job_put.ns, "namespace", err)) < 0
        || (rc = store_arg_name(op->job_put.name, "name", err)) < 0
        || (rc = store_arg_text(op->job_put.author, STORE_TEXT_MAX, "author", err)) < 0
        || (rc = check_version(op->job_put.expect_version, err)) < 0)
        return rc;
    if (!op->job_put.doc)
        return err_set(err, CHIME_EINVAL, "document", "document is missing");
    return store_arg_text(op->job_put.doc, STORE_DOC_MAX, "document", err);
}

static int check_job_delete(const struct store_op *op, struct err *err)
{
    int rc;

    if ((rc = store_arg_name(op->job_delete.ns, "namespace", err)) < 0
        || (rc = store_arg_name(op->job_delete.name, "name", err)) < 0)
        return rc;
    return check_version(op->job_delete.expect_version, err);
}

static int check_job_state(const struct store_op *op, struct err *err)
{
    if (op->job_state.consecutive_failures < 0)
        return err_set(err, CHIME_EINVAL, "consecutive_failures", "'%" PRId64 "' is negative",
                       op->job_state.consecutive_failures);
    return store_arg_id(op->job_state.job_id, "job_id", err);
}

static int check_dead_insert(const struct store_op *op, struct err *err)
{
    if (!op->dead_insert.reason)
        return err_set(err, CHIME_EINVAL, "reason", "reason is missing");
    return store_arg_id(op->dead_insert.run_id, "run_id", err);
}

static int check_dead_remove(const struct store_op *op, struct err *err)
{
    return store_arg_id(op->dead_remove.run_id, "run_id", err);
}

/* Texts of a plan are names and expressions: short, bounded like a document. */
static int check_job_plan(const struct store_op *op, struct err *err)
{
    const struct store_job_plan *p = &op->job_plan.plan;
    const char *texts[] = {p->kind, p->cron, p->zone, p->after, p->when, p->concurrency,
                           p->catch_up};
    int rc;

    if ((rc = store_arg_id(op->job_plan.job_id, "job_id", err)) < 0)
        return rc;
    if (p->version < 1)
        return err_set(err, CHIME_EINVAL, "version", "'%" PRId64 "' is not a version",
                       p->version);
    if (!p->kind)
        return err_set(err, CHIME_EINVAL, "kind", "a plan needs its schedule's kind");
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if ((rc = store_arg_text(texts[i], STORE_DOC_MAX, "plan", err)) < 0)
            return rc;
    return 0;
}

static int check_token_insert(const struct store_op *op, struct err *err)
{
    const struct store_token *t = op->token_insert.token;
    int rc;

    if (!t)
        return err_set(err, CHIME_EINVAL, "token", "token is missing");
    if ((rc = store_arg_name(t->name, "name", err)) < 0
        || (rc = store_arg_text(t->created_by, STORE_TEXT_MAX, "created_by", err)) < 0
        || (rc = store_arg_text(t->namespaces, STORE_DOC_MAX, "namespaces", err)) < 0)
        return rc;
    if (!t->key[0] || !t->role[0])
        return err_set(err, CHIME_EINVAL, "key", "a token needs its key and role");
    if (t->hash_len == 0 || t->hash_len > STORE_TOKEN_HASH_MAX)
        return err_set(err, CHIME_EINVAL, "hash", "a token needs the hash of its secret");
    return 0;
}

static int check_token_revoke(const struct store_op *op, struct err *err)
{
    return store_arg_name(op->token_revoke.name, "name", err);
}

static int check_audit_insert(const struct store_op *op, struct err *err)
{
    const struct store_audit *a = &op->audit_insert.entry;
    int rc;

    if (!a->method || !a->route || !a->target)
        return err_set(err, CHIME_EINVAL, "method", "an audit entry needs its request");
    if ((rc = store_arg_text(a->token, STORE_TEXT_MAX, "token", err)) < 0
        || (rc = store_arg_text(a->address, STORE_TEXT_MAX, "address", err)) < 0
        || (rc = store_arg_text(a->method, STORE_TEXT_MAX, "method", err)) < 0
        || (rc = store_arg_text(a->route, STORE_TEXT_MAX, "route", err)) < 0)
        return rc;
    if (!a->ns[0] != !a->name[0])
        return err_set(err, CHIME_EINVAL, "job", "an audit entry's job needs both names");
    return 0;
}

static int check_ns_user_claim(const struct store_op *op, struct err *err)
{
    int rc = store_arg_name(op->ns_user_claim.ns, "namespace", err);

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
        return store_arg_text(op->outbox_add.channels, STORE_PAYLOAD_MAX, "channels", err);
    }
    if ((rc = store_arg_name(op->outbox_add.ns, "namespace", err)) < 0)
        return rc;
    return store_arg_name(op->outbox_add.name, "name", err);
}

static int check_outbox_add(const struct store_op *op, struct err *err)
{
    int rc;

    if ((rc = check_outbox_owner(op, err)) < 0
        || (rc = store_arg_text(op->outbox_add.event, STORE_EVENT_MAX, "event", err)) < 0
        || (rc = store_arg_text(op->outbox_add.key, STORE_TEXT_MAX, "key", err)) < 0
        || (rc = store_arg_text(op->outbox_add.payload, STORE_PAYLOAD_MAX, "payload", err)) < 0)
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
    return store_arg_id(op->outbox_done.id, "id", err);
}

static int check_outbox_requeue(const struct store_op *op, struct err *err)
{
    return op->outbox_requeue.id ? store_arg_id(op->outbox_requeue.id, "id", err) : 0;
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
        return store_arg_id(op->retain.job_id, "job_id", err);
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
void store_op_prepare(struct store_op *op)
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

int store_arg_limit(int limit, int *ret, struct err *err)
{
    if (limit < 0 || limit > STORE_LIMIT_MAX)
        return err_set(err, CHIME_ERANGE, "limit", "'%d' is out of range 1-%d", limit,
                       STORE_LIMIT_MAX);
    *ret = limit ? limit : STORE_LIMIT_DEFAULT;
    return 0;
}
