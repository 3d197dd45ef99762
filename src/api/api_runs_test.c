/* api_runs_test.c: tests of the REST API's runs over real HTTP: listing
 * by filter across pages, trigger, cancel and requeue, the preview of next
 * fires and the warning of a save whose first fire is past the grace. The
 * fixture (testutil.h) is a server on 127.0.0.1:0 with a real store and a
 * fake engine, driven with libcurl. */
#include "api/api.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "api/api_int.h"
#include "api/testutil.h"
#include "store/store.h"
#include "../banned.h"

/* ---- runs ---- */

static void test_api_lists_runs_by_filter_across_pages(void **state)
{
    struct fx *fx = *state;
    enum store_run_state states[] = {STORE_RUN_SUCCEEDED, STORE_RUN_FAILED, STORE_RUN_SUCCEEDED,
                                     STORE_RUN_FAILED, STORE_RUN_RUNNING};
    int64_t a, b, ids[5], seen[8];
    size_t n_seen = 0, i, k;
    char path[512] = "/api/v1/runs?job=default/alpha&limit=2";
    struct reply r;
    json_t *run;

    create_job(fx, "alpha", "x");
    create_job(fx, "beta", "x");
    a = job_id_of(fx, "alpha");
    b = job_id_of(fx, "beta");
    for (i = 0; i < 5; i++)
        ids[i] = fixture_run(fx->store, a, T0 + (int64_t)i * HOUR, 1, states[i]);
    fixture_run(fx->store, b, T0, 1, STORE_RUN_FAILED);
    fixture_run(fx->store, b, T0 + HOUR, 1, STORE_RUN_FAILED);

    for (k = 0; k < 5; k++) {
        http(fx, "GET", path, NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(jint(r.json, "total"), 5);
        for (i = 0; i < json_array_size(json_object_get(r.json, "items")); i++) {
            run = json_array_get(json_object_get(r.json, "items"), i);
            assert_string_equal(jstr(run, "job"), "default/alpha");
            seen[n_seen++] = jint(run, "id");
        }
        if (json_is_null(json_object_get(r.json, "next_cursor"))) {
            reply_free(&r);
            break;
        }
        snprintf(path, sizeof path, "/api/v1/runs?job=default/alpha&limit=2&cursor=%s",
                 jstr(r.json, "next_cursor"));
        reply_free(&r);
    }
    assert_int_equal(k, 2); /* three pages */
    assert_int_equal(n_seen, 5);
    for (i = 0; i < 5; i++)
        assert_int_equal(seen[i], ids[4 - i]); /* newest fire first */

    http(fx, "GET", "/api/v1/runs?state=failed", NULL, NULL, &r);
    assert_int_equal(jint(r.json, "total"), 4);
    reply_free(&r);
    http(fx, "GET",
         "/api/v1/runs?job=alpha&since=2026-01-01T01:00:00Z&until=2026-01-01T03:00:00%2B00:00",
         NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "total"), 2);
    reply_free(&r);
    http(fx, "GET", "/api/v1/runs?job=default/nosuch", NULL, NULL, &r);
    assert_problem(&r, 404, "not-found", "job");
    reply_free(&r);

    snprintf(path, sizeof path, "/api/v1/runs/%lld", (long long)ids[0]);
    http(fx, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "id"), ids[0]);
    assert_string_equal(jstr(r.json, "fire_time"), "2026-01-01T00:00:00.000000Z");
    assert_string_equal(jstr(r.json, "queued_at"), "2026-01-01T00:00:00.000001Z");
    assert_true(json_is_null(json_object_get(r.json, "started_at")));
    assert_true(json_is_null(json_object_get(r.json, "exit_code")));
    assert_true(json_is_null(json_object_get(r.json, "triggered_by")));
    assert_string_equal(jstr(r.json, "reason"), "schedule");
    assert_string_equal(jstr(r.json, "state"), "succeeded");
    assert_int_equal(jint(r.json, "attempt"), 1);
    assert_int_equal(json_object_size(r.json), 20);
    reply_free(&r);

    http(fx, "GET", "/api/v1/jobs/default/alpha", NULL, NULL, &r);
    assert_int_equal(jint(json_object_get(r.json, "last_run"), "id"), ids[4]);
    reply_free(&r);
}

