/* backend.h: what a store backend implements (SQLite now, PostgreSQL
 * next). Private to src/store/.
 *
 * store.c owns everything backend-neutral: checking ops, the queue, the
 * store thread, callbacks on the loop, and the lock that lets one batch at
 * a time use the backend's write connection. A backend owns its
 * connections, its schema and the SQL. */
#ifndef CHIME_STORE_BACKEND_H
#define CHIME_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_backend {
    const char *name;
    int (*open)(const struct store_options *opt, void **ret, struct err *err);
    void (*close)(void *b);

    /* Runs the ops chained by ->next from FIRST, in order, in one
     * transaction with a savepoint per op, and commits. Ops whose rc is
     * already negative (refused by store.c) are skipped. Sets every op's
     * rc, err and results; a failed op changes nothing, and the others
     * still commit. Returns 0, or -code when the transaction itself failed
     * (then every op has failed). Called under store.c's write lock. */
    int (*write)(void *b, struct store_op *first, struct err *err);
    /* As write, but all or nothing: the first op that fails (*RET_FAILED;
     * NULL when the transaction itself failed) rolls the whole
     * transaction back, and then every op has failed. */
    int (*write_atomic)(void *b, struct store_op *first, struct store_op **ret_failed,
                        struct err *err);
    /* A consistent copy of the database into the file DEST (store_backup). */
    int (*backup)(void *b, const char *dest, struct err *err);

    /* Reads, from any thread. Arguments are checked by store.c. */
    int (*job_get)(void *b, const char *ns, const char *name, int64_t version,
                   struct store_job *ret, struct err *err);
    int (*job_list)(void *b, const struct store_job_filter *f, int limit,
                    struct store_job_page *ret, struct err *err);
    int (*job_count)(void *b, const struct store_job_filter *f, int64_t *ret, struct err *err);
    int (*job_versions)(void *b, const char *ns, const char *name, const char *cursor, int limit,
                        struct store_version_page *ret, struct err *err);
    int (*job_scan)(void *b, store_job_scan_cb *cb, void *ctx, struct err *err);
    int (*job_heads)(void *b, const char *author, store_job_head_cb *cb, void *ctx,
                     struct err *err);
    int (*job_doc)(void *b, int64_t job_id, int64_t version, char **ret, size_t *ret_len,
                   struct err *err);
    int (*job_doc_find)(void *b, const char *needle, int64_t newest, char **ret,
                        size_t *ret_len, struct err *err);
    int (*run_get)(void *b, int64_t id, struct store_run *ret, struct err *err);
    int (*run_list)(void *b, const struct store_run_filter *f, int limit,
                    struct store_run_page *ret, struct err *err);
    int (*run_count)(void *b, const struct store_run_filter *f, int64_t *ret, struct err *err);
    int (*run_unfinished)(void *b, struct store_run_page *ret, struct err *err);
    int (*dead_list)(void *b, const struct store_dead_filter *f, int limit,
                     struct store_dead_page *ret, struct err *err);
    int (*token_get)(void *b, const char *key, struct store_token *ret, struct err *err);
    int (*token_list)(void *b, bool revoked, const char *cursor, int limit,
                      struct store_token_page *ret, struct err *err);
    int (*token_count)(void *b, int64_t *ret, struct err *err);
    int (*audit_list)(void *b, const struct store_audit_filter *f, int limit,
                      struct store_audit_page *ret, struct err *err);
    int (*audit_count)(void *b, const struct store_audit_filter *f, int64_t *ret,
                       struct err *err);
    int (*outbox_list)(void *b, const struct store_outbox_filter *f, int limit,
                       struct store_outbox_page *ret, struct err *err);
    int (*outbox_count)(void *b, const struct store_outbox_filter *f, int64_t *ret,
                        struct err *err);
    int (*outbox_get)(void *b, int64_t id, struct store_outbox *ret, struct err *err);
    int (*outbox_next_due)(void *b, int64_t *ret_us, struct err *err);
    int (*check)(void *b, struct err *err);
};

extern const struct store_backend sqlite_backend;

/* Helpers both sides use (store.c). */

/* The length of S cut to at most MAX bytes without splitting a UTF-8
 * sequence. */
size_t store_text_cut(const char *s, size_t max);

/* Cursors: a run page's is "<fire_us>.<id>", a job page's the hex of
 * namespace and name joined by '.', a version or dead-letter page's one
 * number. Opaque to clients; a malformed one is CHIME_EINVAL "cursor". */
void store_cursor_pair(char *buf, int64_t a, int64_t b);
int store_cursor_pair_parse(const char *c, int64_t *ret_a, int64_t *ret_b, struct err *err);
void store_cursor_one(char *buf, int64_t a);
int store_cursor_one_parse(const char *c, int64_t *ret, struct err *err);
void store_cursor_names(char *buf, const char *ns, const char *name);
int store_cursor_names_parse(const char *c, char *ns, char *name, struct err *err);

/* Keyset pages, whatever the backend. A list orders its rows by a key
 * that is unique per row; a page is the first LIMIT rows past the key of
 * the previous page's last row, and its cursor is that last row's key.
 * The backend reads LIMIT + 1 rows: when the extra one is there, the page
 * gets a next cursor, so a last page is never empty, and rows inserted
 * between pages neither shift nor repeat the others. A cursor is checked
 * before anything is read. */
enum store_key_kind {
    STORE_KEY_ONE,   /* one number: "<n>" (versions, dead letters, tokens, audit, outbox) */
    STORE_KEY_PAIR,  /* two numbers: "<a>.<b>" (runs: fire_us, id) */
    STORE_KEY_NAMES, /* two names: "<hex ns>.<hex name>" (jobs) */
};

/* A key: n[] for the numbers, s[] for the names of STORE_KEY_NAMES. */
struct store_key {
    int64_t n[2];
    char s[2][STORE_NAME_MAX + 1];
};

/* The key CURSOR names, as KIND, into *RET; a NULL or "" cursor is the
 * first page: both numbers FIRST, both names "". CHIME_EINVAL "cursor"
 * when CURSOR is not one of KIND, and *RET is then not written. */
int store_key_parse(enum store_key_kind kind, const char *cursor, int64_t first,
                    struct store_key *ret, struct err *err);
/* K's cursor, as KIND, into BUF (STORE_CURSOR_MAX bytes). */
void store_key_cursor(enum store_key_kind kind, const struct store_key *k, char *buf);

/* Copies at most STORE_NAME_MAX bytes of S into DST. */
void store_name_copy(char *dst, const char *s, size_t len);

#endif
