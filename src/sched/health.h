/* health.h: the daemon's health: the measurements /healthz judges, and
 * the judgement.
 *
 * Pure logic on injected time, so the tests drive it with a fake clock:
 * the loop's lag (how late a periodic timer wakes), the error rate over a
 * window (final runs in time buckets), the recent durations of each job
 * (for its p95, the default of `stuck_after`), the threshold a running run
 * is stuck beyond, and health_evaluate(), which turns the measurements
 * into ok / degraded / failing with one reason per check that is not ok.
 * Not thread-safe: the daemon keeps these on its loop and publishes a
 * copy under a lock (node.c). */
#ifndef CHIME_HEALTH_H
#define CHIME_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum health_status { HEALTH_OK, HEALTH_DEGRADED, HEALTH_FAILING };

/* Thresholds; health_config_defaults() fills every 0 with its default. */
struct health_config {
    int64_t loop_lag_us;        /* degraded above; failing above 10 times it; 1s */
    int64_t error_window_us;    /* error rate over this window; 15m */
    double error_rate;          /* degraded above this fraction failed; 0.5 */
    int error_min_runs;         /* fewer final runs in the window: not judged; 10 */
    int64_t disk_degraded;      /* bytes free in the data directory; 1G */
    int64_t disk_failing;       /* ...; 100M */
    int64_t stuck_floor_us;     /* a p95-based threshold is at least this; 1m */
};

void health_config_defaults(struct health_config *c);

/* ---- the loop's lag ---- */

#define HEALTH_LAG_SAMPLES 10   /* the lag is the largest of the last ten wakes */

struct health_lag {
    int64_t samples_us[HEALTH_LAG_SAMPLES];
    size_t next;
};

/* A periodic timer due at EXPECTED_US woke at ACTUAL_US (a monotonic clock). */
void health_lag_sample(struct health_lag *l, int64_t expected_us, int64_t actual_us);
/* The largest lag of the recent wakes, or OVERDUE_US when larger: how late
 * the timer is now, for a loop so blocked it does not wake at all. */
int64_t health_lag_us(const struct health_lag *l, int64_t overdue_us);

/* ---- the error rate ---- */

#define HEALTH_RATE_BUCKETS 60

struct health_rate {
    int64_t width_us;           /* window / HEALTH_RATE_BUCKETS, at least 1s */
    struct {
        int64_t index;          /* instant / width_us of the bucket's counts */
        uint32_t failed, total;
    } b[HEALTH_RATE_BUCKETS];
};

void health_rate_init(struct health_rate *r, int64_t window_us);
/* A run ended at NOW_US in a final state, FAILED or not. Skipped and
 * missed fires are not runs that ran: the caller leaves them out. */
void health_rate_add(struct health_rate *r, int64_t now_us, bool failed);
/* The counts of the window ending at NOW_US. */
void health_rate_get(const struct health_rate *r, int64_t now_us, uint32_t *ret_failed,
                     uint32_t *ret_total);
/* Is FAILED of TOTAL over C's threshold (with at least its minimum of
 * runs)? The error_rate check is degraded exactly then; the daemon
 * notifies each time the answer changes (error_rate, error_rate_ok). */
bool health_rate_high(const struct health_config *c, uint32_t failed, uint32_t total);

/* ---- recent durations per job, for p95 ---- */

#define HEALTH_DURATIONS_KEPT 20    /* a job's last successful runs */
#define HEALTH_P95_MIN 5            /* fewer: no p95 */

struct health_durations;

/* At most MAX_JOBS jobs are followed (their first runs since start); NULL
 * out of memory. */
struct health_durations *health_durations_new(size_t max_jobs);
void health_durations_free(struct health_durations *d);
/* Job KEY (the store's job id) ran DUR_US and succeeded. */
void health_durations_add(struct health_durations *d, int64_t key, int64_t dur_us);
/* The p95 of the job's recent durations; 0 with fewer than HEALTH_P95_MIN. */
int64_t health_durations_p95(const struct health_durations *d, int64_t key);

/* How long a run may run before it counts as stuck (0: never): the job's
 * STUCK_AFTER_US when given; otherwise the smaller of 3 x P95_US (at least
 * FLOOR_US; none without a p95) and TIMEOUT_US + KILL_GRACE_US (none
 * without a timeout). */
int64_t health_stuck_after(int64_t stuck_after_us, int64_t p95_us, int64_t timeout_us,
                           int64_t kill_grace_us, int64_t floor_us);

/* ---- the judgement ---- */

enum health_check {
    HEALTH_STORE, HEALTH_LOOP, HEALTH_STUCK, HEALTH_ERRORS, HEALTH_DISK, HEALTH_SPAWNER,
    HEALTH_CHECK_COUNT
};

/* What was measured. */
struct health_input {
    bool store_ok;              /* the last write transaction committed (or none failed) */
    bool store_read_ok;         /* a read of the store answered now */
    char store_error[128];      /* the last failure's message */
    int64_t last_commit_us;     /* 0: none since start */
    int64_t loop_lag_us;
    bool starting;              /* start-up has not ended: the engine has not ticked yet */
    int stuck;                  /* running runs past their threshold */
    uint32_t failed, total;     /* final runs in the error window, failed among them */
    bool disk_known;
    int64_t disk_free, disk_total;  /* bytes */
    char spawner_down[128];     /* why the spawner is down (runs wait for it); "": up */
    int spawner_pid;            /* the current spawner process; 0: unknown */
};

struct health_report {
    enum health_status status;              /* the worst of the checks */
    enum health_status check[HEALTH_CHECK_COUNT];
    char reason[HEALTH_CHECK_COUNT][160];   /* "" for a check that is ok */
};

/* What /healthz shows: the thresholds, the measurements, the judgement,
 * and the stuck runs by name (shown only to a token that sees their job). */
#define HEALTH_STUCK_SHOWN 20

struct health_stuck_run {
    int64_t run_id;
    char ns[64], name[64];
    int64_t running_us;         /* so far */
    int64_t after_us;           /* its threshold */
};

struct health_view {
    struct health_config config;
    struct health_input in;
    struct health_report report;
    struct health_stuck_run stuck[HEALTH_STUCK_SHOWN];
    size_t n_stuck;             /* of in.stuck, the first HEALTH_STUCK_SHOWN */
};

void health_evaluate(const struct health_config *c, const struct health_input *in,
                     struct health_report *ret);
/* "ok", "degraded", "failing". */
const char *health_status_name(enum health_status st);
/* "store", "loop", "stuck_runs", "error_rate", "disk", "spawner". */
const char *health_check_name(enum health_check ch);

#endif
