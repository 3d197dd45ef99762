/* sqlite_backup_test.c: tests of the store's all-or-nothing writes
 * (store_exec_atomic) and of its online backup (sqlite_backup.c): the copy
 * is a whole, consistent database even while another thread writes. */
#include "store/store.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/testutil.h"
#include "util/err.h"
#include "../banned.h"

#define DOC(name) "{\"name\":\"" name "\",\"v\":1}"

static struct store_op put_op(const char *ns, const char *name, const char *doc, int64_t expect)
{
    struct store_op op = {.kind = STORE_OP_JOB_PUT};

    op.job_put.ns = ns;
    op.job_put.name = name;
    op.job_put.doc = doc;
    op.job_put.expect_version = expect;
    op.job_put.now_us = 2000;
    return op;
}

static long long live_jobs(struct fixture *f)
{
    sqlite3 *db = testdir_sqlite(&f->t);
    long long n = testdir_query(db, "SELECT count(*) FROM jobs WHERE deleted_us IS NULL");

    sqlite3_close(db);
    return n;
}

static void test_store_exec_atomic_commits_every_op(void **state)
{
    struct fixture *f = *state;
    struct store_op a = put_op("d", "a", DOC("a"), STORE_NEW), b = put_op("d", "b", DOC("b"), 0);
    struct store_op *ops[] = {&a, &b};
    struct err err = {0};
    size_t failed = 99;

    assert_int_equal(store_exec_atomic(f->s, ops, 2, &failed, &err), 0);
    assert_int_equal(failed, 99); /* untouched on success */
    assert_int_equal(a.rc, 0);
    assert_int_equal(a.ret_version, 1);
    assert_int_equal(b.ret_version, 1);
    assert_int_equal(live_jobs(f), 2);
}

static void test_store_exec_atomic_applies_nothing_when_one_op_fails(void **state)
{
    struct fixture *f = *state;
    struct store_op a = put_op("d", "new", DOC("new"), STORE_NEW);
    struct store_op b = put_op("d", "old", DOC("old2"), 5); /* at version 1: a conflict */
    struct store_op c = put_op("d", "later", DOC("later"), 0);
    struct store_op del = {.kind = STORE_OP_JOB_DELETE};
    struct store_op *ops[] = {&del, &a, &b, &c};
    struct store_job j;
    struct err err = {0};
    size_t failed = 0;

    fixture_job(f->s, "d", "old", DOC("old"));
    fixture_job(f->s, "d", "gone", DOC("gone"));
    del.job_delete.ns = "d";
    del.job_delete.name = "gone";
    del.job_delete.now_us = 2000;
    assert_int_equal(store_exec_atomic(f->s, ops, 4, &failed, &err), -CHIME_ECONFLICT);
    assert_int_equal(failed, 2);
    assert_int_equal(err.code, CHIME_ECONFLICT);
    for (size_t i = 0; i < 4; i++)
        assert_true(ops[i]->rc < 0);
    /* nothing of it: the delete is undone, the new job never was */
    assert_int_equal(live_jobs(f), 2);
    assert_int_equal(store_job_get(f->s, "d", "new", &j, &err), -CHIME_ENOTFOUND);
    assert_int_equal(store_job_get(f->s, "d", "gone", &j, &err), 0);
    store_job_release(&j);
    assert_int_equal(store_job_get(f->s, "d", "old", &j, &err), 0);
    assert_int_equal(j.version, 1);
    store_job_release(&j);
}

static void test_store_exec_atomic_refuses_a_bad_op_before_beginning(void **state)
{
    struct fixture *f = *state;
    struct store_op a = put_op("d", "a", DOC("a"), 0), b = put_op("d", "", DOC("b"), 0);
    struct store_op *ops[] = {&a, &b};
    struct err err = {0};
    size_t failed = 0;

    assert_true(store_exec_atomic(f->s, ops, 2, &failed, &err) < 0);
    assert_int_equal(failed, 1);
    assert_int_equal(live_jobs(f), 0);
}

/* A thread that writes runs as fast as it can until told to stop. */
struct writer {
    struct store *s;
    int64_t job;
    atomic_bool stop;
    int64_t written;
};

static void *write_runs(void *arg)
{
    struct writer *w = arg;

    while (!atomic_load(&w->stop)) {
        fixture_run(w->s, w->job, 1000000 + w->written, 1, STORE_RUN_SUCCEEDED);
        w->written++;
    }
    return NULL;
}

static void test_store_backup_copies_a_consistent_database_while_writes_go_on(void **state)
{
    struct fixture *f = *state;
    struct writer w = {.s = f->s};
    char dest[400];
    pthread_t t;
    struct err err = {0};
    sqlite3 *db = NULL;
    long long runs;
    sqlite3_stmt *st;

    w.job = fixture_job(f->s, "d", "busy", DOC("busy"));
    for (int i = 0; i < 2000; i++)
        fixture_run(f->s, w.job, i, 1, STORE_RUN_SUCCEEDED);
    snprintf(dest, sizeof dest, "%s/backup.db", f->t.dir);
    assert_int_equal(pthread_create(&t, NULL, write_runs, &w), 0);
    assert_int_equal(store_backup(f->s, dest, &err), 0);
    atomic_store(&w.stop, true);
    pthread_join(t, NULL);

    /* a database of its own: no WAL beside it */
    assert_int_equal(sqlite3_open_v2(dest, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "delete");
    sqlite3_finalize(st);
    runs = testdir_query(db, "SELECT count(*) FROM runs");
    assert_true(runs >= 2000);
    assert_true(runs <= 2000 + w.written);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM jobs"), 1);
    sqlite3_close(db);
}

static void test_store_backup_refuses_an_existing_file(void **state)
{
    struct fixture *f = *state;
    char dest[400];
    struct err err = {0};
    FILE *fp;
    struct stat sb;

    snprintf(dest, sizeof dest, "%s/there.db", f->t.dir);
    fp = fopen(dest, "w");
    assert_non_null(fp);
    fputs("keep me", fp);
    fclose(fp);
    assert_int_equal(store_backup(f->s, dest, &err), -CHIME_EINVAL);
    assert_int_equal(stat(dest, &sb), 0);
    assert_int_equal(sb.st_size, 7); /* untouched */
    assert_int_equal(store_backup(f->s, "", &err), -CHIME_EINVAL);
}

static void test_store_backup_into_a_missing_directory_fails_and_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    char dest[400];
    struct err err = {0};

    snprintf(dest, sizeof dest, "%s/no/such/dir/b.db", f->t.dir);
    assert_int_equal(store_backup(f->s, dest, &err), -CHIME_EIO);
    assert_int_equal(access(dest, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_exec_atomic_commits_every_op, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_exec_atomic_applies_nothing_when_one_op_fails,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_exec_atomic_refuses_a_bad_op_before_beginning,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_store_backup_copies_a_consistent_database_while_writes_go_on, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_backup_refuses_an_existing_file, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_store_backup_into_a_missing_directory_fails_and_leaves_nothing, fixture_setup,
            fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
