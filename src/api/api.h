/* api.h: the REST API under /api/v1, served by libmicrohttpd.
 *
 * The server runs on libmicrohttpd's own threads, never on the scheduler's
 * loop. Reads go straight to the store (its read connections never wait on
 * the writer). Changes that the engine must know of go through struct
 * api_engine, which the daemon implements by handing the call to its loop
 * thread and waiting for the answer; store writes of job documents are
 * made by the API thread itself (store_exec, synchronously) under the
 * API's write lock, then applied to the engine; every save of a job
 * version goes through jobsave.h.
 *
 * Every route is a row of one table (routes.c); dispatch and the OpenAPI
 * document at /api/v1/openapi.json both read it. Errors are
 * application/problem+json (RFC 9457) naming the field. Bodies, headers,
 * connections and idle times are bounded (struct api_options). */
#ifndef CHIME_API_H
#define CHIME_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api;
struct err;
struct health_view;
struct metrics;
struct notify;
struct job;
struct jobsave;
struct secret_key;
struct store;
struct tz;

/* What the API asks of the engine. Every call may be made from any HTTP
 * thread; the daemon runs it on its loop and returns when it is done. */
struct api_engine {
    void *ctx;
    /* Batch B (jobsave.h), checked and written, is the engine's now: it
     * runs jobsave_apply() on its loop. Returns how many changes the
     * engine refused (each item says why), or a negative code when the
     * call never reached the engine. */
    int (*jobs_apply)(void *ctx, struct jobsave *b, struct err *err);
    int (*job_remove)(void *ctx, const char *id, struct err *err);
    int (*job_pause)(void *ctx, const char *id, bool paused, struct err *err);
    /* A manual run of ID now; PARAMS (the job's params it sets, checked
     * by job_params_resolve()) is a JSON object text or NULL.
     * Returns once the run is recorded, with its id. CHIME_ECONFLICT when
     * the job's concurrency refuses another run now: nothing is recorded,
     * and *RET_RUN_ID is the live run that refuses it (0: not recorded
     * yet). */
    int (*trigger)(void *ctx, const char *id, const char *params, const char *who,
                   int64_t *ret_run_id, struct err *err);
    int (*cancel)(void *ctx, int64_t run_id, struct err *err);
    /* The job's next fire (INT64_MAX: none) for job views. */
    int64_t (*job_next)(void *ctx, const char *id);
};

struct api_options {
    const char *listen;             /* "127.0.0.1:8717", "[::1]:8717" */
    int listen_fd;                  /* LISTEN's socket from api_listen(), taken by
                                       api_start() (closed when it fails); 0: none,
                                       api_start() binds LISTEN itself */
    const char *data_dir;           /* run output lives in DATA_DIR/runs/<id>.out */
    struct store *store;            /* borrowed */
    const struct tz *default_zone;  /* for previews of jobs without a zone */
    struct api_engine engine;
    size_t body_max;                /* request body bytes; 0: 1 MiB */
    unsigned connections_max;       /* 0: 256 */
    unsigned connections_per_ip;    /* 0: 64 */
    unsigned idle_timeout_s;        /* 0: 30 */
    int64_t head_timeout_us;        /* a request's head must come whole within; 0: 10s */
    int64_t body_timeout_us;        /* its body within this of its head; 0: 60s */
    unsigned threads;               /* 0: 4 */
    struct notify *notify;          /* borrowed: /api/v1/channels and notification retries;
                                       NULL: no channels */
    bool metrics_open;              /* /metrics without a token (a trusted network) */
    struct metrics *metrics;        /* borrowed: /metrics renders it, requests are counted in
                                       it; NULL: /metrics shows the process only */
    /* The daemon's health for /healthz, filled from any thread without
     * waiting for the loop (a stalled loop must still be reported); NULL:
     * /healthz checks that the store answers a read, nothing more. */
    void (*health)(void *ctx, struct health_view *ret);
    void *health_ctx;
    /* Seals the secrets of job documents before they are stored
     * (jobsecret.h); borrowed. NULL: a document with a secret is refused. */
    const struct secret_key *secret_key;
    unsigned auth_burst;            /* failed authentications an address, or a token id, may
                                       make at once; 0: 10 */
    int64_t auth_interval_us;       /* ...and one more each; 0: 6 s */
    unsigned triggers_per_job;      /* manual triggers of one job a minute; 0: 10 */
    unsigned triggers_per_token;    /* manual triggers by one token a minute; 0: 60 */
};

/* Binds and listens on WHERE ("HOST:PORT"); returns the socket, for
 * api_options.listen_fd, or a negative error naming the cause (a port in
 * use: "cannot listen on '...': Address already in use"). The daemon calls
 * it first, before anything that must be torn down. */
int api_listen(const char *where, struct err *err);
/* Starts serving; returns an owned server. The bound address (with the
 * real port when LISTEN asked for port 0) is written to BOUND. */
int api_start(const struct api_options *opt, char *bound, size_t bound_len, struct api **ret,
              struct err *err);
/* Stops accepting, finishes the requests in flight, and frees the server. */
void api_stop(struct api *a);

/* On a store without any token, makes the admin token ("admin", every
 * namespace) and writes its secret to DATA_DIR/admin.token, mode 0600;
 * *RET_CREATED says whether it did. RET_PATH gets the file's path either
 * way. Call it before api_start(), from one thread. */
int api_admin_token(struct store *s, const char *data_dir, char *ret_path, size_t path_len,
                    bool *ret_created, struct err *err);

#endif
