/* sqlite.c: the SQLite backend: connections, migrations, the statement
 * cache, and group commit.
 *
 * Durability: WAL mode with synchronous=FULL, so a commit returns only
 * after the WAL is fsynced; a fire's run row survives power loss before its
 * process starts. (WAL with NORMAL could lose the last commits on power
 * loss.) One writer connection, used by one batch at a time (store.c's
 * write lock); every write transaction is BEGIN IMMEDIATE, which takes the
 * write lock up front: a deferred transaction that later upgrades to a
 * write fails with SQLITE_BUSY at once, skipping busy_timeout. Readers have
 * their own connections (query_only) and, in WAL mode, read the last
 * commit without waiting for the writer. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store/backend.h"
#include "util/err.h"
#include "../banned.h"

#define SQL_BUF 2048 /* the longest composed statement, with room */

/* ---- errors, statements, values ---- */

int sqlite_fail(sqlite3 *db, int rc, const char *what, struct err *err)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int code;

    switch (rc & 0xff) {
    case SQLITE_NOMEM: code = CHIME_ENOMEM; break;
    case SQLITE_TOOBIG: code = CHIME_ETOOBIG; break;
    case SQLITE_CONSTRAINT: code = CHIME_EINVAL; break;
    case SQLITE_FULL:
        /* named first: health and a refused trigger say why writes fail */
        return err_set(err, CHIME_ENOSPC, NULL, "disk full: %s: %s", what, msg);
    default: /* IOERR, BUSY, CORRUPT, ... */ code = CHIME_EIO; break;
    }
    return err_set(err, code, NULL, "%s: %s", what, msg);
}

int sqlite_stmt(struct sqlite_conn *c, int id, sqlite3_stmt **ret, struct err *err)
{
    sqlite3_stmt *st = c->stmt[id];

    if (!st) {
        char buf[SQL_BUF];
        const char *text = sqlite_sql(id, buf, sizeof buf);
        int rc;

        if (!text)
            return err_set(err, CHIME_EIO, NULL, "statement %d has no SQL", id);
        rc = sqlite3_prepare_v3(c->db, text, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK)
            return sqlite_fail(c->db, rc, "prepare", err);
        c->stmt[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    *ret = st;
    return 0;
}

int sqlite_row(struct sqlite_conn *c, sqlite3_stmt *st, const char *what, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    rc = sqlite_fail(c->db, rc, what, err);
    sqlite3_reset(st);
    return rc;
}

int sqlite_run(struct sqlite_conn *c, sqlite3_stmt *st, const char *what, struct err *err)
{
    int rc;

    while ((rc = sqlite_row(c, st, what, err)) == 1)
        ;
    sqlite3_reset(st);
    return rc;
}

int sqlite_bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
    if (i > sqlite3_bind_parameter_count(st))
        return SQLITE_OK;
    if (v == STORE_NULL)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_int64(st, i, v);
}

int sqlite_bind_text(sqlite3_stmt *st, int i, const char *s, size_t len)
{
    if (i > sqlite3_bind_parameter_count(st))
        return SQLITE_OK;
    if (!s)
        return sqlite3_bind_null(st, i);
    /* static: every statement is reset before the caller's string goes */
    return sqlite3_bind_text64(st, i, s, len, SQLITE_STATIC, SQLITE_UTF8);
}

int sqlite_bind_str(sqlite3_stmt *st, int i, const char *s)
{
    return sqlite_bind_text(st, i, s, s ? strlen(s) : 0);
}

int64_t sqlite_col_i64(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return STORE_NULL;
    return sqlite3_column_int64(st, i);
}

int sqlite_col_str(sqlite3_stmt *st, int i, char **ret, size_t *ret_len, struct err *err)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    char *s;

    if (!t) {
        *ret = NULL;
        if (ret_len)
            *ret_len = 0;
        return 0;
    }
    s = malloc(n + 1);
    if (!s)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    memcpy(s, t, n);
    s[n] = '\0';
    *ret = s;
    if (ret_len)
        *ret_len = n;
    return 0;
}

