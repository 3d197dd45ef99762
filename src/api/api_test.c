/* api_test.c: tests of the REST API (src/api/) over real HTTP: jobs,
 * problems, limits, the route table and the OpenAPI document, listening.
 * Runs are api_runs_test.c's; the output and its live follow are
 * output_test.c's. The fixture (testutil.h) is a server on 127.0.0.1:0
 * with a real store and a fake engine, driven with libcurl. */
#include "api/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "api/api_int.h"
#include "api/testutil.h"
#include "store/store.h"
#include "../banned.h"

/* ---- jobs ---- */

static void test_api_creates_shows_and_lists_jobs(void **state)
{
    struct fx *fx = *state;
    struct reply r;
    char doc[512], h[256], path[600];
    const char *names[] = {"alpha", "beta", "gamma"}, *labels[] = {"x", "y", "x"};
    json_t *items;
    size_t i;

    for (i = 0; i < 3; i++) {
        http(fx, "POST", "/api/v1/jobs", job_doc(doc, sizeof doc, names[i], labels[i]), NULL, &r);
        assert_int_equal(r.status, 201);
        assert_string_equal(jstr(r.json, "name"), names[i]);
        assert_string_equal(jstr(r.json, "namespace"), "default");
        assert_int_equal(jint(r.json, "version"), 1);
        assert_string_equal(jstr(r.json, "next_fire"), "2026-01-01T01:00:00.000000Z");
        assert_string_equal(jstr(r.json, "kill_grace"), "10s"); /* canonical */
        snprintf(path, sizeof path, "/api/v1/jobs/default/%s", names[i]);
        assert_string_equal(header(&r, "Location", h, sizeof h), path);
        reply_free(&r);
    }
    assert_int_equal(fx->fake.puts, 3);
    assert_int_equal(fx->fake.saves, 3);

    http(fx, "GET", "/api/v1/jobs/default/alpha", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "ETag", h, sizeof h), "\"1\"");
    assert_false(json_is_true(json_object_get(json_object_get(r.json, "state"), "paused")));
    assert_int_equal(jint(json_object_get(r.json, "state"), "consecutive_failures"), 0);
    assert_true(json_is_null(json_object_get(r.json, "last_run")));
    reply_free(&r);

    http(fx, "GET", "/api/v1/jobs?label=team=x", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "total"), 2);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(jstr(json_array_get(items, 0), "name"), "alpha");
    assert_string_equal(jstr(json_array_get(items, 1), "name"), "gamma");
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    reply_free(&r);

    http(fx, "GET", "/api/v1/jobs?limit=2", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "total"), 3);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    assert_true(json_is_string(json_object_get(r.json, "next_cursor")));
    {
        char *cur = curl_easy_escape(NULL, jstr(r.json, "next_cursor"), 0);

        snprintf(path, sizeof path, "/api/v1/jobs?limit=2&cursor=%s", cur);
        curl_free(cur);
    }
    reply_free(&r);
    http(fx, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "name"), "gamma");
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    reply_free(&r);

    http(fx, "POST", "/api/v1/jobs", job_doc(doc, sizeof doc, "alpha", "z"), NULL, &r);
    assert_problem(&r, 409, "conflict", "name");
    reply_free(&r);

    http(fx, "GET", "/api/v1/jobs/default/nosuch", NULL, NULL, &r);
    assert_problem(&r, 404, "not-found", "job");
    reply_free(&r);

    http(fx, "GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "ok");
    reply_free(&r);
}

