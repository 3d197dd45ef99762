/* jsondiff_test.c: tests of the field-by-field diff (jsondiff.c). */
#include "util/jsondiff.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/err.h"
#include "../banned.h"

/* The diff of two JSON texts, as its lines joined by '\n'. */
static char *diff_lines(const char *a, const char *b)
{
    json_t *ja = json_loads(a, JSON_DECODE_ANY, NULL), *jb = json_loads(b, JSON_DECODE_ANY, NULL);
    json_t *changes = NULL, *c;
    struct err err = {0};
    size_t i, len = 0;
    char *out = calloc(1, 1);

    assert_non_null(ja);
    assert_non_null(jb);
    assert_int_equal(jsondiff_compute(ja, jb, &changes, &err), 0);
    json_array_foreach(changes, i, c)
    {
        char *line = jsondiff_line(c);
        size_t n;

        assert_non_null(line);
        n = strlen(line);
        out = realloc(out, len + n + 2);
        assert_non_null(out);
        if (len)
            out[len++] = '\n';
        memcpy(out + len, line, n + 1);
        len += n;
        free(line);
    }
    json_decref(changes);
    json_decref(ja);
    json_decref(jb);
    return out;
}

static void expect_diff(const char *a, const char *b, const char *want)
{
    char *got = diff_lines(a, b);

    if (strcmp(got, want) != 0)
        fail_msg("diff of\n  %s\n  %s\ngave\n%s\nwanted\n%s", a, b, got, want);
    free(got);
}

static void test_jsondiff_equal_documents_have_no_changes(void **state)
{
    (void)state;
    expect_diff("{\"a\": 1, \"b\": {\"c\": [1, 2]}}", "{\"b\": {\"c\": [1, 2]}, \"a\": 1}", "");
    expect_diff("[]", "[]", "");
    expect_diff("null", "null", "");
}

static void test_jsondiff_names_a_changed_member_by_its_path(void **state)
{
    (void)state;
    expect_diff("{\"schedule\": {\"cron\": \"0 * * * *\", \"timezone\": null}}",
                "{\"schedule\": {\"cron\": \"*/5 * * * *\", \"timezone\": null}}",
                "~ schedule.cron: \"0 * * * *\" -> \"*/5 * * * *\"");
}

static void test_jsondiff_tells_added_and_removed_members(void **state)
{
    (void)state;
    expect_diff("{\"env\": {\"A\": \"1\", \"OLD\": \"x\"}}", "{\"env\": {\"A\": \"1\", \"NEW\": \"y\"}}",
                "+ env.NEW: \"y\"\n- env.OLD: \"x\"");
    /* a whole object appearing is one line, compact */
    expect_diff("{}", "{\"retry\": {\"max_attempts\": 3}}", "+ retry: {\"max_attempts\":3}");
}

static void test_jsondiff_compares_arrays_as_whole_values(void **state)
{
    (void)state;
    expect_diff("{\"command\": [\"/bin/echo\", \"a\", \"b\"]}",
                "{\"command\": [\"/bin/echo\", \"x\", \"a\", \"b\"]}",
                "~ command: [\"/bin/echo\",\"a\",\"b\"] -> [\"/bin/echo\",\"x\",\"a\",\"b\"]");
}

static void test_jsondiff_reports_a_type_change_as_changed(void **state)
{
    (void)state;
    expect_diff("{\"timeout\": \"1h\"}", "{\"timeout\": 3600}", "~ timeout: \"1h\" -> 3600");
    expect_diff("{\"limits\": {\"memory\": \"1M\"}}", "{\"limits\": null}",
                "~ limits: {\"memory\":\"1M\"} -> null");
    expect_diff("{\"a\": null}", "{}", "- a: null");
}

static void test_jsondiff_walks_keys_in_sorted_order(void **state)
{
    (void)state;
    expect_diff("{\"z\": 1, \"a\": 1, \"m\": {\"y\": 1, \"b\": 1}}",
                "{\"m\": {\"b\": 2, \"y\": 2}, \"a\": 2, \"z\": 2}",
                "~ a: 1 -> 2\n~ m.b: 1 -> 2\n~ m.y: 1 -> 2\n~ z: 1 -> 2");
}

static void test_jsondiff_quotes_keys_that_are_not_plain(void **state)
{
    (void)state;
    expect_diff("{\"labels\": {\"app.kubernetes.io/name\": \"a\"}}",
                "{\"labels\": {\"app.kubernetes.io/name\": \"b\"}}",
                "~ labels[\"app.kubernetes.io/name\"]: \"a\" -> \"b\"");
    expect_diff("{\"\": 1}", "{\"\": 2}", "~ [\"\"]: 1 -> 2");
    expect_diff("{\"9x\": 1}", "{\"9x\": 2}", "~ [\"9x\"]: 1 -> 2");
}

