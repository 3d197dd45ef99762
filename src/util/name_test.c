/* name_test.c: the one name grammar on good, bad, oversized and hostile
 * names, and the messages that say why. */
#include "util/name.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"
#include "../banned.h"

/* S (LEN bytes) checked with FLAGS; asserts the code and returns the message. */
static const char *refused(const char *s, size_t len, int flags, const char *what, int code)
{
    static struct err err;

    memset(&err, 0, sizeof err);
    assert_int_equal(name_check(s, len, flags, what, "f", &err), -code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.field, "f");
    assert_null(strchr(err.msg, '\n'));
    return err.msg;
}

static void test_name_takes_the_grammar(void **state)
{
    static const char *const good[] = {
        "a", "0", "default", "prod", "a.b", "a_b", "a-b", "a--", "0.0.1", "x9",
        "abcdefghijklmnopqrstuvwxyz0123456789._-",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 63 */
    };
    struct err err = {0};

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(name_check(good[i], strlen(good[i]), 0, NULL, "f", &err), 0);
    assert_int_equal(err.code, 0);
    /* LEN bytes, not the C string: a longer buffer checks only its head */
    assert_int_equal(name_check("ab/cd", 2, 0, NULL, "f", &err), 0);
}

static void test_name_refuses_bad_first_and_later_bytes(void **state)
{
    (void)state;
    assert_string_equal(refused("", 0, 0, NULL, CHIME_EINVAL), "'' is empty");
    assert_string_equal(refused("Tick", 4, 0, NULL, CHIME_EINVAL),
                        "'Tick' starts with 'T' (start with a-z or 0-9)");
    assert_string_equal(refused("a b", 3, 0, NULL, CHIME_EINVAL),
                        "'a b' has ' ' at position 2 (use a-z, 0-9, '.', '_', '-')");
    assert_string_equal(refused(".x", 2, 0, NULL, CHIME_EINVAL),
                        "'.x' starts with '.' (start with a-z or 0-9)");
    refused("_x", 2, 0, NULL, CHIME_EINVAL);
    refused("aB", 2, 0, NULL, CHIME_EINVAL);
    refused("a:b", 3, 0, NULL, CHIME_EINVAL);
    refused("a*", 2, 0, NULL, CHIME_EINVAL);
}

static void test_name_refuses_oversized(void **state)
{
    char big[200];

    (void)state;
    memset(big, 'a', sizeof big);
    assert_non_null(strstr(refused(big, 64, 0, NULL, CHIME_ETOOBIG),
                           "is longer than 63 bytes"));
    refused(big, sizeof big, 0, NULL, CHIME_ETOOBIG);
    refused(big, SIZE_MAX / 2, 0, NULL, CHIME_ETOOBIG); /* never read past 63 */
}

static void test_name_refuses_hostile_bytes(void **state)
{
    const char *msg;

    (void)state;
    /* a NUL inside the length: refused where it is, quoted visibly */
    assert_string_equal(refused("a\0b", 3, 0, NULL, CHIME_EINVAL),
                        "'a' has a NUL byte at position 2");
    assert_string_equal(refused("\0", 1, 0, NULL, CHIME_EINVAL),
                        "'' has a NUL byte at position 1");
    /* bytes past ASCII, valid UTF-8 or not */
    assert_non_null(strstr(refused("caf\xc3\xa9", 5, 0, NULL, CHIME_EINVAL), "at position 4"));
    refused("\xff", 1, 0, NULL, CHIME_EINVAL);
    refused("a\x80", 2, 0, NULL, CHIME_EINVAL);
    /* path separators and traversal */
    refused("a/b", 3, 0, NULL, CHIME_EINVAL);
    refused("a\\b", 3, 0, NULL, CHIME_EINVAL);
    refused("..", 2, 0, NULL, CHIME_EINVAL);
    refused("/etc", 4, 0, NULL, CHIME_EINVAL);
    /* a leading dash would read as an option */
    assert_string_equal(refused("-rf", 3, 0, NULL, CHIME_EINVAL),
                        "'-rf' starts with '-' (start with a-z or 0-9)");
    /* control bytes never reach the message raw */
    msg = refused("a\nb\x1b[31m", 8, 0, NULL, CHIME_EINVAL);
    assert_null(strchr(msg, '\x1b'));
}

static void test_name_slash_is_allowed_only_when_asked_and_not_first(void **state)
{
    struct err err = {0};

    (void)state;
    assert_int_equal(name_check("app/tier", 8, NAME_SLASH, NULL, "f", &err), 0);
    assert_int_equal(name_check("a//b", 4, NAME_SLASH, NULL, "f", &err), 0);
    refused("/x", 2, NAME_SLASH, NULL, CHIME_EINVAL);
    assert_string_equal(refused("a b", 3, NAME_SLASH, NULL, CHIME_EINVAL),
                        "'a b' has ' ' at position 2 (use a-z, 0-9, '.', '_', '-' or '/')");
}

static void test_name_says_what_it_is_not(void **state)
{
    (void)state;
    assert_string_equal(refused("Ops", 3, 0, "channel name", CHIME_EINVAL),
                        "'Ops' is not a channel name: it starts with 'O' (start with a-z or 0-9)");
    assert_string_equal(refused("", 0, 0, "namespace name", CHIME_EINVAL),
                        "'' is not a namespace name: it is empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_takes_the_grammar),
        cmocka_unit_test(test_name_refuses_bad_first_and_later_bytes),
        cmocka_unit_test(test_name_refuses_oversized),
        cmocka_unit_test(test_name_refuses_hostile_bytes),
        cmocka_unit_test(test_name_slash_is_allowed_only_when_asked_and_not_first),
        cmocka_unit_test(test_name_says_what_it_is_not),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
