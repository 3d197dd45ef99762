/* openapi.c: the OpenAPI document of /api/v1/openapi.json, made from the
 * route table (routes.c) and the job document's own tables.
 *
 * Nothing here is written twice: each operation comes from its route row
 * (operationId, parameters, body, reply, the headers it sends, the
 * problems it can answer), the Job schemas from job_fields() (the rows the
 * job reader reads by, so a member the reader accepts is a member the
 * schema lists, with its type, bounds and names), and the list envelopes
 * from one row each. SCHEMAS below holds the other resources' shapes; each
 * names in "required" the members its reply always carries, so a
 * generated client types them as present. OpenAPI 3.0: a member that may
 * be null says "nullable" beside its "type". */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "sched/health.h"
#include "store/vocab.h"
#include "../banned.h"

#define FIELDS_MAX 64           /* members of one object of a job document */

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


static json_t *schema_ref(const char *name)
{
    char ref[96];

    snprintf(ref, sizeof ref, "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", ref);
}

/* ---- the job document's schemas, from job_fields() ---- */

static int object_schema(json_t *comp, const char *path, const char *name, bool written);

/* The component name of the object at PATH: "Job" + its members'
 * keys in CamelCase ("JobRetry", "JobParams"), + "Written" for the
 * canonical document's (whose members are all present). */
static void object_name(const char *path, bool written, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "Job");
    bool up = true;

    for (; *path && n + 1 < len; path++) {
        if (*path == '_' || *path == '.') {
            up = true;
            continue;
        }
        buf[n++] = up ? (char)(*path & ~0x20) : *path; /* ASCII upper case */
        up = false;
    }
    buf[n] = '\0';
    if (written)
        snprintf(buf + n, len - n, "Written");
}

/* A duration or a size: a string with units, or an integer of BASE. */
static json_t *units_schema(const struct job_field *f, const char *example, const char *base,
                            int64_t min)
{
    return json_pack("{s:[{s:s, s:s, s:b}, {s:s, s:I, s:s}]}", "oneOf", "type", "string",
                     "example", example, "nullable", (f->flags & JOB_FIELD_NULL) != 0, "type",
                     "integer", "minimum", (json_int_t)min, "description", base);
}

static json_t *field_schema(json_t *comp, const char *path, const struct job_field *f,
                            bool written)
{
    char sub[64], name[64];
    json_t *s = NULL, *e;

    switch (f->type) {
    case JOB_FIELD_OBJECT:
    case JOB_FIELD_MAP:
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", f->key);
        object_name(sub, written, name, sizeof name);
        if (object_schema(comp, sub, name, written) < 0)
            return NULL;
        if (f->type == JOB_FIELD_OBJECT)
            return schema_ref(name);
        return json_pack("{s:s, s:I, s:o}", "type", "object", "maxProperties",
                         (json_int_t)f->max, "additionalProperties", schema_ref(name));
    case JOB_FIELD_STRING:
        s = json_pack("{s:s}", "type", "string");
        if (s && f->min > 0)
            json_object_set_new(s, "minLength", json_integer(f->min));
        if (s && f->max > 0)
            json_object_set_new(s, "maxLength", json_integer(f->max));
        break;
    case JOB_FIELD_NAME:
        s = json_pack("{s:s, s:s}", "type", "string", "pattern", "^[a-z0-9][a-z0-9._-]{0,62}$");
        break;
    case JOB_FIELD_INTEGER:
        s = json_pack("{s:s, s:I, s:I}", "type", "integer", "minimum", (json_int_t)f->min,
                      "maximum", (json_int_t)f->max);
        break;
    case JOB_FIELD_NUMBER:
        s = json_pack("{s:s, s:f, s:f}", "type", "number", "minimum", f->dmin, "maximum",
                      f->dmax);
        break;
    case JOB_FIELD_BOOLEAN:
        s = f->min ? json_pack("{s:s, s:[b]}", "type", "boolean", "enum", 1)
                   : json_pack("{s:s}", "type", "boolean");
        break;
    case JOB_FIELD_DURATION:
        s = units_schema(f, "1m30s", "seconds", (f->min + 999999) / 1000000);
        break;
    case JOB_FIELD_SIZE:
        s = units_schema(f, "512M", "bytes", f->min);
        break;
    case JOB_FIELD_INSTANT:
        s = json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
        break;
    case JOB_FIELD_ENUM:
        e = json_array();
        for (size_t i = 0; e && f->names[i].name; i++)
            json_array_append_new(e, json_string(f->names[i].name));
        s = json_pack("{s:s, s:o}", "type", "string", "enum", e);
        if (s && f->max > 0)
            s = json_pack("{s:[o, {s:s, s:I, s:I}]}", "oneOf", s, "type", "integer", "minimum",
                          (json_int_t)f->min, "maximum", (json_int_t)f->max);
        break;
    case JOB_FIELD_STRINGS:
        s = json_pack("{s:s, s:{s:s}, s:I, s:I}", "type", "array", "items", "type", "string",
                      "minItems", (json_int_t)f->min, "maxItems", (json_int_t)f->max);
        break;
    case JOB_FIELD_NAMES:
        s = json_pack("{s:s, s:{s:s, s:s}, s:I, s:b}", "type", "array", "items", "type",
                      "string", "pattern", "^[a-z0-9][a-z0-9._-]{0,62}$", "maxItems",
                      (json_int_t)f->max, "uniqueItems", 1);
        break;
    case JOB_FIELD_LABELS:
        s = json_pack("{s:s, s:I, s:{s:s}}", "type", "object", "maxProperties",
                      (json_int_t)f->max, "additionalProperties", "type", "string");
        break;
    case JOB_FIELD_ENV:
        s = json_pack("{s:s, s:I, s:{s:[{s:s}, o]}}", "type", "object", "maxProperties",
                      (json_int_t)f->max, "additionalProperties", "oneOf", "type", "string",
                      schema_ref("Secret"));
        break;
    }
    if (s && (f->flags & JOB_FIELD_NULL) && json_object_get(s, "type"))
        json_object_set_new(s, "nullable", json_true());
    if (s && f->doc)
        json_object_set_new(s, "description", json_string(f->doc));
    if (s && f->example)
        json_object_set_new(s, "example", json_string(f->example));
    return s;
}

