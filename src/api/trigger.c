/* trigger.c: POST /api/v1/jobs/{namespace}/{name}/trigger, a manual run
 * now: the job's declared parameters checked against its current version,
 * the triggers a minute of the job and of the token (429 past either), and
 * the engine's answer (202 with the run's Location, or 409 naming the live
 * run that the job's concurrency refuses it for). */
#include "api/api_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/ratelimit.h"
#include "job/job.h"
#include "store/store.h"
#include "../banned.h"

#define ID_LEN (2 * JOB_NAME_MAX + 2)

/* A trigger's parameters: {"params": {"NAME": "value"}}, only those the
 * job's current version SJ declares, each matching its pattern
 * (job_params_resolve). The former {"env": ...} is refused, pointing at
 * params: it let a trigger set any variable (BASH_ENV, LD_PRELOAD). Returns
 * the params object's text (owned) or NULL for none. */
static int trigger_params(struct api_call *c, const struct store_job *sj, char **ret)
{
    json_t *body = NULL, *params, *v;
    struct job *j = NULL;
    const char **values = NULL;
    const char *key;
    char q[48];
    int rc;

    *ret = NULL;
    rc = api_body_object(c, &body, &c->err);
    if (rc < 0 || !body)
        return rc;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "env") == 0)
            rc = err_set(&c->err, CHIME_EINVAL, key,
                         "'env' is not accepted: a trigger sets the job's declared "
                         "parameters, {\"params\": {\"NAME\": \"value\"}}");
        else if (strcmp(key, "params") != 0)
            rc = err_set(&c->err, CHIME_EINVAL, key, "unknown field '%s'",
                         err_quote(key, strlen(key), q, sizeof q));
        if (rc < 0)
            goto done;
    }
    params = json_object_get(body, "params");
    if (!params || json_is_null(params))
        goto done;
    rc = job_parse(sj->doc, sj->doc_len, sj->ns, &j, &c->err);
    if (rc < 0)
        goto done;
    values = calloc(j->body->n_params + 1, sizeof *values);
    if (!values) {
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    rc = job_params_resolve(j->body, params, values, &c->err);
    if (rc < 0)
        goto done;
    *ret = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    if (!*ret)
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
done:
    free(values);
    job_free(j);
    json_decref(body);
    return rc;
}

/* Whether C may trigger job ID now: within the triggers a minute of the
 * job and of C's token (api_options). Past either: 429 with Retry-After,
 * and nothing counted. Counted against both when let through. */
static int trigger_limit(struct api_call *c, const char *id)
{
    struct api *a = c->api;
    int64_t now = api_now_us();
    int64_t wait_j = ratelimit_wait(a->trigger_jobs, id, strlen(id), now);
    int64_t wait_t = ratelimit_wait(a->trigger_tokens, c->token_id, strlen(c->token_id), now);
    int64_t retry = wait_j > wait_t ? wait_j : wait_t;
    char q[140];

    if (retry) {
        api_reply_header(c, "Retry-After", "%" PRId64, retry);
        if (wait_j)
            return err_set(&c->err, API_ETOO_MANY, "job",
                           "too many triggers of job '%s': at most %u a minute, try again in "
                           "%" PRId64 " s",
                           err_quote(id, strlen(id), q, sizeof q), a->opt.triggers_per_job, retry);
        return err_set(&c->err, API_ETOO_MANY, "Authorization",
                       "too many triggers by token '%s': at most %u a minute, try again in "
                       "%" PRId64 " s",
                       c->token, a->opt.triggers_per_token, retry);
    }
    ratelimit_add(a->trigger_jobs, id, strlen(id), now);
    ratelimit_add(a->trigger_tokens, c->token_id, strlen(c->token_id), now);
    return 0;
}

int api_job_trigger(struct api_call *c)
{
    const struct api_engine *e = &c->api->opt.engine;
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[ID_LEN];
    struct store_job sj = {0};
    char *params = NULL;
    int64_t run_id = 0;
    int rc;

    rc = api_job_path(c, ns, name, id, &c->err);
    if (rc < 0)
        return rc;
    rc = store_job_get(c->api->opt.store, ns, name, &sj, &c->err);
    if (rc < 0)
        goto done;
    rc = trigger_params(c, &sj, &params);
    if (rc < 0)
        goto done;
    rc = trigger_limit(c, id);
    if (rc < 0)
        goto done;
    rc = e->trigger(e->ctx, id, params, api_auth_who(c), &run_id, &c->err);
    if (rc == -CHIME_ECONFLICT)
        c->problem_run_id = run_id; /* the live run that refused it; nothing was recorded */
    if (rc < 0)
        goto done;
    c->audit.run_id = run_id;
    api_reply_header(c, "Location", "/api/v1/runs/%" PRId64, run_id);
    rc = api_reply_json(c, 202, json_pack("{s:I}", "run_id", (json_int_t)run_id));
done:
    store_job_release(&sj);
    free(params);
    return rc;
}