static void test_api_replaces_patches_and_deletes_a_job(void **state)
{
    struct fx *fx = *state;
    const char *merge[] = {"Content-Type: application/merge-patch+json", NULL};
    const char *match1[] = {"If-Match: \"1\"", NULL};
    struct reply r;
    char *view;

    create_job(fx, "alpha", "x");

    http(fx, "PUT", "/api/v1/jobs/default/alpha",
         "{\"schedule\": {\"cron\": \"*/5 * * * *\"}, \"shell\": \"echo hi\", "
         "\"description\": \"five\"}",
         NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "version"), 2);
    assert_string_equal(jstr(r.json, "description"), "five");
    assert_string_equal(jstr(r.json, "shell"), "echo hi");
    assert_null(json_object_get(r.json, "command"));
    reply_free(&r);

    http(fx, "PUT", "/api/v1/jobs/default/alpha",
         "{\"name\": \"other\", \"schedule\": {\"manual\": true}, \"shell\": \"x\"}", NULL, &r);
    assert_problem(&r, 400, "invalid", "name");
    reply_free(&r);

    http(fx, "PUT", "/api/v1/jobs/default/beta",
         "{\"schedule\": {\"manual\": true}, \"shell\": \"x\"}", NULL, &r);
    assert_int_equal(r.status, 201);
    reply_free(&r);

    /* a stale If-Match is a conflict, and nothing changes */
    http(fx, "PUT", "/api/v1/jobs/default/alpha",
         "{\"schedule\": {\"manual\": true}, \"shell\": \"x\"}", match1, &r);
    assert_problem(&r, 409, "conflict", "version");
    reply_free(&r);

    http(fx, "PATCH", "/api/v1/jobs/default/alpha",
         "{\"description\": null, \"labels\": {\"k\": \"v\"}, \"retry\": {\"max_attempts\": 3}}",
         merge, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "version"), 3);
    assert_true(json_is_null(json_object_get(r.json, "description")));
    assert_string_equal(jstr(json_object_get(r.json, "labels"), "k"), "v");
    assert_int_equal(jint(json_object_get(r.json, "retry"), "max_attempts"), 3);
    assert_string_equal(jstr(json_object_get(r.json, "retry"), "backoff"), "10s");
    assert_string_equal(jstr(json_object_get(r.json, "schedule"), "cron"), "*/5 * * * *");
    reply_free(&r);

    http(fx, "PATCH", "/api/v1/jobs/default/alpha", "{\"retry\": {\"max_attempts\": 0}}", merge,
         &r);
    assert_problem(&r, 400, "out-of-range", "retry.max_attempts");
    reply_free(&r);

    http(fx, "PATCH", "/api/v1/jobs/default/alpha", "{\"timeout\": \"1h\"}", match1, &r);
    assert_problem(&r, 409, "conflict", "version");
    reply_free(&r);

    /* a view PUT back as it is: valid, and no new version */
    http(fx, "GET", "/api/v1/jobs/default/alpha", NULL, NULL, &r);
    view = strdup(r.body);
    reply_free(&r);
    http(fx, "PUT", "/api/v1/jobs/default/alpha", view, NULL, &r);
    free(view);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "version"), 3);
    reply_free(&r);

    http(fx, "POST", "/api/v1/jobs/default/alpha/pause", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "paused")));
    assert_true(json_is_true(json_object_get(json_object_get(r.json, "state"), "paused")));
    assert_true(fx->fake.paused);
    reply_free(&r);
    http(fx, "POST", "/api/v1/jobs/default/alpha/resume", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_false(json_is_true(json_object_get(r.json, "paused")));
    assert_int_equal(fx->fake.pauses, 2);
    reply_free(&r);

    http(fx, "POST", "/api/v1/jobs",
         "{\"name\": \"up\", \"schedule\": {\"after\": [\"cycle\"]}, \"shell\": \"x\"}", NULL,
         &r);
    assert_int_equal(r.status, 201);
    reply_free(&r);
    http(fx, "POST", "/api/v1/jobs",
         "{\"name\": \"cycle\", \"schedule\": {\"after\": [\"up\"]}, \"shell\": \"x\"}", NULL,
         &r);
    assert_problem(&r, 400, "invalid", "schedule.after");
    reply_free(&r);

    http(fx, "DELETE", "/api/v1/jobs/default/alpha", NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.len, 0);
    assert_int_equal(fx->fake.removes, 1);
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs/default/alpha", NULL, NULL, &r);
    assert_problem(&r, 404, "not-found", "job");
    reply_free(&r);
    http(fx, "DELETE", "/api/v1/jobs/default/alpha", NULL, NULL, &r);
    assert_problem(&r, 404, "not-found", "job");
    reply_free(&r);

    http(fx, "GET", "/api/v1/jobs/default/beta/versions", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "total"), 1);
    assert_int_equal(jint(json_array_get(json_object_get(r.json, "items"), 0), "version"), 1);
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs/default/beta/versions/1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(json_object_get(r.json, "document"), "name"), "beta");
    reply_free(&r);
}

