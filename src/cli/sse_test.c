/* sse_test.c: tests of sse.c. Each stream is fed whole and then again
 * in every split into two chunks and byte by byte: the events must not
 * depend on where the network cut the bytes. */
#include "cli/sse.h"

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

#define LOG_MAX 2048

/* The events seen, written as "name|id|data;" one after another. */
struct seen {
    char log[LOG_MAX];
    size_t len;
    int stop_after;     /* 0: never stop; n: return 7 from the nth event */
    int count;
};

static int on_event(void *arg, const char *name, const char *data, size_t len, const char *id)
{
    struct seen *s = arg;

    assert_int_equal(data[len], '\0');
    s->len += (size_t)snprintf(s->log + s->len, sizeof s->log - s->len, "%s|%s|%.*s;", name, id,
                               (int)len, data);
    s->count++;
    return s->stop_after && s->count == s->stop_after ? 7 : 0;
}

/* Feeds TEXT in the chunks that CUTS (ascending offsets, then 0) make. */
static void feed_cut(const char *text, const size_t *cuts, size_t max, struct seen *s)
{
    struct sse *p = NULL;
    struct err err = { 0 };
    size_t at = 0, n = strlen(text);

    memset(s, 0, sizeof *s);
    assert_int_equal(sse_new(max, on_event, s, &p, &err), 0);
    for (; *cuts; cuts++) {
        assert_int_equal(sse_feed(p, text + at, *cuts - at, &err), 0);
        at = *cuts;
    }
    assert_int_equal(sse_feed(p, text + at, n - at, &err), 0);
    sse_free(p);
}

/* TEXT gives WANT however it is cut. */
static void check_stream(const char *text, const char *want)
{
    struct seen s;
    size_t n = strlen(text), none[1] = { 0 };

    feed_cut(text, none, 1024, &s);
    assert_string_equal(s.log, want);
    for (size_t i = 1; i < n; i++) {
        size_t two[2] = { i, 0 };

        feed_cut(text, two, 1024, &s);
        assert_string_equal(s.log, want);
    }
    {
        size_t *each = calloc(n + 1, sizeof *each);

        assert_non_null(each);
        for (size_t i = 1; i < n; i++)
            each[i - 1] = i;
        feed_cut(text, each, 1024, &s);
        free(each);
        assert_string_equal(s.log, want);
    }
}

static void test_sse_joins_data_lines_and_names_events(void **state)
{
    (void)state;
    check_stream("event: stdout\nid: 14\ndata: one\ndata: two\n\n"
                 "data: unnamed\n\n",
                 "stdout|14|one\ntwo;message|14|unnamed;");
}

static void test_sse_reads_cr_lf_and_crlf_alike(void **state)
{
    (void)state;
    check_stream("event: a\r\ndata: x\r\n\r\nevent: b\rdata: y\r\revent: c\ndata: z\n\n",
                 "a||x;b||y;c||z;");
}

static void test_sse_keeps_a_trailing_empty_line_of_data(void **state)
{
    (void)state;
    /* "abc\n" sent as the lines "abc" and "" comes back with its newline */
    check_stream("data: abc\ndata: \n\ndata:\n\n", "message||abc\n;message||;");
}

static void test_sse_skips_comments_retry_and_unknown_fields(void **state)
{
    (void)state;
    check_stream(": ping\n\nretry: 100\nfoo: bar\nevent: x\ndata:no space\n\n",
                 "x||no space;");
}

static void test_sse_needs_data_to_dispatch(void **state)
{
    (void)state;
    /* an event with no data line is dropped, and its name with it */
    check_stream("event: lonely\nid: 3\n\ndata: d\n\n", "message|3|d;");
}

static void test_sse_skips_a_bom_only_at_the_start(void **state)
{
    (void)state;
    check_stream("\xef\xbb\xbf" "data: a\n\n", "message||a;");
    check_stream("data: \xef\xbb\xbf" "b\n\n", "message||\xef\xbb\xbf" "b;");
    check_stream("\xef\xbb" "data: c\n\n", "");
}

static void test_sse_holds_back_an_unfinished_event(void **state)
{
    (void)state;
    check_stream("data: done\n\ndata: not yet\n", "message||done;");
}

static void test_sse_refuses_an_event_past_its_ceiling(void **state)
{
    struct seen s = { 0 };
    struct sse *p = NULL;
    struct err err = { 0 };
    char line[40];

    (void)state;
    assert_int_equal(sse_new(16, on_event, &s, &p, &err), 0);
    /* three data lines of 5 bytes and their newlines: 18 > 16 */
    snprintf(line, sizeof line, "data: 12345\n");
    assert_int_equal(sse_feed(p, line, strlen(line), &err), 0);
    assert_int_equal(sse_feed(p, line, strlen(line), &err), 0);
    assert_int_equal(sse_feed(p, line, strlen(line), &err), -CHIME_ETOOBIG);
    assert_non_null(strstr(err.msg, "larger than 16 bytes"));
    sse_free(p);

    memset(&s, 0, sizeof s);
    assert_int_equal(sse_new(16, on_event, &s, &p, &err), 0);
    assert_int_equal(sse_feed(p, "data: 0123456789abcdef", 22, &err), -CHIME_ETOOBIG);
    assert_non_null(strstr(err.msg, "longer than 16 bytes"));
    sse_free(p);
}

static void test_sse_stops_when_the_callback_says_so(void **state)
{
    struct seen s = { .stop_after = 1 };
    struct sse *p = NULL;
    struct err err = { 0 };
    const char *text = "data: 1\n\ndata: 2\n\n";

    (void)state;
    assert_int_equal(sse_new(64, on_event, &s, &p, &err), 0);
    assert_int_equal(sse_feed(p, text, strlen(text), &err), 7);
    assert_string_equal(s.log, "message||1;");
    sse_free(p);
}

static void test_sse_last_id_outlives_its_event(void **state)
{
    struct seen s = { 0 };
    struct sse *p = NULL;
    struct err err = { 0 };
    const char *text = "id: 42\ndata: a\n\ndata: b\n\nid\ndata: c\n\n";

    (void)state;
    assert_int_equal(sse_new(64, on_event, &s, &p, &err), 0);
    assert_string_equal(sse_last_id(p), "");
    assert_int_equal(sse_feed(p, text, strlen(text), &err), 0);
    /* "id" with no value resets it */
    assert_string_equal(s.log, "message|42|a;message|42|b;message||c;");
    assert_string_equal(sse_last_id(p), "");
    sse_free(p);
    sse_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_joins_data_lines_and_names_events),
        cmocka_unit_test(test_sse_reads_cr_lf_and_crlf_alike),
        cmocka_unit_test(test_sse_keeps_a_trailing_empty_line_of_data),
        cmocka_unit_test(test_sse_skips_comments_retry_and_unknown_fields),
        cmocka_unit_test(test_sse_needs_data_to_dispatch),
        cmocka_unit_test(test_sse_skips_a_bom_only_at_the_start),
        cmocka_unit_test(test_sse_holds_back_an_unfinished_event),
        cmocka_unit_test(test_sse_refuses_an_event_past_its_ceiling),
        cmocka_unit_test(test_sse_stops_when_the_callback_says_so),
        cmocka_unit_test(test_sse_last_id_outlives_its_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
