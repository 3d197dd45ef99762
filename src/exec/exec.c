/* exec.c: the daemon's side of runs, on its libuv loop (see exec.h).
 *
 * A run moves through:
 *
 *   SPAWNING    its start request is with the spawner (matched by tag)
 *   STARTED     the holder started the job; its exit record comes back
 *               through the spawner, under the same tag. Nothing is open
 *               for the run: a cancel, or the spawner or holder going,
 *               connects to the holder's socket instead
 *   CONNECTED   the holder's socket is open: "status" and "cancel" go out, the
 *               holder's "exit" message ends the run (a run re-attached
 *               after a restart, or cancelled, is here)
 *   RETRYING    a connect failed for a passing reason; the retry timer
 *               tries again
 *   READING     the holder is gone: the record at the end of the output is
 *               read on the thread pool; none means the run is lost
 *   DONE        on_exit is running; the run is freed when it returns
 *
 * A connection that closes without an exit message is tried again (the
 * holder may only have dropped us) before the record is read: a holder
 * answers connects until it has written its record, so "refused and no
 * record" means it died without one. Nothing here blocks: sockets are
 * non-blocking and the one file read goes to the thread pool.
 *
 * Handles: the spawner poll and the retry timer live in struct exec, each
 * connection has its own poll handle, each record read its work request;
 * struct exec is freed when the last of them has closed after exec_free().
 *
 * This file holds the spawner's socket and the API; a run's holder socket
 * and its exit record are in exec_run.c, what both share in exec_int.h. */
#include "exec/exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <jansson.h>
#include <uv.h>

#include "exec/exec_int.h"
#include "exec/record.h"
#include "exec/spawner.h"
#include "exec/spec.h"
#include "util/err.h"
#include "../banned.h"

static const char *const outcome_names[] = {
    [EXEC_EXITED] = "exited",       [EXEC_SIGNALED] = "signaled", [EXEC_TIMED_OUT] = "timed-out",
    [EXEC_CANCELLED] = "cancelled", [EXEC_FAILED] = "failed",     [EXEC_LOST] = "lost",
};

const char *exec_outcome_name(enum exec_outcome o)
{
    if ((unsigned)o >= sizeof outcome_names / sizeof outcome_names[0])
        return "unknown";
    return outcome_names[o];
}

void exec_unref(struct exec *e)
{
    if (--e->handles == 0 && e->closing)
        free(e);
}

/* ---- the spawner's socket ---- */

/* The first run in STATE, or NULL. */
static struct exec_run *find_state(struct exec *e, enum run_state state)
{
    struct exec_run *run;

    for (run = e->runs; run; run = run->next)
        if (run->state == state)
            return run;
    return NULL;
}

/* The run started here under TAG, in whatever state, or NULL. */
static struct exec_run *find_tagged(struct exec *e, uint64_t tag)
{
    struct exec_run *run;

    for (run = e->runs; run && tag; run = run->next)
        if (run->tag == tag)
            return run;
    return NULL;
}

/* The end of a run started here: its holder's exit record (EXIT), or word
 * that its holder went without one (the socket and the file tell the rest). */
static void spawner_run_end(struct exec *e, struct exec_run *run, json_t *exit)
{
    struct exec_result res;
    struct err err = {0};

    if (!exit) {
        if (run->state == RUN_STARTED)
            exec_run_connect(run);
    } else if (exec_record_from_json(exit, &res, &err) == 0) {
        exec_run_finish(e, run, &res);
    } else {
        exec_run_fail(e, run, EXEC_LOST, "bad exit record from the holder");
    }
}

static void spawner_started(struct exec *e, struct exec_run *run, json_t *m)
{
    const char *error = json_string_value(json_object_get(m, "error"));
    json_int_t started = 0;
    int holder = 0, job = 0;

    struct stat st;

    /* Sent again after the spawner died, the request may have reached a
     * holder of the dead one after all, which has the output file (so the
     * new holder refused it): follow that file's holder, or read the
     * record the new one left, as for a run the dead spawner started. */
    if (error && run->resent && stat(run->output, &st) == 0) {
        free(run->req);
        run->req = NULL;
        run->state = RUN_STARTED;
        exec_run_connect(run);
        return;
    }
    if (error
        || json_unpack(m, "{s:i, s:i, s:I}", "holder_pid", &holder, "job_pid", &job, "started_us",
                       &started)
               < 0) {
        exec_run_fail(e, run, EXEC_FAILED, error ? error : "bad reply from the spawner");
        return;
    }
    run->status.holder_pid = holder;
    run->status.job_pid = job;
    run->status.started_us = started;
    free(run->req);
    run->req = NULL;
    run->state = RUN_STARTED;
    exec_run_started(run); /* may cancel (and connect) or exec_free() */
    if (!e->closing && run->state == RUN_STARTED && run->cancel_wanted)
        exec_run_connect(run); /* cancelled before the spawner answered */
}

