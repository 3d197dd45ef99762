/* jobs.c: the handlers of /api/v1/jobs and /api/v1/preview (a job's
 * versions: versions.c; a manual trigger: trigger.c).
 *
 * A job write is: validate the whole document (job_from_json), then save
 * it through jobsave.h as every save of a job version is (checks, cycle
 * check, the store with its audit entry, the engine), all under
 * api->write_lock so the engine learns of versions in the order the store
 * wrote them. The store keeps the canonical document (job_to_json), so a
 * GET shows every effective value and a PATCH applies to what a GET shows.
 *
 * A job as the API shows it (a "view") is its canonical document with
 * "paused" as the job is now, and read-only members: version, next_fire,
 * created_at, updated_at, state and last_run. Writes drop those members,
 * so a view can be edited and PUT back. A single job's reply carries its
 * version as ETag, and PUT, PATCH and DELETE take it back in If-Match:
 * a job changed since is 409. The answer to a save also carries
 * "warnings", collected by api_job_warnings() alone. */
#include "api/api_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "job/jobsave.h"
#include "job/jobsecret.h"
#include "sched/sched.h"
#include "notify/notify.h"
#include "store/store.h"
#include "time/cron.h"
#include "time/isotime.h"
#include "time/units.h"
#include "../banned.h"

#define JOB_ID_LEN         (2 * JOB_NAME_MAX + 2)
#define NEXT_COUNT_DEFAULT 10
#define NEXT_COUNT_MAX     1000
#define CRON_FIELDS_MAX    6    /* second minute hour day month weekday */

/* Members of a view (and of a save's reply) that a write ignores. */
static const char *const view_only[] = {
    "version", "next_fire", "created_at", "updated_at", "state", "last_run", "warnings",
};

/* The job a route's {namespace}/{name} names. */
static int path_job(const struct api_call *c, char *ns, char *name, char *id, struct err *err)
{
    int rc = job_id_parse(c->params[1], c->params[0], ns, name, err);

    if (rc < 0)
        return rc;
    if (strchr(c->params[1], '/'))
        return err_set(err, CHIME_EINVAL, "job", "a job name has no '/'");
    snprintf(id, JOB_ID_LEN, "%s/%s", ns, name);
    return 0;
}

/* The newest run of job NS/NAME that ran or runs, briefly; null when it
 * has none. A skipped or missed run never ran: "last run" is how the job
 * went, and a fire that the concurrency policy skipped while the real run
 * went on says nothing about that (GET /runs lists those). */
static json_t *last_run(struct api_call *c, const char *ns, const char *name)
{
    struct store_run_filter f = {.ns = ns, .name = name, .ran = true, .limit = 1};
    struct store_run_page page = {0};
    struct err err = {0};
    json_t *r;

    if (store_run_list(c->api->opt.store, &f, &page, &err) < 0 || page.n == 0) {
        store_run_page_release(&page);
        return json_null();
    }
    r = json_pack("{s:I, s:s, s:o, s:o}", "id", (json_int_t)page.items[0].id, "state",
                  store_run_state_name(page.items[0].state), "fire_time",
                  api_json_instant(page.items[0].fire_us), "finished_at",
                  api_json_instant(page.items[0].finished_us));
    store_run_page_release(&page);
    return r;
}

/* The view of SJ, owned, in *RET. */
static int job_view(struct api_call *c, const struct store_job *sj, json_t **ret)
{
    const struct api_engine *e = &c->api->opt.engine;
    char id[JOB_ID_LEN];
    json_error_t jerr;
    json_t *v, *state;

    v = json_loadb(sj->doc, sj->doc_len, 0, &jerr);
    if (!json_is_object(v)) {
        json_decref(v);
        return err_set(&c->err, CHIME_EIO, "", "the stored document of %s/%s is not JSON", sj->ns,
                       sj->name);
    }
    /* a secret never leaves the store but as {"secret": {"redacted": TAG}} */
    if (job_doc_redact(v) < 0) {
        json_decref(v);
        return err_set(&c->err, CHIME_ENOMEM, "", "out of memory building the job");
    }
    snprintf(id, sizeof id, "%s/%s", sj->ns, sj->name);
    state = json_pack("{s:b, s:I, s:o}", "paused", sj->paused, "consecutive_failures",
                      (json_int_t)sj->consecutive_failures, "last_fire",
                      api_json_instant(sj->last_fire_us));
    if (json_object_set_new(v, "paused", json_boolean(sj->paused)) < 0
        || json_object_set_new(v, "version", json_integer(sj->version)) < 0
        || json_object_set_new(v, "next_fire", api_json_instant(e->job_next(e->ctx, id))) < 0
        || json_object_set_new(v, "created_at", api_json_instant(sj->created_us)) < 0
        || json_object_set_new(v, "updated_at", api_json_instant(sj->version_us)) < 0
        || json_object_set_new(v, "state", state) < 0
        || json_object_set_new(v, "last_run", last_run(c, sj->ns, sj->name)) < 0) {
        json_decref(v);
        return err_set(&c->err, CHIME_ENOMEM, "", "out of memory building the job");
    }
    *ret = v;
    return 0;
}

