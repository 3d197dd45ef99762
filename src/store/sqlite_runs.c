/* sqlite_runs.c: runs, dead letters and pruning in SQLite.
 *
 * The unique key (job_id, fire_us, attempt) is what makes a fire
 * recordable once: the insert is ON CONFLICT DO NOTHING, and a conflict
 * answers STORE_EXISTS with the id already there, so an engine that
 * recovers and fires again learns the fire was recorded instead of running
 * it twice. Run pages are keyset pages over (fire_us, id), newest first:
 * the cursor is the last row's key, so inserts between pages never shift
 * or repeat rows. */
#include "store/sqlite_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/err.h"
#include "../banned.h"

/* "No lower bound" for an instant: INT64_MIN itself is STORE_NULL, which
 * binds NULL, and a comparison with NULL is never true. */
#define LOWEST_US (INT64_MIN + 1)

/* The columns both run_insert and run_update write, from ?FIRST on:
 * started, finished, pid, holder_pid, exit_code, signal, cpu_user,
 * cpu_sys, max_rss, output_bytes, error. */
static void bind_outcome(sqlite3_stmt *st, int first, const struct store_run *r)
{
    const int64_t nums[] = {
        r->started_us, r->finished_us, r->pid,        r->holder_pid, r->exit_code,
        r->signal,     r->cpu_user_ms, r->cpu_sys_ms, r->max_rss_kb, r->output_bytes,
    };
    int i;

    for (i = 0; i < (int)(sizeof nums / sizeof nums[0]); i++)
        sqlite_bind_i64(st, first + i, nums[i]);
    /* a long message is cut, never refused: losing a run's end to the
     * length of its error text would be worse than a shorter message */
    sqlite_bind_text(st, first + i, r->error,
                     r->error ? store_text_cut(r->error, STORE_ERROR_MAX) : 0);
}

static int run_existing(struct sqlite_conn *c, const struct store_run *r, int64_t *ret,
                        struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_RUN_EXISTING, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, r->job_id);
    sqlite_bind_i64(st, 2, r->fire_us);
    sqlite_bind_i64(st, 3, r->attempt);
    rc = sqlite_row(c, st, "find run", err);
    if (rc == 1)
        *ret = sqlite3_column_int64(st, 0);
    else if (rc == 0)
        rc = err_set(err, CHIME_EIO, NULL, "run vanished after a conflict");
    sqlite3_reset(st);
    return rc < 0 ? rc : 0;
}

int sqlite_run_insert(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    const struct store_run *r = &op->run_insert.run;
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_RUN_INSERT, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, r->job_id);
    sqlite_bind_i64(st, 2, r->job_version);
    sqlite_bind_i64(st, 3, r->fire_us);
    sqlite_bind_str(st, 4, store_reason_name(r->reason));
    sqlite_bind_i64(st, 5, r->attempt);
    sqlite_bind_str(st, 6, store_run_state_name(r->state));
    sqlite_bind_i64(st, 7, r->queued_us);
    bind_outcome(st, 8, r);
    sqlite_bind_str(st, 19, r->node);
    sqlite_bind_str(st, 20, r->triggered_by);
    rc = sqlite_row(c, st, "insert run", err);
    if (rc == 1)
        id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc < 0 && sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
        return err_set(err, CHIME_ENOTFOUND, "job_id", "job %" PRId64 " does not exist", r->job_id);
    if (rc < 0)
        return rc;
    if (rc == 0) { /* (job, fire, attempt) is there */
        if ((rc = run_existing(c, r, &id, err)) < 0)
            return rc;
        op->ret_id = id;
        return STORE_EXISTS;
    }
    if (r->reason == STORE_REASON_SCHEDULE || r->reason == STORE_REASON_CATCH_UP) {
        if ((rc = sqlite_stmt(c, SQ_JOB_LAST_FIRE, &st, err)) < 0)
            return rc;
        sqlite_bind_i64(st, 1, r->job_id);
        sqlite_bind_i64(st, 2, r->fire_us);
        if ((rc = sqlite_run(c, st, "move last fire", err)) < 0)
            return rc;
    }
    op->ret_id = id;
    return 0;
}

