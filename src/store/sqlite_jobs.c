/* sqlite_jobs.c: jobs and their versions in SQLite.
 *
 * Every put of a changed document appends a row to job_versions and points
 * jobs.version at it; nothing is ever overwritten, so any version can be
 * read back. A delete only marks the job (deleted_us), which keeps the id
 * its runs reference. Each op runs inside its own savepoint (sqlite.c), so
 * a put that fails half-way (say, on a document that is not JSON, found
 * when the version row is written) leaves no trace. */
#include "store/sqlite_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/err.h"
#include "../banned.h"

/* What is known of (ns, name). */
struct found {
    int64_t id;      /* 0: no row */
    int64_t version; /* the newest written */
    bool live;
};

static int job_find(struct sqlite_conn *c, const char *ns, const char *name, struct found *ret,
                    struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    memset(ret, 0, sizeof *ret);
    if ((rc = sqlite_stmt(c, SQ_JOB_FIND, &st, err)) < 0)
        return rc;
    sqlite_bind_str(st, 1, ns);
    sqlite_bind_str(st, 2, name);
    rc = sqlite_row(c, st, "find job", err);
    if (rc == 1) {
        ret->id = sqlite3_column_int64(st, 0);
        ret->version = sqlite3_column_int64(st, 1);
        ret->live = sqlite3_column_int(st, 2) != 0;
        rc = 0;
    }
    sqlite3_reset(st);
    return rc;
}

/* "ns/name", quoted for a message. */
static const char *job_quote(const char *ns, const char *name, char *buf, size_t len)
{
    char a[64], b[64];
    size_t n;

    err_quote(ns, strlen(ns), a, sizeof a);
    err_quote(name, strlen(name), b, sizeof b);
    n = strlen(a);
    if (n + 1 + strlen(b) + 1 > len)
        return err_quote("...", 3, buf, len);
    memcpy(buf, a, n);
    buf[n] = '/';
    memcpy(buf + n + 1, b, strlen(b) + 1);
    return buf;
}

int sqlite_job_id(struct sqlite_conn *c, const char *ns, const char *name, bool live_only,
                  int64_t *ret, struct err *err)
{
    struct found f;
    char q[140];
    int rc = job_find(c, ns, name, &f, err);

    if (rc < 0)
        return rc;
    if (!f.id || (live_only && !f.live))
        return err_set(err, CHIME_ENOTFOUND, "job", "job '%s' does not exist",
                       job_quote(ns, name, q, sizeof q));
    *ret = f.id;
    return 0;
}

/* The optimistic-concurrency check: EXPECT (0: none, STORE_NEW: absent,
 * n: at version n) against what is there. */
static int expect_check(const char *ns, const char *name, const struct found *f, int64_t expect,
                        struct err *err)
{
    char q[140];

    if (expect == 0)
        return 0;
    if (expect == STORE_NEW && f->live)
        return err_set(err, CHIME_ECONFLICT, "name", "job '%s' already exists",
                       job_quote(ns, name, q, sizeof q));
    if (expect > 0 && !f->live)
        return err_set(err, CHIME_ECONFLICT, "version",
                       "job '%s' does not exist, expected version %" PRId64,
                       job_quote(ns, name, q, sizeof q), expect);
    if (expect > 0 && f->version != expect)
        return err_set(err, CHIME_ECONFLICT, "version",
                       "job '%s' is at version %" PRId64 ", not %" PRId64,
                       job_quote(ns, name, q, sizeof q), f->version, expect);
    return 0;
}

static int set_paused(struct sqlite_conn *c, int64_t id, bool paused, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_JOB_STATE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    sqlite_bind_i64(st, 2, STORE_STATE_PAUSED);
    sqlite_bind_i64(st, 3, paused);
    return sqlite_run(c, st, "pause job", err);
}

/* Whether DOC is the text of (id, version) already. */
static int same_doc(struct sqlite_conn *c, int64_t id, int64_t version, const char *doc, size_t len,
                    struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_VERSION_SAME, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    sqlite_bind_i64(st, 2, version);
    sqlite_bind_text(st, 3, doc, len);
    rc = sqlite_row(c, st, "compare job", err);
    if (rc == 1)
        rc = sqlite3_column_int(st, 0) == 1;
    sqlite3_reset(st);
    return rc;
}