static void test_api_answers_bad_requests_with_problems(void **state)
{
    struct fx *fx = *state;
    const char *text[] = {"Content-Type: text/plain", NULL};
    struct reply r;
    char allow[128], doc[512];

    http(fx, "GET", "/api/v1/nope", NULL, NULL, &r);
    assert_problem(&r, 404, "not-found", NULL);
    reply_free(&r);

    http(fx, "DELETE", "/api/v1/jobs", NULL, NULL, &r);
    assert_problem(&r, 405, "method-not-allowed", NULL);
    assert_string_equal(header(&r, "Allow", allow, sizeof allow), "GET, HEAD, POST");
    reply_free(&r);

    http(fx, "POST", "/api/v1/jobs", "{\"name\": \"a\",\n \"schedule\": ", NULL, &r);
    assert_problem(&r, 400, "invalid", NULL);
    assert_non_null(strstr(jstr(r.json, "detail"), "line 2, column"));
    reply_free(&r);

    http(fx, "POST", "/api/v1/jobs",
         "{\"name\": \"a\", \"schedule\": {\"manual\": true}, \"shell\": \"x\", \"bogus\": 1}",
         NULL, &r);
    assert_problem(&r, 400, "invalid", "bogus");
    reply_free(&r);

    http(fx, "POST", "/api/v1/jobs", "[1, 2]", NULL, &r);
    assert_problem(&r, 400, "invalid", NULL);
    reply_free(&r);

    http(fx, "POST", "/api/v1/jobs", "", NULL, &r);
    assert_problem(&r, 400, "invalid", NULL);
    reply_free(&r);

    http(fx, "POST", "/api/v1/jobs", job_doc(doc, sizeof doc, "a", "b"), text, &r);
    assert_problem(&r, 415, "unsupported-media-type", NULL);
    reply_free(&r);

    http(fx, "GET", "/api/v1/jobs?limit=0", NULL, NULL, &r);
    assert_problem(&r, 400, "out-of-range", "limit");
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs?limit=ten", NULL, NULL, &r);
    assert_problem(&r, 400, "invalid", "limit");
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs?colour=red", NULL, NULL, &r);
    assert_problem(&r, 400, "invalid", "colour");
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs?label=novalue", NULL, NULL, &r);
    assert_problem(&r, 400, "invalid", "label");
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs?cursor=garbage", NULL, NULL, &r);
    assert_problem(&r, 400, "invalid", "cursor");
    reply_free(&r);
    http(fx, "GET", "/api/v1/runs?state=sleeping", NULL, NULL, &r);
    assert_problem(&r, 400, "invalid", "state");
    reply_free(&r);
    http(fx, "GET", "/api/v1/runs?since=yesterday", NULL, NULL, &r);
    assert_problem(&r, 400, "invalid", "since");
    reply_free(&r);
    http(fx, "GET", "/api/v1/runs?job=Bad!Name", NULL, NULL, &r);
    assert_problem(&r, 400, "invalid", "job");
    reply_free(&r);
    http(fx, "GET", "/api/v1/runs/abc", NULL, NULL, &r);
    assert_problem(&r, 400, "invalid", "id");
    reply_free(&r);
    http(fx, "GET", "/api/v1/runs/999", NULL, NULL, &r);
    assert_problem(&r, 404, "not-found", "id");
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs/default/a/next?count=1001", NULL, NULL, &r);
    assert_problem(&r, 400, "out-of-range", "count");
    reply_free(&r);
    {
        const char *bad_match[] = {"If-Match: \"v1\"", NULL};

        http(fx, "DELETE", "/api/v1/jobs/default/a", NULL, bad_match, &r);
        assert_problem(&r, 400, "invalid", "If-Match");
        reply_free(&r);
    }
    http(fx, "HEAD", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_null(r.body);
    reply_free(&r);
    http(fx, "GET", "/api/v1/jobs//a", NULL, NULL, &r);
    assert_problem(&r, 404, "not-found", NULL);
    reply_free(&r);

    /* a refused request without a body keeps its connection */
    {
        CURL *curl = curl_easy_init();
        char url[256];
        long connects = -1, status = 0;

        snprintf(url, sizeof url, "%s/api/v1/nope", fx->base);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
        memset(&r, 0, sizeof r);
        assert_int_equal(curl_easy_perform(curl), CURLE_OK);
        snprintf(url, sizeof url, "%s/healthz", fx->base);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        assert_int_equal(curl_easy_perform(curl), CURLE_OK);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
        assert_int_equal(status, 200);
        assert_int_equal(connects, 0);
        curl_easy_cleanup(curl);
        reply_free(&r);
    }
}

/* A body of LEN bytes, sent with a Content-Length or chunked. */
struct big {
    size_t left;
};

static size_t on_read_big(char *buf, size_t size, size_t n, void *arg)
{
    struct big *b = arg;
    size_t k = size * n < b->left ? size * n : b->left;

    memset(buf, ' ', k);
    b->left -= k;
    return k;
}

static long post_big(struct fx *fx, size_t len, bool chunked, struct reply *r)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *h = NULL;
    struct big b = {len};
    char url[256];
    CURLcode rc;

    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "%s/api/v1/jobs", fx->base);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read_big);
    curl_easy_setopt(curl, CURLOPT_READDATA, &b);
    if (!chunked)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, fx->auth);
    if (chunked)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    return rc == CURLE_OK || r->status ? r->status : -1;
}

