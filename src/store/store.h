/* store.h: chime's durable state: jobs (every version kept) with their
 * scheduling state, runs, and dead letters.
 *
 * The invariant that matters: when a write returns (or its callback runs)
 * with success, it is on disk. A fire's run row is durable before its
 * process starts, even across power loss, and a (job, fire instant,
 * attempt) can be recorded only once (STORE_EXISTS tells the caller it
 * already was).
 *
 * Backends: SQLite (a file in the data directory, the default) behind an
 * interface that a PostgreSQL backend will implement too. See docs/store.md.
 *
 * Threads. Reads may be called from any thread at once: each borrows a
 * read connection from a small pool (waiting only when all are busy) and
 * reads the last commit without waiting for the writer.
 * Writes are ops (struct store_op). store_exec() runs one synchronously,
 * in its own transaction, from any thread, and blocks: use it at startup,
 * in recovery, in tools and tests, never on a running loop. store_submit()
 * queues one for the store thread, which commits queued ops in batches (one
 * transaction per batch, a savepoint per op) and then calls each op's
 * callback on the loop thread, in submission order.
 *
 * Strings the caller passes are borrowed: by a synchronous call until it
 * returns, by a submitted op until its callback runs. Everything a read
 * returns is owned by the caller and released with the matching _release.
 * ret_* out-parameters are written only on success. */
#ifndef CHIME_STORE_H
#define CHIME_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct store;
struct uv_loop_s;

#define STORE_NAME_MAX      63      /* bytes of a namespace or a job name */
#define STORE_DOC_MAX       1048576 /* bytes of a job document (1 MiB) */
#define STORE_TEXT_MAX      255     /* bytes of author, node, triggered_by */
#define STORE_ERROR_MAX     4096    /* a run's error, a dead letter's reason: cut here */
#define STORE_CURSOR_MAX    256     /* bytes of a page cursor, with its NUL */
#define STORE_LIMIT_DEFAULT 100     /* items per page when the limit is 0 */
#define STORE_LIMIT_MAX     1000    /* items per page at most */

#define STORE_NULL INT64_MIN /* a number that is not set (SQL NULL) */
#define STORE_NEW  (-1)      /* expect_version: the job must not exist */

/* Returned (positive) when a write finds its row already there: a run
 * with the same (job, fire, attempt), a dead letter for the same run. Not
 * an error: nothing was written and ret_id names the existing row. */
#define STORE_EXISTS 1

/* States and reasons start at 1: 0 is "none" in a filter or a check. */
enum store_run_state {
    STORE_RUN_QUEUED = 1,
    STORE_RUN_RUNNING,
    STORE_RUN_SUCCEEDED,
    STORE_RUN_FAILED,
    STORE_RUN_TIMED_OUT,
    STORE_RUN_CANCELLED,
    STORE_RUN_SKIPPED,
    STORE_RUN_MISSED,
    STORE_RUN_LOST,
    STORE_RUN_STATE_END
};

enum store_reason {
    STORE_REASON_SCHEDULE = 1,
    STORE_REASON_MANUAL,
    STORE_REASON_RETRY,
    STORE_REASON_AFTER,
    STORE_REASON_CATCH_UP,
    STORE_REASON_END
};

/* ---- opening ---- */

struct store_options {
    /* A database file, or an existing directory that gets "chime.db".
     * "postgres://..." is reserved for the cluster backend (not built yet). */
    const char *path;
    struct uv_loop_s *loop; /* where callbacks run; NULL: no store_submit() */
    int readers;            /* read connections; 0: 4 */
    int busy_timeout_ms;    /* wait for another process's lock; 0: 5000 */
    int batch_max;          /* ops per group commit at most; 0: 256 */
};

/* Opens (creating if needed) and migrates the database, and returns an
 * owned store. With a loop, call it on the loop's thread: it starts the
 * store thread and keeps a uv_async_t on the loop (which keeps the loop
 * alive) until store_close(). A database written by a newer chime (a
 * schema version this binary does not know) is CHIME_ERANGE and is left
 * untouched. */
int store_open(const struct store_options *opt, struct store **ret, struct err *err);

