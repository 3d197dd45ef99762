/* node_int.h: what the daemon's files share. Private to src/daemon/node*.c.
 *
 *   node.c        start-up, the loop, signals and shutdown
 *   noderun.c     the runs: the engine's record/update/start/cancel ops,
 *                 exits, store writes that must not be lost, recovery
 *   nodeplan.c    the plans the engine hands over, written to the store
 *   nodenotify.c  the engine's events into the outbox; the channels file
 *   nodecall.c    calls from the API's threads, run on the loop
 *   nodeload.c    jobs from the store and the jobs directory
 *   nodebody.c    the job documents runs read
 *   nodewatch.c   metrics, health, stuck runs
 *   noderetain.c  retention, on a thread of its own
 *   nodesecret.c  the secret key; nodeusers.c whom jobs run as
 *   nodeio.c      node_io_real: the store, runner, notifier and clock
 *
 * The logic reaches everything outside the daemon through n->io, so that
 * node_test.c runs it against fakes with a clock of its own. */
#ifndef CHIME_NODE_INT_H
#define CHIME_NODE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "api/api.h"
#include "job/job.h"
#include "daemon/node.h"
#include "sched/sched.h"
#include "store/store.h"
#include "util/err.h"

#define ID_LEN (2 * JOB_NAME_MAX + 2)
#define NODE_PLAN_BATCH 1024    /* plans written per transaction at start-up */

struct exec;
struct exec_spec;
struct health_config;
struct jobsave;
struct health_view;
struct metrics;
struct node_retain;
struct secret_key;
struct node_watch;
struct notify;
struct payload_event;
struct exec_callbacks;
struct exec_result;
struct exec_run;
struct exec_status;
struct exec_spawner;
struct plan_op;
struct store;
struct tz;

/* What the daemon keeps per live run (sched_run.user). */
struct hostrun {
    struct node *n;
    struct exec_run *er;        /* while its process is followed */
    struct call *waiter;        /* a trigger waiting for the run's id */
    char *error;                /* a text the engine points at */
    struct sched_run *r;
    struct hostrun *next_failed;
    /* nodewatch.c: what the stuck check needs, from the job's document */
    int64_t stuck_after_us;     /* its stuck_after; 0: none given */
    int64_t timeout_us, kill_grace_us;
    size_t watch_slot;          /* 1 + its index among the watched runs; 0: not there */
    bool stuck_told;            /* its stuck notification went out */
    /* the events its job version names channels for (a bit per enum
     * job_notify_event), once start_run() read the document: an event of
     * none costs no store write */
    bool notify_known;
    uint8_t notify_events;
};

/* A call from an API thread, run on the loop: a kind and its own typed
 * arguments and results (nodecall.c). */
enum call_kind { CALL_JOBS_APPLY, CALL_JOB_REMOVE, CALL_JOB_PAUSE, CALL_TRIGGER, CALL_CANCEL };

struct call {
    enum call_kind kind;
    union {
        struct {
            struct jobsave *batch;
            int refused;            /* result: the changes the engine refused */
        } apply;
        struct {
            const char *id;
        } remove;
        struct {
            const char *id;
            bool paused;
        } pause;
        struct {
            const char *id, *params, *who;
            int64_t run_id;         /* result: the new run's, or the live one that refused */
            struct hostrun *host;   /* while deferred: the run it waits for */
        } trigger;
        struct {
            int64_t run_id;
        } cancel;
    } u;
    /* results */
    int rc;
    struct err err;
    bool done, deferred;            /* deferred: a trigger waits for its run's record */
    struct call *next_deferred;
    pthread_cond_t cv;
    struct call *next;
};

/* What the daemon's logic calls outside itself. node_io_real (nodeio.c)
 * is the store, the runner, the notifier and the wall clock; a unit test
 * gives fakes that record what was asked and report back when it says. */
struct node_io {
    int64_t (*now_us)(struct node *n);
    void *(*alloc)(struct node *n, size_t size);       /* zeroed; NULL: out of memory */
    /* the store (store.h): store_submit, store_exec_all, recovery's reads */
    int (*submit)(struct node *n, struct store_op *op, store_cb *cb);
    int (*exec_all)(struct node *n, struct store_op *const *ops, size_t n_ops);
    int (*runs_unfinished)(struct node *n, struct store_run_page *ret, struct err *err);
    int (*run_update)(struct node *n, const struct store_run *r, struct err *err);
    int (*job_doc)(struct node *n, int64_t job_id, int64_t version, char **ret,
                   size_t *ret_len, struct err *err);
    /* the runner (exec.h) */
    int (*exec_start)(struct node *n, const struct exec_spec *spec,
                      const struct exec_callbacks *cb, struct exec_run **ret, struct err *err);
    int (*exec_attach)(struct node *n, const char *dir, const struct exec_callbacks *cb,
                       struct exec_run **ret, struct err *err);
    void (*exec_cancel)(struct node *n, struct exec_run *er);
    /* the notifier (notify.h): an event into the outbox, once per KEY */
    void (*notify_event)(struct node *n, const struct payload_event *e, int64_t version,
                         const char *key);
};

