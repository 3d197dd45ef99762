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
 * struct exec is freed when the last of them has closed after exec_free(). */
#include "exec/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <uv.h>

#include "exec/holder.h"
#include "exec/record.h"
#include "exec/spawner.h"
#include "exec/spec.h"
#include "util/err.h"
#include "../banned.h"

#define RETRY_MS       50   /* between connects that failed for a passing reason */
#define RECONNECTS_MAX 3    /* connections lost without an exit message */
#define MESSAGE_MAX    8192 /* bytes of a message from a spawner or holder */

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
    uv_timer_t respawn;     /* the spawner's restart, after its backoff */
    int64_t respawn_us;     /* the last backoff (exec_spawner_backoff) */
    char down[EXEC_ERROR_MAX]; /* why the spawner is down; "" while it is up */
    struct msg *out; /* requests waiting for room in the socket */
    struct msg **out_tail;
    struct exec_run *runs;
    int handles; /* open handles and requests on the loop */
    bool closing;
};

struct conn {
    uv_poll_t poll;
    int fd;
    struct exec *e;
    struct exec_run *run; /* NULL once the run let go of it */
};

struct reader {
    uv_work_t work;
    struct exec *e;
    struct exec_run *run; /* NULL once the run let go of it */
    char *path;
    char *text;
    size_t len;
    int error;          /* errno of the read; 0: ok */
    int64_t written_us; /* the output file's last change; 0: no file */
    int64_t boot_us;    /* when the machine booted (CLOCK_REALTIME) */
};

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
    bool started; /* on_started was called */
    bool cancel_wanted;
    bool cancel_sent;
    int reconnects;
};

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

const char *exec_run_output(const struct exec_run *run)
{
    return run->output;
}

static void exec_unref(struct exec *e)
{
    if (--e->handles == 0 && e->closing)
        free(e);
}

/* ---- runs ---- */

static struct exec_run *run_new(struct exec *e, const char *output, const struct exec_callbacks *cb)
{
    struct exec_run *run = calloc(1, sizeof *run);

    if (!run)
        return NULL;
    run->output = strdup(output);
    if (!run->output) {
        free(run);
        return NULL;
    }
    run->e = e;
    run->cb = *cb;
    run->next = e->runs;
    if (e->runs)
        e->runs->prev = run;
    e->runs = run;
    return run;
}

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct exec *e = c->e;

    close(c->fd);
    free(c);
    exec_unref(e);
}

static void run_drop_conn(struct exec_run *run)
{
    if (!run->conn)
        return;
    run->conn->run = NULL;
    uv_close((uv_handle_t *)&run->conn->poll, on_conn_closed);
    run->conn = NULL;
}

/* Unlinks RUN and lets go of its handles; they close on their own. */
static void run_unlink(struct exec *e, struct exec_run *run)
{
    if (e->runs == run)
        e->runs = run->next;
    else if (run->prev)
        run->prev->next = run->next;
    if (run->next)
        run->next->prev = run->prev;
    run->prev = run->next = NULL;
    run_drop_conn(run);
    if (run->reader)
        run->reader->run = NULL;
    run->reader = NULL;
}

static void run_free(struct exec *e, struct exec_run *run)
{
    run_unlink(e, run);
    free(run->req);
    free(run->output);
    free(run);
}

/* The one way a run ends: RUN is freed once on_exit returns. It is unlinked
 * before the callback, so an exec_free() inside it leaves RUN alone. */
static void run_finish(struct exec *e, struct exec_run *run, const struct exec_result *res)
{
    run_unlink(e, run);
    run->state = RUN_DONE;
    if (run->cb.on_exit)
        run->cb.on_exit(run, res, run->cb.data);
    free(run->req);
    free(run->output);
    free(run);
}

static void run_fail(struct exec *e, struct exec_run *run, enum exec_outcome outcome,
                     const char *why)
{
    struct exec_result res = {.outcome = outcome, .exit_code = -1};

    if (outcome == EXEC_LOST)
        res.lost = EXEC_LOST_RECORD;

    res.job_pid = run->status.job_pid;
    res.holder_pid = run->status.holder_pid;
    res.started_us = run->status.started_us;
    snprintf(res.error, sizeof res.error, "%s", why);
    run_finish(e, run, &res);
}

static void run_started(struct exec_run *run)
{
    if (run->started)
        return;
    run->started = true;
    if (run->cb.on_started)
        run->cb.on_started(run, &run->status, run->cb.data);
}