/* The version If-Match names ("N", W/"N" or N), in *RET; 0 when there is
 * no header or it is "*". */
static int if_match(const struct api_call *c, int64_t *ret, struct err *err)
{
    const char *h = api_header(c, "If-Match"), *p;
    char q[48], *end;
    bool quoted, bad;
    long long v;

    *ret = 0;
    if (!h || !strcmp(h, "*"))
        return 0;
    p = h + (strncmp(h, "W/", 2) ? 0 : 2);
    quoted = *p == '"';
    p += quoted;
    errno = 0;
    v = strtoll(p, &end, 10);
    bad = *p < '0' || *p > '9' || errno || v <= 0 || (quoted && *end++ != '"') || *end;
    if (bad)
        return err_set(err, CHIME_EINVAL, "If-Match", "'%s' is not a job version",
                       err_quote(h, 40, q, sizeof q));
    *ret = v;
    return 0;
}

json_t *api_job_warnings(const struct api_call *c, const struct job *j, int64_t last_fire_us)
{
    json_t *w = json_array();
    int64_t now = api_now_us();
    int64_t first = sched_first_fire(j, c->api->opt.default_zone, last_fire_us, now);
    char when[ISOTIME_LEN], grace[32], cw[CRON_FIELDS_MAX][CRON_WARNING_MAX];
    int ncw = j->sched.kind == JOB_CRON && j->body && j->body->cron_expr
                  ? cron_warnings(j->body->cron_expr, cw, CRON_FIELDS_MAX)
                  : 0;

    /* what crontab(5) accepts but probably was not meant (cron.h) */
    for (int i = 0; w && i < ncw; i++)
        json_array_append_new(w, json_sprintf("schedule.cron: %s", cw[i]));
    /* a first fire already past the grace is recorded missed, never run
     * (sched.h); a paused job's fires wait for no one */
    if (w && !j->paused && first != INT64_MAX && now - first > j->misfire.grace_us)
        json_array_append_new(
            w, json_sprintf("the first fire, %s, is older than the misfire grace (%s): it is "
                            "recorded as missed and does not run",
                            isotime_format_utc(first, when, sizeof when),
                            units_duration_format(j->misfire.grace_us, grace, sizeof grace)));
    return w;
}

/* Reads NS/NAME back and replies with its view (and, after a save, the
 * save's warnings). */
static int reply_job(struct api_call *c, unsigned status, const char *ns, const char *name)
{
    struct store_job sj = {0};
    json_t *v = NULL;
    int rc;

    rc = store_job_get(c->api->opt.store, ns, name, &sj, &c->err);
    if (rc < 0)
        return rc;
    rc = job_view(c, &sj, &v);
    if (rc == 0 && c->warnings) {
        json_object_set_new(v, "warnings", c->warnings);
        c->warnings = NULL;
    }
    if (rc == 0)
        api_reply_header(c, "ETag", "\"%" PRId64 "\"", sj.version);
    store_job_release(&sj);
    return rc < 0 ? rc : api_reply_json(c, status, v);
}

/* The body as a job document with the view's read-only members dropped;
 * a document is at most JOB_DOC_MAX bytes. */
