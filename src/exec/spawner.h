/* spawner.h: the small process that keeps the pool of run holders.
 *
 * exec_spawner_start() forks it once, early, while the daemon is small and
 * has no threads: forking a large daemon is slow (bench/README.md), and a holder
 * forked from it would carry its memory. The spawner keeps nothing but its
 * end of a SOCK_SEQPACKET socketpair (and fds 0-2, on /dev/null), sits in a
 * session of its own, and passes each start request to an idle holder
 * (forking one when none is idle), with replies in any order:
 *
 *     request  <tag: 8 bytes> {...exec_spec_to_json()...}
 *     reply    {"tag": N, "holder_pid": P, "job_pid": J, "started_us": T}
 *              {"tag": N, "error": "why"}
 *
 * Holders are its children with SIGCHLD ignored, so the kernel reaps them.
 * The spawner exits when the daemon's end closes; busy holders live on to
 * the end of their run, idle ones exit (holder.h). A spawner that dies
 * (killed, out of memory) is restarted by exec.c with a backoff. */
#ifndef CHIME_EXEC_SPAWNER_H
#define CHIME_EXEC_SPAWNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct err;
struct exec_spawner;

struct exec_spawner_options {
    const char *cgroup; /* parent of the runs' cgroups: a cgroup v2 path,
                         * "auto" (the caller's own, if writable), "" none;
                         * NULL: $CHIME_CGROUP, else none */
    bool keep_stderr;   /* spawner and holders keep fd 2 (tests, debugging) */
};

/* Forks the spawner. Call it before any thread exists. OPT may be NULL.
 * Returns an owned spawner. */
int exec_spawner_start(const struct exec_spawner_options *opt, struct exec_spawner **ret,
                       struct err *err);
/* Closes the daemon's end and waits for the spawner to exit (it does at once,
 * or after the start it is busy with). Running holders are not touched. */
void exec_spawner_free(struct exec_spawner *sp);

/* A spawner that died is forked again (exec.c, after exec_spawner_backoff()):
 * the old one is killed to be sure and reaped, and SP gets a new process
 * and socket (exec_spawner_fd() changes); tags go on. Holders of live
 * runs are not the spawner's to lose: they carry on and are followed
 * through their own sockets. */
int exec_spawner_restart(struct exec_spawner *sp, struct err *err);
/* How long the current spawner process has lived. */
int64_t exec_spawner_alive_us(const struct exec_spawner *sp);

#define EXEC_SPAWNER_BACKOFF_MIN_US 100000     /* the wait after a spawner that died young */
#define EXEC_SPAWNER_BACKOFF_MAX_US 30000000   /* the longest wait between restarts */
#define EXEC_SPAWNER_STABLE_US      60000000   /* a spawner that lived this long: no wait */

/* The wait before restarting a spawner that died after living ALIVE_US,
 * given *DELAY_US, the wait before the last restart (0 at first): none
 * after a spawner that lived EXEC_SPAWNER_STABLE_US; else the last wait
 * doubled, from EXEC_SPAWNER_BACKOFF_MIN_US up to _MAX_US, so one that
 * dies at once again never spins. Updates *DELAY_US and returns it. */
int64_t exec_spawner_backoff(int64_t *delay_us, int64_t alive_us);

/* The daemon's end of the socketpair (non-blocking), for exec.c. */
int exec_spawner_fd(const struct exec_spawner *sp);
/* A request tag never used before on this spawner. */
uint64_t exec_spawner_tag(struct exec_spawner *sp);
pid_t exec_spawner_pid(const struct exec_spawner *sp);
/* The resolved cgroup parent, "" for none. */
const char *exec_spawner_cgroup(const struct exec_spawner *sp);

#endif
