/* nodebody.c: the job document a run starts from (node_run_body).
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
#include <stdlib.h>

#include "job/job.h"
#include "store/store.h"
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
