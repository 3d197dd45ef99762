/* exec_run.c: one run on the daemon's side (see exec.c for its states):
 * the connection to its holder's socket, the retry timer's connects, and
 * the exit record read on the thread pool once the holder is gone. The
 * spawner's socket and the API are in exec.c. */
#include "exec/exec_int.h"

#include <errno.h>
#include <fcntl.h>
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
#include "util/err.h"
#include "../banned.h"

#define RETRY_MS       50 /* between connects that failed for a passing reason */
#define RECONNECTS_MAX 3  /* connections lost without an exit message */

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

const char *exec_run_output(const struct exec_run *run)
{
    return run->output;
}

/* ---- runs ---- */

struct exec_run *exec_run_new(struct exec *e, const char *output, const struct exec_callbacks *cb)
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

void exec_run_free(struct exec *e, struct exec_run *run)
{
    run_unlink(e, run);
    free(run->req);
    free(run->output);
    free(run);
}

/* The one way a run ends: RUN is freed once on_exit returns. It is unlinked
 * before the callback, so an exec_free() inside it leaves RUN alone. */
void exec_run_finish(struct exec *e, struct exec_run *run, const struct exec_result *res)
{
    run_unlink(e, run);
    run->state = RUN_DONE;
    if (run->cb.on_exit)
        run->cb.on_exit(run, res, run->cb.data);
    free(run->req);
    free(run->output);
    free(run);
}

void exec_run_fail(struct exec *e, struct exec_run *run, enum exec_outcome outcome, const char *why)
{
    struct exec_result res = {.outcome = outcome, .exit_code = -1};

    if (outcome == EXEC_LOST)
        res.lost = EXEC_LOST_RECORD;

    res.job_pid = run->status.job_pid;
    res.holder_pid = run->status.holder_pid;
    res.started_us = run->status.started_us;
    snprintf(res.error, sizeof res.error, "%s", why);
    exec_run_finish(e, run, &res);
}

void exec_run_started(struct exec_run *run)
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
        exec_run_finish(run->e, run, &res);
        return;
    }
    if (r->error) {
        snprintf(why, sizeof why, "cannot read the exit record: %s", strerror(r->error));
        exec_run_fail(run->e, run, EXEC_LOST, why);
        return;
    }
    if (exec_record_parse(r->text, r->len, &res, &err) < 0) {
        snprintf(why, sizeof why, "bad exit record: %.200s", err.msg);
        exec_run_fail(run->e, run, EXEC_LOST, why);
        return;
    }
    exec_run_finish(run->e, run, &res);
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
        exec_run_fail(run->e, run, EXEC_LOST, "out of memory reading the exit record");
        return;
    }
    memcpy(r->path, run->output, len);
    r->e = run->e;
    r->run = run;
    r->work.data = r;
    if (uv_queue_work(run->e->loop, &r->work, on_record_work, on_record_read) < 0) {
        free(r->path);
        free(r);
        exec_run_fail(run->e, run, EXEC_LOST, "cannot queue the exit record read");
        return;
    }
    run->e->handles++;
    run->reader = r;
}

/* ---- the holder's socket ---- */

void exec_run_send(struct exec_run *run, const char *cmd)
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
            exec_run_started(run);
        }
    } else if (event && strcmp(event, "exit") == 0) {
        if (exec_record_from_json(json_object_get(m, "record"), &res, &err) == 0)
            exec_run_finish(run->e, run, &res);
        else
            exec_run_fail(run->e, run, EXEC_LOST, "bad exit message from the holder");
        ended = true;
    }
    json_decref(m);
    return ended;
}

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
            exec_run_connect(run);
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

void exec_run_connect(struct exec_run *run)
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
    exec_run_send(run, "status");
    if (run->cancel_wanted) {
        exec_run_send(run, "cancel");
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
            exec_run_connect(run);
    }
}
