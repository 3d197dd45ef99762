/* testutil.h: what the store's tests share: a temporary directory per
 * test, removed afterwards, and a direct SQLite connection to the same
 * database for looking behind the store's back. Tests only. */
#ifndef CHIME_STORE_TESTUTIL_H
#define CHIME_STORE_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "store/store.h"

struct testdir {
    char dir[256];
    char db[300];
};

static inline void testdir_make(struct testdir *t)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(t->dir, sizeof t->dir, "%s/chime-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t->dir)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(t->db, sizeof t->db, "%s/chime.db", t->dir);
}

static inline int testdir_unlink(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void testdir_remove(struct testdir *t)
{
    nftw(t->dir, testdir_unlink, 8, FTW_DEPTH | FTW_PHYS);
}

/* A raw connection to T's database, for checks the store does not offer. */
static inline sqlite3 *testdir_sqlite(const struct testdir *t)
{
    sqlite3 *db = NULL;

    if (sqlite3_open(t->db, &db) != SQLITE_OK) {
        fprintf(stderr, "open %s: %s\n", t->db, sqlite3_errmsg(db));
        abort();
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* The first column of the first row of SQL, as a number. */
static inline long long testdir_query(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        abort();
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A test's directory and the store open in it (synchronous: no loop). */
struct fixture {
    struct testdir t;
    struct store *s;
};

static inline struct store *fixture_open(struct fixture *f)
{
    struct store_options o = {.path = f->t.dir};
    struct err err = {0};

    f->s = NULL;
    if (store_open(&o, &f->s, &err) < 0) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        abort();
    }
    return f->s;
}

static inline int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    testdir_make(&f->t);
    fixture_open(f);
    *state = f;
    return 0;
}

static inline int fixture_teardown(void **state)
{
    struct fixture *f = *state;

    store_close(f->s);
    testdir_remove(&f->t);
    free(f);
    return 0;
}

/* Puts ns/name with DOC and returns the job's id. */
static inline int64_t fixture_job(struct store *s, const char *ns, const char *name,
                                  const char *doc)
{
    struct store_job j;
    struct err err = {0};
    int64_t id;

    if (store_job_put(s, ns, name, doc, NULL, 0, false, 1000, NULL, &err) < 0
        || store_job_get(s, ns, name, &j, &err) < 0) {
        fprintf(stderr, "put %s/%s: %s\n", ns, name, err.msg);
        abort();
    }
    id = j.id;
    store_job_release(&j);
    return id;
}

/* Inserts a run of JOB at FIRE (attempt ATTEMPT) in STATE; its id. */
static inline int64_t fixture_run(struct store *s, int64_t job, int64_t fire, int64_t attempt,
                                  enum store_run_state state)
{
    struct store_run r;
    struct err err = {0};
    int64_t id = 0;

    store_run_init(&r);
    r.job_id = job;
    r.job_version = 1;
    r.fire_us = fire;
    r.reason = STORE_REASON_SCHEDULE;
    r.attempt = attempt;
    r.state = state;
    r.queued_us = fire + 1;
    if (store_run_insert(s, &r, &id, &err) != 0) {
        fprintf(stderr, "insert run: %s\n", err.msg);
        abort();
    }
    return id;
}

#endif
