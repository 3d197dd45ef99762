/* routes.c: the table of the API's routes, and the two things read from
 * it: dispatch (api_route_find) and the OpenAPI document.
 *
 * A route is one row; adding an endpoint is adding a row and its handler,
 * and it then appears in /api/v1/openapi.json with its parameters, body
 * and reply. The schemas the rows name are in SCHEMAS below: modest, but
 * they say what the handlers accept and answer. */
#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../banned.h"

#define SEGMENTS_MAX 16

static const struct api_param list_q[] = {
    {"limit", "integer", NULL, "items per page, 1-1000 (default 100)"},
    {"cursor", "string", NULL, "the next_cursor of the previous page"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param jobs_q[] = {
    {"namespace", "string", NULL, "only jobs of this namespace"},
    {"label", "string", NULL, "only jobs with this label, as KEY=VALUE"},
    {"limit", "integer", NULL, "items per page, 1-1000 (default 100)"},
    {"cursor", "string", NULL, "the next_cursor of the previous page"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param next_q[] = {
    {"count", "integer", NULL, "how many fires, 1-1000 (default 10)"},
    {"from", "string", "date-time", "fires after this instant (default now)"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param runs_q[] = {
    {"job", "string", NULL, "only runs of this job, NAMESPACE/NAME"},
    {"state", "string", NULL, "only runs in this state (queued, running, succeeded, ...)"},
    {"since", "string", "date-time", "only runs fired at or after this instant"},
    {"until", "string", "date-time", "only runs fired before this instant"},
    {"limit", "integer", NULL, "items per page, 1-1000 (default 100)"},
    {"cursor", "string", NULL, "the next_cursor of the previous page"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param dead_q[] = {
    {"job", "string", NULL, "only dead letters of this job, NAMESPACE/NAME"},
    {"limit", "integer", NULL, "items per page, 1-1000 (default 100)"},
    {"cursor", "string", NULL, "the next_cursor of the previous page"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param output_q[] = {
    {"stream", "string", NULL, "stdout or stderr only (default both, interleaved)"},
    {NULL, NULL, NULL, NULL},
};

#define JOB "/api/v1/jobs/{namespace}/{name}"

static const struct api_route routes[] = {
    {.method = "GET",
     .path = "/healthz",
     .fn = api_health,
     .summary = "Whether the server and its store answer",
     .status = 200,
     .reply_schema = "Health"},
    {.method = "GET",
     .path = "/api/v1/openapi.json",
     .fn = api_openapi,
     .summary = "This document",
     .status = 200,
     .reply_schema = "OpenAPI"},
    {.method = "GET",
     .path = "/api/v1/jobs",
     .fn = api_jobs_list,
     .summary = "List jobs",
     .query = jobs_q,
     .status = 200,
     .reply_schema = "JobList"},
    {.method = "POST",
     .path = "/api/v1/jobs",
     .fn = api_job_create,
     .summary = "Create a job",
     .body = API_BODY_REQUIRED,
     .body_schema = "Job",
     .status = 201,
     .reply_schema = "JobView"},
    {.method = "GET",
     .path = JOB,
     .fn = api_job_show,
     .summary = "Show a job",
     .status = 200,
     .reply_schema = "JobView"},
    {.method = "PUT",
     .path = JOB,
     .fn = api_job_replace,
     .summary = "Replace (or create) a job with a whole document",
     .body = API_BODY_REQUIRED,
     .body_schema = "Job",
     .status = 200,
     .reply_schema = "JobView"},
    {.method = "PATCH",
     .path = JOB,
     .fn = api_job_patch,
     .summary = "Change a job by a JSON merge patch (RFC 7386)",
     .body = API_BODY_REQUIRED,
     .body_schema = "JobPatch",
     .status = 200,
     .reply_schema = "JobView"},
    {.method = "DELETE",
     .path = JOB,
     .fn = api_job_delete,
     .summary = "Delete a job (its runs stay until pruned)",
     .status = 204},
    {.method = "POST",
     .path = JOB "/pause",
     .fn = api_job_pause,
     .summary = "Pause a job",
     .status = 200,
     .reply_schema = "JobView"},
    {.method = "POST",
     .path = JOB "/resume",
     .fn = api_job_resume,
     .summary = "Resume a paused job",
     .status = 200,
     .reply_schema = "JobView"},
    {.method = "POST",
     .path = JOB "/trigger",
     .fn = api_job_trigger,
     .summary = "Run a job now",
     .body = API_BODY_OPTIONAL,
     .body_schema = "Trigger",
     .status = 202,
     .reply_schema = "RunRef"},
    {.method = "GET",
     .path = JOB "/next",
     .fn = api_job_next,
     .summary = "The next fires of a job",
     .query = next_q,
     .status = 200,
     .reply_schema = "Instants"},
    {.method = "GET",
     .path = JOB "/versions",
     .fn = api_job_versions,
     .summary = "List the versions of a job, newest first",
     .query = list_q,
     .status = 200,
     .reply_schema = "VersionList"},
    {.method = "GET",
     .path = JOB "/versions/{version}",
     .fn = api_job_version,
     .summary = "One version of a job, with its document",
     .status = 200,
     .reply_schema = "JobVersion"},
    {.method = "POST",
     .path = "/api/v1/preview",
     .fn = api_preview,
     .summary = "The next fires of a draft job document (nothing is saved)",
     .query = next_q,
     .body = API_BODY_REQUIRED,
     .body_schema = "Job",
     .status = 200,
     .reply_schema = "Instants"},
    {.method = "GET",
     .path = "/api/v1/runs",
     .fn = api_runs_list,
     .summary = "List runs, newest fire first",
     .query = runs_q,
     .status = 200,
     .reply_schema = "RunList"},
    {.method = "GET",
     .path = "/api/v1/runs/{id}",
     .fn = api_run_show,
     .summary = "Show a run",
     .status = 200,
     .reply_schema = "Run"},
    {.method = "POST",
     .path = "/api/v1/runs/{id}/cancel",
     .fn = api_run_cancel,
     .summary = "Cancel a queued or running run",
     .status = 202,
     .reply_schema = "Run"},
    {.method = "GET",
     .path = "/api/v1/runs/{id}/output",
     .fn = api_run_output,
     .summary = "A run's output as text (Range supported), or followed live as "
                "Server-Sent Events with Accept: text/event-stream",
     .query = output_q,
     .status = 200,
     .reply_type = "text/plain"},
    {.method = "GET",
     .path = "/api/v1/dead-letters",
     .fn = api_dead_list,
     .summary = "List dead letters: fires whose last attempt failed",
     .query = dead_q,
     .status = 200,
     .reply_schema = "DeadLetterList"},
    {.method = "POST",
     .path = "/api/v1/dead-letters/{run_id}/requeue",
     .fn = api_dead_requeue,
     .summary = "Run the dead letter's job again now, and drop the dead letter",
     .status = 202,
     .reply_schema = "RunRef"},
};

#undef JOB

/* The path parameters a template may use. */
static const struct api_param path_params[] = {
    {"namespace", "string", NULL, "the job's namespace"},
    {"name", "string", NULL, "the job's name"},
    {"version", "integer", NULL, "a version of the job"},
    {"id", "integer", NULL, "a run id"},
    {"run_id", "integer", NULL, "the run id of the dead letter"},
};

static const char schemas[] =
    "{"
    "\"Duration\":{\"oneOf\":[{\"type\":\"string\",\"example\":\"1h30m\"},"
    "{\"type\":\"integer\",\"description\":\"seconds\"}],\"nullable\":true},"
    "\"Size\":{\"oneOf\":[{\"type\":\"string\",\"example\":\"512M\"},"
    "{\"type\":\"integer\",\"description\":\"bytes\"}],\"nullable\":true},"
    "\"StringMap\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
    "\"Schedule\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"description\":\"exactly one of cron, every, at, after, manual\",\"properties\":{"
    "\"cron\":{\"type\":\"string\",\"example\":\"0 2 * * *\"},"
    "\"timezone\":{\"type\":\"string\",\"nullable\":true,\"example\":\"Europe/Berlin\"},"
    "\"every\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"start\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"jitter\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"after\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"when\":{\"type\":\"string\",\"enum\":[\"success\",\"failure\",\"always\"]},"
    "\"manual\":{\"type\":\"boolean\"}}},"
    "\"Job\":{\"type\":\"object\",\"required\":[\"name\",\"schedule\"],"
    "\"description\":\"a job document; a member not listed here is refused (400 naming it), "
    "but for the read-only members of a JobView, which writes ignore\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9][a-z0-9._-]{0,62}$\"},"
    "\"namespace\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9][a-z0-9._-]{0,62}$\","
    "\"default\":\"default\"},"
    "\"description\":{\"type\":\"string\",\"nullable\":true},"
    "\"schedule\":{\"$ref\":\"#/components/schemas/Schedule\"},"
    "\"command\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1},"
    "\"shell\":{\"type\":\"string\"},"
    "\"workdir\":{\"type\":\"string\",\"nullable\":true},"
    "\"env\":{\"$ref\":\"#/components/schemas/StringMap\"},"
    "\"timeout\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"kill_grace\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"retry\":{\"type\":\"object\",\"properties\":{"
    "\"max_attempts\":{\"type\":\"integer\",\"minimum\":1},"
    "\"backoff\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"factor\":{\"type\":\"number\"},"
    "\"max_backoff\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"jitter\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}}},"
    "\"concurrency\":{\"type\":\"string\",\"enum\":[\"forbid\",\"allow\",\"queue\",\"replace\"]},"
    "\"max_instances\":{\"type\":\"integer\",\"minimum\":1},"
    "\"misfire\":{\"type\":\"object\",\"properties\":{"
    "\"grace\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"catch_up\":{\"type\":\"string\",\"enum\":[\"none\",\"latest\",\"all\"]},"
    "\"max_catch_up\":{\"type\":\"integer\"}}},"
    "\"priority\":{\"oneOf\":[{\"type\":\"string\","
    "\"enum\":[\"low\",\"normal\",\"high\",\"critical\"]},{\"type\":\"integer\"}]},"
    "\"limits\":{\"type\":\"object\",\"properties\":{"
    "\"memory\":{\"$ref\":\"#/components/schemas/Size\"},"
    "\"cpu_time\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"processes\":{\"type\":\"integer\",\"nullable\":true},"
    "\"open_files\":{\"type\":\"integer\",\"nullable\":true},"
    "\"output\":{\"$ref\":\"#/components/schemas/Size\"}}},"
    "\"disable_after_failures\":{\"type\":\"integer\",\"minimum\":0},"
    "\"notify\":{\"type\":\"object\",\"additionalProperties\":"
    "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
    "\"labels\":{\"$ref\":\"#/components/schemas/StringMap\"},"
    "\"paused\":{\"type\":\"boolean\"}}},"
    "\"JobPatch\":{\"type\":\"object\",\"description\":\"a JSON merge patch of a Job; "
    "null removes a member\"},"
    "\"JobState\":{\"type\":\"object\",\"properties\":{"
    "\"paused\":{\"type\":\"boolean\"},"
    "\"consecutive_failures\":{\"type\":\"integer\"},"
    "\"last_fire\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true}}},"
    "\"JobView\":{\"description\":\"the canonical document, paused as the job is now, with "
    "read-only members that writes ignore\",\"allOf\":["
    "{\"$ref\":\"#/components/schemas/Job\"},{\"type\":\"object\",\"properties\":{"
    "\"version\":{\"type\":\"integer\"},"
    "\"next_fire\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"state\":{\"$ref\":\"#/components/schemas/JobState\"}}}]},"
    "\"Version\":{\"type\":\"object\",\"properties\":{"
    "\"version\":{\"type\":\"integer\"},"
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"author\":{\"type\":\"string\",\"nullable\":true},"
    "\"doc_bytes\":{\"type\":\"integer\"}}},"
    "\"JobVersion\":{\"allOf\":[{\"$ref\":\"#/components/schemas/Version\"},"
    "{\"type\":\"object\",\"properties\":{\"document\":{\"$ref\":\"#/components/schemas/Job\"}}}]},"
    "\"Run\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"integer\"},"
    "\"job\":{\"type\":\"string\",\"example\":\"sales-team-1/nightly-import\"},"
    "\"job_version\":{\"type\":\"integer\"},"
    "\"fire_time\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"reason\":{\"type\":\"string\","
    "\"enum\":[\"schedule\",\"manual\",\"retry\",\"after\",\"catch_up\"]},"
    "\"attempt\":{\"type\":\"integer\"},"
    "\"state\":{\"type\":\"string\",\"enum\":[\"queued\",\"running\",\"succeeded\",\"failed\","
    "\"timed_out\",\"cancelled\",\"skipped\",\"missed\",\"lost\"]},"
    "\"queued_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"started_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"finished_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"pid\":{\"type\":\"integer\",\"nullable\":true},"
    "\"exit_code\":{\"type\":\"integer\",\"nullable\":true},"
    "\"signal\":{\"type\":\"integer\",\"nullable\":true},"
    "\"cpu_user_ms\":{\"type\":\"integer\",\"nullable\":true},"
    "\"cpu_sys_ms\":{\"type\":\"integer\",\"nullable\":true},"
    "\"max_rss_kb\":{\"type\":\"integer\",\"nullable\":true},"
    "\"output_bytes\":{\"type\":\"integer\",\"nullable\":true},"
    "\"error\":{\"type\":\"string\",\"nullable\":true},"
    "\"node\":{\"type\":\"string\",\"nullable\":true},"
    "\"triggered_by\":{\"type\":\"string\",\"nullable\":true}}},"
    "\"DeadLetter\":{\"type\":\"object\",\"properties\":{"
    "\"run_id\":{\"type\":\"integer\"},"
    "\"job\":{\"type\":\"string\"},"
    "\"fire_time\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"reason\":{\"type\":\"string\",\"nullable\":true},"
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"}}},"
    "\"Trigger\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"env\":{\"$ref\":\"#/components/schemas/StringMap\"}}},"
    "\"RunRef\":{\"type\":\"object\",\"properties\":{\"run_id\":{\"type\":\"integer\"}}},"
    "\"Instants\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\","
    "\"items\":{\"type\":\"string\",\"format\":\"date-time\"}}}},"
    "\"Health\":{\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\"}}},"
    "\"OpenAPI\":{\"type\":\"object\"},"
    "\"Problem\":{\"type\":\"object\",\"description\":\"RFC 9457\",\"properties\":{"
    "\"type\":{\"type\":\"string\",\"format\":\"uri\"},"
    "\"title\":{\"type\":\"string\"},"
    "\"status\":{\"type\":\"integer\"},"
    "\"detail\":{\"type\":\"string\"},"
    "\"field\":{\"type\":\"string\",\"nullable\":true,"
    "\"description\":\"the input at fault: a document path or a parameter\"}}}"
    "}";

/* List envelopes, one per item schema: NAME of ITEM. */
static const struct {
    const char *name;
    const char *item;
} lists[] = {
    {"JobList", "JobView"},
    {"RunList", "Run"},
    {"VersionList", "Version"},
    {"DeadLetterList", "DeadLetter"},
};

const struct api_route *api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

/* ---- dispatch ---- */

/* Whether template T matches the N segments SEG; the "{x}" ones go to
 * PARAMS (API_PATH_PARAMS of them at most). */
static bool route_match(const char *t, char *const *seg, size_t n, const char **params,
                        size_t *ret_np)
{
    size_t i = 0, np = 0;

    while (*t == '/') {
        const char *s = t + 1, *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);

        if (i == n)
            return false;
        if (s[0] == '{') {
            if (np == API_PATH_PARAMS)
                return false;
            params[np++] = seg[i];
        } else if (strlen(seg[i]) != len || memcmp(seg[i], s, len) != 0) {
            return false;
        }
        i++;
        t = s + len;
    }
    if (i != n)
        return false;
    *ret_np = np;
    return true;
}

int api_route_find(struct api_call *c, char *allow, size_t allow_len)
{
    const char *method = strcmp(c->method, "HEAD") ? c->method : "GET";
    char *seg[SEGMENTS_MAX], *p = c->path;
    const char *params[API_PATH_PARAMS];
    size_t n = 0, np, i, used = 0;
    bool known = false;

    allow[0] = '\0';
    if (*p != '/')
        goto unknown;
    while (*p == '/') {
        *p++ = '\0';
        if (n == SEGMENTS_MAX || *p == '\0' || *p == '/')
            goto unknown; /* too deep, or an empty segment */
        seg[n++] = p;
        p += strcspn(p, "/");
    }
    for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!route_match(routes[i].path, seg, n, params, &np))
            continue;
        known = true;
        if (!strcmp(routes[i].method, method)) {
            c->route = &routes[i];
            memcpy(c->params, params, np * sizeof params[0]);
            c->n_params = np;
            return 0;
        }
        used += (size_t)snprintf(allow + used, used < allow_len ? allow_len - used : 0, "%s%s",
                                 used ? ", " : "", routes[i].method);
        if (!strcmp(routes[i].method, "GET"))
            used +=
                (size_t)snprintf(allow + used, used < allow_len ? allow_len - used : 0, ", HEAD");
    }
    if (known)
        return err_set(&c->err, API_EMETHOD, "", "%s is not allowed here; allowed: %s", c->method,
                       allow);
unknown:
    return err_set(&c->err, CHIME_ENOTFOUND, "", "no such path");
}

/* ---- the OpenAPI document ---- */

static json_t *schema_ref(const char *name)
{
    char ref[96];

    snprintf(ref, sizeof ref, "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", ref);
}

static json_t *param_json(const struct api_param *p, const char *in)
{
    json_t *schema = json_pack("{s:s}", "type", p->type);

    if (schema && p->format)
        json_object_set_new(schema, "format", json_string(p->format));
    return json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", p->name, "in", in, "required",
                     !strcmp(in, "path"), "description", p->doc, "schema", schema);
}

/* The parameters of R: those of its path, then its query. */
static json_t *route_params(const struct api_route *r)
{
    json_t *a = json_array();
    const char *t = r->path;
    const struct api_param *q;

    while (a && (t = strchr(t, '{'))) {
        size_t len = strcspn(t + 1, "}"), i;

        for (i = 0; i < sizeof path_params / sizeof path_params[0]; i++)
            if (strlen(path_params[i].name) == len && !memcmp(path_params[i].name, t + 1, len))
                json_array_append_new(a, param_json(&path_params[i], "path"));
        t += len + 1;
    }
    for (q = r->query; a && q && q->name; q++)
        json_array_append_new(a, param_json(q, "query"));
    return a;
}

static json_t *route_operation(const struct api_route *r)
{
    json_t *op, *responses, *reply;
    char status[8];

    responses = json_pack("{s:{s:s, s:{s:{s:o}}}}", "default", "description", "a problem",
                          "content", "application/problem+json", "schema", schema_ref("Problem"));
    if (r->reply_schema)
        reply = json_pack("{s:s, s:{s:{s:o}}}", "description", r->summary, "content",
                          "application/json", "schema", schema_ref(r->reply_schema));
    else if (r->reply_type)
        reply = json_pack("{s:s, s:{s:{s:{s:s}}, s:{s:{s:s}}}}", "description", r->summary,
                          "content", r->reply_type, "schema", "type", "string", "text/event-stream",
                          "schema", "type", "string");
    else
        reply = json_pack("{s:s}", "description", r->summary);
    snprintf(status, sizeof status, "%u", r->status);
    if (!responses || json_object_set_new(responses, status, reply) < 0) {
        json_decref(responses);
        return NULL;
    }
    op = json_pack("{s:s, s:o, s:o}", "summary", r->summary, "parameters", route_params(r),
                   "responses", responses);
    if (op && r->body_schema) {
        json_t *content =
            json_pack("{s:{s:o}}", "application/json", "schema", schema_ref(r->body_schema));

        if (content && !strcmp(r->method, "PATCH"))
            json_object_set_new(content, "application/merge-patch+json",
                                json_pack("{s:o}", "schema", schema_ref(r->body_schema)));
        json_object_set_new(
            op, "requestBody",
            json_pack("{s:b, s:o}", "required", r->body == API_BODY_REQUIRED, "content", content));
    }
    return op;
}

int api_openapi_build(char **ret, size_t *ret_len, struct err *err)
{
    json_t *doc = NULL, *paths, *comp;
    json_error_t jerr;
    char *text = NULL;
    size_t i;
    int rc = 0;

    comp = json_loads(schemas, 0, &jerr);
    if (!comp)
        return err_set(err, CHIME_EINVAL, "", "schemas at column %d: %s", jerr.column, jerr.text);
    paths = json_object();
    if (!paths)
        goto nomem;
    for (i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        json_t *l = json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:s, s:b}, s:{s:s, s:b}}}", "type",
                              "object", "properties", "items", "type", "array", "items",
                              schema_ref(lists[i].item), "next_cursor", "type", "string",
                              "nullable", 1, "total", "type", "integer", "nullable", 1);

        if (!l || json_object_set_new(comp, lists[i].name, l) < 0)
            goto nomem;
    }
    for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct api_route *r = &routes[i];
        json_t *item = json_object_get(paths, r->path), *op = route_operation(r);
        char method[16];
        size_t k;

        for (k = 0; r->method[k] && k + 1 < sizeof method; k++)
            method[k] = (char)(r->method[k] | 0x20); /* ASCII lower case */
        method[k] = '\0';
        if (!item) {
            item = json_object();
            if (!item || json_object_set_new(paths, r->path, item) < 0) {
                json_decref(op);
                goto nomem;
            }
        }
        if (!op || json_object_set_new(item, method, op) < 0)
            goto nomem;
    }
    doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:O, s:{s:O}}", "openapi", "3.0.3", "info", "title",
                    "chime", "version", "1", "description",
                    "chime, a batch job scheduler: its REST API. Errors are "
                    "application/problem+json.",
                    "paths", paths, "components", "schemas", comp);
    if (!doc)
        goto nomem;
    text = json_dumps(doc, JSON_INDENT(1));
    if (!text)
        goto nomem;
    *ret = text;
    *ret_len = strlen(text);
    goto done;
nomem:
    rc = err_set(err, CHIME_ENOMEM, "", "out of memory building the OpenAPI document");
done:
    json_decref(doc);
    json_decref(paths);
    json_decref(comp);
    return rc;
}
