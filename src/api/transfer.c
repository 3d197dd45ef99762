/* transfer.c: export and import of job definitions, /api/v1/export and
 * /api/v1/import.
 *
 * An export is one JSON document (exportdoc.h) with every job the token
 * sees, taken under the API's job write lock so that no API change lands
 * halfway through it.
 *
 * An import is all or nothing, and one save of job versions (jobsave.h),
 * the same path a PUT takes: everything is checked before anything is
 * written: the file whole (exportdoc_parse: every document, no name
 * twice, sizes), then every job as a PUT checks it (the token's
 * namespaces, its `after` upstreams, its channels, its secrets) and the
 * dependencies of the jobs as they would be after the import (the
 * store's jobs, with the file's laid over them and the pruned ones gone:
 * a cycle of any length, inside the file or through jobs already there).
 * The plan says, per job, create, change (with the fields that change),
 * unchanged, or remove (--prune: jobs of the namespaces in scope that
 * the file does not have). Then every write, with an audit entry for
 * each job, is one store transaction: a failure anywhere, such as a job
 * changed by somebody else since the plan was made (the writes carry the
 * versions the plan saw), leaves the store as it was. Only after the
 * commit is the engine told, in one call: removals first, then the jobs
 * in dependency order (upstreams before the jobs that wait for them).
 *
 * "paused" is part of what is imported: a job whose document is the same
 * but for "paused" is a change of its state only, which makes no version
 * (as pause and resume make none). A document without "paused" (`chime
 * apply`'s, written by hand) leaves an existing job paused or running as
 * it is. */
#include "api/api_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/exportdoc.h"
#include "job/job.h"
#include "job/jobsave.h"
#include "job/jobsecret.h"
#include "store/store.h"
#include "util/jsondiff.h"
#include "util/log.h"
#include "../banned.h"

#define ID_LEN EXPORTDOC_ID_LEN

/* A job the store has, as the scan found it (--prune looks at them). */
struct existing {
    char id[ID_LEN];
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
};

struct import {
    struct api_call *c;
    const char *only_ns;
    struct exportdoc *d;
    struct jobsave *b;        /* the file's jobs, then the removals */
    json_t **changes;         /* per change of B: what changes (jsondiff), owned */
    struct existing *have;
    size_t n_have, cap_have;
    json_t *warnings;
    struct err err;
};

/* ---- replies ---- */

static const struct {
    int code;
    unsigned status;
    const char *title;
} statuses[] = {
    {CHIME_EINVAL, 400, "Invalid request"}, {CHIME_ERANGE, 400, "Value out of range"},
    {CHIME_ENOTFOUND, 404, "Not found"},    {CHIME_ECONFLICT, 409, "Conflict"},
    {CHIME_ETOOBIG, 413, "Too big"},
};

/* A problem document (as server.c writes them) with every error of the
 * file in "errors" (taken). */
static int reply_errors(struct api_call *c, const struct err *first, json_t *errors)
{
    unsigned status = 400;
    const char *title = "Invalid request";
    char type[96];

    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (statuses[i].code == first->code) {
            status = statuses[i].status;
            title = statuses[i].title;
        }
    snprintf(type, sizeof type, "https://chime.dev/problems/%s", err_name(first->code));
    c->err = *first;
    if (api_reply_json(c, status,
                       json_pack("{s:s, s:s, s:i, s:s, s:o, s:o}", "type", type, "title", title,
                                 "status", (int)status, "detail", first->msg, "field",
                                 first->field[0] ? json_string(first->field) : json_null(),
                                 "errors", errors ? errors : json_array()))
        < 0)
        return -CHIME_ENOMEM;
    c->text_type = "application/problem+json";
    return 0;
}

/* Query parameter NAME as a boolean (true, false, 1, 0); false when absent. */
static int query_bool(struct api_call *c, const char *name, bool *ret)
{
    const char *v = api_query(c, name);
    char q[48];

    *ret = false;
    if (!v)
        return 0;
    if (!strcmp(v, "true") || !strcmp(v, "1"))
        *ret = true;
    else if (strcmp(v, "false") != 0 && strcmp(v, "0") != 0)
        return err_set(&c->err, CHIME_EINVAL, name, "'%s' is not true or false",
                       err_quote(v, 40, q, sizeof q));
    return 0;
}

