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
 * the end of their run, idle ones exit (holder.h). */
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

/* The daemon's end of the socketpair (non-blocking), for exec.c. */
int exec_spawner_fd(const struct exec_spawner *sp);
/* A request tag never used before on this spawner. */
uint64_t exec_spawner_tag(struct exec_spawner *sp);
pid_t exec_spawner_pid(const struct exec_spawner *sp);
/* The resolved cgroup parent, "" for none. */
const char *exec_spawner_cgroup(const struct exec_spawner *sp);

#endif