/* The state of run ID: 1 and *RET, 0 when there is no such run. */
static int run_state_of(struct sqlite_conn *c, int64_t id, char *ret, size_t len, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_RUN_STATE_OF, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    rc = sqlite_row(c, st, "read run state", err);
    if (rc == 1) {
        const unsigned char *t = sqlite3_column_text(st, 0);

        err_quote(t ? (const char *)t : "", 32, ret, len);
    }
    sqlite3_reset(st);
    return rc;
}

int sqlite_run_update(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    const struct store_run *r = &op->run_update.run;
    enum store_run_state expect = op->run_update.expect_state;
    sqlite3_stmt *st = NULL;
    char state[40];
    int rc;

    if ((rc = sqlite_stmt(c, SQ_RUN_UPDATE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, r->id);
    sqlite_bind_str(st, 2, store_run_state_name(r->state));
    bind_outcome(st, 3, r);
    sqlite_bind_str(st, 14, r->node);
    sqlite_bind_str(st, 15, expect ? store_run_state_name(expect) : NULL);
    if ((rc = sqlite_run(c, st, "update run", err)) < 0)
        return rc;
    if (sqlite3_changes(c->db) > 0) {
        op->ret_id = r->id;
        return 0;
    }
    rc = run_state_of(c, r->id, state, sizeof state, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return err_set(err, CHIME_ENOTFOUND, "id", "run %" PRId64 " does not exist", r->id);
    return err_set(err, CHIME_ECONFLICT, "state", "run %" PRId64 " is '%s', not '%s'", r->id, state,
                   store_run_state_name(expect));
}

int sqlite_dead_insert(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    const char *reason = op->dead_insert.reason;
    sqlite3_stmt *st = NULL;
    char state[40];
    int rc;

    if ((rc = sqlite_stmt(c, SQ_DEAD_INSERT, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, op->dead_insert.run_id);
    sqlite_bind_text(st, 2, reason, store_text_cut(reason, STORE_ERROR_MAX));
    sqlite_bind_i64(st, 3, op->dead_insert.now_us);
    if ((rc = sqlite_run(c, st, "insert dead letter", err)) < 0)
        return rc;
    op->ret_id = op->dead_insert.run_id;
    if (sqlite3_changes(c->db) > 0)
        return 0;
    rc = run_state_of(c, op->dead_insert.run_id, state, sizeof state, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return err_set(err, CHIME_ENOTFOUND, "run_id", "run %" PRId64 " does not exist",
                       op->dead_insert.run_id);
    return STORE_EXISTS;
}

int sqlite_dead_remove(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_DEAD_REMOVE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, op->dead_remove.run_id);
    if ((rc = sqlite_run(c, st, "remove dead letter", err)) < 0)
        return rc;
    if (sqlite3_changes(c->db) == 0)
        return err_set(err, CHIME_ENOTFOUND, "run_id", "run %" PRId64 " is not dead-lettered",
                       op->dead_remove.run_id);
    op->ret_id = op->dead_remove.run_id;
    return 0;
}

/* ---- reads ---- */

/* A row of RUN_COLS into R. */
static int run_fill(sqlite3_stmt *st, void *item, struct err *err)
{
    struct store_run *r = item;
    const char *reason = (const char *)sqlite3_column_text(st, 6);
    const char *state = (const char *)sqlite3_column_text(st, 8);
    struct err bad = {0};
    int rc;

    store_run_init(r);
    r->id = sqlite3_column_int64(st, 0);
    r->job_id = sqlite3_column_int64(st, 1);
    sqlite_col_name(st, 2, r->ns);
    sqlite_col_name(st, 3, r->name);
    r->job_version = sqlite3_column_int64(st, 4);
    r->fire_us = sqlite3_column_int64(st, 5);
    if (store_reason_parse(reason, "reason", &r->reason, &bad) < 0
        || store_run_state_parse(state, "state", &r->state, &bad) < 0)
        return err_set(err, CHIME_EIO, NULL, "run %" PRId64 ": %s", r->id, bad.msg);
    r->attempt = sqlite3_column_int64(st, 7);
    r->queued_us = sqlite3_column_int64(st, 9);
    r->started_us = sqlite_col_i64(st, 10);
    r->finished_us = sqlite_col_i64(st, 11);
    r->pid = sqlite_col_i64(st, 12);
    r->holder_pid = sqlite_col_i64(st, 13);
    r->exit_code = sqlite_col_i64(st, 14);
    r->signal = sqlite_col_i64(st, 15);
    r->cpu_user_ms = sqlite_col_i64(st, 16);
    r->cpu_sys_ms = sqlite_col_i64(st, 17);
    r->max_rss_kb = sqlite_col_i64(st, 18);
    r->output_bytes = sqlite_col_i64(st, 19);
    if ((rc = sqlite_col_str(st, 20, &r->error, NULL, err)) < 0
        || (rc = sqlite_col_str(st, 21, &r->node, NULL, err)) < 0
        || (rc = sqlite_col_str(st, 22, &r->triggered_by, NULL, err)) < 0) {
        store_run_release(r);
        return rc;
    }
    return 0;
}

static void run_item_release(void *item)
{
    store_run_release(item);
}

static void run_key(const void *item, struct store_key *ret)
{
    const struct store_run *r = item;

    ret->n[0] = r->fire_us;
    ret->n[1] = r->id;
}

int sqlite_run_get(void *h, int64_t id, struct store_run *ret, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    struct store_run r = {0};
    int rc;

    if ((rc = sqlite_stmt(c, SQ_RUN_GET, &st, err)) < 0)
        goto done;
    sqlite_bind_i64(st, 1, id);
    rc = sqlite_row(c, st, "read run", err);
    if (rc == 1)
        rc = run_fill(st, &r, err);
    else if (rc == 0)
        rc = err_set(err, CHIME_ENOTFOUND, "id", "run %" PRId64 " does not exist", id);
    sqlite3_reset(st);
done:
    sqlite_reader_give(b, c);
    if (rc == 0)
        *ret = r;
    return rc;
}

/* The statement for F, bound but for the cursor and the limit. */
static int run_filter_stmt(struct sqlite_conn *c, int base, const struct store_run_filter *f,
                           sqlite3_stmt **ret, struct err *err)
{
    int64_t job_id = 0;
    int mask = 0, rc;

    if (f->name) {
        if ((rc = sqlite_job_id(c, f->ns, f->name, false, &job_id, err)) < 0)
            return rc;
        mask |= SQ_RUN_BY_JOB;
    } else if (f->ns) {
        mask |= SQ_RUN_BY_NS;
    }
    if (f->state)
        mask |= SQ_RUN_BY_STATE;
    if (f->ran)
        mask |= SQ_RUN_BY_RAN;
    if ((rc = sqlite_stmt(c, base + mask, ret, err)) < 0)
        return rc;
    sqlite_bind_i64(*ret, 3, f->since_us ? f->since_us : LOWEST_US);
    sqlite_bind_i64(*ret, 4, f->until_us ? f->until_us : INT64_MAX);
    sqlite_bind_i64(*ret, 5, job_id);
    sqlite_bind_str(*ret, 6, f->ns);
    sqlite_bind_str(*ret, 7, f->state ? store_run_state_name(f->state) : NULL);
    sqlite_bind_str(*ret, 9, f->ns_in);
    return 0;
}

static int run_list_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                         struct err *err)
{
    return run_filter_stmt(c, SQ_RUN_LIST, arg, ret, err);
}

/* newest fire first, then highest id */
static const struct sqlite_list run_list = {
    .what = "list runs", .key = STORE_KEY_PAIR, .first = INT64_MAX, .key_param = 1,
    .limit_param = 8, .size = sizeof(struct store_run), .fill = run_fill,
    .release = run_item_release, .key_of = run_key,
};

int sqlite_run_list(void *h, const struct store_run_filter *f, int limit,
                    struct store_run_page *ret, struct err *err)
{
    struct sqlite_page p;
    int rc = sqlite_page_read(h, &run_list, run_list_stmt, f, f->cursor, limit, &p, err);

    if (rc == 0)
        SQLITE_PAGE_MOVE(ret, p);
    return rc;
}

int sqlite_run_count(void *h, const struct store_run_filter *f, int64_t *ret, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = run_filter_stmt(c, SQ_RUN_COUNT, f, &st, err)) == 0) {
        rc = sqlite_row(c, st, "count runs", err);
        if (rc == 1) {
            *ret = sqlite3_column_int64(st, 0);
            rc = 0;
        }
        sqlite3_reset(st);
    }
    sqlite_reader_give(b, c);
    return rc;
}

static int unfinished_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                           struct err *err)
{
    (void)arg;
    return sqlite_stmt(c, SQ_RUN_UNFINISHED, ret, err);
}

/* one page of every queued or running run, by id */
static const struct sqlite_list unfinished_list = {
    .what = "list runs", .key = STORE_KEY_PAIR, .size = sizeof(struct store_run),
    .fill = run_fill, .release = run_item_release, .key_of = run_key,
};

int sqlite_run_unfinished(void *h, struct store_run_page *ret, struct err *err)
{
    struct sqlite_page p;
    int rc = sqlite_page_read(h, &unfinished_list, unfinished_stmt, NULL, NULL, 0, &p, err);

    if (rc == 0)
        SQLITE_PAGE_MOVE(ret, p);
    return rc;
}

static int dead_row(sqlite3_stmt *st, void *item, struct err *err)
{
    struct store_dead *d = item;

    memset(d, 0, sizeof *d);
    d->run_id = sqlite3_column_int64(st, 0);
    d->job_id = sqlite3_column_int64(st, 1);
    sqlite_col_name(st, 2, d->ns);
    sqlite_col_name(st, 3, d->name);
    d->fire_us = sqlite3_column_int64(st, 4);
    d->created_us = sqlite3_column_int64(st, 6);
    return sqlite_col_str(st, 5, &d->reason, NULL, err);
}

static void dead_release(void *item)
{
    struct store_dead *d = item;

    free(d->reason);
    d->reason = NULL;
}

static void dead_key(const void *item, struct store_key *ret)
{
    ret->n[0] = ((const struct store_dead *)item)->run_id;
}

static int dead_list_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                          struct err *err)
{
    const struct store_dead_filter *f = arg;
    int64_t job_id = 0;
    int mask = 0, rc;

    if (f->name) {
        if ((rc = sqlite_job_id(c, f->ns, f->name, false, &job_id, err)) < 0)
            return rc;
        mask = SQ_DEAD_BY_JOB;
    } else if (f->ns) {
        mask = SQ_DEAD_BY_NS;
    }
    if ((rc = sqlite_stmt(c, SQ_DEAD_LIST + mask, ret, err)) < 0)
        return rc;
    sqlite_bind_i64(*ret, 2, job_id);
    sqlite_bind_str(*ret, 3, f->ns);
    sqlite_bind_str(*ret, 5, f->ns_in);
    return 0;
}

/* newest run first */
static const struct sqlite_list dead_list = {
    .what = "list dead letters", .key = STORE_KEY_ONE, .first = INT64_MAX, .key_param = 1,
    .limit_param = 4, .size = sizeof(struct store_dead), .fill = dead_row,
    .release = dead_release, .key_of = dead_key,
};

int sqlite_dead_list(void *h, const struct store_dead_filter *f, int limit,
                     struct store_dead_page *ret, struct err *err)
{
    struct sqlite_page p;
    int rc = sqlite_page_read(h, &dead_list, dead_list_stmt, f, f->cursor, limit, &p, err);

    if (rc == 0)
        SQLITE_PAGE_MOVE(ret, p);
    return rc;
}
