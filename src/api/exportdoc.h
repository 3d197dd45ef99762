/* exportdoc.h: chime's export file, the one JSON document `chime export`
 * writes and `chime import` reads:
 *
 *     {"chime_export": 1, "exported_at": "2026-11-24T01:00:00.000000Z",
 *      "jobs": [JOB DOCUMENT, ...], "tokens": [TOKEN, ...]}
 *
 * "jobs" are canonical job documents with "paused" as the job was (a
 * document without "paused" leaves a job's state as it is: `chime apply`
 * sends documents as people write them). "tokens"
 * (only when asked for) describe API tokens by name, role, namespaces and
 * expiry, never a secret or its hash; an import never creates tokens from
 * them (a token without its secret is no token), it only counts them.
 *
 * exportdoc_parse() checks a file whole before anything is applied: the
 * envelope (a known format version, no unknown member, bounded sizes),
 * every job document (job_from_json, with the read-only members of a job
 * view dropped as a PUT drops them), and that no two jobs share a name.
 * It finds every error it can (up to EXPORTDOC_ERRORS_MAX), not just the
 * first, each naming its place in the file ("jobs[3].schedule.cron").
 * Dependencies between jobs need the store's jobs too: the API checks
 * them (jobgraph.h). Pure: no I/O. */
#ifndef CHIME_EXPORTDOC_H
#define CHIME_EXPORTDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job/job.h"

struct err;
typedef struct json_t json_t;

#define EXPORTDOC_FORMAT     1                    /* "chime_export" this chime writes and reads */
#define EXPORTDOC_BYTES_MAX  ((size_t)64 << 20)   /* of an export file */
#define EXPORTDOC_JOBS_MAX   100000               /* jobs in one file */
#define EXPORTDOC_TOKENS_MAX 100000               /* token entries in one file */
#define EXPORTDOC_ERRORS_MAX 100                  /* errors told; past them, one more says so */
#define EXPORTDOC_ID_LEN     (2 * JOB_NAME_MAX + 2)

/* One job of a file, validated. */
struct exportdoc_job {
    size_t index;              /* in the file's "jobs" */
    char id[EXPORTDOC_ID_LEN]; /* "namespace/name" */
    struct job *job;           /* owned; its canonical document is job_to_json()'s */
    bool paused_given;         /* the document says "paused"; else the job's state stays */
};

/* A file, validated: the jobs of the namespace asked for, in file order. */
struct exportdoc {
    struct exportdoc_job *jobs;
    size_t n_jobs;
    size_t n_other; /* valid jobs of other namespaces, left out */
    size_t n_tokens;
};

/* Parses and validates LEN bytes of TEXT. ONLY_NS (may be NULL) keeps the
 * jobs of that namespace alone; the others are still validated, and
 * counted. On success *RET is owned (exportdoc_free). A file that is not
 * valid is CHIME_EINVAL (or CHIME_ETOOBIG past the limits) with ERR
 * describing the first error and, when RET_ERRORS is not NULL, every
 * error found in *RET_ERRORS (owned): an array of {"index": i or null,
 * "job": "ns/name" or null, "field": "jobs[3].schedule.cron",
 * "detail": "..."}. */
int exportdoc_parse(const char *text, size_t len, const char *only_ns, struct exportdoc **ret,
                    json_t **ret_errors, struct err *err);
void exportdoc_free(struct exportdoc *d);

/* The file for JOBS and TOKENS (both arrays, taken; TOKENS may be NULL for
 * none) exported at NOW_US; NULL when out of memory. */
json_t *exportdoc_build(json_t *jobs, json_t *tokens, int64_t now_us);

#endif
