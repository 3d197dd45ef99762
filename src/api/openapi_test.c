/* openapi_test.c: the served OpenAPI document against the job reader.
 * Every member the document's Job schema lists is one job_from_json()
 * accepts (with a value the schema allows), and every member the reader
 * accepts and job_to_json() writes is one the schema lists, at every
 * level, so the two cannot drift apart. */
#include "api/api_int.h"

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
#include "../banned.h"

static json_t *doc_load(void)
{
    struct err err = {0};
    char *text = NULL;
    size_t len = 0;
    json_t *doc;

    assert_int_equal(api_openapi_build(&text, &len, &err), 0);
    doc = json_loadb(text, len, 0, NULL);
    free(text);
    assert_non_null(doc);
    return doc;
}

/* S with its "$ref" followed into DOC's components. */
static json_t *deref(json_t *doc, json_t *s)
{
    const char *ref = json_string_value(json_object_get(s, "$ref"));

    if (!ref)
        return s;
    ref += strlen("#/components/schemas/");
    return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), ref);
}

/* A value schema S allows. */
static json_t *sample(json_t *doc, json_t *s)
{
    json_t *e, *one;
    const char *type;

    s = deref(doc, s);
    if ((one = json_object_get(s, "oneOf")))
        return sample(doc, json_array_get(one, 0));
    if ((e = json_object_get(s, "example")))
        return json_deep_copy(e);
    if ((e = json_object_get(s, "enum")))
        return json_deep_copy(json_array_get(e, 0));
    type = json_string_value(json_object_get(s, "type"));
    assert_non_null(type);
    if (!strcmp(type, "string"))
        return json_string(json_object_get(s, "format") ? "2030-01-01T00:00:00Z" : "x");
    if (!strcmp(type, "integer") || !strcmp(type, "number"))
        return json_integer(json_integer_value(json_object_get(s, "minimum")) + 1);
    if (!strcmp(type, "boolean"))
        return json_true();
    if (!strcmp(type, "array")) {
        json_t *a = json_array();

        json_array_append_new(a, sample(doc, json_object_get(s, "items")));
        return a;
    }
    return json_object(); /* an object: its members are optional or tested one by one */
}

static bool accepted(json_t *job)
{
    struct job *j = NULL;
    struct err err = {0};
    int rc = job_from_json(job, NULL, &j, &err);

    job_free(j);
    return rc == 0;
}

/* Each member of the object schema S (at PARENT, a member of BASE) is
 * accepted alone with a sample value. */
static void check_members(json_t *doc, json_t *base, json_t *parent, json_t *s, const char *path)
{
    json_t *props = json_object_get(deref(doc, s), "properties"), *v;
    const char *key;

    assert_non_null(props);
    json_object_foreach(props, key, v) {
        json_t *value = sample(doc, v);

        json_object_set_new(parent, key, value);
        if (!accepted(base))
            fail_msg("%s.%s: the schema lists it, the reader refuses %s", path, key,
                     json_dumps(base, JSON_COMPACT));
        json_object_del(parent, key);
    }
}

static void test_openapi_job_members_are_accepted(void **state)
{
    json_t *doc = doc_load(), *job = json_object(), *sched = json_object();
    json_t *ref = json_pack("{s:s}", "$ref", "#/components/schemas/Job");
    json_t *schema = deref(doc, ref), *props;
    const char *key;
    json_t *v;

    (void)state;
    json_object_set_new(job, "name", json_string("t"));
    json_object_set_new(job, "shell", json_string("true"));
    json_object_set_new(job, "schedule", sched);
    json_object_set_new(sched, "manual", json_true());
    /* the document's own members, but command and shell (exactly one) */
    props = json_object_get(schema, "properties");
    json_object_foreach(props, key, v) {
        json_t *keep = json_object_get(job, key);

        if (!strcmp(key, "schedule") || !strcmp(key, "command") || !strcmp(key, "shell"))
            continue;
        json_incref(keep);
        json_object_set_new(job, key, sample(doc, v));
        if (!accepted(job))
            fail_msg("%s: the schema lists it, the reader refuses it", key);
        if (keep)
            json_object_set_new(job, key, keep);
        else
            json_object_del(job, key);
        /* a nested object: each of its members too */
        if (json_object_get(v, "$ref") && strcmp(key, "schedule")) {
            json_t *obj = json_object();

            json_object_set_new(job, key, obj);
            check_members(doc, job, obj, v, key);
            json_object_del(job, key);
        }
    }
    /* the schedule: each kind alone, each other member with the kind it goes with */
    json_object_clear(sched);
    props = json_object_get(deref(doc, json_object_get(props, "schedule")), "properties");
    json_object_foreach(props, key, v) {
        const char *kind;
        json_t *k;
        bool ok = false;

        json_object_set_new(sched, key, sample(doc, v));
        ok = accepted(job);
        json_object_foreach(props, kind, k) {
            if (ok || !strcmp(kind, key))
                continue;
            json_object_set_new(sched, kind, sample(doc, k));
            ok = accepted(job);
            /* a jitter less than the period: the other form, its least */
            if (!ok && json_object_get(v, "oneOf")) {
                json_object_set_new(sched, key,
                                    sample(doc, json_array_get(json_object_get(v, "oneOf"), 1)));
                ok = accepted(job);
                json_object_set_new(sched, key, sample(doc, v));
            }
            json_object_del(sched, kind);
        }
        if (!ok)
            fail_msg("schedule.%s: the schema lists it, the reader refuses it", key);
        json_object_clear(sched);
    }
    json_decref(ref);
    json_decref(job);
    json_decref(doc);
}

