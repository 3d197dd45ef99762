/* runas_test.c: the operator's job-user options: the default range, the
 * explicit mappings resolved to ids, the root exception, and every bad
 * value refused naming the option (bad ranges, unknown users and groups,
 * root, overlaps, repeats, hostile text). Uses the system's own "nobody"
 * (65534) and "daemon" (1) users, which every Debian has. */
#include "daemon/runas.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec/exec.h"
#include "util/err.h"
#include "../banned.h"

static int try(const char *range, const char *map, const char *root, struct err *err)
{
    struct runas *r = NULL;
    int rc;

    memset(err, 0, sizeof *err);
    rc = runas_new(range, map, root, &r, err);
    if (rc == 0)
        assert_non_null(r);
    runas_free(r);
    return rc;
}

static void test_runas_defaults_to_systemds_dynamic_range(void **state)
{
    struct runas *r = NULL;
    struct exec_identity id = {0};
    struct err err = {0};
    int64_t lo, hi;

    (void)state;
    assert_int_equal(runas_new(NULL, NULL, NULL, &r, &err), 0);
    runas_range(r, &lo, &hi);
    assert_int_equal(lo, 61184);
    assert_int_equal(hi, 65519);
    assert_int_equal(runas_find(r, "a", &id), RUNAS_ALLOCATED);
    runas_allocated(61200, &id);
    assert_int_equal(id.uid, 61200);
    assert_int_equal(id.gid, 61200);
    assert_int_equal(id.n_groups, 0);
    runas_free(r);
    runas_free(NULL);
}

static void test_runas_maps_namespaces_to_users_and_roots_the_exceptions(void **state)
{
    struct runas *r = NULL;
    struct exec_identity id = {0};
    struct err err = {0};

    (void)state;
    assert_int_equal(runas_new("70000-70100", "web=nobody:nogroup,db=daemon,n=4242:4343", "ops",
                               &r, &err),
                     0);
    assert_int_equal(runas_find(r, "web", &id), RUNAS_MAPPED);
    assert_int_equal(id.uid, 65534);
    assert_int_equal(id.gid, 65534);
    assert_int_equal(runas_find(r, "db", &id), RUNAS_MAPPED);
    assert_int_equal(id.uid, 1);
    assert_int_equal(id.gid, 1);
    assert_int_equal(runas_find(r, "n", &id), RUNAS_MAPPED);
    assert_int_equal(id.uid, 4242);
    assert_int_equal(id.gid, 4343);
    assert_int_equal(id.n_groups, 0);
    assert_int_equal(runas_find(r, "ops", &id), RUNAS_ROOT);
    assert_int_equal(runas_find(r, "other", &id), RUNAS_ALLOCATED);
    runas_free(r);
}

static void test_runas_avoids_the_systems_users_inside_the_range(void **state)
{
    struct runas *r = NULL;
    struct err err = {0};
    const int64_t *avoid;
    size_t n, i;
    bool nobody = false;

    (void)state;
    assert_int_equal(runas_new("65000-65534", NULL, NULL, &r, &err), 0);
    avoid = runas_avoid(r, &n);
    for (i = 0; i < n; i++) {
        assert_true(avoid[i] >= 65000 && avoid[i] <= 65534);
        if (i > 0)
            assert_true(avoid[i] > avoid[i - 1]); /* sorted, no repeats */
        nobody = nobody || avoid[i] == 65534;
    }
    assert_true(nobody);
    runas_free(r);
}

static void test_runas_refuses_bad_ranges(void **state)
{
    static const char *const bad[] = {
        "",         "-",         "1000",        "1000-",       "-2000",       "abc-def",
        "0-100",    "1-999",     "999-2000",    "2000-1000",   "1000-2147483647",
        "1000-99999999999",      " 1000-2000",  "1000-2000 ",  "+1000-2000",  "1000--2000",
        "1000-2000-3000",        "0x400-0x500", "1e3-2e3",
    };
    struct err err;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(try(bad[i], NULL, NULL, &err) < 0);
        assert_string_equal(err.field, "uid-range");
    }
    assert_int_equal(try("1000-1000", NULL, NULL, &err), 0);
    assert_int_equal(try("1000-2147483646", NULL, NULL, &err), 0);
}