extern const struct node_io node_io_real;

struct node {
    struct node_options opt;
    const struct node_io *io;   /* &node_io_real but in unit tests */
    uv_loop_t loop;
    struct exec_spawner *spawner;
    struct exec *exec;
    struct store *store;
    struct sched *sched;
    struct api *api;
    const struct tz *zone;
    int tfd;
    uv_poll_t timer;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_async_t wake;
    uv_timer_t grace;
    uv_timer_t defer;           /* reports runs that could not start */
    uv_timer_t prune_timer;     /* retention of the jobs in prune_jobs */
    /* run updates, dead letters and job states the store could not write
     * (a full disk), in submission order, written again by rewrite_timer;
     * while there are any, new ones queue behind them (node.c) */
    uv_timer_t rewrite_timer;
    struct run_op *unwritten, *unwritten_tail;
    size_t n_unwritten;
    int64_t *prune_jobs;        /* store ids of jobs with a run ended since */
    size_t n_prune_jobs, cap_prune_jobs;
    struct hostrun *failed;     /* runs that could not start, reported by defer */
    struct sched_run *unrecorded; /* records that never reached the store (host_next),
                                     reported by defer as failed records */
    pthread_mutex_t mu;         /* guards calls, stopping */
    /* Held (write) by the loop thread whenever it is not waiting for
     * events, so other threads may read the engine under it (read) without
     * a round trip through the loop; writers are preferred. */
    pthread_rwlock_t engine_lk;
    bool loop_stopped;          /* finish_shutdown() has run */
    struct node_watch *watch;   /* metrics and health (nodewatch.c) */
    struct notify *notify;      /* notifications (nodenotify.c) */
    struct node_retain *retain; /* retention (noderetain.c) */
    struct secret_key *secret_key; /* DATA_DIR/secret.key (nodesecret.c) */
    /* the last failure notified: a "disabled" that follows it is about its run */
    const struct job *notify_failed_job;
    int64_t notify_failed_run, notify_failed_version;
    struct call *calls;
    struct call *deferred;      /* triggers waiting for their run's record */
    bool stopping;
    bool loading;               /* start-up: plans are gathered into plans[] */
    struct plan_op *plans[NODE_PLAN_BATCH];
    size_t n_plans;
    uint64_t rnd;
    char host[64];
    char runs_dir[PATH_MAX];
    char work_dir[PATH_MAX];
    int lock_fd;                    /* the data directory's (util/dirlock.h); -1 */
    int listen_fd;                  /* the API's socket until api_start() takes it; -1 */
    struct node_body *bodies;       /* nodebody.c: the documents runs read last */
    struct node_users *users;       /* nodeusers.c: whom jobs run as; NULL: not root */
};

/* The wall clock, read directly (retention's thread; the seed). */
int64_t node_wall_us(void);
/* The daemon's clock: what its logic reads, n->io's. */
static inline int64_t node_now_us(struct node *n)
{
    return n->io->now_us(n);
}
/* A/B into BUF; false when it does not fit. */
bool node_path_join(char *buf, size_t len, const char *a, const char *b);
/* A run's output file, DATA_DIR/runs/ID.out, into BUF. */
#define RUN_OUTPUT_SUFFIX ".out"
void node_run_output(struct node *n, int64_t id, char *buf, size_t len);

/* noderun.c: the loop's timers for runs (defer, prune, rewrite), on
 * n->loop; then the engine made with the daemon's ops (n->sched). */
void node_timers_init(struct node *n);
int node_engine_new(struct node *n, struct err *err);
/* Handles what is due and re-arms the timer: after every engine call. */
void node_tick(struct node *n);
/* Adopts the runs the store has as unfinished (start-up): followed when
 * a holder was forked for them, else queued; a run whose job is gone is
 * recorded as lost. */
int node_recover_runs(struct node *n, struct err *err);
/* Frees the writes the store never took (shutdown). */
void node_unwritten_free(struct node *n);

/* nodecall.c */
void node_on_wake(uv_async_t *a);
/* Refuses the calls still queued (shutdown). */
void node_refuse_calls(struct node *n);
struct api_engine node_api_engine(struct node *n);

/* nodeplan.c: the engine's job_put op; the plans gathered while loading,
 * written in one transaction. */
void node_plan_put(void *ctx, const struct job *j, int64_t key, int64_t version);
/* The plan P of job KEY, made already (its texts in TEXTS, taken). */
void node_plan_write(struct node *n, int64_t key, const struct store_job_plan *p, char *texts);
void node_plans_flush(struct node *n);

/* nodewatch.c: metrics and health. The watch is made before the store
 * (whose commits it times) and the API (which renders it); its timer
 * beats every second on the loop: it measures the loop's lag, copies the
 * engine's counters into gauges, finds stuck runs (notifying each once)
 * and publishes what /healthz reads under a lock of its own. */
