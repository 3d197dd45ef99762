/* testutil.h: what the API's tests share: a server on 127.0.0.1:0 with a
 * real store in a temporary directory and a fake engine that records what
 * it is asked (its trigger records a run in the store, as the daemon's
 * does), and HTTP over libcurl. Tests only.
 *
 * Waiting is always for an event with a deadline (a condition variable,
 * poll()), never a sleep. */
#ifndef CHIME_API_TESTUTIL_H
#define CHIME_API_TESTUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/token.h"
#include "job/job.h"
#include "job/jobsave.h"
#include "store/store.h"
#include "store/testutil.h"
#include "util/err.h"

#define HOUR (INT64_C(3600) * 1000000)
#define T0   INT64_C(1767225600000000) /* 2026-01-01T00:00:00Z */

/* ---- the fake engine ---- */

struct fake {
    pthread_mutex_t mu;
    struct store *store;
    int saves, puts, removes, pauses, triggers, cancels;
    bool paused;
    int64_t last_version, cancelled;
    char env[256];
    char who[64];
};

/* As the daemon does (node_jobs_apply()), counting instead of scheduling: the
 * batch keeps its jobs. */
static inline int fake_jobs_apply(void *ctx, struct jobsave *b, struct err *err)
{
    struct fake *f = ctx;

    (void)err;
    pthread_mutex_lock(&f->mu);
    f->saves++;
    for (size_t i = 0; i < jobsave_count(b); i++) {
        const struct jobsave_item *it = jobsave_item(b, i);

        if (it->failed)
            continue;
        if (it->act == JOBSAVE_CREATE || it->act == JOBSAVE_CHANGE) {
            f->puts++;
            f->last_version = it->version;
        } else if (it->act == JOBSAVE_STATE) {
            f->pauses++;
            f->paused = it->job->paused;
        } else if (it->act == JOBSAVE_REMOVE) {
            f->removes++;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static inline int fake_job_remove(void *ctx, const char *id, struct err *err)
{
    struct fake *f = ctx;

    (void)id;
    (void)err;
    pthread_mutex_lock(&f->mu);
    f->removes++;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static inline int fake_job_pause(void *ctx, const char *id, bool paused, struct err *err)
{
    struct fake *f = ctx;

    (void)id;
    (void)err;
    pthread_mutex_lock(&f->mu);
    f->pauses++;
    f->paused = paused;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

/* As the daemon does: the run is recorded before the call returns. */
static inline int fake_trigger(void *ctx, const char *id, const char *params, const char *who,
                               int64_t *ret_run_id, struct err *err)
{
    struct fake *f = ctx;
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    struct store_job sj = {0};
    struct store_run r;
    int rc;

    rc = job_id_parse(id, NULL, ns, name, err);
    if (rc < 0)
        return rc;
    rc = store_job_get(f->store, ns, name, &sj, err);
    if (rc < 0)
        return rc;
    store_run_init(&r);
    r.job_id = sj.id;
    r.job_version = sj.version;
    r.fire_us = api_now_us();
    r.reason = STORE_REASON_MANUAL;
    r.attempt = 1;
    r.state = STORE_RUN_QUEUED;
    r.queued_us = r.fire_us;
    r.triggered_by = (char *)who;
    rc = store_run_insert(f->store, &r, ret_run_id, err);
    store_job_release(&sj);
    pthread_mutex_lock(&f->mu);
    f->triggers++;
    snprintf(f->env, sizeof f->env, "%s", params ? params : "");
    snprintf(f->who, sizeof f->who, "%s", who ? who : "");
    pthread_mutex_unlock(&f->mu);
    return rc < 0 ? rc : 0;
}

static inline int fake_cancel(void *ctx, int64_t run_id, struct err *err)
{
    struct fake *f = ctx;

    (void)err;
    pthread_mutex_lock(&f->mu);
    f->cancels++;
    f->cancelled = run_id;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static inline int64_t fake_job_next(void *ctx, const char *id)
{
    (void)ctx;
    return strstr(id, "never") ? INT64_MAX : T0 + HOUR;
}

/* ---- the fixture ---- */

struct fx {
    struct testdir t;
    struct store *store;
    struct fake fake;
    struct api *api;
    char bound[64];
    char base[96];
    unsigned port;
    char auth[128]; /* "Authorization: Bearer ..." of an admin token */
};

/* Makes token NAME (ROLE, namespaces NS: a JSON array or NULL) in the
 * fixture's store and writes its Authorization header into HEADER. */
static inline void fx_token(struct fx *fx, const char *name, const char *role, const char *ns,
                            char *header, size_t len)
{
    struct store_token t = {0};
    char secret[TOKEN_TEXT_LEN + 1];
    struct err err = {0};

    assert_int_equal(token_new(secret, t.key, t.hash, &err), 0);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.role, sizeof t.role, "%s", role);
    t.namespaces = (char *)ns;
    t.hash_len = TOKEN_HASH_LEN;
    t.created_us = 1;
    t.expires_us = STORE_NULL;
    t.revoked_us = STORE_NULL;
    if (store_token_insert(fx->store, &t, NULL, &err) < 0)
        fail_msg("store_token_insert: %s", err.msg);
    snprintf(header, len, "Authorization: Bearer %s", secret);
}

static inline void fx_start(struct fx *fx, unsigned threads, unsigned idle_s)
{
    struct store_options so = {.path = fx->t.dir};
    struct api_options ao = {0};
    struct err err = {0};
    char runs[300];

    testdir_make(&fx->t);
    snprintf(runs, sizeof runs, "%s/runs", fx->t.dir);
    assert_int_equal(mkdir(runs, 0700), 0);
    so.path = fx->t.dir;
    if (store_open(&so, &fx->store, &err) < 0)
        fail_msg("store_open: %s", err.msg);
    pthread_mutex_init(&fx->fake.mu, NULL);
    fx->fake.store = fx->store;
    ao.listen = "127.0.0.1:0";
    ao.data_dir = fx->t.dir;
    ao.store = fx->store;
    ao.engine = (struct api_engine){&fx->fake,   fake_jobs_apply, fake_job_remove, fake_job_pause,
                                    fake_trigger, fake_cancel,     fake_job_next};
    ao.threads = threads;
    ao.idle_timeout_s = idle_s;
    if (api_start(&ao, fx->bound, sizeof fx->bound, &fx->api, &err) < 0)
        fail_msg("api_start: %s: %s", err.field, err.msg);
    assert_string_not_equal(strrchr(fx->bound, ':'), ":0");
    fx->port = (unsigned)strtoul(strrchr(fx->bound, ':') + 1, NULL, 10);
    snprintf(fx->base, sizeof fx->base, "http://%s", fx->bound);
    fx_token(fx, "admin", "admin", NULL, fx->auth, sizeof fx->auth);
}

static inline int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);

    fx_start(fx, 2, 5);
    *state = fx;
    return 0;
}

static inline int teardown(void **state)
{
    struct fx *fx = *state;

    api_stop(fx->api);
    store_close(fx->store);
    pthread_mutex_destroy(&fx->fake.mu);
    testdir_remove(&fx->t);
    free(fx);
    return 0;
}

/* ---- HTTP ---- */

struct reply {
    long status;
    char *body;
    size_t len;
    char headers[8192];
    size_t hlen;
    json_t *json;
};

static inline size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    char *b = realloc(r->body, r->len + size * n + 1);

    assert_non_null(b);
    memcpy(b + r->len, data, size * n);
    r->body = b;
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static inline size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t len = size * n;

    if (r->hlen + len < sizeof r->headers) {
        memcpy(r->headers + r->hlen, data, len);
        r->hlen += len;
        r->headers[r->hlen] = '\0';
    }
    return len;
}

static inline void reply_free(struct reply *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* The value of header NAME in R, into BUF ("" when absent). */
static inline const char *header(const struct reply *r, const char *name, char *buf, size_t len)
{
    const char *p = r->headers;
    size_t n = strlen(name);

    buf[0] = '\0';
    while ((p = strcasestr(p, name))) {
        if ((p == r->headers || p[-1] == '\n') && p[n] == ':') {
            p += n + 1;
            p += strspn(p, " ");
            snprintf(buf, len, "%.*s", (int)strcspn(p, "\r\n"), p);
            break;
        }
        p += n;
    }
    return buf;
}

/* METHOD PATH with BODY (NULL: none) and extra HEADERS (NULL-ended). */
static inline void http(struct fx *fx, const char *method, const char *path, const char *body,
                        const char *const *headers, struct reply *r)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[1024], ctype[128];
    json_error_t jerr;

    memset(r, 0, sizeof *r);
    assert_non_null(curl);
    snprintf(url, sizeof url, "%s%s", fx->base, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        if (!headers || strncasecmp(headers[0], "Content-Type:", 13) != 0)
            h = curl_slist_append(h, "Content-Type: application/json");
    }
    h = curl_slist_append(h, "Expect:");
    /* the admin token, unless the caller sends an Authorization of its own
     * (or "Authorization:", which sends none) */
    {
        bool own = false;

        for (const char *const *p = headers; p && *p; p++)
            own = own || !strncasecmp(*p, "Authorization:", 14);
        if (!own)
            h = curl_slist_append(h, fx->auth);
    }
    for (; headers && *headers; headers++)
        h = curl_slist_append(h, *headers);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    if (curl_easy_perform(curl) != CURLE_OK)
        fail_msg("%s %s: no answer", method, path);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    header(r, "Content-Type", ctype, sizeof ctype);
    if (strstr(ctype, "json") && r->body)
        r->json = json_loadb(r->body, r->len, 0, &jerr);
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
}

static inline const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "(none)";
}

static inline json_int_t jint(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* R is a problem of STATUS whose type ends in TYPE and whose field is
 * FIELD (NULL: null). */
static inline void assert_problem(const struct reply *r, long status, const char *type,
                                  const char *field)
{
    char ct[128], want[128];
    const json_t *f;

    if (r->status != status)
        fail_msg("status %ld, not %ld: %s", r->status, status, r->body ? r->body : "");
    header(r, "Content-Type", ct, sizeof ct);
    assert_string_equal(ct, "application/problem+json");
    assert_non_null(r->json);
    snprintf(want, sizeof want, "https://chime.dev/problems/%s", type);
    assert_string_equal(jstr(r->json, "type"), want);
    assert_int_equal(jint(r->json, "status"), status);
    assert_non_null(json_object_get(r->json, "title"));
    assert_non_null(json_object_get(r->json, "detail"));
    f = json_object_get(r->json, "field");
    if (field ? !json_is_string(f) || strcmp(json_string_value(f), field) != 0 : !json_is_null(f))
        fail_msg("field is not %s: %s", field ? field : "null", r->body);
}

static inline const char *job_doc(char *buf, size_t len, const char *name, const char *label)
{
    snprintf(buf, len,
             "{\"name\": \"%s\", \"schedule\": {\"cron\": \"0 * * * *\"}, "
             "\"command\": [\"/bin/true\"], \"labels\": {\"team\": \"%s\"}}",
             name, label);
    return buf;
}

static inline void create_job(struct fx *fx, const char *name, const char *label)
{
    struct reply r;
    char doc[512];

    http(fx, "POST", "/api/v1/jobs", job_doc(doc, sizeof doc, name, label), NULL, &r);
    if (r.status != 201)
        fail_msg("create %s: %ld %s", name, r.status, r.body);
    reply_free(&r);
}

static inline int64_t job_id_of(struct fx *fx, const char *name)
{
    struct store_job sj = {0};
    struct err err = {0};
    int64_t id;

    assert_int_equal(store_job_get(fx->store, "default", name, &sj, &err), 0);
    id = sj.id;
    store_job_release(&sj);
    return id;
}

#endif
