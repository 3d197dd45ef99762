/* exportdoc_test.c: tests of the export file's validation (exportdoc.c):
 * every error of a bad file is found and named by its place, nothing of a
 * bad file is kept, and what exportdoc_build() writes reads back. */
#include "api/exportdoc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/err.h"
#include "../banned.h"

#define JOB(name, extra)                                                                           \
    "{\"name\": \"" name "\", \"schedule\": {\"every\": \"1m\"}, \"command\": [\"/bin/true\"]" extra \
    "}"

static struct exportdoc *parse_ok(const char *text, const char *only_ns)
{
    struct exportdoc *d = NULL;
    json_t *errors = NULL;
    struct err err = {0};
    int rc = exportdoc_parse(text, strlen(text), only_ns, &d, &errors, &err);

    if (rc < 0) {
        char *e = json_dumps(errors, JSON_INDENT(1));

        fail_msg("refused: %s: %s\n%s", err.field, err.msg, e);
    }
    assert_null(errors);
    return d;
}

/* Parses a bad TEXT: its errors, owned; the first in *ERR. */
static json_t *parse_bad(const char *text, size_t len, int code, struct err *err)
{
    struct exportdoc *d = NULL;
    json_t *errors = NULL;

    assert_int_equal(exportdoc_parse(text, len, NULL, &d, &errors, err), -code);
    assert_null(d);
    assert_non_null(errors);
    assert_true(json_array_size(errors) > 0);
    return errors;
}

static const char *error_field(const json_t *errors, size_t i)
{
    return json_string_value(json_object_get(json_array_get(errors, i), "field"));
}

static const char *error_detail(const json_t *errors, size_t i)
{
    return json_string_value(json_object_get(json_array_get(errors, i), "detail"));
}

static void test_exportdoc_reads_a_valid_file(void **state)
{
    struct exportdoc *d = parse_ok(
        "{\"chime_export\": 1, \"exported_at\": \"2026-11-24T01:00:00.000000Z\", \"jobs\": [" JOB(
            "a", "") ", " JOB("b", ", \"namespace\": \"team\", \"paused\": true") "]}",
        NULL);
    json_t *doc;

    (void)state;
    assert_int_equal(d->n_jobs, 2);
    assert_string_equal(d->jobs[0].id, "default/a");
    assert_string_equal(d->jobs[1].id, "team/b");
    assert_int_equal(d->jobs[1].index, 1);
    assert_true(d->jobs[1].job->paused);
    /* a document without "paused" leaves the job's state to the import */
    assert_false(d->jobs[0].paused_given);
    assert_true(d->jobs[1].paused_given);
    /* the canonical document: every member, with its effective value */
    doc = job_to_json(d->jobs[0].job);
    assert_true(json_is_object(json_object_get(doc, "retry")));
    assert_string_equal(json_string_value(json_object_get(doc, "namespace")), "default");
    json_decref(doc);
    exportdoc_free(d);
}

static void test_exportdoc_keeps_one_namespace_when_asked(void **state)
{
    struct exportdoc *d = parse_ok(
        "{\"chime_export\": 1, \"jobs\": [" JOB("a", "") ", " JOB(
            "b", ", \"namespace\": \"team\"") ", " JOB("c", ", \"namespace\": \"team\"") "]}",
        "team");

    (void)state;
    assert_int_equal(d->n_jobs, 2);
    assert_int_equal(d->n_other, 1);
    assert_string_equal(d->jobs[0].id, "team/b");
    exportdoc_free(d);
}

static void test_exportdoc_drops_the_members_of_a_job_view(void **state)
{
    struct exportdoc *d = parse_ok(
        "{\"chime_export\": 1, \"jobs\": [" JOB(
            "a", ", \"version\": 7, \"next_fire\": null, \"state\": {}, \"last_run\": null") "]}",
        NULL);
    json_t *doc = job_to_json(d->jobs[0].job);

    (void)state;
    assert_int_equal(d->n_jobs, 1);
    assert_null(json_object_get(doc, "version"));
    json_decref(doc);
    exportdoc_free(d);
}

