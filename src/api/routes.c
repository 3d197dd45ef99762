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
     .fn = api_health,
     .summary = "The daemon's health: ok, degraded or failing (then 503), with reasons; "
                "no token needed (a valid one also lists stuck runs by job)",
     .status = 200,
     .reply_schema = "Health",
     .access = API_PUBLIC},
    {.method = "GET",
     .path = "/metrics",
     .fn = api_metrics,
     .summary = "Metrics in the Prometheus text format (any token, or none when the daemon "
                "runs with --metrics-open)",
     .status = 200,
     .reply_type = "text/plain; version=0.0.4",
     .access = API_SCRAPE},
    {.method = "GET",
     .path = "/api/v1/openapi.json",
     .fn = api_openapi,
     .summary = "This document",
     .status = 200,
     .reply_schema = "OpenAPI",
     .access = API_VIEWER},
    {.method = "GET",
     .path = "/api/v1/jobs",
     .fn = api_jobs_list,
     .summary = "List jobs",
     .query = jobs_q,
     .status = 200,
     .reply_schema = "JobList",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/jobs",
     .fn = api_job_create,
     .summary = "Create a job",
     .body = API_BODY_REQUIRED,
     .body_schema = "Job",
     .status = 201,
     .reply_schema = "JobView",
     .access = API_ADMIN},
    {.method = "GET",
     .path = JOB,
     .fn = api_job_show,
     .summary = "Show a job",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_VIEWER},
    {.method = "PUT",
     .path = JOB,
     .fn = api_job_replace,
     .summary = "Replace (or create) a job with a whole document",
     .body = API_BODY_REQUIRED,
     .body_schema = "Job",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_ADMIN},
    {.method = "PATCH",
     .path = JOB,
     .fn = api_job_patch,
     .summary = "Change a job by a JSON merge patch (RFC 7386)",
     .body = API_BODY_REQUIRED,
     .body_schema = "JobPatch",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_ADMIN},
    {.method = "DELETE",
     .path = JOB,
     .fn = api_job_delete,
     .summary = "Delete a job (its runs stay until pruned)",
     .status = 204,
     .access = API_ADMIN},
    {.method = "POST",
     .path = JOB "/pause",
     .fn = api_job_pause,
     .summary = "Pause a job",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_OPERATOR},
    {.method = "POST",
     .path = JOB "/resume",
     .fn = api_job_resume,
     .summary = "Resume a paused job",
     .status = 200,
     .reply_schema = "JobView",
     .access = API_OPERATOR},
    {.method = "POST",
     .path = JOB "/trigger",
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
     .fn = api_job_next,
     .summary = "The next fires of a job",
     .query = next_q,
     .status = 200,
     .reply_schema = "Instants",
     .access = API_VIEWER},
    {.method = "GET",
     .path = JOB "/versions",
     .fn = api_job_versions,
     .summary = "List the versions of a job, newest first",
     .query = list_q,
     .status = 200,
     .reply_schema = "VersionList",
     .access = API_VIEWER},
    {.method = "GET",
     .path = JOB "/versions/{version}",
     .fn = api_job_version,
     .summary = "One version of a job, with its document",
     .status = 200,
     .reply_schema = "JobVersion",
     .access = API_VIEWER},
    {.method = "GET",
     .path = JOB "/diff",
     .fn = api_job_diff,
     .summary = "The field-by-field differences between two versions of a job",
     .query = diff_q,
     .status = 200,
     .reply_schema = "Diff",
     .access = API_VIEWER},
    {.method = "POST",
     .path = JOB "/rollback",
     .fn = api_job_rollback,
     .summary = "Make a new version whose document is an earlier version's (If-Match: the "
                "version it replaces)",
     .body = API_BODY_REQUIRED,
     .body_schema = "Rollback",
     .status = 200,
     .reply_schema = "JobView"},
    {.method = "POST",
     .path = "/api/v1/preview",
     .fn = api_preview,
     .summary = "The next fires of a draft job document (nothing is saved)",
     .query = next_q,
     .body = API_BODY_REQUIRED,
     .body_schema = "Job",
     .status = 200,
     .reply_schema = "Instants",
     .access = API_VIEWER,
     .no_audit = true},
    {.method = "GET",
     .path = "/api/v1/export",
     .fn = api_export,
     .summary = "Every job document the token sees, as one export file",
     .query = export_q,
     .status = 200,
     .reply_schema = "ExportFile",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/import",
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
     .fn = api_backup,
     .summary = "An online backup: a tar archive of the database, consistent as of one "
                "moment, and the run output files, streamed; X-Chime-Sha256 is its SHA-256",
     .status = 200,
     .reply_type = "application/x-tar",
     .access = API_ROOT},
    {.method = "GET",
     .path = "/api/v1/runs",
     .fn = api_runs_list,
     .summary = "List runs, newest fire first",
     .query = runs_q,
     .status = 200,
     .reply_schema = "RunList",
     .access = API_VIEWER},
    {.method = "GET",
     .path = "/api/v1/runs/{id}",
     .fn = api_run_show,
     .summary = "Show a run",
     .status = 200,
     .reply_schema = "Run",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/runs/{id}/cancel",
     .fn = api_run_cancel,
     .summary = "Cancel a queued or running run",
     .status = 202,
     .reply_schema = "Run",
     .access = API_OPERATOR},
    {.method = "GET",
     .path = "/api/v1/runs/{id}/output",
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
     .fn = api_dead_list,
     .summary = "List dead letters: fires whose last attempt failed",
     .query = dead_q,
     .status = 200,
     .reply_schema = "DeadLetterList",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/dead-letters/{run_id}/requeue",
     .fn = api_dead_requeue,
     .summary = "Run the dead letter's job again now, and drop the dead letter",
     .status = 202,
     .reply_schema = "RunRef",
     .access = API_OPERATOR},
    {.method = "GET",
     .path = "/api/v1/tokens",
     .fn = api_tokens_list,
     .summary = "List tokens (never their secrets)",
     .query = tokens_q,
     .status = 200,
     .reply_schema = "TokenList",
     .access = API_ROOT},
    {.method = "POST",
     .path = "/api/v1/tokens",
     .fn = api_token_create,
     .summary = "Create a token; the answer holds its secret, shown this once",
     .body = API_BODY_REQUIRED,
     .body_schema = "NewToken",
     .status = 201,
     .reply_schema = "TokenSecret",
     .access = API_ROOT},
    {.method = "DELETE",
     .path = "/api/v1/tokens/{token}",
     .fn = api_token_revoke,
     .summary = "Revoke a token by its name",
     .status = 204,
     .access = API_ROOT},
    {.method = "GET",
     .path = "/api/v1/audit",
     .fn = api_audit_list,
     .summary = "The audit log: every changing request, newest first",
     .query = audit_q,
     .status = 200,
     .reply_schema = "AuditList",
     .access = API_ADMIN},
    {.method = "GET",
     .path = "/api/v1/notifications",
     .fn = api_notifications_list,
     .summary = "List notifications (the outbox: an event for a channel, with its delivery), "
                "newest first",
     .query = notifications_q,
     .status = 200,
     .reply_schema = "NotificationList",
     .access = API_VIEWER},
    {.method = "GET",
     .path = "/api/v1/notifications/{notification_id}",
     .fn = api_notification_show,
     .summary = "Show a notification",
     .status = 200,
     .reply_schema = "Notification",
     .access = API_VIEWER},
    {.method = "POST",
     .path = "/api/v1/notifications/{notification_id}/retry",
     .fn = api_notification_retry,
     .summary = "Send a failed notification again (the same delivery id, attempts counted anew)",
     .status = 202,
     .reply_schema = "Notification",
     .access = API_OPERATOR},
    {.method = "GET",
     .path = "/api/v1/channels",
     .fn = api_channels_list,
     .summary = "List the notification channels (from the daemon's channels file; no secrets)",
     .status = 200,
     .reply_schema = "ChannelList",
     .access = API_VIEWER},
};

