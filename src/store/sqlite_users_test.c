/* sqlite_users_test.c: each namespace's job uid (ns_user_claim): the
 * lowest free one of the range, stable, never two namespaces on one uid,
 * never one the caller avoids, kept across a reopen, and a range used up
 * or malformed refused without a change. */
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

static int64_t claim(struct store *s, const char *ns, int64_t lo, int64_t hi,
                     const int64_t *avoid, size_t n_avoid)
{
    struct err err = {0};
    int64_t uid = -1;
    int rc = store_ns_user_claim(s, ns, lo, hi, avoid, n_avoid, &uid, &err);

    return rc < 0 ? rc : uid;
}

static void test_store_gives_each_namespace_the_lowest_free_uid_and_keeps_it(void **state)
{
    struct fixture *f = *state;
    const int64_t avoid[] = {1001, 1003};

    assert_int_equal(claim(f->s, "a", 1000, 1010, avoid, 2), 1000);
    assert_int_equal(claim(f->s, "b", 1000, 1010, avoid, 2), 1002); /* 1001 is avoided */
    assert_int_equal(claim(f->s, "c", 1000, 1010, avoid, 2), 1004);
    assert_int_equal(claim(f->s, "a", 1000, 1010, avoid, 2), 1000);
    store_close(f->s);
    fixture_open(f);
    assert_int_equal(claim(f->s, "b", 1000, 1010, avoid, 2), 1002);
    assert_int_equal(claim(f->s, "d", 1000, 1010, avoid, 2), 1005);
}

static void test_store_moves_a_namespace_whose_uid_left_the_range(void **state)
{
    struct fixture *f = *state;
    const int64_t avoid[] = {2000};

    assert_int_equal(claim(f->s, "a", 1000, 1010, NULL, 0), 1000);
    assert_int_equal(claim(f->s, "a", 2000, 2005, avoid, 1), 2001);
    /* 1000 is free again, for another namespace */
    assert_int_equal(claim(f->s, "b", 1000, 1010, NULL, 0), 1000);
    assert_int_equal(claim(f->s, "a", 2000, 2005, avoid, 1), 2001);
}

static void test_store_refuses_a_used_up_range_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    const int64_t avoid[] = {1001};
    struct err err = {0};
    int64_t uid = 7;

    assert_int_equal(claim(f->s, "a", 1000, 1001, avoid, 1), 1000);
    assert_int_equal(store_ns_user_claim(f->s, "b", 1000, 1001, avoid, 1, &uid, &err),
                     -CHIME_ERANGE);
    assert_int_equal(uid, 7);
    assert_non_null(strstr(err.msg, "used up"));
    assert_int_equal(claim(f->s, "b", 1000, 1002, avoid, 1), 1002);
}

static void test_store_refuses_malformed_claims(void **state)
{
    struct fixture *f = *state;
    const int64_t unsorted[] = {1005, 1001};

    assert_int_equal(claim(f->s, "a", 0, 10, NULL, 0), -CHIME_ERANGE);
    assert_int_equal(claim(f->s, "a", 1010, 1000, NULL, 0), -CHIME_ERANGE);
    assert_int_equal(claim(f->s, "a", 1000, INT64_C(4294967295), NULL, 0), -CHIME_ERANGE);
    assert_int_equal(claim(f->s, "a", 1000, 1010, unsorted, 2), -CHIME_EINVAL);
    assert_int_equal(claim(f->s, "a", 1000, 1010, NULL, 3), -CHIME_EINVAL);
    assert_int_equal(claim(f->s, "", 1000, 1010, NULL, 0), -CHIME_EINVAL);
    assert_int_equal(claim(f->s, NULL, 1000, 1010, NULL, 0), -CHIME_EINVAL);
    /* nothing was kept: the first good claim gets the range's first uid */
    assert_int_equal(claim(f->s, "a", 1000, 1010, NULL, 0), 1000);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_store_gives_each_namespace_the_lowest_free_uid_and_keeps_it),
        T(test_store_moves_a_namespace_whose_uid_left_the_range),
        T(test_store_refuses_a_used_up_range_and_changes_nothing),
        T(test_store_refuses_malformed_claims),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
