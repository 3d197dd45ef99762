/* sqlite_outbox.c: the notification outbox in SQLite (docs/notify.md).
 *
 * The invariant: one row per (event, channel), and one delivered mark per
 * row. An add is INSERT ... SELECT over the channels the job's document
 * lists for the event, ON CONFLICT (event_key, channel) DO NOTHING, so an
 * event seen twice (a restart that replays a run's end) is recorded once.
 * A claim is one UPDATE that takes the row due first and counts the
 * attempt; its result is written only while the row is still that claim
 * (state delivering, the same attempt count), so a late answer of a
 * deliverer whose lease ran out cannot overwrite a newer one.
 *
 * The daemon's own events (error_rate, error_rate_ok) have no job: their
 * rows go to the channels the add names, job_id NULL, and reads show
 * them with an empty namespace and name; only a reader that sees every
 * namespace lists them. */
#include "store/sqlite_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/err.h"
#include "../banned.h"

#define PRUNE_MAX_DEFAULT 1000

/* A job's event goes to the channels its document lists; a daemon event
 * (no job) to the channels the op names. Both statements number their
 * parameters alike; each leaves out those it does not use. */
int sqlite_outbox_add(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    bool daemon = op->outbox_add.channels != NULL;
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    if ((rc = sqlite_stmt(c, daemon ? SQ_OUTBOX_ADD_DAEMON : SQ_OUTBOX_ADD, &st, err)) < 0)
        return rc;
    sqlite_bind_str(st, 1, op->outbox_add.ns);
    sqlite_bind_str(st, 2, op->outbox_add.name);
    sqlite_bind_i64(st, 3, op->outbox_add.job_version ? op->outbox_add.job_version : STORE_NULL);
    sqlite_bind_str(st, 4, op->outbox_add.key);
    sqlite_bind_i64(st, 5, op->outbox_add.run_id);
    sqlite_bind_str(st, 6, op->outbox_add.event);
    sqlite_bind_str(st, 7, op->outbox_add.payload);
    sqlite_bind_i64(st, 8, op->outbox_add.now_us);
    sqlite_bind_str(st, 9, op->outbox_add.channels);
    while ((rc = sqlite_row(c, st, "add notifications", err)) == 1) {
        if ((rc = sqlite_grow(&op->ret_ids, &cap, op->n_ret_ids, sizeof *op->ret_ids, err)) < 0)
            break;
        op->ret_ids[op->n_ret_ids++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (rc < 0 && sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_CHECK)
        return err_set(err, CHIME_EINVAL, "event", "'%s' is not a notification event or the"
                       " payload is not JSON", op->outbox_add.event);
    return rc; /* on failure sqlite.c frees ret_ids */
}

/* A row of OUTBOX_COLS into O. */
static int outbox_fill(sqlite3_stmt *st, void *item, struct err *err)
{
    struct store_outbox *o = item;
    const char *text;
    struct err bad = {0};
    int rc;

    memset(o, 0, sizeof *o);
    o->id = sqlite3_column_int64(st, 0);
    text = (const char *)sqlite3_column_text(st, 1);
    snprintf(o->delivery_id, sizeof o->delivery_id, "%s", text ? text : "");
    o->job_id = sqlite_col_i64(st, 2);         /* STORE_NULL: a daemon event */
    sqlite_col_name(st, 3, o->ns);
    sqlite_col_name(st, 4, o->name);
    o->run_id = sqlite_col_i64(st, 5);
    text = (const char *)sqlite3_column_text(st, 6);
    snprintf(o->event, sizeof o->event, "%s", text ? text : "");
    sqlite_col_name(st, 7, o->channel);
    if (store_outbox_state_parse((const char *)sqlite3_column_text(st, 9), "state", &o->state,
                                 &bad) < 0)
        return err_set(err, CHIME_EIO, NULL, "notification %" PRId64 ": %s", o->id, bad.msg);
    o->attempts = sqlite3_column_int64(st, 10);
    o->created_us = sqlite3_column_int64(st, 11);
    o->due_us = sqlite3_column_int64(st, 12);
    o->updated_us = sqlite3_column_int64(st, 13);
    o->delivered_us = sqlite_col_i64(st, 14);
    o->last_status = sqlite_col_i64(st, 15);
    if ((rc = sqlite_col_str(st, 8, &o->payload, NULL, err)) < 0
        || (rc = sqlite_col_str(st, 16, &o->last_error, NULL, err)) < 0)
        return rc;
    return 0;
}

/* Row ID into *RET on connection C: 1, 0 when there is none, or -code. */
static int outbox_read(struct sqlite_conn *c, int64_t id, struct store_outbox *ret,
                       struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_OUTBOX_GET, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    rc = sqlite_row(c, st, "read notification", err);
    if (rc == 1) {
        int frc = outbox_fill(st, ret, err);

        if (frc < 0) {
            store_outbox_release(ret);
            rc = frc;
        }
    }
    sqlite3_reset(st);
    return rc;
}

int sqlite_outbox_claim(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_OUTBOX_CLAIM, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, op->outbox_claim.now_us);
    sqlite_bind_i64(st, 2, op->outbox_claim.lease_us);
    rc = sqlite_row(c, st, "claim a notification", err);
    if (rc == 1)
        id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc <= 0)
        return rc;
    rc = outbox_read(c, id, op->outbox_claim.ret, err);
    if (rc == 0)
        rc = err_set(err, CHIME_EIO, NULL, "notification %" PRId64 " vanished", id);
    if (rc < 0)
        return rc;
    op->ret_id = id;
    return 0;
}

