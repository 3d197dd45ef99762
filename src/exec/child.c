/* child.c: from the holder's fork to the job's execve().
 *
 * After fork() the child of a holder may only make system calls: no stdio,
 * no malloc, no locks (the holder is single-threaded, but the habit keeps
 * the code safe if that ever changes). Each step that fails reports its
 * stage and errno through the close-on-exec report pipe and exits 127, the
 * shell's "command not run". */
#include "exec/child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exec/cgroup.h"
#include "exec/exec.h"
#include "exec/sandbox.h"
#include "util/err.h"
#include "../banned.h"

#define DEFAULT_PATH   "/usr/local/bin:/usr/bin:/bin"
#define WALK_DEPTH_MAX 256 /* directories deep, for the walk */

enum stage {
    STAGE_SETSID,
    STAGE_CGROUP,
    STAGE_STDIO,
    STAGE_WORKDIR,
    STAGE_RLIMIT,
    /* exec_sandbox_enter()'s steps, in order */
    STAGE_MOUNTS,
    STAGE_PRIVS,
    STAGE_IDS,
    STAGE_EXEC
};

static const char *const stage_names[] = {
    [STAGE_SETSID] = "setsid",   [STAGE_CGROUP] = "cgroup join", [STAGE_STDIO] = "stdio",
    [STAGE_WORKDIR] = "workdir", [STAGE_RLIMIT] = "setrlimit",   [STAGE_MOUNTS] = "sandbox mounts",
    [STAGE_PRIVS] = "dropping capabilities", [STAGE_IDS] = "switching to the job user",
    [STAGE_EXEC] = "exec",
};
_Static_assert(STAGE_MOUNTS + EXEC_SANDBOX_STEP_IDS == STAGE_IDS, "the sandbox's steps in order");

struct report {
    int stage; /* enum stage */
    int error; /* errno */
};

pid_t exec_child_fork(void)
{
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
    return _Fork();
#else
    return fork();
#endif
}

/* ---- the workdir, in the holder before the fork ---- */

static int workdir_error(const char *rel, int e, struct err *err)
{
    char q[80];

    err_quote(rel, SIZE_MAX, q, sizeof q);
    if (e == EXDEV || e == ELOOP)
        return err_set(err, CHIME_EINVAL, "workdir",
                       "'%s' leaves the namespace root (through '..', a symlink or an "
                       "absolute path)",
                       q);
    if (e == ENOENT)
        return err_set(err, CHIME_ENOTFOUND, "workdir", "'%s' does not exist", q);
    if (e == ENOTDIR)
        return err_set(err, CHIME_EINVAL, "workdir", "'%s' is not a directory", q);
    return err_set(err, CHIME_EIO, "workdir", "'%s' cannot be opened: %s", q, strerror(e));
}

static int open_root(const char *root, struct err *err)
{
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    char q[80];

    if (fd < 0)
        return err_set(err, CHIME_EIO, "workdir_root", "'%s' cannot be opened: %s",
                       err_quote(root, SIZE_MAX, q, sizeof q), strerror(errno));
    return fd;
}