/* Every key of VALUE (as job_to_json() wrote it) is in schema S. */
static void check_written(json_t *doc, json_t *s, json_t *value, const char *path)
{
    json_t *props, *v, *all = NULL;
    const char *key;

    s = deref(doc, s);
    if (json_object_get(s, "allOf"))
        s = deref(doc, json_array_get(json_object_get(s, "allOf"), 0));
    if (!json_is_object(value))
        return;
    props = json_object_get(s, "properties");
    if (!props) {
        all = json_object_get(s, "additionalProperties");
        json_object_foreach(value, key, v)
            if (json_is_object(all))
                check_written(doc, all, v, path);
        return;
    }
    json_object_foreach(value, key, v) {
        json_t *p = json_object_get(props, key);

        if (!p)
            fail_msg("%s.%s: the reader accepts and writes it, the schema does not list it",
                     path, key);
        check_written(doc, p, v, key);
    }
}

static void test_openapi_lists_every_member_written(void **state)
{
    static const char *const kinds[] = {
        "{\"cron\": \"0 2 * * *\", \"timezone\": \"UTC\"}",
        "{\"every\": \"1m\", \"start\": \"2030-01-01T00:00:00Z\", \"jitter\": \"1s\"}",
        "{\"at\": \"2030-01-01T00:00:00Z\"}",
        "{\"after\": [\"up\"], \"when\": \"always\"}",
        "{\"manual\": true}",
    };
    json_t *doc = doc_load(), *job_schema = json_pack("{s:s}", "$ref", "#/components/schemas/Job");

    (void)state;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char text[1024];
        struct job *j = NULL;
        struct err err = {0};
        json_t *written;

        snprintf(text, sizeof text,
                 "{\"name\": \"t\", \"schedule\": %s, \"command\": [\"/bin/true\"], "
                 "\"env\": {\"A\": \"1\"}, \"labels\": {\"k\": \"v\"}, "
                 "\"params\": {\"P\": {\"pattern\": \"[0-9]+\", \"default\": \"1\"}}, "
                 "\"notify\": {\"on_failure\": [\"ops\"]}}",
                 kinds[i]);
        if (job_parse(text, strlen(text), NULL, &j, &err) < 0)
            fail_msg("%s: %s", err.field, err.msg);
        written = job_to_json(j);
        check_written(doc, job_schema, written, "");
        json_decref(written);
        job_free(j);
    }
    json_decref(job_schema);
    json_decref(doc);
}

/* The nested objects refuse what the reader refuses: "notify" takes its
 * events only, no longer any key. */
static void test_openapi_notify_takes_its_events_only(void **state)
{
    json_t *doc = doc_load();
    json_t *ref = json_pack("{s:s}", "$ref", "#/components/schemas/JobNotify");
    json_t *n = deref(doc, ref);
    json_t *job = json_pack("{s:s, s:{s:b}, s:s, s:{s:[]}}", "name", "t", "schedule", "manual", 1,
                            "shell", "true", "notify", "on_bogus");

    (void)state;
    assert_non_null(n);
    assert_true(json_is_false(json_object_get(n, "additionalProperties")));
    assert_non_null(json_object_get(json_object_get(n, "properties"), "on_failure"));
    assert_false(accepted(job));
    json_decref(ref);
    json_decref(job);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_job_members_are_accepted),
        cmocka_unit_test(test_openapi_lists_every_member_written),
        cmocka_unit_test(test_openapi_notify_takes_its_events_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
