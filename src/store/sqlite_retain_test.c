/* sqlite_retain_test.c: the retain op (a job's own limits over the
 * defaults; count, age, output and dead letters; the bound on rows per
 * step; the sweep's steps over every job) and the audit log's bounded
 * prune. */
#include "store/sqlite_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/testutil.h"
#include "util/err.h"
#include "../banned.h"

#define NOW INT64_C(1000000000000) /* far past every fixture fire */

static void sql(struct fixture *f, const char *text)
{
    sqlite3 *db = testdir_sqlite(&f->t);

    if (sqlite3_exec(db, text, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", text, sqlite3_errmsg(db));
    sqlite3_close(db);
}

static long long query(struct fixture *f, const char *text)
{
    sqlite3 *db = testdir_sqlite(&f->t);
    long long v = testdir_query(db, text);

    sqlite3_close(db);
    return v;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Retains JOB with DEF (at most MAX rows) and checks the deleted ids, in
 * any order, against WANT (0-ended; NULL: only their number, N). */
static void retain_expect(struct fixture *f, int64_t job, struct store_retention def, int64_t max,
                          const int64_t *want, size_t n_want)
{
    int64_t *ids = NULL;
    size_t n = 0;
    struct err err = {0};

    if (store_retain(f->s, job, &def, NOW, max, &ids, &n, &err) < 0)
        fail_msg("retain: %s", err.msg);
    if (want) {
        n_want = 0;
        while (want[n_want])
            n_want++;
    }
    assert_int_equal(n, n_want);
    if (n)
        qsort(ids, n, sizeof *ids, cmp_id);
    for (size_t i = 0; want && i < n; i++)
        assert_int_equal(ids[i], want[i]);
    free(ids);
}

static void test_retain_a_jobs_own_count_wins_over_the_default(void **state)
{
    struct fixture *f = *state;
    int64_t a = fixture_job(f->s, "a", "a", "{}");
    int64_t b = fixture_job(f->s, "b", "b", "{}");
    int64_t ra[11], rb[11], queued;

    for (int i = 1; i <= 10; i++) {
        ra[i] = fixture_run(f->s, a, i * 1000, 1, STORE_RUN_SUCCEEDED);
        rb[i] = fixture_run(f->s, b, i * 1000, 1, STORE_RUN_FAILED);
    }
    queued = fixture_run(f->s, a, 500, 1, STORE_RUN_QUEUED);
    sql(f, "UPDATE jobs SET retain_runs = 3 WHERE namespace = 'a'");
    /* a keeps its own 3 (the queued run stays whatever its rank); b the
     * default 5 */
    retain_expect(f, a, (struct store_retention){.runs = 5}, 0,
                  (int64_t[]){ra[1], ra[2], ra[3], ra[4], ra[5], ra[6], ra[7], 0}, 0);
    retain_expect(f, b, (struct store_retention){.runs = 5}, 0,
                  (int64_t[]){rb[1], rb[2], rb[3], rb[4], rb[5], 0}, 0);
    /* nothing more to do */
    retain_expect(f, a, (struct store_retention){.runs = 5}, 0, (int64_t[]){0}, 0);
    assert_int_equal(query(f, "SELECT count(*) FROM runs WHERE state = 'queued'"), 1);
    (void)queued;
    /* a job that does not exist: nothing, no error */
    retain_expect(f, 999, (struct store_retention){.runs = 1}, 0, (int64_t[]){0}, 0);
}

static void test_retain_by_age_and_by_output_keeps_the_newest_run(void **state)
{
    struct fixture *f = *state;
    int64_t a = fixture_job(f->s, "a", "a", "{}");
    int64_t b = fixture_job(f->s, "b", "b", "{}");
    int64_t r[6], big;

    for (int i = 1; i <= 5; i++) /* fired 1-5 s before NOW, 100 bytes each */
        r[i] = fixture_run(f->s, a, NOW - (6 - i) * INT64_C(1000000), 1, STORE_RUN_SUCCEEDED);
    sql(f, "UPDATE runs SET output_bytes = 100");
    /* by age: the job's 2.5 s over the default's day */
    sql(f, "UPDATE jobs SET retain_for_us = 2500000 WHERE namespace = 'a'");
    retain_expect(f, a, (struct store_retention){.for_us = INT64_C(86400000000)}, 0,
                  (int64_t[]){r[1], r[2], r[3], 0}, 0);
    /* by output: 150 bytes keep the newest one of 100 bytes only */
    retain_expect(f, a, (struct store_retention){.output = 150}, 0, (int64_t[]){r[4], 0}, 0);
    /* the newest run stays even when it alone is over the cap */
    big = fixture_run(f->s, b, 1000, 1, STORE_RUN_SUCCEEDED);
    sql(f, "UPDATE runs SET output_bytes = 5000 WHERE fire_us = 1000");
    retain_expect(f, b, (struct store_retention){.output = 1024}, 0, (int64_t[]){0}, 0);
    assert_int_equal(query(f, "SELECT count(*) FROM runs"), 2);
    (void)big;
}

static void test_retain_deletes_at_most_max_rows_oldest_first(void **state)
{
    struct fixture *f = *state;
    int64_t a = fixture_job(f->s, "a", "a", "{}");
    int64_t first = 0, *ids = NULL;
    size_t n = 0;
    struct err err = {0};
    const struct store_retention keep10 = {.runs = 10};

    for (int i = 1; i <= 2000; i++) {
        int64_t id = fixture_run(f->s, a, i * 1000, 1, STORE_RUN_SUCCEEDED);

        if (i == 1)
            first = id;
    }
    /* 1,990 to go, 500 a step: the oldest 500 first */
    assert_int_equal(store_retain(f->s, a, &keep10, NOW, 500, &ids, &n, &err), 0);
    assert_int_equal(n, 500);
    qsort(ids, n, sizeof *ids, cmp_id);
    assert_int_equal(ids[0], first);
    assert_int_equal(ids[499], first + 499);
    free(ids);
    retain_expect(f, a, keep10, 500, NULL, 500);
    retain_expect(f, a, keep10, 500, NULL, 500);
    retain_expect(f, a, keep10, 500, NULL, 490);
    retain_expect(f, a, keep10, 500, NULL, 0);
    assert_int_equal(query(f, "SELECT min(fire_us) FROM runs"), 1991000);
}

/* Dead-lettered runs are exempt from the count until their dead letter
 * expires, by the job's dead-letter count or by age; then the count takes
 * them like any run. */
static void test_retain_expires_dead_letters_then_their_runs(void **state)
{
    struct fixture *f = *state;
    int64_t a = fixture_job(f->s, "a", "a", "{}");
    int64_t r[7];
    struct err err = {0};
    const struct store_retention def = {.runs = 2, .dead_letters = 3};

    for (int i = 1; i <= 6; i++) {
        r[i] = fixture_run(f->s, a, i * 1000, 1, STORE_RUN_FAILED);
        assert_int_equal(store_dead_insert(f->s, r[i], "exit 1", 1, &err), 0);
    }
    /* 6 dead letters, 3 kept: the oldest 3 expire, and their runs (past
     * the newest 2) go; the 3 newest dead letters keep their runs */
    retain_expect(f, a, def, 0, (int64_t[]){r[1], r[2], r[3], 0}, 0);
    assert_int_equal(query(f, "SELECT count(*) FROM dead_letters"), 3);
    assert_int_equal(query(f, "SELECT count(*) FROM runs"), 3);
    /* by age: fired before NOW - for; the job's dead letters all expire */
    sql(f, "UPDATE jobs SET retain_for_us = 1000000");
    retain_expect(f, a, def, 0, (int64_t[]){r[4], r[5], r[6], 0}, 0);
    assert_int_equal(query(f, "SELECT count(*) FROM dead_letters"), 0);
    assert_int_equal(store_check(f->s, &err), 0);
}

/* A sweep step looks at `jobs` jobs after `after`, deleted ones too, and
 * says when it has reached the last. */
static void test_retain_sweep_steps_over_every_job(void **state)
{
    struct fixture *f = *state;
    int64_t job[5];
    struct store_op op;
    struct err err = {0};
    int64_t after = 0, deleted = 0;
    int steps = 0;

    for (int i = 0; i < 5; i++) {
        char name[16];

        snprintf(name, sizeof name, "j%d", i);
        job[i] = fixture_job(f->s, "a", name, "{}");
        for (int k = 1; k <= 3; k++)
            fixture_run(f->s, job[i], k * 1000, 1, STORE_RUN_SUCCEEDED);
    }
    assert_int_equal(store_job_delete(f->s, "a", "j2", 0, 2000, &err), 0);
    do {
        memset(&op, 0, sizeof op);
        op.kind = STORE_OP_RETAIN;
        op.retain.after = after;
        op.retain.jobs = 2;
        op.retain.now_us = NOW;
        op.retain.def.runs = 1;
        assert_int_equal(store_exec(f->s, &op), 0);
        assert_true(op.ret_id >= after);
        after = op.ret_id;
        deleted += (int64_t)op.n_ret_ids;
        free(op.ret_ids);
        steps++;
    } while (!op.ret_version && steps < 10);
    assert_int_equal(steps, 3);     /* 2 + 2 + 1 jobs */
    assert_int_equal(after, job[4]);
    assert_int_equal(deleted, 10);  /* 2 of each job, the deleted one's too */
    assert_int_equal(query(f, "SELECT count(*) FROM runs"), 5);
    /* a bad op is refused */
    memset(&op, 0, sizeof op);
    op.kind = STORE_OP_RETAIN;
    op.retain.max = -1;
    assert_int_equal(store_exec(f->s, &op), -CHIME_EINVAL);
}

/* The plan carries the document's retention; 0 is the default, NULL. */
static void test_retain_columns_come_with_the_plan(void **state)
{
    struct fixture *f = *state;
    int64_t a = fixture_job(f->s, "a", "a", "{}");
    struct store_op op = {.kind = STORE_OP_JOB_PLAN};

    op.job_plan.job_id = a;
    op.job_plan.plan.version = 1;
    op.job_plan.plan.kind = "manual";
    op.job_plan.plan.start_us = op.job_plan.plan.every_us = STORE_NULL;
    op.job_plan.plan.jitter_us = op.job_plan.plan.at_us = STORE_NULL;
    op.job_plan.plan.retain_runs = 7;
    op.job_plan.plan.retain_for_us = 60000000;
    op.job_plan.plan.retain_output = 0;
    op.job_plan.plan.retain_dead_letters = STORE_NULL;
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(query(f, "SELECT retain_runs FROM jobs"), 7);
    assert_int_equal(query(f, "SELECT retain_for_us FROM jobs"), 60000000);
    assert_int_equal(query(f, "SELECT retain_output IS NULL AND retain_dead_letters IS NULL"
                              " FROM jobs"), 1);
}

static void test_audit_prune_in_bounded_steps(void **state)
{
    struct fixture *f = *state;
    struct store_op op;
    int64_t gone[4] = {0};

    for (int i = 1; i <= 30; i++) {
        struct store_audit a;
        struct err err = {0};

        store_audit_init(&a);
        a.at_us = i * 1000;
        a.method = "POST";
        a.route = "/api/v1/jobs";
        a.target = "/api/v1/jobs";
        a.status = 201;
        assert_int_equal(store_audit_insert(f->s, &a, NULL, &err), 0);
    }
    /* keep the newest 10 and nothing before 5000 (4 entries): 20 go, 7 a step */
    for (int k = 0; k < 4; k++) {
        memset(&op, 0, sizeof op);
        op.kind = STORE_OP_AUDIT_PRUNE;
        op.audit_prune.before_us = 5000;
        op.audit_prune.keep = 10;
        op.audit_prune.max = 7;
        assert_int_equal(store_exec(f->s, &op), 0);
        gone[k] = op.ret_id;
    }
    assert_int_equal(gone[0], 7);
    assert_int_equal(gone[1], 7);
    assert_int_equal(gone[2], 6);
    assert_int_equal(gone[3], 0);
    assert_int_equal(query(f, "SELECT count(*) FROM audit"), 10);
    assert_int_equal(query(f, "SELECT min(at_us) FROM audit"), 21000);
    /* by age alone */
    memset(&op, 0, sizeof op);
    op.kind = STORE_OP_AUDIT_PRUNE;
    op.audit_prune.before_us = 25000;
    op.audit_prune.max = 100;
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(op.ret_id, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
        T(test_retain_a_jobs_own_count_wins_over_the_default),
        T(test_retain_by_age_and_by_output_keeps_the_newest_run),
        T(test_retain_deletes_at_most_max_rows_oldest_first),
        T(test_retain_expires_dead_letters_then_their_runs),
        T(test_retain_sweep_steps_over_every_job),
        T(test_retain_columns_come_with_the_plan),
        T(test_audit_prune_in_bounded_steps),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
