/* health.c: /healthz and /metrics.
 *
 * /healthz answers without a token: the status, one reason per check that
 * is not ok, and numbers (counts, thresholds, bytes free), never a job's
 * name; a caller with a valid token also gets the stuck runs of the jobs
 * its token sees. 200 for ok and degraded, 503 for failing. The daemon's
 * measurements come from opt.health, which reads what the loop published
 * and never waits for it; the store is probed with one read here.
 *
 * /metrics renders the registry (the same counters the loop, the store
 * thread and the server threads update) on the server thread that asked:
 * the loop does nothing for a scrape. A token limited to some namespaces
 * gets only the series of its namespaces' jobs: the daemon-wide ones
 * (queue depth, fires, requests, the process) and chime_job="other" mix
 * every tenant's activity, so they are for tokens of every namespace
 * (docs/ops.md). */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "sched/health.h"
#include "store/store.h"
#include "util/metrics.h"
#include "../banned.h"

#define MS INT64_C(1000)

/* Whether C carries a valid token (not required: /healthz is public). */
static bool has_token(struct api_call *c)
{
    size_t headers;

    if (c->authed)
        return true;
    if (!api_header(c, MHD_HTTP_HEADER_AUTHORIZATION))
        return false;
    headers = c->n_headers;
    if (api_auth_require(c, API_VIEWER) < 0) {
        c->err = (struct err){0};   /* a bad token only costs the detail */
        c->n_headers = headers;     /* and gets no WWW-Authenticate on a 200 */
        return false;
    }
    return true;
}

static json_t *check_json(const struct health_view *v, enum health_check ch)
{
    const char *reason = v->report.reason[ch];

    return json_pack("{s:s, s:o}", "status", health_status_name(v->report.check[ch]), "reason",
                     reason[0] ? json_string(reason) : json_null());
}

static json_t *stuck_runs_json(struct api_call *c, const struct health_view *v)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < v->n_stuck; i++) {
        const struct health_stuck_run *s = &v->stuck[i];
        char job[2 * 64 + 2];

        if (!api_auth_sees(c, s->ns))
            continue;
        snprintf(job, sizeof job, "%s/%s", s->ns, s->name);
        json_array_append_new(a, json_pack("{s:I, s:s, s:I, s:I}", "run_id", (json_int_t)s->run_id,
                                           "job", job, "running_s",
                                           (json_int_t)(s->running_us / 1000000), "stuck_after_s",
                                           (json_int_t)(s->after_us / 1000000)));
    }
    return a;
}

int api_health(struct api_call *c)
{
    struct store_job_filter f = {0};
    struct health_view v;
    struct err e = {0};
    json_t *j, *checks, *reasons;
    int64_t n;

    memset(&v, 0, sizeof v);
    if (c->api->opt.health) {
        c->api->opt.health(c->api->opt.health_ctx, &v);
    } else {
        health_config_defaults(&v.config);
        v.in.store_ok = true;
    }
    v.in.store_read_ok = store_job_count(c->api->opt.store, &f, &n, &e) == 0;
    if (!v.in.store_read_ok)
        snprintf(v.in.store_error, sizeof v.in.store_error, "%.120s", e.msg);
    health_evaluate(&v.config, &v.in, &v.report);

    checks = json_object();
    reasons = json_array();
    if (!checks || !reasons)
        goto nomem;
    for (int ch = 0; ch < HEALTH_CHECK_COUNT; ch++) {
        json_t *o = check_json(&v, (enum health_check)ch);

        if (!o || json_object_set_new(checks, health_check_name((enum health_check)ch), o) < 0)
            goto nomem;
        if (v.report.reason[ch][0])
            json_array_append_new(reasons, json_string(v.report.reason[ch]));
        switch (ch) {
        case HEALTH_STORE:
            json_object_set_new(o, "last_commit", v.in.last_commit_us
                                                      ? api_json_instant(v.in.last_commit_us)
                                                      : json_null());
            break;
        case HEALTH_LOOP:
            json_object_set_new(o, "lag_ms", json_integer(v.in.loop_lag_us / MS));
            json_object_set_new(o, "threshold_ms", json_integer(v.config.loop_lag_us / MS));
            break;
        case HEALTH_STUCK:
            json_object_set_new(o, "count", json_integer(v.in.stuck));
            if (has_token(c))
                json_object_set_new(o, "runs", stuck_runs_json(c, &v));
            break;
        case HEALTH_ERRORS:
            json_object_set_new(o, "failed", json_integer(v.in.failed));
            json_object_set_new(o, "finished", json_integer(v.in.total));
            json_object_set_new(o, "window_s", json_integer(v.config.error_window_us / 1000000));
            json_object_set_new(o, "threshold", json_real(v.config.error_rate));
            json_object_set_new(o, "min_runs", json_integer(v.config.error_min_runs));
            break;
        case HEALTH_DISK:
            json_object_set_new(o, "free_bytes",
                                v.in.disk_known ? json_integer(v.in.disk_free) : json_null());
            json_object_set_new(o, "total_bytes",
                                v.in.disk_known ? json_integer(v.in.disk_total) : json_null());
            json_object_set_new(o, "degraded_below", json_integer(v.config.disk_degraded));
            json_object_set_new(o, "failing_below", json_integer(v.config.disk_failing));
            break;
        case HEALTH_SPAWNER:
            json_object_set_new(o, "pid",
                                v.in.spawner_pid ? json_integer(v.in.spawner_pid) : json_null());
            break;
        default:
            break;
        }
    }
    j = json_pack("{s:s, s:o, s:o}", "status", health_status_name(v.report.status), "reasons",
                  reasons, "checks", checks);
    api_reply_header(c, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return api_reply_json(c, v.report.status == HEALTH_FAILING ? 503 : 200, j);
nomem:
    json_decref(checks);
    json_decref(reasons);
    return err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
}

/* Whether C's token sees the job "namespace/name" JOB. */
static bool metrics_sees(void *ctx, const char *job)
{
    const struct api_call *c = ctx;
    const char *slash = strchr(job, '/');
    char ns[128];

    if (!slash || (size_t)(slash - job) >= sizeof ns)
        return false;
    memcpy(ns, job, (size_t)(slash - job));
    ns[slash - job] = '\0';
    return api_auth_sees(c, ns);
}

int api_metrics(struct api_call *c)
{
    char *text = NULL;
    size_t len = 0;
    /* a token of some namespaces sees their jobs' series only; every
     * namespace's token, or no token with --metrics-open, sees it all */
    bool scoped = c->authed && c->token_ns;

    if (metrics_render(c->api->opt.metrics, scoped ? metrics_sees : NULL, c, &text, &len) < 0)
        return err_set(&c->err, CHIME_ENOMEM, "", "out of memory rendering the metrics");
    api_reply_header(c, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return api_reply_text(c, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}
