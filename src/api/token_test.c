/* token_test.c: token secrets, their hashes, roles, namespaces, expiry. */
#include "api/token.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "util/err.h"
#include "../banned.h"

static void test_token_new_makes_a_parseable_secret_whose_hash_verifies(void **state)
{
    char text[TOKEN_TEXT_LEN + 1], id[TOKEN_ID_LEN + 1], parsed[TOKEN_ID_LEN + 1];
    unsigned char hash[TOKEN_HASH_LEN];
    struct err err = {0};

    (void)state;
    assert_int_equal(token_new(text, id, hash, &err), 0);
    assert_int_equal(strlen(text), TOKEN_TEXT_LEN);
    assert_int_equal(strncmp(text, "chime_", 6), 0);
    assert_int_equal(strlen(id), TOKEN_ID_LEN);
    assert_int_equal(token_parse(text, strlen(text), parsed, &err), 0);
    assert_string_equal(parsed, id);
    assert_true(token_verify(text, strlen(text), hash, sizeof hash));
}

static void test_token_secrets_differ_and_a_changed_byte_fails(void **state)
{
    char a[TOKEN_TEXT_LEN + 1], b[TOKEN_TEXT_LEN + 1], ia[TOKEN_ID_LEN + 1],
        ib[TOKEN_ID_LEN + 1];
    unsigned char ha[TOKEN_HASH_LEN], hb[TOKEN_HASH_LEN];
    struct err err = {0};

    (void)state;
    assert_int_equal(token_new(a, ia, ha, &err), 0);
    assert_int_equal(token_new(b, ib, hb, &err), 0);
    assert_string_not_equal(a, b);
    assert_string_not_equal(ia, ib);
    assert_memory_not_equal(ha, hb, TOKEN_HASH_LEN);
    assert_false(token_verify(b, strlen(b), ha, sizeof ha));
    /* the same id with another secret: the hash tells them apart */
    a[TOKEN_TEXT_LEN - 1] = a[TOKEN_TEXT_LEN - 1] == 'A' ? 'B' : 'A';
    assert_false(token_verify(a, strlen(a), ha, sizeof ha));
    /* a stored hash of another length never matches */
    assert_false(token_verify(b, strlen(b), hb, sizeof hb - 1));
}