/* Why an update of row ID changed nothing: not there, or in another state. */
static int outbox_conflict(struct sqlite_conn *c, int64_t id, const char *want, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_OUTBOX_STATE_OF, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    rc = sqlite_row(c, st, "read notification state", err);
    if (rc == 1)
        rc = err_set(err, CHIME_ECONFLICT, "state", "notification %" PRId64 " is %s, not %s", id,
                     (const char *)sqlite3_column_text(st, 0), want);
    else if (rc == 0)
        rc = err_set(err, CHIME_ENOTFOUND, "id", "notification %" PRId64 " does not exist", id);
    sqlite3_reset(st);
    return rc;
}

int sqlite_outbox_done(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    const char *e = op->outbox_done.error;
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_OUTBOX_DONE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, op->outbox_done.id);
    sqlite_bind_i64(st, 2, op->outbox_done.attempts);
    sqlite_bind_str(st, 3, store_outbox_state_name(op->outbox_done.state));
    sqlite_bind_i64(st, 4, op->outbox_done.due_us == STORE_NULL ? op->outbox_done.now_us
                                                                : op->outbox_done.due_us);
    sqlite_bind_i64(st, 5, op->outbox_done.status);
    sqlite_bind_text(st, 6, e, e ? store_text_cut(e, STORE_ERROR_MAX) : 0);
    sqlite_bind_i64(st, 7, op->outbox_done.now_us);
    if ((rc = sqlite_run(c, st, "end a delivery", err)) < 0)
        return rc;
    if (sqlite3_changes(c->db) == 0)
        return outbox_conflict(c, op->outbox_done.id, "delivering with that attempt", err);
    return 0;
}

int sqlite_outbox_requeue(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    int64_t id = op->outbox_requeue.id;
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, id ? SQ_OUTBOX_REQUEUE_ONE : SQ_OUTBOX_REQUEUE_ALL, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    sqlite_bind_i64(st, 2, op->outbox_requeue.now_us);
    if ((rc = sqlite_run(c, st, "requeue notifications", err)) < 0)
        return rc;
    op->ret_id = sqlite3_changes(c->db);
    if (id && op->ret_id == 0)
        return outbox_conflict(c, id, "failed", err);
    return 0;
}

int sqlite_outbox_prune(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_OUTBOX_PRUNE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, op->outbox_prune.before_us);
    sqlite_bind_i64(st, 2, op->outbox_prune.max ? op->outbox_prune.max : PRUNE_MAX_DEFAULT);
    if ((rc = sqlite_run(c, st, "prune notifications", err)) < 0)
        return rc;
    op->ret_id = sqlite3_changes(c->db);
    return 0;
}

