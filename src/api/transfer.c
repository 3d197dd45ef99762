/* transfer.c: export and import of job definitions, /api/v1/export and
 * /api/v1/import.
 *
 * An export is one JSON document (exportdoc.h) with every job the token
 * sees, taken under the API's job write lock so that no API change lands
 * halfway through it.
 *
 * An import is all or nothing. Everything is checked before anything is
 * written: the file whole (exportdoc_parse: every document, no name
 * twice, sizes), that the token may change every namespace in it, and
 * the dependencies of the jobs as they would be after the import (the
 * store's jobs, with the file's laid over them and the pruned ones gone:
 * jobgraph.h finds a cycle of any length, inside the file or through jobs
 * already there). The plan says, per job, create, change (with the fields
 * that change), unchanged, or remove (--prune: jobs of the namespaces in
 * scope that the file does not have). Then every write, with an audit
 * entry for each job, is one store transaction (store_exec_atomic): a
 * failure anywhere, such as a job changed by somebody else since the plan
 * was made (the writes carry the versions the plan saw), leaves the store
 * as it was. Only after the commit is the engine told, removals first and
 * then the jobs in dependency order (upstreams before the jobs that wait
 * for them), so that the engine never holds a cycle on the way.
 *
 * "paused" is part of what is imported: a job whose document is the same
 * but for "paused" is a change of its state only, which makes no version
 * (as pause and resume make none). A document without "paused" (`chime
 * apply`'s, written by hand) leaves an existing job paused or running as
 * it is. */
#include "api_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/exportdoc.h"
#include "sched/job.h"
#include "sched/jobgraph.h"
#include "sched/jobsecret.h"
#include "store/store.h"
#include "util/jsondiff.h"
#include "util/log.h"
#include "../banned.h"

#define ID_LEN EXPORTDOC_ID_LEN

enum action { ACT_CREATE, ACT_CHANGE, ACT_STATE, ACT_UNCHANGED, ACT_REMOVE };

static const char *const action_names[] = {
    [ACT_CREATE] = "create",       [ACT_CHANGE] = "change", [ACT_STATE] = "change",
    [ACT_UNCHANGED] = "unchanged", [ACT_REMOVE] = "remove",
};

/* One line of the plan. */
struct item {
    enum action act;
    char id[ID_LEN];
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    struct exportdoc_job *ej; /* NULL for a removal */
    int64_t job_id;           /* the store's, for a state change */
    int64_t version;          /* the job's now; 0: new */
    int64_t new_version;      /* after the import */
    bool paused;              /* a state change: paused after it */
    json_t *changes;          /* a change: what changes (jsondiff), owned */
    char *text;               /* create, change: the document to write, owned */
};

/* A job the store has, as the scan found it. */
struct existing {
    char id[ID_LEN];
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    int64_t version;
};