static void spawner_reply(struct exec *e, const char *data, size_t len)
{
    json_t *m = json_loadb(data, len, 0, NULL);
    json_t *tag = json_object_get(m, "tag");
    uint64_t t = json_is_integer(tag) ? (uint64_t)json_integer_value(tag) : 0;
    json_t *exit = json_object_get(m, "exit");
    struct exec_run *run = find_tagged(e, t);

    /* no run: a reply to a run freed before it came (attached anew later) */
    if (run && (exit || json_is_true(json_object_get(m, "gone")))) {
        if (run->state != RUN_SPAWNING)
            spawner_run_end(e, run, exit);
    } else if (run && run->state == RUN_SPAWNING) {
        spawner_started(e, run, m);
    }
    json_decref(m);
}

static void on_respawn(uv_timer_t *t);

static void on_poll_closed(uv_handle_t *h)
{
    struct exec *e = h->data;

    free(h);
    exec_unref(e);
}

/* Queues a copy of REQ for the spawner. */
static int out_push(struct exec *e, const struct msg *req)
{
    struct msg *m = malloc(sizeof *m + req->len);

    if (!m)
        return -1;
    memcpy(m->data, req->data, req->len);
    m->len = req->len;
    m->next = NULL;
    *e->out_tail = m;
    e->out_tail = &m->next;
    return 0;
}

/* The spawner died (its socket closed or failed): it is restarted after
 * its backoff, and until then starts queue up (exec_start does not fail).
 * Runs it had started are their holders', not its own: they are followed
 * through the holders' sockets. A request it had taken but not answered
 * either reached a holder (whose output file then exists: that holder is
 * followed like a started run) or died with it, and is sent again, in
 * the order the runs were started, to the next spawner. */
static void spawner_gone(struct exec *e, const char *why)
{
    struct exec_run *run, *oldest = NULL;
    struct stat st;
    int64_t delay;

    if (e->down[0] || e->closing)
        return;
    snprintf(e->down, sizeof e->down, "%s", why);
    uv_poll_stop(e->poll);
    uv_close((uv_handle_t *)e->poll, on_poll_closed);
    e->poll = NULL;
    while (e->out) {
        struct msg *m = e->out;

        e->out = m->next;
        free(m);
    }
    e->out_tail = &e->out;
    for (run = e->runs; run; run = run->next) {
        oldest = run;
        if (run->state == RUN_SPAWNING && stat(run->output, &st) == 0) {
            free(run->req);
            run->req = NULL;
            run->state = RUN_STARTED; /* a holder has it: ask the holder */
        }
    }
    for (run = oldest; run; run = run->prev)
        if (run->state == RUN_SPAWNING && run->req) {
            run->resent = true;
            if (out_push(e, run->req) < 0)
                run->state = RUN_STARTED; /* out of memory: the holder's socket tells */
        }
    /* their ends would have come through it: the holders' sockets tell */
    while (!e->closing && (run = find_state(e, RUN_STARTED)))
        exec_run_connect(run);
    if (e->closing)
        return;
    delay = exec_spawner_backoff(&e->respawn_us, exec_spawner_alive_us(e->sp));
    uv_timer_start(&e->respawn, on_respawn, (uint64_t)(delay / 1000), 0);
}

static void on_spawner_ready(uv_poll_t *p, int status, int events);

/* Watches the spawner's socket with a new poll handle. */
static int spawner_watch(struct exec *e)
{
    uv_poll_t *p = calloc(1, sizeof *p);

    if (!p || uv_poll_init(e->loop, p, exec_spawner_fd(e->sp)) < 0) {
        free(p);
        return -1;
    }
    p->data = e;
    e->poll = p;
    e->handles++;
    uv_poll_start(p, UV_READABLE | (e->out ? UV_WRITABLE : 0), on_spawner_ready);
    return 0;
}

static void on_respawn(uv_timer_t *t)
{
    struct exec *e = t->data;
    struct err err = {0};
    int64_t delay;

    if (e->closing)
        return;
    if (exec_spawner_restart(e->sp, &err) == 0 && spawner_watch(e) == 0) {
        e->down[0] = '\0';
        return;
    }
    snprintf(e->down, sizeof e->down, "cannot restart the spawner: %.200s",
             err.msg[0] ? err.msg : "out of memory");
    delay = exec_spawner_backoff(&e->respawn_us, 0);
    uv_timer_start(&e->respawn, on_respawn, (uint64_t)(delay / 1000), 0);
}

const char *exec_down(const struct exec *e)
{
    return e->down[0] ? e->down : NULL;
}

static void on_spawner_ready(uv_poll_t *p, int status, int events);