static void test_token_parse_refuses_what_is_not_a_token_without_quoting_it(void **state)
{
    char text[TOKEN_TEXT_LEN + 1], id[TOKEN_ID_LEN + 1], bad[TOKEN_TEXT_LEN + 1];
    unsigned char hash[TOKEN_HASH_LEN];
    const char *cases[] = {"", "chime_", "s3cret", "Bearer x", "chime_zz"};
    struct err err = {0};

    (void)state;
    assert_int_equal(token_new(text, id, hash, &err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(token_parse(cases[i], strlen(cases[i]), id, &err), -CHIME_EINVAL);
        assert_string_equal(err.field, "Authorization");
    }
    /* right length, wrong bytes: an upper-case id, a '+' in the secret, a NUL */
    memcpy(bad, text, sizeof bad);
    bad[6] = 'A';
    assert_int_equal(token_parse(bad, strlen(bad), id, &err), -CHIME_EINVAL);
    memcpy(bad, text, sizeof bad);
    bad[TOKEN_TEXT_LEN - 3] = '+';
    assert_int_equal(token_parse(bad, strlen(bad), id, &err), -CHIME_EINVAL);
    assert_null(strstr(err.msg, bad));
    memcpy(bad, text, sizeof bad);
    bad[30] = '\0';
    assert_int_equal(token_parse(bad, TOKEN_TEXT_LEN, id, &err), -CHIME_EINVAL);
    /* a token with the prefix changed */
    memcpy(bad, text, sizeof bad);
    bad[0] = 'x';
    assert_int_equal(token_parse(bad, strlen(bad), id, &err), -CHIME_EINVAL);
}

static void test_token_roles_parse_and_name_each_other(void **state)
{
    enum token_role r;
    struct err err = {0};

    (void)state;
    assert_int_equal(token_role_parse("viewer", "role", &r, &err), 0);
    assert_int_equal(r, TOKEN_VIEWER);
    assert_int_equal(token_role_parse("operator", "role", &r, &err), 0);
    assert_int_equal(r, TOKEN_OPERATOR);
    assert_int_equal(token_role_parse("admin", "role", &r, &err), 0);
    assert_int_equal(r, TOKEN_ADMIN);
    assert_true(TOKEN_VIEWER < TOKEN_OPERATOR && TOKEN_OPERATOR < TOKEN_ADMIN);
    assert_int_equal(token_role_parse("root", "role", &r, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "role");
    assert_int_equal(token_role_parse(NULL, "role", &r, &err), -CHIME_EINVAL);
    assert_string_equal(token_role_name(TOKEN_OPERATOR), "operator");
    assert_string_equal(token_role_name((enum token_role)0), "none");
}

/* Every role of store/vocab.h's table goes name -> role -> name, in the
 * table's order (weakest first); nothing else is a role, and the refusal
 * lists them all. */
static void test_token_every_role_of_the_table_round_trips(void **state)
{
    static const char *const rows[] = {
#define X(id, name) name,
        STORE_ROLES(X)
#undef X
    };
    static const char *const strangers[] = {"", "none", "Admin", "admin ", "root", "viewers"};
    enum token_role r, prev = TOKEN_ROLE_NONE;
    struct err err = {0};

    (void)state;
    assert_int_equal(TOKEN_ROLE_END, sizeof rows / sizeof rows[0] + 1);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(token_role_parse(rows[i], "role", &r, &err), 0);
        assert_true(r > prev);
        assert_string_equal(token_role_name(r), rows[i]);
        prev = r;
    }
    for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
        r = TOKEN_OPERATOR;
        assert_int_equal(token_role_parse(strangers[i], "role", &r, &err), -CHIME_EINVAL);
        assert_int_equal(r, TOKEN_OPERATOR);
        assert_non_null(strstr(err.msg, "is not a role (viewer, operator, admin)"));
    }
    assert_string_equal(token_role_name(TOKEN_ROLE_END), "none");
}

static void test_token_sees_only_its_namespaces(void **state)
{
    (void)state;
    assert_true(token_sees(NULL, "anything"));
    assert_true(token_sees("[\"a\",\"b\"]", "a"));
    assert_true(token_sees("[\"a\",\"b\"]", "b"));
    assert_false(token_sees("[\"a\",\"b\"]", "c"));
    assert_false(token_sees("[\"a\"]", "A"));
    assert_false(token_sees("[\"ab\"]", "a"));
    assert_false(token_sees("[]", "a"));
    /* a malformed list sees nothing rather than everything */
    assert_false(token_sees("not json", "a"));
    assert_false(token_sees("{\"a\":1}", "a"));
}

static void test_token_expires_at_its_instant_and_revoked_is_revoked(void **state)
{
    const char *why = "unset";

    (void)state;
    assert_true(token_live(STORE_NULL, STORE_NULL, 1000, &why));
    assert_string_equal(why, "unset");
    assert_true(token_live(2000, STORE_NULL, 1999, &why));
    assert_false(token_live(2000, STORE_NULL, 2000, &why));
    assert_string_equal(why, "expired");
    assert_false(token_live(STORE_NULL, 5, 1000, &why));
    assert_string_equal(why, "revoked");
    assert_false(token_live(2000, 5, 3000, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_new_makes_a_parseable_secret_whose_hash_verifies),
        cmocka_unit_test(test_token_secrets_differ_and_a_changed_byte_fails),
        cmocka_unit_test(test_token_parse_refuses_what_is_not_a_token_without_quoting_it),
        cmocka_unit_test(test_token_roles_parse_and_name_each_other),
        cmocka_unit_test(test_token_every_role_of_the_table_round_trips),
        cmocka_unit_test(test_token_sees_only_its_namespaces),
        cmocka_unit_test(test_token_expires_at_its_instant_and_revoked_is_revoked),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