/* Runs ST (bound) that returns one number, into *RET. */
static int returning(struct sqlite_conn *c, sqlite3_stmt *st, const char *what, int64_t *ret,
                     struct err *err)
{
    int rc = sqlite_row(c, st, what, err);

    if (rc == 1)
        *ret = sqlite3_column_int64(st, 0);
    else if (rc == 0)
        rc = err_set(err, CHIME_EIO, NULL, "%s: no row returned", what);
    sqlite3_reset(st);
    return rc < 0 ? rc : 0;
}

/* Whether DOC may have labels to index: a document without the text
 * "labels" (JSON as jansson writes it spells every key out), or whose
 * only "labels" is an empty object as a compact dump writes it, has none,
 * and is not parsed again for them. */
static bool has_labels(const char *doc, size_t len)
{
    static const char key[] = "\"labels\"", empty[] = "\"labels\":{}";
    const char *at = memmem(doc, len, key, sizeof key - 1);

    return at && (len - (size_t)(at - doc) < sizeof empty - 1
                  || memcmp(at, empty, sizeof empty - 1) != 0
                  || memmem(at + 1, len - (size_t)(at + 1 - doc), key, sizeof key - 1));
}

/* The labels of job ID from DOC (NULL: none). A job just inserted
 * (FRESH) has none to clear. */
static int labels_write(struct sqlite_conn *c, int64_t id, bool fresh, const char *doc,
                        size_t len, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (!fresh) {
        if ((rc = sqlite_stmt(c, SQ_LABELS_DELETE, &st, err)) < 0)
            return rc;
        sqlite_bind_i64(st, 1, id);
        if ((rc = sqlite_run(c, st, "clear labels", err)) < 0)
            return rc;
    }
    if (!doc || !has_labels(doc, len))
        return 0;
    if ((rc = sqlite_stmt(c, SQ_LABELS_INSERT, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    sqlite_bind_text(st, 2, doc, len);
    return sqlite_run(c, st, "index labels", err);
}

static void plan_bind(sqlite3_stmt *st, const struct store_job_plan *p);
static int plan_write(struct sqlite_conn *c, int64_t id, int64_t version,
                      const struct store_job_plan *p, struct err *err);

/* Inserts the row of a new job ns/name of OP, with its plan when OP has
 * one: 1 and its id, or 0 when a row of that name exists already. */
static int job_insert(struct sqlite_conn *c, const struct store_op *op, int64_t *ret,
                      struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_JOB_INSERT, &st, err)) < 0)
        return rc;
    sqlite_bind_str(st, 28, op->job_put.ns);
    sqlite_bind_str(st, 29, op->job_put.name);
    sqlite_bind_i64(st, 30, op->job_put.now_us);
    sqlite_bind_i64(st, 31, op->job_put.paused);
    if (op->job_put.plan) {
        sqlite_bind_i64(st, 2, 1);
        plan_bind(st, op->job_put.plan);
    }
    rc = sqlite_row(c, st, "insert job", err);
    if (rc == 1)
        *ret = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc;
}

