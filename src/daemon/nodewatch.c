/* nodewatch.c: the daemon's metrics and health (see node_int.h).
 *
 * Everything here runs on the loop but node_watch_health(), which the
 * API's threads call: it reads only what the last heartbeat published
 * (under pub_lock, a copy of a few hundred bytes), the store's last write
 * result (store_write_health(), which never waits for a transaction) and
 * statvfs() of the data directory. A loop that is blocked and cannot beat
 * still shows: its lag is then how overdue the heartbeat is.
 *
 * The error rate is judged at every beat; each time it crosses its
 * threshold (either way) the daemon's own event is notified once
 * (nodenotify.c: error_rate, error_rate_ok).
 *
 * Per-job metric series are bounded: the first metrics_jobs jobs (100 by
 * default) that end a run since the start have series of their own, the
 * rest are counted under chime_job="other" (docs/ops.md). */
#include "daemon/node_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include <uv.h>

#include "exec/exec.h"
#include "exec/spawner.h"
#include "sched/health.h"
#include "store/store.h"
#include "util/log.h"
#include "util/metrics.h"
#include "../banned.h"

#define BEAT_MS 1000
#define METRICS_JOBS_DEFAULT 100
#define DURATIONS_JOBS_MAX 100000   /* jobs whose recent durations are kept (p95) */

struct node_watch {
    struct node *n;
    struct metrics *m;
    struct health_config cfg;
    char data_dir[PATH_MAX];
    uv_timer_t beat;
    bool beat_init;
    int64_t expected_us;            /* monotonic: when the beat is due */
    struct health_lag lag;
    struct health_rate rate;
    bool rate_high;                 /* the error rate was over its threshold at the last beat */
    struct health_durations *durations;
    struct hostrun **running;       /* started runs, for the stuck check */
    size_t n_running, cap_running;
    /* families and series */
    struct metric_family *runs, *duration, *lateness, *stuck_total;
    struct metric *queued, *active, *stuck_now, *lag_g, *fires, *missed, *skipped, *retries,
        *dead;
    /* published for node_watch_health() */
    pthread_mutex_t pub_lock;
    struct {
        struct health_lag lag;
        int64_t expected_us;
        int stuck;
        struct health_stuck_run shown[HEALTH_STUCK_SHOWN];
        size_t n_shown;
        uint32_t failed, total;
        char spawner_down[128];
        int spawner_pid;
        bool starting;              /* until node_watch_started() */
    } pub;
};

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const double duration_bounds[] = {0.1, 0.5, 1,    5,    10,    30,    60,
                                         300, 900, 1800, 3600, 10800, 21600, 86400};
static const double lateness_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                         1,     2.5,   5,    10,    30,   60,  300};
static const char *const job_state[] = {"chime_job", "state", NULL};
static const char *const job_only[] = {"chime_job", NULL};
static const char *const reason_only[] = {"reason", NULL};

static struct metric *plain(struct metrics *m, enum metric_type t, const char *name,
                            const char *help)
{
    return metrics_get(metrics_family(m, t, name, help, NULL, NULL, 0, -1, 0), NULL);
}

static void beat_start(struct node_watch *w);

