/* redact_test.c: tests of the output's secret filter (redact.c), each
 * checked against a plain reference: mark every byte of every occurrence,
 * then replace each run of marked bytes by one marker. */
#include "exec/redact.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"
#include "../banned.h"

#define MARK EXEC_REDACT_MARKER

struct sink {
    char *buf;
    size_t len, cap;
    size_t calls;
};

static void on_emit(void *arg, const char *data, size_t len)
{
    struct sink *s = arg;

    assert_true(len > 0);
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->buf = realloc(s->buf, s->cap);
        assert_non_null(s->buf);
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->calls++;
}

/* The reference: SECRETS (with LENS) in TEXT, redacted the slow way. */
static char *reference(const char *const *secrets, const size_t *lens, size_t n, const char *text,
                       size_t len, size_t *ret_len)
{
    unsigned char *mask = calloc(len + 1, 1);
    char *out = malloc(len * sizeof MARK + 1);
    size_t o = 0;

    assert_non_null(mask);
    assert_non_null(out);
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; lens[k] && i + lens[k] <= len; i++)
            if (memcmp(text + i, secrets[k], lens[k]) == 0)
                memset(mask + i, 1, lens[k]);
    for (size_t i = 0; i < len; i++) {
        if (!mask[i])
            out[o++] = text[i];
        else if (i == 0 || !mask[i - 1]) {
            memcpy(out + o, MARK, sizeof MARK - 1);
            o += sizeof MARK - 1;
        }
    }
    free(mask);
    *ret_len = o;
    return out;
}

/* TEXT fed in the pieces that CUTS (ascending, ending at LEN) make. */
static void check_cuts(const char *const *secrets, const size_t *lens, size_t n, const char *text,
                       size_t len, const size_t *cuts, size_t n_cuts)
{
    struct exec_redact *r = NULL;
    struct sink s = {0};
    struct err err = {0};
    size_t at = 0, want_len;
    char *want;

    assert_int_equal(exec_redact_new(secrets, lens, n, &r, &err), 0);
    for (size_t c = 0; c < n_cuts; c++) {
        assert_int_equal(exec_redact_feed(r, text + at, cuts[c] - at, on_emit, &s), 0);
        at = cuts[c];
    }
    exec_redact_flush(r, on_emit, &s);
    want = reference(secrets, lens, n, text, len, &want_len);
    if (s.len != want_len || memcmp(s.buf, want, want_len) != 0) {
        print_error("got  '%.*s'\nwant '%.*s'\n", (int)s.len, s.buf, (int)want_len, want);
        fail();
    }
    free(want);
    free(s.buf);
    exec_redact_free(r);
}

static void check_all_splits(const char *const *secrets, size_t n, const char *text, size_t len)
{
    size_t *lens = calloc(n ? n : 1, sizeof *lens);

    for (size_t k = 0; k < n; k++)
        lens[k] = strlen(secrets[k]);
    /* whole, one byte at a time, and cut once and twice at every place */
    check_cuts(secrets, lens, n, text, len, (size_t[]){len}, 1);
    {
        size_t *each = malloc((len + 1) * sizeof *each);

        for (size_t i = 0; i < len; i++)
            each[i] = i + 1;
        check_cuts(secrets, lens, n, text, len, each, len);
        free(each);
    }
    for (size_t a = 0; a <= len; a++) {
        check_cuts(secrets, lens, n, text, len, (size_t[]){a, len}, 2);
        for (size_t b = a; b <= len && len <= 40; b++)
            check_cuts(secrets, lens, n, text, len, (size_t[]){a, b, len}, 3);
    }
    free(lens);
}

static void test_redact_replaces_a_secret_split_at_every_position(void **state)
{
    const char *s[] = {"s3cr3t"};
    const char *text = "key=s3cr3t and again s3cr3t.";

    (void)state;
    check_all_splits(s, 1, text, strlen(text));
}

