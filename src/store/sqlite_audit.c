/* sqlite_audit.c: the audit log in SQLite.
 *
 * An entry is appended in the transaction of the change it records when
 * the API makes both at once (store_exec_all: the change op, then the
 * audit op pointing at it), so a change is never on disk without its
 * entry. Pages go newest first by id: the cursor is the last id shown. */
#include "store/sqlite_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/err.h"
#include "../banned.h"

/* "No lower bound" for an instant (INT64_MIN is STORE_NULL, bound NULL). */
#define LOWEST_US (INT64_MIN + 1)

int sqlite_audit_insert(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    const struct store_op *after = op->audit_insert.after;
    const struct store_audit *a = &op->audit_insert.entry;
    int64_t before = a->version_before, now = a->version_after;
    sqlite3_stmt *st = NULL;
    int rc;

    if (after) {
        if (after->rc < 0)
            return 0; /* nothing changed: the caller records the failure */
        if (after->kind == STORE_OP_JOB_PUT && now == STORE_NULL)
            now = after->ret_version;
        if (after->kind == STORE_OP_JOB_DELETE && before == STORE_NULL)
            before = after->ret_version;
    }
    if ((rc = sqlite_stmt(c, SQ_AUDIT_INSERT, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, a->at_us);
    sqlite_bind_str(st, 2, a->token);
    sqlite_bind_str(st, 3, a->address);
    sqlite_bind_str(st, 4, a->method);
    sqlite_bind_str(st, 5, a->route);
    sqlite_bind_text(st, 6, a->target, store_text_cut(a->target, STORE_ERROR_MAX));
    sqlite_bind_str(st, 7, a->ns[0] ? a->ns : NULL);
    sqlite_bind_str(st, 8, a->ns[0] ? a->name : NULL);
    sqlite_bind_i64(st, 9, a->run_id);
    sqlite_bind_i64(st, 10, before);
    sqlite_bind_i64(st, 11, now);
    sqlite_bind_i64(st, 12, a->status);
    rc = sqlite_row(c, st, "insert audit entry", err);
    if (rc == 1)
        op->ret_id = sqlite3_column_int64(st, 0);
    else if (rc == 0)
        rc = err_set(err, CHIME_EIO, NULL, "insert audit entry returned no id");
    sqlite3_reset(st);
    return rc < 0 ? rc : 0;
}

int sqlite_audit_prune(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    /* with a bound: a retention step, each limit walking its own index */
    rc = sqlite_stmt(c, op->audit_prune.max ? SQ_AUDIT_PRUNE_BATCH : SQ_AUDIT_PRUNE, &st, err);
    if (rc < 0)
        return rc;
    sqlite_bind_i64(st, 1, op->audit_prune.before_us);
    sqlite_bind_i64(st, 2, op->audit_prune.keep);
    sqlite_bind_i64(st, 3, op->audit_prune.max);
    rc = sqlite_run(c, st, "prune audit", err);
    if (rc == 0)
        op->ret_id = sqlite3_changes64(c->db);
    return rc;
}

/* The statement for F, bound but for the cursor and the limit. */
static int audit_filter_stmt(struct sqlite_conn *c, int base, const struct store_audit_filter *f,
                             sqlite3_stmt **ret, struct err *err)
{
    int mask = (f->name ? SQ_AUDIT_BY_JOB : 0) | (f->token ? SQ_AUDIT_BY_TOKEN : 0);
    int rc;

    if ((rc = sqlite_stmt(c, base + mask, ret, err)) < 0)
        return rc;
    sqlite_bind_i64(*ret, 3, f->since_us ? f->since_us : LOWEST_US);
    sqlite_bind_i64(*ret, 4, f->until_us ? f->until_us : INT64_MAX);
    sqlite_bind_str(*ret, 5, f->ns);
    sqlite_bind_str(*ret, 6, f->name);
    sqlite_bind_str(*ret, 7, f->token);
    sqlite_bind_str(*ret, 9, f->ns_in);
    return 0;
}

static int audit_fill(sqlite3_stmt *st, void *item, struct err *err)
{
    struct store_audit *a = item;
    int rc;

    store_audit_init(a);
    a->id = sqlite3_column_int64(st, 0);
    a->at_us = sqlite3_column_int64(st, 1);
    sqlite_col_name(st, 7, a->ns);
    sqlite_col_name(st, 8, a->name);
    a->run_id = sqlite_col_i64(st, 9);
    a->version_before = sqlite_col_i64(st, 10);
    a->version_after = sqlite_col_i64(st, 11);
    a->status = sqlite3_column_int64(st, 12);
    if ((rc = sqlite_col_str(st, 2, &a->token, NULL, err)) < 0
        || (rc = sqlite_col_str(st, 3, &a->address, NULL, err)) < 0
        || (rc = sqlite_col_str(st, 4, &a->method, NULL, err)) < 0
        || (rc = sqlite_col_str(st, 5, &a->route, NULL, err)) < 0
        || (rc = sqlite_col_str(st, 6, &a->target, NULL, err)) < 0) {
        store_audit_release(a);
        return rc;
    }
    return 0;
}

static void audit_item_release(void *item)
{
    store_audit_release(item);
}

static void audit_key(const void *item, struct store_key *ret)
{
    ret->n[0] = ((const struct store_audit *)item)->id;
}

static int audit_list_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                           struct err *err)
{
    return audit_filter_stmt(c, SQ_AUDIT_LIST, arg, ret, err);
}

/* newest first by id */
static const struct sqlite_list audit_list = {
    .what = "list audit entries", .key = STORE_KEY_ONE, .first = INT64_MAX,
    .key_param = 1, .limit_param = 8, .size = sizeof(struct store_audit),
    .fill = audit_fill, .release = audit_item_release, .key_of = audit_key,
};

int sqlite_audit_list(void *h, const struct store_audit_filter *f, int limit,
                      struct store_audit_page *ret, struct err *err)
{
    struct sqlite_page p;
    int rc = sqlite_page_read(h, &audit_list, audit_list_stmt, f, f->cursor, limit, &p, err);

    if (rc == 0)
        SQLITE_PAGE_MOVE(ret, p);
    return rc;
}

int sqlite_audit_count(void *h, const struct store_audit_filter *f, int64_t *ret,
                       struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = audit_filter_stmt(c, SQ_AUDIT_COUNT, f, &st, err)) == 0) {
        rc = sqlite_row(c, st, "count audit entries", err);
        if (rc == 1) {
            *ret = sqlite3_column_int64(st, 0);
            rc = 0;
        }
        sqlite3_reset(st);
    }
    sqlite_reader_give(b, c);
    return rc;
}
