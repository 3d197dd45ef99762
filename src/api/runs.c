/* runs.c: the handlers of /api/v1/runs and /api/v1/dead-letters (a run's
 * output is output.c's).
 *
 * Reads go straight to the store. Cancelling and requeueing go through
 * the engine, which owns every live run: the API never writes a run. */
#include "api/api_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "store/store.h"
#include "../banned.h"

int api_runs_list(struct api_call *c)
{
    struct store_run_filter f = {0};
    struct store_run_page page = {0};
    const char *job = api_query(c, "job"), *state = api_query(c, "state");
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    json_t *items;
    int64_t total;
    size_t i;
    int rc;

    if (job && (rc = job_id_parse(job, NULL, ns, name, &c->err)) < 0)
        return rc;
    if (job) {
        f.ns = ns;
        f.name = name;
        if ((rc = api_auth_job(c, ns, name)) < 0)
            return rc;
    }
    f.ns_in = c->token_ns; /* only what the token sees */
    if (state && (rc = store_run_state_parse(state, "state", &f.state, &c->err)) < 0)
        return rc;
    if ((rc = api_query_page(c, &f.since_us, &f.until_us, &f.limit, &c->err)) < 0)
        return rc;
    f.cursor = api_query(c, "cursor");
    rc = store_run_list(c->api->opt.store, &f, &page, &c->err);
    if (rc < 0)
        return rc;
    rc = store_run_count(c->api->opt.store, &f, &total, &c->err);
    if (rc < 0)
        goto done;
    items = json_array();
    for (i = 0; items && i < page.n; i++)
        json_array_append_new(items, api_json_run(&page.items[i]));
    rc = api_reply_json(c, 200, api_json_list(items, page.next_cursor, total));
done:
    store_run_page_release(&page);
    return rc;
}

/* The run the path names (/api/v1/runs/{id}...) into *RET and its id into
 * *RET_ID; R is released by the caller (also on failure: it stays init'ed). */
static int path_run(struct api_call *c, int64_t *ret_id, struct store_run *ret)
{
    int rc;

    store_run_init(ret);
    rc = api_param_id(c, 0, "id", ret_id, &c->err);
    if (rc < 0)
        return rc;
    return store_run_get(c->api->opt.store, *ret_id, ret, &c->err);
}

int api_run_show(struct api_call *c)
{
    struct store_run r;
    int64_t id;
    int rc;

    rc = path_run(c, &id, &r);
    if (rc < 0)
        return rc;
    rc = api_reply_json(c, 200, api_json_run(&r));
    store_run_release(&r);
    return rc;
}

int api_run_cancel(struct api_call *c)
{
    const struct api_engine *e = &c->api->opt.engine;
    struct store_run r;
    int64_t id;
    int rc;

    rc = path_run(c, &id, &r);
    if (rc < 0)
        return rc;
    if (store_run_state_finished(r.state)) {
        rc = err_set(&c->err, CHIME_ECONFLICT, "", "run %" PRId64 " has already ended (%s)", id,
                     store_run_state_name(r.state));
        goto done;
    }
    rc = e->cancel(e->ctx, id, &c->err);
    if (rc < 0)
        goto done;
    /* the run as it is now: cancelled when it was queued, still running
     * while its process tree is being ended */
    store_run_release(&r);
    rc = store_run_get(c->api->opt.store, id, &r, &c->err);
    if (rc == 0)
        rc = api_reply_json(c, 202, api_json_run(&r));
done:
    store_run_release(&r);
    return rc;
}

static json_t *dead_json(const struct store_dead *d)
{
    char job[2 * STORE_NAME_MAX + 2];

    snprintf(job, sizeof job, "%s/%s", d->ns, d->name);
    return json_pack("{s:I, s:s, s:o, s:o, s:o}", "run_id", (json_int_t)d->run_id, "job", job,
                     "fire_time", api_json_instant(d->fire_us), "reason",
                     d->reason ? api_json_text(d->reason, strlen(d->reason)) : json_null(),
                     "created_at", api_json_instant(d->created_us));
}

