/* spawner.c: the spawner process and the daemon's handle on it.
 *
 * The spawner is a poll() loop over the daemon's socket and the report
 * pipes of the holders still setting up (at most PENDING_MAX, each for at
 * most SETUP_TIMEOUT_MS): a slow holder set-up delays nobody else's. Every process
 * forked here ends with _exit(): exit() would run the daemon's atexit
 * handlers and sanitizer reports in a copy of the daemon. */
#include "exec/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "exec/cgroup.h"
#include "exec/child.h"
#include "exec/exec.h"
#include "exec/holder.h"
#include "exec/spec.h"
#include "util/err.h"
#include "../banned.h"

#define SETUP_TIMEOUT_MS 10000 /* for a holder to report; then the reply says so */
#define IDLE_MIN         2     /* holders kept forked ahead of requests */
#define IDLE_MAX         64    /* idle holders kept; more are let go */

struct exec_spawner {
    pid_t pid;
    int fd;
    uint64_t next_tag;
    bool keep_stderr;
    int64_t started_us;    /* CLOCK_MONOTONIC: when this pid was forked */
    char cgroup[PATH_MAX]; /* "" for none */
};

/* ---- in the spawner ---- */

static void reply(int fd, json_t *msg)
{
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;

    if (text)
        send(fd, text, strlen(text), MSG_NOSIGNAL);
    free(text);
    json_decref(msg);
}

static void reply_error(int fd, json_int_t tag, const char *msg)
{
    reply(fd, json_pack("{s:I, s:s}", "tag", tag, "error", msg));
}

/* One holder, from the spawner's side. Slots are never moved (their index
 * is the epoll data); a gone holder's slot has fd -1 and is reused. */
enum slot_state { SLOT_FREE, SLOT_IDLE, SLOT_SETUP, SLOT_BUSY };

struct slot {
    enum slot_state state;
    int fd; /* our end of its channel */
    uint64_t tag;
    int64_t deadline_ms; /* SLOT_SETUP: give up on the report then */
};

struct spawner {
    int fd; /* the daemon's socket */
    const char *cgroup;
    int ep;
    struct slot *slots;
    size_t n, idle;
    char *buf;
};

#define DAEMON_EVENT UINT64_MAX

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void slot_drop(struct spawner *sp, struct slot *s)
{
    if (s->state == SLOT_IDLE)
        sp->idle--;
    close(s->fd); /* its holder exits once it is free */
    *s = (struct slot){SLOT_FREE, -1, 0, 0};
}

/* Forks a holder into a free slot; returns the slot, or NULL with errno. */
static struct slot *holder_fork(struct spawner *sp)
{
    int size = 2 * EXEC_REQUEST_MAX, ch[2];
    struct epoll_event ev = {.events = EPOLLIN};
    struct slot *s = NULL;
    size_t i;
    pid_t h;

