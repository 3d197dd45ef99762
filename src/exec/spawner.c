/* spawner.c: the spawner process and the daemon's handle on it.
 *
 * The spawner blocks (recv, then a bounded wait for the holder's report):
 * it is a process of its own, so the daemon's loop does not. Every process
 * forked here ends with _exit(): exit() would run the daemon's atexit
 * handlers and sanitizer reports in a copy of the daemon. */
#include "spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "cgroup.h"
#include "child.h"
#include "exec.h"
#include "holder.h"
#include "spec.h"
#include "../util/err.h"
#include "../banned.h"

#define SETUP_TIMEOUT_MS 10000 /* for a holder to report; then the reply says so */

struct exec_spawner {
    pid_t pid;
    int fd;
    uint64_t next_tag;
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

/* Forks the middle process, which forks the holder and exits at once, and
 * waits for the holder's report. */
static void spawn(int fd, json_int_t tag, const struct exec_spec *spec, const char *cgroup)
{
    struct exec_holder_report r = {0};
    struct pollfd p;
    int rep[2];
    ssize_t n = -1;
    pid_t mid;

    if (pipe2(rep, O_CLOEXEC) < 0) {
        reply_error(fd, tag, "spawner: cannot make a pipe");
        return;
    }
    mid = exec_child_fork();
    if (mid == 0) {
        pid_t h;

        close(rep[0]);
        h = exec_child_fork();
        if (h == 0) {
            prctl(PR_SET_NAME, "chime-holder");
            exec_holder_main(spec, cgroup, rep[1]);
        }
        if (h < 0) {
            r.ok = 0;
            snprintf(r.error, sizeof r.error, "cannot fork a holder: %s", strerror(errno));
            n = write(rep[1], &r, sizeof r);
        }
        _exit(n < 0 ? 1 : 0);
    }
    close(rep[1]);
    if (mid < 0) {
        close(rep[0]);
        reply_error(fd, tag, "spawner: cannot fork");
        return;
    }
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    p = (struct pollfd){rep[0], POLLIN, 0};
    if (poll(&p, 1, SETUP_TIMEOUT_MS) > 0)
        do
            n = read(rep[0], &r, sizeof r);
        while (n < 0 && errno == EINTR);
    close(rep[0]);
    if (n != (ssize_t)sizeof r)
        reply_error(fd, tag,
                    n == 0 ? "the holder exited during its set-up"
                           : "the holder did not report in time");
    else if (!r.ok)
        reply(fd, json_pack("{s:I, s:s, s:i}", "tag", tag, "error", r.error, "holder_pid",
                            (int)r.holder_pid));
    else
        reply(fd, json_pack("{s:I, s:i, s:i, s:I}", "tag", tag, "holder_pid", (int)r.holder_pid,
                            "job_pid", (int)r.job_pid, "started_us", (json_int_t)r.started_us));
}

static void handle(int fd, const char *buf, size_t len, const char *cgroup)
{
    struct exec_spec *spec = NULL;
    struct err err = {0};
    json_t *req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *tag = json_object_get(req, "tag");

    if (!json_is_integer(tag)) {
        reply_error(fd, -1, "bad request");
    } else if (exec_spec_from_json(json_object_get(req, "spec"), &spec, &err) < 0) {
        char msg[EXEC_ERROR_MAX];

        snprintf(msg, sizeof msg, "%.31s%s%.200s", err.field, err.field[0] ? ": " : "", err.msg);
        reply_error(fd, json_integer_value(tag), msg);
    } else {
        spawn(fd, json_integer_value(tag), spec, cgroup);
    }
    exec_spec_free(spec);
    json_decref(req);
}

static void spawner_main(int fd, const char *cgroup) __attribute__((noreturn));
static void spawner_main(int fd, const char *cgroup)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};
    char *buf = malloc(EXEC_REQUEST_MAX + 1);
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
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (!buf)
        _exit(1);
    for (;;) {
        ssize_t n = recv(fd, buf, EXEC_REQUEST_MAX + 1, 0);

        if (n == 0)
            _exit(0); /* the daemon is gone */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            _exit(1);
        if (n > EXEC_REQUEST_MAX)
            reply_error(fd, -1, "request is too large");
        else
            handle(fd, buf, (size_t)n, cgroup);
    }
}

/* ---- in the daemon ---- */

int exec_spawner_start(const struct exec_spawner_options *opt, struct exec_spawner **ret,
                       struct err *err)
{
    const struct exec_spawner_options none = {0};
    struct exec_spawner *sp;
    int sv[2], size = 2 * EXEC_REQUEST_MAX, rc;
    const char *want;

    if (!opt)
        opt = &none;
    want = opt->cgroup ? opt->cgroup : getenv("CHIME_CGROUP");
    sp = calloc(1, sizeof *sp);
    if (!sp)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    rc = exec_cgroup_parent(want, sp->cgroup, sizeof sp->cgroup, err);
    if (rc < 0) {
        free(sp);
        return rc;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        free(sp);
        return err_set(err, CHIME_EIO, "", "socketpair: %s", strerror(errno));
    }
    /* one request is one message: the daemon's send buffer must hold it */
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    /* a plain fork() here: the daemon may hold locks its atfork handlers
     * release; from here on (spawner, holder, job) exec_child_fork() */
    sp->pid = fork();
    if (sp->pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        close(sv[0]);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            if (!opt->keep_stderr)
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
        free(sp);
        return err_set(err, CHIME_EIO, "", "cannot fork the spawner: %s", strerror(errno));
    }
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    sp->fd = sv[0];
    sp->next_tag = 1;
    *ret = sp;
    return 0;
}

void exec_spawner_free(struct exec_spawner *sp)
{
    if (!sp)
        return;
    close(sp->fd);
    while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
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
