/* nodebody.c: the job document a run starts from (node_run_body), and
 * the environment it starts with (node_run_env).
 *
 * The engine keeps jobs without their body (command, env, limits, notify:
 * most of a job's bytes, and a million jobs must fit in 512 bytes each),
 * so a run reads its job version's document from the store and parses it.
 * A recurring job's version does not change between its runs, so the
 * bodies read last are kept: a direct-mapped cache keyed by (job key,
 * version), which never goes stale (a version is never changed, only
 * followed by another) and needs no invalidation. Only documents of at
 * most BODY_DOC_MAX bytes are kept, so the cache stays within
 * BODY_SLOTS x a small body (about a megabyte), whatever the jobs. */
#include "daemon/node_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "job/job.h"
#include "sched/sched.h"
#include "store/store.h"
#include "time/isotime.h"
#include "util/err.h"
#include "../banned.h"

#define BODY_SLOTS   256
#define BODY_DOC_MAX 4096

struct node_body {
    int64_t key, version;
    struct job *job;    /* owned; NULL: empty */
};

static struct node_body *slot_of(struct node *n, int64_t key, int64_t version)
{
    uint64_t h = ((uint64_t)key * 11400714819323198485u) ^ ((uint64_t)version * 0x9E3779B1u);

    if (!n->bodies && !(n->bodies = calloc(BODY_SLOTS, sizeof *n->bodies)))
        return NULL;
    return &n->bodies[(h >> 32) % BODY_SLOTS];
}

int node_run_body(struct node *n, const struct sched_run *r, const struct job_body **ret,
                  struct job **ret_doc, struct err *err)
{
    struct node_body *s;
    struct job *full = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc;

    *ret_doc = NULL;
    if (r->job->body) {
        *ret = r->job->body;
        return 0;
    }
    s = slot_of(n, r->job_key, r->job_version);
    if (s && s->job && s->key == r->job_key && s->version == r->job_version) {
        *ret = s->job->body;
        return 0;
    }
    rc = n->io->job_doc(n, r->job_key, r->job_version, &text, &len, err);
    if (rc >= 0)
        rc = job_parse(text, len, r->job->ns, &full, err);
    free(text);
    if (rc < 0)
        return rc;
    *ret = full->body;
    if (s && len <= BODY_DOC_MAX) {
        job_free(s->job);
        *s = (struct node_body){r->job_key, r->job_version, full};
    } else {
        *ret_doc = full;
    }
    return 0;
}

void node_bodies_free(struct node *n)
{
    for (size_t i = 0; n->bodies && i < BODY_SLOTS; i++)
        job_free(n->bodies[i].job);
    free(n->bodies);
    n->bodies = NULL;
}

/* The environment of a run into *RET: the job's env, its params (a manual
 * trigger's values, checked again against the version the run runs, else
 * the defaults), then chime's own variables (which neither may set). A
 * param shares no name with env nor with chime's (job_params_read()). */
int node_run_env(const struct sched_run *r, const struct job_body *b, char ***ret,
                   struct err *err)
{
    const struct job *j = r->job;
    json_t *given = r->params ? json_loads(r->params, 0, NULL) : NULL;
    const char **param = calloc(b->n_params + 1, sizeof *param);
    size_t cap = b->n_env + b->n_params + JOB_VAR_COUNT + 1, k = 0;
    char **env = calloc(cap, sizeof *env);
    char fire[ISOTIME_LEN], id[24], attempt[16];
    const char *const value[JOB_VAR_COUNT] = {
        [JOB_VAR_JOB] = j->name,  [JOB_VAR_NAMESPACE] = j->ns, [JOB_VAR_RUN_ID] = id,
        [JOB_VAR_FIRE_TIME] = fire, [JOB_VAR_ATTEMPT] = attempt,
    };
    int rc = -CHIME_ENOMEM;

    if (!env || !param || (r->params && !given)) {
        err_set(err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    if ((rc = job_params_resolve(b, given, param, err)) < 0)
        goto done;
    for (size_t i = 0; i < b->n_env; i++)
        if (asprintf(&env[k], "%s=%s", b->env[i].key, b->env[i].value) >= 0)
            k++;
    for (size_t i = 0; i < b->n_params; i++)
        if (param[i] && asprintf(&env[k], "%s=%s", b->params[i].name, param[i]) >= 0)
            k++;
    isotime_format_utc(r->fire_us, fire, sizeof fire);
    snprintf(id, sizeof id, "%lld", (long long)r->id);
    snprintf(attempt, sizeof attempt, "%d", r->attempt);
    for (size_t i = 0; i < JOB_VAR_COUNT; i++)
        k += asprintf(&env[k], "%s=%s", job_run_var_names[i], value[i]) >= 0;
    env[k] = NULL;
    *ret = env;
    env = NULL;
done:
    free(env);
    free(param);
    json_decref(given);
    return rc;
}

void node_env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}