#undef JOB

/* The path parameters a template may use. */
static const struct api_param path_params[] = {
    {"namespace", "string", NULL, "the job's namespace"},
    {"name", "string", NULL, "the job's name"},
    {"version", "integer", NULL, "a version of the job"},
    {"id", "integer", NULL, "a run id"},
    {"run_id", "integer", NULL, "the run id of the dead letter"},
    {"token", "string", NULL, "a token's name"},
    {"notification_id", "integer", NULL, "a notification id"},
};

static const char schemas[] =
    "{"
    "\"Duration\":{\"oneOf\":[{\"type\":\"string\",\"example\":\"1h30m\"},"
    "{\"type\":\"integer\",\"description\":\"seconds\"}],\"nullable\":true},"
    "\"Size\":{\"oneOf\":[{\"type\":\"string\",\"example\":\"512M\"},"
    "{\"type\":\"integer\",\"description\":\"bytes\"}],\"nullable\":true},"
    "\"StringMap\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
    "\"Env\":{\"type\":\"object\",\"description\":\"variables of the job's environment: "
    "a value, or a secret (docs/secrets.md)\",\"additionalProperties\":{\"oneOf\":["
    "{\"type\":\"string\"},{\"$ref\":\"#/components/schemas/Secret\"}]}},"
    "\"Secret\":{\"type\":\"object\",\"required\":[\"secret\"],\"additionalProperties\":false,"
    "\"description\":\"written as {secret: VALUE}, stored sealed, shown as {secret: {redacted: "
    "TAG}}; writing the redacted form back keeps the stored secret whose tag it is\","
    "\"properties\":{\"secret\":{\"oneOf\":[{\"type\":\"string\",\"minLength\":1},"
    "{\"type\":\"object\",\"required\":[\"redacted\"],\"additionalProperties\":false,"
    "\"properties\":{\"redacted\":{\"type\":\"string\"}}},"
    "{\"type\":\"object\",\"required\":[\"v\",\"box\"],\"additionalProperties\":false,"
    "\"properties\":{\"v\":{\"type\":\"integer\",\"enum\":[1]},"
    "\"box\":{\"type\":\"string\"}}}]}}},"
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
    "\"env\":{\"$ref\":\"#/components/schemas/Env\"},"
    "\"params\":{\"type\":\"object\",\"maxProperties\":64,\"description\":\"the variables a "
    "manual trigger may set ({params: {NAME: VALUE}}), each value matching its pattern as a "
    "whole; names the loader, a shell or chime reads (LD_*, BASH_ENV, PATH, CHIME_*, ...) and "
    "names in env are refused\",\"additionalProperties\":{\"type\":\"object\","
    "\"required\":[\"pattern\"],\"additionalProperties\":false,\"properties\":{"
    "\"pattern\":{\"type\":\"string\",\"maxLength\":256,"
    "\"description\":\"a POSIX extended regular expression, without back-references\"},"
    "\"default\":{\"type\":\"string\",\"nullable\":true,\"maxLength\":1024,"
    "\"description\":\"the value of a run not given one; null: the variable is unset\"},"
    "\"description\":{\"type\":\"string\",\"nullable\":true}}}},"
    "\"timeout\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"kill_grace\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"stuck_after\":{\"$ref\":\"#/components/schemas/Duration\","
    "\"description\":\"a run this long is stuck (/healthz, the stuck notification); null: "
    "3 x the p95 of its recent runs (at least 1m), or its timeout + kill_grace when sooner\"},"
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
    "\"retention\":{\"type\":\"object\",\"description\":\"history kept; each limit "
    "alone deletes, null is the daemon's --keep-* default\",\"properties\":{"
    "\"runs\":{\"type\":\"integer\",\"minimum\":1,\"nullable\":true},"
    "\"for\":{\"$ref\":\"#/components/schemas/Duration\"},"
    "\"output\":{\"$ref\":\"#/components/schemas/Size\"},"
    "\"dead_letters\":{\"type\":\"integer\",\"minimum\":1,\"nullable\":true}}},"
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
    "\"state\":{\"$ref\":\"#/components/schemas/JobState\"},"
    "\"warnings\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"description\":\"in the answer to a save only (create, replace, patch, rollback): "
    "what the save warns of, e.g. a first fire already older than the misfire grace, "
    "which is recorded as missed\"}}}]},"
    "\"Version\":{\"type\":\"object\",\"properties\":{"
    "\"version\":{\"type\":\"integer\"},"
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"author\":{\"type\":\"string\",\"nullable\":true},"
    "\"doc_bytes\":{\"type\":\"integer\"}}},"
    "\"JobVersion\":{\"allOf\":[{\"$ref\":\"#/components/schemas/Version\"},"
    "{\"type\":\"object\",\"properties\":{\"document\":{\"$ref\":\"#/components/schemas/Job\"}}}]},"
    "\"Change\":{\"type\":\"object\",\"description\":\"one field that differs; arrays "
    "are compared whole\",\"properties\":{"
    "\"op\":{\"type\":\"string\",\"enum\":[\"changed\",\"added\",\"removed\"]},"
    "\"path\":{\"type\":\"string\",\"example\":\"schedule.cron\"},"
    "\"pointer\":{\"type\":\"string\",\"description\":\"RFC 6901\"},"
    "\"from\":{\"description\":\"absent when added\"},"
    "\"to\":{\"description\":\"absent when removed\"}}},"
    "\"Diff\":{\"type\":\"object\",\"properties\":{"
    "\"job\":{\"type\":\"string\"},\"from\":{\"type\":\"integer\"},"
    "\"to\":{\"type\":\"integer\"},"
    "\"from_created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"to_created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"equal\":{\"type\":\"boolean\"},"
    "\"changes\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Change\"}}}},"
    "\"Rollback\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"version\"],\"properties\":{"
    "\"version\":{\"type\":\"integer\",\"minimum\":1}}},"
    "\"ExportToken\":{\"type\":\"object\",\"description\":\"never a secret or its hash\","
    "\"properties\":{\"name\":{\"type\":\"string\"},\"role\":{\"type\":\"string\"},"
    "\"namespaces\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"nullable\":true},"
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"expires_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true}}},"
    "\"ExportFile\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"chime_export\",\"jobs\"],\"properties\":{"
    "\"chime_export\":{\"type\":\"integer\",\"enum\":[1]},"
    "\"exported_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"jobs\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Job\"}},"
    "\"tokens\":{\"type\":\"array\",\"description\":\"listed, never imported\","
    "\"items\":{\"$ref\":\"#/components/schemas/ExportToken\"}}}},"
    "\"ImportItem\":{\"type\":\"object\",\"properties\":{"
    "\"job\":{\"type\":\"string\"},"
    "\"action\":{\"type\":\"string\",\"enum\":[\"create\",\"change\",\"unchanged\","
    "\"remove\"]},"
    "\"index\":{\"type\":\"integer\",\"nullable\":true,\"description\":\"in the file\"},"
    "\"version\":{\"type\":\"integer\",\"nullable\":true},"
    "\"new_version\":{\"type\":\"integer\",\"nullable\":true},"
    "\"changes\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Change\"}}}},"
    "\"ImportPlan\":{\"type\":\"object\",\"properties\":{"
    "\"dry_run\":{\"type\":\"boolean\"},\"prune\":{\"type\":\"boolean\"},"
    "\"applied\":{\"type\":\"boolean\"},"
    "\"namespace\":{\"type\":\"string\",\"nullable\":true},"
    "\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/ImportItem\"}},"
    "\"summary\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}},"
    "\"other_namespaces\":{\"type\":\"integer\"},"
    "\"tokens_not_imported\":{\"type\":\"integer\"},"
    "\"warnings\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},"
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
    "\"Notification\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"integer\"},"
    "\"delivery_id\":{\"type\":\"string\",\"description\":\"random, the same on every attempt: "
    "what receivers deduplicate by (the X-Chime-Delivery header)\"},"
    "\"job\":{\"type\":\"string\",\"nullable\":true,\"description\":\"null for the daemon's "
    "own events (error_rate, error_rate_ok), which only a token of every namespace sees\"},"
    "\"run_id\":{\"type\":\"integer\",\"nullable\":true},"
    "\"event\":{\"type\":\"string\",\"enum\":[\"failure\",\"success\",\"timeout\",\"retry\","
    "\"recovery\",\"disabled\",\"stuck\",\"error_rate\",\"error_rate_ok\"]},"
    "\"channel\":{\"type\":\"string\"},"
    "\"state\":{\"type\":\"string\",\"enum\":[\"pending\",\"delivering\",\"delivered\","
    "\"failed\"]},"
    "\"attempts\":{\"type\":\"integer\"},"
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"next_attempt_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"delivered_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"last_status\":{\"type\":\"integer\",\"nullable\":true,"
    "\"description\":\"the last answer's HTTP or SMTP code\"},"
    "\"last_error\":{\"type\":\"string\",\"nullable\":true},"
    "\"payload\":{\"type\":\"object\",\"description\":\"the event as recorded (docs/notify.md)\"}}},"
    "\"Channel\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\"},"
    "\"kind\":{\"type\":\"string\",\"enum\":[\"webhook\",\"slack\",\"email\"]},"
    "\"target\":{\"type\":\"string\",\"description\":\"scheme, host and port (the path and "
    "credentials are not shown)\"},"
    "\"namespaces\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"nullable\":true},"
    "\"timeout\":{\"type\":\"string\"},"
    "\"connect_timeout\":{\"type\":\"string\"},"
    "\"retry\":{\"type\":\"object\"},"
    "\"signed\":{\"type\":\"boolean\"},"
    "\"from\":{\"type\":\"string\"},"
    "\"to\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},"
    "\"Trigger\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"params\":{\"$ref\":\"#/components/schemas/StringMap\","
    "\"description\":\"values of the job's declared params (400 naming any other)\"}}},"
    "\"RunRef\":{\"type\":\"object\",\"properties\":{\"run_id\":{\"type\":\"integer\"}}},"
    "\"Instants\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\","
    "\"items\":{\"type\":\"string\",\"format\":\"date-time\"}},"
    "\"warnings\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"description\":\"the preview only: what saving the draft would warn of\"}}},"
    "\"HealthCheck\":{\"type\":\"object\",\"properties\":{"
    "\"status\":{\"type\":\"string\",\"enum\":[\"ok\",\"degraded\",\"failing\"]},"
    "\"reason\":{\"type\":\"string\",\"nullable\":true}},"
    "\"additionalProperties\":true,\"description\":\"the check's numbers: store "
    "(last_commit), loop (lag_ms, threshold_ms), stuck_runs (count; runs with a token), "
    "error_rate (failed, finished, window_s, threshold, min_runs), disk (free_bytes, "
    "total_bytes, degraded_below, failing_below)\"},"
    "\"Health\":{\"type\":\"object\",\"description\":\"200 when ok or degraded, 503 when "
    "failing (same body)\",\"properties\":{"
    "\"status\":{\"type\":\"string\",\"enum\":[\"ok\",\"degraded\",\"failing\"]},"
    "\"reasons\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"checks\":{\"type\":\"object\",\"properties\":{"
    "\"store\":{\"$ref\":\"#/components/schemas/HealthCheck\"},"
    "\"loop\":{\"$ref\":\"#/components/schemas/HealthCheck\"},"
    "\"stuck_runs\":{\"$ref\":\"#/components/schemas/HealthCheck\"},"
    "\"error_rate\":{\"$ref\":\"#/components/schemas/HealthCheck\"},"
    "\"disk\":{\"$ref\":\"#/components/schemas/HealthCheck\"}}}}},"
    "\"Token\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"string\",\"description\":\"the public id in the secret; not secret\"},"
    "\"name\":{\"type\":\"string\"},"
    "\"role\":{\"type\":\"string\",\"enum\":[\"viewer\",\"operator\",\"admin\"]},"
    "\"namespaces\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"nullable\":true,"
    "\"description\":\"null: every namespace\"},"
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"created_by\":{\"type\":\"string\",\"nullable\":true},"
    "\"expires_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"revoked_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true}}},"
    "\"NewToken\":{\"type\":\"object\",\"required\":[\"name\",\"role\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"name\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9][a-z0-9._-]{0,62}$\"},"
    "\"role\":{\"type\":\"string\",\"enum\":[\"viewer\",\"operator\",\"admin\"]},"
    "\"namespaces\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"nullable\":true,"
    "\"minItems\":1,\"description\":\"absent or null: every namespace\"},"
    "\"expires\":{\"$ref\":\"#/components/schemas/Duration\"}}},"
    "\"TokenSecret\":{\"allOf\":[{\"$ref\":\"#/components/schemas/Token\"},"
    "{\"type\":\"object\",\"properties\":{\"secret\":{\"type\":\"string\","
    "\"description\":\"the bearer token; shown only in this answer\"}}}]},"
    "\"AuditEntry\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"integer\"},"
    "\"at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"token\":{\"type\":\"string\",\"nullable\":true},"
    "\"address\":{\"type\":\"string\",\"nullable\":true},"
    "\"method\":{\"type\":\"string\"},"
    "\"route\":{\"type\":\"string\"},"
    "\"path\":{\"type\":\"string\"},"
    "\"job\":{\"type\":\"string\",\"nullable\":true},"
    "\"run_id\":{\"type\":\"integer\",\"nullable\":true},"
    "\"version_before\":{\"type\":\"integer\",\"nullable\":true},"
    "\"version_after\":{\"type\":\"integer\",\"nullable\":true},"
    "\"status\":{\"type\":\"integer\"}}},"
    "\"OpenAPI\":{\"type\":\"object\"},"
    "\"Problem\":{\"type\":\"object\",\"description\":\"RFC 9457\",\"properties\":{"
    "\"type\":{\"type\":\"string\",\"format\":\"uri\"},"
    "\"title\":{\"type\":\"string\"},"
    "\"status\":{\"type\":\"integer\"},"
    "\"detail\":{\"type\":\"string\"},"
    "\"field\":{\"type\":\"string\",\"nullable\":true,"
    "\"description\":\"the input at fault: a document path or a parameter\"},"
    "\"run_id\":{\"type\":\"integer\",\"description\":\"a trigger's 409: the live run "
    "that refuses it\"}}}"
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
    {"TokenList", "Token"},
    {"AuditList", "AuditEntry"},
    {"NotificationList", "Notification"},
    {"ChannelList", "Channel"},
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

