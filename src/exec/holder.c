/* holder.c: one run's holder process (see holder.h).
 *
 * A single-threaded poll() loop over: a signalfd (SIGCHLD, SIGTERM), the
 * job's two output pipes, the listening socket and its clients. The
 * state that matters:
 *
 *   running   the job's main process lives; the timeout or a cancel sends
 *             SIGTERM to its process group and descendants (term_at), and
 *             SIGKILL after kill_grace (killed).
 *   draining  the main process is reaped: the pipes are read until both
 *             close or DRAIN_US pass, so a grandchild that keeps stdout open
 *             cannot keep the run alive.
 *   sweeping  the pipes are closed: whatever is left of the tree gets
 *             SIGTERM, then SIGKILL after kill_grace, rescanned every
 *             RESCAN_US until nothing is left.
 *
 * Then the exit record is written, the connected daemons are told, and the
 * holder is free for its next run (exec_holder_main()). The holder is the child subreaper of the
 * whole tree, and it reaps everything that comes back to it, so it leaves no zombie. */
#include "exec/holder.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "exec/cgroup.h"
#include "exec/child.h"
#include "exec/output.h"
#include "exec/record.h"
#include "exec/sandbox.h"
#include "exec/spec.h"
#include "exec/tree.h"
#include "util/err.h"
#include "../banned.h"

#define DRAIN_US    100000 /* reading on after the main process ended */
#define RESCAN_US   20000  /* between looks for leftover processes */
#define CLIENTS_MAX 8
#define START_WAIT_MAX_US 10000   /* one sleep waiting for a run's instant */
#define START_LATE_MAX_US 1000000 /* longer than any lead: start at once */
#define READ_CHUNK  65536

struct holder {
    const struct exec_spec *spec;
    const char *cgroup_parent; /* "" for none */
    int report_fd;             /* the channel to the spawner */
    bool reported;             /* the report went out */
    uint64_t tag;              /* the spawner's, for the report */
    pid_t pid;
    int dirfd;      /* the output file's directory, once the file is ours; else -1 */
    struct stat st; /* the output file's: names the socket */
    int listen_fd;
    int sig_fd;
    int pipe_fd[2];           /* read ends: stdout, stderr; -1 once closed */
    int exec_fd;              /* the child's report pipe, read end */
    int clients[CLIENTS_MAX]; /* -1: free */
    struct exec_output *out;
    struct exec_cgroup *cg;
    struct exec_child child;
    pid_t job;
    bool job_done;
    int job_status;     /* from waitpid */
    int64_t started_us; /* CLOCK_REALTIME */
    int64_t finished_us;
    int64_t timeout_at; /* CLOCK_MONOTONIC deadlines; 0: none */
    int64_t drain_until;
    int64_t term_at; /* when SIGTERM went out; 0: not yet */
    int64_t next_scan;
    int64_t cpu_user_us, cpu_sys_us; /* of everything reaped in this run */
    long max_rss_kb;
    bool killed; /* SIGKILL went out */
    bool timed_out;
    bool cancelled;
    bool cancel_asked;
    char error[EXEC_ERROR_MAX];
    char buf[READ_CHUNK];
};

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void set_error(struct holder *h, const char *msg)
{
    if (!h->error[0])
        snprintf(h->error, sizeof h->error, "%.*s", (int)sizeof h->error - 1, msg);
}

/* ---- set-up ---- */

/* Once per holder process: out of the spawner's process group and fd
 * table (all but CHAN), adopted subtrees coming back to us, and deaf to what
 * a closing terminal or daemon sends. Returns the signalfd, or -1. */