static void test_api_refuses_an_oversized_body(void **state)
{
    struct fx *fx = *state;
    struct reply r;
    json_error_t jerr;

    /* refused on its Content-Length, before the body is read (curl's
     * Expect: 100-continue never gets its 100) */
    assert_int_equal(post_big(fx, (size_t)2 << 20, false, &r), 413);
    r.json = json_loadb(r.body, r.len, 0, &jerr);
    assert_string_equal(jstr(r.json, "type"), "https://chime.dev/problems/too-big");
    reply_free(&r);
    /* chunked: counted as it comes */
    assert_int_equal(post_big(fx, (size_t)2 << 20, true, &r), 413);
    reply_free(&r);
    /* a document over JOB_DOC_MAX within body_max */
    assert_int_equal(post_big(fx, (size_t)100 * 1024, false, &r), 413);
    reply_free(&r);
    /* and the server is fine */
    http(fx, "GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* ---- the route table and the OpenAPI document ---- */

static void test_api_openapi_has_every_route(void **state)
{
    struct fx *fx = *state;
    const struct api_route *routes;
    struct reply r;
    json_t *paths;
    size_t n, i;

    http(fx, "GET", "/api/v1/openapi.json", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "openapi"), "3.0.3");
    paths = json_object_get(r.json, "paths");
    routes = api_routes(&n);
    assert_true(n >= 20);
    for (i = 0; i < n; i++) {
        char method[16], status[8];
        const char *t = routes[i].path;
        json_t *op;
        size_t k, params = 0;

        for (k = 0; routes[i].method[k]; k++)
            method[k] = (char)(routes[i].method[k] | 0x20);
        method[k] = '\0';
        op = json_object_get(json_object_get(paths, routes[i].path), method);
        if (!op)
            fail_msg("%s %s is not in the document", routes[i].method, routes[i].path);
        assert_string_equal(jstr(op, "summary"), routes[i].summary);
        snprintf(status, sizeof status, "%u", routes[i].status);
        assert_non_null(json_object_get(json_object_get(op, "responses"), status));
        assert_non_null(json_object_get(json_object_get(op, "responses"), "default"));
        while ((t = strchr(t, '{'))) {
            params++;
            t++;
        }
        for (k = 0; k < json_array_size(json_object_get(op, "parameters")); k++)
            params -=
                !strcmp(jstr(json_array_get(json_object_get(op, "parameters"), k), "in"), "path");
        assert_int_equal(params, 0);
        if (routes[i].body_schema)
            assert_non_null(json_object_get(op, "requestBody"));
    }
    assert_non_null(
        json_object_get(json_object_get(json_object_get(r.json, "components"), "schemas"), "Run"));
    reply_free(&r);
}

/* ---- slow clients ---- */

static int raw_connect(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Whether the server closes FD within MS milliseconds. */
static bool closed_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char buf[512];

    while (poll(&p, 1, ms) == 1) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n <= 0)
            return true;
    }
    return false;
}

