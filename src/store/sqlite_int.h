/* sqlite_int.h: what the SQLite backend's files share. Private to
 * src/store/sqlite*.c and their tests.
 *
 * A connection caches one prepared statement per entry of enum sq; the SQL
 * of each is in sqlite_schema.c, next to the schema it runs against. No
 * SQL is ever built from values: values are bound. Filtered lists have one
 * statement per combination of filters, made from fixed fragments. */
#ifndef CHIME_STORE_SQLITE_INT_H
#define CHIME_STORE_SQLITE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store/backend.h"
#include "store/store.h"

enum sq {
    SQ_BEGIN, /* BEGIN IMMEDIATE */
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_SAVEPOINT,
    SQ_RELEASE,
    SQ_ROLLBACK_TO,

    SQ_JOB_FIND,
    SQ_VERSION_SAME,
    SQ_JOB_INSERT,
    SQ_JOB_BUMP,
    SQ_VERSION_INSERT,
    SQ_LABELS_DELETE,
    SQ_LABELS_INSERT,
    SQ_JOB_DELETE,
    SQ_DEAD_DELETE_JOB,
    SQ_JOB_STATE,
    SQ_JOB_GET,
    SQ_JOB_GET_VERSION,
    SQ_VERSION_LIST,
    SQ_JOB_LIST,                    /* + a mask of SQ_JOB_BY_* */
    SQ_JOB_COUNT = SQ_JOB_LIST + 4, /* + a mask of SQ_JOB_BY_* */
    SQ_JOB_PLAN = SQ_JOB_COUNT + 4,
    SQ_JOB_SCAN,
    SQ_JOB_HEADS,
    SQ_JOB_DOC,

    SQ_RUN_INSERT,
    SQ_RUN_EXISTING,
    SQ_JOB_LAST_FIRE,
    SQ_RUN_UPDATE,
    SQ_RUN_STATE_OF,
    SQ_RUN_GET,
    SQ_RUN_UNFINISHED,
    SQ_RUN_LIST,                    /* + a mask of SQ_RUN_BY_* */
    SQ_RUN_COUNT = SQ_RUN_LIST + 16, /* + a mask of SQ_RUN_BY_* */
    SQ_DEAD_INSERT = SQ_RUN_COUNT + 16,
    SQ_DEAD_REMOVE,
    SQ_DEAD_LIST, /* + a mask of SQ_DEAD_BY_* */
    SQ_RETAIN_JOBS = SQ_DEAD_LIST + 4, /* sqlite_retain.c */
    SQ_RETAIN_NTH,
    SQ_RETAIN_OUTPUT,
    SQ_RETAIN_DELETE,
    SQ_RETAIN_DEAD_NTH,
    SQ_RETAIN_DEAD_DELETE,
    SQ_AUDIT_PRUNE_BATCH,
    SQ_TOKEN_INSERT,
    SQ_TOKEN_LIVE,
    SQ_TOKEN_REVOKE,
    SQ_NS_USER_GET,
    SQ_NS_USER_TAKEN,
    SQ_NS_USER_PUT,
    SQ_TOKEN_GET,
    SQ_TOKEN_LIST,
    SQ_TOKEN_COUNT,
    SQ_AUDIT_INSERT,
    SQ_AUDIT_PRUNE,
    SQ_AUDIT_LIST,                      /* + a mask of SQ_AUDIT_BY_* */
    SQ_AUDIT_COUNT = SQ_AUDIT_LIST + 4, /* + a mask of SQ_AUDIT_BY_* */
    SQ_AUDIT_END = SQ_AUDIT_COUNT + 3,  /* the last variant */
    SQ_OUTBOX_ADD,
    SQ_OUTBOX_ADD_DAEMON,
    SQ_OUTBOX_CLAIM,
    SQ_OUTBOX_DONE,
    SQ_OUTBOX_REQUEUE_ONE,
    SQ_OUTBOX_REQUEUE_ALL,
    SQ_OUTBOX_STATE_OF,
    SQ_OUTBOX_PRUNE,
    SQ_OUTBOX_GET,
    SQ_OUTBOX_NEXT_DUE,
    SQ_OUTBOX_LIST,                       /* + a mask of SQ_OUTBOX_BY_* */
    SQ_OUTBOX_COUNT = SQ_OUTBOX_LIST + 8, /* + a mask of SQ_OUTBOX_BY_* */
    SQ_OUTBOX_END = SQ_OUTBOX_COUNT + 7,  /* the last variant */
    SQ_COUNT
};

enum { SQ_JOB_BY_NS = 1, SQ_JOB_BY_LABEL = 2 };
enum { SQ_RUN_BY_JOB = 1, SQ_RUN_BY_NS = 2, SQ_RUN_BY_STATE = 4, SQ_RUN_BY_RAN = 8 };
enum { SQ_DEAD_BY_JOB = 1, SQ_DEAD_BY_NS = 2 };
enum { SQ_AUDIT_BY_JOB = 1, SQ_AUDIT_BY_TOKEN = 2 };
enum { SQ_OUTBOX_BY_JOB = 1, SQ_OUTBOX_BY_STATE = 2, SQ_OUTBOX_BY_CHANNEL = 4 };