static void test_redact_makes_one_marker_of_overlapping_and_touching_secrets(void **state)
{
    const char *s[] = {"abcd", "cdef", "aa"};
    const char *text = "xabcdefy abcdabcd aaaaa abcde cdefab";
    struct exec_redact *r = NULL;
    struct sink out = {0};
    struct err err = {0};
    size_t lens[] = {4, 4, 2};

    (void)state;
    check_all_splits(s, 3, text, strlen(text));
    assert_int_equal(exec_redact_new(s, lens, 3, &r, &err), 0);
    exec_redact_feed(r, "xabcdefy", 8, on_emit, &out);
    exec_redact_flush(r, on_emit, &out);
    assert_int_equal(out.len, strlen("x" MARK "y"));
    assert_memory_equal(out.buf, "x" MARK "y", out.len);
    free(out.buf);
    exec_redact_free(r);
}

static void test_redact_handles_self_overlapping_secrets(void **state)
{
    const char *s[] = {"aaa", "abab"};
    const char *text = "aaaa ababab aab abaab aaaaaaaaa";

    (void)state;
    check_all_splits(s, 2, text, strlen(text));
}

static void test_redact_passes_binary_data_and_finds_secrets_in_it(void **state)
{
    char text[300];
    const char *s[] = {"\x00\xff\x01z"};
    size_t lens[] = {4};

    (void)state;
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)(i * 7 + 3);
    memcpy(text + 10, "\x00\xff\x01z", 4);
    memcpy(text + 200, "\x00\xff\x01z", 4);
    for (size_t a = 0; a <= sizeof text; a += 3)
        check_cuts(s, lens, 1, text, sizeof text, (size_t[]){a, sizeof text}, 2);
}

static void test_redact_handles_many_secrets(void **state)
{
    enum { N = 200 };
    char *sec[N], text[8000];
    size_t lens[N], len = 0;
    unsigned seed = 12345;

    (void)state;
    for (size_t k = 0; k < N; k++) {
        sec[k] = malloc(16);
        lens[k] = 4 + k % 9;
        for (size_t i = 0; i < lens[k]; i++)
            sec[k][i] = (char)('a' + (k * 31 + i * 7) % 5);   /* a small alphabet: many overlaps */
    }
    while (len + 20 < sizeof text) {
        seed = seed * 1103515245u + 12345u;
        if (seed % 5 == 0) {
            size_t k = (seed >> 8) % N;

            memcpy(text + len, sec[k], lens[k]);
            len += lens[k];
        } else {
            text[len++] = (char)('a' + (seed >> 16) % 6);
        }
    }
    for (size_t a = 0; a < len; a += 97)
        check_cuts((const char *const *)sec, lens, N, text, len, (size_t[]){a, a + (len - a) / 2,
                                                                          len}, 3);
    for (size_t k = 0; k < N; k++)
        free(sec[k]);
}

static void test_redact_holds_back_only_a_possible_start(void **state)
{
    const char *s[] = {"secret"};
    size_t lens[] = {6};
    struct exec_redact *r = NULL;
    struct sink out = {0};
    struct err err = {0};

    (void)state;
    assert_int_equal(exec_redact_new(s, lens, 1, &r, &err), 0);
    assert_int_equal(exec_redact_hold_max(r), 5);
    exec_redact_feed(r, "progress 10%\n", 13, on_emit, &out);
    assert_int_equal(out.len, 13);     /* nothing that could start "secret": all out */
    exec_redact_feed(r, "see sec", 7, on_emit, &out);
    assert_int_equal(out.len, 13 + 4); /* "sec" held */
    exec_redact_feed(r, "ond", 3, on_emit, &out);
    exec_redact_flush(r, on_emit, &out);
    assert_int_equal(out.len, 13 + 10);
    assert_memory_equal(out.buf + 13, "see second", 10);
    free(out.buf);
    exec_redact_free(r);
}

static void test_redact_of_a_one_byte_secret_is_noisy_but_complete(void **state)
{
    const char *s[] = {"e", ""};
    const char *text = "the secret here";

    (void)state;
    check_all_splits(s, 2, text, strlen(text));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_replaces_a_secret_split_at_every_position),
        cmocka_unit_test(test_redact_makes_one_marker_of_overlapping_and_touching_secrets),
        cmocka_unit_test(test_redact_handles_self_overlapping_secrets),
        cmocka_unit_test(test_redact_passes_binary_data_and_finds_secrets_in_it),
        cmocka_unit_test(test_redact_handles_many_secrets),
        cmocka_unit_test(test_redact_holds_back_only_a_possible_start),
        cmocka_unit_test(test_redact_of_a_one_byte_secret_is_noisy_but_complete),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