/* ---- the exit record, read on the thread pool ---- */

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_record_work(uv_work_t *w)
{
    struct reader *r = w->data;
    struct err err = {0};
    struct stat st;
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);

    r->boot_us = clock_us(CLOCK_REALTIME) - clock_us(CLOCK_BOOTTIME);
    if (fd < 0) {
        r->error = errno;
        return;
    }
    if (fstat(fd, &st) == 0)
        r->written_us = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
    if (exec_output_record(fd, &r->text, &r->len, &err) < 0)
        r->error = err.code == CHIME_ENOMEM ? ENOMEM : EIO;
    else if (!r->text)
        r->error = ENOENT;
    close(fd);
}

static void run_record_read(struct exec_run *run, struct reader *r)
{
    struct exec_result res;
    struct err err = {0};
    char why[EXEC_ERROR_MAX];

    if (r->error == ENOENT || r->error == ENOTDIR) {
        /* a holder writes its output while the run lives: output last
         * written before this boot (or, with no file, a run started before
         * it) is a run the machine took down; else its holder died */
        int64_t last = r->written_us ? r->written_us : run->status.started_us;

        res = (struct exec_result){.outcome = EXEC_LOST, .exit_code = -1};
        res.lost = last && last < r->boot_us ? EXEC_LOST_MACHINE : EXEC_LOST_HOLDER;
        res.job_pid = run->status.job_pid;
        res.holder_pid = run->status.holder_pid;
        res.started_us = run->status.started_us;
        snprintf(res.error, sizeof res.error, "%s",
                 res.lost == EXEC_LOST_MACHINE ? "the machine went down while it ran"
                                               : "its holder died or was killed");
        run_finish(run->e, run, &res);
        return;
    }
    if (r->error) {
        snprintf(why, sizeof why, "cannot read the exit record: %s", strerror(r->error));
        run_fail(run->e, run, EXEC_LOST, why);
        return;
    }
    if (exec_record_parse(r->text, r->len, &res, &err) < 0) {
        snprintf(why, sizeof why, "bad exit record: %.200s", err.msg);
        run_fail(run->e, run, EXEC_LOST, why);
        return;
    }
    run_finish(run->e, run, &res);
}

static void on_record_read(uv_work_t *w, int status)
{
    struct reader *r = w->data;
    struct exec *e = r->e;

    (void)status;
    if (r->run) {
        r->run->reader = NULL;
        run_record_read(r->run, r);
    }
    free(r->text);
    free(r->path);
    free(r);
    exec_unref(e);
}

static void run_read_record(struct exec_run *run)
{
    struct reader *r = calloc(1, sizeof *r);
    size_t len = strlen(run->output) + 1;

    run->state = RUN_READING;
    if (!r || !(r->path = malloc(len))) {
        free(r);
        run_fail(run->e, run, EXEC_LOST, "out of memory reading the exit record");
        return;
    }
    memcpy(r->path, run->output, len);
    r->e = run->e;
    r->run = run;
    r->work.data = r;
    if (uv_queue_work(run->e->loop, &r->work, on_record_work, on_record_read) < 0) {
        free(r->path);
        free(r);
        run_fail(run->e, run, EXEC_LOST, "cannot queue the exit record read");
        return;
    }
    run->e->handles++;
    run->reader = r;
}

/* ---- the holder's socket ---- */