/* The query's namespace, checked; NULL when there is none. */
static int query_ns(struct api_call *c, const char **ret)
{
    const char *ns = api_query(c, "namespace");
    char n[JOB_NAME_MAX + 1], m[JOB_NAME_MAX + 1], q[48];

    *ret = ns;
    if (ns && job_id_parse("x", ns, n, m, NULL) < 0)
        return err_set(&c->err, CHIME_EINVAL, "namespace", "'%s' is not a namespace",
                       err_quote(ns, 40, q, sizeof q));
    return 0;
}

/* ---- export ---- */

/* The tokens as an export lists them: never a secret or a hash. */
static int export_tokens(struct api_call *c, json_t **ret)
{
    struct store_token_page page = {0};
    char cursor[STORE_CURSOR_MAX] = "";
    json_t *out = json_array();
    int rc = 0;

    do {
        rc = store_token_list(c->api->opt.store, false, cursor, STORE_LIMIT_MAX, &page, &c->err);
        if (rc < 0)
            break;
        for (size_t i = 0; out && i < page.n; i++) {
            const struct store_token *t = &page.items[i];
            json_t *ns = t->namespaces ? json_loads(t->namespaces, 0, NULL) : json_null();

            json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:o, s:o}", "name", t->name,
                                                 "role", t->role, "namespaces",
                                                 ns ? ns : json_null(), "created_at",
                                                 api_json_instant(t->created_us), "expires_at",
                                                 api_json_instant(t->expires_us)));
        }
        snprintf(cursor, sizeof cursor, "%s", page.next_cursor);
        store_token_page_release(&page);
    } while (cursor[0]);
    if (rc < 0 || !out) {
        json_decref(out);
        return rc < 0 ? rc : err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
    }
    *ret = out;
    return 0;
}

int api_export(struct api_call *c)
{
    struct store_job_filter f = {0};
    struct store_job_page page = {0};
    char cursor[STORE_CURSOR_MAX] = "";
    json_t *jobs = json_array(), *tokens = NULL;
    size_t bytes = 0;
    bool with_tokens;
    int rc;

    if ((rc = query_ns(c, &f.ns)) < 0 || (rc = query_bool(c, "tokens", &with_tokens)) < 0)
        goto done;
    /* tokens span namespaces: only an admin of them all lists them */
    if (with_tokens && (rc = api_auth_require(c, API_ROOT)) < 0)
        goto done;
    f.ns_in = c->token_ns; /* only what the token sees */
    f.limit = STORE_LIMIT_MAX;
    if (!jobs) {
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    /* the jobs as of one moment for the API's writes */
    pthread_mutex_lock(&c->api->write_lock);
    do {
        f.cursor = cursor;
        rc = store_job_list(c->api->opt.store, &f, &page, &c->err);
        if (rc < 0)
            break;
        for (size_t i = 0; rc == 0 && i < page.n; i++) {
            const struct store_job *sj = &page.items[i];
            json_t *doc = json_loadb(sj->doc, sj->doc_len, 0, NULL);

            bytes += sj->doc_len + 16;
            if (!json_is_object(doc) || bytes > EXPORTDOC_BYTES_MAX) {
                rc = !doc ? err_set(&c->err, CHIME_EIO, "", "the stored document of %s/%s is not JSON",
                                    sj->ns, sj->name)
                          : err_set(&c->err, CHIME_ETOOBIG, "namespace",
                                    "the export is larger than the %zu MiB an import takes: "
                                    "export one namespace at a time",
                                    EXPORTDOC_BYTES_MAX >> 20);
                json_decref(doc);
                break;
            }
            json_object_set_new(doc, "paused", json_boolean(sj->paused));
            /* secrets redacted: an import into this store keeps them */
            if (job_doc_redact(doc) < 0) {
                json_decref(doc);
                rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
                break;
            }
            json_array_append_new(jobs, doc);
        }
        snprintf(cursor, sizeof cursor, "%s", page.next_cursor);
        store_job_page_release(&page);
    } while (rc == 0 && cursor[0]);
    pthread_mutex_unlock(&c->api->write_lock);
    if (rc < 0)
        goto done;
    if (with_tokens && (rc = export_tokens(c, &tokens)) < 0)
        goto done;
    rc = api_reply_json(c, 200, exportdoc_build(jobs, tokens, api_now_us()));
    jobs = NULL;
    tokens = NULL;
done:
    json_decref(jobs);
    json_decref(tokens);
    return rc;
}

/* ---- import: the plan ---- */

/* Every live job of the store, into the list that --prune looks at. */
static int on_existing(void *ctx, const struct store_job_entry *e)
{
    struct import *im = ctx;
    struct existing *x;

    if (im->n_have == im->cap_have) {
        size_t cap = im->cap_have ? 2 * im->cap_have : 256;
        struct existing *more = realloc(im->have, cap * sizeof *more);

        if (!more)
            return err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
        im->have = more;
        im->cap_have = cap;
    }
    x = &im->have[im->n_have++];
    snprintf(x->id, sizeof x->id, "%s/%s", e->ns, e->name);
    snprintf(x->ns, sizeof x->ns, "%s", e->ns);
    snprintf(x->name, sizeof x->name, "%s", e->name);
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct exportdoc_job *)a)->id, ((const struct exportdoc_job *)b)->id);
}