static void test_runas_refuses_unknown_users_and_root(void **state)
{
    struct err err;

    (void)state;
    assert_int_equal(try(NULL, "a=no-such-user-zz", NULL, &err), -CHIME_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no user"));
    assert_int_equal(try(NULL, "a=nobody:no-such-group-zz", NULL, &err), -CHIME_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no group"));
    assert_int_equal(try(NULL, "a=root", NULL, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "--root-namespaces"));
    assert_int_equal(try(NULL, "a=0:100", NULL, &err), -CHIME_EINVAL);
    assert_int_equal(try(NULL, "a=nobody:root", NULL, &err), -CHIME_EINVAL);
    assert_int_equal(try(NULL, "a=nobody:0", NULL, &err), -CHIME_EINVAL);
    /* a number without a user entry needs its group */
    assert_int_equal(try(NULL, "a=4242", NULL, &err), -CHIME_EINVAL);
    assert_int_equal(try(NULL, "a=99999999999:1", NULL, &err), -CHIME_ENOTFOUND);
}

static void test_runas_refuses_overlaps_and_repeats(void **state)
{
    struct err err;

    (void)state;
    /* two namespaces on one user are one tenant */
    assert_int_equal(try(NULL, "a=nobody,b=nobody", NULL, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "user of its own"));
    assert_int_equal(try(NULL, "a=nobody,b=65534:65534", NULL, &err), -CHIME_EINVAL);
    /* a mapped uid inside the range could be handed out again */
    assert_int_equal(try("65000-65534", "a=nobody", NULL, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "inside --uid-range"));
    assert_int_equal(try(NULL, "a=nobody,a=daemon", NULL, &err), -CHIME_EINVAL);
    assert_int_equal(try(NULL, "a=nobody", "a", &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(try(NULL, NULL, "a,b,a", &err), -CHIME_EINVAL);
}

static void test_runas_refuses_hostile_text(void **state)
{
    static const char *const bad_map[] = {
        "a",        "=nobody",    "a=",          "a=:",        "a=nobody:",  "a=:nogroup",
        "A=nobody", "a/b=nobody", "../x=nobody", "a=nobody,",  ",a=nobody",  "a=nobody,,b=daemon",
        "a b=nobody", "a=nobody\n", "a=no body", "a=nobody:no group",
    };
    static const char *const bad_root[] = {"a,", ",a", "a,,b", "A", "a b", "-a", "a\tb"};
    char *big = malloc(70000), *many = malloc(4 * 2000 + 1);
    struct err err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad_map / sizeof bad_map[0]; i++) {
        assert_true(try(NULL, bad_map[i], NULL, &err) < 0);
        assert_string_equal(err.field, "run-as");
    }
    for (i = 0; i < sizeof bad_root / sizeof bad_root[0]; i++) {
        assert_true(try(NULL, NULL, bad_root[i], &err) < 0);
        assert_string_equal(err.field, "root-namespaces");
    }
    /* a user name past any buffer, a list past its ceiling */
    memset(big, 'x', 69999);
    big[0] = 'a';
    big[1] = '=';
    big[69999] = '\0';
    assert_int_equal(try(NULL, big, NULL, &err), -CHIME_ETOOBIG);
    big[300] = '\0';
    assert_true(try(NULL, big, NULL, &err) < 0);
    for (i = 0; i < 2000; i++)
        memcpy(many + 4 * i, i ? ",n1" : "n1 ", 3), many[4 * i + 3] = ',';
    many[4 * 2000 - 1] = '\0';
    assert_int_equal(try(NULL, NULL, many, &err), -CHIME_ETOOBIG);
    free(big);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runas_defaults_to_systemds_dynamic_range),
        cmocka_unit_test(test_runas_maps_namespaces_to_users_and_roots_the_exceptions),
        cmocka_unit_test(test_runas_avoids_the_systems_users_inside_the_range),
        cmocka_unit_test(test_runas_refuses_bad_ranges),
        cmocka_unit_test(test_runas_refuses_unknown_users_and_root),
        cmocka_unit_test(test_runas_refuses_overlaps_and_repeats),
        cmocka_unit_test(test_runas_refuses_hostile_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