/* The object at PATH as component NAME (once). WRITTEN: as job_to_json()
 * writes it, every member present but those it leaves out at times; else
 * as a writer sends it, only the reader's required members required. */
static int object_schema(json_t *comp, const char *path, const char *name, bool written)
{
    struct job_field f[FIELDS_MAX];
    json_t *o, *props, *req;
    int n = job_fields(path, f, FIELDS_MAX);

    if (n < 0 || n > FIELDS_MAX)
        return -1;
    if (json_object_get(comp, name))
        return 0;
    o = json_pack("{s:s, s:{}, s:[]}", "type", "object", "properties", "required");
    if (!o || json_object_set_new(comp, name, o) < 0)
        return -1;
    props = json_object_get(o, "properties");
    req = json_object_get(o, "required");
    for (int i = 0; i < n; i++) {
        bool must = written ? !(f[i].flags & JOB_FIELD_AT_TIMES)
                            : (f[i].flags & JOB_FIELD_REQUIRED) != 0;

        if (json_object_set_new(props, f[i].key, field_schema(comp, path, &f[i], written)) < 0)
            return -1;
        if (must && json_array_append_new(req, json_string(f[i].key)) < 0)
            return -1;
    }
    if (json_array_size(req) == 0)
        json_object_del(o, "required");
    /* the document itself takes a view's read-only members back (and
     * ignores them), so only its nested objects refuse unknown members */
    if (*path)
        json_object_set_new(o, "additionalProperties", json_false());
    return 0;
}

/* Job (what a writer sends), JobDocument (the canonical document, as
 * stored and in a version) and JobView (the document with the read-only
 * members a job's answers add). */
static int job_schemas(json_t *comp)
{
    json_t *doc, *view;

    if (object_schema(comp, "", "Job", false) < 0 || object_schema(comp, "", "JobWritten", true) < 0)
        return -1;
    doc = json_object_get(comp, "JobWritten");
    json_incref(doc);
    json_object_del(comp, "JobWritten");
    if (json_object_set_new(comp, "JobDocument", doc) < 0)
        return -1;
    json_object_set_new(json_object_get(comp, "Job"), "description",
                        json_string("a job document (docs/jobs.md): a member not listed is "
                                    "refused (400 naming it), but for the read-only members "
                                    "of a JobView, which writes ignore; a null member reads "
                                    "as an absent one"));
    json_object_set_new(doc, "description",
                        json_string("the canonical job document: every member with its "
                                    "effective value, none written as null"));
    view = json_pack(
        "{s:s, s:[o, {s:s, s:{s:{s:s}, s:{s:s, s:s, s:b}, s:{s:s, s:s}, s:{s:s, s:s},"
        " s:o, s:{s:s, s:b, s:s, s:[o]}, s:{s:s, s:{s:s}, s:s}},"
        " s:[s, s, s, s, s, s, s]}]}",
        "description", "the canonical document, paused as the job is now, with read-only "
        "members that writes ignore", "allOf", schema_ref("JobDocument"), "type", "object",
        "properties", "version", "type", "integer", "next_fire", "type", "string", "format",
        "date-time", "nullable", 1, "created_at", "type", "string", "format", "date-time",
        "updated_at", "type", "string", "format", "date-time", "state",
        schema_ref("JobState"), "last_run", "type", "object", "nullable", 1, "description",
        "the job's last run that started; null: none yet", "allOf", schema_ref("LastRun"),
        "warnings", "type", "array", "items", "type", "string", "description",
        "in the answer to a save only (create, replace, patch, rollback): what the save "
        "warns of, e.g. a first fire already older than the misfire grace, which is "
        "recorded as missed",
        "required", "paused", "version", "next_fire", "created_at", "updated_at", "state",
        "last_run");
    return view ? json_object_set_new(comp, "JobView", view) : -1;
}