static void test_api_slow_clients_do_not_block_others(void **state)
{
    static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    static const char unfinished[] = "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Type: application/json\r\n"
                                     "Content-Length: 100\r\n\r\n{\"name\":";
    struct fx *fx = calloc(1, sizeof *fx);
    struct timespec t0, t1;
    struct reply r;
    int a, b;

    (void)state;
    fx_start(fx, 1, 1); /* one server thread, a one-second idle limit */
    a = raw_connect(fx->port);
    b = raw_connect(fx->port);
    assert_int_equal(write(a, partial, sizeof partial - 1), (ssize_t)sizeof partial - 1);
    assert_int_equal(write(b, unfinished, sizeof unfinished - 1), (ssize_t)sizeof unfinished - 1);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    http(fx, "GET", "/healthz", NULL, NULL, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.status, 200);
    assert_true(t1.tv_sec - t0.tv_sec < 1); /* not held up by either */
    reply_free(&r);

    /* and the idle limit closes both */
    assert_true(closed_within(a, 5000));
    assert_true(closed_within(b, 5000));
    close(a);
    close(b);
    teardown((void **)&fx);
}

static void test_api_listen_addresses(void **state)
{
    const char *bad[] = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "[::1]8717",
                         ":8717",     "1:2:3",      "127.0.0.1:12a"};
    struct api_options ao = {0};
    struct api *a = NULL;
    struct err err = {0};
    char bound[64];
    size_t i;

    (void)state;
    ao.data_dir = "/nonexistent";
    ao.store = (struct store *)&ao; /* never read: the address fails first */
    ao.engine = (struct api_engine){NULL,         fake_jobs_apply, fake_job_remove, fake_job_pause,
                                    fake_trigger, fake_cancel,     fake_job_next};
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ao.listen = bad[i];
        err = (struct err){0};
        if (api_start(&ao, bound, sizeof bound, &a, &err) != -CHIME_EINVAL)
            fail_msg("'%s' was taken", bad[i]);
        assert_string_equal(err.field, "listen");
    }
    ao.listen = "[::1]:0";
    if (api_start(&ao, bound, sizeof bound, &a, &err) == 0) {
        assert_int_equal(strncmp(bound, "[::1]:", 6), 0);
        assert_string_not_equal(bound, "[::1]:0");
        api_stop(a);
    } /* else: no IPv6 here */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_creates_shows_and_lists_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_replaces_patches_and_deletes_a_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api_answers_bad_requests_with_problems, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api_refuses_an_oversized_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_openapi_has_every_route, setup, teardown),
        cmocka_unit_test(test_api_slow_clients_do_not_block_others),
        cmocka_unit_test(test_api_listen_addresses),
    };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
