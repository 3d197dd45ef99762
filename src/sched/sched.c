/* sched.c: the engine (see sched.h).
 *
 * State: a hash of jobs by "namespace/name"; a timer heap of jobs by the
 * instant their next fire is due; a heap of pending retries by due
 * instant; a run queue (priority, then fire instant, then arrival) of
 * recorded runs waiting for one of max_concurrent slots; and a list of
 * live runs (recording, queued, running).
 *
 * Invariants: a run is started only after the store reported it recorded
 * (the fire is durable before its process exists); every fire becomes
 * exactly one recorded run (or a retry chain of them), missed and skipped
 * fires included; a job version stays allocated while a run of it lives.
 *
 * Due fires are handled in one place, job_due(), whether one fire is due
 * (the normal case), several (the daemon was down, the clock jumped
 * forward, the loop stalled), a backlog after a restart, or a first fire
 * already past when the job was put (an `at` in the past, a job that never
 * fired before the daemon went down): fires older than the misfire grace
 * are missed, and those within it follow catch_up. So a clock jump
 * forward never bursts, and because the next fire is always computed
 * after the newest fire handled, a jump backward never doubles. Which
 * fires count at all is sched_first_fire()'s rule: those after the newest
 * fire handled and after the job's version took effect (an `at` job's
 * one fire whenever its version was saved). */
#include "sched/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/heap.h"
#include "time/cron.h"
#include "util/err.h"
#include "../banned.h"

#define ID_LEN (2 * JOB_NAME_MAX + 2)
#define DUE_SCAN_MAX 100000     /* due fires looked at one by one per tick */
#define MISSED_RECORD_MAX 100   /* missed fires recorded one by one per tick */
#define CATCH_UP_KEEP 10000     /* fires within grace kept for catch-up */
/* A record the store could not write is tried again after this long,
 * doubling while records keep failing (sched_run_record_failed()) */
#define RECORD_RETRY_MIN_US INT64_C(1000000)
#define RECORD_RETRY_MAX_US INT64_C(8000000)

/* A job version, shared by the job and its live runs. */
struct version {
    struct job *job;
    int64_t key, version;       /* the host's */
    int refs;
};

/* One scheduled job. It is kept small (the engine holds one per job, and
 * a daemon may schedule a million): its name is its version's job's, and
 * only an `after` job has an upstream array. */
struct sched_job {
    struct sched_job *hnext;
    struct version *ver;        /* the current version; its job names the job */
    int64_t next_us;            /* next fire instant; INT64_MAX: none */
    int64_t due_us;             /* when it is handled: next_us plus jitter */
    int64_t last_fire_us;       /* newest fire handled; INT64_MIN: none */
    signed char *upstream;      /* after: per upstream, 0 none, 1 ok, -1 failed; else NULL */
    size_t pos;                 /* in the timer heap */
    int failures;               /* consecutive failed fires */
    int active;                 /* live runs, not counting those waiting */
    int waiting;                /* concurrency "queue": runs waiting their turn */
    int pending;                /* retries waiting for their delay */
    int recording;              /* final records (missed, skipped, cancelled) in flight */
    bool recovering;            /* a fire was already due when the job was put:
                                   catch_up applies to it */
    bool rewound;               /* a fire's record failed: the job went back to it */
    bool removed;               /* freed once its last run is over */
    bool paused;                /* job state, from the document or a pause */
};

struct sched {
    struct sched_ops ops;
    struct sched_config cfg;
    struct sched_job **buckets;
    size_t nbuckets, njobs;
    struct sched_job **after_jobs;  /* the jobs with `after` (after_set()) */
    int64_t start_at_us;            /* while a fire is handled early: its instant */
    size_t n_after_jobs, cap_after_jobs;
    struct heap timers;         /* sched_job by due_us */
    struct heap retries;        /* sched_run by due_us */
    struct heap queue;          /* sched_run by priority, fire_us, seq */
    struct sched_run *live;     /* every run not yet final, linked by next */
    int running;
    uint64_t seq;
    bool ticked;                /* @reboot jobs fire at the first tick */
    /* while records fail: how long the next retry waits (0: records
     * succeed), and the instant the failed ones are tried again */
    int64_t record_retry_us, record_hold_us;
    struct sched_stats stats;
};

/* ---- small helpers ---- */

#define FNV_BASIS 1469598103934665603u
#define FNV_PRIME 1099511628211u

static uint64_t hash_more(uint64_t h, const char *s)
{
    while (*s)
        h = (h ^ (unsigned char)*s++) * FNV_PRIME;
    return h;
}

/* The hash of "namespace/name". */
static uint64_t hash(const char *id)
{
    return hash_more(FNV_BASIS, id);
}

/* hash(job_id(J)), without writing the id. */
static uint64_t hash_job(const struct job *j)
{
    return hash_more((hash_more(FNV_BASIS, j->ns) ^ '/') * FNV_PRIME, j->name);
}

static uint64_t sj_hash(const struct sched_job *sj)
{
    return hash_job(sj->ver->job);
}

/* Whether ID is "namespace/name" of J. */
static bool id_is(const struct job *j, const char *id)
{
    size_t n = strlen(j->ns);

    return strncmp(id, j->ns, n) == 0 && id[n] == '/' && strcmp(id + n + 1, j->name) == 0;
}

static struct sched_job *find(const struct sched *s, const char *id)
{
    struct sched_job *sj;

    if (!s->nbuckets)
        return NULL;
    for (sj = s->buckets[hash(id) & (s->nbuckets - 1)]; sj; sj = sj->hnext)
        if (!sj->removed && id_is(sj->ver->job, id))
            return sj;
    return NULL;
}