int api_dead_list(struct api_call *c)
{
    struct store_dead_filter f = {0};
    struct store_dead_page page = {0};
    const char *job = api_query(c, "job");
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    json_t *items;
    int64_t limit;
    size_t i;
    int rc;

    if (job && (rc = job_id_parse(job, NULL, ns, name, &c->err)) < 0)
        return rc;
    if (job) {
        f.ns = ns;
        f.name = name;
        if ((rc = api_auth_job(c, ns, name)) < 0)
            return rc;
    }
    f.ns_in = c->token_ns; /* only what the token sees */
    rc = api_query_int(c, "limit", 1, STORE_LIMIT_MAX, STORE_LIMIT_DEFAULT, &limit, &c->err);
    if (rc < 0)
        return rc;
    f.limit = (int)limit;
    f.cursor = api_query(c, "cursor");
    rc = store_dead_list(c->api->opt.store, &f, &page, &c->err);
    if (rc < 0)
        return rc;
    items = json_array();
    for (i = 0; items && i < page.n; i++)
        json_array_append_new(items, dead_json(&page.items[i]));
    /* total: the store cannot count dead letters yet */
    rc = api_reply_json(c, 200, api_json_list(items, page.next_cursor, -1));
    store_dead_page_release(&page);
    return rc;
}

/* Whether RUN_ID of job NS/NAME is dead-lettered: a walk over the job's
 * dead letters, as the store has no lookup by run. */
static int dead_find(struct api_call *c, const char *ns, const char *name, int64_t run_id)
{
    struct store_dead_filter f = {.ns = ns, .name = name, .limit = STORE_LIMIT_MAX};
    char cursor[STORE_CURSOR_MAX] = "";
    int rc;

    do {
        struct store_dead_page page = {0};
        size_t i;
        bool found = false;

        f.cursor = cursor;
        rc = store_dead_list(c->api->opt.store, &f, &page, &c->err);
        if (rc < 0)
            return rc;
        for (i = 0; i < page.n; i++)
            found = found || page.items[i].run_id == run_id;
        snprintf(cursor, sizeof cursor, "%s", page.next_cursor);
        store_dead_page_release(&page);
        if (found)
            return 0;
    } while (cursor[0]);
    return err_set(&c->err, CHIME_ENOTFOUND, "run_id", "run %" PRId64 " is not dead-lettered",
                   run_id);
}

int api_dead_requeue(struct api_call *c)
{
    const struct api_engine *e = &c->api->opt.engine;
    char id[2 * STORE_NAME_MAX + 2];
    struct store_run r;
    int64_t run_id, new_id = 0;
    int rc;

    store_run_init(&r);
    rc = api_param_id(c, 0, "run_id", &run_id, &c->err);
    if (rc < 0)
        return rc;
    rc = store_run_get(c->api->opt.store, run_id, &r, &c->err);
    if (rc < 0)
        return rc;
    snprintf(id, sizeof id, "%s/%s", r.ns, r.name);
    /* One requeue at a time: two at once must not both find the letter. */
    pthread_mutex_lock(&c->api->write_lock);
    rc = dead_find(c, r.ns, r.name, run_id);
    if (rc < 0)
        goto done;
    /* A requeue is a manual run of the job now (the engine has no way to
     * run an old fire again); the letter goes once the run is recorded. */
    rc = e->trigger(e->ctx, id, NULL, api_auth_who(c), &new_id, &c->err);
    if (rc < 0)
        goto done;
    rc = store_dead_remove(c->api->opt.store, run_id, &c->err);
    if (rc < 0)
        goto done;
    api_reply_header(c, "Location", "/api/v1/runs/%" PRId64, new_id);
    rc = api_reply_json(c, 202, json_pack("{s:I}", "run_id", (json_int_t)new_id));
done:
    pthread_mutex_unlock(&c->api->write_lock);
    store_run_release(&r);
    return rc;
}