int sqlite_job_put(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    const char *ns = op->job_put.ns, *name = op->job_put.name;
    const char *doc = op->job_put.doc;
    size_t len = strlen(doc);
    sqlite3_stmt *st = NULL;
    struct found f = { 0 };
    int64_t id = 0, version = 1;
    int rc = 0;

    /* a put that may create the job tries to first: a new job (a bulk
     * save's usual case) then costs no look-up of its name */
    if (op->job_put.expect_version <= 0 && (rc = job_insert(c, op, &id, err)) < 0)
        return rc;
    if (rc == 0) {
        if ((rc = job_find(c, ns, name, &f, err)) < 0
            || (rc = expect_check(ns, name, &f, op->job_put.expect_version, err)) < 0)
            return rc;
        if (f.live && (rc = same_doc(c, f.id, f.version, doc, len, err)) != 0) {
            if (rc < 0 || (rc = set_paused(c, f.id, op->job_put.paused, err)) < 0)
                return rc;
            op->ret_id = f.id;
            op->ret_version = f.version;
            return 0;
        }
        /* the row exists: the insert met it, or expect_check() found its version */
        id = f.id;
        if ((rc = sqlite_stmt(c, SQ_JOB_BUMP, &st, err)) < 0)
            return rc;
        sqlite_bind_i64(st, 1, id);
        sqlite_bind_i64(st, 2, op->job_put.now_us);
        sqlite_bind_i64(st, 3, op->job_put.paused);
        if ((rc = returning(c, st, "update job", &version, err)) < 0)
            return rc;
    }

    if ((rc = sqlite_stmt(c, SQ_VERSION_INSERT, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    sqlite_bind_i64(st, 2, version);
    sqlite_bind_text(st, 3, doc, len);
    sqlite_bind_i64(st, 4, op->job_put.now_us);
    sqlite_bind_str(st, 5, op->job_put.author);
    rc = sqlite_run(c, st, "insert job version", err);
    if (rc < 0 && sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_CHECK)
        return err_set(err, CHIME_EINVAL, "document", "document is not valid JSON");
    if (rc < 0 || (rc = labels_write(c, id, !f.id, doc, len, err)) < 0)
        return rc;
    /* a new job's plan went into its row */
    if (f.id && op->job_put.plan && (rc = plan_write(c, id, version, op->job_put.plan, err)) < 0)
        return rc;
    op->ret_id = id;
    op->ret_version = version;
    return 0;
}

int sqlite_job_delete(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    const char *ns = op->job_delete.ns, *name = op->job_delete.name;
    sqlite3_stmt *st = NULL;
    struct found f;
    char q[140];
    int rc;

    if ((rc = job_find(c, ns, name, &f, err)) < 0)
        return rc;
    if (!f.live)
        return err_set(err, CHIME_ENOTFOUND, "job", "job '%s' does not exist",
                       job_quote(ns, name, q, sizeof q));
    if ((rc = expect_check(ns, name, &f, op->job_delete.expect_version, err)) < 0)
        return rc;
    if ((rc = sqlite_stmt(c, SQ_JOB_DELETE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, f.id);
    sqlite_bind_i64(st, 2, op->job_delete.now_us);
    if ((rc = sqlite_run(c, st, "delete job", err)) < 0
        || (rc = labels_write(c, f.id, false, NULL, 0, err)) < 0
        || (rc = sqlite_stmt(c, SQ_DEAD_DELETE_JOB, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, f.id);
    if ((rc = sqlite_run(c, st, "delete dead letters", err)) < 0)
        return rc;
    op->ret_id = f.id;
    op->ret_version = f.version; /* the version deleted, for the audit log */
    return 0;
}

int sqlite_job_state(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_JOB_STATE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, op->job_state.job_id);
    sqlite_bind_i64(st, 2, op->job_state.set);
    sqlite_bind_i64(st, 3, op->job_state.paused);
    sqlite_bind_i64(st, 4, op->job_state.consecutive_failures);
    sqlite_bind_i64(st, 5, op->job_state.last_fire_us);
    sqlite_bind_i64(st, 6, op->job_state.next_fire_us);
    if ((rc = sqlite_run(c, st, "set job state", err)) < 0)
        return rc;
    if (sqlite3_changes(c->db) == 0)
        return err_set(err, CHIME_ENOTFOUND, "job_id", "job %" PRId64 " does not exist",
                       op->job_state.job_id);
    op->ret_id = op->job_state.job_id;
    return 0;
}

/* ---- reads ---- */

/* A row of JOB_COLS into J. */
static int job_fill(sqlite3_stmt *st, void *item, struct err *err)
{
    struct store_job *j = item;
    int rc;

    memset(j, 0, sizeof *j);
    j->id = sqlite3_column_int64(st, 0);
    sqlite_col_name(st, 1, j->ns);
    sqlite_col_name(st, 2, j->name);
    j->version = sqlite3_column_int64(st, 3);
    j->latest_version = sqlite3_column_int64(st, 4);
    if ((rc = sqlite_col_str(st, 5, &j->doc, &j->doc_len, err)) < 0
        || (rc = sqlite_col_str(st, 6, &j->author, NULL, err)) < 0) {
        store_job_release(j);
        return rc;
    }
    j->version_us = sqlite3_column_int64(st, 7);
    j->created_us = sqlite3_column_int64(st, 8);
    j->paused = sqlite3_column_int(st, 9) != 0;
    j->consecutive_failures = sqlite3_column_int64(st, 10);
    j->last_fire_us = sqlite_col_i64(st, 11);
    j->next_fire_us = sqlite_col_i64(st, 12);
    return 0;
}

int sqlite_job_get(void *h, const char *ns, const char *name, int64_t version,
                   struct store_job *ret, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    struct store_job j = {0};
    char q[140];
    int rc;

    rc = sqlite_stmt(c, version ? SQ_JOB_GET_VERSION : SQ_JOB_GET, &st, err);
    if (rc < 0)
        goto done;
    sqlite_bind_str(st, 1, ns);
    sqlite_bind_str(st, 2, name);
    sqlite_bind_i64(st, 3, version);
    rc = sqlite_row(c, st, "read job", err);
    if (rc == 1)
        rc = job_fill(st, &j, err);
    else if (rc == 0 && version)
        rc = err_set(err, CHIME_ENOTFOUND, "version", "job '%s' has no version %" PRId64,
                     job_quote(ns, name, q, sizeof q), version);
    else if (rc == 0)
        rc = err_set(err, CHIME_ENOTFOUND, "job", "job '%s' does not exist",
                     job_quote(ns, name, q, sizeof q));
    sqlite3_reset(st);
done:
    sqlite_reader_give(b, c);
    if (rc == 0)
        *ret = j;
    return rc;
}

static int job_filter_mask(const struct store_job_filter *f)
{
    return (f->ns ? SQ_JOB_BY_NS : 0) | (f->label_key ? SQ_JOB_BY_LABEL : 0);
}

static void job_filter_bind(sqlite3_stmt *st, const struct store_job_filter *f)
{
    sqlite_bind_str(st, 3, f->ns);
    sqlite_bind_str(st, 4, f->label_key);
    sqlite_bind_str(st, 5, f->label_value);
    sqlite_bind_str(st, 7, f->ns_in);
}

static void job_item_release(void *item)
{
    store_job_release(item);
}

static void job_key(const void *item, struct store_key *ret)
{
    const struct store_job *j = item;

    memcpy(ret->s[0], j->ns, sizeof ret->s[0]);
    memcpy(ret->s[1], j->name, sizeof ret->s[1]);
}

static int job_list_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                         struct err *err)
{
    const struct store_job_filter *f = arg;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_JOB_LIST + job_filter_mask(f), ret, err)) < 0)
        return rc;
    job_filter_bind(*ret, f);
    return 0;
}

/* by (namespace, name) */
static const struct sqlite_list job_list = {
    .what = "list jobs", .key = STORE_KEY_NAMES, .key_param = 1, .limit_param = 6,
    .size = sizeof(struct store_job), .fill = job_fill, .release = job_item_release,
    .key_of = job_key,
};

int sqlite_job_list(void *h, const struct store_job_filter *f, int limit,
                    struct store_job_page *ret, struct err *err)
{
    struct sqlite_page p;
    int rc = sqlite_page_read(h, &job_list, job_list_stmt, f, f->cursor, limit, &p, err);

    if (rc == 0)
        SQLITE_PAGE_MOVE(ret, p);
    return rc;
}

int sqlite_job_count(void *h, const struct store_job_filter *f, int64_t *ret, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_JOB_COUNT + job_filter_mask(f), &st, err)) < 0)
        goto done;
    job_filter_bind(st, f);
    rc = sqlite_row(c, st, "count jobs", err);
    if (rc == 1) {
        *ret = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_reset(st);
done:
    sqlite_reader_give(b, c);
    return rc;
}

