/* jobsecret_test.c: tests of secret env values in job documents
 * (jobsecret.c, and their reading in job.c). */
#include "job/jobsecret.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "job/job.h"
#include "util/err.h"
#include "util/secret.h"
#include "../banned.h"

#define SECRET "s3cr3t-value"

static struct secret_key *test_key(unsigned char fill)
{
    unsigned char bytes[SECRET_KEY_BYTES];
    struct secret_key *k = NULL;

    memset(bytes, fill, sizeof bytes);
    assert_int_equal(secret_key_from_bytes(bytes, sizeof bytes, &k, NULL), 0);
    return k;
}

/* A document whose env is ENV (JSON text). */
static json_t *doc_with_env(const char *env)
{
    char text[4096];
    json_t *d;

    snprintf(text, sizeof text,
             "{\"name\": \"j\", \"schedule\": {\"manual\": true}, \"shell\": \"true\", \"env\": %s}",
             env);
    d = json_loads(text, 0, NULL);
    assert_non_null(d);
    return d;
}

static int parse_env(const char *env, struct job **ret, struct err *err)
{
    json_t *d = doc_with_env(env);
    int rc = job_from_json(d, NULL, ret, err);

    json_decref(d);
    return rc;
}

static void test_jobsecret_reads_and_writes_every_form(void **state)
{
    const char *env = "{\"A\": \"plain\", \"B\": {\"secret\": \"" SECRET "\"},"
                      " \"C\": {\"secret\": {\"redacted\": \"0123456789abcdef\"}}}";
    struct job *j = NULL;
    struct err err = {0};
    json_t *out;
    char *text;

    (void)state;
    assert_int_equal(parse_env(env, &j, &err), 0);
    assert_int_equal(j->body->n_env, 3);
    assert_int_equal(j->body->env[0].kind, JOB_ENV_PLAIN);
    assert_int_equal(j->body->env[1].kind, JOB_ENV_SECRET);
    assert_string_equal(j->body->env[1].value, SECRET);
    assert_int_equal(j->body->env[2].kind, JOB_ENV_REDACTED);
    out = job_to_json(j);
    text = json_dumps(json_object_get(out, "env"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"A\":\"plain\",\"B\":{\"secret\":\"" SECRET "\"},"
                              "\"C\":{\"secret\":{\"redacted\":\"0123456789abcdef\"}}}");
    free(text);
    json_decref(out);
    job_free(j);
}

static void test_jobsecret_malformed_secrets_name_the_field(void **state)
{
    static const struct {
        const char *env, *field, *words;
    } cases[] = {
        {"{\"K\": {\"secret\": \"\"}}", "env.K.secret", "empty"},
        {"{\"K\": {\"secret\": 5}}", "env.K.secret", "want a string"},
        {"{\"K\": {\"secret\": [\"" SECRET "\"]}}", "env.K.secret", "want a string"},
        {"{\"K\": {\"secrt\": \"x\"}}", "env.K", "did you mean 'secret'"},
        {"{\"K\": {}}", "env.K", "missing field 'secret'"},
        {"{\"K\": {\"secret\": \"x\", \"more\": 1}}", "env.K", "unknown field 'more'"},
        {"{\"K\": {\"secret\": {\"v\": 2, \"box\": \"AAAA\"}}}", "env.K.secret.v", "format"},
        {"{\"K\": {\"secret\": {\"v\": \"1\", \"box\": \"AAAA\"}}}", "env.K.secret.v", "integer"},
        {"{\"K\": {\"secret\": {\"box\": \"AAAA\"}}}", "env.K.secret", "missing field 'v'"},
        {"{\"K\": {\"secret\": {\"v\": 1}}}", "env.K.secret", "missing field 'box'"},
        {"{\"K\": {\"secret\": {\"v\": 1, \"box\": \"AAAA\"}}}", "env.K.secret.box", "not a sealed"},
        {"{\"K\": {\"secret\": {\"v\": 1, \"box\": \"#!\"}}}", "env.K.secret.box", "not a sealed"},
        {"{\"K\": {\"secret\": {\"redacted\": \"t\", \"box\": \"x\"}}}", "env.K.secret", "alone"},
        {"{\"K\": {\"secret\": {\"redacted\": \"\"}}}", "env.K.secret.redacted", "empty"},
        {"{\"K\": {\"secret\": {\"bo\": 1}}}", "env.K.secret", "unknown field 'bo'"},
        {"{\"CHIME_RUN_ID\": {\"secret\": \"x\"}}", "env.CHIME_RUN_ID", "reserved"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct job *j = NULL;
        struct err err = {0};

        assert_true(parse_env(cases[i].env, &j, &err) < 0);
        if (strcmp(err.field, cases[i].field) != 0 || !strstr(err.msg, cases[i].words)) {
            print_error("%s: got %s: %s\n", cases[i].env, err.field, err.msg);
            fail();
        }
        assert_null(strstr(err.msg, SECRET));
    }
}

static void test_jobsecret_a_bad_value_is_never_quoted(void **state)
{
    json_t *d = doc_with_env("{\"K\": {\"secret\": \"x\"}}");
    struct job *j = NULL;
    struct err err = {0};
    const char bad[] = SECRET "\xff";
    const char text[] = "{\"name\": \"j\", \"env\": {\"K\": {\"secret\": \"" SECRET "\x01\"}}}";

    (void)state;
    json_object_set_new(json_object_get(json_object_get(d, "env"), "K"), "secret",
                        json_stringn_nocheck(bad, sizeof bad - 1));
    assert_true(job_from_json(d, NULL, &j, &err) < 0);
    assert_string_equal(err.field, "env.K.secret");
    assert_null(strstr(err.msg, SECRET));
    json_decref(d);
    /* not JSON: jansson's quote of the text near the fault is left out */
    assert_true(job_parse(text, sizeof text - 1, NULL, &j, &err) < 0);
    assert_null(strstr(err.msg, SECRET));
}

static void test_jobsecret_seal_stores_no_plaintext_and_redact_shows_a_tag(void **state)
{
    struct secret_key *k = test_key(7);
    json_t *d = doc_with_env("{\"A\": \"plain\", \"B\": {\"secret\": \"" SECRET "\"}}");
    struct err err = {0};
    struct job *j = NULL;
    const char *tag;
    char *text;

    (void)state;
    assert_int_equal(job_doc_seal(d, NULL, k, &err), 0);
    text = json_dumps(d, JSON_COMPACT);
    assert_null(strstr(text, SECRET));
    assert_non_null(strstr(text, "\"box\":\""));
    /* a sealed document reads back, and its secret opens for a run */
    assert_int_equal(job_parse(text, strlen(text), NULL, &j, &err), 0);
    assert_int_equal(j->body->env[1].kind, JOB_ENV_SEALED);
    {
        struct job_kv *env = NULL;
        char **secrets = NULL;

        assert_int_equal(job_env_open(j->body, k, &env, &secrets, &err), 0);
        assert_string_equal(env[0].value, "plain");
        assert_string_equal(env[1].value, SECRET);
        assert_string_equal(secrets[0], SECRET);
        assert_null(secrets[1]);
        job_env_release(env, j->body->n_env, secrets);
        /* without the key, or under another, it does not */
        assert_int_equal(job_env_open(j->body, NULL, &env, &secrets, &err), -CHIME_EINVAL);
        assert_string_equal(err.field, "env.B");
    }
    job_free(j);
    free(text);
    assert_int_equal(job_doc_redact(d), 0);
    text = json_dumps(d, JSON_COMPACT);
    assert_null(strstr(text, SECRET));
    assert_null(strstr(text, "box"));
    tag = json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(d, "env"), "B"), "secret"), "redacted"));
    assert_non_null(tag);
    assert_int_equal(strlen(tag), 16);
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "env"), "A")),
                        "plain");
    free(text);
    json_decref(d);
    secret_key_free(k);
}