static int body_doc(struct api_call *c, json_t **ret)
{
    json_t *doc;
    size_t i;
    int rc;

    if (c->body_len > (size_t)JOB_DOC_MAX)
        return err_set(&c->err, CHIME_ETOOBIG, "",
                       "a job document of %zu bytes is longer "
                       "than %d",
                       c->body_len, JOB_DOC_MAX);
    rc = api_body_object(c, &doc, &c->err);
    if (rc < 0)
        return rc;
    for (i = 0; i < sizeof view_only / sizeof view_only[0]; i++)
        json_object_del(doc, view_only[i]);
    *ret = doc;
    return 0;
}

/* The body as a validated job (POST /jobs, the preview), owned, in *RET. */
static int body_job(struct api_call *c, struct job **ret)
{
    json_t *doc = NULL;
    int rc;

    rc = body_doc(c, &doc);
    if (rc < 0)
        return rc;
    rc = job_from_json(doc, NULL, ret, &c->err);
    json_decref(doc);
    return rc;
}

/* A document written to a job's path names that job or no job: the
 * missing names are filled in from the path. */
static int doc_at_path(json_t *doc, const char *ns, const char *name, struct err *err)
{
    const struct {
        const char *member;
        const char *want;
    } names[] = {{"namespace", ns}, {"name", name}};
    char q[80];
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *v = json_object_get(doc, names[i].member);

        if (!v || json_is_null(v)) {
            if (json_object_set_new(doc, names[i].member, json_string(names[i].want)) < 0)
                return err_set(err, CHIME_ENOMEM, "", "out of memory");
            continue;
        }
        if (!json_is_string(v) || strcmp(json_string_value(v), names[i].want) != 0)
            return err_set(err, CHIME_EINVAL, names[i].member,
                           "'%s' does not match the path ('%s')",
                           json_is_string(v) ? err_quote(json_string_value(v), 60, q, sizeof q)
                                             : "(not a string)",
                           names[i].want);
    }
    return 0;
}

static bool call_sees(void *ctx, const char *ns)
{
    return api_auth_sees(ctx, ns);
}

/* the channels a job names exist, and its namespace may use them */
static int call_check(void *ctx, const struct job *j, struct err *err)
{
    struct api_call *c = ctx;

    return c->api->opt.notify ? notify_check_job(c->api->opt.notify, j, err) : 0;
}

int api_save_new(struct api_call *c, unsigned status_created, struct store_audit *audit,
                 char *target, size_t target_len, struct jobsave **ret)
{
    const struct api_options *o = &c->api->opt;
    struct jobsave_options so = {
        .store = o->store,
        .check = call_check,
        .secret_key = o->secret_key,
        .author = api_auth_who(c),
        .sees = call_sees,
        .ctx = c,
        .audit = audit,
        .status = 200,
        .status_created = status_created,
        .now_us = api_now_us(),
    };

    api_audit_entry(c, audit, 200, target, target_len);
    return jobsave_new(&so, ret, &c->err);
}

/* Saves J (taken) as its job's next version (jobsave.h), under the write
 * lock so that the engine learns of versions in the order the store wrote
 * them. EXPECT as jobsave_put()'s; *RET_CREATED (may be NULL) says
 * whether the job was new. */
static int job_save(struct api_call *c, struct job *j, int64_t expect, bool *ret_created)
{
    struct api *a = c->api;
    const struct api_engine *e = &a->opt.engine;
    struct store_audit audit;
    char target[API_PATH_MAX];
    struct jobsave *b = NULL;
    struct jobsave_item *it;
    int rc;

    api_audit_job(c, j->ns, j->name);
    pthread_mutex_lock(&a->write_lock);
    rc = api_save_new(c, ret_created || expect == STORE_NEW ? 201 : 200, &audit, target,
                      sizeof target, &b);
    if (rc < 0) {
        job_free(j);
        goto done;
    }
    rc = jobsave_put(b, j, expect, false, NULL, &c->err);
    if (rc < 0)
        goto done;
    it = jobsave_item(b, 0);
    rc = jobsave_check(b, &c->err);
    c->audit.before = it->cur_version; /* for the audit log (0: new) */
    if (rc == 0)
        rc = jobsave_write(b, &c->err);
    if (rc < 0)
        goto done;
    /* an unchanged job writes nothing: its entry goes with the answer */
    c->audit.after = it->act == JOBSAVE_UNCHANGED ? it->cur_version : it->version;
    c->audit.done = it->act != JOBSAVE_UNCHANGED;
    /* Saved: from here a failure leaves the store ahead of the engine,
     * which reads the store again when the daemon starts. */
    json_decref(c->warnings);
    c->warnings = api_job_warnings(c, it->job, it->cur_last_fire_us);
    if (it->act != JOBSAVE_UNCHANGED && (rc = e->jobs_apply(e->ctx, b, &c->err)) > 0) {
        c->err = it->err;
        rc = -it->err.code;
    }
    if (rc < 0)
        goto done;
    if (ret_created)
        *ret_created = it->act == JOBSAVE_CREATE;
done:
    pthread_mutex_unlock(&a->write_lock);
    jobsave_free(b);
    return rc < 0 ? rc : 0;
}