/* Health's checks: one member per check the engine has, each there. */
static int health_checks(json_t *comp)
{
    json_t *health = json_object_get(comp, "Health");
    json_t *checks = json_object_get(json_object_get(health, "properties"), "checks");
    json_t *props = json_object(), *req = json_array();

    for (int ch = 0; props && req && ch < HEALTH_CHECK_COUNT; ch++) {
        const char *name = health_check_name((enum health_check)ch);

        if (json_object_set_new(props, name, schema_ref("HealthCheck")) < 0
            || json_array_append_new(req, json_string(name)) < 0)
            break;
    }
    if (!checks || !props || !req || json_object_size(props) != HEALTH_CHECK_COUNT
        || json_array_size(req) != HEALTH_CHECK_COUNT) {
        json_decref(props);
        json_decref(req);
        return -1;
    }
    json_object_set_new(checks, "properties", props);
    return json_object_set_new(checks, "required", req);
}

/* ---- the operations ---- */



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

/* The problems (components/responses) an operation can answer, by the
 * row's shape: any may be 400 (an unknown query parameter, or a malformed
 * path, query or body), its path names something (404 absent), it reads a
 * body (413 past its size, 415 not JSON),
 * it conflicts (409), it takes a Range (416), it needs a token (401, 403,
 * and 429 for too many failed authentications). Any may also answer 500,
 * 503 or 507: "default". */
static const struct {
    const char *status;
    const char *name;
    const char *doc;
    bool retry_after;
} problems[] = {
    {"400", "BadRequest",
     "the request is malformed, a value is invalid or a query parameter unknown (field names "
     "it)"},
    {"401", "Unauthorized", "no token, or not a valid one (WWW-Authenticate: Bearer)"},
    {"403", "Forbidden", "the token's role cannot do this"},
    {"404", "NotFound", "no such thing, or one outside the token's namespaces"},
    {"409", NULL, NULL}, /* the row's .conflict says what it means */
    {"413", "TooBig", "the body or a value is too big"},
    {"415", "UnsupportedMediaType", "the body is not JSON"},
    {"416", "RangeNotSatisfiable", "the Range starts past the end"},
    {"429", "TooManyRequests",
     "too many failed authentications from this address or with this token id (a valid token "
     "is never refused), or past a trigger budget; Retry-After says when to try again", true},
    {"default", "Problem", "an error of the daemon (500, 503 out of memory, 507 disk full)"},
};