static void test_jsondiff_gives_rfc6901_pointers(void **state)
{
    json_t *a = json_pack("{s:{s:i}}", "la/b~c", "k", 1), *b = json_pack("{s:{s:i}}", "la/b~c", "k", 2);
    json_t *changes = NULL;
    struct err err = {0};

    (void)state;
    assert_int_equal(jsondiff_compute(a, b, &changes, &err), 0);
    assert_int_equal(json_array_size(changes), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 0), "pointer")),
                        "/la~1b~0c/k");
    assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 0), "op")),
                        "changed");
    json_decref(changes);
    json_decref(a);
    json_decref(b);
}

static void test_jsondiff_of_two_scalars_is_the_whole_document(void **state)
{
    (void)state;
    expect_diff("1", "\"x\"", "~ (the document): 1 -> \"x\"");
}

static void test_jsondiff_escapes_what_is_not_ascii(void **state)
{
    (void)state;
    /* a value with a control byte and a non-ASCII letter stays on one line */
    expect_diff("{\"description\": \"a\\nb\"}", "{\"description\": \"caf\\u00e9\\u001b[2J\"}",
                "~ description: \"a\\nb\" -> \"caf\\u00E9\\u001B[2J\"");
    expect_diff("{\"labels\": {\"\\u00e9\\n\": \"a\"}}", "{\"labels\": {}}",
                "- labels[\"\\u00E9\\n\"]: \"a\"");
}

static void test_jsondiff_line_refuses_what_is_not_a_change(void **state)
{
    json_t *c = json_pack("{s:s}", "op", "changed");
    json_t *bad = json_pack("{s:s, s:s, s:s}", "op", "changed", "path", "a\x1b[2J", "to", "x");
    char *line;

    (void)state;
    assert_null(jsondiff_line(c));
    json_object_set_new(c, "path", json_string("a"));
    assert_null(jsondiff_line(c)); /* changed without from and to */
    json_object_set_new(bad, "from", json_string("y"));
    json_object_set_new(bad, "to", json_string("x"));
    line = jsondiff_line(bad);
    assert_non_null(line);
    assert_string_equal(line, "~ a?[2J: \"y\" -> \"x\"");
    free(line);
    json_decref(c);
    json_decref(bad);
}

static void test_jsondiff_refuses_nothing_to_compare(void **state)
{
    json_t *a = json_object(), *changes = NULL;
    struct err err = {0};

    (void)state;
    assert_int_equal(jsondiff_compute(a, NULL, &changes, &err), -CHIME_EINVAL);
    assert_null(changes);
    json_decref(a);
}

static void test_jsondiff_handles_large_documents(void **state)
{
    json_t *a = json_object(), *b = json_object(), *changes = NULL;
    struct err err = {0};
    char key[32];

    (void)state;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        json_object_set_new(a, key, json_integer(i));
        json_object_set_new(b, key, json_integer(i % 7 ? i : -i));
    }
    assert_int_equal(jsondiff_compute(a, b, &changes, &err), 0);
    /* 0 is its own negation: multiples of 7 but 0 */
    assert_int_equal(json_array_size(changes), 5000 / 7);
    assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 0), "path")),
                        "k00007");
    json_decref(changes);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsondiff_equal_documents_have_no_changes),
        cmocka_unit_test(test_jsondiff_names_a_changed_member_by_its_path),
        cmocka_unit_test(test_jsondiff_tells_added_and_removed_members),
        cmocka_unit_test(test_jsondiff_compares_arrays_as_whole_values),
        cmocka_unit_test(test_jsondiff_reports_a_type_change_as_changed),
        cmocka_unit_test(test_jsondiff_walks_keys_in_sorted_order),
        cmocka_unit_test(test_jsondiff_quotes_keys_that_are_not_plain),
        cmocka_unit_test(test_jsondiff_gives_rfc6901_pointers),
        cmocka_unit_test(test_jsondiff_of_two_scalars_is_the_whole_document),
        cmocka_unit_test(test_jsondiff_escapes_what_is_not_ascii),
        cmocka_unit_test(test_jsondiff_line_refuses_what_is_not_a_change),
        cmocka_unit_test(test_jsondiff_refuses_nothing_to_compare),
        cmocka_unit_test(test_jsondiff_handles_large_documents),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