int api_openapi(struct api_call *c)
{
    char *text = malloc(c->api->openapi_len + 1);

    if (!text)
        return err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
    memcpy(text, c->api->openapi, c->api->openapi_len + 1);
    return api_reply_text(c, 200, text, c->api->openapi_len, "application/json");
}

int api_jobs_list(struct api_call *c)
{
    struct store_job_filter f = {0};
    struct store_job_page page = {0};
    const char *label = api_query(c, "label");
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], key[256], q[48];
    json_t *items = NULL;
    int64_t limit, total;
    size_t i;
    int rc;

    f.ns = api_query(c, "namespace");
    if (f.ns && job_id_parse("x", f.ns, ns, name, &c->err) < 0)
        return err_set(&c->err, CHIME_EINVAL, "namespace", "'%s' is not a namespace",
                       err_quote(f.ns, 40, q, sizeof q));
    if (label) {
        const char *eq = strchr(label, '=');

        if (!eq || eq == label || (size_t)(eq - label) >= sizeof key)
            return err_set(&c->err, CHIME_EINVAL, "label", "'%s' is not KEY=VALUE",
                           err_quote(label, 40, q, sizeof q));
        memcpy(key, label, (size_t)(eq - label));
        key[eq - label] = '\0';
        f.label_key = key;
        f.label_value = eq + 1;
    }
    rc = api_query_int(c, "limit", 1, STORE_LIMIT_MAX, STORE_LIMIT_DEFAULT, &limit, &c->err);
    if (rc < 0)
        return rc;
    f.limit = (int)limit;
    f.cursor = api_query(c, "cursor");
    f.ns_in = c->token_ns; /* only what the token sees */
    rc = store_job_list(c->api->opt.store, &f, &page, &c->err);
    if (rc < 0)
        return rc;
    rc = store_job_count(c->api->opt.store, &f, &total, &c->err);
    if (rc < 0)
        goto done;
    items = json_array();
    for (i = 0; items && i < page.n; i++) {
        json_t *v;

        rc = job_view(c, &page.items[i], &v);
        if (rc < 0)
            goto done;
        json_array_append_new(items, v);
    }
    rc = api_reply_json(c, 200, api_json_list(items, page.next_cursor, total));
    items = NULL;
done:
    json_decref(items);
    store_job_page_release(&page);
    return rc;
}

int api_job_create(struct api_call *c)
{
    struct job *j = NULL;
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    int rc;

    rc = body_job(c, &j);
    if (rc < 0)
        return rc;
    snprintf(ns, sizeof ns, "%s", j->ns);
    snprintf(name, sizeof name, "%s", j->name);
    /* a namespace the token does not see has no jobs to create */
    api_audit_job(c, ns, name);
    if ((rc = api_auth_job(c, ns, name)) < 0) {
        job_free(j);
        return rc;
    }
    rc = job_save(c, j, STORE_NEW, NULL);
    if (rc < 0)
        return rc;
    api_reply_header(c, "Location", "/api/v1/jobs/%s/%s", ns, name);
    /* the reply of a save is the job's view (what a save has to tell
     * beside it, such as warnings, goes into that view here) */
    return reply_job(c, 201, ns, name);
}

int api_job_show(struct api_call *c)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[JOB_ID_LEN];
    int rc = path_job(c, ns, name, id, &c->err);

    return rc < 0 ? rc : reply_job(c, 200, ns, name);
}

