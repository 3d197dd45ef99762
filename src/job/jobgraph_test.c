/* jobgraph_test.c: tests of the whole-set dependency check (jobgraph.c). */
#include "job/jobgraph.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"
#include "../banned.h"

static struct jobgraph *graph(void)
{
    struct jobgraph *g = NULL;
    struct err err = {0};

    assert_int_equal(jobgraph_new(&g, &err), 0);
    return g;
}

/* Job ID waits for the ids of the space-separated list UP ("" for none). */
static void set(struct jobgraph *g, const char *id, const char *up)
{
    const char *after[16];
    char buf[256], *save = NULL, *tok;
    size_t n = 0;
    struct err err = {0};

    snprintf(buf, sizeof buf, "%s", up);
    for (tok = strtok_r(buf, " ", &save); tok && n < 16; tok = strtok_r(NULL, " ", &save))
        after[n++] = tok;
    assert_int_equal(jobgraph_set(g, id, after, n, &err), 0);
}

static void test_jobgraph_without_cycles_checks_fine(void **state)
{
    struct jobgraph *g = graph();
    struct err err = {0};

    (void)state;
    set(g, "d/a", "");
    set(g, "d/b", "d/a");
    set(g, "d/c", "d/a d/b d/missing");
    assert_int_equal(jobgraph_size(g), 3);
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), 0);
    jobgraph_free(g);
}

static void test_jobgraph_names_a_cycle_from_the_first_start(void **state)
{
    struct jobgraph *g = graph();
    struct err err = {0};
    const char *starts[] = {"d/b"};
    char at[64] = "";

    (void)state;
    set(g, "d/a", "d/c");
    set(g, "d/b", "d/a");
    set(g, "d/c", "d/b");
    assert_int_equal(jobgraph_check(g, starts, 1, at, sizeof at, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "schedule.after");
    assert_string_equal(err.msg, "dependency cycle: d/b -> d/a -> d/c -> d/b");
    assert_string_equal(at, "d/b");
    jobgraph_free(g);
}

static void test_jobgraph_finds_a_self_dependency(void **state)
{
    struct jobgraph *g = graph();
    struct err err = {0};

    (void)state;
    set(g, "x/self", "x/self");
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), -CHIME_EINVAL);
    assert_string_equal(err.msg, "dependency cycle: x/self -> x/self");
    jobgraph_free(g);
}

static void test_jobgraph_laying_jobs_over_others_replaces_their_edges(void **state)
{
    struct jobgraph *g = graph();
    struct err err = {0};

    (void)state;
    /* the store has a after b; the import turns it around */
    set(g, "d/a", "d/b");
    set(g, "d/b", "");
    set(g, "d/b", "d/a");
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), -CHIME_EINVAL);
    set(g, "d/a", "");
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), 0);
    jobgraph_free(g);
}

static void test_jobgraph_removing_a_job_breaks_its_cycle(void **state)
{
    struct jobgraph *g = graph();
    struct err err = {0};

    (void)state;
    set(g, "d/a", "d/b");
    set(g, "d/b", "d/a");
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), -CHIME_EINVAL);
    jobgraph_remove(g, "d/b");
    jobgraph_remove(g, "d/nothing");
    assert_false(jobgraph_has(g, "d/b"));
    assert_int_equal(jobgraph_size(g), 1);
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), 0);
    /* set again: back, with its new edges */
    set(g, "d/b", "d/a");
    assert_true(jobgraph_has(g, "d/b"));
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), -CHIME_EINVAL);
    jobgraph_free(g);
}

/* Where ID comes in ORDER over IDS. */
static size_t place(const char *const *ids, const size_t *order, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[order[i]], id))
            return i;
    fail_msg("%s is not in the order", id);
    return 0;
}

static void test_jobgraph_orders_upstreams_first_even_through_other_jobs(void **state)
{
    struct jobgraph *g = graph();
    struct err err = {0};
    /* x waits for outside, which waits for y: y must come before x */
    const char *ids[] = {"d/x", "d/z", "d/y", "d/new"};
    size_t order[4];

    (void)state;
    set(g, "d/x", "d/outside");
    set(g, "d/outside", "d/y");
    set(g, "d/y", "");
    set(g, "d/z", "d/x d/y");
    assert_int_equal(jobgraph_order(g, ids, 4, order, &err), 0);
    assert_true(place(ids, order, 4, "d/y") < place(ids, order, 4, "d/x"));
    assert_true(place(ids, order, 4, "d/x") < place(ids, order, 4, "d/z"));
    (void)place(ids, order, 4, "d/new"); /* not in the graph: still in the order */
    jobgraph_free(g);
}