/* The removals of --prune: jobs of the namespaces in scope that the file
 * does not have. */
static int add_removals(struct import *im)
{
    struct exportdoc_job *sorted = NULL;
    int rc;

    rc = store_job_scan(im->c->api->opt.store, on_existing, im, &im->err);
    if (rc < 0)
        return rc;
    /* the file's ids, sorted, to look each job up in */
    sorted = malloc((im->d->n_jobs ? im->d->n_jobs : 1) * sizeof *sorted);
    if (!sorted)
        return err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
    memcpy(sorted, im->d->jobs, im->d->n_jobs * sizeof *sorted);
    qsort(sorted, im->d->n_jobs, sizeof *sorted, by_id);
    for (size_t k = 0; rc == 0 && k < im->n_have; k++) {
        const struct existing *x = &im->have[k];
        struct exportdoc_job key;

        snprintf(key.id, sizeof key.id, "%s", x->id);
        if ((im->only_ns && strcmp(x->ns, im->only_ns) != 0) || !api_auth_sees(im->c, x->ns)
            || bsearch(&key, sorted, im->d->n_jobs, sizeof *sorted, by_id))
            continue;
        rc = jobsave_remove(im->b, x->ns, x->name, NULL, &im->err);
    }
    free(sorted);
    return rc;
}

/* The failed changes of the batch as the file's errors: each with its
 * place in the file; the first also into im->err. */
static void file_errors(struct import *im, json_t *errors)
{
    for (size_t i = 0; i < jobsave_count(im->b); i++) {
        const struct jobsave_item *it = jobsave_item(im->b, i);
        const struct exportdoc_job *ej = it->data;
        char field[64];

        if (!it->failed)
            continue;
        if (ej)
            snprintf(field, sizeof field, "jobs[%zu].%s", ej->index, it->err.field);
        else
            snprintf(field, sizeof field, "%s", it->err.field);
        if (!json_array_size(errors))
            err_set(&im->err, it->err.code, field, "%s", it->err.msg);
        json_array_append_new(errors,
                              json_pack("{s:o, s:s, s:s, s:s}", "index",
                                        ej ? json_integer((json_int_t)ej->index) : json_null(),
                                        "job", it->id, "field", field, "detail", it->err.msg));
    }
}

/* What each change changes, as a diff shows it: the stored document as a
 * GET shows it (paused as the job is now) against the file's, secrets
 * redacted (a changed one by its tag). */