static void test_exportdoc_counts_tokens_and_refuses_secrets(void **state)
{
    struct exportdoc *d = parse_ok("{\"chime_export\": 1, \"jobs\": [], \"tokens\": [{\"name\": "
                                   "\"ci\", \"role\": \"operator\"}]}",
                                   NULL);
    const char *bad = "{\"chime_export\": 1, \"jobs\": [], \"tokens\": [{\"name\": \"ci\", "
                      "\"secret\": \"chime_abc\"}]}";
    struct err err = {0};
    json_t *errors;

    (void)state;
    assert_int_equal(d->n_tokens, 1);
    exportdoc_free(d);
    errors = parse_bad(bad, strlen(bad), CHIME_EINVAL, &err);
    assert_string_equal(err.field, "tokens[0]");
    json_decref(errors);
}

static void test_exportdoc_tells_every_bad_job_by_its_place(void **state)
{
    const char *text =
        "{\"chime_export\": 1, \"jobs\": [" JOB("ok", "") ", " JOB(
            "bad-cron", "") ", 42, {\"name\": \"x\", \"schedule\": {\"cron\": \"61 * * * *\"}, "
                            "\"command\": [\"/bin/true\"]}, " JOB("ok2", ", \"bogus\": 1") "]}";
    struct err err = {0};
    json_t *errors = parse_bad(text, strlen(text), CHIME_EINVAL, &err);

    (void)state;
    assert_int_equal(json_array_size(errors), 3);
    assert_string_equal(error_field(errors, 0), "jobs[2]");
    assert_string_equal(error_field(errors, 1), "jobs[3].schedule.cron");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(errors, 1), "job")), "default/x");
    assert_string_equal(error_field(errors, 2), "jobs[4].bogus");
    assert_string_equal(err.field, "jobs[2]"); /* the first, in ERR too */
    json_decref(errors);
}

static void test_exportdoc_refuses_two_jobs_of_one_name(void **state)
{
    const char *text = "{\"chime_export\": 1, \"jobs\": [" JOB("a", "") ", " JOB(
        "b", "") ", " JOB("a", ", \"namespace\": \"default\"") "]}";
    struct err err = {0};
    json_t *errors = parse_bad(text, strlen(text), CHIME_EINVAL, &err);

    (void)state;
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(error_field(errors, 0), "jobs[2].name");
    assert_string_equal(error_detail(errors, 0), "'default/a' is also jobs[0]");
    json_decref(errors);
}

static void test_exportdoc_refuses_what_is_not_an_export(void **state)
{
    static const struct {
        const char *text;
        const char *field;
        const char *detail; /* a part of it */
        int code;
    } cases[] = {
        {"", "", "not JSON", CHIME_EINVAL},
        {"[1, 2]", "", "not a JSON object", CHIME_EINVAL},
        {"{\"jobs\": []}", "chime_export", "no \"chime_export\"", CHIME_EINVAL},
        {"{\"chime_export\": 2, \"jobs\": []}", "chime_export", "format 2", CHIME_ERANGE},
        {"{\"chime_export\": \"1\", \"jobs\": []}", "chime_export", "whole number", CHIME_EINVAL},
        {"{\"chime_export\": 1}", "jobs", "missing", CHIME_EINVAL},
        {"{\"chime_export\": 1, \"jobs\": {}}", "jobs", "array", CHIME_EINVAL},
        {"{\"chime_export\": 1, \"jobs\": [], \"extra\": 1}", "extra", "unknown member",
         CHIME_EINVAL},
        {"{\"chime_export\": 1, \"jobs\": [], \"exported_at\": \"yesterday\"}", "exported_at",
         "ISO 8601", CHIME_EINVAL},
        {"{\"chime_export\": 1, \"chime_export\": 1, \"jobs\": []}", "", "duplicate",
         CHIME_EINVAL},
        {"{\"chime_export\": 1, \"jobs\": [], \"tokens\": 3}", "tokens", "array", CHIME_EINVAL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct err err = {0};
        json_t *errors = parse_bad(cases[i].text, strlen(cases[i].text), cases[i].code, &err);

        if (strcmp(err.field, cases[i].field) != 0 || !strstr(err.msg, cases[i].detail))
            fail_msg("%s: got %s: %s", cases[i].text, err.field, err.msg);
        json_decref(errors);
    }
}

static void test_exportdoc_refuses_binary_junk(void **state)
{
    unsigned char junk[4096];
    struct err err = {0};
    json_t *errors;
    uint32_t x = 2463534242u;

    (void)state;
    for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        junk[i] = (unsigned char)x;
    }
    junk[0] = 0x7f; /* never valid JSON at the start */
    errors = parse_bad((const char *)junk, sizeof junk, CHIME_EINVAL, &err);
    assert_non_null(strstr(err.msg, "not JSON"));
    json_decref(errors);
}