int node_watch_start(struct node *n, const char *data_dir, struct err *err)
{
    struct node_watch *w = calloc(1, sizeof *w);
    size_t jobs = n->opt.metrics_jobs > 0 ? (size_t)n->opt.metrics_jobs : METRICS_JOBS_DEFAULT;
    struct metrics *m;

    if (!w)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    n->watch = w;
    w->n = n;
    pthread_mutex_init(&w->pub_lock, NULL);
    w->cfg = n->opt.health;
    health_config_defaults(&w->cfg);
    health_rate_init(&w->rate, w->cfg.error_window_us);
    snprintf(w->data_dir, sizeof w->data_dir, "%s", data_dir);
    w->durations = health_durations_new(DURATIONS_JOBS_MAX);
    w->m = m = metrics_new();
    if (!w->durations || !m)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    w->runs = metrics_family(m, METRIC_COUNTER, "chime_runs_total",
                             "Runs that reached a final state, by job and state", job_state,
                             NULL, 0, 0, jobs);
    w->duration = metrics_family(m, METRIC_HISTOGRAM, "chime_run_duration_seconds",
                                 "How long runs ran (start to end), by job", job_only,
                                 duration_bounds,
                                 sizeof duration_bounds / sizeof duration_bounds[0], 0, jobs);
    w->lateness = metrics_family(m, METRIC_HISTOGRAM, "chime_fire_lateness_seconds",
                                 "Start of a fire's first attempt minus its fire instant, by "
                                 "reason",
                                 reason_only, lateness_bounds,
                                 sizeof lateness_bounds / sizeof lateness_bounds[0], -1, 0);
    w->stuck_total = metrics_family(m, METRIC_COUNTER, "chime_runs_stuck_total",
                                    "Runs found running beyond their expected duration, by job",
                                    job_only, NULL, 0, 0, jobs);
    w->queued = plain(m, METRIC_GAUGE, "chime_queue_depth", "Recorded runs waiting for a slot");
    w->active = plain(m, METRIC_GAUGE, "chime_runs_running", "Runs running now");
    w->stuck_now = plain(m, METRIC_GAUGE, "chime_runs_stuck",
                         "Runs running beyond their expected duration now");
    w->lag_g = plain(m, METRIC_GAUGE, "chime_loop_lag_seconds",
                     "The scheduler loop's lag: the latest of its last ten heartbeats");
    w->fires = plain(m, METRIC_COUNTER, "chime_fires_total", "Fires handled by the engine");
    w->missed = plain(m, METRIC_COUNTER, "chime_missed_fires_total",
                      "Fires missed (past their misfire grace), counted one by one");
    w->skipped = plain(m, METRIC_COUNTER, "chime_skipped_fires_total",
                       "Fires skipped by the concurrency policy");
    w->retries = plain(m, METRIC_COUNTER, "chime_retries_total", "Retries scheduled");
    w->dead = plain(m, METRIC_COUNTER, "chime_dead_letters_total",
                    "Fires whose last attempt failed (dead-lettered)");
    beat_start(w);
    return 0;
}

struct metrics *node_watch_metrics(struct node *n)
{
    return n->watch ? n->watch->m : NULL;
}

/* ---- runs ---- */

static const char *job_label(const struct sched_run *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", r->job->ns, r->job->name);
    return buf;
}

void node_watch_run_started(struct node *n, struct hostrun *h)
{
    struct node_watch *w = n->watch;
    const struct sched_run *r = h->r;

    if (!w)
        return;
    if (r->attempt == 1 && r->started_us)
        metrics_observe(w->lateness, (const char *const[]){store_reason_name(r->reason)},
                        (double)(r->started_us - r->fire_us) / 1e6);
    if (h->watch_slot)
        return;
    if (w->n_running == w->cap_running) {
        size_t cap = w->cap_running ? 2 * w->cap_running : 64;
        struct hostrun **p = realloc(w->running, cap * sizeof(struct hostrun *));

        if (!p)
            return;                 /* not watched for being stuck: only that */
        w->running = p;
        w->cap_running = cap;
    }
    w->running[w->n_running++] = h;
    h->watch_slot = w->n_running;
}

static void unwatch(struct node_watch *w, struct hostrun *h)
{
    size_t i = h->watch_slot - 1;

    w->running[i] = w->running[--w->n_running];
    w->running[i]->watch_slot = i + 1;
    h->watch_slot = 0;
}

void node_watch_run_final(struct node *n, const struct sched_run *r)
{
    struct node_watch *w = n->watch;
    struct hostrun *h = r->user;
    char job[ID_LEN];
    bool ran = r->state == STORE_RUN_SUCCEEDED || r->state == STORE_RUN_FAILED
               || r->state == STORE_RUN_TIMED_OUT || r->state == STORE_RUN_LOST;

    if (!w)
        return;
    if (h && h->watch_slot)
        unwatch(w, h);
    job_label(r, job, sizeof job);
    metrics_inc(w->runs, (const char *const[]){job, store_run_state_name(r->state)});
    if (r->started_us && r->finished_us >= r->started_us) {
        metrics_observe(w->duration, (const char *const[]){job},
                        (double)(r->finished_us - r->started_us) / 1e6);
        if (r->state == STORE_RUN_SUCCEEDED)
            health_durations_add(w->durations, r->job_key, r->finished_us - r->started_us);
    }
    /* the error rate counts runs that ran: not skipped or missed fires, and
     * not cancelled ones (somebody's decision, not a failure) */
    if (ran)
        health_rate_add(&w->rate, node_now_us(n), r->state != STORE_RUN_SUCCEEDED);
}

