/* child.h: the job's side of the holder's fork, up to execve().
 *
 * Everything that can fail for a reason worth telling (workdir, environment)
 * is prepared by the holder before the fork; the child only makes system
 * calls on what it is handed, and reports a failure as (stage, errno)
 * through a close-on-exec pipe, so "the pipe closed empty" means exec worked. */
#ifndef CHIME_EXEC_CHILD_H
#define CHIME_EXEC_CHILD_H

#include <stddef.h>
#include <sys/types.h>

struct err;
struct exec_identity;
struct exec_spec;

struct exec_child {
    const struct exec_spec *spec;
    char **envp;      /* owned: the job's environment, PATH included */
    const char *path; /* the PATH searched for argv[0], inside envp */
    int stdin_fd;     /* /dev/null */
    int stdout_fd;    /* the write ends of the holder's pipes */
    int stderr_fd;
    int workdir_fd; /* from exec_child_workdir_open() */
    int cgroup_fd;  /* cgroup.procs to join; -1: none */
    int report_fd;  /* close-on-exec pipe to the holder */
    pid_t holder;   /* the parent, for PR_SET_PDEATHSIG */
    int cap_last;   /* exec_sandbox_cap_last(), for a job with a user */
};

/* fork() without the pthread_atfork handlers, for the single-threaded
 * spawner and holder. Libraries register handlers that are wrong in them:
 * libuv's closes the fds its signal pipe had in the daemon and opens new
 * ones, and in a spawner those fd numbers are someone else's (the holder's
 * report pipe, the job's stdout). glibc's _Fork(), else fork(). */
pid_t exec_child_fork(void);

/* Opens ROOT/REL (REL NULL or "": ROOT) as a directory without leaving ROOT:
 * openat2() with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, or, where the
 * kernel lacks it, a walk one component at a time that refuses ".." and
 * every symlink. Errors name the workdir and say why. */
int exec_child_workdir_open(const char *root, const char *rel, int *ret_fd, struct err *err);
/* The same walk as the fallback, always (for its tests). */
int exec_child_workdir_walk(const char *root, const char *rel, int *ret_fd, struct err *err);

/* Gives the namespace root ROOT to USER (a job with a user: spec.user.uid
 * > 0), mode 0700: its jobs own it, no other job user can enter it. ROOT
 * itself must not be a symlink. */
int exec_child_workdir_own(const char *root, const struct exec_identity *user, struct err *err);

/* Builds c->envp and c->path from c->spec. */
int exec_child_prepare(struct exec_child *c, struct err *err);
void exec_child_release(struct exec_child *c);

/* Starts the job: a vfork()ed child that runs exec_child_run(C). Returns its
 * pid, or -1 with errno. */
pid_t exec_child_spawn(const struct exec_child *c);

/* In the forked child: new session, limits, fds, workdir, then exec. Never
 * returns; exits 127 after reporting a failure. */
void exec_child_run(const struct exec_child *c) __attribute__((noreturn));

/* In the holder: reads the report pipe READ_FD of the child C until it
 * closes. Returns 0 when the exec happened, else -1 with what failed in BUF. */
int exec_child_wait_exec(const struct exec_child *c, int read_fd, char *buf, size_t len);

#endif
