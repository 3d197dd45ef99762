/* utf8_test.c: the one UTF-8 decoder against the rules it promises. */
#include "util/utf8.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../banned.h"

static void test_utf8_len_takes_each_well_formed_length(void **state)
{
    (void)state;
    assert_int_equal(utf8_len("a", 1), 1);
    assert_int_equal(utf8_len("\xc3\xa9", 2), 2);         /* é */
    assert_int_equal(utf8_len("\xe2\x82\xac", 3), 3);     /* € */
    assert_int_equal(utf8_len("\xf0\x9f\x98\x80", 4), 4); /* U+1F600 */
    assert_int_equal(utf8_len("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
}

static void test_utf8_len_refuses_what_jansson_refuses(void **state)
{
    static const char *const bad[] = {
        "\x80",             /* a continuation byte first */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xf5\x80\x80\x80", /* no such lead byte */
        "\xc3\x28",         /* a lead byte without its continuation */
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(utf8_len(bad[i], strlen(bad[i])), 0);
    /* cut short by the end of the text */
    assert_int_equal(utf8_len("\xe2\x82\xac", 2), 0);
    assert_int_equal(utf8_len("\xf0\x9f\x98\x80", 3), 0);
}

static void test_utf8_valid_walks_the_whole_text(void **state)
{
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9));
    assert_false(utf8_valid("caf\xc3\xa9 \xe2\x82", 8));
    assert_false(utf8_valid("ok\xed\xa0\x80ok", 7));
    assert_false(utf8_valid("a\0b\xff", 4));
    assert_true(utf8_valid("a\0b", 3)); /* NUL is a character; callers refuse it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_len_takes_each_well_formed_length),
        cmocka_unit_test(test_utf8_len_refuses_what_jansson_refuses),
        cmocka_unit_test(test_utf8_valid_walks_the_whole_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