/* ---- reads ---- */

/* The statement for F's filters, with its parameters bound (but the
 * cursor and the limit); *RET_ST is C's. */
static int outbox_filter(struct sqlite_conn *c, int base, const struct store_outbox_filter *f,
                         sqlite3_stmt **ret_st, struct err *err)
{
    int64_t job_id = 0;
    int mask = 0, rc;

    if (f->name) {
        if ((rc = sqlite_job_id(c, f->ns, f->name, false, &job_id, err)) < 0)
            return rc;
        mask |= SQ_OUTBOX_BY_JOB;
    }
    if (f->state)
        mask |= SQ_OUTBOX_BY_STATE;
    if (f->channel)
        mask |= SQ_OUTBOX_BY_CHANNEL;
    if ((rc = sqlite_stmt(c, base + mask, ret_st, err)) < 0)
        return rc;
    if (!f->name)
        sqlite_bind_str(*ret_st, 3, f->ns);
    sqlite_bind_str(*ret_st, 4, f->ns_in);
    sqlite_bind_i64(*ret_st, 5, job_id);
    if (f->state)
        sqlite_bind_str(*ret_st, 6, store_outbox_state_name(f->state));
    sqlite_bind_str(*ret_st, 7, f->channel);
    return 0;
}

static void outbox_item_release(void *item)
{
    store_outbox_release(item);
}

static void outbox_key(const void *item, struct store_key *ret)
{
    ret->n[0] = ((const struct store_outbox *)item)->id;
}

static int outbox_list_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                            struct err *err)
{
    return outbox_filter(c, SQ_OUTBOX_LIST, arg, ret, err);
}

/* newest first by id */
static const struct sqlite_list outbox_list = {
    .what = "list notifications", .key = STORE_KEY_ONE, .first = INT64_MAX, .key_param = 1,
    .limit_param = 8, .size = sizeof(struct store_outbox), .fill = outbox_fill,
    .release = outbox_item_release, .key_of = outbox_key,
};

int sqlite_outbox_list(void *h, const struct store_outbox_filter *f, int limit,
                       struct store_outbox_page *ret, struct err *err)
{
    struct sqlite_page p;
    int rc = sqlite_page_read(h, &outbox_list, outbox_list_stmt, f, f->cursor, limit, &p, err);

    if (rc == 0)
        SQLITE_PAGE_MOVE(ret, p);
    return rc;
}

int sqlite_outbox_count(void *h, const struct store_outbox_filter *f, int64_t *ret,
                        struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c;
    sqlite3_stmt *st = NULL;
    int rc;

    c = sqlite_reader_take(b);
    if ((rc = outbox_filter(c, SQ_OUTBOX_COUNT, f, &st, err)) < 0)
        goto done;
    rc = sqlite_row(c, st, "count notifications", err);
    if (rc == 1) {
        *ret = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_reset(st);
done:
    sqlite_reader_give(b, c);
    return rc;
}

int sqlite_outbox_get(void *h, int64_t id, struct store_outbox *ret, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    struct store_outbox o;
    int rc = outbox_read(c, id, &o, err);

    sqlite_reader_give(b, c);
    if (rc == 0)
        return err_set(err, CHIME_ENOTFOUND, "id", "notification %" PRId64 " does not exist", id);
    if (rc < 0)
        return rc;
    *ret = o;
    return 0;
}

int sqlite_outbox_next_due(void *h, int64_t *ret_us, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_OUTBOX_NEXT_DUE, &st, err)) < 0)
        goto done;
    rc = sqlite_row(c, st, "read the next due notification", err);
    if (rc == 1) {
        int64_t v = sqlite_col_i64(st, 0);

        *ret_us = v == STORE_NULL ? INT64_MAX : v;
        rc = 0;
    } else if (rc == 0) {
        *ret_us = INT64_MAX;
    }
    sqlite3_reset(st);
done:
    sqlite_reader_give(b, c);
    return rc;
}