/* Finishes every submitted op (their callbacks run before it returns),
 * stops the store thread and closes the database. Call it once no other
 * thread uses the store: with a loop, on the loop thread and not from a
 * store callback. The last of the memory is then freed in a close
 * callback: run the loop once more before uv_loop_close().
 * store_close(NULL) does nothing. */
void store_close(struct store *s);

/* ---- jobs ---- */

/* A job as read: one version's document and the job's scheduling state. */
struct store_job {
    int64_t id;
    char ns[STORE_NAME_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    int64_t version;        /* of doc */
    int64_t latest_version; /* the job's current version */
    char *doc;              /* JSON text as stored, NUL-terminated */
    size_t doc_len;
    char *author;       /* of this version; NULL: none */
    int64_t version_us; /* when this version was written */
    int64_t created_us; /* when the job was created (again, after a delete) */
    /* state */
    bool paused;
    int64_t consecutive_failures;
    int64_t last_fire_us; /* newest schedule fire recorded; STORE_NULL: none */
    int64_t next_fire_us; /* as the engine last set it; STORE_NULL: none */
};

/* Frees what a read put in J (not J itself). */
void store_job_release(struct store_job *j);

/* The current version of a live job; CHIME_ENOTFOUND when there is none. */
int store_job_get(struct store *s, const char *ns, const char *name, struct store_job *ret,
                  struct err *err);
/* VERSION of a live job (the state is the job's current state). */
int store_job_get_version(struct store *s, const char *ns, const char *name, int64_t version,
                          struct store_job *ret, struct err *err);

struct store_job_filter {
    const char *ns;        /* NULL: every namespace */
    const char *label_key; /* with label_value: jobs with that label; NULL: any */
    const char *label_value;
    const char *cursor; /* a page's next_cursor; NULL or "": the first page */
    int limit;          /* 0: STORE_LIMIT_DEFAULT; at most STORE_LIMIT_MAX */
};

struct store_job_page {
    struct store_job *items; /* by namespace, then name */
    size_t n;
    char next_cursor[STORE_CURSOR_MAX]; /* "": this is the last page */
};

/* Live jobs, current versions. */
int store_job_list(struct store *s, const struct store_job_filter *f, struct store_job_page *ret,
                   struct err *err);
/* How many live jobs match F (its cursor and limit are ignored). */
int store_job_count(struct store *s, const struct store_job_filter *f, int64_t *ret,
                    struct err *err);
void store_job_page_release(struct store_job_page *p);

struct store_version {
    int64_t version;
    int64_t created_us;
    char *author; /* NULL: none */
    size_t doc_len;
};

struct store_version_page {
    struct store_version *items; /* newest first */
    size_t n;
    char next_cursor[STORE_CURSOR_MAX];
};

/* The versions of a live job, newest first, without their documents. */
int store_job_versions(struct store *s, const char *ns, const char *name, const char *cursor,
                       int limit, struct store_version_page *ret, struct err *err);
void store_version_page_release(struct store_version_page *p);

/* ---- plans: what the engine schedules a job by ---- */

/* The members of a job's document that scheduling needs, kept in columns
 * of the job's row so that start-up reads no document (docs/store.md).
 * The store does not interpret them: texts are the document's names
 * ("cron", "forbid"), numbers are microseconds or counts. The columns
 * count only while their version is the job's current version: a put of
 * a new version leaves them stale until the plan of that version is
 * written (the job_plan op), and a reader then gets the document. */
struct store_job_plan {
    int64_t version;              /* the job version they were taken from */
    const char *kind;             /* "cron", "every", "at", "after", "manual" */
    const char *cron;             /* cron: the expression as written */
    const char *zone;             /* cron: a zone name; NULL: the daemon's */
    int64_t every_us;             /* every: the period */
    int64_t start_us;             /* every: the first fire; STORE_NULL: none */
    int64_t jitter_us;            /* every */
    int64_t at_us;                /* at */
    const char *after;            /* after: upstream "ns/name"s, one space between */
    const char *when;             /* after: "success", "failure", "always" */
    const char *concurrency;      /* "forbid", "allow", "queue", "replace" */
    int64_t max_instances;
    int64_t priority;
    int64_t misfire_grace_us;
    const char *catch_up;         /* "none", "latest", "all" */
    int64_t max_catch_up;
    int64_t retry_max_attempts;
    int64_t retry_backoff_us;
    double retry_factor;
    int64_t retry_max_backoff_us;
    double retry_jitter;
    int64_t disable_after_failures;
};

/* One live job as start-up reads it; borrowed for the callback. */
struct store_job_entry {
    int64_t id;
    const char *ns;
    const char *name;
    int64_t version;                    /* the current version */
    bool paused;
    int64_t consecutive_failures;
    int64_t last_fire_us;               /* STORE_NULL: none */
    const struct store_job_plan *plan;  /* the current version's; NULL: none, see doc */
    const char *doc;                    /* the current document when plan is NULL */
    size_t doc_len;
};

typedef int store_job_scan_cb(void *ctx, const struct store_job_entry *e);

/* Calls CB for every live job, in id order, from one read: its state and
 * plan, or its document where the plan columns are not the current
 * version's. A negative return of CB stops the scan and is returned. */
int store_job_scan(struct store *s, store_job_scan_cb *cb, void *ctx, struct err *err);

/* The document of VERSION of job JOB_ID (deleted or not) into an owned
 * string (free()) and its length; CHIME_ENOTFOUND. It reads on a
 * connection kept for this call alone, so the engine's loop, which reads
 * a run's document when the run starts, never waits for the API's
 * readers (one caller at a time is expected; others wait for it). */
int store_job_doc(struct store *s, int64_t job_id, int64_t version, char **ret, size_t *ret_len,
                  struct err *err);

/* ---- runs ---- */

/* One run, the columns of DESIGN.md's run object. Numbers that may be
 * unset hold STORE_NULL, strings NULL. Writes borrow the strings; reads
 * return owned ones, freed by store_run_release(). */
struct store_run {
    int64_t id; /* 0 before it is inserted */
    int64_t job_id;
    char ns[STORE_NAME_MAX + 1]; /* the job's; filled by reads */
    char name[STORE_NAME_MAX + 1];
    int64_t job_version;
    int64_t fire_us;
    enum store_reason reason;
    int64_t attempt; /* 1, 2, ... */
    enum store_run_state state;
    int64_t queued_us; /* when the run was recorded */
    int64_t started_us;
    int64_t finished_us;
    int64_t pid;
    int64_t holder_pid;
    int64_t exit_code;
    int64_t signal;
    int64_t cpu_user_ms;
    int64_t cpu_sys_ms;
    int64_t max_rss_kb;
    int64_t output_bytes;
    char *error; /* cut to STORE_ERROR_MAX bytes when written */
    char *node;
    char *triggered_by;
};

/* Clears R: zeros, and STORE_NULL in every number that may be unset.
 * Fill a run to insert from here. */
void store_run_init(struct store_run *r);
/* Frees the strings a read put in R and clears it with store_run_init(). */
void store_run_release(struct store_run *r);

int store_run_get(struct store *s, int64_t id, struct store_run *ret, struct err *err);

struct store_run_filter {
    const char *ns;             /* NULL: every namespace */
    const char *name;           /* with ns: one job; NULL: every job */
    enum store_run_state state; /* 0: every state */
    int64_t since_us;           /* fire_us >= since_us; 0: no bound */
    int64_t until_us;           /* fire_us < until_us; 0: no bound */
    const char *cursor;         /* a page's next_cursor; NULL or "": the first page */
    int limit;                  /* 0: STORE_LIMIT_DEFAULT; at most STORE_LIMIT_MAX */
};

struct store_run_page {
    struct store_run *items; /* newest fire first, then highest id */
    size_t n;
    char next_cursor[STORE_CURSOR_MAX]; /* "": this is the last page */
};

/* A page of runs. A job named in F that does not exist is CHIME_ENOTFOUND
 * (a deleted job's runs are still listed). Pages are keyset pages: rows
 * inserted meanwhile never shift them, every row is seen at most once. */
int store_run_list(struct store *s, const struct store_run_filter *f, struct store_run_page *ret,
                   struct err *err);
int store_run_count(struct store *s, const struct store_run_filter *f, int64_t *ret,
                    struct err *err);
/* Every queued or running run, oldest id first, for recovery. */
int store_run_unfinished(struct store *s, struct store_run_page *ret, struct err *err);
void store_run_page_release(struct store_run_page *p);

/* ---- dead letters: fires whose last attempt failed ---- */

struct store_dead {
    int64_t run_id; /* the last attempt */
    int64_t job_id;
    char ns[STORE_NAME_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    int64_t fire_us;
    char *reason;
    int64_t created_us;
};

struct store_dead_filter {
    const char *ns;   /* NULL: every namespace */
    const char *name; /* with ns: one job */
    const char *cursor;
    int limit;
};

struct store_dead_page {
    struct store_dead *items; /* newest run first */
    size_t n;
    char next_cursor[STORE_CURSOR_MAX];
};

int store_dead_list(struct store *s, const struct store_dead_filter *f, struct store_dead_page *ret,
                    struct err *err);
void store_dead_page_release(struct store_dead_page *p);

/* ---- writes ---- */

enum store_op_kind {
    STORE_OP_JOB_PUT = 1,
    STORE_OP_JOB_DELETE,
    STORE_OP_JOB_STATE,
    STORE_OP_RUN_INSERT,
    STORE_OP_RUN_UPDATE,
    STORE_OP_DEAD_INSERT,
    STORE_OP_DEAD_REMOVE,
    STORE_OP_PRUNE,
    STORE_OP_JOB_PLAN,
    STORE_OP_KIND_END
};

/* Which fields of a job_state op are written. */
enum {
    STORE_STATE_PAUSED = 1 << 0,
    STORE_STATE_FAILURES = 1 << 1,
    STORE_STATE_LAST_FIRE = 1 << 2,
    STORE_STATE_NEXT_FIRE = 1 << 3,
};

struct store_op;
typedef void store_cb(struct store_op *op);

/* One write. Fill kind and its member of the union (zero the rest), then
 * store_exec() or store_submit() it. The op is borrowed until it is done.
 *
 * job_put     creates or replaces ns/name; ret_id is the job's id,
 *             ret_version the new version. A document equal to the
 *             current one makes no new version (ret_version is the
 *             current). expect_version: 0 no check, STORE_NEW the job
 *             must not exist, n it must be at version n; otherwise
 *             CHIME_ECONFLICT. The document must be valid JSON
 *             (CHIME_EINVAL); its "labels" object is indexed for
 *             store_job_list(). paused becomes the job's paused state.
 *             Putting a deleted job brings it back with the next version
 *             number, fresh state and its old runs.
 * job_delete  marks a live job deleted (CHIME_ENOTFOUND if there is none;
 *             expect_version as above) and removes its dead letters; its
 *             versions and runs stay until pruned.
 * job_state   writes the fields of a live job's state named in set.
 * run_insert  ret_id is the new run's id, or STORE_EXISTS and the id of
 *             the run already recorded for (job, fire, attempt). A
 *             schedule or catch_up run also moves the job's last_fire_us
 *             forward to fire_us, in the same transaction.
 * run_update  writes state, started/finished instants, pids, exit, signal,
 *             usage, output_bytes, error and node of run.id (the rest is
 *             fixed at insert). With expect_state, a run in another state
 *             is CHIME_ECONFLICT (so a late write cannot undo a newer one).
 * dead_insert dead-letters run_id (STORE_EXISTS if it already is).
 * dead_remove removes run_id's dead letter (CHIME_ENOTFOUND if none).
 * job_plan    writes job_id's plan columns when its current version is
 *             plan.version; CHIME_ECONFLICT when it is at another version
 *             (that version's plan is the one to write), CHIME_ENOTFOUND
 *             when the job is deleted.
 * prune       deletes job_id's (0: every job's) finished runs that are not
 *             among its newest keep (0: no count limit) or fired before
 *             before_us (0: no age limit); queued, running and
 *             dead-lettered runs are never deleted. ret_ids (owned by the
 *             caller, free()) lists the deleted runs, whose output files
 *             the caller removes. */
struct store_op {
    enum store_op_kind kind;
    union {
        struct {
            const char *ns;
            const char *name;
            const char *doc;    /* NUL-terminated JSON text */
            const char *author; /* NULL: none */
            int64_t expect_version;
            bool paused;
            int64_t now_us;
        } job_put;
        struct {
            const char *ns;
            const char *name;
            int64_t expect_version;
            int64_t now_us;
        } job_delete;
        struct {
            int64_t job_id;
            unsigned set; /* STORE_STATE_* */
            bool paused;
            int64_t consecutive_failures;
            int64_t last_fire_us; /* STORE_NULL: none */
            int64_t next_fire_us; /* STORE_NULL: none */
        } job_state;
        struct {
            struct store_run run; /* from store_run_init(); id ignored */
        } run_insert;
        struct {
            struct store_run run;
            enum store_run_state expect_state; /* 0: no check */
        } run_update;
        struct {
            int64_t run_id;
            const char *reason;
            int64_t now_us;
        } dead_insert;
        struct {
            int64_t run_id;
        } dead_remove;
        struct {
            int64_t job_id;
            int64_t keep;
            int64_t before_us;
        } prune;
        struct {
            int64_t job_id;
            struct store_job_plan plan;
        } job_plan;
    };