static void run_send(struct exec_run *run, const char *cmd)
{
    send(run->conn->fd, cmd, strlen(cmd), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Returns true when the message ended RUN (it is freed). */
static bool run_message(struct exec_run *run, const char *data, size_t len)
{
    json_t *m = json_loadb(data, len, 0, NULL);
    const char *event = json_string_value(json_object_get(m, "event"));
    struct exec_result res;
    struct err err = {0};
    bool ended = false;

    if (event && strcmp(event, "status") == 0) {
        json_int_t id = 0, started = 0;
        int holder = 0, job = 0;

        if (json_unpack(m, "{s:I, s:i, s:i, s:I}", "run_id", &id, "holder_pid", &holder, "job_pid",
                        &job, "started_us", &started)
            == 0) {
            run->status = (struct exec_status){id, holder, job, started};
            run_started(run);
        }
    } else if (event && strcmp(event, "exit") == 0) {
        if (exec_record_from_json(json_object_get(m, "record"), &res, &err) == 0)
            run_finish(run->e, run, &res);
        else
            run_fail(run->e, run, EXEC_LOST, "bad exit message from the holder");
        ended = true;
    }
    json_decref(m);
    return ended;
}

static void run_connect(struct exec_run *run);

static void on_conn_readable(uv_poll_t *p, int status, int events)
{
    struct conn *c = p->data;
    char buf[MESSAGE_MAX];

    (void)events;
    while (c->run && status == 0) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            break;
        if (run_message(c->run, buf, (size_t)n))
            return; /* the run ended and let go of C */
    }
    if (c->run) { /* closed without an exit message */
        struct exec_run *run = c->run;

        run_drop_conn(run);
        if (++run->reconnects > RECONNECTS_MAX)
            run_read_record(run);
        else
            run_connect(run);
    }
}

/* connect() to the holder of the run whose output file is OUTPUT. Returns the connected fd or
 * -errno
 * (-ECONNREFUSED: nobody listens, the holder is gone). */
static int holder_connect(const char *output)
{
    struct sockaddr_un sa;
    struct stat st;
    socklen_t len;
    int fd, rc;

    if (stat(output, &st) < 0)
        return -errno;
    len = exec_holder_addr(&st, &sa);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    rc = connect(fd, (struct sockaddr *)&sa, len) < 0 ? -errno : 0;
    if (rc == 0 && !exec_holder_peer_ok(fd))
        rc = -EPERM; /* someone else's socket under our holder's name */
    if (rc < 0)
        close(fd);
    return rc < 0 ? rc : fd;
}

static void on_retry(uv_timer_t *t);

static void run_connect(struct exec_run *run)
{
    struct exec *e = run->e;
    struct conn *c = NULL;
    int fd = holder_connect(run->output);

    if (fd == -ENOENT || fd == -ECONNREFUSED || fd == -ENOTDIR || fd == -EPERM) {
        run_read_record(run); /* the holder is gone: how did it end? */
        return;
    }
    if (fd >= 0)
        c = calloc(1, sizeof *c);
    if (!c || uv_poll_init(e->loop, &c->poll, fd) < 0) {
        /* EAGAIN (a full backlog), EMFILE, ENOMEM: try again shortly */
        free(c);
        if (fd >= 0)
            close(fd);
        run->state = RUN_RETRYING;
        if (!uv_is_active((uv_handle_t *)&e->retry))
            uv_timer_start(&e->retry, on_retry, RETRY_MS, 0);
        return;
    }
    e->handles++;
    c->fd = fd;
    c->e = e;
    c->run = run;
    c->poll.data = c;
    run->conn = c;
    run->state = RUN_CONNECTED;
    uv_poll_start(&c->poll, UV_READABLE, on_conn_readable);
    run_send(run, "status");
    if (run->cancel_wanted) {
        run_send(run, "cancel");
        run->cancel_sent = true;
    }
}

static void on_retry(uv_timer_t *t)
{
    struct exec *e = t->data;
    struct exec_run *run, *next;

    for (run = e->runs; run && !e->closing; run = next) {
        next = run->next;
        if (run->state == RUN_RETRYING)
            run_connect(run);
    }
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
            run_connect(run);
    } else if (exec_record_from_json(exit, &res, &err) == 0) {
        run_finish(e, run, &res);
    } else {
        run_fail(e, run, EXEC_LOST, "bad exit record from the holder");
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
        run_connect(run);
        return;
    }
    if (error
        || json_unpack(m, "{s:i, s:i, s:I}", "holder_pid", &holder, "job_pid", &job, "started_us",
                       &started)
               < 0) {
        run_fail(e, run, EXEC_FAILED, error ? error : "bad reply from the spawner");
        return;
    }
    run->status.holder_pid = holder;
    run->status.job_pid = job;
    run->status.started_us = started;
    free(run->req);
    run->req = NULL;
    run->state = RUN_STARTED;
    run_started(run); /* may cancel (and connect) or exec_free() */
    if (!e->closing && run->state == RUN_STARTED && run->cancel_wanted)
        run_connect(run); /* cancelled before the spawner answered */
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
        run_connect(run);
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
        run_free(e, run);
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
    run = m ? run_new(e, spec->output, cb) : NULL;
    if (m) {
        memcpy(m->data, &tag, sizeof tag);
        memcpy(m->data + sizeof tag, text, len - sizeof tag);
        m->len = len;
        m->next = NULL;
    }
    free(text);
    if (!run || out_push(e, m) < 0) {
        if (run)
            run_free(e, run);
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
    run = run_new(e, output, cb);
    if (!run)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    /* the outcome may be known at once (the record is read on the pool), so
     * the caller has its handle before any callback */
    *ret = run;
    run_connect(run);
    return 0;
}

void exec_cancel(struct exec_run *run)
{
    run->cancel_wanted = true;
    if (run->state == RUN_STARTED && !run->e->closing)
        run_connect(run); /* sends "cancel" once connected */
    else if (run->state == RUN_CONNECTED && run->conn && !run->cancel_sent) {
        run_send(run, "cancel");
        run->cancel_sent = true;
    }
}
