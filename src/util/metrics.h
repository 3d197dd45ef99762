/* metrics.h: a registry of counters, gauges and histograms, rendered in
 * the Prometheus text exposition format (version 0.0.4) for /metrics.
 *
 * A family (one metric name, its help, its label names and, for a
 * histogram, its bucket bounds) is defined once; a series is one set of
 * label values of a family, found or made by metrics_get(). Updating a
 * series is lock-free (atomics), so the loop, the store thread and the
 * HTTP threads all update the same registry; making a series takes the
 * registry's small lock, and rendering reads without stopping anybody
 * (series are published once complete and never removed).
 *
 * Cardinality is bounded twice. A family may name a LIMIT label (the job
 * label of the per-job families): once LIMIT distinct values of it have
 * series, any further value is counted under the value "other". And every
 * family holds at most METRICS_SERIES_MAX series: past that, metrics_get()
 * returns NULL and updates of NULL do nothing (counted in
 * chime_metrics_series_dropped_total).
 *
 * Other modules feed the registry they are given (their options carry a
 * `struct metrics *`, which may be NULL: then nothing is counted). The
 * notifications module reports each delivery attempt with
 * metrics_notify_delivery(). */
#ifndef CHIME_METRICS_H
#define CHIME_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metrics;
struct metric_family;
struct metric;

#define METRICS_SERIES_MAX 4096  /* series of one family */
#define METRICS_LABELS_MAX 4     /* labels of one family */
#define METRICS_BUCKETS_MAX 24   /* bounds of one histogram (+Inf is added) */
#define METRICS_OTHER "other"    /* the LIMIT label's value past its limit */

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* Returns an owned registry, or NULL when out of memory. It has the
 * notification families (see metrics_notify_delivery) from the start. */
struct metrics *metrics_new(void);
/* Frees M and everything in it; no thread may use it any more. */
void metrics_free(struct metrics *m);

/* Defines a family, or returns the one of the same NAME. NAME and HELP
 * and LABELS (NULL-terminated, at most METRICS_LABELS_MAX) and BOUNDS
 * (ascending upper bounds of a histogram's buckets, N_BOUNDS of them) are
 * borrowed and must outlive M: static text. LIMIT_LABEL is the index of
 * the label whose distinct values are bounded by LIMIT (-1: none).
 * NULL when M is NULL, out of memory, or the definition is malformed. */
struct metric_family *metrics_family(struct metrics *m, enum metric_type type, const char *name,
                                     const char *help, const char *const *labels,
                                     const double *bounds, size_t n_bounds, int limit_label,
                                     size_t limit);
/* The series of F with label VALUES (one per label, in order; NULL when
 * the family has none), made on first use; the values are copied. NULL
 * when F is NULL or the family is full. Borrowed: it lives as long as M. */
struct metric *metrics_get(struct metric_family *f, const char *const *values);

/* Updates; each does nothing for NULL. Counters only go up (a negative V
 * is ignored); metric_set() on a counter is for a count kept elsewhere
 * that only grows (the engine's totals). */
void metric_add(struct metric *s, double v);
void metric_inc(struct metric *s);
void metric_set(struct metric *s, double v);
void metric_observe(struct metric *s, double v);
/* The series' value (counter, gauge) or its count (histogram). */
double metric_value(const struct metric *s);

/* Shorthands: metrics_get(F, VALUES), then the update. */
void metrics_inc(struct metric_family *f, const char *const *values);
void metrics_observe(struct metric_family *f, const char *const *values, double v);

/* Whether a series whose LIMIT label (a job) has VALUE may be shown. */
typedef bool metrics_scope_fn(void *ctx, const char *value);

/* The registry as Prometheus text into *RET (owned, NUL-terminated),
 * families in the order they were defined. SCOPE NULL: all of it. With
 * SCOPE (called with CTX): only the series of families with a LIMIT label
 * whose value SCOPE accepts; METRICS_OTHER never (it mixes jobs), and the
 * families without a LIMIT label and the process's own not at all: they
 * are daemon-wide. -CHIME_ENOMEM. */
int metrics_render(struct metrics *m, metrics_scope_fn *scope, void *ctx, char **ret,
                   size_t *ret_len);

/* ---- for src/notify/ ----
 *
 * One attempt to deliver a notification over a channel of TYPE ("webhook",
 * "slack", "email"): OK when the endpoint took it. Feeds
 * chime_notifications_delivered_total{type} and
 * chime_notification_failures_total{type}. Any thread; M may be NULL. */
void metrics_notify_delivery(struct metrics *m, const char *type, bool ok);

#endif
