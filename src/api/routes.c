/* routes.c: the table of the API's routes, and the two things read from
 * it: dispatch (api_route_find) and the OpenAPI document.
 *
 * A route is one row; adding an endpoint is adding a row and its handler,
 * and it then appears in /api/v1/openapi.json with its parameters, body
 * and reply. The schemas the rows name are in SCHEMAS below: modest, but
 * they say what the handlers accept and answer. */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/exportdoc.h"
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

static const struct api_param tokens_q[] = {
    {"revoked", "boolean", NULL, "revoked tokens too (default false)"},
    {"limit", "integer", NULL, "items per page, 1-1000 (default 100)"},
    {"cursor", "string", NULL, "the next_cursor of the previous page"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param audit_q[] = {
    {"job", "string", NULL, "only entries of this job, NAMESPACE/NAME"},
    {"token", "string", NULL, "only entries of requests made with this token (its name)"},
    {"since", "string", "date-time", "only entries at or after this instant"},
    {"until", "string", "date-time", "only entries before this instant"},
    {"limit", "integer", NULL, "items per page, 1-1000 (default 100)"},
    {"cursor", "string", NULL, "the next_cursor of the previous page"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param diff_q[] = {
    {"from", "integer", NULL, "the version to compare from (required)"},
    {"to", "integer", NULL, "the version to compare to (default: the current one)"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param export_q[] = {
    {"namespace", "string", NULL, "only the jobs of this namespace"},
    {"tokens", "boolean", NULL,
     "list the tokens too, by name, role, namespaces and expiry, never a secret (an admin of "
     "every namespace only)"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param import_q[] = {
    {"dry_run", "boolean", NULL, "check and plan only: nothing is written"},
    {"prune", "boolean", NULL,
     "remove the jobs (of the namespace, or of every namespace the token sees) that the file "
     "does not have"},
    {"namespace", "string", NULL,
     "import only the file's jobs of this namespace, and prune only there"},
    {NULL, NULL, NULL, NULL},
};

static const struct api_param notifications_q[] = {
    {"state", "string", NULL, "only notifications in this state (pending, delivering, delivered,"
     " failed)"},
    {"job", "string", NULL, "only notifications of this job, NAMESPACE/NAME"},
    {"channel", "string", NULL, "only notifications to this channel"},
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
     .op = "getHealth",
     .fn = api_health,
     .summary = "The daemon's health: ok, degraded or failing (then 503), with reasons; "
                "no token needed (a valid one also lists stuck runs by job)",
     .status = 200,
     .status_too = 503,
     .reply_schema = "Health",
     .access = API_PUBLIC},
    {.method = "GET",
     .path = "/metrics",
     .op = "getMetrics",
     .fn = api_metrics,
     .summary = "Metrics in the Prometheus text format (any token, or none when the daemon "
                "runs with --metrics-open)",
     .status = 200,
     .reply_type = "text/plain; version=0.0.4",
     .access = API_SCRAPE},
    {.method = "GET",
     .path = "/api/v1/openapi.json",
     .op = "getOpenApi",
     .fn = api_openapi,
     .summary = "This document",
     .status = 200,
     .reply_schema = "OpenAPI",
     .access = API_VIEWER},
    {.method = "GET",
     .path = "/api/v1/jobs",
     .op = "listJobs",
     .fn = api_jobs_list,
     .summary = "List jobs",
     .query = jobs_q,
     .status = 200,
     .reply_schema = "JobList",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/jobs",
     .op = "createJob",
     .not_found = "the job's namespace is outside the token's",
     .conflict = "a job of that namespace and name exists",
     .etag = true,
     .location = true,
     .fn = api_job_create,
     .summary = "Create a job",
     .body = API_BODY_REQUIRED,
     .body_schema = "Job",
     .status = 201,
     .reply_schema = "JobView",
     .access = API_ADMIN},
    {.method = "GET",
     .path = JOB,
     .op = "getJob",
     .etag = true,
     .fn = api_job_show,
     .summary = "Show a job",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_VIEWER},
    {.method = "PUT",
     .path = JOB,
     .op = "replaceJob",
     .conflict = "the job is not at the version If-Match names",
     .etag = true,
     .location = true,
     .fn = api_job_replace,
     .summary = "Replace (or create) a job with a whole document",
     .body = API_BODY_REQUIRED,
     .body_schema = "Job",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_ADMIN},
    {.method = "PATCH",
     .path = JOB,
     .op = "patchJob",
     .conflict = "the job is not at the version If-Match names",
     .etag = true,
     .fn = api_job_patch,
     .summary = "Change a job by a JSON merge patch (RFC 7386)",
     .body = API_BODY_REQUIRED,
     .body_schema = "JobPatch",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_ADMIN},
    {.method = "DELETE",
     .path = JOB,
     .op = "deleteJob",
     .conflict = "the job is not at the version If-Match names",
     .fn = api_job_delete,
     .summary = "Delete a job (its runs stay until pruned)",
     .status = 204,
     .access = API_ADMIN},
    {.method = "POST",
     .path = JOB "/pause",
     .op = "pauseJob",
     .etag = true,
     .fn = api_job_pause,
     .summary = "Pause a job",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_OPERATOR},
    {.method = "POST",
     .path = JOB "/resume",
     .op = "resumeJob",
     .etag = true,
     .fn = api_job_resume,
     .summary = "Resume a paused job",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_OPERATOR},
    {.method = "POST",
     .path = JOB "/trigger",
     .op = "triggerJob",
     .conflict = "the job's concurrency refuses another run now (run_id: the live run)",
     .location = true,
     .fn = api_job_trigger,
     .summary = "Run a job now; 409 (with the live run_id) when the job's concurrency refuses, "
                "429 (Retry-After) past the triggers a minute of the job or the token",
     .body = API_BODY_OPTIONAL,
     .body_schema = "Trigger",
     .status = 202,
     .reply_schema = "RunRef",
     .access = API_OPERATOR},
    {.method = "GET",
     .path = JOB "/next",
     .op = "listJobFires",
     .fn = api_job_next,
     .summary = "The next fires of a job",
     .query = next_q,
     .status = 200,
     .reply_schema = "Instants",
     .access = API_VIEWER},
    {.method = "GET",
     .path = JOB "/versions",
     .op = "listJobVersions",
     .fn = api_job_versions,
     .summary = "List the versions of a job, newest first",
     .query = list_q,
     .status = 200,
     .reply_schema = "VersionList",
     .access = API_VIEWER},
    {.method = "GET",
     .path = JOB "/versions/{version}",
     .op = "getJobVersion",
     .fn = api_job_version,
     .summary = "One version of a job, with its document",
     .status = 200,
     .reply_schema = "JobVersion",
     .access = API_VIEWER},
    {.method = "GET",
     .path = JOB "/diff",
     .op = "diffJobVersions",
     .fn = api_job_diff,
     .summary = "The field-by-field differences between two versions of a job",
     .query = diff_q,
     .status = 200,
     .reply_schema = "Diff",
     .access = API_VIEWER},
    {.method = "POST",
     .path = JOB "/rollback",
     .op = "rollbackJob",
     .conflict = "the job is not at the version If-Match names",
     .etag = true,
     .fn = api_job_rollback,
     .summary = "Make a new version whose document is an earlier version's (If-Match: the "
                "version it replaces)",
     .body = API_BODY_REQUIRED,
     .body_schema = "Rollback",
     .status = 200,
     .reply_schema = "JobView"},
    {.method = "POST",
     .path = "/api/v1/preview",
     .op = "previewJob",
     .fn = api_preview,
     .summary = "The next fires of a draft job document (nothing is saved)",
     .query = next_q,
     .body = API_BODY_REQUIRED,
     .body_schema = "Job",
     .status = 200,
     .reply_schema = "Preview",
     .access = API_VIEWER,
     .no_audit = true},
    {.method = "GET",
     .path = "/api/v1/export",
     .op = "exportJobs",
     .forbidden = "tokens=true from a token that is not an admin of every namespace",
     .fn = api_export,
     .summary = "Every job document the token sees, as one export file",
     .query = export_q,
     .status = 200,
     .reply_schema = "ExportFile",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/import",
     .op = "importJobs",
     .not_found = "a job of the file, or the namespace asked for, is outside the token's "
                  "namespaces (errors lists each)",
     .conflict = "a job changed while the import was applied",
     .fn = api_import,
     .summary = "Check an export file whole and apply it all or nothing, with the plan of what "
                "is created, changed, left and removed",
     .query = import_q,
     .body = API_BODY_REQUIRED,
     .body_schema = "ExportFile",
     .body_max = EXPORTDOC_BYTES_MAX,
     .status = 200,
     .reply_schema = "ImportPlan"},
    {.method = "POST",
     .path = "/api/v1/backup",
     .op = "createBackup",
     .conflict = "a backup is being made already",
     .fn = api_backup,
     .summary = "An online backup: a tar archive of the database, consistent as of one "
                "moment, and the run output files, streamed; X-Chime-Sha256 is its SHA-256",
     .status = 200,
     .reply_type = "application/x-tar",
     .access = API_ROOT},
    {.method = "GET",
     .path = "/api/v1/runs",
     .op = "listRuns",
     .fn = api_runs_list,
     .summary = "List runs, newest fire first",
     .query = runs_q,
     .status = 200,
     .reply_schema = "RunList",
     .access = API_VIEWER},
    {.method = "GET",
     .path = "/api/v1/runs/{id}",
     .op = "getRun",
     .fn = api_run_show,
     .summary = "Show a run",
     .status = 200,
     .reply_schema = "Run",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/runs/{id}/cancel",
     .op = "cancelRun",
     .conflict = "the run has already ended",
     .fn = api_run_cancel,
     .summary = "Cancel a queued or running run",
     .status = 202,
     .reply_schema = "Run",
     .access = API_OPERATOR},
    {.method = "GET",
     .path = "/api/v1/runs/{id}/output",
     .op = "getRunOutput",
     .ranges = true,
     .fn = api_run_output,
     .summary = "A run's output as text (Range supported), or followed live as "
                "Server-Sent Events with Accept: text/event-stream",
     .query = output_q,
     .status = 200,
     .reply_type = "text/plain",
     .access = API_VIEWER,
     .events = true},
    {.method = "GET",
     .path = "/api/v1/dead-letters",
     .op = "listDeadLetters",
     .fn = api_dead_list,
     .summary = "List dead letters: fires whose last attempt failed",
     .query = dead_q,
     .status = 200,
     .reply_schema = "DeadLetterList",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/dead-letters/{run_id}/requeue",
     .op = "requeueDeadLetter",
     .location = true,
     .fn = api_dead_requeue,
     .summary = "Run the dead letter's job again now, and drop the dead letter",
     .status = 202,
     .reply_schema = "RunRef",
     .access = API_OPERATOR},
    {.method = "GET",
     .path = "/api/v1/tokens",
     .op = "listTokens",
     .fn = api_tokens_list,
     .summary = "List tokens (never their secrets)",
     .query = tokens_q,
     .status = 200,
     .reply_schema = "TokenList",
     .access = API_ROOT},
    {.method = "POST",
     .path = "/api/v1/tokens",
     .op = "createToken",
     .conflict = "a token of that name exists",
     .location = true,
     .fn = api_token_create,
     .summary = "Create a token; the answer holds its secret, shown this once",
     .body = API_BODY_REQUIRED,
     .body_schema = "NewToken",
     .status = 201,
     .reply_schema = "TokenSecret",
     .access = API_ROOT},
    {.method = "DELETE",
     .path = "/api/v1/tokens/{token}",
     .op = "revokeToken",
     .fn = api_token_revoke,
     .summary = "Revoke a token by its name",
     .status = 204,
     .access = API_ROOT},
    {.method = "GET",
     .path = "/api/v1/audit",
     .op = "listAudit",
     .fn = api_audit_list,
     .summary = "The audit log: every changing request, newest first",
     .query = audit_q,
     .status = 200,
     .reply_schema = "AuditList",
     .access = API_ADMIN},
    {.method = "GET",
     .path = "/api/v1/notifications",
     .op = "listNotifications",
     .fn = api_notifications_list,
     .summary = "List notifications (the outbox: an event for a channel, with its delivery), "
                "newest first",
     .query = notifications_q,
     .status = 200,
     .reply_schema = "NotificationList",
     .access = API_VIEWER},
    {.method = "GET",
     .path = "/api/v1/notifications/{notification_id}",
     .op = "getNotification",
     .fn = api_notification_show,
     .summary = "Show a notification",
     .status = 200,
     .reply_schema = "Notification",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/notifications/{notification_id}/retry",
     .op = "retryNotification",
     .conflict = "the notification is not failed",
     .fn = api_notification_retry,
     .summary = "Send a failed notification again (the same delivery id, attempts counted anew)",
     .status = 202,
     .reply_schema = "Notification",
     .access = API_OPERATOR},
    {.method = "GET",
     .path = "/api/v1/channels",
     .op = "listChannels",
     .fn = api_channels_list,
     .summary = "List the notification channels (from the daemon's channels file; no secrets)",
     .status = 200,
     .reply_schema = "ChannelList",
     .access = API_VIEWER},
};

#undef JOB

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
