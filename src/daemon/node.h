/* node.h: one chime daemon: the engine hosted on a libuv loop, wired to
 * the store, the runner and the API (`chime serve`).
 *
 * The loop thread owns the engine. It wakes on a monotonic timerfd armed
 * for the engine's next instant (microsecond precision; at most a second
 * ahead, so a change of the wall clock is seen within a second), on store
 * commits, on the runner's process events, and on calls from the
 * API's threads. Start-up forks the spawner first (before any thread),
 * opens the store, loads the jobs with the newest fire each has handled,
 * re-attaches the runs the store has as unfinished, applies the jobs
 * directory, and starts the API. */
#ifndef CHIME_NODE_H
#define CHIME_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "sched/health.h"

struct err;
struct runas;

#define NODE_DEFAULT_PORT 8717

struct node_options {
    const char *data_dir;       /* NULL: ./chime-data */
    const char *listen;         /* NULL: 127.0.0.1:8717 */
    const char *timezone;       /* NULL: the system's */
    const char *jobs_dir;       /* NULL: none */
    int max_concurrent;         /* 0: 64 */
    int64_t grace_us;           /* shutdown: how long to wait for runs */
    bool wait_runs;             /* shutdown: wait for runs (up to grace) */
    const char *channels;       /* the notification channels file; NULL:
                                   DATA_DIR/channels.json when it exists */
    int keep_runs;              /* finished runs kept per job; 0: 100 */
    int64_t keep_for_us;        /* ... and no older than this; 0: 30 days */
    int64_t keep_output;        /* bytes of output kept per job; 0: no cap */
    int keep_dead_letters;      /* dead letters kept per job; 0: 1000 */
    int64_t keep_audit;         /* audit entries kept; 0: 1,000,000 */
    int64_t keep_audit_for_us;  /* ... and no older than this; 0: 365 days */
    int64_t retention_every_us; /* the retention sweep's period; 0: 1 minute */
    bool metrics_open;          /* /metrics without a token */
    struct health_config health; /* /healthz thresholds; 0: the defaults */
    int metrics_jobs;           /* jobs with metric series of their own; 0: 100 */
    int triggers_per_job;       /* manual triggers of one job a minute; 0: 10 */
    int triggers_per_token;     /* manual triggers by one token a minute; 0: 60 */
    int api_connections;        /* API connections at once; 0: 256 */
    int api_connections_per_address; /* ... from one address (IPv6: /64); 0: 64 */
    int64_t api_head_timeout_us; /* a request's head must come within; 0: 10s */
    int64_t api_body_timeout_us; /* its body within this of its head; 0: 60s */
    const char *uid_range;      /* as root: "LO-HI" of the namespaces' uids; NULL: default */
    const char *run_as;         /* as root: "NS=USER[:GROUP],..."; NULL: none */
    const char *root_namespaces; /* as root: "NS,..." run as root; NULL: none */
    const struct runas *runas;  /* the three above, parsed (borrowed); NULL: the defaults */
};

/* Runs a daemon until SIGTERM or SIGINT; 0 after a clean shutdown. */
int node_run(const struct node_options *opt, struct err *err);

#endif