/* Who may call R, in OP: the role it needs ("x-chime-role") and the
 * answers authentication adds; public routes need no token at all. */
static void route_access(json_t *op, const struct api_route *r)
{
    static const char *const roles[] = {
        [API_ADMIN] = "admin",   [API_VIEWER] = "viewer", [API_OPERATOR] = "operator",
        [API_ROOT] = "admin of every namespace", [API_PUBLIC] = "none", [API_SCRAPE] = "viewer",
    };
    json_t *responses = json_object_get(op, "responses");
    const char *const answers[][2] = {
        {"401", "no token, or not a valid one (WWW-Authenticate: Bearer)"},
        {"403", "the token's role cannot do this"},
        {"429", "too many failed authentications from this address or with this token id "
                "(Retry-After); a valid token is never refused"},
    };

    if (r->access == API_PUBLIC) {
        json_object_set_new(op, "security", json_array());
        return;
    }
    json_object_set_new(op, "x-chime-role", json_string(roles[r->access]));
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++)
        json_object_set_new(responses, answers[i][0],
                            json_pack("{s:s, s:{s:{s:o}}}", "description", answers[i][1],
                                      "content", "application/problem+json", "schema",
                                      schema_ref("Problem")));
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
    else if (r->reply_type && r->events)
        reply = json_pack("{s:s, s:{s:{s:{s:s}}, s:{s:{s:s}}}}", "description", r->summary,
                          "content", r->reply_type, "schema", "type", "string", "text/event-stream",
                          "schema", "type", "string");
    else if (r->reply_type)
        reply = json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", r->summary, "content",
                          r->reply_type, "schema", "type", "string");
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
    if (op)
        route_access(op, r);
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
    doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:O, s:{s:O, s:{s:{s:s, s:s, s:s}}}, s:[{s:[]}]}",
                    "openapi", "3.0.3", "info", "title", "chime", "version", "1", "description",
                    "chime, a batch job scheduler: its REST API. Every route but /healthz "
                    "needs Authorization: Bearer TOKEN; x-chime-role names the role a route "
                    "needs. A job or run outside the token's namespaces is answered 404, as "
                    "if it did not exist. Errors are application/problem+json.",
                    "paths", paths, "components", "schemas", comp, "securitySchemes", "bearer",
                    "type", "http", "scheme", "bearer", "description",
                    "a chime token (chime_ID_SECRET): chime token create, or the admin.token "
                    "file of the data directory",
                    "security", "bearer");
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