void sqlite_col_name(sqlite3_stmt *st, int i, char *dst)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    store_name_copy(dst, t ? (const char *)t : "", t ? (size_t)sqlite3_column_bytes(st, i) : 0);
}

int sqlite_grow(void *items, size_t *cap, size_t n, size_t size, struct err *err)
{
    size_t c = *cap ? *cap * 2 : 16;
    void *p, *q;

    if (n < *cap)
        return 0;
    memcpy(&p, items, sizeof p); /* ITEMS is a T **, of any T */
    q = realloc(p, c * size);
    if (!q)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    memcpy(items, &q, sizeof q);
    *cap = c;
    return 0;
}

/* ---- connections ---- */

static int conn_exec(struct sqlite_conn *c, const char *text, const char *what, struct err *err)
{
    int rc = sqlite3_exec(c->db, text, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : sqlite_fail(c->db, rc, what, err);
}

static void conn_close(struct sqlite_conn *c)
{
    for (int i = 0; i < SQ_COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->db);
    memset(c, 0, sizeof *c);
}

static int conn_open(struct sqlite_conn *c, const char *path, bool writer, int busy_timeout_ms,
                     struct err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
    int rc;

    memset(c, 0, sizeof *c);
    rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = sqlite_fail(c->db, rc, "open", err);
        conn_close(c);
        return rc;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, busy_timeout_ms);
    /* no writable_schema or other ways to corrupt the file by SQL. The
     * schema stays trusted: its CHECK (json_valid(doc)) needs that, and the
     * file is chime's own, in its data directory. */
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    rc = conn_exec(c, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", "pragma", err);
    if (rc == 0 && !writer)
        rc = conn_exec(c, "PRAGMA query_only = ON", "pragma", err);
    if (rc == 0 && writer) {
        sqlite3_stmt *st = NULL;

        /* the one pragma whose answer says whether it worked */
        rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW
            && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0)
            rc = 0;
        else
            rc = err_set(err, CHIME_EIO, "path", "database cannot use WAL mode: %s",
                         sqlite3_errmsg(c->db));
        sqlite3_finalize(st);
    }
    if (rc < 0)
        conn_close(c);
    return rc;
}

struct sqlite_conn *sqlite_reader_take(struct sqlite_store *b)
{
    struct sqlite_conn *c;

    pthread_mutex_lock(&b->pool_lock);
    while (!b->free_readers)
        pthread_cond_wait(&b->pool_cond, &b->pool_lock);
    c = b->free_readers;
    b->free_readers = c->next_free;
    pthread_mutex_unlock(&b->pool_lock);
    return c;
}

void sqlite_reader_give(struct sqlite_store *b, struct sqlite_conn *c)
{
    /* a reader left inside a transaction would pin an old snapshot */
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_lock(&b->pool_lock);
    c->next_free = b->free_readers;
    b->free_readers = c;
    pthread_cond_signal(&b->pool_cond);
    pthread_mutex_unlock(&b->pool_lock);
}

/* ---- migrations ---- */

static int64_t schema_version(sqlite3 *db, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t v;
    int rc;

    rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st,
                            NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
    }
    sqlite3_finalize(st);
    return sqlite_fail(db, rc, "read schema version", err);
}

/* Applies migration M (in a transaction of its own) unless a process that
 * raced us already did. */
