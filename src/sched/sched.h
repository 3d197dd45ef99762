/* sched.h: the engine: which job fires when, and what becomes of each run.
 *
 * The engine owns the jobs' schedules, the timers of their next fires and
 * retries, the queue of runs waiting for a slot, and every policy of
 * docs/design.md (concurrency, the global limit with priorities, misfire and
 * catch-up, retries with backoff, dead letters, disable after failures,
 * `after` dependencies). It never reads a clock, never blocks and does no
 * I/O: time comes in as arguments (sched_tick(now)), and everything it
 * wants done goes out through struct sched_ops (record a run durably, start
 * or cancel a process, persist a state). The daemon wires those to the
 * store and the runner on its loop; tests wire them to fakes and drive time.
 *
 * Single-threaded: call it from one thread (the loop's). */
#ifndef CHIME_SCHED_H
#define CHIME_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job/job.h"
#include "store/vocab.h"

struct sched;
struct sched_job;
struct err;
struct tz;

/* A run's state and reason are the store's enums (store/vocab.h): the
 * engine hands them to the store as they are. */

/* One run as the engine tracks it, from its fire until the store has its
 * final state. Borrowed by the ops; the engine frees it after its final
 * update. */
struct sched_run {
    int64_t id;                 /* the store's id; 0 until recorded */
    const struct job *job;      /* the job version it runs, without its body: the
                                   host reads the document by job_key and job_version */
    int64_t job_key;            /* the KEY its job was put with (the store's job id) */
    int64_t job_version;        /* the VERSION its job was put with */
    void *user;                 /* the host's: its process handle, a waiter */
    struct sched_run *host_next; /* the host's: a list of its own (runs it reports late) */
    int64_t fire_us;
    int attempt;                /* 1, 2, ... */
    enum store_reason reason;
    enum store_run_state state;
    int priority;
    int64_t queued_us, started_us, finished_us;
    int64_t start_at_us;        /* start the process at this instant, not before; 0: at once */
    int pid;
    int holder_pid;             /* set by the host */
    int64_t cpu_user_ms, cpu_sys_ms, max_rss_kb, output_bytes;  /* the host's; -1: unknown */
    int exit_code;              /* -1: none */
    int signal;                 /* 0: none */
    const char *error;          /* static text or NULL */
    const char *params;         /* manual trigger: its params, JSON object text, owned; or NULL */
    const char *triggered_by;   /* manual trigger: who, owned; or NULL */
    /* engine bookkeeping */
    struct sched_job *owner;
    void *ver;                  /* the job version it holds alive */
    size_t pos;                 /* index in the run queue or the retry timers */
    int64_t due_us;             /* retry: when it is due */
    uint64_t seq;               /* FIFO among equals */
    bool recorded;
    bool cancel_requested;
    /* set at the end of a fire's last attempt that failed: its final
     * update is also its dead letter */
    bool dead_letter;
    bool final_record;          /* engine: a final record in flight, held by its job */
    bool waiting;               /* concurrency queue: waits for the job's active run */
    struct sched_run *next, *prev; /* the engine's list of live runs */
};

/* What the runner reports when a run's process is over. */
struct sched_result {
    int exit_code;              /* -1 when killed by a signal */
    int signal;
    bool timed_out;
    bool cancelled;
    bool lost;                  /* the holder is gone and left no record */
    const char *error;
};

struct sched_ops {
    void *ctx;
    /* Record R durably (a new run, in any state), then call
     * sched_run_recorded(), or sched_run_record_failed() when the store
     * could not write it. A duplicate (job, fire, attempt) reports id 0. */
    void (*record)(void *ctx, struct sched_run *r);
    /* Persist R's new state; for a final state the engine frees R after.
     * A final R with dead_letter set failed its fire's last attempt: the
     * host writes its dead letter from this final state. */
    void (*update)(void *ctx, const struct sched_run *r);
    /* Start R's process; report sched_run_started() and sched_run_exited(). */
    void (*start)(void *ctx, struct sched_run *r);
    /* End R's process tree (it then exits with result.cancelled). */
    void (*cancel)(void *ctx, struct sched_run *r);
    /* The job's durable state changed. */
    void (*job_state)(void *ctx, const struct job *j, int64_t key, bool paused, int failures,
                      int64_t last_fire_us);
    /* EVENT happened to job J, about run R (NULL for "disabled"); may be NULL. */
    void (*notify)(void *ctx, const struct job *j, const struct sched_run *r,
                   enum job_notify_event event);
    /* A uniform random 64-bit value (jitter). */
    uint64_t (*random)(void *ctx);
    /* The engine took J, with its body (the document's members that
     * scheduling does not need), as version VERSION of the job with KEY,
     * and drops the body once this returns: what the host wants of it
     * (the job's plan, for the store) it takes now. Not called for a job
     * without a body (one made from a plan). May be NULL. */
    void (*job_put)(void *ctx, const struct job *j, int64_t key, int64_t version);
};

struct sched_config {
    int max_concurrent;             /* runs at once; 0: 64 */
    const struct tz *default_zone;  /* for cron jobs without a zone */
    /* Handle a scheduled fire up to this long before its instant, so that
     * its record is committed and its holder set up in time: the run then
     * gets start_at_us, and the host starts its process no earlier. Only a
     * job with no live run is handled early (its concurrency policy cannot
     * change its mind by the instant). 0: at the instant. */
    int64_t lead_us;
};

