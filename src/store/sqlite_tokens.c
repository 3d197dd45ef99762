/* sqlite_tokens.c: API tokens in SQLite.
 *
 * A token's row holds the hash of its secret, never the secret, and is
 * found by the public id (key) the secret carries. A name belongs to one
 * live token at a time (a partial unique index): revoking frees it, and
 * the revoked row stays for the audit log's sake. */
#include "store/sqlite_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/err.h"
#include "../banned.h"

/* The live token named NAME's id in *RET; CHIME_ENOTFOUND. */
static int token_live(struct sqlite_conn *c, const char *name, int64_t *ret, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_TOKEN_LIVE, &st, err)) < 0)
        return rc;
    sqlite_bind_str(st, 1, name);
    rc = sqlite_row(c, st, "find token", err);
    if (rc == 1)
        *ret = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc == 0) {
        char q[80];

        return err_set(err, CHIME_ENOTFOUND, "name", "no live token is named '%s'",
                       err_quote(name, strlen(name), q, sizeof q));
    }
    return rc < 0 ? rc : 0;
}

int sqlite_token_insert(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    const struct store_token *t = op->token_insert.token;
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    int rc;

    /* a clear conflict rather than the unique index's constraint error */
    rc = token_live(c, t->name, &id, err);
    if (rc == 0) {
        char q[80];

        return err_set(err, CHIME_ECONFLICT, "name", "a token named '%s' exists",
                       err_quote(t->name, strlen(t->name), q, sizeof q));
    }
    if (rc != -CHIME_ENOTFOUND)
        return rc;
    *err = (struct err){0};
    if ((rc = sqlite_stmt(c, SQ_TOKEN_INSERT, &st, err)) < 0)
        return rc;
    sqlite_bind_str(st, 1, t->key);
    sqlite_bind_str(st, 2, t->name);
    sqlite_bind_str(st, 3, t->role);
    sqlite_bind_str(st, 4, t->namespaces);
    sqlite3_bind_blob(st, 5, t->hash, (int)t->hash_len, SQLITE_STATIC);
    sqlite_bind_i64(st, 6, t->created_us);
    sqlite_bind_str(st, 7, t->created_by);
    sqlite_bind_i64(st, 8, t->expires_us);
    rc = sqlite_row(c, st, "insert token", err);
    if (rc == 1)
        op->ret_id = sqlite3_column_int64(st, 0);
    else if (rc == 0)
        rc = err_set(err, CHIME_EIO, NULL, "insert token returned no id");
    sqlite3_reset(st);
    return rc < 0 ? rc : 0;
}

int sqlite_token_revoke(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    int rc;

    if ((rc = token_live(c, op->token_revoke.name, &id, err)) < 0)
        return rc;
    if ((rc = sqlite_stmt(c, SQ_TOKEN_REVOKE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, id);
    sqlite_bind_i64(st, 2, op->token_revoke.now_us);
    rc = sqlite_run(c, st, "revoke token", err);
    if (rc == 0)
        op->ret_id = id;
    return rc;
}

/* A row of TOKEN_COLS into T. */
static int token_fill(sqlite3_stmt *st, void *item, struct err *err)
{
    struct store_token *t = item;
    const void *hash = sqlite3_column_blob(st, 5);
    size_t n = (size_t)sqlite3_column_bytes(st, 5);
    int rc;

    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    snprintf(t->key, sizeof t->key, "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite_col_name(st, 2, t->name);
    snprintf(t->role, sizeof t->role, "%s", (const char *)sqlite3_column_text(st, 3));
    if (n > sizeof t->hash)
        n = sizeof t->hash;
    if (hash)
        memcpy(t->hash, hash, n);
    t->hash_len = hash ? n : 0;
    t->created_us = sqlite_col_i64(st, 6);
    t->expires_us = sqlite_col_i64(st, 8);
    t->revoked_us = sqlite_col_i64(st, 9);
    if ((rc = sqlite_col_str(st, 4, &t->namespaces, NULL, err)) < 0
        || (rc = sqlite_col_str(st, 7, &t->created_by, NULL, err)) < 0) {
        store_token_release(t);
        return rc;
    }
    return 0;
}

int sqlite_token_get(void *h, const char *key, struct store_token *ret, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    struct store_token t;
    sqlite3_stmt *st = NULL;
    int rc;

    memset(&t, 0, sizeof t);
    if ((rc = sqlite_stmt(c, SQ_TOKEN_GET, &st, err)) < 0)
        goto done;
    sqlite_bind_str(st, 1, key);
    rc = sqlite_row(c, st, "read token", err);
    if (rc == 1)
        rc = token_fill(st, &t, err);
    else if (rc == 0)
        rc = err_set(err, CHIME_ENOTFOUND, "token", "no such token");
    sqlite3_reset(st);
done:
    sqlite_reader_give(b, c);
    if (rc == 0)
        *ret = t;
    return rc;
}

static void token_item_release(void *item)
{
    store_token_release(item);
}

static void token_key(const void *item, struct store_key *ret)
{
    ret->n[0] = ((const struct store_token *)item)->id;
}

static int token_list_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                           struct err *err)
{
    int rc;

    if ((rc = sqlite_stmt(c, SQ_TOKEN_LIST, ret, err)) < 0)
        return rc;
    sqlite_bind_i64(*ret, 2, *(const bool *)arg);
    return 0;
}

/* oldest first by id */
static const struct sqlite_list token_list = {
    .what = "list tokens", .key = STORE_KEY_ONE, .first = 0, .key_param = 1,
    .limit_param = 3, .size = sizeof(struct store_token), .fill = token_fill,
    .release = token_item_release, .key_of = token_key,
};

int sqlite_token_list(void *h, bool revoked, const char *cursor, int limit,
                      struct store_token_page *ret, struct err *err)
{
    struct sqlite_page p;
    int rc = sqlite_page_read(h, &token_list, token_list_stmt, &revoked, cursor, limit, &p, err);

    if (rc == 0)
        SQLITE_PAGE_MOVE(ret, p);
    return rc;
}

int sqlite_token_count(void *h, int64_t *ret, struct err *err)
{
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_TOKEN_COUNT, &st, err)) == 0) {
        rc = sqlite_row(c, st, "count tokens", err);
        if (rc == 1) {
            *ret = sqlite3_column_int64(st, 0);
            rc = 0;
        }
        sqlite3_reset(st);
    }
    sqlite_reader_give(b, c);
    return rc;
}