static void spawner_flush(struct exec *e)
{
    int fd = exec_spawner_fd(e->sp);

    if (!e->poll)
        return; /* down: the queue goes to the next spawner */
    while (e->out) {
        struct msg *m = e->out;

        if (send(fd, m->data, m->len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            spawner_gone(e, strerror(errno));
            return;
        }
        e->out = m->next;
        if (!e->out)
            e->out_tail = &e->out;
        free(m);
    }
    uv_poll_start(e->poll, UV_READABLE | (e->out ? UV_WRITABLE : 0), on_spawner_ready);
}

static void on_spawner_ready(uv_poll_t *p, int status, int events)
{
    struct exec *e = p->data;
    char buf[MESSAGE_MAX];

    if (status < 0) {
        spawner_gone(e, uv_strerror(status));
        return;
    }
    if (events & UV_WRITABLE)
        spawner_flush(e);
    while (!e->closing && e->poll == p && (events & UV_READABLE)) {
        ssize_t n = recv(exec_spawner_fd(e->sp), buf, sizeof buf, MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            spawner_gone(e, n == 0 ? "it exited or was killed" : strerror(errno));
            break;
        }
        spawner_reply(e, buf, (size_t)n);
    }
}

/* ---- the API ---- */

int exec_new(uv_loop_t *loop, struct exec_spawner *spawner, struct exec **ret, struct err *err)
{
    struct exec *e = calloc(1, sizeof *e);

    if (!e)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    e->loop = loop;
    e->sp = spawner;
    e->out_tail = &e->out;
    if (spawner_watch(e) < 0) {
        free(e);
        return err_set(err, CHIME_EIO, "", "cannot watch the spawner's socket");
    }
    uv_timer_init(loop, &e->retry);
    e->retry.data = e;
    uv_timer_init(loop, &e->respawn);
    e->respawn.data = e;
    e->handles += 2;
    *ret = e;
    return 0;
}

static void on_exec_handle_closed(uv_handle_t *h)
{
    exec_unref(h->data);
}

void exec_free(struct exec *e)
{
    if (!e || e->closing)
        return;
    e->closing = true;
    while (e->runs) {
        struct exec_run *run = e->runs;

        e->runs = run->next; /* off the list first, so nothing sees it freed */
        run->next = NULL;
        if (e->runs)
            e->runs->prev = NULL;
        exec_run_free(e, run);
    }
    while (e->out) {
        struct msg *m = e->out;

        e->out = m->next;
        free(m);
    }
    if (e->poll)
        uv_close((uv_handle_t *)e->poll, on_poll_closed);
    uv_close((uv_handle_t *)&e->retry, on_exec_handle_closed);
    uv_close((uv_handle_t *)&e->respawn, on_exec_handle_closed);
}

int exec_start(struct exec *e, const struct exec_spec *spec, const struct exec_callbacks *cb,
               struct exec_run **ret, struct err *err)
{
    uint64_t tag;
    struct exec_run *run;
    struct msg *m;
    char *text;
    json_t *req;
    size_t len;
    int rc;

    if (e->closing)
        return err_set(err, CHIME_EIO, "", "the runner is closing");
    rc = exec_spec_check(spec, err);
    if (rc < 0)
        return rc;
    tag = exec_spawner_tag(e->sp);
    req = exec_spec_to_json(spec);
    text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text)
        return err_set(err, CHIME_ENOMEM, "", "out of memory encoding the start request");
    /* the request: the tag (8 bytes), then the spec */
    len = sizeof tag + strlen(text);
    if (len > EXEC_REQUEST_MAX) {
        free(text);
        return err_set(err, CHIME_ETOOBIG, "command",
                       "the command and environment take %zu bytes, more than %d", len,
                       EXEC_REQUEST_MAX);
    }
    /* the run keeps its request until the spawner answers (spawner_gone) */
    m = malloc(sizeof *m + len);
    run = m ? exec_run_new(e, spec->output, cb) : NULL;
    if (m) {
        memcpy(m->data, &tag, sizeof tag);
        memcpy(m->data + sizeof tag, text, len - sizeof tag);
        m->len = len;
        m->next = NULL;
    }
    free(text);
    if (!run || out_push(e, m) < 0) {
        if (run)
            exec_run_free(e, run);
        free(m);
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    }
    run->req = m;
    run->state = RUN_SPAWNING;
    run->tag = tag;
    run->status.run_id = spec->run_id;
    /* sent from the loop, so no callback runs before the caller has RUN;
     * while the spawner is down, it waits in the queue for the next one */
    if (e->poll)
        uv_poll_start(e->poll, UV_READABLE | UV_WRITABLE, on_spawner_ready);
    *ret = run;
    return 0;
}

int exec_attach(struct exec *e, const char *output, const struct exec_callbacks *cb,
                struct exec_run **ret, struct err *err)
{
    struct exec_run *run;

    if (e->closing)
        return err_set(err, CHIME_EINVAL, "", "the runner is closing");
    if (!output || output[0] != '/')
        return err_set(err, CHIME_EINVAL, "output", "is not an absolute path");
    run = exec_run_new(e, output, cb);
    if (!run)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    /* the outcome may be known at once (the record is read on the pool), so
     * the caller has its handle before any callback */
    *ret = run;
    exec_run_connect(run);
    return 0;
}

void exec_cancel(struct exec_run *run)
{
    run->cancel_wanted = true;
    if (run->state == RUN_STARTED && !run->e->closing)
        exec_run_connect(run); /* sends "cancel" once connected */
    else if (run->state == RUN_CONNECTED && run->conn && !run->cancel_sent) {
        exec_run_send(run, "cancel");
        run->cancel_sent = true;
    }
}
