/* node_int.h: what the daemon's files share (node.c: the loop, the
 * engine's ops and start-up; nodecall.c: calls from the API's threads;
 * nodeload.c: jobs and runs from the store, the jobs directory). Private
 * to src/sched/node*.c. */
#ifndef CHIME_NODE_INT_H
#define CHIME_NODE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "api/api.h"
#include "sched/job.h"
#include "sched/node.h"
#include "sched/sched.h"
#include "util/err.h"

#define ID_LEN (2 * JOB_NAME_MAX + 2)
#define NODE_PLAN_BATCH 1024    /* plans written per transaction at start-up */

struct exec;
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
};

/* A call from an API thread, run on the loop. */
struct call {
    int (*fn)(struct node *n, struct call *c);
    const char *id;
    const struct job *cjob;
    struct job *job;
    int64_t version;
    bool flag;
    const char *text;
    const char *who;
    int64_t num;
    /* results */
    int rc;
    struct err err;
    bool done, deferred;
    struct hostrun *host;       /* deferred: the run it waits for */
    struct call *next_deferred;
    pthread_cond_t cv;
    struct call *next;
};

struct node {
    struct node_options opt;
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
    int64_t *prune_jobs;        /* store ids of jobs with a run ended since */
    size_t n_prune_jobs, cap_prune_jobs;
    struct hostrun *failed;
    pthread_mutex_t mu;         /* guards calls, stopping */
    /* Held (write) by the loop thread whenever it is not waiting for
     * events, so other threads may read the engine under it (read) without
     * a round trip through the loop; writers are preferred. */
    pthread_rwlock_t engine_lk;
    bool loop_stopped;          /* finish_shutdown() has run */
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
};

int64_t node_now_us(void);
/* A/B into BUF; false when it does not fit. */
bool node_path_join(char *buf, size_t len, const char *a, const char *b);
/* A run's output file, DATA_DIR/runs/ID.out, into BUF. */
#define RUN_OUTPUT_SUFFIX ".out"
void node_run_output(struct node *n, int64_t id, char *buf, size_t len);
/* Handles what is due and re-arms the timer: after every engine call. */
void node_tick(struct node *n);
/* The runner's callbacks for a run's host part (exec_callbacks.data). */
void node_on_started(struct exec_run *er, const struct exec_status *st, void *data);
void node_on_exit(struct exec_run *er, const struct exec_result *res, void *data);

/* nodecall.c */
void node_on_wake(uv_async_t *a);
/* Refuses the calls still queued (shutdown). */
void node_refuse_calls(struct node *n);
struct api_engine node_api_engine(struct node *n);

/* Writes the plans gathered while loading (node.c). */
void node_plans_flush(struct node *n);

/* nodeload.c */
int node_load_jobs(struct node *n, struct err *err);
int node_recover_runs(struct node *n, struct err *err);
void node_apply_jobs_dir(struct node *n);

#endif