static json_t *problem_responses(void)
{
    json_t *o = json_object();

    for (size_t i = 0; o && i < sizeof problems / sizeof problems[0]; i++) {
        json_t *r;

        if (!problems[i].name)
            continue;
        r = json_pack("{s:s, s:{s:{s:o}}}", "description", problems[i].doc, "content",
                              "application/problem+json", "schema", schema_ref("Problem"));

        if (r && problems[i].retry_after)
            json_object_set_new(r, "headers",
                                json_pack("{s:{s:s, s:b, s:{s:s, s:i}}}", "Retry-After",
                                          "description", "seconds to wait", "required", 1,
                                          "schema", "type", "integer", "minimum", 0));
        if (json_object_set_new(o, problems[i].name, r) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Sets RESPONSES[STATUS] to the shared problem response of that status;
 * DOC, when given, says what it means here. */
static int add_problem(json_t *responses, const char *status, const char *doc)
{
    char ref[96];

    for (size_t i = 0; i < sizeof problems / sizeof problems[0]; i++) {
        if (strcmp(problems[i].status, status) != 0)
            continue;
        if (doc)
            return json_object_set_new(
                responses, status,
                json_pack("{s:s, s:{s:{s:o}}}", "description", doc, "content",
                          "application/problem+json", "schema", schema_ref("Problem")));
        snprintf(ref, sizeof ref, "#/components/responses/%s", problems[i].name);
        return json_object_set_new(responses, status, json_pack("{s:s}", "$ref", ref));
    }
    return -1;
}

/* Whether R's query takes a job (a job outside the token's namespaces is
 * answered 404, as one that does not exist). */
static bool query_names_job(const struct api_route *r)
{
    for (const struct api_param *q = r->query; q && q->name; q++)
        if (!strcmp(q->name, "job"))
            return true;
    return false;
}

static int route_problems(json_t *responses, const struct api_route *r)
{
    bool named = strchr(r->path, '{') != NULL || query_names_job(r);
    int rc = add_problem(responses, "default", NULL);

    if (rc == 0)
        rc = add_problem(responses, "400", NULL);
    if (rc == 0 && r->not_found)
        rc = add_problem(responses, "404", r->not_found);
    else if (rc == 0 && named)
        rc = add_problem(responses, "404", NULL);
    if (rc == 0 && r->conflict)
        rc = add_problem(responses, "409", r->conflict);
    if (rc == 0 && r->body_schema)
        rc = add_problem(responses, "413", NULL);
    if (rc == 0 && r->body_schema)
        rc = add_problem(responses, "415", NULL);
    if (rc == 0 && r->ranges)
        rc = add_problem(responses, "416", NULL);
    if (rc == 0 && r->access != API_PUBLIC)
        rc = add_problem(responses, "401", NULL);
    if (rc == 0 && r->forbidden)
        rc = add_problem(responses, "403", r->forbidden);
    else if (rc == 0 && r->access != API_PUBLIC && r->access != API_SCRAPE
             && r->access != API_VIEWER)
        rc = add_problem(responses, "403", NULL);
    if (rc == 0 && r->access != API_PUBLIC)
        rc = add_problem(responses, "429", NULL);
    return rc;
}

/* The success reply of R with STATUS: its body and the headers it sends. */
static json_t *route_reply(const struct api_route *r, unsigned status)
{
    json_t *reply, *headers = json_object();

    if (r->reply_schema && status != 206)
        reply = json_pack("{s:s, s:{s:{s:o}}}", "description", r->summary, "content",
                          "application/json", "schema", schema_ref(r->reply_schema));
    else if (r->reply_type && r->events && status != 206)
        reply = json_pack("{s:s, s:{s:{s:{s:s}}, s:{s:{s:s}}}}", "description", r->summary,
                          "content", r->reply_type, "schema", "type", "string", "text/event-stream",
                          "schema", "type", "string");
    else if (r->reply_type)
        reply = json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", r->summary, "content",
                          r->reply_type, "schema", "type", "string");
    else
        reply = json_pack("{s:s}", "description", r->summary);
    if (headers && r->location && (status == 201 || status == 202))
        json_object_set_new(headers, "Location",
                            json_pack("{s:s, s:b, s:{s:s}}", "description",
                                      "the path of what was made", "required", 1, "schema",
                                      "type", "string"));
    if (headers && r->etag)
        json_object_set_new(headers, "ETag",
                            json_pack("{s:s, s:b, s:{s:s}}", "description",
                                      "the job's version, quoted: what If-Match takes back",
                                      "required", 1, "schema", "type", "string"));
    if (headers && r->ranges)
        json_object_set_new(headers, "Accept-Ranges",
                            json_pack("{s:s, s:{s:s}}", "description",
                                      "bytes (not on an event stream)", "schema", "type",
                                      "string"));
    if (headers && r->ranges && status == 206)
        json_object_set_new(headers, "Content-Range",
                            json_pack("{s:s, s:b, s:{s:s}}", "description",
                                      "bytes FIRST-LAST/LENGTH: the part sent", "required", 1,
                                      "schema", "type", "string"));
    if (reply && json_object_size(headers))
        json_object_set(reply, "headers", headers);
    json_decref(headers);
    return reply;
}

/* Sets RESPONSES[STATUS] to R's success reply with that status. */
static int add_reply(json_t *responses, const struct api_route *r, unsigned status)
{
    char code[16];

    snprintf(code, sizeof code, "%u", status);
    return json_object_set_new(responses, code, route_reply(r, status));
}

static json_t *route_operation(const struct api_route *r)
{
    json_t *op, *responses = json_object();

    if (!responses || add_reply(responses, r, r->status) < 0
        /* a PUT that makes the job answers 201 with its Location */
        || (r->location && r->status == 200 && add_reply(responses, r, 201) < 0)
        /* a Range answers 206 with the part asked for */
        || (r->ranges && add_reply(responses, r, 206) < 0)
        || (r->status_too && add_reply(responses, r, r->status_too) < 0)
        || route_problems(responses, r) < 0) {
        json_decref(responses);
        return NULL;
    }
    op = json_pack("{s:s, s:s, s:o, s:o}", "operationId", r->op, "summary", r->summary,
                   "parameters", route_params(r), "responses", responses);
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
    if (op && r->access == API_PUBLIC)
        json_object_set_new(op, "security", json_array());
    else if (op)
        json_object_set_new(op, "x-chime-role", json_string(api_access_name(r->access)));
    return op;
}

/* The enums of the schemas above, left empty there: the vocabularies'
 * names from store/vocab.h's tables, so the document cannot drift from
 * what the API writes. */
#define VOCAB_NAME(id, name, ...) name,
static const char *const run_states[] = { STORE_RUN_STATES(VOCAB_NAME) };
static const char *const reasons[] = { STORE_REASONS(VOCAB_NAME) };
static const char *const events[] = { STORE_EVENTS(VOCAB_NAME) };
static const char *const roles[] = { STORE_ROLES(VOCAB_NAME) };
#undef VOCAB_NAME

static const struct {
    const char *schema, *member;
    const char *const *names;
    size_t n;
} vocab_enums[] = {
    { "Run", "reason", reasons, sizeof reasons / sizeof reasons[0] },
    { "Run", "state", run_states, sizeof run_states / sizeof run_states[0] },
    { "Notification", "event", events, sizeof events / sizeof events[0] },
    { "Token", "role", roles, sizeof roles / sizeof roles[0] },
    { "NewToken", "role", roles, sizeof roles / sizeof roles[0] },
};

static int vocab_enums_fill(json_t *comp)
{
    for (size_t i = 0; i < sizeof vocab_enums / sizeof vocab_enums[0]; i++) {
        json_t *m = json_object_get(
            json_object_get(json_object_get(comp, vocab_enums[i].schema), "properties"),
            vocab_enums[i].member);
        json_t *e = json_object_get(m, "enum");

        if (!json_is_array(e) || json_array_size(e) != 0)
            return -1;
        for (size_t k = 0; k < vocab_enums[i].n; k++)
            if (json_array_append_new(e, json_string(vocab_enums[i].names[k])) < 0)
                return -1;
    }
    return 0;
}

int api_openapi_build(char **ret, size_t *ret_len, struct err *err)
{
    json_t *doc = NULL, *paths, *comp, *responses = NULL;
    const struct api_route *routes;
    json_error_t jerr;
    char *text = NULL;
    size_t i, n_routes;
    int rc = 0;

    comp = json_loads(api_openapi_schemas, 0, &jerr);
    if (!comp)
        return err_set(err, CHIME_EINVAL, "", "schemas at column %d: %s", jerr.column, jerr.text);
    paths = json_object();
    responses = problem_responses();
    if (!paths || !responses || job_schemas(comp) < 0 || health_checks(comp) < 0
        || vocab_enums_fill(comp) < 0)
        goto nomem;
    for (i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        json_t *l = json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:s, s:b, s:s}, s:{s:s, s:b, s:s}},"
                              " s:[s, s, s]}",
                              "type", "object", "properties", "items", "type", "array", "items",
                              schema_ref(lists[i].item), "next_cursor", "type", "string",
                              "nullable", 1, "description", "null: the last page", "total",
                              "type", "integer", "nullable", 1, "description",
                              "how many there are in all, when counted", "required", "items",
                              "next_cursor", "total");

        if (!l || json_object_set_new(comp, lists[i].name, l) < 0)
            goto nomem;
    }
    routes = api_routes(&n_routes);
    for (i = 0; i < n_routes; i++) {
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
    doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:s}], s:O, s:{s:O, s:O, s:{s:{s:s, s:s, s:s}}}, s:[{s:[]}]}",
                    "openapi", "3.0.3", "info", "title", "chime", "version", "1", "description",
                    "chime, a batch job scheduler: its REST API. Every route but /healthz "
                    "needs Authorization: Bearer TOKEN; x-chime-role names the role a route "
                    "needs. A job or run outside the token's namespaces is answered 404, as "
                    "if it did not exist. Errors are application/problem+json.",
                    "servers", "url", "/", "description", "the daemon that serves this document",
                    "paths", paths, "components", "schemas", comp, "responses", responses, "securitySchemes", "bearer",
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
    json_decref(responses);
    json_decref(comp);
    return rc;
}