static int version_row(sqlite3_stmt *st, void *item, struct err *err)
{
    struct store_version *v = item;

    memset(v, 0, sizeof *v);
    v->version = sqlite3_column_int64(st, 0);
    v->created_us = sqlite3_column_int64(st, 1);
    v->doc_len = (size_t)sqlite3_column_int64(st, 3);
    return sqlite_col_str(st, 2, &v->author, NULL, err);
}

static void version_release(void *item)
{
    struct store_version *v = item;

    free(v->author);
    v->author = NULL;
}

static void version_key(const void *item, struct store_key *ret)
{
    ret->n[0] = ((const struct store_version *)item)->version;
}

struct version_of {
    const char *ns, *name;
};

static int version_list_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                             struct err *err)
{
    const struct version_of *j = arg;
    int64_t id = 0;
    int rc;

    if ((rc = sqlite_job_id(c, j->ns, j->name, true, &id, err)) < 0
        || (rc = sqlite_stmt(c, SQ_VERSION_LIST, ret, err)) < 0)
        return rc;
    sqlite_bind_i64(*ret, 1, id);
    return 0;
}

/* newest first */
static const struct sqlite_list version_list = {
    .what = "list versions", .key = STORE_KEY_ONE, .first = INT64_MAX, .key_param = 2,
    .limit_param = 3, .size = sizeof(struct store_version), .fill = version_row,
    .release = version_release, .key_of = version_key,
};