/* ---- the heartbeat ---- */

static void check_stuck(struct node_watch *w, int64_t now, int *ret_stuck,
                        struct health_stuck_run *shown, size_t *ret_shown)
{
    int stuck = 0;
    size_t n_shown = 0;

    for (size_t i = 0; i < w->n_running; i++) {
        struct hostrun *h = w->running[i];
        const struct sched_run *r = h->r;
        int64_t after, p95;

        if (!r || r->state != STORE_RUN_RUNNING || !r->started_us)
            continue;
        p95 = health_durations_p95(w->durations, r->job_key);
        after = health_stuck_after(h->stuck_after_us, p95, h->timeout_us, h->kill_grace_us,
                                   w->cfg.stuck_floor_us);
        if (!after || now - r->started_us < after)
            continue;
        stuck++;
        if (n_shown < HEALTH_STUCK_SHOWN) {
            struct health_stuck_run *s = &shown[n_shown++];

            s->run_id = r->id;
            snprintf(s->ns, sizeof s->ns, "%s", r->job->ns);
            snprintf(s->name, sizeof s->name, "%s", r->job->name);
            s->running_us = now - r->started_us;
            s->after_us = after;
        }
        if (!h->stuck_told) {       /* once per run, not at every beat */
            char job[ID_LEN];

            h->stuck_told = true;
            log_warn("run %lld of %s/%s is stuck: running for %llds, expected at most %llds",
                     (long long)r->id, r->job->ns, r->job->name,
                     (long long)((now - r->started_us) / 1000000), (long long)(after / 1000000));
            metrics_inc(w->stuck_total, (const char *const[]){job_label(r, job, sizeof job)});
            node_notify(w->n, r->job, r, JOB_ON_STUCK);
        }
    }
    *ret_stuck = stuck;
    *ret_shown = n_shown;
}

/* The error rate crossed its threshold at NOW (HIGH: it is over it now):
 * logged and notified once per crossing, not at every beat. */
static void rate_crossed(struct node_watch *w, bool high, uint32_t failed, uint32_t total,
                         int64_t now)
{
    if (high)
        log_warn("error rate: %u of the last %u finished runs failed (threshold %.0f%%)", failed,
                 total, w->cfg.error_rate * 100);
    else
        log_info("error rate back under its threshold: %u of %u failed", failed, total);
    node_notify_error_rate(w->n, &w->cfg, high, failed, total, now);
}

static void on_beat(uv_timer_t *t)
{
    struct node_watch *w = t->data;
    struct node *n = w->n;
    struct health_stuck_run shown[HEALTH_STUCK_SHOWN];
    struct sched_stats st;
    int64_t now = node_now_us(n), mono = mono_us();
    uint32_t failed, total;
    size_t n_shown;
    bool high;
    int stuck;

    health_lag_sample(&w->lag, w->expected_us, mono);
    sched_stats(n->sched, &st);
    metric_set(w->queued, st.queued);
    metric_set(w->active, st.running);
    metric_set(w->fires, (double)st.fires);
    metric_set(w->missed, (double)st.missed);
    metric_set(w->skipped, (double)st.skipped);
    metric_set(w->retries, (double)st.retries);
    metric_set(w->dead, (double)st.dead_letters);
    metric_set(w->lag_g, (double)health_lag_us(&w->lag, 0) / 1e6);
    check_stuck(w, now, &stuck, shown, &n_shown);
    metric_set(w->stuck_now, stuck);
    health_rate_get(&w->rate, now, &failed, &total);
    high = health_rate_high(&w->cfg, failed, total);
    if (high != w->rate_high)
        rate_crossed(w, high, failed, total, now);
    w->rate_high = high;
    w->expected_us = mono + (int64_t)BEAT_MS * 1000;
    pthread_mutex_lock(&w->pub_lock);
    w->pub.lag = w->lag;
    w->pub.expected_us = w->expected_us;
    w->pub.stuck = stuck;
    memcpy(w->pub.shown, shown, n_shown * sizeof shown[0]);
    w->pub.n_shown = n_shown;
    w->pub.failed = failed;
    w->pub.total = total;
    snprintf(w->pub.spawner_down, sizeof w->pub.spawner_down, "%s",
             n->exec && exec_down(n->exec) ? exec_down(n->exec) : "");
    w->pub.spawner_pid = n->spawner ? (int)exec_spawner_pid(n->spawner) : 0;
    pthread_mutex_unlock(&w->pub_lock);
    uv_timer_start(&w->beat, on_beat, BEAT_MS, 0);
}