int api_job_replace(struct api_call *c)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[JOB_ID_LEN];
    struct job *j = NULL;
    json_t *doc = NULL;
    int64_t expect;
    bool created = false;
    int rc;

    rc = path_job(c, ns, name, id, &c->err);
    if (rc < 0)
        return rc;
    rc = if_match(c, &expect, &c->err);
    if (rc < 0)
        return rc;
    rc = body_doc(c, &doc);
    if (rc < 0)
        return rc;
    rc = doc_at_path(doc, ns, name, &c->err);
    if (rc == 0)
        rc = job_from_json(doc, ns, &j, &c->err);
    json_decref(doc);
    if (rc < 0)
        return rc;
    rc = job_save(c, j, expect, &created);
    if (rc < 0)
        return rc;
    if (created)
        api_reply_header(c, "Location", "/api/v1/jobs/%s/%s", ns, name);
    return reply_job(c, created ? 201 : 200, ns, name);
}

int api_job_patch(struct api_call *c)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[JOB_ID_LEN];
    struct store_job sj = {0};
    struct job *j = NULL;
    json_t *patch = NULL, *doc = NULL;
    json_error_t jerr;
    int64_t expect;
    size_t i;
    int rc;

    rc = path_job(c, ns, name, id, &c->err);
    if (rc < 0)
        return rc;
    rc = if_match(c, &expect, &c->err);
    if (rc < 0)
        return rc;
    rc = api_body_object(c, &patch, &c->err);
    if (rc < 0)
        return rc;
    for (i = 0; i < sizeof view_only / sizeof view_only[0]; i++)
        json_object_del(patch, view_only[i]);
    rc = store_job_get(c->api->opt.store, ns, name, &sj, &c->err);
    if (rc < 0)
        goto done;
    if (expect && expect != sj.version) {
        rc = err_set(&c->err, CHIME_ECONFLICT, "version",
                     "%s is at version %" PRId64 ", not %" PRId64, id, sj.version, expect);
        goto done;
    }
    doc = json_loadb(sj.doc, sj.doc_len, 0, &jerr);
    if (!doc) {
        rc = err_set(&c->err, CHIME_EIO, "", "the stored document of %s is not JSON", id);
        goto done;
    }
    /* the patch applies to what a GET shows: paused as the job is now,
     * secrets redacted (job_save keeps the ones the patch leaves alone) */
    json_object_set_new(doc, "paused", json_boolean(sj.paused));
    if (job_doc_redact(doc) < 0) {
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory applying the patch");
        goto done;
    }
    doc = api_json_merge_patch(doc, patch);
    if (!doc) {
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory applying the patch");
        goto done;
    }
    rc = doc_at_path(doc, ns, name, &c->err);
    if (rc < 0)
        goto done;
    rc = job_from_json(doc, ns, &j, &c->err);
    if (rc < 0)
        goto done;
    /* the version patched, or 409: a write in between is not overwritten */
    rc = job_save(c, j, sj.version, NULL);
    if (rc < 0)
        goto done;
    rc = reply_job(c, 200, ns, name);
done:
    store_job_release(&sj);
    json_decref(doc);
    json_decref(patch);
    return rc;
}

int api_job_delete(struct api_call *c)
{
    const struct api_engine *e = &c->api->opt.engine;
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[JOB_ID_LEN];
    struct store_op del = {.kind = STORE_OP_JOB_DELETE};
    int64_t expect;
    int rc;

    rc = path_job(c, ns, name, id, &c->err);
    if (rc < 0)
        return rc;
    rc = if_match(c, &expect, &c->err);
    if (rc < 0)
        return rc;
    del.job_delete.ns = ns;
    del.job_delete.name = name;
    del.job_delete.expect_version = expect;
    del.job_delete.now_us = api_now_us();
    pthread_mutex_lock(&c->api->write_lock);
    rc = api_audit_exec(c, &del, 204);
    /* a job the engine never took (it failed to load) is gone all the same */
    if (rc == 0 && (rc = e->job_remove(e->ctx, id, &c->err)) == -CHIME_ENOTFOUND)
        rc = 0;
    pthread_mutex_unlock(&c->api->write_lock);
    if (rc < 0)
        return rc;
    c->status = 204;
    return 0;
}