static int holder_detach(int chan)
{
    struct sigaction ign = {.sa_handler = SIG_IGN}, dfl = {.sa_handler = SIG_DFL};
    sigset_t mask;

    setpgid(0, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigaction(SIGHUP, &ign, NULL);
    sigaction(SIGPIPE, &ign, NULL);
    sigaction(SIGINT, &ign, NULL);
    /* the spawner ignores SIGTERM, and an ignored signal never reaches a
     * signalfd; SIGCHLD ignored would reap children behind our back */
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGCHLD, &dfl, NULL);
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    if (chan > 3)
        close_range(3, (unsigned)chan - 1, 0);
    close_range((unsigned)chan + 1, ~0U, 0);
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

socklen_t exec_holder_addr(const struct stat *output, struct sockaddr_un *sa)
{
    int n;

    /* abstract: no inode to create and remove per run; named by the output
     * file's identity, so whoever can stat the file finds it, and its path
     * length does not matter */
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "chime-holder/%jx/%jx",
                 (uintmax_t)output->st_dev, (uintmax_t)output->st_ino);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

bool exec_holder_peer_ok(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;

    /* an abstract socket has no file mode: only our user (or root) */
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0
           && (cred.uid == geteuid() || cred.uid == 0);
}

static int holder_listen(struct holder *h, struct err *err)
{
    struct sockaddr_un sa;
    socklen_t len = exec_holder_addr(&h->st, &sa);

    h->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->listen_fd < 0 || bind(h->listen_fd, (struct sockaddr *)&sa, len) < 0
        || listen(h->listen_fd, CLIENTS_MAX) < 0)
        return err_set(err, CHIME_EIO, "", "cannot listen on @%s: %s", sa.sun_path + 1,
                       strerror(errno));
    return 0;
}

/* Until AT (CLOCK_REALTIME), when the run was handled ahead of its fire
 * instant: everything is set up, the job starts on time. A clock that jumps
 * meanwhile cannot hold a run back for long: a step is at most the lead. */
static void wait_for_start(int64_t at)
{
    for (int64_t now = clock_us(CLOCK_REALTIME); at > now; now = clock_us(CLOCK_REALTIME)) {
        int64_t d = at - now < START_WAIT_MAX_US ? at - now : START_WAIT_MAX_US;
        struct timespec ts = {d / 1000000, (d % 1000000) * 1000};

        if (at - now > START_LATE_MAX_US)
            return; /* not a lead but a mistake: start now */
        nanosleep(&ts, NULL);
    }
}

static int holder_setup(struct holder *h, struct err *err)
{
    const struct exec_spec *s = h->spec;
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, exec_pipe[2] = {-1, -1};
    int devnull = -1, dirfd, fd, rc;
    char q[80], parent[PATH_MAX];
    const char *slash;

    if (h->sig_fd < 0)
        return err_set(err, CHIME_EIO, "", "signalfd: %s", strerror(errno));
    slash = strrchr(s->output, '/'); /* absolute: exec_spec_check() */
    snprintf(parent, sizeof parent, "%.*s", slash == s->output ? 1 : (int)(slash - s->output),
             s->output);
    dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return err_set(err, CHIME_EIO, "output", "cannot open the directory of '%s': %s",
                       err_quote(s->output, SIZE_MAX, q, sizeof q), strerror(errno));
    fd = openat(dirfd, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || fstat(fd, &h->st) < 0) {
        int e = errno;

        /* someone else's output file: leave it exactly as it is */
        if (fd >= 0)
            close(fd);
        close(dirfd);
        return err_set(err, e == EEXIST ? CHIME_EINVAL : CHIME_EIO, "output", "'%s' %s",
                       err_quote(s->output, SIZE_MAX, q, sizeof q),
                       e == EEXIST ? "is already used by a run" : strerror(e));
    }
    h->dirfd = dirfd; /* the file is ours now: failures from here get a record */
    if ((rc = exec_output_new(fd, s->output_max, &h->out, err)) < 0
        || (rc = exec_output_redact(h->out, (const char *const *)s->secrets, err)) < 0
        || (rc = holder_listen(h, err)) < 0
        || (s->user.uid > 0 && (rc = exec_child_workdir_own(s->workdir_root, &s->user, err)) < 0)
        || (rc = exec_child_workdir_open(s->workdir_root, s->workdir, &h->child.workdir_fd, err))
               < 0
        || (rc = exec_child_prepare(&h->child, err)) < 0)
        goto done;
    if (h->cgroup_parent[0]
        && (rc = exec_cgroup_new(h->cgroup_parent, s->run_id, &s->limits, &h->cg, err)) < 0)
        goto done;
    if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0
        || pipe2(exec_pipe, O_CLOEXEC) < 0
        || (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = err_set(err, CHIME_EIO, "", "cannot make the job's pipes: %s", strerror(errno));
        goto done;
    }
    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
    h->child.stdin_fd = devnull;
    h->child.stdout_fd = out_pipe[1];
    h->child.stderr_fd = err_pipe[1];
    h->child.cgroup_fd = h->cg ? exec_cgroup_procs_fd(h->cg) : -1;
    h->child.report_fd = exec_pipe[1];
    h->child.holder = h->pid;
    h->child.cap_last = exec_sandbox_cap_last();
    wait_for_start(s->start_at_us);
    h->started_us = clock_us(CLOCK_REALTIME);
    if (s->timeout_us > 0)
        h->timeout_at = clock_us(CLOCK_MONOTONIC) + s->timeout_us;
    h->job = exec_child_spawn(&h->child);
    if (h->job < 0) {
        rc = err_set(err, CHIME_EIO, "", "cannot fork the job: %s", strerror(errno));
        goto done;
    }
    h->pipe_fd[0] = out_pipe[0];
    h->pipe_fd[1] = err_pipe[0];
    h->exec_fd = exec_pipe[0];
    out_pipe[0] = err_pipe[0] = exec_pipe[0] = -1;
    rc = 0;
done:
    close_fd(&out_pipe[0]);
    close_fd(&out_pipe[1]);
    close_fd(&err_pipe[0]);
    close_fd(&err_pipe[1]);
    close_fd(&exec_pipe[0]);
    close_fd(&exec_pipe[1]);
    close_fd(&devnull);
    close_fd(&h->child.workdir_fd);
    return rc;
}

