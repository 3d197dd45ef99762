/* cgroup.h: a cgroup v2 per run, where chime has one delegated to it.
 *
 * Under a parent the daemon may write to, a run gets "run-<id>" with the
 * run's memory.max (and memory.swap.max 0) and pids.max where those
 * controllers are enabled; its job joins it before exec, so every process it
 * ever forks is counted, and the run's end kills the lot with cgroup.kill.
 * Without a parent nothing here is used and setrlimit plus the /proc walk
 * (tree.h) stand in. Holder-side code: it blocks on cgroupfs. */
#ifndef CHIME_EXEC_CGROUP_H
#define CHIME_EXEC_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct exec_cgroup;
struct exec_limits;

/* Resolves the configured parent WANT into BUF (LEN bytes): a path to a
 * cgroup v2 directory; "auto" for the caller's own cgroup when it may write
 * there; NULL or "" for none (BUF becomes ""). An explicit path that is not
 * a writable cgroup v2 directory is an error; "auto" without one is not. */
int exec_cgroup_parent(const char *want, char *buf, size_t len, struct err *err);

/* Creates PARENT/run-<RUN_ID> with LIMITS. Returns an owned cgroup. */
int exec_cgroup_new(const char *parent, int64_t run_id, const struct exec_limits *limits,
                    struct exec_cgroup **ret, struct err *err);
/* An fd open for writing on its cgroup.procs, for exec_cgroup_join(). */
int exec_cgroup_procs_fd(const struct exec_cgroup *cg);
/* Moves the calling process into the cgroup of PROCS_FD. Async-signal-safe:
 * for the job's child between fork and exec. Returns 0 or -errno. */
int exec_cgroup_join(int procs_fd);
/* Whether any process is left in it. */
bool exec_cgroup_populated(const struct exec_cgroup *cg);
/* Sends SIG to every member; SIGKILL goes through cgroup.kill where the
 * kernel has it. Returns how many members were signalled (1 for cgroup.kill). */
int exec_cgroup_signal(const struct exec_cgroup *cg, int sig);
/* The cgroup's peak memory in bytes (memory.peak), or -1 when unknown. */
int64_t exec_cgroup_peak(const struct exec_cgroup *cg);
/* Removes the (empty) cgroup and frees CG. */
void exec_cgroup_free(struct exec_cgroup *cg);

#endif