    for (i = 0; i < sp->n && sp->slots[i].state != SLOT_FREE; i++)
        ;
    if (i == sp->n) {
        struct slot *grown = realloc(sp->slots, (sp->n + 16) * sizeof *grown);

        if (!grown)
            return NULL;
        sp->slots = grown;
        for (size_t k = sp->n; k < sp->n + 16; k++)
            grown[k] = (struct slot){SLOT_FREE, -1, 0, 0};
        sp->n += 16;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) < 0)
        return NULL;
    setsockopt(ch[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(ch[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    h = exec_child_fork();
    if (h == 0) {
        prctl(PR_SET_NAME, "chime-holder");
        exec_holder_main(sp->cgroup, ch[1]);
    }
    close(ch[1]);
    ev.data.u64 = i;
    if (h < 0 || epoll_ctl(sp->ep, EPOLL_CTL_ADD, ch[0], &ev) < 0) {
        int e = errno;

        close(ch[0]);
        errno = e;
        return NULL;
    }
    s = &sp->slots[i];
    *s = (struct slot){SLOT_IDLE, ch[0], 0, 0};
    sp->idle++;
    return s;
}

/* Hands the request in sp->buf (LEN bytes: a tag, then the spec) to an
 * idle holder, forking one when none is. */
static void request(struct spawner *sp, size_t len)
{
    struct slot *s = NULL;
    uint64_t tag;
    char msg[EXEC_ERROR_MAX];

    memcpy(&tag, sp->buf, sizeof tag);
    for (;;) {
        for (size_t i = 0; !s && sp->idle && i < sp->n; i++)
            if (sp->slots[i].state == SLOT_IDLE)
                s = &sp->slots[i];
        if (!s && !(s = holder_fork(sp))) {
            snprintf(msg, sizeof msg, "cannot fork a holder: %s", strerror(errno));
            reply_error(sp->fd, (json_int_t)tag, msg);
            return;
        }
        if (send(s->fd, sp->buf, len, MSG_NOSIGNAL) == (ssize_t)len)
            break;
        slot_drop(sp, s); /* it died while idle: another */
        s = NULL;
    }
    sp->idle--;
    s->state = SLOT_SETUP;
    s->tag = tag;
    s->deadline_ms = now_ms() + SETUP_TIMEOUT_MS;
}

/* Passes a holder's exit RECORD (JSON text, LEN bytes) on to the daemon as
 * {"tag": TAG, "exit": RECORD}, unread: the daemon parses it. */
static void forward_exit(int fd, uint64_t tag, char *record, size_t len)
{
    char head[48];
    int n = snprintf(head, sizeof head, "{\"tag\":%" PRIu64 ",\"exit\":", tag);
    struct iovec iov[3] = {{head, (size_t)n}, {record, len}, {"}", 1}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 3};

    sendmsg(fd, &m, MSG_NOSIGNAL);
}

/* Whether the LEN bytes in BUF are S's report (exec_holder_report): the
 * size, and the tag of S's request. "F" and a record never are: their
 * first 8 bytes ("F{\"versi") read as a tag are far beyond any tag given. */
static bool is_report(const struct slot *s, const char *buf, ssize_t len)
{
    struct exec_holder_report r;

    if (len != (ssize_t)sizeof r)
        return false;
    memcpy(&r, buf, sizeof r);
    return r.tag == s->tag;
}

/* A message from the holder in slot S (LEN bytes in sp->buf, 0: gone):
 * its report (after the deadline too late, and dropped), or "F" with the
 * run's exit record, which goes on to the daemon. */
static void holder_said(struct spawner *sp, struct slot *s, ssize_t len)
{
    struct exec_holder_report r;
    json_int_t tag = (json_int_t)s->tag;

    if (len <= 0) {
        if (s->state == SLOT_SETUP)
            reply_error(sp->fd, tag, "the holder exited during its set-up");
        else if (s->state == SLOT_BUSY) /* no "F": the daemon looks for its record */
            reply(sp->fd, json_pack("{s:I, s:b}", "tag", tag, "gone", 1));
        slot_drop(sp, s);
    } else if (is_report(s, sp->buf, len)) {
        if (s->state != SLOT_SETUP)
            return;
        memcpy(&r, sp->buf, sizeof r);
        s->state = SLOT_BUSY;
        if (!r.ok)
            reply(sp->fd, json_pack("{s:I, s:s, s:i}", "tag", tag, "error", r.error, "holder_pid",
                                    (int)r.holder_pid));
        else
            reply(sp->fd,
                  json_pack("{s:I, s:i, s:i, s:I}", "tag", tag, "holder_pid", (int)r.holder_pid,
                            "job_pid", (int)r.job_pid, "started_us", (json_int_t)r.started_us));
    } else if (sp->buf[0] == 'F' && s->state == SLOT_BUSY) {
        if (len > 1)
            forward_exit(sp->fd, s->tag, sp->buf + 1, (size_t)len - 1);
        if (sp->idle >= IDLE_MAX) {
            slot_drop(sp, s);
        } else {
            s->state = SLOT_IDLE;
            sp->idle++;
        }
    }
}

/* Gives up on holders past their set-up deadline; returns the ms until the
 * next deadline, -1 for none. */
static int expire(struct spawner *sp)
{
    int64_t now = now_ms(), next = -1;

    for (size_t i = 0; i < sp->n; i++) {
        struct slot *s = &sp->slots[i];

        if (s->state != SLOT_SETUP)
            continue;
        if (s->deadline_ms <= now) {
            /* a report after this is ignored; its "F" still frees it */
            reply_error(sp->fd, (json_int_t)s->tag, "the holder did not report in time");
            s->state = SLOT_BUSY;
        } else if (next < 0 || s->deadline_ms - now < next) {
            next = s->deadline_ms - now;
        }
    }
    return (int)next;
}

static void spawner_main(int fd, const char *cgroup) __attribute__((noreturn));
static void spawner_main(int fd, const char *cgroup)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};
    struct spawner sp = {.fd = fd, .cgroup = cgroup};
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = DAEMON_EVENT};
    sigset_t none;
    int sig;

    /* a session of our own: the daemon's terminal and process group are
     * not ours, and whatever the daemon installed as handlers is gone. The
     * spawner lives exactly as long as the daemon's end of the socket: a
     * stray SIGTERM or SIGINT would leave a live daemon unable to start runs */
    setsid();
    prctl(PR_SET_NAME, "chime-spawner");
    for (sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigaction(SIGPIPE, &ign, NULL);
    sigaction(SIGHUP, &ign, NULL);
    sigaction(SIGTERM, &ign, NULL);
    sigaction(SIGINT, &ign, NULL);
    /* holders are our children: the kernel reaps them, never a zombie */
    sigaction(SIGCHLD, &ign, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    sp.buf = malloc(EXEC_REQUEST_MAX + 1);
    sp.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!sp.buf || sp.ep < 0 || epoll_ctl(sp.ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        _exit(1);
    for (;;) {
        struct epoll_event evs[32];
        int timeout = expire(&sp), n;

        /* a holder or two ready before the next request needs one */
        n = epoll_wait(sp.ep, evs, 32, sp.idle < IDLE_MIN ? 0 : timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            _exit(1);
        if (n == 0 && sp.idle < IDLE_MIN)
            holder_fork(&sp);
        for (int i = 0; i < n; i++) {
            ssize_t len;

            if (evs[i].data.u64 == DAEMON_EVENT) {
                len = recv(fd, sp.buf, EXEC_REQUEST_MAX + 1, MSG_DONTWAIT);
                if (len == 0)
                    _exit(0); /* the daemon is gone: idle holders go with our end */
                if (len < 0 && errno != EINTR && errno != EAGAIN)
                    _exit(1);
                if (len > EXEC_REQUEST_MAX)
                    reply_error(fd, -1, "request is too large");
                else if (len > 0 && (size_t)len < sizeof(uint64_t))
                    reply_error(fd, -1, "bad request");
                else if (len > 0)
                    request(&sp, (size_t)len);
                continue;
            }
            if (evs[i].data.u64 >= sp.n || sp.slots[evs[i].data.u64].fd < 0)
                continue;
            len = recv(sp.slots[evs[i].data.u64].fd, sp.buf, EXEC_REQUEST_MAX + 1, MSG_DONTWAIT);
            if (len < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            holder_said(&sp, &sp.slots[evs[i].data.u64], len);
        }
    }
}

/* ---- in the daemon ---- */

/* Forks SP's spawner process with a new socketpair; SP->pid and SP->fd. */
static int spawner_fork(struct exec_spawner *sp, struct err *err)
{
    int sv[2], size = 2 * EXEC_REQUEST_MAX;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return err_set(err, CHIME_EIO, "", "socketpair: %s", strerror(errno));
    /* one request is one message: the daemon's send buffer must hold it */
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    /* a plain fork() here: the daemon may hold locks its atfork handlers
     * release; from here on (spawner, holder, job) exec_child_fork(). A
     * restart forks a daemon that has threads: the child calls nothing
     * but malloc (which glibc makes safe in the child of fork()), jansson
     * and system calls before its own loop, and no lock another thread
     * could hold */
    sp->pid = fork();
    if (sp->pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        close(sv[0]);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            if (!sp->keep_stderr)
                dup2(null, 2);
        }
        if (sv[1] != 3) {
            dup2(sv[1], 3);
            close(sv[1]);
        }
        close_range(4, ~0U, 0);
        spawner_main(3, sp->cgroup);
    }
    close(sv[1]);
    if (sp->pid < 0) {
        close(sv[0]);
        return err_set(err, CHIME_EIO, "", "cannot fork the spawner: %s", strerror(errno));
    }
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    sp->fd = sv[0];
    sp->started_us = now_ms() * 1000;
    return 0;
}

int exec_spawner_start(const struct exec_spawner_options *opt, struct exec_spawner **ret,
                       struct err *err)
{
    const struct exec_spawner_options none = {0};
    struct exec_spawner *sp;
    const char *want;
    int rc;

    if (!opt)
        opt = &none;
    want = opt->cgroup ? opt->cgroup : getenv("CHIME_CGROUP");
    sp = calloc(1, sizeof *sp);
    if (!sp)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    sp->keep_stderr = opt->keep_stderr;
    rc = exec_cgroup_parent(want, sp->cgroup, sizeof sp->cgroup, err);
    if (rc == 0)
        rc = spawner_fork(sp, err);
    if (rc < 0) {
        free(sp);
        return rc;
    }
    sp->next_tag = 1;
    *ret = sp;
    return 0;
}

/* The old spawner is gone (its socket closed) or is let go of: it is made
 * sure of and reaped, so it is never a zombie. */
static void spawner_reap(struct exec_spawner *sp)
{
    if (sp->pid <= 0)
        return;
    kill(sp->pid, SIGKILL);
    while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    sp->pid = 0;
}

int64_t exec_spawner_alive_us(const struct exec_spawner *sp)
{
    return now_ms() * 1000 - sp->started_us;
}

int exec_spawner_restart(struct exec_spawner *sp, struct err *err)
{
    close(sp->fd);
    sp->fd = -1;
    spawner_reap(sp);
    return spawner_fork(sp, err);
}

int64_t exec_spawner_backoff(int64_t *delay_us, int64_t alive_us)
{
    if (alive_us >= EXEC_SPAWNER_STABLE_US || *delay_us <= 0)
        *delay_us = alive_us >= EXEC_SPAWNER_STABLE_US ? 0 : EXEC_SPAWNER_BACKOFF_MIN_US;
    else if (*delay_us < EXEC_SPAWNER_BACKOFF_MAX_US / 2)
        *delay_us *= 2;
    else
        *delay_us = EXEC_SPAWNER_BACKOFF_MAX_US;
    return *delay_us;
}

void exec_spawner_free(struct exec_spawner *sp)
{
    if (!sp)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    while (sp->pid > 0 && waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    free(sp);
}

int exec_spawner_fd(const struct exec_spawner *sp)
{
    return sp->fd;
}

uint64_t exec_spawner_tag(struct exec_spawner *sp)
{
    return sp->next_tag++;
}

pid_t exec_spawner_pid(const struct exec_spawner *sp)
{
    return sp->pid;
}

const char *exec_spawner_cgroup(const struct exec_spawner *sp)
{
    return sp->cgroup;
}