/* Pause or resume: the engine first (it stops or restarts the timers),
 * then the job's durable state. */
static int job_set_paused(struct api_call *c, bool paused)
{
    const struct api_engine *e = &c->api->opt.engine;
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[JOB_ID_LEN];
    struct store_job sj = {0};
    struct store_op op = {.kind = STORE_OP_JOB_STATE};
    int rc;

    rc = path_job(c, ns, name, id, &c->err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&c->api->write_lock);
    rc = store_job_get(c->api->opt.store, ns, name, &sj, &c->err);
    if (rc < 0)
        goto done;
    rc = e->job_pause(e->ctx, id, paused, &c->err);
    if (rc < 0)
        goto done;
    op.job_state.job_id = sj.id;
    op.job_state.set = STORE_STATE_PAUSED;
    op.job_state.paused = paused;
    c->audit.before = c->audit.after = sj.version;
    rc = api_audit_exec(c, &op, 200);
done:
    pthread_mutex_unlock(&c->api->write_lock);
    store_job_release(&sj);
    return rc < 0 ? rc : reply_job(c, 200, ns, name);
}

int api_job_pause(struct api_call *c)
{
    return job_set_paused(c, true);
}

int api_job_resume(struct api_call *c)
{
    return job_set_paused(c, false);
}

/* The query's count and from, for the fires of a job. */
static int fires_query(struct api_call *c, int64_t *count, int64_t *from)
{
    int rc = api_query_int(c, "count", 1, NEXT_COUNT_MAX, NEXT_COUNT_DEFAULT, count, &c->err);

    return rc < 0 ? rc : api_query_instant(c, "from", api_now_us(), from, &c->err);
}

/* The next COUNT fires of J after FROM, as the reply. */
static int reply_fires(struct api_call *c, const struct job *j, int64_t count, int64_t from)
{
    int64_t *out = calloc((size_t)count, sizeof *out);
    json_t *items = json_array();
    int n, i;

    if (!out || !items) {
        free(out);
        json_decref(items);
        return err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
    }
    n = sched_preview(j, c->api->opt.default_zone, from, (int)count, out);
    for (i = 0; i < n; i++)
        json_array_append_new(items, api_json_instant(out[i]));
    free(out);
    return api_reply_json(c, 200, json_pack("{s:o}", "items", items));
}

int api_job_next(struct api_call *c)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[JOB_ID_LEN];
    struct store_job sj = {0};
    struct job *j = NULL;
    int64_t count = NEXT_COUNT_DEFAULT, from = 0;
    int rc;

    rc = path_job(c, ns, name, id, &c->err);
    if (rc == 0)
        rc = fires_query(c, &count, &from);
    if (rc < 0)
        return rc;
    rc = store_job_get(c->api->opt.store, ns, name, &sj, &c->err);
    if (rc < 0)
        return rc;
    rc = job_parse(sj.doc, sj.doc_len, ns, &j, &c->err);
    store_job_release(&sj);
    if (rc < 0)
        return rc;
    rc = reply_fires(c, j, count, from);
    job_free(j);
    return rc;
}

int api_preview(struct api_call *c)
{
    struct job *j = NULL;
    int64_t count = NEXT_COUNT_DEFAULT, from = 0;
    int rc;

    rc = fires_query(c, &count, &from);
    if (rc < 0)
        return rc;
    rc = body_job(c, &j);
    if (rc < 0)
        return rc;
    rc = reply_fires(c, j, count, from);
    if (rc == 0)
        json_object_set_new(c->json, "warnings", api_job_warnings(c, j, INT64_MIN));
    job_free(j);
    return rc;
}

/* ---- what the other job handlers (versions.c) share with these ---- */

int api_job_path(const struct api_call *c, char *ns, char *name, char *id, struct err *err)
{
    return path_job(c, ns, name, id, err);
}

int api_job_if_match(const struct api_call *c, int64_t *ret, struct err *err)
{
    return if_match(c, ret, err);
}

int api_job_save(struct api_call *c, struct job *j, int64_t expect)
{
    return job_save(c, j, expect, NULL);
}

int api_job_reply(struct api_call *c, unsigned status, const char *ns, const char *name)
{
    return reply_job(c, status, ns, name);
}