int exec_child_workdir_walk(const char *root, const char *rel, int *ret_fd, struct err *err)
{
    /* the directories walked so far, the root first: ".." closes the last
     * one, which is exact because no symlink was followed to get there */
    int stack[WALK_DEPTH_MAX], depth = 0, e = 0;
    const char *p = rel ? rel : "";

    stack[0] = open_root(root, err);
    if (stack[0] < 0)
        return stack[0];
    depth = 1;
    if (p[0] == '/')
        e = EXDEV;
    while (!e && *p) {
        char name[NAME_MAX + 1];
        size_t n = strcspn(p, "/");
        struct stat st;
        int next;

        if (n > NAME_MAX) {
            e = ENAMETOOLONG;
            break;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        p += n;
        while (*p == '/')
            p++;
        if (n == 0 || strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            if (depth == 1)
                e = EXDEV; /* above the root */
            else
                close(stack[--depth]);
            continue;
        }
        if (depth == WALK_DEPTH_MAX) {
            e = ENAMETOOLONG;
            break;
        }
        /* no symlink at all, inside or out: the walk cannot tell */
        if (fstatat(stack[depth - 1], name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
            e = EXDEV;
            break;
        }
        next = openat(stack[depth - 1], name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            e = errno;
        else
            stack[depth++] = next;
    }
    if (!e)
        *ret_fd = stack[--depth];
    while (depth > 0)
        close(stack[--depth]);
    return e ? workdir_error(rel, e, err) : 0;
}

int exec_child_workdir_open(const char *root, const char *rel, int *ret_fd, struct err *err)
{
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    int rootfd, fd = -1, tries;

    if (!rel || !rel[0])
        rel = ".";
    rootfd = open_root(root, err);
    if (rootfd < 0)
        return rootfd;
    /* EAGAIN: a rename raced the lookup, which RESOLVE_BENEATH refuses to
     * guess about; a few tries settle it */
    for (tries = 0; tries < 8; tries++) {
        fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    if (fd < 0 && errno == ENOSYS) {
        close(rootfd);
        return exec_child_workdir_walk(root, rel, ret_fd, err);
    }
    if (fd < 0) {
        int e = errno;

        close(rootfd);
        return workdir_error(rel, e, err);
    }
    close(rootfd);
    *ret_fd = fd;
    return 0;
}

int exec_child_workdir_own(const char *root, const struct exec_identity *user, struct err *err)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    char q[80];

    if (fd < 0 || fchown(fd, (uid_t)user->uid, (gid_t)user->gid) < 0 || fchmod(fd, 0700) < 0) {
        int e = errno;

        if (fd >= 0)
            close(fd);
        return err_set(err, CHIME_EIO, "workdir_root", "'%s' cannot be given to uid %lld: %s",
                       err_quote(root, SIZE_MAX, q, sizeof q), (long long)user->uid, strerror(e));
    }
    close(fd);
    return 0;
}

/* ---- the environment ---- */

int exec_child_prepare(struct exec_child *c, struct err *err)
{
    char *const *env = c->spec->env;
    size_t n = 0, i;

    while (env && env[n])
        n++;
    c->envp = calloc(n + 2, sizeof *c->envp);
    if (!c->envp)
        return err_set(err, CHIME_ENOMEM, "env", "out of memory");
    c->path = NULL;
    for (i = 0; i < n; i++) {
        c->envp[i] = env[i];
        if (strncmp(env[i], "PATH=", 5) == 0)
            c->path = env[i] + 5;
    }
    if (!c->path) {
        c->envp[n] = (char *)"PATH=" DEFAULT_PATH;
        c->path = DEFAULT_PATH;
    }
    return 0;
}

void exec_child_release(struct exec_child *c)
{
    free(c->envp);
    c->envp = NULL;
}

/* ---- in the child ---- */

static void fail(const struct exec_child *c, enum stage stage, int e)
{
    struct report r = {stage, e};
    ssize_t n;

    do
        n = write(c->report_fd, &r, sizeof r);
    while (n < 0 && errno == EINTR);
    _exit(127);
}

static void set_limit(const struct exec_child *c, int resource, int64_t soft, int64_t hard)
{
    struct rlimit rl = {(rlim_t)soft, (rlim_t)hard};

    if (setrlimit(resource, &rl) < 0)
        fail(c, STAGE_RLIMIT, errno);
}

/* execve of argv[0] searched in the job's PATH, as execvp would do with
 * the job's environment instead of ours */
static int exec_search(const struct exec_child *c, char *const *argv)
{
    const char *p = c->path;
    bool denied = false;
    int e = ENOENT;

    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, c->envp);
        return errno;
    }
    for (;;) {
        char file[PATH_MAX];
        size_t dir = strcspn(p, ":"), name = strlen(argv[0]);

        if (dir + 1 + name < sizeof file) {
            memcpy(file, dir ? p : ".", dir ? dir : 1);
            file[dir ? dir : 1] = '/';
            memcpy(file + (dir ? dir : 1) + 1, argv[0], name + 1);
            execve(file, argv, c->envp);
            e = errno;
            if (e == EACCES)
                denied = true;
            else if (e != ENOENT && e != ENOTDIR && e != ENAMETOOLONG)
                return e;
        }
        if (!p[dir])
            break;
        p += dir + 1;
    }
    return denied ? EACCES : e;
}

void exec_child_run(const struct exec_child *c)
{
    const struct exec_spec *s = c->spec;
    char *const sh[] = {(char *)"sh", (char *)"-c", (char *)s->shell, NULL};
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;
    int sig, e;

    if (setsid() < 0)
        fail(c, STAGE_SETSID, errno);
    /* a holder that dies (kill -9) takes the job's main process with it:
     * nobody would collect its output or its exit any more */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != c->holder)
        _exit(127);
    if (c->cgroup_fd >= 0 && (e = exec_cgroup_join(c->cgroup_fd)) < 0)
        fail(c, STAGE_CGROUP, -e);
    /* the holder ignores SIGPIPE and SIGHUP and blocks SIGCHLD and SIGTERM;
     * the job starts from the defaults */
    for (sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(c->stdin_fd, 0) < 0 || dup2(c->stdout_fd, 1) < 0 || dup2(c->stderr_fd, 2) < 0)
        fail(c, STAGE_STDIO, errno);
    if (fchdir(c->workdir_fd) < 0)
        fail(c, STAGE_WORKDIR, errno);
    /* nothing of the holder's but 0-2 crosses the exec */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (e = 3; e < 1024; e++)
            if (e != c->report_fd)
                close(e);
    if (s->limits.memory > 0)
        set_limit(c, RLIMIT_AS, s->limits.memory, s->limits.memory);
    if (s->limits.cpu_time_us > 0) {
        int64_t secs = (s->limits.cpu_time_us + 999999) / 1000000;

        /* SIGXCPU at the limit, SIGKILL a second later if it is caught */
        set_limit(c, RLIMIT_CPU, secs, secs + 1);
    }
    if (s->limits.processes > 0)
        set_limit(c, RLIMIT_NPROC, s->limits.processes, s->limits.processes);
    if (s->limits.open_files > 0)
        set_limit(c, RLIMIT_NOFILE, s->limits.open_files, s->limits.open_files);
    /* the daemon's umask keeps its own files private; a job starts from
     * the usual one */
    umask(022);
    if (s->user.uid > 0) {
        int step = 0;

        if ((e = exec_sandbox_enter(s, c->cap_last, &step)) < 0)
            fail(c, (enum stage)(STAGE_MOUNTS + step), -e);
    }
    if (s->shell) {
        execve("/bin/sh", sh, c->envp);
        e = errno;
    } else {
        e = exec_search(c, s->argv);
    }
    fail(c, STAGE_EXEC, e);
    _exit(127);
}