struct sqlite_conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[SQ_COUNT]; /* prepared on first use */
    struct sqlite_conn *next_free;
};

struct sqlite_store {
    struct sqlite_conn writer; /* used under store.c's write lock */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    struct sqlite_conn *readers;
    int n_readers;
    struct sqlite_conn *free_readers; /* guarded by pool_lock */
    struct sqlite_conn doc_reader;    /* store_job_doc() only, under doc_lock */
    struct sqlite_ckpt *ckpt;         /* the WAL's checkpoints (sqlite_ckpt.c) */
    pthread_mutex_t doc_lock;
};

/* Checkpoints of the WAL of the database at PATH on a thread of their own,
 * every 200 ms; the writer runs with wal_autocheckpoint = 0. */
struct sqlite_ckpt;
int sqlite_ckpt_start(const char *path, struct sqlite_ckpt **ret, struct err *err);
long long sqlite_ckpt_passes(struct sqlite_ckpt *k);
void sqlite_ckpt_stop(struct sqlite_ckpt *k);

/* A schema migration: the SQL that takes version - 1 to version. */
struct sqlite_migration {
    int version;
    const char *sql;
};

extern const struct sqlite_migration sqlite_migrations[];
extern const size_t sqlite_n_migrations;

/* The SQL of statement ID into BUF (which it may use); NULL if too long. */
const char *sqlite_sql(int id, char *buf, size_t len);

/* Brings DB to the newest of the N migrations, each in a transaction of
 * its own. CHIME_ERANGE when DB is newer than the newest. */
int sqlite_migrate(sqlite3 *db, const struct sqlite_migration *m, size_t n, int64_t now_us,
                   struct err *err);

/* The statement ID of C, reset and with no bindings. */
int sqlite_stmt(struct sqlite_conn *c, int id, sqlite3_stmt **ret, struct err *err);
/* Turns SQLite's result RC into a chime error about WHAT. */
int sqlite_fail(sqlite3 *db, int rc, const char *what, struct err *err);

/* Steps a statement that returns no row (or ignores them): 0 or -code. */
int sqlite_run(struct sqlite_conn *c, sqlite3_stmt *st, const char *what, struct err *err);
/* Steps once: 1 with a row, 0 at the end, or -code. */
int sqlite_row(struct sqlite_conn *c, sqlite3_stmt *st, const char *what, struct err *err);

/* Binding at index I; NULL strings and STORE_NULL numbers bind NULL. An
 * index past the statement's parameters is skipped (filter variants). */
int sqlite_bind_i64(sqlite3_stmt *st, int i, int64_t v);
int sqlite_bind_text(sqlite3_stmt *st, int i, const char *s, size_t len);
int sqlite_bind_str(sqlite3_stmt *st, int i, const char *s);

/* Column I as a number, STORE_NULL for NULL. */
int64_t sqlite_col_i64(sqlite3_stmt *st, int i);
/* Column I as an owned string into *RET (NULL for NULL); CHIME_ENOMEM. */
int sqlite_col_str(sqlite3_stmt *st, int i, char **ret, size_t *ret_len, struct err *err);
/* Column I, a name, into DST (STORE_NAME_MAX + 1 bytes). */
void sqlite_col_name(sqlite3_stmt *st, int i, char *dst);

/* Borrow and give back a read connection. */
struct sqlite_conn *sqlite_reader_take(struct sqlite_store *b);
void sqlite_reader_give(struct sqlite_store *b, struct sqlite_conn *c);

/* Grows *ITEMS (of SIZE bytes each) to hold N + 1. */
int sqlite_grow(void *items, size_t *cap, size_t n, size_t size, struct err *err);

/* ---- keyset pages (sqlite_page.c): the one loop behind every list ---- */

/* A list: how its statement pages and how one of its rows becomes an
 * item. The statement orders by the key and reads
 * "WHERE key < ?K" (newest first) or "key > ?K" (oldest first), with a
 * pair's second number at ?K+1, and "LIMIT ?L". */
struct sqlite_list {
    const char *what;         /* "list runs": what a failure names */
    enum store_key_kind key;  /* the order, which the cursor encodes */
    int64_t first;            /* the first page's bound: INT64_MAX newest first, 0 oldest */
    int key_param;            /* K; 0: no key (one page of every row) */
    int limit_param;          /* L */
    size_t size;              /* bytes of an item */
    /* Fills ITEM from ST's row. On failure ITEM may hold what RELEASE
     * frees (the page reader releases it). */
    int (*fill)(sqlite3_stmt *st, void *item, struct err *err);
    void (*release)(void *item); /* frees what ITEM holds, not ITEM */
    void (*key_of)(const void *item, struct store_key *ret);
};