static int insert(struct sched *s, struct sched_job *sj)
{
    size_t b;

    if (s->njobs + 1 > s->nbuckets) {
        size_t n = s->nbuckets ? s->nbuckets * 2 : 1024;
        struct sched_job **nb = calloc(n, sizeof *nb); // NOLINT(bugprone-sizeof-expression)

        if (!nb)
            return -CHIME_ENOMEM;
        for (size_t i = 0; i < s->nbuckets; i++)
            while (s->buckets[i]) {
                struct sched_job *x = s->buckets[i];

                size_t k = sj_hash(x) & (n - 1);

                s->buckets[i] = x->hnext;
                x->hnext = nb[k];
                nb[k] = x;
            }
        free(s->buckets);
        s->buckets = nb;
        s->nbuckets = n;
    }
    b = sj_hash(sj) & (s->nbuckets - 1);
    sj->hnext = s->buckets[b];
    s->buckets[b] = sj;
    s->njobs++;
    return 0;
}

static void unlink_job(struct sched *s, struct sched_job *sj)
{
    struct sched_job **p = &s->buckets[sj_hash(sj) & (s->nbuckets - 1)];

    while (*p && *p != sj)
        p = &(*p)->hnext;
    if (*p) {
        *p = sj->hnext;
        s->njobs--;
    }
}

static void version_put(struct version *v)
{
    if (v && --v->refs == 0) {
        job_free(v->job);
        free(v);
    }
}

static void job_release(struct sched_job *sj)
{
    version_put(sj->ver);
    free(sj->upstream);
    free(sj);
}

/* The jobs with `after` (those with an upstream array) are also listed in
 * s->after_jobs, so that a run's end looks only at them, not at every job.
 * after_reserve() first, so that after_set() cannot fail. */
static int after_reserve(struct sched *s)
{
    if (s->n_after_jobs == s->cap_after_jobs) {
        size_t cap = s->cap_after_jobs ? 2 * s->cap_after_jobs : 16;
        struct sched_job **grown = realloc(s->after_jobs, cap * sizeof(struct sched_job *));

        if (!grown)
            return -1;
        s->after_jobs = grown;
        s->cap_after_jobs = cap;
    }
    return 0;
}

static void after_set(struct sched *s, struct sched_job *sj, signed char *up)
{
    bool was = sj->upstream != NULL;

    free(sj->upstream);
    sj->upstream = up;
    if (!was && up) {
        s->after_jobs[s->n_after_jobs++] = sj;
    } else if (was && !up) {
        for (size_t i = 0; i < s->n_after_jobs; i++)
            if (s->after_jobs[i] == sj) {
                s->after_jobs[i] = s->after_jobs[--s->n_after_jobs];
                break;
            }
    }
}

/* Frees a removed job once nothing of it lives on. */
static void job_maybe_free(struct sched *s, struct sched_job *sj)
{
    if (sj->removed && !sj->active && !sj->waiting && !sj->pending && !sj->recording) {
        unlink_job(s, sj);
        after_set(s, sj, NULL);
        job_release(sj);
    }
}

static bool timer_less(const void *a, const void *b)
{
    return ((const struct sched_job *)a)->due_us < ((const struct sched_job *)b)->due_us;
}

static size_t *timer_pos(void *x)
{
    return &((struct sched_job *)x)->pos;
}

static bool retry_less(const void *a, const void *b)
{
    return ((const struct sched_run *)a)->due_us < ((const struct sched_run *)b)->due_us;
}

static bool queue_less(const void *a, const void *b)
{
    const struct sched_run *x = a, *y = b;

    if (x->priority != y->priority)
        return x->priority > y->priority;
    if (x->fire_us != y->fire_us)
        return x->fire_us < y->fire_us;
    return x->seq < y->seq;
}

static size_t *run_pos(void *x)
{
    return &((struct sched_run *)x)->pos;
}

static int64_t rand_below(struct sched *s, int64_t n)
{
    return n > 0 ? (int64_t)(s->ops.random(s->ops.ctx) % (uint64_t)n) : 0;
}

/* ---- schedules ---- */

/* The first fire of J strictly after AFTER_US; INT64_MAX: none. */
static int64_t next_fire(const struct job *j, const struct tz *default_zone, int64_t after_us)
{
    const struct job_sched *sc = &j->sched;
    int64_t t;

    switch (sc->kind) {
    case JOB_CRON:
        if (cron_next(&sc->cron, sc->zone ? sc->zone : default_zone, after_us, &t, NULL) < 0)
            return INT64_MAX;
        return t;
    case JOB_EVERY: {
        int64_t start = sc->start_us == INT64_MIN ? 0 : sc->start_us;

        if (after_us < start)
            return start;
        return start + ((after_us - start) / sc->every_us + 1) * sc->every_us;
    }
    case JOB_AT:
        return sc->at_us > after_us ? sc->at_us : INT64_MAX;
    default:
        return INT64_MAX;
    }
}

int sched_preview(const struct job *j, const struct tz *default_zone, int64_t from_us,
                  int n, int64_t *out)
{
    int k;

    for (k = 0; k < n; k++) {
        from_us = next_fire(j, default_zone, from_us);
        if (from_us == INT64_MAX)
            break;
        out[k] = from_us;
    }
    return k;
}

/* The instant after which J's fires count (sched_first_fire()). */
static int64_t count_after(const struct job *j, int64_t last_fire_us, int64_t since_us)
{
    if (j->sched.kind == JOB_AT)
        return last_fire_us;
    return last_fire_us > since_us ? last_fire_us : since_us;
}

int64_t sched_first_fire(const struct job *j, const struct tz *default_zone,
                         int64_t last_fire_us, int64_t since_us)
{
    return next_fire(j, default_zone, count_after(j, last_fire_us, since_us));
}

