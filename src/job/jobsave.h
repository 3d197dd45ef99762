/* jobsave.h: the one way job versions are saved. The API (create,
 * replace, patch, rollback), an import (its dry run too) and the jobs
 * directory all save through it, so that no path checks less than
 * another. A save is a batch of changes; a single API save is a batch of
 * one, an import or the jobs directory a batch of many:
 *
 *   1. jobsave_check(): every change on its own: the job's namespace and
 *      the upstreams of its `after` are ones the saver sees, the channels
 *      it names exist and its namespace may use them (notify.h), the job
 *      is at the version the change expects, and its secrets seal against
 *      the stored version (jobsecret.h). Then one cycle check of any
 *      length (jobgraph.h) over the store's jobs with the batch laid over
 *      them and its removals gone. Each change gets its action and the
 *      canonical, sealed text to store. Nothing is written: a dry run
 *      stops here.
 *   2. jobsave_write(): every write of the batch in one store
 *      transaction, each with its audit entry when the saver keeps an
 *      audit log (the API; the jobs directory keeps none). A new
 *      version's plan (the store's columns start-up schedules by) is
 *      written with it.
 *   3. The engine takes the batch on its loop, in jobsave_order():
 *      removals, changes of "paused", then the new versions with
 *      upstreams first (daemon/nodecall.c). The engine holds no cycle
 *      check of its own.
 *
 * A batch is all or nothing (the API, an import): one bad change fails
 * it and nothing is written. With JOBSAVE_EACH (the jobs directory, where
 * one bad file must not hold up the others) a bad change is left out with
 * its error, and the rest is saved.
 *
 * A document equal to the stored one but for "paused" is a change of the
 * job's state (JOBSAVE_STATE), which makes no version, as pause and
 * resume make none; an equal one changes nothing (JOBSAVE_UNCHANGED: no
 * write, no audit entry, nothing for the engine).
 *
 * The caller serialises saves (the API holds its write lock across the
 * three steps) and owns the batch: jobsave_new() ... jobsave_free(). */
#ifndef CHIME_JOBSAVE_H
#define CHIME_JOBSAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "job/job.h"
#include "util/err.h"

struct jobsave;
struct secret_key;
struct store;
struct store_audit;
typedef struct json_t json_t;

#define JOBSAVE_ID_LEN (2 * JOB_NAME_MAX + 2)

enum jobsave_act {
    JOBSAVE_CREATE,    /* a new job */
    JOBSAVE_CHANGE,    /* a new version */
    JOBSAVE_STATE,     /* the document is the same but for "paused" */
    JOBSAVE_UNCHANGED, /* nothing to do */
    JOBSAVE_REMOVE,    /* the job goes */
};

enum {
    JOBSAVE_EACH = 1 << 0, /* a bad change is left out; the rest is saved */
};

/* One change of a batch. The caller reads it (jobsave_item()); the
 * batch owns what it points to. */
struct jobsave_item {
    char id[JOBSAVE_ID_LEN]; /* "namespace/name" */
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    struct job *job;         /* the version saved; NULL for a removal, or once the engine has it */
    void *data;              /* the caller's */
    int64_t expect;          /* as given to jobsave_put() */
    bool keep_paused;
    /* found by jobsave_check() */
    enum jobsave_act act;
    int64_t cur_version;     /* the job's version before the save; 0: it had none */
    bool cur_paused;
    int64_t cur_last_fire_us; /* its newest fire handled; INT64_MIN: none */
    char *cur_doc;           /* its stored document (owned; NULL: none) */
    size_t cur_len;
    char *text;              /* the canonical document to save, secrets sealed (owned) */
    size_t len;
    /* found by jobsave_write() */
    int64_t key;             /* the store's id of the job */
    int64_t version;         /* its version after the save (0: removed) */
    bool planned;            /* the new version's plan was written with it */
    /* why it was refused (check or write), or why the engine refused it
     * once it was saved (engine_failed: it is scheduled at the next start) */
    bool failed, engine_failed;
    struct err err;
};

struct jobsave_options {
    struct store *store;                 /* borrowed */
    /* A check of each job saved beyond the document's own (the daemon
     * checks the channels it names: notify_check_job()); NULL: none. */
    int (*check)(void *ctx, const struct job *j, struct err *err);
    const struct secret_key *secret_key; /* NULL: a document with a secret is refused */
    const char *author;                  /* of the versions written; NULL: none */
    /* Whether the saver sees namespace NS; NULL: it sees every one. A job
     * is saved, and waits for jobs, only in namespaces it sees (else 404,
     * and 400 naming "schedule.after[i]"), and a cycle through a job it
     * does not see is told without its path, which would name that job. */
    bool (*sees)(void *ctx, const char *ns);
    void *ctx;
    /* The audit entry written with each change (borrowed; its job,
     * versions and status are filled in per change); NULL: none. STATUS
     * is its status, STATUS_CREATED that of a job created. */
    const struct store_audit *audit;
    unsigned status, status_created;
    unsigned flags;                      /* JOBSAVE_EACH */
    int64_t now_us;
};

/* A new, empty batch (owned, jobsave_free()); OPT is copied, what it
 * points to borrowed. */
int jobsave_new(const struct jobsave_options *opt, struct jobsave **ret, struct err *err);
void jobsave_free(struct jobsave *b);

/* Adds the save of J (taken, also on failure) as its job's next version.
 * EXPECT: 0 any version, STORE_NEW the job must not exist, n it must be
 * at version n (else CHIME_ECONFLICT). With KEEP_PAUSED a job that exists
 * keeps its paused state whatever J says (the jobs directory). DATA is
 * the caller's. CHIME_ENOMEM. */
int jobsave_put(struct jobsave *b, struct job *j, int64_t expect, bool keep_paused, void *data,
                struct err *err);
/* Adds the removal of job NS/NAME (it must exist). */
int jobsave_remove(struct jobsave *b, const char *ns, const char *name, void *data,
                   struct err *err);

size_t jobsave_count(const struct jobsave *b);
/* Change I, in the order added; valid until the next jobsave_put() or
 * jobsave_remove(). */
struct jobsave_item *jobsave_item(struct jobsave *b, size_t i);

/* Step 1. Returns 0 when the batch may be written (with JOBSAVE_EACH:
 * what is left of it), else the first failed change's error in ERR and
 * every failed change's in its item. CHIME_ENOMEM, CHIME_EIO. */
int jobsave_check(struct jobsave *b, struct err *err);
/* After jobsave_check(): whether job ID exists once the batch is saved. */
bool jobsave_has(const struct jobsave *b, const char *id);
/* Step 2: the writes of every change checked, in one transaction. All or
 * nothing: a failure (a job changed since the check is CHIME_ECONFLICT)
 * is the failed change's error, in ERR and its item, and nothing is
 * written. With JOBSAVE_EACH each change fails alone. */
int jobsave_write(struct jobsave *b, struct err *err);
/* Step 3 is the engine's (the daemon's): it takes the written changes in
 * this order, which fills ORDER (room for jobsave_count() entries) with
 * item indexes: removals and changes of state first, as given, then the
 * new versions with upstreams first. Failed and unchanged items are left
 * out. Returns how many, or -CHIME_ENOMEM. */
ssize_t jobsave_order(const struct jobsave *b, size_t *order);

#endif