    /* Results, set when the op is done. */
    int rc; /* 0 or STORE_EXISTS; -code with err filled */
    struct err err;
    int64_t ret_id;
    int64_t ret_version;
    int64_t *ret_ids;
    size_t n_ret_ids;

    void *data; /* the caller's */

    /* The store's. */
    store_cb *cb;
    struct store_op *next;
};

/* Runs OP in a transaction of its own and returns op->rc. Blocks; not on
 * a running loop. */
int store_exec(struct store *s, struct store_op *op);

/* Runs the N ops of OPS in one transaction (a savepoint each, as a
 * batch of the store thread), blocking; returns 0, or -code when the
 * transaction failed (then every op failed). Each op's rc tells its own
 * result. Not on a running loop. */
int store_exec_all(struct store *s, struct store_op *const *ops, size_t n);

/* Queues OP for the store thread; CB(op) runs on the loop thread once it
 * is committed or has failed (op->rc). Any thread may submit; ops are
 * done, and called back, in submission order. Fails (and CB is not
 * called) only without a loop or once the store is closing. */
int store_submit(struct store *s, struct store_op *op, store_cb *cb);

/* Synchronous shorthands for store_exec(). */
int store_job_put(struct store *s, const char *ns, const char *name, const char *doc,
                  const char *author, int64_t expect_version, bool paused, int64_t now_us,
                  int64_t *ret_version, struct err *err);
int store_job_delete(struct store *s, const char *ns, const char *name, int64_t expect_version,
                     int64_t now_us, struct err *err);
int store_run_insert(struct store *s, const struct store_run *r, int64_t *ret_id, struct err *err);
int store_run_update(struct store *s, const struct store_run *r, enum store_run_state expect_state,
                     struct err *err);
int store_dead_insert(struct store *s, int64_t run_id, const char *reason, int64_t now_us,
                      struct err *err);
int store_dead_remove(struct store *s, int64_t run_id, struct err *err);
/* *RET_IDS is owned by the caller (free()); NULL when nothing was deleted. */
int store_prune(struct store *s, int64_t job_id, int64_t keep, int64_t before_us, int64_t **ret_ids,
                size_t *ret_n, struct err *err);

/* ---- the rest ---- */

struct store_stats {
    uint64_t batches;    /* write transactions, committed or not */
    uint64_t commits;    /* of them, committed */
    uint64_t ops;        /* ops done */
    uint64_t failed_ops; /* of them, failed */
};

void store_stats(struct store *s, struct store_stats *ret);

/* Checks the database's structure and foreign keys; CHIME_EIO names the
 * first problem. */
int store_check(struct store *s, struct err *err);

/* "queued", "timed_out", "catch_up": the names in the API and the database. */
const char *store_run_state_name(enum store_run_state st);
const char *store_reason_name(enum store_reason r);
/* CHIME_EINVAL, naming FIELD, for an unknown name. */
int store_run_state_parse(const char *name, const char *field, enum store_run_state *ret,
                          struct err *err);
int store_reason_parse(const char *name, const char *field, enum store_reason *ret,
                       struct err *err);
/* Whether a run in ST has ended. */
bool store_run_state_finished(enum store_run_state st);

#endif
