/* health.c: the measurements /healthz judges and the judgement (see
 * health.h). Time always comes in as an argument. */
#include "sched/health.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../banned.h"

#define S INT64_C(1000000)

void health_config_defaults(struct health_config *c)
{
    if (!c->loop_lag_us)
        c->loop_lag_us = S;
    if (!c->error_window_us)
        c->error_window_us = S * 60 * 15;
    if (!(c->error_rate > 0))
        c->error_rate = 0.5;
    if (!c->error_min_runs)
        c->error_min_runs = 10;
    if (!c->disk_degraded)
        c->disk_degraded = INT64_C(1) << 30;
    if (!c->disk_failing)
        c->disk_failing = INT64_C(100) << 20;
    if (!c->stuck_floor_us)
        c->stuck_floor_us = S * 60;
}

/* ---- the loop's lag ---- */

void health_lag_sample(struct health_lag *l, int64_t expected_us, int64_t actual_us)
{
    l->samples_us[l->next] = actual_us > expected_us ? actual_us - expected_us : 0;
    l->next = (l->next + 1) % HEALTH_LAG_SAMPLES;
}

int64_t health_lag_us(const struct health_lag *l, int64_t overdue_us)
{
    int64_t max = overdue_us > 0 ? overdue_us : 0;

    for (size_t i = 0; i < HEALTH_LAG_SAMPLES; i++)
        if (l->samples_us[i] > max)
            max = l->samples_us[i];
    return max;
}

/* ---- the error rate ---- */

void health_rate_init(struct health_rate *r, int64_t window_us)
{
    memset(r, 0, sizeof *r);
    r->width_us = window_us / HEALTH_RATE_BUCKETS;
    if (r->width_us < S)
        r->width_us = S;
    for (size_t i = 0; i < HEALTH_RATE_BUCKETS; i++)
        r->b[i].index = INT64_MIN;
}

void health_rate_add(struct health_rate *r, int64_t now_us, bool failed)
{
    int64_t idx = now_us / r->width_us;
    size_t slot = (size_t)(((idx % HEALTH_RATE_BUCKETS) + HEALTH_RATE_BUCKETS)
                           % HEALTH_RATE_BUCKETS);

    if (r->b[slot].index != idx) {      /* a bucket of a window gone by */
        r->b[slot].index = idx;
        r->b[slot].failed = r->b[slot].total = 0;
    }
    r->b[slot].total++;
    r->b[slot].failed += failed;
}

void health_rate_get(const struct health_rate *r, int64_t now_us, uint32_t *ret_failed,
                     uint32_t *ret_total)
{
    int64_t idx = now_us / r->width_us;
    uint32_t failed = 0, total = 0;

    for (size_t i = 0; i < HEALTH_RATE_BUCKETS; i++)
        if (r->b[i].index != INT64_MIN && r->b[i].index <= idx
            && r->b[i].index > idx - HEALTH_RATE_BUCKETS) {
            failed += r->b[i].failed;
            total += r->b[i].total;
        }
    *ret_failed = failed;
    *ret_total = total;
}

/* ---- recent durations ---- */

struct durations_slot {
    int64_t key;                /* 0: free */
    int32_t ms[HEALTH_DURATIONS_KEPT];
    uint8_t n, next;
};

/* Open addressing on the job key, at most half full: the table starts
 * small and doubles as jobs come, so the slots in use stay dense (a table
 * sized for MAX_JOBS up front put each new job on a page of its own, a
 * page fault per job's first run). A job past MAX_JOBS is not followed. */
#define DURATIONS_CAP_MIN 64

struct health_durations {
    size_t cap, used, max_jobs;
    struct durations_slot *slots;
};

struct health_durations *health_durations_new(size_t max_jobs)
{
    struct health_durations *d = calloc(1, sizeof *d);

    if (!d)
        return NULL;
    d->max_jobs = max_jobs ? max_jobs : 1;
    d->slots = NULL;            /* allocated on first use */
    return d;
}

void health_durations_free(struct health_durations *d)
{
    if (!d)
        return;
    free(d->slots);
    free(d);
}