struct import {
    struct api_call *c;
    const char *only_ns;
    struct exportdoc *d;
    struct jobgraph *g;
    struct existing *have;
    size_t n_have, cap_have;
    struct item *items;
    size_t n_items;
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

/* Splits the store plan's "a b c" list of upstreams into the graph. */
static int graph_set_list(struct jobgraph *g, const char *id, const char *list, struct err *err)
{
    char *copy = strdup(list ? list : ""), *p, *save = NULL;
    size_t n = 1, i = 0;
    const char **after;
    int rc;

    for (p = copy; p && *p; p++)
        n += *p == ' ';
    after = calloc(n, sizeof *after);
    if (!copy || !after) {
        free(copy);
        free(after);
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    }
    for (p = strtok_r(copy, " ", &save); p && i < n; p = strtok_r(NULL, " ", &save))
        after[i++] = p;
    rc = jobgraph_set(g, id, after, i, err);
    free(after);
    free(copy);
    return rc;
}

/* Every live job of the store: its upstreams into the graph, and the job
 * into the list that --prune looks at. */
static int on_existing(void *ctx, const struct store_job_entry *e)
{
    struct import *im = ctx;
    struct existing *x;
    char id[ID_LEN];
    int rc = 0;

    snprintf(id, sizeof id, "%s/%s", e->ns, e->name);
    if (e->plan) {
        if (e->plan->kind && !strcmp(e->plan->kind, "after"))
            rc = graph_set_list(im->g, id, e->plan->after, &im->err);
    } else if (e->doc) {
        struct job *j = NULL;

        /* a job whose plan is not written yet: its document says */
        if (job_parse(e->doc, e->doc_len, e->ns, &j, NULL) == 0 && j->sched.kind == JOB_AFTER)
            rc = jobgraph_set(im->g, id, (const char *const *)j->sched.after, j->sched.n_after,
                              &im->err);
        job_free(j);
    }
    if (rc < 0)
        return rc;
    if (im->n_have == im->cap_have) {
        size_t cap = im->cap_have ? 2 * im->cap_have : 256;
        struct existing *more = realloc(im->have, cap * sizeof *more);

        if (!more)
            return err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
        im->have = more;
        im->cap_have = cap;
    }
    x = &im->have[im->n_have++];
    snprintf(x->id, sizeof x->id, "%s", id);
    snprintf(x->ns, sizeof x->ns, "%s", e->ns);
    snprintf(x->name, sizeof x->name, "%s", e->name);
    x->version = e->version;
    return 0;
}

/* Compares job EJ of the file with what the store has, into IT. */
static int plan_job(struct import *im, struct exportdoc_job *ej, struct item *it)
{
    struct api_call *c = im->c;
    struct store_job sj = {0};
    json_t *cur = NULL, *a = NULL, *b = NULL;
    char prefix[32];
    int rc;

    it->ej = ej;
    snprintf(prefix, sizeof prefix, "jobs[%zu].", ej->index);
    if ((rc = api_job_after_visible(c, ej->job, prefix, &im->err)) < 0)
        return rc;
    snprintf(it->id, sizeof it->id, "%s", ej->id);
    snprintf(it->ns, sizeof it->ns, "%s", ej->job->ns);
    snprintf(it->name, sizeof it->name, "%s", ej->job->name);
    rc = store_job_get(c->api->opt.store, it->ns, it->name, &sj, &im->err);
    if (rc == -CHIME_ENOTFOUND || rc == 0) {
        /* secrets sealed, as a PUT seals them: a redacted one (an export
         * of this store) or an unchanged value keeps its box */
        int src = job_doc_seal_text(ej->doc, rc == 0 ? sj.doc : NULL, rc == 0 ? sj.doc_len : 0,
                                    c->api->opt.secret_key, &im->err);

        if (src < 0) {
            char why[sizeof im->err.msg], field[64];

            snprintf(why, sizeof why, "%s", im->err.msg);
            snprintf(field, sizeof field, "jobs[%zu].%s", ej->index, im->err.field);
            err_set(&im->err, -src, field, "%s: %s", it->id, why);
            if (rc == 0)
                store_job_release(&sj);
            return src;
        }
    }
    if (rc == -CHIME_ENOTFOUND) {
        it->act = ACT_CREATE;
        rc = 0;
        goto text;
    }
    if (rc < 0)
        return rc;
    it->version = sj.version;
    it->job_id = sj.id;
    /* a document that does not say "paused" leaves the job as it is */
    if (!ej->paused_given) {
        ej->job->paused = sj.paused;
        json_object_set_new(ej->doc, "paused", json_boolean(sj.paused));
    }
    cur = json_loadb(sj.doc, sj.doc_len, 0, NULL);
    if (!json_is_object(cur)) {
        rc = err_set(&im->err, CHIME_EIO, "", "the stored document of %s is not JSON", it->id);
        goto done;
    }
    /* the document as a GET shows it: paused as the job is now */
    json_object_set_new(cur, "paused", json_boolean(sj.paused));
    a = json_deep_copy(cur);
    b = json_deep_copy(ej->doc);
    if (!a || !b) {
        rc = err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    /* the plan shows secrets as a view does (a changed one by its tag) */
    if (job_doc_redact(a) < 0 || job_doc_redact(b) < 0) {
        rc = err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    rc = jsondiff_compute(a, b, &it->changes, &im->err);
    if (rc < 0)
        goto done;
    json_object_del(a, "paused");
    json_object_del(b, "paused");
    if (!json_equal(a, b)) {
        it->act = ACT_CHANGE;
    } else if (sj.paused != ej->job->paused) {
        it->act = ACT_STATE;
        it->paused = ej->job->paused;
        goto done;
    } else {
        it->act = ACT_UNCHANGED;
        goto done;
    }
text:
    it->text = json_dumps(ej->doc, JSON_COMPACT);
    if (!it->text)
        rc = err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
done:
    json_decref(a);
    json_decref(b);
    json_decref(cur);
    store_job_release(&sj);
    return rc;
}

static bool in_file(const struct import *im, const char *id)
{
    for (size_t i = 0; i < im->d->n_jobs; i++)
        if (!strcmp(im->d->jobs[i].id, id))
            return true;
    return false;
}

/* The plan: one item per job of the file, then the removals. Errors that
 * are the file's (a cycle) go to ERRORS. */
static int plan(struct import *im, bool prune, json_t *errors)
{
    struct api_call *c = im->c;
    const char **starts = NULL;
    char at[ID_LEN] = "";
    size_t n_max = im->d->n_jobs + im->n_have;
    int rc = 0;

    im->items = calloc(n_max ? n_max : 1, sizeof *im->items);
    starts = calloc(im->d->n_jobs ? im->d->n_jobs : 1, sizeof *starts);
    if (!im->items || !starts) {
        free(starts);
        return err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
    }
    for (size_t i = 0; i < im->d->n_jobs; i++) {
        struct exportdoc_job *ej = &im->d->jobs[i];
        const struct job *j = ej->job;

        rc = plan_job(im, ej, &im->items[im->n_items++]);
        if (rc < 0)
            goto done;
        starts[i] = ej->id;
        rc = jobgraph_set(im->g, ej->id,
                          j->sched.kind == JOB_AFTER ? (const char *const *)j->sched.after : NULL,
                          j->sched.kind == JOB_AFTER ? j->sched.n_after : 0, &im->err);
        if (rc < 0)
            goto done;
    }
    for (size_t k = 0; prune && k < im->n_have; k++) {
        const struct existing *x = &im->have[k];
        struct item *it;

        if ((im->only_ns && strcmp(x->ns, im->only_ns) != 0) || !api_auth_sees(c, x->ns)
            || in_file(im, x->id))
            continue;
        it = &im->items[im->n_items++];
        it->act = ACT_REMOVE;
        it->version = x->version;
        snprintf(it->id, sizeof it->id, "%s", x->id);
        snprintf(it->ns, sizeof it->ns, "%s", x->ns);
        snprintf(it->name, sizeof it->name, "%s", x->name);
        jobgraph_remove(im->g, x->id);
    }
    /* the dependencies as they would be: a cycle is the file's error */
    {
        struct err e = {0};

        rc = jobgraph_check(im->g, starts, im->d->n_jobs, at, sizeof at, &e);
        if (rc == -CHIME_EINVAL) {
            api_cycle_scrub(c, &e);
            char field[64] = "schedule.after";
            json_t *idx = json_null();

            for (size_t i = 0; i < im->d->n_jobs; i++)
                if (!strcmp(im->d->jobs[i].id, at)) {
                    snprintf(field, sizeof field, "jobs[%zu].schedule.after", im->d->jobs[i].index);
                    idx = json_integer((json_int_t)im->d->jobs[i].index);
                }
            json_array_append_new(errors, json_pack("{s:o, s:s, s:s, s:s}", "index", idx, "job",
                                                    at, "field", field, "detail", e.msg));
            err_set(&im->err, CHIME_EINVAL, field, "%s", e.msg);
            goto done;
        }
        if (rc < 0) {
            im->err = e;
            goto done;
        }
    }
    /* an upstream that is not a job: allowed (it may come later), but said */
    for (size_t i = 0; i < im->d->n_jobs; i++) {
        const struct job *j = im->d->jobs[i].job;

        for (size_t u = 0; j->sched.kind == JOB_AFTER && u < j->sched.n_after; u++)
            if (!jobgraph_has(im->g, j->sched.after[u])) {
                char w[300];

                snprintf(w, sizeof w, "%s waits for %s, which is not a job", im->d->jobs[i].id,
                         j->sched.after[u]);
                json_array_append_new(im->warnings, json_string(w));
            }
    }
done:
    free(starts);
    return rc;
}

/* ---- import: applying it ---- */

/* An audit entry for IT's change, written with OP in its transaction. */
static void audit_op(struct api_call *c, const struct item *it, struct store_op *change,
                     struct store_op *op)
{
    struct store_audit *e = &op->audit_insert.entry;

    op->kind = STORE_OP_AUDIT_INSERT;
    store_audit_init(e);
    e->at_us = api_now_us();
    e->token = c->authed ? c->token : NULL;
    e->address = c->address;
    e->method = c->method;
    e->route = (char *)c->route->path;
    e->target = (char *)c->route->path;
    snprintf(e->ns, sizeof e->ns, "%s", it->ns);
    snprintf(e->name, sizeof e->name, "%s", it->name);
    if (it->version > 0)
        e->version_before = it->version;
    if (it->act == ACT_STATE)
        e->version_after = it->version;
    e->status = 200;
    op->audit_insert.after = change;
}

/* The store's writes, all in one transaction, then the engine's. */
static int apply(struct import *im)
{
    struct api_call *c = im->c;
    const struct api_engine *e = &c->api->opt.engine;
    struct store_op *ops = calloc(2 * im->n_items + 1, sizeof *ops);
    struct store_op **list = calloc(2 * im->n_items + 1, sizeof(struct store_op *));
    const char **ids = calloc(im->n_items + 1, sizeof *ids);
    size_t *order = calloc(im->n_items + 1, sizeof *order), *at = NULL;
    size_t n_ops = 0, n_ids = 0, failed = 0;
    int64_t now = api_now_us();
    int rc = 0;

    at = calloc(im->n_items + 1, sizeof *at);
    if (!ops || !list || !ids || !order || !at) {
        rc = err_set(&im->err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    /* the puts in dependency order, so the engine can take them in it */
    for (size_t i = 0; i < im->n_items; i++)
        if (im->items[i].act == ACT_CREATE || im->items[i].act == ACT_CHANGE) {
            at[n_ids] = i;
            ids[n_ids++] = im->items[i].id;
        }
    rc = jobgraph_order(im->g, ids, n_ids, order, &im->err);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < im->n_items; i++) {
        struct item *it = &im->items[i];
        struct store_op *op = &ops[n_ops];

        if (it->act == ACT_REMOVE) {
            op->kind = STORE_OP_JOB_DELETE;
            op->job_delete.ns = it->ns;
            op->job_delete.name = it->name;
            op->job_delete.expect_version = it->version;
            op->job_delete.now_us = now;
        } else if (it->act == ACT_STATE) {
            op->kind = STORE_OP_JOB_STATE;
            op->job_state.job_id = it->job_id;
            op->job_state.set = STORE_STATE_PAUSED;
            op->job_state.paused = it->paused;
        } else {
            continue;
        }
        op->data = it;
        list[n_ops++] = op;
        audit_op(c, it, op, &ops[n_ops]);
        list[n_ops] = &ops[n_ops];
        n_ops++;
    }
    for (size_t k = 0; k < n_ids; k++) {
        struct item *it = &im->items[at[order[k]]];
        struct store_op *op = &ops[n_ops];

        op->kind = STORE_OP_JOB_PUT;
        op->job_put.ns = it->ns;
        op->job_put.name = it->name;
        op->job_put.doc = it->text;
        op->job_put.author = api_auth_who(c);
        op->job_put.expect_version = it->act == ACT_CREATE ? STORE_NEW : it->version;
        op->job_put.paused = it->ej->job->paused;
        op->job_put.now_us = now;
        op->data = it;
        list[n_ops++] = op;
        audit_op(c, it, op, &ops[n_ops]);
        list[n_ops] = &ops[n_ops];
        n_ops++;
    }
    if (n_ops == 0)
        goto done;
    rc = store_exec_atomic(c->api->opt.store, list, n_ops, &failed, &im->err);
    if (rc < 0) {
        const struct item *it = failed < n_ops ? list[failed]->data : NULL;

        if (it && rc == -CHIME_ECONFLICT)
            err_set(&im->err, CHIME_ECONFLICT, "", "%s changed while the import was checked: "
                    "nothing was imported (import again to see the new plan)", it->id);
        else if (it && list[failed]->kind != STORE_OP_AUDIT_INSERT) {
            char why[sizeof im->err.msg];

            snprintf(why, sizeof why, "%s", im->err.msg);
            err_set(&im->err, -rc, im->err.field, "%s: %s: nothing was imported", it->id, why);
        }
        goto done;
    }
    c->audit.done = true; /* an entry per job is written */
    for (size_t k = 0; k < n_ops; k++)
        if (list[k]->kind == STORE_OP_JOB_PUT)
            ((struct item *)list[k]->data)->new_version = list[k]->ret_version;
    /* Committed. The engine now: from here a failure leaves the store
     * ahead of the engine, which reads the store again when the daemon
     * starts; it is logged and said, not undone. */
    for (size_t i = 0; i < im->n_items; i++) {
        struct item *it = &im->items[i];
        struct err err = {0};
        int erc = 0;

        if (it->act == ACT_REMOVE) {
            erc = e->job_remove(e->ctx, it->id, &err);
            if (erc == -CHIME_ENOTFOUND)
                erc = 0;
        } else if (it->act == ACT_STATE) {
            erc = e->job_pause(e->ctx, it->id, it->paused, &err);
        }
        if (erc < 0) {
            log_error("import: the engine refused %s: %s", it->id, err.msg);
            json_array_append_new(im->warnings,
                                  json_sprintf("%s: saved, but the engine refused it: %s (it "
                                               "is scheduled at the next start)",
                                               it->id, err.msg));
        }
    }
    for (size_t k = 0; k < n_ids; k++) {
        struct item *it = &im->items[at[order[k]]];
        struct job *j = it->ej->job;
        struct err err = {0};

        it->ej->job = NULL; /* the engine takes it, also when it fails */
        if (e->job_put(e->ctx, j, it->new_version, &err) < 0) {
            log_error("import: the engine refused %s: %s", it->id, err.msg);
            json_array_append_new(im->warnings,
                                  json_sprintf("%s: saved, but the engine refused it: %s (it "
                                               "is scheduled at the next start)",
                                               it->id, err.msg));
        }
    }
done:
    free(ops);
    free(list);
    free(ids);
    free(order);
    free(at);
    return rc;
}

static json_t *plan_json(const struct import *im, bool dry_run, bool prune, bool applied)
{
    size_t counts[ACT_REMOVE + 1] = {0};
    json_t *items = json_array();

    for (size_t i = 0; items && i < im->n_items; i++) {
        const struct item *it = &im->items[i];
        json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "job", it->id, "action",
                              action_names[it->act], "index",
                              it->ej ? json_integer((json_int_t)it->ej->index) : json_null(),
                              "version", it->version ? json_integer(it->version) : json_null(),
                              "new_version",
                              it->new_version ? json_integer(it->new_version)
                              : it->act == ACT_STATE && applied ? json_integer(it->version)
                                                                : json_null());

        counts[it->act == ACT_STATE ? ACT_CHANGE : it->act]++;
        if (o && (it->act == ACT_CHANGE || it->act == ACT_STATE))
            json_object_set(o, "changes", it->changes);
        json_array_append_new(items, o);
    }
    return json_pack("{s:b, s:b, s:b, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:O}",
                     "dry_run", dry_run, "prune", prune, "applied", applied, "namespace",
                     im->only_ns ? json_string(im->only_ns) : json_null(), "items", items,
                     "summary", "create", (json_int_t)counts[ACT_CREATE], "change",
                     (json_int_t)counts[ACT_CHANGE], "unchanged", (json_int_t)counts[ACT_UNCHANGED],
                     "remove", (json_int_t)counts[ACT_REMOVE], "other_namespaces",
                     (json_int_t)im->d->n_other, "tokens_not_imported",
                     (json_int_t)im->d->n_tokens, "warnings", im->warnings);
}

int api_import(struct api_call *c)
{
    struct import im = {.c = c};
    json_t *errors = NULL;
    bool dry_run, prune, locked = false;
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
    if (!errors || !im.warnings || jobgraph_new(&im.g, &im.err) < 0) {
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    /* a namespace the token does not see has no jobs to change */
    for (size_t i = 0; i < im.d->n_jobs; i++)
        if (!api_auth_sees(c, im.d->jobs[i].job->ns)) {
            char field[48];

            snprintf(field, sizeof field, "jobs[%zu].namespace", im.d->jobs[i].index);
            if (!json_array_size(errors))
                err_set(&im.err, CHIME_ENOTFOUND, field, "namespace '%s' does not exist",
                        im.d->jobs[i].job->ns);
            json_array_append_new(errors, json_pack("{s:I, s:s, s:s, s:s}", "index",
                                                    (json_int_t)im.d->jobs[i].index, "job",
                                                    im.d->jobs[i].id, "field", field, "detail",
                                                    im.err.msg));
        }
    if (json_array_size(errors)) {
        rc = reply_errors(c, &im.err, errors);
        errors = NULL;
        goto done;
    }
    pthread_mutex_lock(&c->api->write_lock);
    locked = true;
    rc = store_job_scan(c->api->opt.store, on_existing, &im, &c->err);
    if (rc < 0) {
        if (im.err.code)
            c->err = im.err;
        goto done;
    }
    rc = plan(&im, prune, errors);
    if (rc == -CHIME_EINVAL && json_array_size(errors)) {
        rc = reply_errors(c, &im.err, errors);
        errors = NULL;
        goto done;
    }
    if (rc < 0) {
        c->err = im.err;
        goto done;
    }
    if (!dry_run) {
        rc = apply(&im);
        if (rc < 0) {
            c->err = im.err;
            goto done;
        }
    }
    pthread_mutex_unlock(&c->api->write_lock);
    locked = false;
    rc = api_reply_json(c, 200, plan_json(&im, dry_run, prune, !dry_run));
done:
    if (locked)
        pthread_mutex_unlock(&c->api->write_lock);
    for (size_t i = 0; i < im.n_items; i++) {
        json_decref(im.items[i].changes);
        free(im.items[i].text);
    }
    free(im.items);
    free(im.have);
    json_decref(im.warnings);
    json_decref(errors);
    jobgraph_free(im.g);
    exportdoc_free(im.d);
    return rc;
}