int node_watch_start(struct node *n, const char *data_dir, struct err *err);
struct metrics *node_watch_metrics(struct node *n);
/* The api_options.health callback (any thread; never waits for the loop). */
void node_watch_health(void *ctx, struct health_view *ret);
void node_watch_started(struct node *n);    /* start(): before the first tick */
void node_watch_run_started(struct node *n, struct hostrun *h);
/* R reached its final state (before its host part is freed). */
void node_watch_run_final(struct node *n, const struct sched_run *r);
void node_watch_close(struct node *n);      /* finish_shutdown(): the timer */
void node_watch_free(struct node *n);       /* once the loop has closed its handles */
/* nodenotify.c: the engine's notify op (CTX is the node); nodewatch.c
 * raises the daemon's own (stuck) through it too. */
void node_notify(void *ctx, const struct job *j, const struct sched_run *r,
                 enum job_notify_event ev);

/* nodenotify.c: notifications. Open loads the channels file (--channels,
 * else DATA_DIR/channels.json when there is one) and makes the notifier;
 * run starts its deliverers; stop abandons deliveries in flight (before
 * the store closes); free frees it (after). */
int node_notify_open(struct node *n, const char *data_dir, struct err *err);
int node_notify_run(struct node *n, struct err *err);
void node_notify_stop(struct node *n);
void node_notify_free(struct node *n);
/* SIGHUP: re-reads the channels file (a bad one is logged and not used). */
void node_notify_reload(struct node *n);
/* Records EVENT of J (about R, or NULL) in the outbox: op_notify. */
void node_notify_event(struct node *n, const struct job *j, const struct sched_run *r,
                       enum job_notify_event ev);
/* Are the channels J names defined (and open to its namespace)? */
int node_notify_check(struct node *n, const struct job *j, struct err *err);
/* The error rate crossed C's threshold at NOW_US: error_rate when HIGH,
 * error_rate_ok when back under, to the channels file's "daemon" list. */
void node_notify_error_rate(struct node *n, const struct health_config *c, bool high,
                            uint32_t failed, uint32_t total, int64_t now_us);

/* noderetain.c: retention on a thread of its own, never on the loop.
 * It applies the retention of the jobs handed to it (their runs ended),
 * and sweeps every job and the audit log every --retention-every, in
 * small transactions with pauses between them; it removes the deleted
 * runs' output files itself. Start after the store opens; stop before
 * it closes. node_retain_jobs() (any thread) copies the ids. */
int node_retain_start(struct node *n, struct err *err);
/* nodebody.c: the run's job version with its body into *RET. The engine
 * keeps jobs without one, so the document of the run's version is read
 * from the store and parsed, or taken from the bodies read last. *RET_DOC
 * is a job to free when one was read and not kept (else NULL); *RET lives
 * until then, or until the next call. */
int node_run_body(struct node *n, const struct sched_run *r, const struct job_body **ret,
                  struct job **ret_doc, struct err *err);
void node_bodies_free(struct node *n);
/* The environment of run R from its job version B into *RET (owned:
 * node_env_free()): the job's env, its params, chime's own variables. */
int node_run_env(const struct sched_run *r, const struct job_body *b, char ***ret,
                 struct err *err);
void node_env_free(char **env);

void node_retain_jobs(struct node *n, const int64_t *ids, size_t n_ids);
void node_retain_stop(struct node *n);

/* nodeload.c */
int node_load_jobs(struct node *n, struct err *err);
/* Applies the jobs directory to the store and the engine (SIGHUP); with
 * STORE_ONLY (start-up, after node_load_jobs() and before the first tick)
 * the engine hears only of removals, and the caller loads the jobs again
 * when the result, the number of jobs the apply added or changed, is
 * not 0. */
int node_apply_jobs_dir(struct node *n, bool store_only);

/* nodesecret.c: loads DATA_DIR/secret.key into n->secret_key, or makes
 * it on a store without sealed secrets; a key that is missing, unreadable,
 * of the wrong size or mode, or that does not open the store's secrets is
 * an error. Call it once the store is open. */
int node_secret_open(struct node *n, const char *data_dir, struct err *err);

/* ---- nodeusers.c ---- */

/* Before the spawner: as root, the operator's job users and what the
 * kernel's sandbox allows (logged); otherwise says once that jobs run as
 * the daemon's own user. */
int node_users_open(struct node *n, struct err *err);
/* Whom a job of NS runs as, into SPEC's user and sandbox (a namespace's
 * first run claims its uid in the store). */
int node_users_find(struct node *n, const char *ns, struct exec_spec *spec, struct err *err);
void node_users_free(struct node *n);
/* Takes group and other bits off the data directory DIR, its files, and
 * the directories in DIR/work: the daemon's files are its own (at start-up,
 * for data directories older than the daemon's umask). Not the secret
 * key: its loader refuses it when others may read it. */
void node_private_files(const char *dir);

/* Batch B, checked and written (jobsave.h), to the engine in
 * jobsave_order(); on the loop. Returns how many changes it refused. */
int node_jobs_apply(struct node *n, struct jobsave *b);
/* jobsave_options.check: the channels a job names (CTX is the node). */
int node_check_channels(void *ctx, const struct job *j, struct err *err);

#endif
