/* exec.h: running jobs as supervised processes, from the daemon's loop.
 *
 * Every run has a holder process (holder.c) that owns the job's pipes,
 * writes its output file, enforces its timeout and limits and, when the job
 * ends, its exit record. Holders are forked by the spawner (spawner.h), a
 * small process forked once at start-up, so the daemon never forks itself
 * and runs outlive it: a restarted daemon calls exec_attach() with each run
 * directory to learn how the runs ended or to follow the ones still going.
 * The process tree, the output file and formats are in docs/exec.md.
 *
 * Everything here runs on one libuv loop and never blocks it. A struct exec
 * and its runs belong to the loop's thread. */
#ifndef CHIME_EXEC_H
#define CHIME_EXEC_H

#include <stdbool.h>
#include <stdint.h>

struct err;
struct exec;
struct exec_run;
struct exec_spawner;
typedef struct uv_loop_s uv_loop_t;

#define EXEC_REQUEST_MAX 196608 /* bytes of one encoded start request (192 KiB) */
#define EXEC_ERROR_MAX   256    /* bytes of an error text, with the NUL */

struct exec_limits {
    int64_t memory;      /* bytes of address space (and cgroup memory.max); 0: none */
    int64_t cpu_time_us; /* CPU time, rounded up to whole seconds; 0: none */
    int64_t processes;   /* RLIMIT_NPROC (per user!) and cgroup pids.max; 0: none */
    int64_t open_files;  /* RLIMIT_NOFILE; 0: inherited */
};

#define EXEC_GROUPS_MAX 32 /* supplementary groups of a job user */

/* Whom the job runs as (docs/security.md). uid 0 (a zeroed identity): as
 * the holder, unchanged: a daemon that is not root, or a namespace the
 * operator lets run as root. Otherwise the job gets exactly these ids, no
 * capability and no_new_privs, in a mount namespace of its own. */
struct exec_identity {
    int64_t uid; /* 0: the holder's own; else 1 .. 2^31-2 */
    int64_t gid;
    int n_groups; /* supplementary groups; 0: none (setgroups to none) */
    int64_t groups[EXEC_GROUPS_MAX];
};

/* What the job's mount namespace gets, as the kernel allowed at start-up
 * (exec_sandbox_probe()); only for a job with an identity. */
enum {
    EXEC_SANDBOX_TMP = 1,  /* a private tmpfs on /tmp */
    EXEC_SANDBOX_PROC = 2, /* its own /proc with hidepid=invisible */
};

/* What to run. Everything is borrowed for the duration of exec_start(). */
struct exec_spec {
    int64_t run_id;           /* names the cgroup: run-<id> */
    char *const *argv;        /* NULL-terminated, run without a shell; or NULL */
    const char *shell;        /* run by /bin/sh -c; or NULL (exactly one is set) */
    char *const *env;         /* "KEY=VALUE", NULL-terminated; the job's whole
                               * environment, PATH added when missing; may be NULL */
    const char *workdir_root; /* absolute: the namespace's root directory */
    const char *workdir;      /* relative, resolved beneath the root; NULL: the root */
    struct exec_limits limits;
    int64_t output_max;    /* bytes of output kept; 0: all */
    int64_t timeout_us;    /* 0: none */
    int64_t start_at_us;   /* CLOCK_REALTIME: the job starts then, not before (the
                            * holder is set up early and waits); 0: at once */
    int64_t kill_grace_us; /* SIGTERM to SIGKILL; 0: SIGKILL at once */
    const char *output;    /* absolute path of the run's output file; created
                            * by the holder, so it must not exist; its
                            * directory must */
    char *const *secrets;  /* values replaced by "[redacted]" in the output
                            * (the job's secret env values), NULL-terminated;
                            * may be NULL */
    struct exec_identity user; /* zeroed: the holder's own user */
    unsigned sandbox;          /* EXEC_SANDBOX_*, with a user only */
};