/* Sets the job's next fire after AFTER_US and (re)places its timer. */
static void arm(struct sched *s, struct sched_job *sj, int64_t after_us)
{
    const struct job *j = sj->ver->job;

    heap_remove(&s->timers, sj);
    sj->next_us = sj->paused || sj->removed ? INT64_MAX
                                           : next_fire(j, s->cfg.default_zone, after_us);
    if (sj->next_us == INT64_MAX)
        return;
    sj->due_us = sj->next_us;
    if (j->sched.kind == JOB_EVERY && j->sched.jitter_us > 0)
        sj->due_us += rand_below(s, j->sched.jitter_us);
    if (heap_push(&s->timers, sj) < 0)
        sj->next_us = INT64_MAX;    /* out of memory: the job stays idle */
}

/* ---- runs ---- */

static struct sched_run *run_new(struct sched *s, struct sched_job *sj, struct version *v,
                                 int64_t fire_us, int attempt, enum store_reason reason,
                                 enum store_run_state state, int64_t now_us)
{
    struct sched_run *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    v->refs++;
    r->ver = v;
    r->job = v->job;
    r->job_key = v->key;
    r->job_version = v->version;
    r->owner = sj;
    r->fire_us = fire_us;
    r->attempt = attempt;
    r->reason = reason;
    r->state = state;
    r->priority = v->job->priority;
    r->queued_us = now_us;
    r->exit_code = -1;
    r->cpu_user_ms = r->cpu_sys_ms = r->max_rss_kb = r->output_bytes = -1;
    r->pos = HEAP_NONE;
    r->seq = ++s->seq;
    return r;
}

static void run_free(struct sched *s, struct sched_run *r)
{
    (void)s;
    version_put(r->ver);
    free((char *)r->params);
    free((char *)r->triggered_by);
    free(r);
}

static void live_add(struct sched *s, struct sched_run *r)
{
    r->prev = NULL;
    r->next = s->live;
    if (s->live)
        s->live->prev = r;
    s->live = r;
}

