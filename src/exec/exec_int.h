/* exec_int.h: what exec.c (the spawner's socket and the API) and
 * exec_run.c (a run's holder socket and exit record) share. Private to
 * src/exec/exec*.c.
 *
 * The loop thread owns all of it; the run states are described at the top
 * of exec.c. */
#ifndef CHIME_EXEC_EXEC_INT_H
#define CHIME_EXEC_EXEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "exec/exec.h"

#define MESSAGE_MAX 8192 /* bytes of a message from a spawner or holder */

enum run_state { RUN_SPAWNING, RUN_STARTED, RUN_CONNECTED, RUN_RETRYING, RUN_READING, RUN_DONE };

struct msg {
    struct msg *next;
    size_t len;
    char data[];
};

struct exec {
    uv_loop_t *loop;
    struct exec_spawner *sp;
    uv_poll_t *poll; /* the spawner's socket: a new one for each spawner */
    uv_timer_t retry;
    uv_timer_t respawn;        /* the spawner's restart, after its backoff */
    int64_t respawn_us;        /* the last backoff (exec_spawner_backoff) */
    char down[EXEC_ERROR_MAX]; /* why the spawner is down; "" while it is up */
    struct msg *out;           /* requests waiting for room in the socket */
    struct msg **out_tail;
    struct exec_run *runs;
    int handles; /* open handles and requests on the loop */
    bool closing;
};

struct conn;
struct reader;

struct exec_run {
    struct exec *e;
    struct exec_run *prev, *next;
    struct exec_callbacks cb;
    char *output; /* the output file's path */
    enum run_state state;
    uint64_t tag;          /* the spawner's, for runs started here; 0 for attached ones */
    struct conn *conn;     /* RUN_CONNECTED */
    struct reader *reader; /* RUN_READING */
    struct exec_status status;
    struct msg *req; /* RUN_SPAWNING: its start request, sent again to a restarted
                      * spawner when the dead one never handed it on */
    bool resent;     /* its start request went again to a restarted spawner */
    bool started;    /* on_started was called */
    bool cancel_wanted;
    bool cancel_sent;
    int reconnects;
};

/* exec.c */

/* Drops one of E's handles; frees E after exec_free() once none is left. */
void exec_unref(struct exec *e);

/* exec_run.c */

/* A new run of E writing OUTPUT, first on E's list; NULL when out of memory. */
struct exec_run *exec_run_new(struct exec *e, const char *output, const struct exec_callbacks *cb);
/* Unlinks RUN and frees it without a callback. */
void exec_run_free(struct exec *e, struct exec_run *run);
/* The one way a run ends: RUN is freed once on_exit returns. */
void exec_run_finish(struct exec *e, struct exec_run *run, const struct exec_result *res);
/* Ends RUN with OUTCOME and the message WHY. */
void exec_run_fail(struct exec *e, struct exec_run *run, enum exec_outcome outcome,
                   const char *why);
/* Calls on_started, once. */
void exec_run_started(struct exec_run *run);
/* Connects to RUN's holder, or reads its record when the holder is gone. */
void exec_run_connect(struct exec_run *run);
/* Sends CMD ("status", "cancel") to RUN's connected holder. */
void exec_run_send(struct exec_run *run, const char *cmd);

#endif