static int plan_changes(struct import *im)
{
    size_t n = jobsave_count(im->b);

    im->changes = calloc(n ? n : 1, sizeof *im->changes);
    if (!im->changes)
        return err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct jobsave_item *it = jobsave_item(im->b, i);
        json_t *a, *b;
        int rc;

        if (it->act != JOBSAVE_CHANGE && it->act != JOBSAVE_STATE)
            continue;
        a = json_loadb(it->cur_doc, it->cur_len, 0, NULL);
        b = json_loadb(it->text, it->len, 0, NULL);
        if (!json_is_object(a) || !b || json_object_set_new(a, "paused", json_boolean(it->cur_paused))
            || job_doc_redact(a) < 0 || job_doc_redact(b) < 0) {
            json_decref(a);
            json_decref(b);
            return err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
        }
        rc = jsondiff_compute(a, b, &im->changes[i], &im->err);
        json_decref(a);
        json_decref(b);
        if (rc < 0)
            return rc;
    }
    /* an upstream that is not a job: allowed (it may come later), but said */
    for (size_t i = 0; i < im->d->n_jobs; i++) {
        const struct jobsave_item *it = jobsave_item(im->b, i);
        const struct job *j = it->job;

        for (size_t u = 0; j && j->sched.kind == JOB_AFTER && u < j->sched.n_after; u++)
            if (!jobsave_has(im->b, j->sched.after[u])) {
                char w[300];

                snprintf(w, sizeof w, "%s waits for %s, which is not a job", it->id,
                         j->sched.after[u]);
                json_array_append_new(im->warnings, json_string(w));
            }
    }
    return 0;
}

/* ---- import: applying it ---- */

/* The store's writes, all in one transaction, then the engine's. */
static int apply(struct import *im)
{
    struct api_call *c = im->c;
    const struct api_engine *e = &c->api->opt.engine;
    struct err err = {0};
    int rc;

    rc = jobsave_write(im->b, &im->err);
    if (rc < 0) {
        for (size_t i = 0; i < jobsave_count(im->b); i++) {
            const struct jobsave_item *it = jobsave_item(im->b, i);
            char why[sizeof im->err.msg];

            if (!it->failed)
                continue;
            snprintf(why, sizeof why, "%s", im->err.msg);
            if (rc == -CHIME_ECONFLICT)
                err_set(&im->err, CHIME_ECONFLICT, "",
                        "%s changed while the import was checked: "
                        "nothing was imported (import again to see the new plan)",
                        it->id);
            else
                err_set(&im->err, -rc, im->err.field, "%s: %s: nothing was imported", it->id, why);
            break;
        }
        return rc;
    }
    c->audit.done = true; /* an entry per job is written */
    /* Committed. The engine now: from here a failure leaves the store
     * ahead of the engine, which reads the store again when the daemon
     * starts; it is logged and said, not undone. */
    rc = e->jobs_apply(e->ctx, im->b, &err);
    if (rc < 0) {
        log_error("import: the engine refused the import: %s", err.msg);
        json_array_append_new(im->warnings,
                              json_sprintf("saved, but the engine refused the import: %s (it is "
                                           "scheduled at the next start)",
                                           err.msg));
    }
    for (size_t i = 0; rc > 0 && i < jobsave_count(im->b); i++) {
        const struct jobsave_item *it = jobsave_item(im->b, i);

        if (!it->engine_failed)
            continue;
        log_error("import: the engine refused %s: %s", it->id, it->err.msg);
        json_array_append_new(im->warnings,
                              json_sprintf("%s: saved, but the engine refused it: %s (it "
                                           "is scheduled at the next start)",
                                           it->id, it->err.msg));
    }
    return 0;
}

static const char *action_name(enum jobsave_act act)
{
    static const char *const names[] = {
        [JOBSAVE_CREATE] = "create",       [JOBSAVE_CHANGE] = "change", [JOBSAVE_STATE] = "change",
        [JOBSAVE_UNCHANGED] = "unchanged", [JOBSAVE_REMOVE] = "remove",
    };

    return names[act];
}