static void test_exportdoc_refuses_a_file_past_the_limit(void **state)
{
    struct err err = {0};
    json_t *errors;

    (void)state;
    /* the length alone decides: the bytes are not read */
    errors = parse_bad("{}", EXPORTDOC_BYTES_MAX + 1, CHIME_ETOOBIG, &err);
    assert_non_null(strstr(err.msg, "larger than 64 MiB"));
    json_decref(errors);
}

static void test_exportdoc_refuses_a_job_document_past_64k(void **state)
{
    size_t n = 70 * 1024;
    char *text = malloc(n + 256), *p;
    struct err err = {0};
    json_t *errors;

    (void)state;
    assert_non_null(text);
    p = text + snprintf(text, 256,
                        "{\"chime_export\": 1, \"jobs\": [{\"name\": \"big\", \"schedule\": "
                        "{\"every\": \"1m\"}, \"command\": [\"/bin/true\"], \"description\": \"");
    memset(p, 'x', n);
    p += n;
    snprintf(p, 8, "\"}]}");
    errors = parse_bad(text, strlen(text), CHIME_ETOOBIG, &err);
    assert_string_equal(err.field, "jobs[0]");
    json_decref(errors);
    free(text);
}

static void test_exportdoc_tells_at_most_a_hundred_errors(void **state)
{
    size_t cap = 200 * 8 + 64, n;
    char *text = malloc(cap);
    struct err err = {0};
    json_t *errors;

    (void)state;
    assert_non_null(text);
    n = (size_t)snprintf(text, cap, "{\"chime_export\": 1, \"jobs\": [");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s1", i ? ", " : "");
    snprintf(text + n, cap - n, "]}");
    errors = parse_bad(text, strlen(text), CHIME_EINVAL, &err);
    assert_int_equal(json_array_size(errors), EXPORTDOC_ERRORS_MAX + 1);
    assert_string_equal(error_detail(errors, EXPORTDOC_ERRORS_MAX), "and 100 more errors");
    json_decref(errors);
    free(text);
}

static void test_exportdoc_build_reads_back(void **state)
{
    struct exportdoc *d = NULL;
    struct err err = {0};
    json_t *jobs = json_array(), *doc;
    char *text;

    (void)state;
    json_array_append_new(jobs, json_loads(JOB("a", ", \"namespace\": \"t\""), 0, NULL));
    doc = exportdoc_build(jobs,
                          json_pack("[{s:s, s:s, s:n, s:n}]", "name", "ci", "role", "viewer",
                                    "namespaces", "expires_at"),
                          INT64_C(1767225600000000));
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "exported_at")),
                        "2026-01-01T00:00:00.000000Z");
    text = json_dumps(doc, JSON_INDENT(2));
    assert_int_equal(exportdoc_parse(text, strlen(text), NULL, &d, NULL, &err), 0);
    assert_int_equal(d->n_jobs, 1);
    assert_int_equal(d->n_tokens, 1);
    assert_string_equal(d->jobs[0].id, "t/a");
    exportdoc_free(d);
    free(text);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exportdoc_reads_a_valid_file),
        cmocka_unit_test(test_exportdoc_keeps_one_namespace_when_asked),
        cmocka_unit_test(test_exportdoc_drops_the_members_of_a_job_view),
        cmocka_unit_test(test_exportdoc_counts_tokens_and_refuses_secrets),
        cmocka_unit_test(test_exportdoc_tells_every_bad_job_by_its_place),
        cmocka_unit_test(test_exportdoc_refuses_two_jobs_of_one_name),
        cmocka_unit_test(test_exportdoc_refuses_what_is_not_an_export),
        cmocka_unit_test(test_exportdoc_refuses_binary_junk),
        cmocka_unit_test(test_exportdoc_refuses_a_file_past_the_limit),
        cmocka_unit_test(test_exportdoc_refuses_a_job_document_past_64k),
        cmocka_unit_test(test_exportdoc_tells_at_most_a_hundred_errors),
        cmocka_unit_test(test_exportdoc_build_reads_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