static void test_jobgraph_walks_a_long_chain_without_recursion(void **state)
{
    enum { N = 100000 };
    struct jobgraph *g = graph();
    struct err err = {0};
    char id[32], up[32];
    const char *after[1] = {up};
    char **ids = calloc(N, sizeof *ids);
    size_t *order = calloc(N, sizeof *order);

    (void)state;
    assert_non_null(ids);
    assert_non_null(order);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "d/j%d", i);
        snprintf(up, sizeof up, "d/j%d", i + 1);
        assert_int_equal(jobgraph_set(g, id, after, i + 1 < N ? 1 : 0, &err), 0);
        ids[i] = strdup(id);
    }
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), 0);
    assert_int_equal(jobgraph_order(g, (const char *const *)ids, N, order, &err), 0);
    assert_int_equal(order[0], N - 1); /* the last of the chain waits for nobody */
    assert_int_equal(order[N - 1], 0);
    /* closing the chain into a ring is found, however long */
    snprintf(id, sizeof id, "d/j%d", N - 1);
    snprintf(up, sizeof up, "d/j0");
    assert_int_equal(jobgraph_set(g, id, after, 1, &err), 0);
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), -CHIME_EINVAL);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(ids);
    free(order);
    jobgraph_free(g);
}

/* A ring of N jobs d/r0 -> d/r1 -> ... -> d/r(N-1) -> d/r0. */
static struct jobgraph *ring(int n)
{
    struct jobgraph *g = graph();
    char id[32], up[32];

    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "d/r%d", i);
        snprintf(up, sizeof up, "d/r%d", (i + 1) % n);
        set(g, id, up);
    }
    return g;
}

/* What the engine's old check missed (it stopped at 64 steps): rings of
 * 2, 63, 64, 65 and 1,000 jobs are each one cycle, told from the job
 * saved. */
static void test_jobgraph_finds_a_cycle_of_any_length(void **state)
{
    const int sizes[] = {2, 63, 64, 65, 1000};

    (void)state;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct jobgraph *g = ring(sizes[k]);
        const char *starts[] = {"d/r1"};
        struct err err = {0};
        char at[64] = "", want[64];

        assert_int_equal(jobgraph_check(g, starts, 1, at, sizeof at, &err), -CHIME_EINVAL);
        assert_string_equal(err.field, "schedule.after");
        assert_string_equal(at, "d/r1");
        snprintf(want, sizeof want, "dependency cycle: d/r1 -> d/r%d", 2 % sizes[k]);
        assert_memory_equal(err.msg, want, strlen(want));
        /* opened at one edge, it is a chain: no cycle */
        snprintf(want, sizeof want, "d/r%d", sizes[k] - 1);
        set(g, want, "");
        assert_int_equal(jobgraph_check(g, starts, 1, NULL, 0, &err), 0);
        jobgraph_free(g);
    }
}

static void test_jobgraph_tells_a_long_cycle_shortened_with_its_length(void **state)
{
    struct jobgraph *g = ring(1000);
    struct err err = {0};

    (void)state;
    assert_int_equal(jobgraph_check(g, NULL, 0, NULL, 0, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, " -> ... (1000 jobs)"));
    assert_true(strlen(err.msg) < sizeof err.msg - 1); /* not cut by the buffer */
    jobgraph_free(g);
}

/* A cycle found from a job that only leads into it is told from the
 * first job of the cycle among the starts, so a save is told its job. */
static void test_jobgraph_tells_a_cycle_from_the_job_saved(void **state)
{
    struct jobgraph *g = graph();
    const char *starts[] = {"d/x", "d/b"};
    struct err err = {0};
    char at[64] = "";

    (void)state;
    set(g, "d/x", "d/a");       /* leads into the cycle, is not in it */
    set(g, "d/a", "d/b");
    set(g, "d/b", "d/a");
    assert_int_equal(jobgraph_check(g, starts, 2, at, sizeof at, &err), -CHIME_EINVAL);
    assert_string_equal(at, "d/b");
    assert_string_equal(err.msg, "dependency cycle: d/b -> d/a -> d/b");
    jobgraph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobgraph_without_cycles_checks_fine),
        cmocka_unit_test(test_jobgraph_names_a_cycle_from_the_first_start),
        cmocka_unit_test(test_jobgraph_finds_a_self_dependency),
        cmocka_unit_test(test_jobgraph_laying_jobs_over_others_replaces_their_edges),
        cmocka_unit_test(test_jobgraph_removing_a_job_breaks_its_cycle),
        cmocka_unit_test(test_jobgraph_orders_upstreams_first_even_through_other_jobs),
        cmocka_unit_test(test_jobgraph_walks_a_long_chain_without_recursion),
        cmocka_unit_test(test_jobgraph_finds_a_cycle_of_any_length),
        cmocka_unit_test(test_jobgraph_tells_a_long_cycle_shortened_with_its_length),
        cmocka_unit_test(test_jobgraph_tells_a_cycle_from_the_job_saved),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
