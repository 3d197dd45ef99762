/* metrics.c: the metrics registry and its Prometheus text (see metrics.h).
 *
 * Invariant: a family's series form a list that only grows at its tail. A
 * series is complete (label values copied, counters zero) before it is
 * linked with a release store, and readers follow the links with acquire
 * loads, so an update or a rendering never needs the lock: only making a
 * series does. Values are doubles kept as their bits in atomic 64-bit
 * words (adds are compare-and-swap loops); a histogram keeps one count per
 * bucket (not cumulative) and its sum, and rendering adds the buckets up,
 * so its +Inf bucket and _count are the same number even while it is
 * observed. */
#include "util/metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/utf8.h"
#include "../banned.h"

#define FAMILIES_MAX 64

struct metric {
    struct metric_family *f;
    char *values[METRICS_LABELS_MAX];
    uint64_t hash;
    _Atomic uint64_t bits;          /* counter, gauge: the value; histogram: the sum */
    _Atomic uint64_t *buckets;      /* histogram: n_bounds + 1 counts, the last +Inf */
    struct metric *_Atomic next;
};

struct metric_family {
    struct metrics *m;
    enum metric_type type;
    const char *name, *help;
    const char *const *labels;
    size_t n_labels;
    const double *bounds;
    size_t n_bounds;
    int limit_label;                /* -1: none */
    size_t limit;
    /* under m->lock */
    char **admitted;                /* the limit label's values with series of their own */
    size_t n_admitted;
    size_t n_series;
    struct metric *tail;
    struct metric *_Atomic head;
};

struct metrics {
    pthread_mutex_t lock;           /* making families and series */
    struct metric_family *families[FAMILIES_MAX];
    _Atomic size_t n_families;
    struct metric *dropped;         /* chime_metrics_series_dropped_total */
    struct metric_family *notify_ok, *notify_failed;
    double start_s;                 /* process start, seconds since the epoch */
};

/* ---- values ---- */