/* Called once the loop exists (node_watch_start runs before the store). */
static void beat_start(struct node_watch *w)
{
    uv_timer_init(&w->n->loop, &w->beat);
    w->beat.data = w;
    w->beat_init = true;
    w->expected_us = mono_us() + (int64_t)BEAT_MS * 1000;
    pthread_mutex_lock(&w->pub_lock);
    w->pub.expected_us = w->expected_us;
    w->pub.starting = true;
    pthread_mutex_unlock(&w->pub_lock);
    uv_timer_start(&w->beat, on_beat, BEAT_MS, 0);
}

/* Start-up has ended, the engine ticks next: /healthz stops saying it is
 * starting, and the time start-up took is not counted as the loop's lag
 * (the beat is due a period from now). */
void node_watch_started(struct node *n)
{
    struct node_watch *w = n->watch;

    uv_update_time(&n->loop);
    uv_timer_stop(&w->beat);
    w->expected_us = mono_us() + (int64_t)BEAT_MS * 1000;
    pthread_mutex_lock(&w->pub_lock);
    w->pub.expected_us = w->expected_us;
    w->pub.starting = false;
    pthread_mutex_unlock(&w->pub_lock);
    uv_timer_start(&w->beat, on_beat, BEAT_MS, 0);
}

void node_watch_health(void *ctx, struct health_view *v)
{
    struct node_watch *w = ctx;
    struct statvfs fs;
    int64_t commit_us = 0, failure_us = 0;

    memset(v, 0, sizeof *v);
    v->config = w->cfg;
    pthread_mutex_lock(&w->pub_lock);
    v->in.loop_lag_us = health_lag_us(&w->pub.lag, w->pub.expected_us
                                                       ? mono_us() - w->pub.expected_us : 0);
    v->in.stuck = w->pub.stuck;
    memcpy(v->stuck, w->pub.shown, w->pub.n_shown * sizeof v->stuck[0]);
    v->n_stuck = w->pub.n_shown;
    v->in.failed = w->pub.failed;
    v->in.total = w->pub.total;
    memcpy(v->in.spawner_down, w->pub.spawner_down, sizeof v->in.spawner_down);
    v->in.spawner_pid = w->pub.spawner_pid;
    v->in.starting = w->pub.starting;
    pthread_mutex_unlock(&w->pub_lock);
    store_write_health(w->n->store, &commit_us, &failure_us, v->in.store_error,
                       sizeof v->in.store_error);
    v->in.last_commit_us = commit_us;
    v->in.store_ok = failure_us == 0 || commit_us > failure_us;
    v->in.store_read_ok = true;     /* the API probes a read itself */
    if (statvfs(w->data_dir, &fs) == 0) {
        v->in.disk_known = true;
        v->in.disk_free = (int64_t)fs.f_bavail * (int64_t)fs.f_frsize;
        v->in.disk_total = (int64_t)fs.f_blocks * (int64_t)fs.f_frsize;
    }
}

void node_watch_close(struct node *n)
{
    struct node_watch *w = n->watch;

    if (w && w->beat_init) {
        w->beat_init = false;
        uv_timer_stop(&w->beat);
        uv_close((uv_handle_t *)&w->beat, NULL);
    }
}

void node_watch_free(struct node *n)
{
    struct node_watch *w = n->watch;

    if (!w)
        return;
    metrics_free(w->m);
    health_durations_free(w->durations);
    free(w->running);
    pthread_mutex_destroy(&w->pub_lock);
    free(w);
    n->watch = NULL;
}