static size_t slot_index(const struct durations_slot *slots, size_t cap, int64_t key)
{
    size_t i = (size_t)(((uint64_t)key * 11400714819323198485u) >> 32) & (cap - 1);

    while (slots[i].key && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    return i;
}

static struct durations_slot *slot_of(const struct health_durations *d, int64_t key)
{
    return d->slots ? &d->slots[slot_index(d->slots, d->cap, key)] : NULL;
}

/* Room for one more job: the table at most half full after it. */
static bool durations_room(struct health_durations *d)
{
    size_t cap = d->cap ? d->cap * 2 : DURATIONS_CAP_MIN;
    struct durations_slot *grown;

    if (d->slots && 2 * (d->used + 1) <= d->cap)
        return true;
    if (!(grown = calloc(cap, sizeof *grown)))
        return false;
    for (size_t i = 0; i < d->cap; i++)
        if (d->slots[i].key)
            grown[slot_index(grown, cap, d->slots[i].key)] = d->slots[i];
    free(d->slots);
    d->slots = grown;
    d->cap = cap;
    return true;
}

void health_durations_add(struct health_durations *d, int64_t key, int64_t dur_us)
{
    struct durations_slot *s;
    int64_t ms = dur_us / 1000;

    if (!d || key <= 0 || dur_us < 0)
        return;
    s = slot_of(d, key);
    if (!s || !s->key) {
        if (d->used == d->max_jobs || !durations_room(d))
            return;
        s = slot_of(d, key);
        s->key = key;
        d->used++;
    }
    s->ms[s->next] = ms > INT32_MAX ? INT32_MAX : (int32_t)ms;
    s->next = (uint8_t)((s->next + 1) % HEALTH_DURATIONS_KEPT);
    if (s->n < HEALTH_DURATIONS_KEPT)
        s->n++;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

    return (x > y) - (x < y);
}

int64_t health_durations_p95(const struct health_durations *d, int64_t key)
{
    const struct durations_slot *s = d ? slot_of(d, key) : NULL;
    int32_t v[HEALTH_DURATIONS_KEPT];
    size_t rank;

    if (!s || s->key != key || s->n < HEALTH_P95_MIN)
        return 0;
    memcpy(v, s->ms, sizeof v);
    qsort(v, s->n, sizeof v[0], cmp_i32);
    /* nearest rank: the smallest value with 95% of the samples at or below it */
    rank = (size_t)((95 * s->n + 99) / 100);
    return (int64_t)v[rank - 1] * 1000;
}

int64_t health_stuck_after(int64_t stuck_after_us, int64_t p95_us, int64_t timeout_us,
                           int64_t kill_grace_us, int64_t floor_us)
{
    int64_t by_p95 = 0, by_timeout = 0;

    if (stuck_after_us > 0)
        return stuck_after_us;
    if (p95_us > 0)
        by_p95 = 3 * p95_us > floor_us ? 3 * p95_us : floor_us;
    if (timeout_us > 0)
        by_timeout = timeout_us + (kill_grace_us > 0 ? kill_grace_us : 0);
    if (by_p95 && by_timeout)
        return by_p95 < by_timeout ? by_p95 : by_timeout;
    return by_p95 ? by_p95 : by_timeout;
}

bool health_rate_high(const struct health_config *c, uint32_t failed, uint32_t total)
{
    return total >= (uint32_t)c->error_min_runs && (double)failed > c->error_rate * (double)total;
}

/* ---- the judgement ---- */

static void judge(struct health_report *r, enum health_check ch, enum health_status st,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void judge(struct health_report *r, enum health_check ch, enum health_status st,
                  const char *fmt, ...)
{
    va_list ap;

    r->check[ch] = st;
    if (st > r->status)
        r->status = st;
    va_start(ap, fmt);
    vsnprintf(r->reason[ch], sizeof r->reason[ch], fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
}

/* "1.5 GiB"-like, for reasons. */
static const char *human_size(int64_t n, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    size_t u = 0;

    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

void health_evaluate(const struct health_config *c, const struct health_input *in,
                     struct health_report *ret)
{
    struct health_report r;
    char a[32], b[32];

    memset(&r, 0, sizeof r);
    if (!in->store_read_ok)
        judge(&r, HEALTH_STORE, HEALTH_FAILING, "the store does not answer reads: %s",
              in->store_error[0] ? in->store_error : "unknown error");
    else if (!in->store_ok)
        judge(&r, HEALTH_STORE, HEALTH_FAILING, "database writes failing: %s",
              in->store_error[0] ? in->store_error : "unknown error");
    /* start-up's work (the jobs directory's apply) keeps the loop from
     * beating: that is not lag, but no job fires until it ends */
    if (in->starting)
        judge(&r, HEALTH_LOOP, HEALTH_DEGRADED,
              "starting: no job fires until start-up has applied the jobs directory");
    else if (in->loop_lag_us > 10 * c->loop_lag_us)
        judge(&r, HEALTH_LOOP, HEALTH_FAILING,
              "the scheduler loop is %lld ms late, over 10 times the threshold of %lld ms",
              (long long)(in->loop_lag_us / 1000), (long long)(c->loop_lag_us / 1000));
    else if (in->loop_lag_us > c->loop_lag_us)
        judge(&r, HEALTH_LOOP, HEALTH_DEGRADED,
              "the scheduler loop is %lld ms late, over the threshold of %lld ms",
              (long long)(in->loop_lag_us / 1000), (long long)(c->loop_lag_us / 1000));
    if (in->stuck > 0)
        judge(&r, HEALTH_STUCK, HEALTH_DEGRADED, "%d run%s stuck beyond %s expected duration",
              in->stuck, in->stuck == 1 ? " is" : "s are", in->stuck == 1 ? "its" : "their");
    if (health_rate_high(c, in->failed, in->total))
        judge(&r, HEALTH_ERRORS, HEALTH_DEGRADED,
              "%u of the last %u finished runs failed, over the threshold of %.0f%%", in->failed,
              in->total, c->error_rate * 100);
    if (in->disk_known && in->disk_free < c->disk_failing)
        judge(&r, HEALTH_DISK, HEALTH_FAILING,
              "the data directory's disk has %s free, under %s",
              human_size(in->disk_free, a, sizeof a), human_size(c->disk_failing, b, sizeof b));
    else if (in->disk_known && in->disk_free < c->disk_degraded)
        judge(&r, HEALTH_DISK, HEALTH_DEGRADED,
              "the data directory's disk has %s free, under %s",
              human_size(in->disk_free, a, sizeof a), human_size(c->disk_degraded, b, sizeof b));
    if (in->spawner_down[0])
        judge(&r, HEALTH_SPAWNER, HEALTH_DEGRADED,
              "the spawner is down and runs wait for its restart: %s", in->spawner_down);
    *ret = r;
}

const char *health_status_name(enum health_status st)
{
    static const char *const names[] = {"ok", "degraded", "failing"};

    return st <= HEALTH_FAILING ? names[st] : "failing";
}

const char *health_check_name(enum health_check ch)
{
    static const char *const names[HEALTH_CHECK_COUNT] = {
        "store", "loop", "stuck_runs", "error_rate", "disk", "spawner",
    };

    return ch < HEALTH_CHECK_COUNT ? names[ch] : "unknown";
}
