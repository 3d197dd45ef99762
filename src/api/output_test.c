/* output_test.c: tests of a run's output over the API (output.c): plain
 * text and byte ranges, and following it live as Server-Sent Events. The
 * output files are written with exec's own writer (exec/output.h). */
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "api/testutil.h"
#include "exec/output.h"
#include "store/store.h"
#include "../banned.h"

/* A run of a new job "out" in STATE, and its output writer. */
static int64_t output_run(struct fx *fx, enum store_run_state state, struct exec_output **ret)
{
    char dir[400], file[420];
    struct err err = {0};
    int64_t id;
    int fd;

    create_job(fx, "out", "x");
    id = fixture_run(fx->store, job_id_of(fx, "out"), T0, 1, state);
    snprintf(dir, sizeof dir, "%s/runs", fx->t.dir);
    assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
    snprintf(file, sizeof file, "%s/%lld.out", dir, (long long)id);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    if (exec_output_new(fd, 0, ret, &err) < 0)
        fail_msg("exec_output_new: %s", err.msg);
    return id;
}

static void test_api_serves_output_and_byte_ranges(void **state)
{
    struct fx *fx = *state;
    const char *first5[] = {"Range: bytes=0-4", NULL}, *from6[] = {"Range: bytes=6-", NULL};
    const char *last6[] = {"Range: bytes=-6", NULL}, *past[] = {"Range: bytes=100-", NULL};
    struct exec_output *o = NULL;
    struct err err = {0};
    struct reply r;
    char path[128], query[160], h[64];
    int64_t id = output_run(fx, STORE_RUN_SUCCEEDED, &o);

    exec_output_write(o, EXEC_STDOUT, "hello\n", 6);
    exec_output_write(o, EXEC_STDERR, "oops\n", 5);
    exec_output_write(o, EXEC_STDOUT, "world\n", 6);
    assert_int_equal(exec_output_finish(o, NULL, &err), 0);
    exec_output_free(o);
    snprintf(path, sizeof path, "/api/v1/runs/%lld/output", (long long)id);

    http(fx, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello\noops\nworld\n");
    assert_string_equal(header(&r, "Accept-Ranges", h, sizeof h), "bytes");
    reply_free(&r);
    snprintf(query, sizeof query, "%s?stream=stdout", path);
    http(fx, "GET", query, NULL, NULL, &r);
    assert_string_equal(r.body, "hello\nworld\n");
    reply_free(&r);
    snprintf(query, sizeof query, "%s?stream=stdin", path);
    http(fx, "GET", query, NULL, NULL, &r);
    assert_problem(&r, 400, "invalid", "stream");
    reply_free(&r);

    http(fx, "GET", path, NULL, first5, &r);
    assert_int_equal(r.status, 206);
    assert_string_equal(r.body, "hello");
    assert_string_equal(header(&r, "Content-Range", h, sizeof h), "bytes 0-4/17");
    reply_free(&r);
    http(fx, "GET", path, NULL, from6, &r);
    assert_int_equal(r.status, 206);
    assert_string_equal(r.body, "oops\nworld\n");
    reply_free(&r);
    http(fx, "GET", path, NULL, last6, &r);
    assert_int_equal(r.status, 206);
    assert_string_equal(r.body, "world\n");
    assert_string_equal(header(&r, "Content-Range", h, sizeof h), "bytes 11-16/17");
    reply_free(&r);
    http(fx, "GET", path, NULL, past, &r);
    assert_problem(&r, 416, "range-not-satisfiable", "Range");
    assert_string_equal(header(&r, "Content-Range", h, sizeof h), "bytes */17");
    reply_free(&r);
}

/* A follower on its own thread, and what it has received so far. */
struct follower {
    struct fx *fx;
    char path[128];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    char *got;
    size_t len;
    long status;
    CURLcode rc;
};

static size_t on_follow_body(char *data, size_t size, size_t n, void *arg)
{
    struct follower *f = arg;

    pthread_mutex_lock(&f->mu);
    f->got = realloc(f->got, f->len + size * n + 1);
    memcpy(f->got + f->len, data, size * n);
    f->len += size * n;
    f->got[f->len] = '\0';
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    return size * n;
}

static void *follower_main(void *arg)
{
    struct follower *f = arg;
    CURL *curl = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Accept: text/event-stream");
    char url[256];

    h = curl_slist_append(h, f->fx->auth);
    snprintf(url, sizeof url, "%s%s", f->fx->base, f->path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_follow_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    f->rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &f->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    pthread_mutex_lock(&f->mu);
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Waits, at most 10 s, until the follower has received WHAT. */
static void follower_wait(struct follower *f, const char *what)
{
    struct timespec at;

    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_sec += 10;
    pthread_mutex_lock(&f->mu);
    while (!(f->got && strstr(f->got, what)))
        if (pthread_cond_timedwait(&f->cond, &f->mu, &at) != 0)
            fail_msg("no '%s' in the stream after 10 s: %s", what, f->got ? f->got : "");
    pthread_mutex_unlock(&f->mu);
}

/* Waits, at most 10 s, until the follower has received WHAT N times. */
static void follower_wait_n(struct follower *f, const char *what, int n)
{
    struct timespec at;
    int seen = 0;

    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_sec += 10;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        const char *p = f->got;

        for (seen = 0; p && (p = strstr(p, what)); p++)
            seen++;
        if (seen >= n)
            break;
        if (pthread_cond_timedwait(&f->cond, &f->mu, &at) != 0)
            fail_msg("'%s' %d times, not %d, after 10 s", what, seen, n);
    }
    pthread_mutex_unlock(&f->mu);
}

static void test_api_follows_output_until_the_run_ends(void **state)
{
    struct fx *fx = *state;
    struct follower f = {.fx = fx};
    struct exec_output *o = NULL;
    struct err err = {0};
    struct store_run run;
    int64_t id = output_run(fx, STORE_RUN_RUNNING, &o);
    const char *end;

    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cond, NULL);
    exec_output_write(o, EXEC_STDOUT, "first line\nsecond", 17);
    snprintf(f.path, sizeof f.path, "/api/v1/runs/%lld/output", (long long)id);
    assert_int_equal(pthread_create(&f.thread, NULL, follower_main, &f), 0);
    follower_wait(&f, "event: stdout\nid: 36\ndata: first line\ndata: second\n\n");

    /* more output while it is followed, then the run ends */
    exec_output_write(o, EXEC_STDERR, "oops\n", 5);
    follower_wait(&f, "event: stderr\nid: 44\ndata: oops\ndata: \n\n");
    exec_output_write(o, EXEC_STDOUT, "last\n", 5);
    assert_int_equal(exec_output_finish(o, NULL, &err), 0);
    exec_output_free(o);
    store_run_init(&run);
    assert_int_equal(store_run_get(fx->store, id, &run, &err), 0);
    run.state = STORE_RUN_SUCCEEDED;
    run.started_us = T0 + 10;
    run.finished_us = T0 + 20;
    run.exit_code = 0;
    assert_int_equal(store_run_update(fx->store, &run, STORE_RUN_RUNNING, &err), 0);
    store_run_release(&run);

    pthread_join(f.thread, NULL);
    assert_int_equal(f.rc, CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_non_null(strstr(f.got, "event: stdout\nid: 52\ndata: last\ndata: \n\n"));
    end = strstr(f.got, "event: end\ndata: {");
    assert_non_null(end);
    assert_non_null(strstr(end, "\"state\":\"succeeded\""));
    assert_non_null(strstr(end, "\"exit_code\":0"));
    assert_true(strstr(f.got, "last") < end); /* all output comes before the end */

    /* a client back with the id of an event it had goes on after it */
    {
        const char *resume[] = {"Accept: text/event-stream", "Last-Event-ID: 36", NULL};
        struct reply r;

        http(fx, "GET", f.path, NULL, resume, &r);
        assert_int_equal(r.status, 200);
        assert_null(strstr(r.body, "first line"));
        assert_int_equal(strncmp(r.body, "event: stderr\nid: 44\ndata: oops\n", 32), 0);
        assert_non_null(strstr(r.body, "event: end\n"));
        reply_free(&r);
    }
    free(f.got);
    pthread_cond_destroy(&f.cond);
    pthread_mutex_destroy(&f.mu);
}

static void test_api_stops_with_a_follower_attached(void **state)
{
    struct fx *fx = *state;
    struct follower f = {.fx = fx};
    struct exec_output *o = NULL;
    struct timespec t0, t1;
    int64_t id = output_run(fx, STORE_RUN_RUNNING, &o);

    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cond, NULL);
    exec_output_write(o, EXEC_STDOUT, "tick\n", 5);
    snprintf(f.path, sizeof f.path, "/api/v1/runs/%lld/output?stream=stdout", (long long)id);
    assert_int_equal(pthread_create(&f.thread, NULL, follower_main, &f), 0);
    follower_wait(&f, "data: tick\n");

    /* the run goes on; the server stops under the follower */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    api_stop(fx->api);
    fx->api = NULL;
    pthread_join(f.thread, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    assert_null(strstr(f.got, "event: end"));
    exec_output_free(o);
    free(f.got);
    pthread_cond_destroy(&f.cond);
    pthread_mutex_destroy(&f.mu);
}

static void test_api_quiet_follow_outlives_the_idle_limit(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    struct follower f = {.fx = fx};
    struct exec_output *o = NULL;
    struct store_run run;
    struct err err = {0};
    int64_t id;

    (void)state;
    fx_start(fx, 2, 1); /* a one-second idle limit: pings every half second */
    id = output_run(fx, STORE_RUN_RUNNING, &o);
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cond, NULL);
    exec_output_write(o, EXEC_STDOUT, "a\n", 2);
    snprintf(f.path, sizeof f.path, "/api/v1/runs/%lld/output", (long long)id);
    assert_int_equal(pthread_create(&f.thread, NULL, follower_main, &f), 0);
    follower_wait(&f, "data: a\n");
    follower_wait_n(&f, ": ping\n\n", 4); /* two seconds without output */
    exec_output_write(o, EXEC_STDOUT, "b\n", 2);
    follower_wait(&f, "data: b\n");
    assert_int_equal(exec_output_finish(o, NULL, &err), 0);
    exec_output_free(o);
    store_run_init(&run);
    assert_int_equal(store_run_get(fx->store, id, &run, &err), 0);
    run.state = STORE_RUN_FAILED;
    run.exit_code = 3;
    assert_int_equal(store_run_update(fx->store, &run, STORE_RUN_RUNNING, &err), 0);
    store_run_release(&run);
    pthread_join(f.thread, NULL);
    assert_int_equal(f.rc, CURLE_OK);
    assert_non_null(strstr(f.got, "event: end\ndata: {"));
    assert_non_null(strstr(f.got, "\"state\":\"failed\""));
    free(f.got);
    pthread_cond_destroy(&f.cond);
    pthread_mutex_destroy(&f.mu);
    teardown((void **)&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_serves_output_and_byte_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_follows_output_until_the_run_ends, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api_stops_with_a_follower_attached, setup, teardown),
        cmocka_unit_test(test_api_quiet_follow_outlives_the_idle_limit),
    };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
