/* store_test.c: the queued writes: group commit really groups, a failed op
 * loses nothing else, callbacks come on the loop in order, close finishes
 * what was submitted, and readers never wait for the writer.
 *
 * To make batching deterministic a test holds SQLite's write lock from a
 * connection of its own while it submits: the store thread blocks in BEGIN
 * IMMEDIATE, everything submitted meanwhile queues up, and when the test
 * lets go at most two batches can follow (the one the thread took before
 * blocking, and the rest). */
#include "store/store.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <uv.h>

#include "store/testutil.h"
#include "util/err.h"
#include "../banned.h"

struct loop_fixture {
    struct testdir t;
    uv_loop_t loop;
    struct store *s;
    pthread_t loop_thread;
    int done;         /* callbacks so far */
    int out_of_order; /* callbacks whose seq was not the next */
    int off_loop;     /* callbacks on another thread */
};

/* One submitted op and what its callback saw. */
struct item {
    struct store_op op;
    struct loop_fixture *lf;
    int seq;
    int called;
};

static void open_with_loop(struct loop_fixture *lf, int batch_max)
{
    struct store_options o = {.path = lf->t.dir, .loop = &lf->loop, .batch_max = batch_max};
    struct err err = {0};

    if (store_open(&o, &lf->s, &err) < 0)
        fail_msg("store_open: %s", err.msg);
}

static int loop_setup(void **state)
{
    struct loop_fixture *lf = calloc(1, sizeof *lf);

    if (!lf)
        return -1;
    testdir_make(&lf->t);
    uv_loop_init(&lf->loop);
    lf->loop_thread = pthread_self();
    open_with_loop(lf, 0);
    *state = lf;
    return 0;
}

static int loop_teardown(void **state)
{
    struct loop_fixture *lf = *state;

    store_close(lf->s);
    uv_run(&lf->loop, UV_RUN_DEFAULT); /* the store's close callback */
    assert_int_equal(uv_loop_close(&lf->loop), 0);
    testdir_remove(&lf->t);
    free(lf);
    return 0;
}

static void on_item_done(struct store_op *op)
{
    struct item *it = op->data;
    struct loop_fixture *lf = it->lf;

    if (it->seq >= 0 && it->seq != lf->done)
        lf->out_of_order++;
    if (!pthread_equal(pthread_self(), lf->loop_thread))
        lf->off_loop++;
    it->called++;
    lf->done++;
}

/* Submits IT, the SEQth op since the test began (-1: order not checked). */
static void submit(struct loop_fixture *lf, struct item *it, int seq)
{
    it->lf = lf;
    it->seq = seq;
    it->op.data = it;
    if (store_submit(lf->s, &it->op, on_item_done) < 0)
        fail_msg("submit: %s", it->op.err.msg);
}

static void wait_for(struct loop_fixture *lf, int n)
{
    while (lf->done < n)
        uv_run(&lf->loop, UV_RUN_ONCE);
}