/* How a run ended. */
enum exec_outcome {
    EXEC_EXITED,    /* exit_code is set (nonzero may carry an error:
                     * 127 and "exec ..." when the command was not run) */
    EXEC_SIGNALED,  /* signal is set */
    EXEC_TIMED_OUT, /* killed for its timeout; signal says which */
    EXEC_CANCELLED, /* killed on request; signal says which */
    EXEC_FAILED,    /* never started; error says why */
    EXEC_LOST,      /* its holder is gone and left no exit record */
};

/* Why a run is EXEC_LOST: decided from the facts (when its output was last
 * written, against when the machine booted), never from an error's text. */
enum exec_lost {
    EXEC_LOST_NOT,     /* the run is not lost */
    EXEC_LOST_HOLDER,  /* its holder died or was killed since the machine booted */
    EXEC_LOST_MACHINE, /* the machine went down while it ran: its output predates the boot */
    EXEC_LOST_RECORD,  /* its exit record could not be read or made no sense; error says why */
};

struct exec_result {
    enum exec_outcome outcome;
    enum exec_lost lost; /* EXEC_LOST only */
    int exit_code; /* -1: none */
    int signal;    /* 0: none */
    bool timed_out;
    bool cancelled;
    int64_t cpu_user_ms; /* the job and all its descendants */
    int64_t cpu_sys_ms;
    int64_t max_rss_kb;   /* the largest process, or the cgroup's peak */
    int64_t output_bytes; /* everything written, kept or not */
    int64_t started_us;   /* CLOCK_REALTIME; 0: unknown */
    int64_t finished_us;  /* when the job's main process ended; 0: unknown */
    int job_pid;          /* 0: unknown */
    int holder_pid;
    char error[EXEC_ERROR_MAX]; /* "": none */
};

/* A live run, as its holder reports it. */
struct exec_status {
    int64_t run_id;
    int holder_pid;
    int job_pid;        /* the job's process group and session too */
    int64_t started_us; /* CLOCK_REALTIME */
};

/* ON_STARTED is called at most once per run, when it is known to be running;
 * ON_EXIT exactly once (unless exec_free() comes first), after which the run
 * handle is freed. Both borrow what they are given. */
struct exec_callbacks {
    void (*on_started)(struct exec_run *run, const struct exec_status *st, void *data);
    void (*on_exit)(struct exec_run *run, const struct exec_result *res, void *data);
    void *data;
};

/* A new runner on LOOP, sending starts to SPAWNER (borrowed; it must outlive
 * the runner). Returns an owned struct exec. */
int exec_new(uv_loop_t *loop, struct exec_spawner *spawner, struct exec **ret, struct err *err);
/* Drops every run without calling back (the holders carry on: attach to
 * them again) and frees E once its handles have closed on the loop. */
void exec_free(struct exec *e);

/* Why the spawner is down (it died; it is restarted after a backoff, and
 * starts wait for it), or NULL while it is up. Borrowed, until the next
 * call on E. */
const char *exec_down(const struct exec *e);

/* Asks the spawner to start SPEC. A spec that cannot be sent (bad fields)
 * is an error here; while the spawner is down, the start waits for the
 * next one; a run that cannot start (workdir outside
 * its root, set-up failure) calls on_exit with EXEC_FAILED. Returns a run
 * handle owned by E, valid until on_exit returns. */
int exec_start(struct exec *e, const struct exec_spec *spec, const struct exec_callbacks *cb,
               struct exec_run **ret, struct err *err);

/* Follows the run whose output file is OUTPUT (after a restart): a live
 * holder gives on_started then on_exit; a finished run gives on_exit from
 * its exit record; a holder gone without a record gives EXEC_LOST. */
int exec_attach(struct exec *e, const char *output, const struct exec_callbacks *cb,
                struct exec_run **ret, struct err *err);

/* Asks the holder to end the run: SIGTERM to its process group, SIGKILL
 * after the kill grace; on_exit follows with EXEC_CANCELLED. Does nothing
 * once the run has ended. */
void exec_cancel(struct exec_run *run);

/* The output file of RUN (borrowed, valid as long as RUN). */
const char *exec_run_output(const struct exec_run *run);

/* "exited", "signaled", "timed-out", "cancelled", "failed", "lost". */
const char *exec_outcome_name(enum exec_outcome o);

#endif