static double bits_double(uint64_t b)
{
    double d;

    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t double_bits(double d)
{
    uint64_t b;

    memcpy(&b, &d, sizeof b);
    return b;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);

    while (!atomic_compare_exchange_weak_explicit(p, &old, double_bits(bits_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void metric_add(struct metric *s, double v)
{
    if (!s || s->f->type == METRIC_HISTOGRAM || isnan(v))
        return;
    if (s->f->type == METRIC_COUNTER && v < 0)
        return;
    atomic_add_double(&s->bits, v);
}

void metric_inc(struct metric *s)
{
    metric_add(s, 1);
}

void metric_set(struct metric *s, double v)
{
    if (!s || s->f->type == METRIC_HISTOGRAM)
        return;
    atomic_store_explicit(&s->bits, double_bits(v), memory_order_relaxed);
}

void metric_observe(struct metric *s, double v)
{
    size_t i;

    if (!s || s->f->type != METRIC_HISTOGRAM || isnan(v))
        return;
    for (i = 0; i < s->f->n_bounds && v > s->f->bounds[i]; i++)
        ;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&s->bits, v);
}

static uint64_t histogram_count(const struct metric *s)
{
    uint64_t n = 0;

    for (size_t i = 0; i <= s->f->n_bounds; i++)
        n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    return n;
}

double metric_value(const struct metric *s)
{
    if (!s)
        return 0;
    if (s->f->type == METRIC_HISTOGRAM)
        return (double)histogram_count(s);
    return bits_double(atomic_load_explicit(&s->bits, memory_order_relaxed));
}

/* ---- the registry ---- */

static const char *const type_label[] = {"type", NULL};

struct metrics *metrics_new(void)
{
    struct metrics *m = calloc(1, sizeof *m);
    struct metric_family *f;
    struct timespec ts;

    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    f = metrics_family(m, METRIC_COUNTER, "chime_metrics_series_dropped_total",
                       "Updates not counted because their family reached its series limit", NULL,
                       NULL, 0, -1, 0);
    m->dropped = metrics_get(f, NULL);
    m->notify_ok = metrics_family(m, METRIC_COUNTER, "chime_notifications_delivered_total",
                                  "Notifications delivered, by channel type", type_label, NULL, 0,
                                  -1, 0);
    m->notify_failed = metrics_family(m, METRIC_COUNTER, "chime_notification_failures_total",
                                      "Notification delivery attempts that failed, by channel type",
                                      type_label, NULL, 0, -1, 0);
    if (!m->dropped || !m->notify_ok || !m->notify_failed) {
        metrics_free(m);
        return NULL;
    }
    return m;
}

static void series_free(struct metric *s)
{
    for (size_t i = 0; i < METRICS_LABELS_MAX; i++)
        free(s->values[i]);
    free(s->buckets);
    free(s);
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < atomic_load(&m->n_families); i++) {
        struct metric_family *f = m->families[i];
        struct metric *s = atomic_load(&f->head), *next;

        for (; s; s = next) {
            next = atomic_load(&s->next);
            series_free(s);
        }
        for (size_t k = 0; k < f->n_admitted; k++)
            free(f->admitted[k]);
        free(f->admitted);
        free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

struct metric_family *metrics_family(struct metrics *m, enum metric_type type, const char *name,
                                     const char *help, const char *const *labels,
                                     const double *bounds, size_t n_bounds, int limit_label,
                                     size_t limit)
{
    struct metric_family *f = NULL;
    size_t n_labels = 0, i;

    if (!m || !name || !help || (type == METRIC_HISTOGRAM && (!bounds || !n_bounds))
        || n_bounds > METRICS_BUCKETS_MAX)
        return NULL;
    while (labels && labels[n_labels])
        n_labels++;
    if (n_labels > METRICS_LABELS_MAX || limit_label >= (int)n_labels)
        return NULL;
    for (i = 1; i < n_bounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    pthread_mutex_lock(&m->lock);
    for (i = 0; i < m->n_families; i++)
        if (!strcmp(m->families[i]->name, name)) {
            f = m->families[i];
            goto done;
        }
    if (m->n_families == FAMILIES_MAX || !(f = calloc(1, sizeof *f)))
        goto done;
    if (limit_label >= 0 && !(f->admitted = calloc(limit ? limit : 1, sizeof *f->admitted))) {
        free(f);
        f = NULL;
        goto done;
    }
    f->m = m;
    f->type = type;
    f->name = name;
    f->help = help;
    f->labels = labels;
    f->n_labels = n_labels;
    f->bounds = type == METRIC_HISTOGRAM ? bounds : NULL;
    f->n_bounds = type == METRIC_HISTOGRAM ? n_bounds : 0;
    f->limit_label = limit_label;
    f->limit = limit;
    m->families[m->n_families] = f;
    atomic_store_explicit(&m->n_families, m->n_families + 1, memory_order_release);
done:
    pthread_mutex_unlock(&m->lock);
    return f;
}

/* FNV-1a over the values, each with its NUL. */
static uint64_t values_hash(const struct metric_family *f, const char *const *values)
{
    uint64_t h = 1469598103934665603u;

    for (size_t i = 0; i < f->n_labels; i++)
        for (const char *p = values[i];; p++) {
            h = (h ^ (unsigned char)*p) * 1099511628211u;
            if (!*p)
                break;
        }
    return h;
}

static struct metric *series_find(struct metric_family *f, const char *const *values,
                                  uint64_t hash)
{
    struct metric *s = atomic_load_explicit(&f->head, memory_order_acquire);

    for (; s; s = atomic_load_explicit(&s->next, memory_order_acquire)) {
        size_t i;

        if (s->hash != hash)
            continue;
        for (i = 0; i < f->n_labels && !strcmp(s->values[i], values[i]); i++)
            ;
        if (i == f->n_labels)
            return s;
    }
    return NULL;
}

/* Whether VALUE of the limit label may have series of its own; admits it
 * while there is room. Under the lock. */
static bool admitted(struct metric_family *f, const char *value)
{
    for (size_t i = 0; i < f->n_admitted; i++)
        if (!strcmp(f->admitted[i], value))
            return true;
    if (f->n_admitted == f->limit || !strcmp(value, METRICS_OTHER))
        return false;
    if (!(f->admitted[f->n_admitted] = strdup(value)))
        return false;
    f->n_admitted++;
    return true;
}

struct metric *metrics_get(struct metric_family *f, const char *const *values)
{
    static const char *const none[1] = {NULL};
    const char *v[METRICS_LABELS_MAX] = {"", "", "", ""};
    struct metric *s;
    uint64_t hash;
    size_t i;

    if (!f)
        return NULL;
    if (!values)
        values = none;
    for (i = 0; i < f->n_labels; i++)
        v[i] = values[i] ? values[i] : "";
    hash = values_hash(f, v);
    if ((s = series_find(f, v, hash)))
        return s;
    pthread_mutex_lock(&f->m->lock);
    if (f->limit_label >= 0 && !admitted(f, v[f->limit_label])) {
        v[f->limit_label] = METRICS_OTHER;
        hash = values_hash(f, v);
    }
    if ((s = series_find(f, v, hash)))
        goto done;
    if (f->n_series == METRICS_SERIES_MAX || !(s = calloc(1, sizeof *s)))
        goto full;
    s->f = f;
    s->hash = hash;
    for (i = 0; i < f->n_labels; i++)
        if (!(s->values[i] = strdup(v[i])))
            goto nomem;
    if (f->type == METRIC_HISTOGRAM && !(s->buckets = calloc(f->n_bounds + 1, sizeof *s->buckets)))
        goto nomem;
    f->n_series++;
    if (f->tail)
        atomic_store_explicit(&f->tail->next, s, memory_order_release);
    else
        atomic_store_explicit(&f->head, s, memory_order_release);
    f->tail = s;
    goto done;
nomem:
    series_free(s);
full:
    s = NULL;
    if (f->m->dropped)
        metric_inc(f->m->dropped);
done:
    pthread_mutex_unlock(&f->m->lock);
    return s;
}

void metrics_inc(struct metric_family *f, const char *const *values)
{
    metric_inc(metrics_get(f, values));
}

void metrics_observe(struct metric_family *f, const char *const *values, double v)
{
    metric_observe(metrics_get(f, values), v);
}

void metrics_notify_delivery(struct metrics *m, const char *type, bool ok)
{
    const char *v[METRICS_LABELS_MAX] = {type ? type : ""};

    if (m)
        metrics_inc(ok ? m->notify_ok : m->notify_failed, v);
}

/* ---- rendering ---- */

struct out {
    char *p;
    size_t len, cap;
    bool failed;
};

static void out_grow(struct out *o, size_t more)
{
    size_t cap = o->cap ? o->cap : 4096;
    char *p;

    if (o->failed || o->len + more + 1 <= o->cap)
        return;
    while (cap < o->len + more + 1)
        cap *= 2;
    if (!(p = realloc(o->p, cap))) {
        o->failed = true;
        return;
    }
    o->p = p;
    o->cap = cap;
}

static void out_mem(struct out *o, const char *s, size_t n)
{
    out_grow(o, n);
    if (o->failed)
        return;
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static void out_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_fmt(struct out *o, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (n > 0)
        out_mem(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* S escaped as the format wants: backslash and newline always, the double
 * quote in label values (QUOTE); invalid UTF-8 becomes U+FFFD. */
static void out_escaped(struct out *o, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    while (n) {
        size_t k = utf8_len(p, n);

        if (k == 0) {
            out_str(o, "\xef\xbf\xbd");
            k = 1;
        } else if (*p == '\\') {
            out_str(o, "\\\\");
        } else if (*p == '\n') {
            out_str(o, "\\n");
        } else if (*p == '"' && quote) {
            out_str(o, "\\\"");
        } else {
            out_mem(o, (const char *)p, k);
        }
        p += k;
        n -= k;
    }
}

/* A sample value: integers exactly, others in their shortest exact form. */
static void out_value(struct out *o, double v)
{
    if (isnan(v))
        out_str(o, "NaN");
    else if (isinf(v))
        out_str(o, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        out_fmt(o, "%.0f", v);
    else {
        char buf[40];

        /* the shortest form that reads back as the same double */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
        out_str(o, buf);
    }
}

/* {a="x",b="y"} with LE last when given; nothing without labels. */
static void out_labels(struct out *o, const struct metric *s, const char *le)
{
    const struct metric_family *f = s->f;

    if (!f->n_labels && !le)
        return;
    out_str(o, "{");
    for (size_t i = 0; i < f->n_labels; i++) {
        out_fmt(o, "%s%s=\"", i ? "," : "", f->labels[i]);
        out_escaped(o, s->values[i], true);
        out_str(o, "\"");
    }
    if (le)
        out_fmt(o, "%sle=\"%s\"", f->n_labels ? "," : "", le);
    out_str(o, "}");
}

static void out_family(struct out *o, const struct metric_family *f, metrics_scope_fn *scope,
                       void *ctx)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    struct metric *s = atomic_load_explicit(&f->head, memory_order_acquire);

    if (scope && f->limit_label < 0)
        return;
    out_fmt(o, "# HELP %s ", f->name);
    out_escaped(o, f->help, false);
    out_fmt(o, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    for (; s; s = atomic_load_explicit(&s->next, memory_order_acquire)) {
        if (scope) {
            const char *v = s->values[f->limit_label];

            if (!strcmp(v, METRICS_OTHER) || !scope(ctx, v))
                continue;
        }
        if (f->type != METRIC_HISTOGRAM) {
            out_str(o, f->name);
            out_labels(o, s, NULL);
            out_str(o, " ");
            out_value(o, bits_double(atomic_load_explicit(&s->bits, memory_order_relaxed)));
            out_str(o, "\n");
            continue;
        }
        uint64_t cum = 0;

        for (size_t i = 0; i <= f->n_bounds; i++) {
            char le[40];

            cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
            if (i < f->n_bounds)
                snprintf(le, sizeof le, "%.15g", f->bounds[i]);
            else
                snprintf(le, sizeof le, "+Inf");
            out_fmt(o, "%s_bucket", f->name);
            out_labels(o, s, le);
            out_fmt(o, " %llu\n", (unsigned long long)cum);
        }
        out_fmt(o, "%s_sum", f->name);
        out_labels(o, s, NULL);
        out_str(o, " ");
        out_value(o, bits_double(atomic_load_explicit(&s->bits, memory_order_relaxed)));
        out_fmt(o, "\n%s_count", f->name);
        out_labels(o, s, NULL);
        out_fmt(o, " %llu\n", (unsigned long long)cum);
    }
}

/* The process's own: start time, CPU, memory, file descriptors (Linux). */
static void out_process(struct out *o, const struct metrics *m)
{
    struct rusage ru;
    struct rlimit rl;
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long vsz = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    DIR *d;
    long fds = 0;

    if (f) {
        if (fscanf(f, "%llu %llu", &vsz, &rss) != 2)
            vsz = rss = 0;
        fclose(f);
    }
    if ((d = opendir("/proc/self/fd"))) {
        struct dirent *e;

        while ((e = readdir(d)))
            fds += e->d_name[0] != '.';
        closedir(d);
        fds--; /* the directory's own */
    }
    out_str(o, "# HELP process_start_time_seconds Start time of the process since unix epoch in "
               "seconds\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ");
    out_value(o, m->start_s);
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        out_str(o, "\n# HELP process_cpu_seconds_total Total user and system CPU time spent in "
                   "seconds\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ");
        out_value(o, (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
                         + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    }
    out_str(o, "\n# HELP process_resident_memory_bytes Resident memory size in bytes\n"
               "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ");
    out_value(o, (double)rss * (double)page);
    out_str(o, "\n# HELP process_virtual_memory_bytes Virtual memory size in bytes\n"
               "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes ");
    out_value(o, (double)vsz * (double)page);
    out_str(o, "\n# HELP process_open_fds Number of open file descriptors\n"
               "# TYPE process_open_fds gauge\nprocess_open_fds ");
    out_value(o, (double)(fds > 0 ? fds : 0));
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        out_str(o, "\n# HELP process_max_fds Maximum number of open file descriptors\n"
                   "# TYPE process_max_fds gauge\nprocess_max_fds ");
        out_value(o, rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
    }
    out_str(o, "\n");
}

int metrics_render(struct metrics *m, metrics_scope_fn *scope, void *ctx, char **ret,
                   size_t *ret_len)
{
    struct out o = {0};
    size_t n = m ? atomic_load_explicit(&m->n_families, memory_order_acquire) : 0;

    for (size_t i = 0; i < n; i++)
        out_family(&o, m->families[i], scope, ctx);
    if (m && !scope)
        out_process(&o, m);
    out_grow(&o, 0);
    if (!o.failed)
        o.p[o.len] = '\0';
    if (o.failed) {
        free(o.p);
        return -CHIME_ENOMEM;
    }
    *ret = o.p;
    *ret_len = o.len;
    return 0;
}
