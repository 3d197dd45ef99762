/* sqlite_test.c: the SQLite backend's database: pragmas, migrations,
 * integrity, and that everything written is there after a reopen. */
#include "store/sqlite_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/backend.h"
#include "store/testutil.h"
#include "util/err.h"
#include "../banned.h"

static void test_store_opens_a_directory_in_wal_mode(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = testdir_sqlite(&f->t);
    sqlite3_stmt *st = NULL;
    struct err err = {0};

    assert_int_equal(access(f->t.db, F_OK), 0);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM sqlite_master"
                                       " WHERE name = 'runs'"),
                     1);
    sqlite3_close(db);
    assert_int_equal(store_check(f->s, &err), 0);
}

static void test_store_connections_use_full_sync_and_foreign_keys(void **state)
{
    struct sqlite_store *b = NULL;
    struct fixture *f = *state;
    struct store_options o = {.path = f->t.dir, .readers = 1, .busy_timeout_ms = 1000};
    struct err err = {0};

    assert_int_equal(sqlite_backend.open(&o, (void **)&b, &err), 0);
    /* 2 is FULL */
    assert_int_equal(testdir_query(b->writer.db, "PRAGMA synchronous"), 2);
    assert_int_equal(testdir_query(b->writer.db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(testdir_query(b->readers[0].db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(testdir_query(b->readers[0].db, "PRAGMA query_only"), 1);
    sqlite_backend.close(b);
}

static void test_store_migrations_run_once(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = testdir_sqlite(&f->t);
    long long applied = testdir_query(db, "SELECT applied_us FROM schema_version"
                                          " WHERE version = 1");

    assert_int_equal(testdir_query(db, "SELECT count(*) FROM schema_version"),
                     (long long)sqlite_n_migrations);
    assert_int_equal(testdir_query(db, "SELECT max(version) FROM schema_version"),
                     sqlite_migrations[sqlite_n_migrations - 1].version);
    sqlite3_close(db);

    store_close(f->s);
    fixture_open(f);
    store_close(f->s);
    fixture_open(f);

    db = testdir_sqlite(&f->t);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM schema_version"),
                     (long long)sqlite_n_migrations);
    assert_int_equal(testdir_query(db, "SELECT applied_us FROM schema_version"
                                       " WHERE version = 1"),
                     applied);
    sqlite3_close(db);
}

static void test_store_migration_steps_apply_in_order_each_in_one_transaction(void **state)
{
    struct fixture *f = *state;
    static const struct sqlite_migration broken[] = {
        {1, "CREATE TABLE a (x INTEGER)"},
        {2, "CREATE TABLE b (x INTEGER); INSERT INTO b VALUES (1)"},
        {3, "CREATE TABLE c (x INTEGER); INSERT INTO c VALUES (1); NOT SQL"},
    };
    static const struct sqlite_migration fixed[] = {
        {1, "CREATE TABLE a (x INTEGER)"},
        {2, "CREATE TABLE b (x INTEGER); INSERT INTO b VALUES (1)"},
        {3, "CREATE TABLE c (x INTEGER); INSERT INTO c VALUES (1)"},
    };
    char path[400];
    sqlite3 *db = NULL;
    struct err err = {0};

    snprintf(path, sizeof path, "%s/other.db", f->t.dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);

    assert_int_equal(sqlite_migrate(db, broken, 3, 7, &err), -CHIME_EIO);
    assert_non_null(strstr(err.msg, "schema migration 3 failed"));
    /* 1 and 2 stayed; nothing of 3 did, not even its first statement */
    assert_int_equal(testdir_query(db, "SELECT max(version) FROM schema_version"), 2);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM b"), 1);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM sqlite_master"
                                       " WHERE name = 'c'"),
                     0);

    assert_int_equal(sqlite_migrate(db, fixed, 3, 8, &err), 0);
    assert_int_equal(testdir_query(db, "SELECT max(version) FROM schema_version"), 3);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM b"), 1); /* not run twice */
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM c"), 1);
    assert_int_equal(testdir_query(db, "SELECT applied_us FROM schema_version"
                                       " WHERE version = 2"),
                     7);
    sqlite3_close(db);
}

static void test_store_refuses_a_database_from_a_newer_chime(void **state)
{
    struct fixture *f = *state;
    struct store_options o = {.path = f->t.dir};
    struct store *s = NULL;
    struct err err = {0};
    sqlite3 *db;

    store_close(f->s);
    f->s = NULL;
    db = testdir_sqlite(&f->t);
    assert_int_equal(
        sqlite3_exec(db, "INSERT INTO schema_version VALUES (999, 1)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(store_open(&o, &s, &err), -CHIME_ERANGE);
    assert_null(s);
    assert_non_null(strstr(err.msg, "schema version 999 is newer"));
    db = testdir_sqlite(&f->t);
    assert_int_equal(testdir_query(db, "SELECT max(version) FROM schema_version"), 999);
    sqlite3_close(db);
}

static void test_store_keeps_everything_after_close_and_reopen(void **state)
{
    struct fixture *f = *state;
    struct store_run r, got;
    struct store_job j;
    struct store_op op = {.kind = STORE_OP_JOB_STATE};
    struct store_dead_page dead;
    struct store_dead_filter df = {0};
    struct err err = {0};
    int64_t job, run, v;

    job = fixture_job(f->s, "ops", "backup", "{\"n\": 1}");
    assert_int_equal(
        store_job_put(f->s, "ops", "backup", "{\"n\": 2}", "ann", 1, true, 2000, &v, &err), 0);
    assert_int_equal(v, 2);
    op.job_state.job_id = job;
    op.job_state.set = STORE_STATE_FAILURES | STORE_STATE_NEXT_FIRE;
    op.job_state.consecutive_failures = 3;
    op.job_state.next_fire_us = 99000;
    assert_int_equal(store_exec(f->s, &op), 0);
    run = fixture_run(f->s, job, 50000, 1, STORE_RUN_QUEUED);
    store_run_init(&r);
    r.id = run;
    r.state = STORE_RUN_FAILED;
    r.exit_code = 3;
    r.error = "exit status 3";
    assert_int_equal(store_run_update(f->s, &r, STORE_RUN_QUEUED, &err), 0);
    assert_int_equal(store_dead_insert(f->s, run, "3 attempts failed", 60000, &err), 0);

    store_close(f->s);
    fixture_open(f);

    assert_int_equal(store_job_get(f->s, "ops", "backup", &j, &err), 0);
    assert_int_equal(j.id, job);
    assert_int_equal(j.version, 2);
    assert_string_equal(j.doc, "{\"n\": 2}");
    assert_string_equal(j.author, "ann");
    assert_true(j.paused);
    assert_int_equal(j.consecutive_failures, 3);
    assert_int_equal(j.next_fire_us, 99000);
    assert_int_equal(j.last_fire_us, 50000);
    store_job_release(&j);
    assert_int_equal(store_job_get_version(f->s, "ops", "backup", 1, &j, &err), 0);
    assert_string_equal(j.doc, "{\"n\": 1}");
    store_job_release(&j);
    assert_int_equal(store_run_get(f->s, run, &got, &err), 0);
    assert_int_equal(got.state, STORE_RUN_FAILED);
    assert_int_equal(got.exit_code, 3);
    assert_string_equal(got.error, "exit status 3");
    store_run_release(&got);
    assert_int_equal(store_dead_list(f->s, &df, &dead, &err), 0);
    assert_int_equal(dead.n, 1);
    assert_int_equal(dead.items[0].run_id, run);
    assert_string_equal(dead.items[0].reason, "3 attempts failed");
    store_dead_page_release(&dead);
    assert_int_equal(store_check(f->s, &err), 0);
}

static void test_store_check_finds_a_dangling_reference(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};
    sqlite3 *db = testdir_sqlite(&f->t);

    /* behind the store's back, without foreign keys on */
    assert_int_equal(
        sqlite3_exec(db, "INSERT INTO job_labels VALUES (42, 'k', 'v')", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_check(f->s, &err), -CHIME_EIO);
    assert_non_null(strstr(err.msg, "job_labels"));
}

static void test_store_refuses_a_path_it_cannot_use(void **state)
{
    struct store_options o = {.path = "/nonexistent-dir/sub/chime.db"};
    struct store_options pg = {.path = "postgres://db/chime"};
    struct store_options empty = {.path = ""};
    struct store *s = NULL;
    struct err err = {0};

    (void)state;
    assert_true(store_open(&o, &s, &err) < 0);
    assert_null(s);
    assert_int_equal(store_open(&pg, &s, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "not built"));
    assert_int_equal(store_open(&empty, &s, &err), -CHIME_EINVAL);
    assert_null(s);
}

static void test_store_every_statement_prepares(void **state)
{
    struct sqlite_store *b = NULL;
    struct fixture *f = *state;
    struct store_options o = {.path = f->t.dir, .readers = 1, .busy_timeout_ms = 1000};
    struct err err = {0};
    char buf[2048];

    /* every statement id has SQL (composed variants included), and it
     * compiles against the schema */
    assert_int_equal(sqlite_backend.open(&o, (void **)&b, &err), 0);
    for (int id = 0; id < SQ_COUNT; id++) {
        sqlite3_stmt *st = NULL;

        assert_non_null(sqlite_sql(id, buf, sizeof buf));
        if (sqlite_stmt(&b->writer, id, &st, &err) < 0)
            fail_msg("statement %d: %s", id, err.msg);
    }
    assert_null(sqlite_sql(SQ_COUNT, buf, sizeof buf));
    assert_null(sqlite_sql(SQ_RUN_LIST + 7, buf, 40)); /* too long: refused */
    sqlite_backend.close(b);
}

/* Commits never checkpoint (wal_autocheckpoint 0): the checkpoint thread
 * does, without the write lock, and the database file gets the pages. */
static void test_store_checkpoints_on_its_own_thread(void **state)
{
    struct sqlite_store *b = NULL;
    struct fixture *f = *state;
    struct store_options o = {.path = f->t.dir, .readers = 1, .busy_timeout_ms = 1000};
    struct err err = {0};
    struct timespec t0, now;

    assert_int_equal(sqlite_backend.open(&o, (void **)&b, &err), 0);
    assert_int_equal(testdir_query(b->writer.db, "PRAGMA wal_autocheckpoint"), 0);
    assert_int_equal(sqlite3_exec(b->writer.db,
                                  "CREATE TABLE ck (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1"
                                  " UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
                                  " INSERT INTO ck SELECT randomblob(4000) FROM n",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    /* the WAL holds it all until a pass of the thread copies it over into
     * the database file (the writer never does, and nothing else runs) */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct stat st;

        assert_int_equal(stat(f->t.db, &st), 0);
        if (st.st_size > 2000 * 4000)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        assert_true(now.tv_sec - t0.tv_sec < 60); /* a pass is due every 200 ms */
        usleep(10000);
    }
    assert_true(sqlite_ckpt_passes(b->ckpt) > 0);
    sqlite_backend.close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
        T(test_store_opens_a_directory_in_wal_mode),
        T(test_store_connections_use_full_sync_and_foreign_keys),
        T(test_store_migrations_run_once),
        T(test_store_migration_steps_apply_in_order_each_in_one_transaction),
        T(test_store_refuses_a_database_from_a_newer_chime),
        T(test_store_keeps_everything_after_close_and_reopen),
        T(test_store_check_finds_a_dangling_reference),
        T(test_store_every_statement_prepares),
        T(test_store_checkpoints_on_its_own_thread),
        cmocka_unit_test(test_store_refuses_a_path_it_cannot_use),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