/* Counters for health and metrics. */
struct sched_stats {
    int64_t fires, missed, skipped, retries, dead_letters;
    int64_t record_failures;    /* records the store could not write */
    int running, queued;
};

int sched_new(const struct sched_ops *ops, const struct sched_config *cfg,
              struct sched **ret);
void sched_free(struct sched *s);

/* Adds J or replaces the job of the same id; takes J (also on failure)
 * and keeps it without its body (ops->job_put sees the body first).
 * Which fires count (sched_first_fire()): LAST_FIRE_US is the newest fire
 * already handled (from the store after a restart; INT64_MIN: none), and
 * SINCE_US the instant this version of the job took effect (the store's
 * write of the version after a restart; NOW for a live save). A counted
 * fire already due at NOW goes through the misfire policy at the next
 * tick: within the grace it runs (reason catch_up), beyond it is recorded
 * missed. The engine does not look for dependency cycles: every save
 * checks them first (jobsave.h).
 * KEY and VERSION are the host's (the store's job id and version), copied
 * into every run. */
int sched_job_put(struct sched *s, struct job *j, int64_t key, int64_t version,
                  int64_t last_fire_us, int64_t since_us, int64_t now_us, struct err *err);
/* The first fire of J that counts, given the newest fire handled and the
 * instant its version took effect (as sched_job_put's); INT64_MAX: none.
 * A cron or every job's fires count after both; an `at` job's one fire
 * counts unless it was handled already, however long ago its version was
 * saved (an instant in the past is a fire due, not a fire void). */
int64_t sched_first_fire(const struct job *j, const struct tz *default_zone,
                         int64_t last_fire_us, int64_t since_us);
/* Removes a job; its live runs go on and are recorded. */
int sched_job_remove(struct sched *s, const char *id, struct err *err);
int sched_job_pause(struct sched *s, const char *id, bool paused, int64_t now_us,
                    struct err *err);
const struct job *sched_job_get(const struct sched *s, const char *id);
/* The job's next fire; INT64_MAX: none. */
int64_t sched_job_next(const struct sched *s, const char *id);

/* A manual run now by WHO; EXTRA_ENV (JSON object text) and WHO (both may
 * be NULL) are copied. The run (borrowed) is returned in *RET_RUN, valid
 * until its record is confirmed. When the job's concurrency refuses
 * another run now (forbid: a run is live; allow: max_instances are; queue:
 * its queue is full), nothing is recorded or counted: CHIME_ECONFLICT,
 * and *RET_RUN is the live run that refuses it (borrowed, valid until the
 * engine is next called). A caller asked for the run, so unlike a
 * scheduled fire it is told at once rather than handed a skipped one. */
int sched_trigger(struct sched *s, const char *id, const char *params, const char *who,
                  int64_t now_us, struct sched_run **ret_run, struct err *err);
/* After a restart: a run the store has as queued or running, recorded
 * with ID. Running runs count against the limits until their exit is
 * reported with sched_run_exited(); queued ones wait for a slot, and one
 * may start (ops->start) before this returns: USER (borrowed) is the
 * run's `user` from the first, so the host's start sees it. *RET is the
 * run (owned by the engine); -CHIME_ENOTFOUND when its job is unknown,
 * -CHIME_ENOMEM when it could not be adopted for want of memory. */
int sched_run_adopt(struct sched *s, const char *job_id, int64_t run_id, int64_t fire_us,
                    int attempt, enum store_reason reason, bool running, void *user,
                    int64_t now_us, struct sched_run **ret);
/* Cancels run RUN_ID (queued: at once; running: through ops->cancel). */
int sched_cancel(struct sched *s, int64_t run_id, struct err *err);

/* Handles everything due at NOW; returns when it next needs a tick
 * (INT64_MAX: nothing scheduled). Early calls are harmless. */
int64_t sched_tick(struct sched *s, int64_t now_us);

void sched_run_recorded(struct sched *s, struct sched_run *r, int64_t id, int64_t now_us);
/* R's record failed: the store wrote nothing (a full disk, an I/O error).
 * R is no longer the host's to use. A manual run is dropped (the host
 * tells its caller). A scheduled fire takes its job back to it: the job
 * handles it again, with every fire since, through the misfire policy once
 * the store writes. Any other run (a retry, an `after` fire) is recorded
 * again as it is. Retries wait from 1 s, doubling to 8 s while records
 * keep failing (docs/sched.md, "When the store cannot write"). */
void sched_run_record_failed(struct sched *s, struct sched_run *r, int64_t now_us);
void sched_run_started(struct sched *s, struct sched_run *r, int pid, int64_t now_us);
void sched_run_exited(struct sched *s, struct sched_run *r, const struct sched_result *res,
                      int64_t now_us);

void sched_stats(const struct sched *s, struct sched_stats *ret);

/* The next N fires of J after FROM_US into OUT (cron, every, at; none for
 * after/manual); returns how many. Used by the schedule preview. */
int sched_preview(const struct job *j, const struct tz *default_zone, int64_t from_us,
                  int n, int64_t *out);

#endif
