/* jobsave_test.c: the one save path against a real SQLite store: which
 * change a dependency cycle is told from. */
#include "job/jobsave.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/testutil.h"
#include "util/err.h"

#define N 40

static struct job *chain_job(int i, bool closes)
{
    char doc[256];
    struct job *j = NULL;

    if (i == 0 && !closes)
        snprintf(doc, sizeof doc, "{\"name\":\"c0\",\"schedule\":{\"manual\":true},\"shell\":\"x\"}");
    else
        snprintf(doc, sizeof doc,
                 "{\"name\":\"c%d\",\"schedule\":{\"after\":[\"c%d\"]},\"shell\":\"x\"}", i,
                 (i + N - 1) % N);
    assert_int_equal(job_parse(doc, strlen(doc), "default", &j, NULL), 0);
    return j;
}

static void save(struct store *s, bool closes, int first, struct jobsave **ret)
{
    struct jobsave_options o = { .store = s, .flags = JOBSAVE_EACH, .now_us = 1 };
    struct err err = { 0 };

    assert_int_equal(jobsave_new(&o, ret, &err), 0);
    /* every job, in an order that starts inside the stored chain */
    for (int k = 0; k < N; k++) {
        int i = (first + k) % N;

        assert_int_equal(jobsave_put(*ret, chain_job(i, closes), 0, true, NULL, &err), 0);
    }
    jobsave_check(*ret, &err);
}

/* A batch that leaves most jobs as they were and changes one so that it
 * closes a cycle through them: the cycle is the changed job's, the rest
 * are unchanged, not refused (a jobs directory read in any order). */
static void test_a_cycle_is_told_from_the_change_that_closes_it(void **state)
{
    struct testdir t;
    struct store_options so = { 0 };
    struct store *s = NULL;
    struct jobsave *b = NULL;
    struct err err = { 0 };
    int failed = 0;

    (void)state;
    testdir_make(&t);
    so.path = t.dir;
    assert_int_equal(store_open(&so, &s, &err), 0);
    save(s, false, 0, &b);
    assert_int_equal(jobsave_write(b, &err), 0);
    jobsave_free(b);

    save(s, true, N / 2, &b);
    for (size_t i = 0; i < jobsave_count(b); i++) {
        const struct jobsave_item *it = jobsave_item(b, i);

        if (it->failed) {
            failed++;
            assert_string_equal(it->id, "default/c0");
            assert_non_null(strstr(it->err.msg, "dependency cycle: default/c0 -> "));
        } else {
            assert_int_equal(it->act, JOBSAVE_UNCHANGED);
        }
    }
    assert_int_equal(failed, 1);
    jobsave_free(b);
    store_close(s);
    testdir_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_cycle_is_told_from_the_change_that_closes_it),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