int sqlite_job_versions(void *h, const char *ns, const char *name, const char *cursor, int limit,
                        struct store_version_page *ret, struct err *err)
{
    struct version_of j = {ns, name};
    struct sqlite_page p;
    int rc = sqlite_page_read(h, &version_list, version_list_stmt, &j, cursor, limit, &p, err);

    if (rc == 0)
        SQLITE_PAGE_MOVE(ret, p);
    return rc;
}

/* ---- plans ---- */

/* Binds plan P to parameters 3 to 27 of ST (SQ_JOB_PLAN's, SQ_JOB_INSERT's). */
static void plan_bind(sqlite3_stmt *st, const struct store_job_plan *p)
{
    sqlite_bind_str(st, 3, p->kind);
    sqlite_bind_str(st, 4, p->cron);
    sqlite_bind_str(st, 5, p->zone);
    sqlite_bind_i64(st, 6, p->every_us);
    sqlite_bind_i64(st, 7, p->start_us);
    sqlite_bind_i64(st, 8, p->jitter_us);
    sqlite_bind_i64(st, 9, p->at_us);
    sqlite_bind_str(st, 10, p->after);
    sqlite_bind_str(st, 11, p->when);
    sqlite_bind_str(st, 12, p->concurrency);
    sqlite_bind_i64(st, 13, p->max_instances);
    sqlite_bind_i64(st, 14, p->priority);
    sqlite_bind_i64(st, 15, p->misfire_grace_us);
    sqlite_bind_str(st, 16, p->catch_up);
    sqlite_bind_i64(st, 17, p->max_catch_up);
    sqlite_bind_i64(st, 18, p->retry_max_attempts);
    sqlite_bind_i64(st, 19, p->retry_backoff_us);
    sqlite3_bind_double(st, 20, p->retry_factor);
    sqlite_bind_i64(st, 21, p->retry_max_backoff_us);
    sqlite3_bind_double(st, 22, p->retry_jitter);
    sqlite_bind_i64(st, 23, p->disable_after_failures);
    /* retention: 0 or STORE_NULL is the daemon's default (NULL) */
    sqlite_bind_i64(st, 24, p->retain_runs > 0 ? p->retain_runs : STORE_NULL);
    sqlite_bind_i64(st, 25, p->retain_for_us > 0 ? p->retain_for_us : STORE_NULL);
    sqlite_bind_i64(st, 26, p->retain_output > 0 ? p->retain_output : STORE_NULL);
    sqlite_bind_i64(st, 27, p->retain_dead_letters > 0 ? p->retain_dead_letters : STORE_NULL);
}

/* Writes plan P as the plan of version VERSION of live job ID: 0, or
 * CHIME_ECONFLICT when the job is not a live job at that version. */
static int plan_write(struct sqlite_conn *c, int64_t id, int64_t version,
                      const struct store_job_plan *p, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_JOB_PLAN, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    sqlite_bind_i64(st, 2, version);
    plan_bind(st, p);
    if ((rc = sqlite_run(c, st, "write job plan", err)) < 0)
        return rc;
    if (sqlite3_changes(c->db) == 0)
        return err_set(err, CHIME_ECONFLICT, "version",
                       "job %" PRId64 " is not a live job at version %" PRId64, id, version);
    return 0;
}

int sqlite_job_plan(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    const struct store_job_plan *p = &op->job_plan.plan;
    int rc = plan_write(c, op->job_plan.job_id, p->version, p, err);

    if (rc < 0)
        return rc;
    op->ret_id = op->job_plan.job_id;
    op->ret_version = p->version;
    return 0;
}