static json_t *plan_json(struct import *im, bool dry_run, bool prune, bool applied)
{
    json_int_t counts[JOBSAVE_REMOVE + 1] = {0};
    json_t *items = json_array();

    for (size_t i = 0; items && i < jobsave_count(im->b); i++) {
        const struct jobsave_item *it = jobsave_item(im->b, i);
        const struct exportdoc_job *ej = it->data;
        int64_t after = applied && it->act != JOBSAVE_UNCHANGED ? it->version : 0;
        json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "job", it->id, "action",
                              action_name(it->act), "index",
                              ej ? json_integer((json_int_t)ej->index) : json_null(), "version",
                              it->cur_version ? json_integer(it->cur_version) : json_null(),
                              "new_version", after ? json_integer(after) : json_null());

        counts[it->act == JOBSAVE_STATE ? JOBSAVE_CHANGE : it->act]++;
        if (o && (it->act == JOBSAVE_CHANGE || it->act == JOBSAVE_STATE))
            json_object_set(o, "changes", im->changes[i]);
        json_array_append_new(items, o);
    }
    return json_pack("{s:b, s:b, s:b, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:O}",
                     "dry_run", dry_run, "prune", prune, "applied", applied, "namespace",
                     im->only_ns ? json_string(im->only_ns) : json_null(), "items", items,
                     "summary", "create", counts[JOBSAVE_CREATE], "change",
                     counts[JOBSAVE_CHANGE], "unchanged", counts[JOBSAVE_UNCHANGED], "remove",
                     counts[JOBSAVE_REMOVE], "other_namespaces", (json_int_t)im->d->n_other,
                     "tokens_not_imported", (json_int_t)im->d->n_tokens, "warnings",
                     im->warnings);
}

int api_import(struct api_call *c)
{
    struct import im = {.c = c};
    struct store_audit audit;
    char target[API_PATH_MAX];
    json_t *errors = NULL;
    bool dry_run, prune;
    int rc;

    if ((rc = query_ns(c, &im.only_ns)) < 0 || (rc = query_bool(c, "dry_run", &dry_run)) < 0
        || (rc = query_bool(c, "prune", &prune)) < 0)
        return rc;
    rc = exportdoc_parse(c->body ? c->body : "", c->body_len, im.only_ns, &im.d, &errors, &im.err);
    if (rc < 0) {
        rc = errors ? reply_errors(c, &im.err, errors) : rc;
        if (!errors)
            c->err = im.err;
        return rc;
    }
    errors = json_array();
    im.warnings = json_array();
    if (!errors || !im.warnings) {
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    pthread_mutex_lock(&c->api->write_lock);
    /* the file's jobs as one save (jobsave.h): checked as a PUT checks
     * one, the dependencies as they would be after the import */
    rc = api_save_new(c, 200, &audit, target, sizeof target, &im.b);
    for (size_t i = 0; rc == 0 && i < im.d->n_jobs; i++) {
        struct exportdoc_job *ej = &im.d->jobs[i];

        /* a document that does not say "paused" leaves the job as it is */
        rc = jobsave_put(im.b, ej->job, 0, !ej->paused_given, ej, &c->err);
        ej->job = NULL; /* the batch has it */
    }
    if (rc == 0 && prune && (rc = add_removals(&im)) < 0)
        c->err = im.err;
    if (rc == 0 && (rc = jobsave_check(im.b, &im.err)) < 0) {
        file_errors(&im, errors);
        if (json_array_size(errors)) {
            /* the file's errors, every one of them, as one problem */
            rc = reply_errors(c, &im.err, errors);
            errors = NULL;
            pthread_mutex_unlock(&c->api->write_lock);
            goto done;
        }
        c->err = im.err;
    }
    if (rc == 0 && (rc = plan_changes(&im)) < 0)
        c->err = im.err;
    if (rc == 0 && !dry_run && (rc = apply(&im)) < 0)
        c->err = im.err;
    pthread_mutex_unlock(&c->api->write_lock);
    if (rc == 0)
        rc = api_reply_json(c, 200, plan_json(&im, dry_run, prune, !dry_run));
done:
    if (im.changes)
        for (size_t i = 0; i < jobsave_count(im.b); i++)
            json_decref(im.changes[i]);
    free(im.changes);
    free(im.have);
    json_decref(im.warnings);
    json_decref(errors);
    jobsave_free(im.b);
    exportdoc_free(im.d);
    return rc;
}