/* vfork: the child only makes system calls until execve(), and copying the
 * holder's mappings (every library of the daemon's) would cost more than
 * the rest of a run's set-up together. The child never returns from here
 * (exec_child_run() does not return), which is what makes vfork safe, and
 * no handler can run in it: the holder installs none (its signals are
 * ignored or blocked, and the child resets them before unblocking). */
__attribute__((noinline)) pid_t exec_child_spawn(const struct exec_child *c)
{
    /* the analyzer's objections (posix_spawn instead; no calls after
     * vfork) are answered above: posix_spawn cannot do setsid, cgroup
     * join, fchdir to an fd and the rlimits, and the calls are syscalls */
    pid_t pid = vfork(); // NOLINT(clang-analyzer-security.insecureAPI.vfork)

    if (pid == 0)
        exec_child_run(c); // NOLINT(clang-analyzer-unix.Vfork)
    return pid;
}

int exec_child_wait_exec(const struct exec_child *c, int read_fd, char *buf, size_t len)
{
    struct report r;
    ssize_t n;
    char q[80];

    do
        n = read(read_fd, &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof r)
        return 0;
    if (r.stage < 0 || r.stage > STAGE_EXEC)
        r.stage = STAGE_EXEC;
    if (r.stage == STAGE_EXEC)
        snprintf(buf, len, "exec '%s': %s",
                 err_quote(c->spec->shell ? "/bin/sh" : c->spec->argv[0], SIZE_MAX, q, sizeof q),
                 strerror(r.error));
    else
        snprintf(buf, len, "%s: %s", stage_names[r.stage], strerror(r.error));
    return -1;
}