static sqlite3 *hold_write_lock(struct loop_fixture *lf)
{
    sqlite3 *db = testdir_sqlite(&lf->t);

    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void release_write_lock(sqlite3 *db)
{
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void run_op(struct store_op *op, int64_t job, int64_t fire, int64_t attempt)
{
    memset(op, 0, sizeof *op);
    op->kind = STORE_OP_RUN_INSERT;
    store_run_init(&op->run_insert.run);
    op->run_insert.run.job_id = job;
    op->run_insert.run.job_version = 1;
    op->run_insert.run.fire_us = fire;
    op->run_insert.run.reason = STORE_REASON_SCHEDULE;
    op->run_insert.run.attempt = attempt;
    op->run_insert.run.state = STORE_RUN_QUEUED;
    op->run_insert.run.queued_us = fire;
}

static void put_op(struct store_op *op, const char *name, const char *doc)
{
    memset(op, 0, sizeof *op);
    op->kind = STORE_OP_JOB_PUT;
    op->job_put.ns = "default";
    op->job_put.name = name;
    op->job_put.doc = doc;
    op->job_put.now_us = 1;
}

static void test_store_group_commit_batches_submitted_ops(void **state)
{
    struct loop_fixture *lf = *state;
    enum { N = 200 };
    struct item *items = calloc(N, sizeof *items);
    struct store_stats before, after;
    struct err err = {0};
    int64_t job, count = 0;
    sqlite3 *db;

    assert_non_null(items);
    assert_int_equal(store_job_put(lf->s, "default", "j", "{}", NULL, 0, false, 1, NULL, &err), 0);
    job = 1;
    store_stats(lf->s, &before);
    db = hold_write_lock(lf);
    for (int i = 0; i < N; i++) {
        run_op(&items[i].op, job, 1000 * (i + 1), 1);
        submit(lf, &items[i], i);
    }
    release_write_lock(db);
    wait_for(lf, N);
    store_stats(lf->s, &after);

    assert_int_equal(lf->out_of_order, 0);
    assert_int_equal(lf->off_loop, 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(items[i].called, 1);
        assert_int_equal(items[i].op.rc, 0);
        assert_int_equal(items[i].op.ret_id, i + 1); /* done in submission order */
    }
    assert_int_equal(after.ops - before.ops, N);
    assert_true(after.batches - before.batches <= 2);
    assert_true(after.commits - before.commits <= 2);
    assert_int_equal(store_run_count(lf->s, &(struct store_run_filter){0}, &count, &err), 0);
    assert_int_equal(count, N);
    free(items);
}

static void test_store_group_commit_keeps_to_batch_max(void **state)
{
    struct loop_fixture *lf = *state;
    enum { N = 100 };
    struct item items[N];
    struct store_stats before, after;
    struct err err = {0};
    sqlite3 *db;

    store_close(lf->s);
    open_with_loop(lf, 10);
    assert_int_equal(store_job_put(lf->s, "default", "j", "{}", NULL, 0, false, 1, NULL, &err), 0);
    store_stats(lf->s, &before);
    memset(items, 0, sizeof items);
    db = hold_write_lock(lf);
    for (int i = 0; i < N; i++) {
        run_op(&items[i].op, 1, i, 1);
        submit(lf, &items[i], i);
    }
    release_write_lock(db);
    wait_for(lf, N);
    store_stats(lf->s, &after);
    assert_int_equal(lf->out_of_order, 0);
    /* 100 ops in batches of at most 10; the first may be smaller */
    assert_true(after.batches - before.batches >= 10);
    assert_true(after.batches - before.batches <= 11);
}

static void test_store_failed_op_in_a_batch_loses_no_other(void **state)
{
    struct loop_fixture *lf = *state;
    struct item it[8];
    struct store_stats before, after;
    struct store_job j;
    struct err err = {0};
    sqlite3 *db;

    memset(it, 0, sizeof it);
    assert_int_equal(store_job_put(lf->s, "default", "j", "{}", NULL, 0, false, 1, NULL, &err), 0);
    fixture_run(lf->s, 1, 5, 1, STORE_RUN_RUNNING);
    store_stats(lf->s, &before);

    put_op(&it[0].op, "a", "{\"a\": 1}");
    put_op(&it[1].op, "b", "{\"b\": ");  /* writes the job row, then fails */
    run_op(&it[2].op, 9999, 1, 1);       /* no such job */
    run_op(&it[3].op, 1, 5, 1);          /* already recorded */
    it[4].op.kind = STORE_OP_RUN_UPDATE; /* not in the state it expects */
    store_run_init(&it[4].op.run_update.run);
    it[4].op.run_update.run.id = 1;
    it[4].op.run_update.run.state = STORE_RUN_LOST;
    it[4].op.run_update.expect_state = STORE_RUN_QUEUED;
    it[5].op.kind = 0; /* refused before the batch */
    put_op(&it[6].op, "c", "{\"c\": 1}");
    run_op(&it[7].op, 1, 6, 1);

    db = hold_write_lock(lf);
    for (int i = 0; i < 8; i++) {
        submit(lf, &it[i], i);
    }
    release_write_lock(db);
    wait_for(lf, 8);
    store_stats(lf->s, &after);

    assert_int_equal(it[0].op.rc, 0);
    assert_int_equal(it[1].op.rc, -CHIME_EINVAL);
    assert_string_equal(it[1].op.err.msg, "document is not valid JSON");
    assert_int_equal(it[2].op.rc, -CHIME_ENOTFOUND);
    assert_int_equal(it[3].op.rc, STORE_EXISTS);
    assert_int_equal(it[3].op.ret_id, 1);
    assert_int_equal(it[4].op.rc, -CHIME_ECONFLICT);
    assert_int_equal(it[5].op.rc, -CHIME_EINVAL);
    assert_int_equal(it[6].op.rc, 0);
    assert_int_equal(it[7].op.rc, 0);
    assert_int_equal(lf->out_of_order, 0);
    assert_true(after.batches - before.batches <= 2);
    assert_int_equal(after.failed_ops - before.failed_ops, 4);

    assert_int_equal(store_job_get(lf->s, "default", "a", &j, &err), 0);
    store_job_release(&j);
    assert_int_equal(store_job_get(lf->s, "default", "b", &j, &err), -CHIME_ENOTFOUND);
    assert_int_equal(store_job_get(lf->s, "default", "c", &j, &err), 0);
    store_job_release(&j);
    assert_int_equal(store_check(lf->s, &err), 0);
}

static void test_store_close_finishes_submitted_ops(void **state)
{
    struct loop_fixture *lf = *state;
    enum { N = 50 };
    struct item items[N];
    struct store_op late;
    struct err err = {0};
    int64_t count = 0;

    memset(items, 0, sizeof items);
    assert_int_equal(store_job_put(lf->s, "default", "j", "{}", NULL, 0, false, 1, NULL, &err), 0);
    for (int i = 0; i < N; i++) {
        run_op(&items[i].op, 1, i, 1);
        submit(lf, &items[i], i);
    }
    store_close(lf->s); /* without running the loop */
    assert_int_equal(lf->done, N);
    assert_int_equal(lf->out_of_order, 0);
    uv_run(&lf->loop, UV_RUN_DEFAULT);

    assert_int_equal(store_open(&(struct store_options){.path = lf->t.dir}, &lf->s, &err), 0);
    assert_int_equal(store_run_count(lf->s, &(struct store_run_filter){0}, &count, &err), 0);
    assert_int_equal(count, N);
    run_op(&late, 1, 999, 1);
    assert_int_equal(store_submit(lf->s, &late, on_item_done), -CHIME_EINVAL);
    assert_non_null(strstr(late.err.msg, "without a loop"));
    assert_int_equal(lf->done, N);
}

/* Submitters on other threads: every op still comes back on the loop. */
struct submitter {
    struct loop_fixture *lf;
    struct item *items;
    int n;
    int64_t first_fire;
};

static void *submit_main(void *arg)
{
    struct submitter *sb = arg;

    for (int i = 0; i < sb->n; i++) {
        run_op(&sb->items[i].op, 1, sb->first_fire + i, 1);
        sb->items[i].lf = sb->lf;
        sb->items[i].seq = -1; /* order across threads is open */
        sb->items[i].op.data = &sb->items[i];
        if (store_submit(sb->lf->s, &sb->items[i].op, on_item_done) < 0)
            return (void *)1;
    }
    return NULL;
}

static void test_store_takes_ops_from_many_threads(void **state)
{
    struct loop_fixture *lf = *state;
    enum { THREADS = 4, EACH = 100 };
    struct submitter sb[THREADS];
    pthread_t th[THREADS];
    struct err err = {0};
    int64_t count = 0;

    assert_int_equal(store_job_put(lf->s, "default", "j", "{}", NULL, 0, false, 1, NULL, &err), 0);
    for (int t = 0; t < THREADS; t++) {
        sb[t] = (struct submitter){lf, calloc(EACH, sizeof(struct item)), EACH, t * 100000};
        assert_non_null(sb[t].items);
        assert_int_equal(pthread_create(&th[t], NULL, submit_main, &sb[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        void *ret = NULL;

        pthread_join(th[t], &ret);
        assert_null(ret);
    }
    wait_for(lf, THREADS * EACH);
    assert_int_equal(lf->off_loop, 0);
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < EACH; i++) {
            assert_int_equal(sb[t].items[i].called, 1);
            assert_int_equal(sb[t].items[i].op.rc, 0);
        }
        free(sb[t].items);
    }
    assert_int_equal(store_run_count(lf->s, &(struct store_run_filter){0}, &count, &err), 0);
    assert_int_equal(count, THREADS * EACH);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_store_reads_do_not_wait_for_the_writer(void **state)
{
    struct loop_fixture *lf = *state;
    struct store_job j;
    struct err err = {0};
    double t0;
    sqlite3 *db;

    assert_int_equal(
        store_job_put(lf->s, "default", "j", "{\"v\": 1}", NULL, 0, false, 1, NULL, &err), 0);
    db = hold_write_lock(lf);
    assert_int_equal(sqlite3_exec(db, "UPDATE jobs SET paused = 1", NULL, NULL, NULL), SQLITE_OK);
    t0 = now_s();
    assert_int_equal(store_job_get(lf->s, "default", "j", &j, &err), 0);
    assert_true(now_s() - t0 < 1.0); /* the busy timeout is 5 s */
    assert_false(j.paused);          /* the last commit, not the open write */
    store_job_release(&j);
    release_write_lock(db);
    assert_int_equal(store_job_get(lf->s, "default", "j", &j, &err), 0);
    assert_true(j.paused);
    store_job_release(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, loop_setup, loop_teardown)
        T(test_store_group_commit_batches_submitted_ops),
        T(test_store_group_commit_keeps_to_batch_max),
        T(test_store_failed_op_in_a_batch_loses_no_other),
        T(test_store_close_finishes_submitted_ops),
        T(test_store_takes_ops_from_many_threads),
        T(test_store_reads_do_not_wait_for_the_writer),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