/* Column I as a borrowed string, NULL for NULL. */
static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* A row of SQ_JOB_SCAN into E (and P, when the plan is current). */
static void scan_fill(sqlite3_stmt *st, struct store_job_entry *e, struct store_job_plan *p)
{
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    e->ns = col_text(st, 1);
    e->name = col_text(st, 2);
    e->version = sqlite3_column_int64(st, 3);
    e->paused = sqlite3_column_int(st, 4) != 0;
    e->consecutive_failures = sqlite3_column_int64(st, 5);
    e->last_fire_us = sqlite_col_i64(st, 6);
    e->version_us = sqlite3_column_int64(st, 30);
    if (!sqlite3_column_int(st, 7)) {
        e->doc = col_text(st, 29);
        e->doc_len = (size_t)sqlite3_column_bytes(st, 29);
        return;
    }
    p->version = e->version;
    p->kind = col_text(st, 8);
    p->cron = col_text(st, 9);
    p->zone = col_text(st, 10);
    p->every_us = sqlite_col_i64(st, 11);
    p->start_us = sqlite_col_i64(st, 12);
    p->jitter_us = sqlite_col_i64(st, 13);
    p->at_us = sqlite_col_i64(st, 14);
    p->after = col_text(st, 15);
    p->when = col_text(st, 16);
    p->concurrency = col_text(st, 17);
    p->max_instances = sqlite_col_i64(st, 18);
    p->priority = sqlite_col_i64(st, 19);
    p->misfire_grace_us = sqlite_col_i64(st, 20);
    p->catch_up = col_text(st, 21);
    p->max_catch_up = sqlite_col_i64(st, 22);
    p->retry_max_attempts = sqlite_col_i64(st, 23);
    p->retry_backoff_us = sqlite_col_i64(st, 24);
    p->retry_factor = sqlite3_column_double(st, 25);
    p->retry_max_backoff_us = sqlite_col_i64(st, 26);
    p->retry_jitter = sqlite3_column_double(st, 27);
    p->disable_after_failures = sqlite_col_i64(st, 28);
    e->plan = p;
}

int sqlite_job_scan(void *h, store_job_scan_cb *cb, void *ctx, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_JOB_SCAN, &st, err)) < 0)
        goto done;
    while ((rc = sqlite_row(c, st, "scan jobs", err)) == 1) {
        struct store_job_entry e;
        struct store_job_plan p;

        scan_fill(st, &e, &p);
        if (!e.ns || !e.name || (!e.plan && !e.doc)) {
            rc = err_set(err, CHIME_EIO, NULL, "job %" PRId64 " has no document", e.id);
            break;
        }
        if ((rc = cb(ctx, &e)) < 0)
            break;
    }
    sqlite3_reset(st);
done:
    sqlite_reader_give(b, c);
    return rc;
}

int sqlite_job_heads(void *h, const char *author, store_job_head_cb *cb, void *ctx,
                     struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_JOB_HEADS, &st, err)) < 0)
        goto done;
    sqlite_bind_str(st, 1, author);
    while ((rc = sqlite_row(c, st, "list jobs", err)) == 1) {
        struct store_job_head e = {
            .id = sqlite3_column_int64(st, 0), .ns = col_text(st, 1), .name = col_text(st, 2),
            .version = sqlite3_column_int64(st, 3),
        };

        if (!e.ns || !e.name) {
            rc = err_set(err, CHIME_EIO, NULL, "job %" PRId64 " has no name", e.id);
            break;
        }
        if ((rc = cb(ctx, &e)) < 0)
            break;
    }
    sqlite3_reset(st);
done:
    sqlite_reader_give(b, c);
    return rc;
}

int sqlite_job_doc(void *h, int64_t job_id, int64_t version, char **ret, size_t *ret_len,
                   struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = &b->doc_reader;
    sqlite3_stmt *st = NULL;
    char *doc = NULL;
    size_t len = 0;
    int rc;

    pthread_mutex_lock(&b->doc_lock);
    if ((rc = sqlite_stmt(c, SQ_JOB_DOC, &st, err)) < 0)
        goto done;
    sqlite_bind_i64(st, 1, job_id);
    sqlite_bind_i64(st, 2, version);
    rc = sqlite_row(c, st, "read job document", err);
    if (rc == 1)
        rc = sqlite_col_str(st, 0, &doc, &len, err);
    else if (rc == 0)
        rc = err_set(err, CHIME_ENOTFOUND, "version",
                     "job %" PRId64 " has no version %" PRId64, job_id, version);
    sqlite3_reset(st);
done:
    pthread_mutex_unlock(&b->doc_lock);
    if (rc == 0) {
        *ret = doc;
        if (ret_len)
            *ret_len = len;
    }
    return rc;
}