static void test_jobsecret_redact_hides_every_form(void **state)
{
    json_t *d = doc_with_env("{\"B\": {\"secret\": \"" SECRET "\"},"
                             " \"C\": {\"secret\": {\"v\": 1, \"box\": \"" SECRET "\", \"x\": 1}},"
                             " \"D\": {\"other\": \"" SECRET "\"}}");
    char *text;

    (void)state;
    assert_int_equal(job_doc_redact(d), 0);
    text = json_dumps(d, JSON_COMPACT);
    assert_null(strstr(text, SECRET));
    assert_non_null(strstr(text, "\"B\":{\"secret\":{\"redacted\":\"" JOB_SECRET_UNSEALED "\"}}"));
    free(text);
    json_decref(d);
    /* documents without env, or not objects, are left alone */
    d = json_loads("{\"name\": \"x\"}", 0, NULL);
    assert_int_equal(job_doc_redact(d), 0);
    assert_int_equal(job_doc_redact(NULL), 0);
    json_decref(d);
}

/* The box of env member NAME of D. */
static const char *box_of(const json_t *d, const char *name)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(d, "env"), name), "secret"), "box"));
}

static void test_jobsecret_seal_keeps_a_box_for_the_same_value_or_its_tag(void **state)
{
    struct secret_key *k = test_key(9), *other = test_key(10);
    json_t *cur = doc_with_env("{\"B\": {\"secret\": \"" SECRET "\"}}");
    json_t *same = doc_with_env("{\"B\": {\"secret\": \"" SECRET "\"}}");
    json_t *changed = doc_with_env("{\"B\": {\"secret\": \"new value\"}}");
    json_t *view, *bad;
    struct err err = {0};

    (void)state;
    assert_int_equal(job_doc_seal(cur, NULL, k, &err), 0);
    assert_int_equal(job_doc_seal(same, cur, k, &err), 0);
    assert_string_equal(box_of(same, "B"), box_of(cur, "B"));
    assert_int_equal(job_doc_seal(changed, cur, k, &err), 0);
    assert_string_not_equal(box_of(changed, "B"), box_of(cur, "B"));
    /* a view written back: its tag takes the current box */
    view = json_deep_copy(cur);
    assert_int_equal(job_doc_redact(view), 0);
    assert_int_equal(job_doc_seal(view, cur, k, &err), 0);
    assert_string_equal(box_of(view, "B"), box_of(cur, "B"));
    /* a tag of another version, or no secret to keep */
    bad = json_deep_copy(changed);
    assert_int_equal(job_doc_redact(bad), 0);
    assert_int_equal(job_doc_seal(bad, cur, k, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "env.B.secret.redacted");
    json_decref(bad);
    bad = json_deep_copy(view);
    assert_int_equal(job_doc_redact(bad), 0);
    assert_int_equal(job_doc_seal(bad, NULL, k, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "no stored secret"));
    json_decref(bad);
    /* a sealed value must open: not under another key, and not without one */
    bad = json_deep_copy(cur);
    assert_int_equal(job_doc_seal(bad, NULL, other, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "env.B.secret.box");
    assert_int_equal(job_doc_seal(bad, NULL, NULL, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "env.B");
    json_decref(bad);
    json_decref(view);
    json_decref(cur);
    json_decref(same);
    json_decref(changed);
    secret_key_free(k);
    secret_key_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobsecret_reads_and_writes_every_form),
        cmocka_unit_test(test_jobsecret_malformed_secrets_name_the_field),
        cmocka_unit_test(test_jobsecret_a_bad_value_is_never_quoted),
        cmocka_unit_test(test_jobsecret_seal_stores_no_plaintext_and_redact_shows_a_tag),
        cmocka_unit_test(test_jobsecret_redact_hides_every_form),
        cmocka_unit_test(test_jobsecret_seal_keeps_a_box_for_the_same_value_or_its_tag),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