static void holder_report(struct holder *h)
{
    struct exec_holder_report r = {0};

    if (h->reported)
        return;
    r.tag = h->tag;
    r.ok = h->job > 0;
    r.holder_pid = h->pid;
    r.job_pid = h->job > 0 ? h->job : 0;
    r.started_us = h->started_us;
    snprintf(r.error, sizeof r.error, "%s", h->error);
    send(h->report_fd, &r, sizeof r, MSG_NOSIGNAL);
    h->reported = true;
}

/* ---- the tree ---- */

/* Signals the job's process group, every descendant, and the cgroup;
 * returns how many were found. SIGTERM comes with SIGCONT so that a stopped
 * process can act on it. */
static int holder_signal(struct holder *h, int sig)
{
    int n = exec_tree_signal(h->pid, h->job, sig);

    if (h->cg && exec_cgroup_populated(h->cg)) {
        n++;
        if (sig)
            exec_cgroup_signal(h->cg, sig);
    }
    if (sig == SIGTERM)
        holder_signal(h, SIGCONT);
    return n;
}

static void holder_term(struct holder *h, int64_t now)
{
    holder_signal(h, SIGTERM);
    h->term_at = now;
}

static void holder_reap(struct holder *h, int64_t now)
{
    struct rusage ru;
    int status;
    pid_t p;

    /* per process, not RUSAGE_CHILDREN: a holder serves many runs */
    while ((p = wait4(-1, &status, WNOHANG, &ru)) > 0) {
        h->cpu_user_us += (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
        h->cpu_sys_us += (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
        if (ru.ru_maxrss > h->max_rss_kb)
            h->max_rss_kb = ru.ru_maxrss;
        if (p == h->job) {
            h->job_done = true;
            h->job_status = status;
            h->finished_us = clock_us(CLOCK_REALTIME);
            h->drain_until = now + DRAIN_US;
        }
    }
}

/* Whether the holder has no child at all, not even a zombie. As the child
 * subreaper of the run's tree it then has no descendant either: an orphan
 * anywhere below comes back to it as a child. So the usual run, whose job
 * left nothing behind, ends without walking /proc. (With a cgroup, its
 * members are asked instead: one may have been moved in from elsewhere.) */
static bool no_children(void)
{
    siginfo_t si;

    return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

static bool pipes_open(const struct holder *h)
{
    return h->pipe_fd[0] >= 0 || h->pipe_fd[1] >= 0;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Acts on the deadlines due at NOW; returns true when the run is over, else
 * sets *WAKE to the next deadline (INT64_MAX: none). */
static bool holder_step(struct holder *h, int64_t now, int64_t *wake)
{
    int64_t grace = h->spec->kill_grace_us, next = INT64_MAX;

    if (!h->job_done && !h->term_at) {
        if (h->cancel_asked) {
            h->cancelled = true;
            holder_term(h, now);
        } else if (h->timeout_at && now >= h->timeout_at) {
            h->timed_out = true;
            holder_term(h, now);
        } else if (h->timeout_at) {
            next = h->timeout_at;
        }
    }
    if (h->job_done && pipes_open(h)) {
        if (now >= h->drain_until) {
            close_fd(&h->pipe_fd[0]);
            close_fd(&h->pipe_fd[1]);
        } else {
            next = min64(next, h->drain_until);
        }
    }
    if (h->term_at && !h->killed) {
        if (now >= h->term_at + grace) {
            holder_signal(h, SIGKILL);
            h->killed = true;
        } else {
            next = min64(next, h->term_at + grace);
        }
    }
    if (h->job_done && !pipes_open(h)) {
        if (!h->cg && no_children())
            return true;
        if (now >= h->next_scan) {
            if (holder_signal(h, h->killed ? SIGKILL : 0) == 0)
                return true;
            if (!h->term_at) {
                holder_term(h, now);
                if (grace == 0) {
                    holder_signal(h, SIGKILL);
                    h->killed = true;
                }
                next = min64(next, now + grace);
            }
            h->next_scan = now + RESCAN_US;
        }
        next = min64(next, h->next_scan);
    }
    *wake = next;
    return false;
}

/* ---- clients ---- */

static void client_send(struct holder *h, int i, const char *msg)
{
    if (send(h->clients[i], msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        close_fd(&h->clients[i]); /* it will read the record */
}

static void client_accept(struct holder *h)
{
    int fd, i;

    while ((fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        for (i = 0; i < CLIENTS_MAX && h->clients[i] >= 0; i++)
            ;
        if (i == CLIENTS_MAX || !exec_holder_peer_ok(fd))
            close(fd);
        else
            h->clients[i] = fd;
    }
}

static void client_read(struct holder *h, int i)
{
    char cmd[64], msg[256];
    ssize_t n = recv(h->clients[i], cmd, sizeof cmd - 1, 0);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        close_fd(&h->clients[i]);
        return;
    }
    cmd[n] = '\0';
    if (strcmp(cmd, "cancel") == 0) {
        h->cancel_asked = true;
        client_send(h, i, "{\"event\":\"cancelling\"}");
    } else if (strcmp(cmd, "status") == 0) {
        snprintf(msg, sizeof msg,
                 "{\"event\":\"status\",\"run_id\":%" PRId64 ",\"holder_pid\":%d,"
                 "\"job_pid\":%d,\"started_us\":%" PRId64 ",\"job_done\":%s}",
                 h->spec->run_id, (int)h->pid, (int)h->job, h->started_us,
                 h->job_done ? "true" : "false");
        client_send(h, i, msg);
    } else {
        client_send(h, i, "{\"event\":\"error\",\"error\":\"unknown command\"}");
    }
}

/* ---- the loop ---- */

static void holder_read_pipe(struct holder *h, int k)
{
    ssize_t n = read(h->pipe_fd[k], h->buf, sizeof h->buf);

    if (n > 0)
        exec_output_write(h->out, k ? EXEC_STDERR : EXEC_STDOUT, h->buf, (size_t)n);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(&h->pipe_fd[k]);
        /* the stream's end: what its secret filter holds back goes out */
        exec_output_flush(h->out, k ? EXEC_STDERR : EXEC_STDOUT);
    }
}

static void holder_signals(struct holder *h, int64_t now)
{
    struct signalfd_siginfo si;

    while (read(h->sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo == SIGTERM)
            h->cancel_asked = true;
    holder_reap(h, now);
}

static void holder_loop(struct holder *h)
{
    for (;;) {
        struct pollfd p[4 + CLIENTS_MAX];
        int64_t now = clock_us(CLOCK_MONOTONIC), wake;
        int timeout_ms, i;

        if (holder_step(h, now, &wake))
            return;
        timeout_ms = wake == INT64_MAX ? -1 : (int)min64((wake - now + 999) / 1000, 60000);
        p[0] = (struct pollfd){h->sig_fd, POLLIN, 0};
        p[1] = (struct pollfd){h->listen_fd, POLLIN, 0};
        p[2] = (struct pollfd){h->pipe_fd[0], POLLIN, 0};
        p[3] = (struct pollfd){h->pipe_fd[1], POLLIN, 0};
        for (i = 0; i < CLIENTS_MAX; i++)
            p[4 + i] = (struct pollfd){h->clients[i], POLLIN, 0};
        if (poll(p, 4 + CLIENTS_MAX, timeout_ms) < 0)
            continue; /* EINTR; nothing else is expected */
        now = clock_us(CLOCK_MONOTONIC);
        if (p[2].revents)
            holder_read_pipe(h, 0);
        if (p[3].revents)
            holder_read_pipe(h, 1);
        if (p[0].revents)
            holder_signals(h, now);
        if (p[1].revents)
            client_accept(h);
        for (i = 0; i < CLIENTS_MAX; i++)
            if (p[4 + i].revents && h->clients[i] >= 0)
                client_read(h, i);
    }
}

/* ---- the end ---- */

/* Writes the exit record at the end of the output file and tells the
 * connected clients; returns the record (JSON text for the spawner, NULL
 * when out of memory). Nothing is synced yet: holder_free(). */
static char *holder_finish(struct holder *h)
{
    struct exec_result r = {.exit_code = -1};
    struct err err = {0};
    json_t *msg = NULL, *rec;
    char *text = NULL, *record = NULL;
    int i;

    if (h->job_done && WIFEXITED(h->job_status))
        r.exit_code = WEXITSTATUS(h->job_status);
    else if (h->job_done && WIFSIGNALED(h->job_status))
        r.signal = WTERMSIG(h->job_status);
    /* everything the holder reaped: the job and all its descendants */
    r.cpu_user_ms = h->cpu_user_us / 1000;
    r.cpu_sys_ms = h->cpu_sys_us / 1000;
    r.max_rss_kb = h->max_rss_kb;
    if (h->cg) {
        int64_t peak = exec_cgroup_peak(h->cg);

        if (peak >= 0)
            r.max_rss_kb = peak / 1024;
        exec_cgroup_free(h->cg);
        h->cg = NULL;
    }
    r.output_bytes = h->out ? exec_output_total(h->out) : 0;
    r.started_us = h->started_us;
    r.finished_us = h->finished_us;
    r.job_pid = h->job > 0 ? h->job : 0;
    r.holder_pid = h->pid;
    r.timed_out = h->timed_out;
    r.cancelled = h->cancelled;
    snprintf(r.error, sizeof r.error, "%s", h->error);
    exec_record_outcome(&r);
    /* the record is in the file before anyone hears of the end: a daemon
     * that misses the message finds it at the end of the output file */
    rec = exec_record_to_json(&r);
    record = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    if (h->out && exec_output_finish(h->out, record, &err) < 0) {
        snprintf(r.error, sizeof r.error, "%s", err.msg);
        json_decref(rec);
        rec = exec_record_to_json(&r);
        free(record);
        record = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    }
    if (rec)
        msg = json_pack("{s:s, s:O}", "event", "exit", "record", rec);
    if (msg)
        text = json_dumps(msg, JSON_COMPACT);
    for (i = 0; i < CLIENTS_MAX; i++)
        if (h->clients[i] >= 0 && text)
            client_send(h, i, text);
    free(text);
    json_decref(msg);
    json_decref(rec);
    close_fd(&h->listen_fd);
    return record;
}

/* Says "F" (free) on CHAN, followed by RECORD when there is one: the
 * spawner hands it to the daemon, which commits it to its store. Only when
 * nobody took it (the spawner, so the daemon, is gone) does the record
 * have to last on its own: then the file and its name are synced, for the
 * next daemon to find even after the machine went down. Returns false when
 * the spawner is gone. */
static bool holder_free(struct holder *h, int chan, const char *record)
{
    size_t len = record ? strlen(record) : 0;
    struct iovec iov[2] = {{"F", 1}, {(void *)record, len}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    bool told = sendmsg(chan, &m, MSG_NOSIGNAL) >= 0;

    if (!told && h->out && record) {
        exec_output_sync(h->out);
        /* the file's name is durable only once its directory is */
        if (h->dirfd >= 0)
            fsync(h->dirfd);
    }
    return told;
}

/* Leaves nothing of H's run behind in the process: fds and memory. */
static void holder_clear(struct holder *h)
{
    int i;

    for (i = 0; i < CLIENTS_MAX; i++)
        close_fd(&h->clients[i]);
    close_fd(&h->listen_fd);
    close_fd(&h->pipe_fd[0]);
    close_fd(&h->pipe_fd[1]);
    close_fd(&h->exec_fd);
    close_fd(&h->dirfd);
    close_fd(&h->child.workdir_fd);
    exec_child_release(&h->child);
    exec_output_free(h->out);
    exec_cgroup_free(h->cg);
    free(h);
}

/* One run: REQ is the spawner's request (a tag, then the spec as JSON).
 * Returns false when the spawner is gone. */
static bool holder_run(const char *req, size_t len, const char *cgroup_parent, int chan, int sig_fd)
{
    struct holder *h = calloc(1, sizeof *h);
    char *record = NULL;
    bool told;
    struct signalfd_siginfo si;
    struct exec_spec *spec = NULL;
    char why[EXEC_ERROR_MAX];
    struct err err = {0};
    json_t *doc;
    int i;

    if (!h)
        _exit(1);
    h->cgroup_parent = cgroup_parent;
    h->report_fd = chan;
    h->sig_fd = sig_fd;
    h->pid = getpid();
    h->dirfd = h->listen_fd = h->exec_fd = -1;
    h->pipe_fd[0] = h->pipe_fd[1] = -1;
    h->child.workdir_fd = -1;
    for (i = 0; i < CLIENTS_MAX; i++)
        h->clients[i] = -1;
    /* a SIGTERM that came while idle was for no run of ours */
    while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
        ;
    if (len >= sizeof h->tag)
        memcpy(&h->tag, req, sizeof h->tag);
    doc = len >= sizeof h->tag
              ? json_loadb(req + sizeof h->tag, len - sizeof h->tag, JSON_REJECT_DUPLICATES, NULL)
              : NULL;
    if (exec_spec_from_json(doc, &spec, &err) < 0) {
        snprintf(h->error, sizeof h->error, "%.31s%s%.200s", err.field, err.field[0] ? ": " : "",
                 err.msg);
        holder_report(h);
        goto done;
    }
    h->spec = h->child.spec = spec;
    if (holder_setup(h, &err) < 0) {
        /* the record first: a daemon that restarts between the two finds
         * it, not a run that looks lost */
        set_error(h, err.msg);
        h->job = 0;
        if (h->dirfd >= 0)
            record = holder_finish(h);
        holder_report(h);
        goto done;
    }
    holder_report(h);
    if (exec_child_wait_exec(&h->child, h->exec_fd, why, sizeof why) < 0)
        set_error(h, why);
    close_fd(&h->exec_fd);
    holder_loop(h);
    record = holder_finish(h);
done:
    told = holder_free(h, chan, record);
    free(record);
    holder_clear(h);
    exec_spec_free(spec);
    json_decref(doc);
    return told;
}

void exec_holder_main(const char *cgroup_parent, int chan)
{
    char *req = malloc(EXEC_REQUEST_MAX + 1);
    int sig_fd = holder_detach(chan);

    if (!req)
        _exit(1);
    for (;;) {
        ssize_t n = recv(chan, req, EXEC_REQUEST_MAX + 1, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || n > EXEC_REQUEST_MAX)
            _exit(0); /* the spawner is gone, or wants us gone */
        /* free for the next run; a spawner that is gone ends us */
        if (!holder_run(req, (size_t)n, cgroup_parent ? cgroup_parent : "", chan, sig_fd))
            _exit(0);
    }
}