/* O(1): a run's end must not cost more with more runs alive */
static void live_remove(struct sched *s, struct sched_run *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (s->live == r)
        s->live = r->next;
    else
        return;                 /* not on the list */
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

static void notify(struct sched *s, const struct job *j, const struct sched_run *r,
                   enum job_notify_event ev)
{
    if (s->ops.notify)
        s->ops.notify(s->ops.ctx, j, r, ev);
}

/* Records R, already final (missed, skipped, a removed job's retry): its
 * job stays allocated until the record lands (sched_run_recorded() or
 * sched_run_record_failed() reads R's owner), even if it is removed
 * meanwhile. */
static void record_final_run(struct sched *s, struct sched_run *r)
{
    r->final_record = true;
    r->owner->recording++;
    s->ops.record(s->ops.ctx, r);
}

/* Records a fire that will not run (missed, skipped). */
static struct sched_run *record_final(struct sched *s, struct sched_job *sj, int64_t fire_us,
                                      enum store_reason reason, enum store_run_state st,
                                      const char *why, int64_t now_us)
{
    struct sched_run *r = run_new(s, sj, sj->ver, fire_us, 1, reason, st, now_us);

    if (!r)
        return NULL;
    r->error = why;
    r->finished_us = now_us;
    if (st == STORE_RUN_MISSED)
        s->stats.missed++;
    else
        s->stats.skipped++;
    record_final_run(s, r);
    return r;
}

/* Starts queued runs while slots are free. */
static void dispatch(struct sched *s, int64_t now_us)
{
    int max = s->cfg.max_concurrent > 0 ? s->cfg.max_concurrent : 64;
    struct sched_run *r;

    while (s->running < max && (r = heap_pop(&s->queue))) {
        r->state = STORE_RUN_RUNNING;
        r->started_us = now_us;
        s->running++;
        s->ops.start(s->ops.ctx, r);
    }
}

/* A new run of a fire enters: recorded first, started when recorded. */
static void run_enter(struct sched *s, struct sched_run *r, bool waiting)
{
    struct sched_job *sj = r->owner;

    if (waiting)
        sj->waiting++;
    else
        sj->active++;
    r->waiting = waiting;
    live_add(s, r);
    s->ops.record(s->ops.ctx, r);
}

static struct sched_run *fire(struct sched *s, struct sched_job *sj, int64_t fire_us,
                              enum store_reason reason, const char *params, const char *who,
                              int64_t now_us);
static void cancel_run(struct sched *s, struct sched_run *r, int64_t now_us);

/* The end of run R: persist, account, and free. */
static void finish(struct sched *s, struct sched_run *r, enum store_run_state st, int64_t now_us)
{
    struct sched_job *sj = r->owner;

    heap_remove(&s->queue, r);
    r->state = st;
    r->finished_us = now_us;
    live_remove(s, r);
    if (r->waiting)
        sj->waiting--;
    else
        sj->active--;
    if (r->recorded)
        s->ops.update(s->ops.ctx, r);
    if (!r->recorded)
        return;         /* sched_run_recorded() frees it when the record lands */
    run_free(s, r);
}

/* A job whose active run ended lets its first waiting run go. */
static void promote_waiting(struct sched *s, struct sched_job *sj)
{
    struct sched_run *first = NULL;

    if (sj->active > 0 || sj->waiting == 0)
        return;
    for (struct sched_run *r = s->live; r; r = r->next)
        if (r->owner == sj && r->waiting && r->recorded
            && (!first || r->seq < first->seq))
            first = r;
    if (!first)
        return;
    first->waiting = false;
    sj->waiting--;
    sj->active++;
    heap_push(&s->queue, first);
}

static struct sched_run *fire(struct sched *s, struct sched_job *sj, int64_t fire_us,
                              enum store_reason reason, const char *params, const char *who,
                              int64_t now_us)
{
    const struct job *j = sj->ver->job;
    struct sched_run *r;
    bool waiting = false;

    s->stats.fires++;
    if (sj->active > 0) {
        switch (j->concurrency) {
        case JOB_FORBID:
            return record_final(s, sj, fire_us, reason, STORE_RUN_SKIPPED,
                                "a run of the job is active", now_us);
        case JOB_ALLOW:
            if (sj->active >= j->max_instances) {
                return record_final(s, sj, fire_us, reason, STORE_RUN_SKIPPED,
                                    "max_instances runs are active", now_us);
            }
            break;
        case JOB_QUEUE:
            if (sj->waiting >= j->max_instances) {
                return record_final(s, sj, fire_us, reason, STORE_RUN_SKIPPED,
                                    "the job's queue is full", now_us);
            }
            waiting = true;
            break;
        case JOB_REPLACE: {
            struct sched_run *nx;

            for (r = s->live; r; r = nx) {
                nx = r->next;
                if (r->owner == sj && !r->waiting && !r->cancel_requested)
                    cancel_run(s, r, now_us);
            }
            break;
        }
        }
    }
    r = run_new(s, sj, sj->ver, fire_us, 1, reason, STORE_RUN_QUEUED, now_us);
    if (r)
        r->start_at_us = s->start_at_us;
    if (!r)
        return NULL;
    if (params)
        r->params = strdup(params);
    if (who)
        r->triggered_by = strdup(who);
    run_enter(s, r, waiting);
    return r;
}

/* A fire of a catch-up backlog: it waits in the job's own queue (as
 * under `queue`) whatever the concurrency policy, and starts when no
 * run of the job is live and every older one of the backlog has ended,
 * so the backlog runs one fire after another, oldest first. A backlog is
 * no overlap: it skips nothing and cancels nothing (a run still live
 * from before a restart is waited for, not replaced or skipped for). */
static void fire_behind(struct sched *s, struct sched_job *sj, int64_t fire_us, int64_t now_us)
{
    struct sched_run *r = run_new(s, sj, sj->ver, fire_us, 1, STORE_REASON_CATCH_UP, STORE_RUN_QUEUED,
                                  now_us);

    s->stats.fires++;
    if (r)
        run_enter(s, r, true);
}

/* Records the fires FIRES[FROM..TO) as missed: the newest
 * MISSED_RECORD_MAX one by one, the older ones only counted, so an outage
 * of a frequent job costs a bounded number of rows. */
static void miss_range(struct sched *s, struct sched_job *sj, const int64_t *fires, int from,
                       int to, const char *why, int64_t now_us)
{
    if (to - from > MISSED_RECORD_MAX) {
        s->stats.missed += to - from - MISSED_RECORD_MAX;
        from = to - MISSED_RECORD_MAX;
    }
    for (int i = from; i < to; i++) /* FIRES[FROM..TO) are set: the caller filled them */
        record_final(s, sj, fires[i], STORE_REASON_CATCH_UP, STORE_RUN_MISSED, why, // NOLINT
                     now_us);
}

/* Every fire of SJ due by AT_US: missed beyond the grace, the rest by
 * catch_up (see the file comment). AT_US is its timer's instant, after
 * NOW_US when the fire is handled early (sched_config.lead_us). */
static void job_due(struct sched *s, struct sched_job *sj, int64_t at_us, int64_t now_us)
{
    const struct job *j = sj->ver->job;
    int64_t grace = j->misfire.grace_us;
    int64_t keep[CATCH_UP_KEEP];
    int64_t late[MISSED_RECORD_MAX];
    int64_t t = sj->next_us, newest = t;
    int nkeep = 0, nwithin = 0, nlate = 0, scanned = 0;
    enum store_reason why;

    while (t != INT64_MAX && t <= at_us) {
        newest = t;
        if (at_us - t > grace) {
            late[nlate++ % MISSED_RECORD_MAX] = t;
        } else {
            if (nkeep < CATCH_UP_KEEP)
                keep[nkeep++] = t;
            else
                keep[CATCH_UP_KEEP - 1] = t;    /* the newest stays last */
            nwithin++;
        }
        if (++scanned == DUE_SCAN_MAX && at_us - t > grace) {
            /* a long outage of a frequent job: count, don't list */
            int64_t skip_to = at_us - grace - 1;

            s->stats.missed += 1;   /* at least; exact counts would need every fire */
            t = next_fire(j, s->cfg.default_zone, skip_to > t ? skip_to : t);
            continue;
        }
        t = next_fire(j, s->cfg.default_zone, t);
    }
    /* the newest late fires are recorded; older ones only counted */
    for (int i = nlate > MISSED_RECORD_MAX ? nlate - MISSED_RECORD_MAX : 0; i < nlate; i++)
        record_final(s, sj, late[i % MISSED_RECORD_MAX], STORE_REASON_SCHEDULE, STORE_RUN_MISSED,
                     sj->rewound ? "not recorded within the misfire grace: the store could"
                                   " not write"
                                 : "not started within the misfire grace",
                     now_us);
    if (nlate > MISSED_RECORD_MAX)
        s->stats.missed += nlate - MISSED_RECORD_MAX;
    why = nwithin > 1 || sj->recovering ? STORE_REASON_CATCH_UP : STORE_REASON_SCHEDULE;
    if (why == STORE_REASON_SCHEDULE) {
        if (nwithin == 1)
            fire(s, sj, keep[0], why, NULL, NULL, now_us);
    } else if (j->misfire.catch_up == JOB_CATCH_UP_NONE) {
        miss_range(s, sj, keep, 0, nkeep, "catch_up is none", now_us);
    } else if (j->misfire.catch_up == JOB_CATCH_UP_LATEST) {
        miss_range(s, sj, keep, 0, nkeep - 1, "coalesced into a later fire", now_us);
        if (nkeep)
            fire(s, sj, keep[nkeep - 1], why, NULL, NULL, now_us);
    } else {
        int run = nkeep < j->misfire.max_catch_up ? nkeep : j->misfire.max_catch_up;

        for (int i = 0; i < run; i++)
            fire_behind(s, sj, keep[i], now_us);
        miss_range(s, sj, keep, run, nkeep, "past max_catch_up", now_us);
    }
    sj->recovering = false;
    sj->rewound = false;
    if (newest > sj->last_fire_us)
        sj->last_fire_us = newest;
    s->ops.job_state(s->ops.ctx, j, sj->ver->key, sj->paused, sj->failures, sj->last_fire_us);
    arm(s, sj, sj->last_fire_us > at_us ? sj->last_fire_us : at_us);
}

/* Whether SJ, due within the lead, may be handled before its instant. */
static bool early_ok(const struct sched *s, const struct sched_job *sj, int64_t now_us)
{
    return sj->due_us <= now_us + s->cfg.lead_us && !sj->active && !sj->waiting
           && !sj->recovering;
}

static void cancel_run(struct sched *s, struct sched_run *r, int64_t now_us)
{
    struct sched_job *sj = r->owner;

    if (r->cancel_requested)
        return;
    r->cancel_requested = true;
    r->error = "cancelled";
    if (r->state == STORE_RUN_RUNNING) {
        s->ops.cancel(s->ops.ctx, r);   /* its exit finishes it */
    } else if (r->recorded) {
        finish(s, r, STORE_RUN_CANCELLED, now_us);
        promote_waiting(s, sj);
        dispatch(s, now_us);
        job_maybe_free(s, sj);
    }
    /* not yet recorded: sched_run_recorded() finishes it */
}

int sched_cancel(struct sched *s, int64_t run_id, struct err *err)
{
    for (struct sched_run *r = s->live; r; r = r->next)
        if (r->id == run_id && run_id != 0) {
            cancel_run(s, r, r->queued_us > r->started_us ? r->queued_us : r->started_us);
            return 0;
        }
    return err_set(err, CHIME_ENOTFOUND, "run", "run %lld is not queued or running",
                   (long long)run_id);
}

/* ---- dependencies ---- */

/* A fire of UP ended (its last attempt) with OK: downstream `after` jobs
 * fire once every upstream has ended since their last fire, if WHEN holds. */
static void upstream_done(struct sched *s, const char *up, bool ok, int64_t now_us)
{
    for (size_t k = 0; k < s->n_after_jobs; k++) {
        struct sched_job *sj = s->after_jobs[k];
        const struct job_sched *sc = &sj->ver->job->sched;
        bool all = true, any_failed = false, hit = false, go;

        if (sj->removed || sc->kind != JOB_AFTER || sj->paused || !sj->upstream)
            continue;
        for (size_t i = 0; i < sc->n_after; i++) {
            if (strcmp(sc->after[i], up) == 0) {
                sj->upstream[i] = ok ? 1 : -1;
                hit = true;
            }
            all = all && sj->upstream[i] != 0;
            any_failed = any_failed || sj->upstream[i] < 0;
        }
        if (!hit || !all)
            continue;
        go = sc->when == JOB_WHEN_ALWAYS || (sc->when == JOB_WHEN_SUCCESS && !any_failed)
             || (sc->when == JOB_WHEN_FAILURE && any_failed);
        memset(sj->upstream, 0, sc->n_after);
        if (go) {
            sj->last_fire_us = now_us;
            fire(s, sj, now_us, STORE_REASON_AFTER, NULL, NULL, now_us);
        }
    }
}

/* ---- run events ---- */

/* A live run R that was never recorded leaves the live list and its job's count. */
static void run_leave(struct sched *s, struct sched_run *r)
{
    live_remove(s, r);
    if (r->waiting)
        r->owner->waiting--;
    else
        r->owner->active--;
}

void sched_run_recorded(struct sched *s, struct sched_run *r, int64_t id, int64_t now_us)
{
    struct sched_job *sj = r->owner;

    s->record_retry_us = 0;         /* the store writes */
    r->id = id;
    r->recorded = true;
    if (r->final_record) {
        r->final_record = false;
        sj->recording--;
    }
    if (store_run_state_finished(r->state) || id == 0) {
        /* a missed or skipped fire, or one already recorded (duplicate key) */
        if (!store_run_state_finished(r->state))
            run_leave(s, r);
        run_free(s, r);
    } else if (r->cancel_requested) {
        finish(s, r, STORE_RUN_CANCELLED, now_us);
    } else if (!r->waiting) {
        heap_push(&s->queue, r);
    }
    promote_waiting(s, sj);
    dispatch(s, now_us);
    job_maybe_free(s, sj);
}

/* Whether job_due() can handle fire R of SJ anew: a first attempt of a
 * cron, every or at fire of a live, unpaused job whose schedule still
 * yields that instant (not @reboot, not a fire of an edited schedule). */
static bool fire_again(const struct sched *s, const struct sched_job *sj,
                       const struct sched_run *r)
{
    return (r->reason == STORE_REASON_SCHEDULE || r->reason == STORE_REASON_CATCH_UP) && r->attempt == 1
           && !sj->removed && !sj->paused && r->fire_us > INT64_MIN
           && next_fire(sj->ver->job, s->cfg.default_zone, r->fire_us - 1) == r->fire_us;
}

/* The record of SJ's fire FIRE_US failed: the job goes back to it, so
 * that job_due() handles it again, with every fire since, once the store
 * is tried again. Fires recorded meanwhile are handled again too, and
 * their records are duplicates (the store's (job, fire, attempt) key),
 * so each fire keeps one run. The persisted last fire goes back with it,
 * so a restart meanwhile catches the fire up. The engine keeps nothing
 * per lost fire: an outage of hours costs one timer per job, and
 * job_due() bounds the rows it then writes. */
static void job_rewind(struct sched *s, struct sched_job *sj, int64_t fire_us)
{
    sj->rewound = true;
    if (fire_us <= sj->last_fire_us) {
        sj->last_fire_us = fire_us - 1;
        s->ops.job_state(s->ops.ctx, sj->ver->job, sj->ver->key, sj->paused, sj->failures,
                         sj->last_fire_us);
    }
    heap_remove(&s->timers, sj);
    if (fire_us < sj->next_us)
        sj->next_us = fire_us;
    sj->due_us = s->record_hold_us;
    if (heap_push(&s->timers, sj) < 0)
        sj->next_us = INT64_MAX;    /* out of memory: the job stays idle */
}

void sched_run_record_failed(struct sched *s, struct sched_run *r, int64_t now_us)
{
    struct sched_job *sj = r->owner;

    s->stats.record_failures++;
    if (r->final_record) {
        r->final_record = false;
        sj->recording--;
    }
    /* one wait per round of failures: a batch of records fails together */
    if (now_us >= s->record_hold_us) {
        s->record_retry_us = s->record_retry_us ? 2 * s->record_retry_us : RECORD_RETRY_MIN_US;
        if (s->record_retry_us > RECORD_RETRY_MAX_US)
            s->record_retry_us = RECORD_RETRY_MAX_US;
        s->record_hold_us = now_us + s->record_retry_us;
    }
    if (!store_run_state_finished(r->state)) {
        run_leave(s, r);
        r->waiting = false;
        if (r->cancel_requested) {
            r->state = STORE_RUN_CANCELLED;    /* replaced before it was recorded */
            r->finished_us = now_us;
        }
    }
    if (r->reason == STORE_REASON_MANUAL || (store_run_state_finished(r->state) && sj->removed)) {
        run_free(s, r);             /* the caller is told; a removed job's end is not a fire */
    } else if (fire_again(s, sj, r)) {
        job_rewind(s, sj, r->fire_us);
        run_free(s, r);
    } else {
        /* an event made it (a retry, an `after` fire): it is recorded
         * again as it is, from the retry heap (sched_tick()) */
        r->due_us = s->record_hold_us;
        if (heap_push(&s->retries, r) < 0)
            run_free(s, r);
        else
            sj->pending++;
    }
    promote_waiting(s, sj);
    dispatch(s, now_us);
    job_maybe_free(s, sj);
}

void sched_run_started(struct sched *s, struct sched_run *r, int pid, int64_t now_us)
{
    r->pid = pid;
    r->started_us = now_us;
    r->state = STORE_RUN_RUNNING;
    s->ops.update(s->ops.ctx, r);
}

static int64_t backoff_us(struct sched *s, const struct job *j, int attempt)
{
    double d = (double)j->retry.backoff_us;

    for (int i = 1; i < attempt && d < (double)j->retry.max_backoff_us; i++)
        d *= j->retry.factor;
    if (d > (double)j->retry.max_backoff_us)
        d = (double)j->retry.max_backoff_us;
    if (j->retry.jitter > 0)
        d += d * j->retry.jitter * ((double)(s->ops.random(s->ops.ctx) >> 11) / 9007199254740992.0);
    return (int64_t)d;
}

void sched_run_exited(struct sched *s, struct sched_run *r, const struct sched_result *res,
                      int64_t now_us)
{
    struct sched_job *sj = r->owner;
    const struct job *j = r->job;
    enum store_run_state st;
    bool ok, retry;
    char id[ID_LEN];

    s->running--;
    r->exit_code = res->exit_code;
    r->signal = res->signal;
    if (res->error)
        r->error = res->error;
    if (res->cancelled || r->cancel_requested)
        st = STORE_RUN_CANCELLED;
    else if (res->lost)
        st = STORE_RUN_LOST;
    else if (res->timed_out)
        st = STORE_RUN_TIMED_OUT;
    else if (res->exit_code == 0 && res->signal == 0)
        st = STORE_RUN_SUCCEEDED;
    else
        st = STORE_RUN_FAILED;
    /* the run's end is applied before anything reads it: the dead letter,
     * the notifications and the retry all see its final state */
    r->state = st;
    r->finished_us = now_us;
    ok = st == STORE_RUN_SUCCEEDED;
    retry = !ok && st != STORE_RUN_CANCELLED && r->attempt < j->retry.max_attempts && !sj->removed;
    if (st == STORE_RUN_TIMED_OUT)
        notify(s, j, r, JOB_ON_TIMEOUT);
    if (retry) {
        struct sched_run *next = run_new(s, sj, r->ver, r->fire_us, r->attempt + 1,
                                         STORE_REASON_RETRY, STORE_RUN_QUEUED, now_us);

        if (next) {
            next->due_us = now_us + backoff_us(s, j, r->attempt);
            next->priority = r->priority;
            /* a retry is the same fire: a trigger's params too (the
             * runner checks them again against the version it runs) */
            next->params = r->params ? strdup(r->params) : NULL;
            sj->pending++;
            heap_push(&s->retries, next);
            s->stats.retries++;
            notify(s, j, r, JOB_ON_RETRY);
        }
    } else if (ok) {
        if (sj->failures > 0)
            notify(s, j, r, JOB_ON_RECOVERY);
        sj->failures = 0;
        notify(s, j, r, JOB_ON_SUCCESS);
    } else if (st != STORE_RUN_CANCELLED) {
        sj->failures++;
        s->stats.dead_letters++;
        r->dead_letter = true;      /* written with its final state, by finish() */
        notify(s, j, r, JOB_ON_FAILURE);
    }
    if (!retry && st != STORE_RUN_CANCELLED)
        s->ops.job_state(s->ops.ctx, j, sj->ver->key, sj->paused, sj->failures, sj->last_fire_us);
    job_id(j, id, sizeof id);
    finish(s, r, st, now_us);       /* frees R */
    if (!retry && !ok && st != STORE_RUN_CANCELLED && j == sj->ver->job
        && j->disable_after_failures > 0 && sj->failures >= j->disable_after_failures
        && !sj->paused) {
        sched_job_pause(s, id, true, now_us, NULL);
        notify(s, j, NULL, JOB_ON_DISABLED);
    }
    if (!retry && st != STORE_RUN_CANCELLED)
        upstream_done(s, id, ok, now_us);
    promote_waiting(s, sj);
    dispatch(s, now_us);
    job_maybe_free(s, sj);
}

/* ---- jobs ---- */

/* The engine keeps what it schedules by: the host sees the body first. */
static void keep_head(struct sched *s, struct job *j, int64_t key, int64_t version)
{
    if (!j->body)
        return;
    if (s->ops.job_put)
        s->ops.job_put(s->ops.ctx, j, key, version);
    job_body_drop(j);
}

/* Arms SJ from the first fire that counts (sched_first_fire()). One
 * already due is handled at the next tick by job_due(), like a backlog:
 * it runs as a catch-up within the grace and is missed beyond it, so a
 * job created with its instant past, or one whose first fires fell while
 * the daemon was down, leaves a run for each. */
static void arm_put(struct sched *s, struct sched_job *sj, int64_t since_us, int64_t now_us)
{
    arm(s, sj, count_after(sj->ver->job, sj->last_fire_us, since_us));
    sj->recovering = sj->next_us < now_us;
}

int sched_job_put(struct sched *s, struct job *j, int64_t key, int64_t version,
                  int64_t last_fire_us, int64_t since_us, int64_t now_us, struct err *err)
{
    struct version *v = NULL;
    struct sched_job *sj;
    signed char *up = NULL;
    char id[ID_LEN];
    int rc;

    v = calloc(1, sizeof *v);
    if (!v || (j->sched.kind == JOB_AFTER && !(up = calloc(j->sched.n_after, 1)))
        || after_reserve(s) < 0) {
        free(v);
        free(up);
        rc = err_set(err, CHIME_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    v->job = j;
    v->key = key;
    v->version = version;
    v->refs = 1;
    job_id(j, id, sizeof id);
    sj = find(s, id);
    if (sj) {
        keep_head(s, j, key, version);
        after_set(s, sj, up);
        version_put(sj->ver);
        sj->ver = v;
        sj->paused = j->paused;
        if (last_fire_us > sj->last_fire_us)
            sj->last_fire_us = last_fire_us;
        arm_put(s, sj, since_us, now_us);
        return 0;
    }
    sj = calloc(1, sizeof *sj);
    if (sj)
        sj->ver = v;            /* insert() hashes its job's name */
    if (!sj || insert(s, sj) < 0) {
        free(sj);
        free(up);
        free(v);
        rc = err_set(err, CHIME_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    keep_head(s, j, key, version);
    after_set(s, sj, up);
    sj->pos = HEAP_NONE;
    sj->paused = j->paused;
    sj->last_fire_us = last_fire_us;
    arm_put(s, sj, since_us, now_us);
    return 0;
fail:
    job_free(j);
    return rc;
}

int sched_job_remove(struct sched *s, const char *id, struct err *err)
{
    struct sched_job *sj = find(s, id);

    if (!sj)
        return err_set(err, CHIME_ENOTFOUND, "job", "no job '%s'", id);
    heap_remove(&s->timers, sj);
    sj->removed = true;
    /* pending retries of a removed job are dropped, recorded as cancelled */
    for (size_t i = s->retries.n; i-- > 0;) {
        struct sched_run *r = s->retries.v[i];

        if (r->owner == sj) {
            heap_remove(&s->retries, r);
            sj->pending--;
            r->state = STORE_RUN_CANCELLED;
            r->error = "job removed before its retry";
            record_final_run(s, r);
        }
    }
    job_maybe_free(s, sj);
    return 0;
}

int sched_job_pause(struct sched *s, const char *id, bool paused, int64_t now_us,
                    struct err *err)
{
    struct sched_job *sj = find(s, id);

    if (!sj)
        return err_set(err, CHIME_ENOTFOUND, "job", "no job '%s'", id);
    if (sj->paused == paused)
        return 0;
    sj->paused = paused;
    if (!paused) {
        sj->failures = 0;
        if (sj->last_fire_us < now_us)
            sj->last_fire_us = now_us;  /* fires while paused are not caught up */
    }
    arm(s, sj, sj->last_fire_us > now_us ? sj->last_fire_us : now_us);
    s->ops.job_state(s->ops.ctx, sj->ver->job, sj->ver->key, paused, sj->failures, sj->last_fire_us);
    return 0;
}

const struct job *sched_job_get(const struct sched *s, const char *id)
{
    const struct sched_job *sj = find(s, id);

    return sj ? sj->ver->job : NULL;
}

int64_t sched_job_next(const struct sched *s, const char *id)
{
    const struct sched_job *sj = find(s, id);

    return sj ? sj->next_us : INT64_MAX;
}

/* The live run of SJ that refuses a new one under its concurrency, with
 * WHY; NULL when a new run may enter (replace always may: it cancels).
 * The same rules fire() applies to a scheduled fire. */
static struct sched_run *trigger_refused(struct sched *s, struct sched_job *sj,
                                         const char **why)
{
    const struct job *j = sj->ver->job;
    struct sched_run *oldest = NULL;

    if (sj->active == 0)
        return NULL;
    if (j->concurrency == JOB_FORBID)
        *why = "a run of the job is active";
    else if (j->concurrency == JOB_ALLOW && sj->active >= j->max_instances)
        *why = "max_instances runs are active";
    else if (j->concurrency == JOB_QUEUE && sj->waiting >= j->max_instances)
        *why = "the job's queue is full";
    else
        return NULL;
    /* the oldest active run names the conflict: the one that ends first */
    for (struct sched_run *r = s->live; r; r = r->next)
        if (r->owner == sj && !r->waiting && (!oldest || r->seq < oldest->seq))
            oldest = r;
    return oldest;
}

int sched_trigger(struct sched *s, const char *id, const char *params, const char *who,
                  int64_t now_us, struct sched_run **ret_run, struct err *err)
{
    struct sched_job *sj = find(s, id);
    struct sched_run *r;
    const char *why = NULL;

    if (!sj)
        return err_set(err, CHIME_ENOTFOUND, "job", "no job '%s'", id);
    r = trigger_refused(s, sj, &why);
    if (r) {
        if (ret_run)
            *ret_run = r;
        if (r->id > 0)
            return err_set(err, CHIME_ECONFLICT, "job",
                           "job '%s' refuses another run now: %s (run %lld)", id, why,
                           (long long)r->id);
        return err_set(err, CHIME_ECONFLICT, "job",
                       "job '%s' refuses another run now: %s (a run being recorded)", id, why);
    }
    r = fire(s, sj, now_us, STORE_REASON_MANUAL, params, who, now_us);
    if (!r)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    if (ret_run)
        *ret_run = r;
    return 0;
}

int sched_run_adopt(struct sched *s, const char *job_id, int64_t run_id, int64_t fire_us,
                    int attempt, enum store_reason reason, bool running, void *user,
                    int64_t now_us, struct sched_run **ret)
{
    struct sched_job *sj = find(s, job_id);
    struct sched_run *r;

    if (!sj)
        return -CHIME_ENOTFOUND;
    r = run_new(s, sj, sj->ver, fire_us, attempt, reason,
                running ? STORE_RUN_RUNNING : STORE_RUN_QUEUED, now_us);
    if (!r)
        return -CHIME_ENOMEM;
    r->id = run_id;
    r->user = user;
    r->recorded = true;
    sj->active++;
    live_add(s, r);
    if (running) {
        s->running++;
    } else {
        heap_push(&s->queue, r);
        dispatch(s, now_us);
    }
    *ret = r;
    return 0;
}

/* ---- time ---- */

int64_t sched_tick(struct sched *s, int64_t now_us)
{
    struct sched_job *sj;
    struct sched_run *r;
    int64_t next = INT64_MAX;

    if (!s->ticked) {
        s->ticked = true;
        for (size_t b = 0; b < s->nbuckets; b++)
            for (sj = s->buckets[b]; sj; sj = sj->hnext)
                if (!sj->removed && !sj->paused && sj->ver->job->sched.kind == JOB_CRON
                    && (sj->ver->job->sched.cron.flags & CRON_REBOOT))
                    fire(s, sj, now_us, STORE_REASON_SCHEDULE, NULL, NULL, now_us);
    }
    while ((r = heap_peek(&s->retries)) && r->due_us <= now_us) {
        heap_pop(&s->retries);
        r->owner->pending--;
        if (store_run_state_finished(r->state)) {
            record_final_run(s, r);     /* its record failed before: once more */
            continue;
        }
        r->queued_us = now_us;
        run_enter(s, r, false);
    }
    while ((sj = heap_peek(&s->timers)) && (sj->due_us <= now_us || early_ok(s, sj, now_us))) {
        int64_t at = sj->due_us > now_us ? sj->due_us : now_us;

        heap_pop(&s->timers);
        s->start_at_us = at > now_us ? at : 0;
        job_due(s, sj, at, now_us);
        s->start_at_us = 0;
    }
    if ((sj = heap_peek(&s->timers)))
        next = sj->due_us - (sj->active || sj->waiting || sj->recovering ? 0 : s->cfg.lead_us);
    if ((r = heap_peek(&s->retries)) && r->due_us < next)
        next = r->due_us;
    return next;
}

/* ---- lifecycle ---- */

int sched_new(const struct sched_ops *ops, const struct sched_config *cfg, struct sched **ret)
{
    struct sched *s = calloc(1, sizeof *s);

    if (!s)
        return -CHIME_ENOMEM;
    s->ops = *ops;
    s->cfg = *cfg;
    heap_init(&s->timers, timer_less, timer_pos);
    heap_init(&s->retries, retry_less, run_pos);
    heap_init(&s->queue, queue_less, run_pos);
    *ret = s;
    return 0;
}

void sched_free(struct sched *s)
{
    struct sched_run *r;

    if (!s)
        return;
    heap_release(&s->queue);        /* its runs are on the live list too */
    heap_release(&s->timers);
    while ((r = heap_pop(&s->retries)))
        run_free(s, r);
    heap_release(&s->retries);
    while ((r = s->live)) {
        s->live = r->next;
        run_free(s, r);
    }
    for (size_t b = 0; b < s->nbuckets; b++)
        while (s->buckets[b]) {
            struct sched_job *sj = s->buckets[b];

            s->buckets[b] = sj->hnext;
            job_release(sj);
        }
    free(s->buckets);
    free(s->after_jobs);
    free(s);
}

void sched_stats(const struct sched *s, struct sched_stats *ret)
{
    *ret = s->stats;
    ret->running = s->running;
    ret->queued = (int)s->queue.n;
}