static void test_api_triggers_cancels_and_requeues(void **state)
{
    struct fx *fx = *state;
    struct reply r;
    char path[128], loc[128];
    int64_t run, failed, job;

    http(fx, "POST", "/api/v1/jobs",
         "{\"name\": \"alpha\", \"schedule\": {\"manual\": true}, \"shell\": \"true\","
         " \"params\": {\"MODE\": {\"pattern\": \"full|delta\"}}}", NULL, &r);
    assert_int_equal(r.status, 201);
    reply_free(&r);
    http(fx, "POST", "/api/v1/jobs/default/alpha/trigger", "{\"params\": {\"MODE\": \"full\"}}",
         NULL, &r);
    assert_int_equal(r.status, 202);
    run = jint(r.json, "run_id");
    assert_true(run > 0);
    snprintf(path, sizeof path, "/api/v1/runs/%lld", (long long)run);
    assert_string_equal(header(&r, "Location", loc, sizeof loc), path);
    assert_string_equal(fx->fake.env, "{\"MODE\":\"full\"}");
    reply_free(&r);

    http(fx, "GET", path, NULL, NULL, &r);
    assert_string_equal(jstr(r.json, "reason"), "manual");
    assert_string_equal(jstr(r.json, "triggered_by"), "admin"); /* the token's name */
    assert_string_equal(jstr(r.json, "state"), "queued");
    reply_free(&r);

    http(fx, "POST", "/api/v1/jobs/default/alpha/trigger", NULL, NULL, &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(fx->fake.env, "");
    reply_free(&r);
    /* only declared params, matching; nothing reaches the engine */
    http(fx, "POST", "/api/v1/jobs/default/alpha/trigger", "{\"params\": {\"1X\": \"a\"}}", NULL,
         &r);
    assert_problem(&r, 400, "invalid", "params.1X");
    reply_free(&r);
    http(fx, "POST", "/api/v1/jobs/default/alpha/trigger",
         "{\"params\": {\"BASH_ENV\": \"/tmp/x\"}}", NULL, &r);
    assert_problem(&r, 400, "invalid", "params.BASH_ENV");
    reply_free(&r);
    http(fx, "POST", "/api/v1/jobs/default/alpha/trigger", "{\"params\": {\"MODE\": \"ful\"}}",
         NULL, &r);
    assert_problem(&r, 400, "invalid", "params.MODE");
    reply_free(&r);
    http(fx, "POST", "/api/v1/jobs/default/alpha/trigger", "{\"env\": {\"MODE\": \"full\"}}",
         NULL, &r);
    assert_problem(&r, 400, "invalid", "env");
    reply_free(&r);
    http(fx, "POST", "/api/v1/jobs/default/alpha/trigger", "{\"envs\": {}}", NULL, &r);
    assert_problem(&r, 400, "invalid", "envs");
    reply_free(&r);
    http(fx, "POST", "/api/v1/jobs/default/nosuch/trigger", NULL, NULL, &r);
    assert_problem(&r, 404, "not-found", "job");
    reply_free(&r);
    assert_int_equal(fx->fake.triggers, 2);

    snprintf(path, sizeof path, "/api/v1/runs/%lld/cancel", (long long)run);
    http(fx, "POST", path, NULL, NULL, &r);
    assert_int_equal(r.status, 202);
    assert_int_equal(fx->fake.cancelled, run);
    reply_free(&r);

    job = job_id_of(fx, "alpha");
    failed = fixture_run(fx->store, job, T0, 3, STORE_RUN_FAILED);
    snprintf(path, sizeof path, "/api/v1/runs/%lld/cancel", (long long)failed);
    http(fx, "POST", path, NULL, NULL, &r);
    assert_problem(&r, 409, "conflict", NULL);
    reply_free(&r);

    {
        struct err err = {0};

        assert_int_equal(store_dead_insert(fx->store, failed, "exit 1", T0, &err), 0);
    }
    http(fx, "GET", "/api/v1/dead-letters", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_int_equal(jint(json_array_get(json_object_get(r.json, "items"), 0), "run_id"), failed);
    assert_string_equal(jstr(json_array_get(json_object_get(r.json, "items"), 0), "reason"),
                        "exit 1");
    reply_free(&r);
    snprintf(path, sizeof path, "/api/v1/dead-letters/%lld/requeue", (long long)failed);
    http(fx, "POST", path, NULL, NULL, &r);
    assert_int_equal(r.status, 202);
    assert_true(jint(r.json, "run_id") > failed);
    reply_free(&r);
    assert_int_equal(fx->fake.triggers, 3);
    http(fx, "GET", "/api/v1/dead-letters?job=default/alpha", NULL, NULL, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    reply_free(&r);
    http(fx, "POST", path, NULL, NULL, &r);
    assert_problem(&r, 404, "not-found", "run_id");
    reply_free(&r);
}

static void test_api_previews_the_next_fires(void **state)
{
    struct fx *fx = *state;
    struct reply r;
    json_t *items;

    http(fx, "POST", "/api/v1/preview?count=3&from=2026-01-01T00:30:00Z",
         "{\"name\": \"draft\", \"schedule\": {\"cron\": \"0 */2 * * *\"}, \"shell\": \"x\"}", NULL,
         &r);
    assert_int_equal(r.status, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(json_string_value(json_array_get(items, 0)), "2026-01-01T02:00:00.000000Z");
    assert_string_equal(json_string_value(json_array_get(items, 2)), "2026-01-01T06:00:00.000000Z");
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs/default/draft", NULL, NULL, &r);
    assert_int_equal(r.status, 404); /* a preview saves nothing */
    reply_free(&r);

    http(fx, "POST", "/api/v1/preview",
         "{\"name\": \"draft\", \"schedule\": {\"cron\": \"0 25 * * *\"}, \"shell\": \"x\"}", NULL,
         &r);
    assert_problem(&r, 400, "out-of-range", "schedule.cron");
    reply_free(&r);

    create_job(fx, "alpha", "x");
    http(fx, "GET", "/api/v1/jobs/default/alpha/next?count=2&from=2026-01-01T00:30:00Z", NULL, NULL,
         &r);
    assert_int_equal(r.status, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_array_get(items, 1)), "2026-01-01T02:00:00.000000Z");
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs/default/alpha/next", NULL, NULL, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 10);
    reply_free(&r);
}

/* A save whose first fire is already older than the misfire grace is
 * made, and its answer says the fire is recorded missed; a later one, a
 * paused job and a read say nothing; the preview warns the same. */
static void test_api_save_warns_of_a_first_fire_past_the_grace(void **state)
{
    struct fx *fx = *state;
    struct reply r;
    json_t *w;
    char *back;

    http(fx, "POST", "/api/v1/jobs",
         "{\"name\": \"late\", \"schedule\": {\"at\": \"2020-01-01T00:00:00Z\"}, \"shell\": \"x\","
         " \"misfire\": {\"grace\": \"1h\"}}", NULL, &r);
    assert_int_equal(r.status, 201);
    w = json_object_get(r.json, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_non_null(strstr(json_string_value(json_array_get(w, 0)),
                           "2020-01-01T00:00:00.000000Z, is older than the misfire grace (1h)"));
    /* the answer PUT back as it is: warnings is read-only like the view's members */
    back = json_dumps(r.json, 0);
    reply_free(&r);
    http(fx, "PUT", "/api/v1/jobs/default/late", back, NULL, &r);
    free(back);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "warnings")), 1);
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs/default/late", NULL, NULL, &r);
    assert_null(json_object_get(r.json, "warnings"));      /* a read is no save */
    reply_free(&r);

    /* a fire to come, or a paused job: nothing to say */
    http(fx, "POST", "/api/v1/jobs",
         "{\"name\": \"soon\", \"schedule\": {\"at\": \"2099-01-01T00:00:00Z\"}, \"shell\": \"x\"}",
         NULL, &r);
    assert_int_equal(r.status, 201);
    assert_true(json_is_array(json_object_get(r.json, "warnings")));
    assert_int_equal(json_array_size(json_object_get(r.json, "warnings")), 0);
    reply_free(&r);
    http(fx, "PATCH", "/api/v1/jobs/default/late", "{\"paused\": true}", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "warnings")), 0);
    reply_free(&r);

    http(fx, "POST", "/api/v1/preview",
         "{\"name\": \"draft\", \"schedule\": {\"at\": \"2020-01-01T00:00:00Z\"}, \"shell\": \"x\"}",
         NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "warnings")), 1);
    reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_lists_runs_by_filter_across_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api_triggers_cancels_and_requeues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_previews_the_next_fires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_save_warns_of_a_first_fire_past_the_grace, setup,
                                        teardown),
    };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
