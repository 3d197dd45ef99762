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

#include "store/vocab.h"
#include "util/err.h"

struct store;
struct uv_loop_s;
struct metrics;

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

/* Run states and reasons (enum store_run_state, enum store_reason) and
 * their names are vocab.h's tables. */

/* ---- opening ---- */

struct store_options {
    /* A database file, or an existing directory that gets "chime.db".
     * "postgres://..." is reserved for the cluster backend (not built yet). */
    const char *path;
    struct uv_loop_s *loop; /* where callbacks run; NULL: no store_submit() */
    int readers;            /* read connections; 0: 4 */
    int busy_timeout_ms;    /* wait for another process's lock; 0: 5000 */
    int batch_max;          /* ops per group commit at most; 0: 256 */
    struct metrics *metrics; /* borrowed: commit latency goes there; NULL: none */
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
    const char *ns_in;  /* a JSON array: only jobs in these namespaces; NULL: any */
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
    /* The document's "retention" (migration 6), not read back into a
     * job: the store applies it itself (the retain op). STORE_NULL: the
     * daemon's default. */
    int64_t retain_runs;
    int64_t retain_for_us;
    int64_t retain_output;        /* bytes */
    int64_t retain_dead_letters;
};

/* One live job as start-up reads it; borrowed for the callback. */
struct store_job_entry {
    int64_t id;
    const char *ns;
    const char *name;
    int64_t version;                    /* the current version */
    int64_t version_us;                 /* when the current version was written */
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

/* A live job's head: who it is and its current version, without its
 * document, state or plan; borrowed for the callback. */
struct store_job_head {
    int64_t id;
    const char *ns;
    const char *name;
    int64_t version;
};

typedef int store_job_head_cb(void *ctx, const struct store_job_head *h);

/* Calls CB for every live job whose current version AUTHOR wrote (NULL:
 * every live job), in id order, from one read that reads no document
 * (the jobs directory's restart: which jobs it saved, at what version).
 * A negative return of CB stops the listing and is returned. */
int store_job_heads(struct store *s, const char *author, store_job_head_cb *cb, void *ctx,
                    struct err *err);

/* The document of VERSION of job JOB_ID (deleted or not) into an owned
 * string (free()) and its length; CHIME_ENOTFOUND. It reads on a
 * connection kept for this call alone, so the engine's loop, which reads
 * a run's document when the run starts, never waits for the API's
 * readers (one caller at a time is expected; others wait for it). */
int store_job_doc(struct store *s, int64_t job_id, int64_t version, char **ret, size_t *ret_len,
                  struct err *err);

/* A stored document (of any version, deleted jobs' too) that holds the
 * text NEEDLE, looked for among the NEWEST versions written last (0:
 * all of them, which reads the whole table): an owned string (free()) in
 * *RET, or NULL when there is none. For the daemon's start-up check of
 * its secret key (docs/secrets.md). */
int store_job_doc_find(struct store *s, const char *needle, int64_t newest, char **ret,
                       size_t *ret_len, struct err *err);

/* ---- runs ---- */

/* One run, the columns of docs/design.md's run object. Numbers that may be
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
    bool ran;                   /* only runs that ran or run: no skipped or missed one */
    int64_t since_us;           /* fire_us >= since_us; 0: no bound */
    int64_t until_us;           /* fire_us < until_us; 0: no bound */
    const char *ns_in;          /* a JSON array: only these namespaces' runs; NULL: any */
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
    const char *ns_in; /* a JSON array: only these namespaces' letters; NULL: any */
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

/* ---- tokens and the audit log (sqlite_tokens.c, sqlite_audit.c) ---- */

#define STORE_TOKEN_KEY_MAX  32 /* bytes of a token's public id */
#define STORE_TOKEN_HASH_MAX 64 /* bytes of a token's secret hash */
#define STORE_ROLE_MAX       15 /* bytes of a role name */

/* An API token. The store keeps its secret's hash, never the secret; it
 * does not interpret role or namespaces (src/api/token.c does). Writes
 * borrow the strings; reads return owned ones (store_token_release). */
struct store_token {
    int64_t id;
    char key[STORE_TOKEN_KEY_MAX + 1]; /* the public id in the secret */
    char name[STORE_NAME_MAX + 1];     /* unique among live tokens */
    char role[STORE_ROLE_MAX + 1];     /* "viewer", "operator", "admin" */
    char *namespaces;                  /* a JSON array of names; NULL: every one */
    unsigned char hash[STORE_TOKEN_HASH_MAX];
    size_t hash_len;
    int64_t created_us;
    char *created_by; /* the creating token's name; NULL: the daemon */
    int64_t expires_us; /* STORE_NULL: never */
    int64_t revoked_us; /* STORE_NULL: live */
};

void store_token_release(struct store_token *t);
/* The token whose public id is KEY, revoked or not; CHIME_ENOTFOUND. */
int store_token_get(struct store *s, const char *key, struct store_token *ret, struct err *err);

struct store_token_page {
    struct store_token *items; /* oldest first */
    size_t n;
    char next_cursor[STORE_CURSOR_MAX];
};

/* Tokens by id; revoked ones too when REVOKED. */
int store_token_list(struct store *s, bool revoked, const char *cursor, int limit,
                     struct store_token_page *ret, struct err *err);
void store_token_page_release(struct store_token_page *p);
/* How many tokens there are, revoked ones included (0: a fresh store). */
int store_token_count(struct store *s, int64_t *ret, struct err *err);

/* One audit entry: a mutating API request and its outcome. Writes borrow
 * the strings; reads return owned ones (store_audit_release). */
struct store_audit {
    int64_t id;
    int64_t at_us;
    char *token;   /* the token's name; NULL: none */
    char *address; /* the client's address */
    char *method;  /* "POST" */
    char *route;   /* the route's template, "/api/v1/jobs/{namespace}/{name}" */
    char *target;  /* the request's path */
    char ns[STORE_NAME_MAX + 1];   /* the job's, "" when none */
    char name[STORE_NAME_MAX + 1];
    int64_t run_id;         /* STORE_NULL: none */
    int64_t version_before; /* of the job; STORE_NULL: none (new, or no job) */
    int64_t version_after;  /* STORE_NULL: none (deleted, or no change made) */
    int64_t status;         /* the HTTP status answered */
};

void store_audit_init(struct store_audit *a);
void store_audit_release(struct store_audit *a);

struct store_audit_filter {
    const char *ns;     /* with name: one job's entries; NULL: any */
    const char *name;
    const char *token;  /* one token's entries; NULL: any */
    int64_t since_us;   /* at_us >= since_us; 0: no bound */
    int64_t until_us;   /* at_us < until_us; 0: no bound */
    const char *ns_in;  /* JSON array: only entries of jobs in these namespaces; NULL: any */
    const char *cursor; /* a page's next_cursor */
    int limit;
};

struct store_audit_page {
    struct store_audit *items; /* newest first */
    size_t n;
    char next_cursor[STORE_CURSOR_MAX];
};

int store_audit_list(struct store *s, const struct store_audit_filter *f,
                     struct store_audit_page *ret, struct err *err);
int store_audit_count(struct store *s, const struct store_audit_filter *f, int64_t *ret,
                      struct err *err);
void store_audit_page_release(struct store_audit_page *p);

/* ---- the notification outbox (sqlite_outbox.c, docs/notify.md) ---- */

/* A notification's life: pending until its due instant, delivering while
 * a deliverer holds it (until due_us: a lease, so a deliverer that died
 * leaves it due again), then delivered, or pending again with a later
 * due_us after a failed attempt, or failed for good. */
enum store_outbox_state {
    STORE_OUTBOX_PENDING = 1,
    STORE_OUTBOX_DELIVERING,
    STORE_OUTBOX_DELIVERED,
    STORE_OUTBOX_FAILED,
    STORE_OUTBOX_STATE_END
};

#define STORE_DELIVERY_ID_LEN 33 /* 32 hex digits and NUL */
#define STORE_EVENT_MAX       15 /* bytes of an event name ("recovery") */
#define STORE_PAYLOAD_MAX     65536 /* bytes of a notification's event JSON */

/* One event for one channel. Reads return owned strings, freed by
 * store_outbox_release(). */
struct store_outbox {
    int64_t id;
    char delivery_id[STORE_DELIVERY_ID_LEN]; /* random, fixed at enqueue: receivers dedupe by it */
    int64_t job_id;                     /* STORE_NULL: a daemon event (no job) */
    char ns[STORE_NAME_MAX + 1];        /* "" for a daemon event */
    char name[STORE_NAME_MAX + 1];
    int64_t run_id;                     /* STORE_NULL: none */
    char event[STORE_EVENT_MAX + 1];    /* "failure", "success", ... */
    char channel[STORE_NAME_MAX + 1];
    char *payload;                      /* the event's JSON text */
    enum store_outbox_state state;
    int64_t attempts;                   /* delivery attempts begun */
    int64_t created_us;
    int64_t due_us;                     /* pending: next attempt; delivering: lease end */
    int64_t updated_us;
    int64_t delivered_us;               /* STORE_NULL: not delivered */
    int64_t last_status;                /* the last answer's HTTP or SMTP code; STORE_NULL */
    char *last_error;                   /* the last failure; NULL */
};

void store_outbox_release(struct store_outbox *o);

struct store_outbox_filter {
    enum store_outbox_state state; /* 0: every state */
    const char *ns;                /* with name: one job's; NULL: every job */
    const char *name;
    const char *channel;           /* NULL: every channel */
    const char *ns_in;             /* JSON array: only jobs of these namespaces (never a
                                      daemon event); NULL: any, and the daemon's */
    const char *cursor;
    int limit;
};

struct store_outbox_page {
    struct store_outbox *items; /* newest first */
    size_t n;
    char next_cursor[STORE_CURSOR_MAX];
};

/* A page of notifications; a job named in F that does not exist is
 * CHIME_ENOTFOUND. */
int store_outbox_list(struct store *s, const struct store_outbox_filter *f,
                      struct store_outbox_page *ret, struct err *err);
int store_outbox_count(struct store *s, const struct store_outbox_filter *f, int64_t *ret,
                       struct err *err);
void store_outbox_page_release(struct store_outbox_page *p);
int store_outbox_get(struct store *s, int64_t id, struct store_outbox *ret, struct err *err);
/* The earliest due_us of a pending or delivering notification into
 * *RET_US; INT64_MAX when there is none. */
int store_outbox_next_due(struct store *s, int64_t *ret_us, struct err *err);

const char *store_outbox_state_name(enum store_outbox_state st);
int store_outbox_state_parse(const char *name, const char *field, enum store_outbox_state *ret,
                             struct err *err);

/* ---- writes ---- */

enum store_op_kind {
    STORE_OP_JOB_PUT = 1,
    STORE_OP_JOB_DELETE,
    STORE_OP_JOB_STATE,
    STORE_OP_RUN_INSERT,
    STORE_OP_RUN_UPDATE,
    STORE_OP_DEAD_INSERT,
    STORE_OP_DEAD_REMOVE,
    STORE_OP_JOB_PLAN,
    STORE_OP_TOKEN_INSERT,
    STORE_OP_TOKEN_REVOKE,
    STORE_OP_AUDIT_INSERT,
    STORE_OP_AUDIT_PRUNE,
    STORE_OP_OUTBOX_ADD,
    STORE_OP_OUTBOX_CLAIM,
    STORE_OP_OUTBOX_DONE,
    STORE_OP_OUTBOX_REQUEUE,
    STORE_OP_OUTBOX_PRUNE,
    STORE_OP_RETAIN,
    STORE_OP_NS_USER_CLAIM,
    STORE_OP_KIND_END
};

/* How long a job's history is kept: each limit alone deletes, 0 turns it
 * off. Runs past the newest `runs`, fired longer than `for_us` ago, or
 * beyond `output` bytes of output (newest first; the newest run always
 * stays) go with their output; queued and running runs never. A
 * dead-lettered run is exempt from those three until its dead letter
 * expires: fired longer than `for_us` ago, or past the job's newest
 * `dead_letters`. */
struct store_retention {
    int64_t runs;
    int64_t for_us;
    int64_t output;             /* bytes: the runs' output_bytes summed */
    int64_t dead_letters;
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
 *             number, fresh state and its old runs. With plan, a new
 *             version's plan columns are written in the same op (as
 *             job_plan would), so start-up reads no document for it.
 * job_delete  marks a live job deleted (CHIME_ENOTFOUND if there is none;
 *             expect_version as above) and removes its dead letters; its
 *             versions and runs stay until pruned. ret_version is the
 *             version it was at.
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
 * token_insert adds a token (ret_id its id); a live token of the same
 *             name is CHIME_ECONFLICT.
 * token_revoke marks the live token NAME revoked at now_us (ret_id its
 *             id); CHIME_ENOTFOUND when there is none.
 * audit_insert appends an entry (ret_id its id). With after set (an op
 *             earlier in the same transaction, store_exec_all), the entry
 *             records that op's change: it is written only when that op
 *             succeeded, and a job_put's new version becomes its
 *             version_after (a job_delete's deleted version its
 *             version_before) when those are STORE_NULL.
 * audit_prune deletes entries older than before_us (0: no age limit) and
 *             all but the newest keep (0: no count limit); ret_id is how
 *             many went. With max, at most max go (a retention step;
 *             its count limit keeps the ids above max(id) - keep).
 * outbox_add  adds one pending notification per channel that the job's
 *             document (version job_version, 0: the current one) lists
 *             for event (its "notify"."on_<event>"), each with a new
 *             random delivery id, due at now_us. (key, channel) is
 *             unique: an event added again (a restart that replays a
 *             run's end) adds nothing. ret_ids lists the new rows (owned,
 *             free()); none when the job lists no channel for the event.
 *             A daemon event (error_rate, error_rate_ok) has no job: ns,
 *             name and job_version are NULL and 0, and its rows go to
 *             the channels named by the JSON array `channels`.
 * outbox_claim takes the pending (or lease-expired delivering) row due
 *             first at now_us: delivering, attempts + 1, due_us now_us +
 *             lease_us. ret_id is its id and *ret the row (owned strings:
 *             store_outbox_release() also on failure); ret_id 0: none due.
 * outbox_done ends claim (id, attempts): state delivered, pending again
 *             (due at due_us) or failed, with the answer's status and
 *             error. CHIME_ECONFLICT when the row is no longer that claim.
 * outbox_requeue with id: a failed row is pending again, due now, its
 *             attempts counted from 0 (CHIME_ENOTFOUND, CHIME_ECONFLICT
 *             when it is not failed); with id 0: every delivering row is
 *             pending again (start-up: their deliverer was this process).
 *             ret_id is how many rows changed.
 * outbox_prune deletes at most max (0: 1000) delivered or failed rows
 *             created before before_us; ret_id is how many went.
 * retain      applies retention (docs/store.md, "Retention") to one job
 *             (job_id), or to the jobs after job id `after` in id order,
 *             at most `jobs` of them (job_id 0: a step of a sweep; deleted
 *             jobs too). Each job's own limits (its plan's retain_*
 *             columns) win over def's (0 there: no limit). Deletes at
 *             most max (0: 1000) rows in all; ret_ids (owned, free())
 *             lists the deleted runs, whose output files the caller
 *             removes. ret_id is the last job done (the next step's
 *             `after`); ret_version is 1 when no job is left after it
 *             (a sweep's end), 0 otherwise.
 * ns_user_claim gives namespace ns its job user's uid (docs/security.md):
 *             the one it has when that is in [lo, hi] and not in avoid,
 *             else the lowest uid of the range that no namespace has and
 *             avoid does not list, kept from then on. avoid (sorted
 *             ascending, n_avoid entries) lists the range's uids someone
 *             else uses (the system's users, mapped namespaces). ret_id is
 *             the uid; CHIME_ERANGE when the range is used up. */
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
            /* the document's plan, written with a new version (its
             * version is ignored: the new one's); NULL: none, and the
             * plan columns are stale until a job_plan op */
            const struct store_job_plan *plan;
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
            struct store_job_plan plan;
        } job_plan;
        struct {
            const struct store_token *token; /* its id, revoked_us ignored */
        } token_insert;
        struct {
            const char *name;
            int64_t now_us;
        } token_revoke;
        struct {
            struct store_audit entry; /* from store_audit_init(); id ignored */
            const struct store_op *after; /* NULL: a change of its own */
        } audit_insert;
        struct {
            int64_t before_us;
            int64_t keep;
            int64_t max;    /* at most this many go (0: every one that should) */
        } audit_prune;
        struct {
            const char *ns;
            const char *name;
            int64_t job_version;    /* 0: the current version */
            int64_t run_id;         /* STORE_NULL: none */
            const char *event;      /* "failure", ... */
            const char *key;        /* the event's identity, unique per event */
            const char *payload;    /* JSON text */
            int64_t now_us;
            const char *channels;   /* a daemon event: a JSON array of channel names; NULL */
        } outbox_add;
        struct {
            int64_t now_us;
            int64_t lease_us;
            struct store_outbox *ret;
        } outbox_claim;
        struct {
            int64_t id;
            int64_t attempts;       /* the claim's */
            enum store_outbox_state state;
            int64_t due_us;         /* pending: the next attempt */
            int64_t status;         /* STORE_NULL: none */
            const char *error;      /* NULL: none; cut at STORE_ERROR_MAX */
            int64_t now_us;
        } outbox_done;
        struct {
            int64_t id;
            int64_t now_us;
        } outbox_requeue;
        struct {
            int64_t before_us;
            int64_t max;
        } outbox_prune;
        struct {
            int64_t job_id;                 /* 0: a sweep step */
            int64_t after;                  /* sweep: jobs with a greater id */
            int64_t jobs;                   /* sweep: at most (0: 256) */
            int64_t now_us;
            struct store_retention def;     /* the daemon's defaults */
            int64_t max;                    /* rows deleted at most (0: 1000) */
        } retain;
        struct {
            const char *ns;
            int64_t lo, hi;                 /* the range, 1 <= lo <= hi */
            const int64_t *avoid;           /* sorted; may be NULL */
            size_t n_avoid;
        } ns_user_claim;
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

/* Runs the N ops of OPS in one transaction that commits only when every
 * op succeeds: all or nothing (an import). The first op that fails rolls
 * the whole transaction back; then every op has failed, *RET_FAILED (may
 * be NULL) is its index (N when the transaction itself failed) and ERR
 * says why. Returns 0 or -code. Blocking; not on a running loop. */
int store_exec_atomic(struct store *s, struct store_op *const *ops, size_t n, size_t *ret_failed,
                      struct err *err);

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

int store_token_insert(struct store *s, const struct store_token *t, int64_t *ret_id,
                       struct err *err);
int store_token_revoke(struct store *s, const char *name, int64_t now_us, struct err *err);
int store_ns_user_claim(struct store *s, const char *ns, int64_t lo, int64_t hi,
                        const int64_t *avoid, size_t n_avoid, int64_t *ret_uid, struct err *err);
int store_audit_insert(struct store *s, const struct store_audit *a, int64_t *ret_id,
                       struct err *err);
/* Applies retention to job JOB_ID with the defaults DEF (the retain op),
 * deleting at most MAX rows; *RET_IDS (owned, free(); NULL when none) are
 * the deleted runs. */
int store_retain(struct store *s, int64_t job_id, const struct store_retention *def,
                 int64_t now_us, int64_t max, int64_t **ret_ids, size_t *ret_n, struct err *err);
/* Deletes audit entries older than BEFORE_US and past the newest KEEP (0
 * turns either limit off); *RET_N (may be NULL) is how many went. */
int store_audit_prune(struct store *s, int64_t before_us, int64_t keep, int64_t *ret_n,
                      struct err *err);

/* ---- the rest ---- */

struct store_stats {
    uint64_t batches;    /* write transactions, committed or not */
    uint64_t commits;    /* of them, committed */
    uint64_t ops;        /* ops done */
    uint64_t failed_ops; /* of them, failed */
    int64_t last_commit_us;  /* the last committed transaction; 0: none yet */
    int64_t last_failure_us; /* the last transaction that failed whole; 0: none */
    char last_error[128];    /* ...and why */
};

void store_stats(struct store *s, struct store_stats *ret);
/* The instants of the last committed write transaction and of the last
 * that failed whole (0: none since open), and the failure's message into
 * ERROR (LEN bytes). Never waits for a transaction in progress (health
 * checks call it from any thread). */
void store_write_health(struct store *s, int64_t *ret_commit_us, int64_t *ret_failure_us,
                        char *error, size_t len);

/* Checks the database's structure and foreign keys; CHIME_EIO names the
 * first problem. */
int store_check(struct store *s, struct err *err);

/* Copies the database into a new file at DEST (which must not exist, or
 * be empty), consistent as of one moment while the daemon goes on
 * writing: SQLite's online backup API, on a connection of its own, in
 * steps, from one read snapshot, so the store's writer is never held.
 * The copy is a complete database in rollback-journal mode, whole on disk
 * when this returns. CHIME_EIO (DEST is removed again on failure). */
int store_backup(struct store *s, const char *dest, struct err *err);

/* A run of a backup file: whether it started, and so has an output file. */
struct store_backup_run {
    int64_t id;
    bool started;
};

/* The runs in the backup file BACKUP (a copy store_backup() made), by id:
 * *RET (owned, free()) and *RET_N. CHIME_EINVAL when it is no chime
 * database. */
int store_backup_runs(const char *backup, struct store_backup_run **ret, size_t *ret_n,
                      struct err *err);

/* What store_restore_file() put in place. */
struct store_restored {
    int64_t schema_version, jobs, runs;
    char set_aside[4200];           /* where the database it replaced went; "" for none */
};

/* Puts the backup file BACKUP in place as the embedded store's database in
 * DATA_DIR, for a daemon that is not running (the caller holds the data
 * directory's lock: util/dirlock.h). BACKUP must be an SQLite database
 * that passes integrity_check, with chime's schema at a version this chime
 * opens (else CHIME_EINVAL / CHIME_ERANGE naming "BACKUP"). The copy is
 * made with SQLite's backup API into a new file, synced, and renamed into
 * place; the database it replaces is renamed aside with its WAL to
 * chime.db.before-restore-SECONDS (NOW_US), never deleted. On failure
 * nothing in DATA_DIR has changed. */
int store_restore_file(const char *backup, const char *data_dir, int64_t now_us,
                       struct store_restored *r, struct err *err);

#endif