/* The statement of a list, prepared on C and bound but for the key and
 * the limit; ARG is the caller's (its filter). */
typedef int sqlite_list_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                             struct err *err);

/* A page of any list; the caller moves it into its typed page
 * (SQLITE_PAGE_MOVE) and then owns the items. */
struct sqlite_page {
    void *items;
    size_t n;
    char next_cursor[STORE_CURSOR_MAX]; /* "": this is the last page */
};

#define SQLITE_PAGE_MOVE(dst, p)                                                                \
    ((dst)->items = (p).items, (dst)->n = (p).n,                                                \
     memcpy((dst)->next_cursor, (p).next_cursor, sizeof (dst)->next_cursor))

/* A page of L: at most LIMIT rows past CURSOR's key (0: every row, no
 * cursor) from the statement STMT makes, on a reader of B. A malformed
 * cursor is CHIME_EINVAL "cursor" before anything is read. *RET is
 * written only on success. */
int sqlite_page_read(struct sqlite_store *b, const struct sqlite_list *l, sqlite_list_stmt *stmt,
                     const void *arg, const char *cursor, int limit, struct sqlite_page *ret,
                     struct err *err);

/* Write ops: run on the writer, inside the op's savepoint. */
int sqlite_job_put(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_job_delete(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_job_state(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_run_insert(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_run_update(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_dead_insert(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_dead_remove(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_job_plan(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_token_insert(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_token_revoke(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_audit_insert(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_audit_prune(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_outbox_add(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_outbox_claim(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_outbox_done(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_outbox_requeue(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_outbox_prune(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_retain(struct sqlite_conn *c, struct store_op *op, struct err *err);
int sqlite_ns_user_claim(struct sqlite_conn *c, struct store_op *op, struct err *err);

/* Reads, on a borrowed reader; the backend's entries (backend.h). */
int sqlite_job_get(void *h, const char *ns, const char *name, int64_t version,
                   struct store_job *ret, struct err *err);
int sqlite_job_list(void *h, const struct store_job_filter *f, int limit,
                    struct store_job_page *ret, struct err *err);
int sqlite_job_count(void *h, const struct store_job_filter *f, int64_t *ret, struct err *err);
int sqlite_job_versions(void *h, const char *ns, const char *name, const char *cursor, int limit,
                        struct store_version_page *ret, struct err *err);
int sqlite_job_scan(void *h, store_job_scan_cb *cb, void *ctx, struct err *err);
int sqlite_job_heads(void *h, const char *author, store_job_head_cb *cb, void *ctx,
                     struct err *err);
int sqlite_job_doc(void *h, int64_t job_id, int64_t version, char **ret, size_t *ret_len,
                   struct err *err);
int sqlite_job_doc_find(void *h, const char *needle, int64_t newest, char **ret, size_t *ret_len,
                        struct err *err);
int sqlite_run_get(void *h, int64_t id, struct store_run *ret, struct err *err);
int sqlite_run_list(void *h, const struct store_run_filter *f, int limit,
                    struct store_run_page *ret, struct err *err);
int sqlite_run_count(void *h, const struct store_run_filter *f, int64_t *ret, struct err *err);
int sqlite_run_unfinished(void *h, struct store_run_page *ret, struct err *err);
/* A consistent copy of the database into DEST (sqlite_backup.c). */
int sqlite_backup(void *h, const char *dest, struct err *err);
int sqlite_dead_list(void *h, const struct store_dead_filter *f, int limit,
                     struct store_dead_page *ret, struct err *err);
int sqlite_token_get(void *h, const char *key, struct store_token *ret, struct err *err);
int sqlite_token_list(void *h, bool revoked, const char *cursor, int limit,
                      struct store_token_page *ret, struct err *err);
int sqlite_token_count(void *h, int64_t *ret, struct err *err);
int sqlite_audit_list(void *h, const struct store_audit_filter *f, int limit,
                      struct store_audit_page *ret, struct err *err);
int sqlite_audit_count(void *h, const struct store_audit_filter *f, int64_t *ret,
                       struct err *err);
int sqlite_outbox_list(void *h, const struct store_outbox_filter *f, int limit,
                       struct store_outbox_page *ret, struct err *err);
int sqlite_outbox_count(void *h, const struct store_outbox_filter *f, int64_t *ret,
                        struct err *err);
int sqlite_outbox_get(void *h, int64_t id, struct store_outbox *ret, struct err *err);
int sqlite_outbox_next_due(void *h, int64_t *ret_us, struct err *err);

/* The job id of (ns, name), deleted or not; CHIME_ENOTFOUND. */
int sqlite_job_id(struct sqlite_conn *c, const char *ns, const char *name, bool live_only,
                  int64_t *ret, struct err *err);

#endif