static int migrate_one(sqlite3 *db, const struct sqlite_migration *m, int64_t now_us,
                       struct err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t v;
    int rc;

    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sqlite_fail(db, rc, "begin migration", err);
    v = schema_version(db, err);
    if (v < 0 || v >= m->version) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return v < 0 ? (int)v : 0;
    }
    rc = sqlite3_exec(db, m->sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db,
                                "INSERT INTO schema_version (version, applied_us)"
                                " VALUES (?1, ?2)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_int64(st, 2, now_us);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
        sqlite3_finalize(st);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = err_set(err, CHIME_EIO, NULL, "schema migration %d failed: %s", m->version,
                     sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return 0;
}

int sqlite_migrate(sqlite3 *db, const struct sqlite_migration *m, size_t n, int64_t now_us,
                   struct err *err)
{
    int64_t v;
    int rc;

    rc = sqlite3_exec(db,
                      "CREATE TABLE IF NOT EXISTS schema_version ("
                      " version INTEGER PRIMARY KEY,"
                      " applied_us INTEGER NOT NULL) STRICT",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sqlite_fail(db, rc, "create schema_version", err);
    v = schema_version(db, err);
    if (v < 0)
        return (int)v;
    if (n > 0 && v > m[n - 1].version)
        return err_set(err, CHIME_ERANGE, "path",
                       "database schema version %lld is newer than this chime's %d:"
                       " upgrade chime",
                       (long long)v, m[n - 1].version);
    for (size_t i = 0; i < n; i++) {
        if (m[i].version <= v)
            continue;
        rc = migrate_one(db, &m[i], now_us, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- group commit ---- */

static int tx_step(struct sqlite_conn *c, int id, const char *what, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite_stmt(c, id, &st, err);

    return rc < 0 ? rc : sqlite_run(c, st, what, err);
}

static int (*const op_exec[STORE_OP_KIND_END])(struct sqlite_conn *, struct store_op *,
                                               struct err *) = {
    [STORE_OP_JOB_PUT] = sqlite_job_put,         [STORE_OP_JOB_DELETE] = sqlite_job_delete,
    [STORE_OP_JOB_STATE] = sqlite_job_state,     [STORE_OP_RUN_INSERT] = sqlite_run_insert,
    [STORE_OP_RUN_UPDATE] = sqlite_run_update,   [STORE_OP_DEAD_INSERT] = sqlite_dead_insert,
    [STORE_OP_DEAD_REMOVE] = sqlite_dead_remove, 
    [STORE_OP_JOB_PLAN] = sqlite_job_plan,
    [STORE_OP_TOKEN_INSERT] = sqlite_token_insert,
    [STORE_OP_TOKEN_REVOKE] = sqlite_token_revoke,
    [STORE_OP_AUDIT_INSERT] = sqlite_audit_insert,
    [STORE_OP_AUDIT_PRUNE] = sqlite_audit_prune,
    [STORE_OP_OUTBOX_ADD] = sqlite_outbox_add,
    [STORE_OP_OUTBOX_CLAIM] = sqlite_outbox_claim,
    [STORE_OP_OUTBOX_DONE] = sqlite_outbox_done,
    [STORE_OP_OUTBOX_REQUEUE] = sqlite_outbox_requeue,
    [STORE_OP_OUTBOX_PRUNE] = sqlite_outbox_prune,
    [STORE_OP_RETAIN] = sqlite_retain,
    [STORE_OP_NS_USER_CLAIM] = sqlite_ns_user_claim,
};

/* Fails OP, which had succeeded, because its transaction did not commit. */
static void op_undo(struct store_op *op, int rc, const struct err *why)
{
    if (op->rc < 0)
        return;
    op->rc = rc;
    op->err = *why;
    free(op->ret_ids);
    op->ret_ids = NULL;
    op->n_ret_ids = 0;
}

/* One op in its savepoint: a failure rolls back only what the op wrote. */
static void op_run(struct sqlite_conn *c, struct store_op *op)
{
    op->rc = tx_step(c, SQ_SAVEPOINT, "savepoint", &op->err);
    if (op->rc < 0)
        return;
    op->rc = op_exec[op->kind](c, op, &op->err);
    if (op->rc < 0) {
        free(op->ret_ids);
        op->ret_ids = NULL;
        op->n_ret_ids = 0;
        /* after SQLITE_FULL, IOERR or NOMEM SQLite may have rolled back
         * the whole transaction: then there is no savepoint to go to */
        if (sqlite3_get_autocommit(c->db))
            return;
        tx_step(c, SQ_ROLLBACK_TO, "rollback to", NULL);
    }
    tx_step(c, SQ_RELEASE, "release", NULL);
}

static int sqlite_write(void *h, struct store_op *first, struct err *err)
{
    struct sqlite_conn *c = &((struct sqlite_store *)h)->writer;
    struct err why = {0};
    struct store_op *op;
    int rc;

    rc = tx_step(c, SQ_BEGIN, "begin", &why);
    for (op = first; rc == 0 && op; op = op->next) {
        if (op->rc < 0)
            continue; /* refused by store.c */
        op_run(c, op);
        if (op->rc < 0 && sqlite3_get_autocommit(c->db)) {
            /* the op's code stays: a full disk is told as such */
            rc = err_set(&why, op->err.code ? op->err.code : CHIME_EIO, NULL,
                         "batch rolled back: %s", op->err.msg);
            break;
        }
    }
    if (rc == 0)
        rc = tx_step(c, SQ_COMMIT, "commit", &why);
    if (rc < 0) {
        if (!sqlite3_get_autocommit(c->db))
            tx_step(c, SQ_ROLLBACK, "rollback", NULL);
        for (op = first; op; op = op->next)
            op_undo(op, rc, &why);
        if (err)
            *err = why;
    }
    return rc;
}

/* All or nothing (an import): no savepoints, since the first op that
 * fails takes the whole transaction back with it. Every op then fails
 * with the failing op's error, and *RET_FAILED names that op. */
static int sqlite_write_atomic(void *h, struct store_op *first, struct store_op **ret_failed,
                               struct err *err)
{
    struct sqlite_conn *c = &((struct sqlite_store *)h)->writer;
    struct store_op *op, *bad = NULL;
    struct err why = {0};
    int rc = 0;

    for (op = first; op && !bad; op = op->next)
        if (op->rc < 0)
            bad = op; /* refused by store.c: nothing is begun */
    if (!bad) {
        rc = tx_step(c, SQ_BEGIN, "begin", &why);
        for (op = first; rc == 0 && op; op = op->next) {
            op->rc = op_exec[op->kind](c, op, &op->err);
            if (op->rc < 0) {
                bad = op;
                rc = op->rc;
            }
        }
        if (rc == 0)
            rc = tx_step(c, SQ_COMMIT, "commit", &why);
        if (rc < 0 && !sqlite3_get_autocommit(c->db))
            tx_step(c, SQ_ROLLBACK, "rollback", NULL);
    }
    if (bad) {
        rc = bad->rc;
        why = bad->err;
    }
    if (rc < 0) {
        for (op = first; op; op = op->next) {
            if (op->rc >= 0)
                op_undo(op, rc, &why);
        }
        if (bad) {
            free(bad->ret_ids);
            bad->ret_ids = NULL;
            bad->n_ret_ids = 0;
        }
        if (err)
            *err = why;
    }
    *ret_failed = bad;
    return rc;
}

/* ---- the backend ---- */

static void sqlite_close(void *h)
{
    struct sqlite_store *b = h;

    if (!b)
        return;
    for (int i = 0; b->readers && i < b->n_readers; i++)
        conn_close(&b->readers[i]);
    free(b->readers);
    sqlite_ckpt_stop(b->ckpt);
    conn_close(&b->doc_reader);
    pthread_mutex_destroy(&b->doc_lock);
    /* the last connection to close checkpoints the WAL into the database */
    conn_close(&b->writer);
    pthread_cond_destroy(&b->pool_cond);
    pthread_mutex_destroy(&b->pool_lock);
    free(b);
}

static int64_t wall_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int sqlite_open(const struct store_options *opt, void **ret, struct err *err)
{
    struct sqlite_store *b;
    struct stat sb;
    char path[4096];
    int rc;

    if (!sqlite3_threadsafe())
        return err_set(err, CHIME_EIO, NULL, "sqlite is built without threads");
    if (stat(opt->path, &sb) == 0 && S_ISDIR(sb.st_mode))
        rc = snprintf(path, sizeof path, "%s/chime.db", opt->path);
    else
        rc = snprintf(path, sizeof path, "%s", opt->path);
    if (rc < 0 || (size_t)rc >= sizeof path)
        return err_set(err, CHIME_ETOOBIG, "path", "database path is too long");

    b = calloc(1, sizeof *b);
    if (!b)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    pthread_mutex_init(&b->pool_lock, NULL);
    pthread_cond_init(&b->pool_cond, NULL);
    pthread_mutex_init(&b->doc_lock, NULL);
    rc = conn_open(&b->writer, path, true, opt->busy_timeout_ms, err);
    if (rc < 0)
        goto fail;
    /* the instant a migration was applied is a record for people: the
     * wall clock is right here, unlike anywhere else in the store */
    rc = sqlite_migrate(b->writer.db, sqlite_migrations, sqlite_n_migrations, wall_now_us(), err);
    if (rc < 0)
        goto fail;
    b->readers = calloc((size_t)opt->readers, sizeof *b->readers);
    if (!b->readers) {
        rc = err_set(err, CHIME_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    for (; b->n_readers < opt->readers; b->n_readers++) {
        struct sqlite_conn *c = &b->readers[b->n_readers];

        rc = conn_open(c, path, false, opt->busy_timeout_ms, err);
        if (rc < 0)
            goto fail;
        c->next_free = b->free_readers;
        b->free_readers = c;
    }
    rc = conn_open(&b->doc_reader, path, false, opt->busy_timeout_ms, err);
    if (rc < 0)
        goto fail;
    /* no checkpoint inside a commit: sqlite_ckpt.c */
    rc = conn_exec(&b->writer, "PRAGMA wal_autocheckpoint = 0", "pragma", err);
    if (rc < 0 || (rc = sqlite_ckpt_start(path, &b->ckpt, err)) < 0)
        goto fail;
    *ret = b;
    return 0;
fail:
    sqlite_close(b);
    return rc;
}

static int sqlite_check(void *h, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    static const char *const checks[] = {
        "PRAGMA integrity_check",
        "PRAGMA foreign_key_check",
    };
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < sizeof checks / sizeof checks[0]; i++) {
        sqlite3_stmt *st = NULL;
        int step;

        rc = sqlite3_prepare_v2(c->db, checks[i], -1, &st, NULL);
        if (rc != SQLITE_OK) {
            rc = sqlite_fail(c->db, rc, checks[i], err);
            break;
        }
        step = sqlite3_step(st);
        /* integrity_check answers "ok"; foreign_key_check answers nothing */
        if (step == SQLITE_ROW && i == 0
            && strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
            rc = err_set(err, CHIME_EIO, NULL, "database is damaged: %s",
                         sqlite3_column_text(st, 0));
        else if (step == SQLITE_ROW && i == 1)
            rc = err_set(err, CHIME_EIO, NULL, "table %s has a dangling reference",
                         sqlite3_column_text(st, 0));
        else if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = sqlite_fail(c->db, step, checks[i], err);
        sqlite3_finalize(st);
    }
    sqlite_reader_give(b, c);
    return rc;
}

const struct store_backend sqlite_backend = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .write = sqlite_write,
    .write_atomic = sqlite_write_atomic,
    .backup = sqlite_backup,
    .job_get = sqlite_job_get,
    .job_list = sqlite_job_list,
    .job_count = sqlite_job_count,
    .job_versions = sqlite_job_versions,
    .job_scan = sqlite_job_scan,
    .job_heads = sqlite_job_heads,
    .job_doc = sqlite_job_doc,
    .job_doc_find = sqlite_job_doc_find,
    .run_get = sqlite_run_get,
    .run_list = sqlite_run_list,
    .run_count = sqlite_run_count,
    .run_unfinished = sqlite_run_unfinished,
    .dead_list = sqlite_dead_list,
    .token_get = sqlite_token_get,
    .token_list = sqlite_token_list,
    .token_count = sqlite_token_count,
    .audit_list = sqlite_audit_list,
    .audit_count = sqlite_audit_count,
    .outbox_list = sqlite_outbox_list,
    .outbox_count = sqlite_outbox_count,
    .outbox_get = sqlite_outbox_get,
    .outbox_next_due = sqlite_outbox_next_due,
    .check = sqlite_check,
};
