/* metrics_test.c: the metrics registry and its Prometheus text: escaping,
 * cumulative buckets with +Inf, the bound on label values, updates from
 * several threads. */
#include "util/metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../banned.h"

static char *render(struct metrics *m)
{
    char *text = NULL;
    size_t len = 0;

    assert_int_equal(metrics_render(m, NULL, NULL, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

static void assert_has(const char *text, const char *line)
{
    if (!strstr(text, line))
        fail_msg("missing line '%s' in:\n%s", line, text);
}

static void test_metrics_counter_renders_help_type_and_labels(void **state)
{
    static const char *const labels[] = {"chime_job", "state", NULL};
    struct metrics *m = metrics_new();
    struct metric_family *f;
    char *text;

    (void)state;
    f = metrics_family(m, METRIC_COUNTER, "chime_runs_total", "Runs that ended\nby state", labels,
                       NULL, 0, -1, 0);
    assert_non_null(f);
    assert_ptr_equal(metrics_family(m, METRIC_COUNTER, "chime_runs_total", "again", labels, NULL,
                                    0, -1, 0),
                     f);
    metrics_inc(f, (const char *const[]){"default/a", "succeeded"});
    metrics_inc(f, (const char *const[]){"default/a", "succeeded"});
    metric_add(metrics_get(f, (const char *const[]){"default/a", "failed"}), 3);
    metric_add(metrics_get(f, (const char *const[]){"default/a", "failed"}), -5); /* ignored */
    text = render(m);
    assert_has(text, "# HELP chime_runs_total Runs that ended\\nby state\n");
    assert_has(text, "# TYPE chime_runs_total counter\n");
    assert_has(text, "chime_runs_total{chime_job=\"default/a\",state=\"succeeded\"} 2\n");
    assert_has(text, "chime_runs_total{chime_job=\"default/a\",state=\"failed\"} 3\n");
    assert_has(text, "# TYPE process_open_fds gauge\n");
    free(text);
    metrics_free(m);
}

static void test_metrics_escapes_label_values(void **state)
{
    static const char *const labels[] = {"v", NULL};
    struct metrics *m = metrics_new();
    struct metric_family *f =
        metrics_family(m, METRIC_GAUGE, "g", "a gauge", labels, NULL, 0, -1, 0);
    char *text;

    (void)state;
    metric_set(metrics_get(f, (const char *const[]){"a\"b\\c\nd"}), 1.5);
    metric_set(metrics_get(f, (const char *const[]){"bad\xff utf8"}), -2);
    metric_set(metrics_get(f, (const char *const[]){"caf\xc3\xa9"}), 0.25);
    metric_set(metrics_get(f, (const char *const[]){"third"}), 0.1 + 0.2);
    metric_set(metrics_get(f, (const char *const[]){"big"}), 1e300);
    text = render(m);
    assert_has(text, "g{v=\"a\\\"b\\\\c\\nd\"} 1.5\n");
    assert_has(text, "g{v=\"bad\xef\xbf\xbd utf8\"} -2\n");
    assert_has(text, "g{v=\"caf\xc3\xa9\"} 0.25\n");
    /* the shortest text that reads back as the same double */
    assert_has(text, "g{v=\"third\"} 0.30000000000000004\n");
    assert_has(text, "g{v=\"big\"} 1e+300\n");
    free(text);
    metrics_free(m);
}

static void test_metrics_histogram_buckets_are_cumulative_with_inf(void **state)
{
    static const double bounds[] = {0.1, 1, 10};
    static const char *const labels[] = {"route", NULL};
    struct metrics *m = metrics_new();
    struct metric_family *f = metrics_family(m, METRIC_HISTOGRAM, "h_seconds", "a histogram",
                                             labels, bounds, 3, -1, 0);
    struct metric *s = metrics_get(f, (const char *const[]){"/x"});
    char *text;

    (void)state;
    metric_observe(s, 0.05);
    metric_observe(s, 0.1);     /* le is inclusive */
    metric_observe(s, 0.5);
    metric_observe(s, 100);
    assert_true(metric_value(s) == 4);
    text = render(m);
    assert_has(text, "# TYPE h_seconds histogram\n");
    assert_has(text, "h_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n");
    assert_has(text, "h_seconds_bucket{route=\"/x\",le=\"1\"} 3\n");
    assert_has(text, "h_seconds_bucket{route=\"/x\",le=\"10\"} 3\n");
    assert_has(text, "h_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n");
    assert_has(text, "h_seconds_sum{route=\"/x\"} 100.65\n");
    assert_has(text, "h_seconds_count{route=\"/x\"} 4\n");
    free(text);
    metrics_free(m);
}

static void test_metrics_refuses_malformed_families(void **state)
{
    static const double down[] = {1, 0.5};
    struct metrics *m = metrics_new();

    (void)state;
    assert_null(metrics_family(m, METRIC_HISTOGRAM, "h", "h", NULL, NULL, 0, -1, 0));
    assert_null(metrics_family(m, METRIC_HISTOGRAM, "h", "h", NULL, down, 2, -1, 0));
    assert_null(metrics_family(m, METRIC_COUNTER, "c", "c", NULL, NULL, 0, 0, 5));
    assert_null(metrics_family(NULL, METRIC_COUNTER, "c", "c", NULL, NULL, 0, -1, 0));
    metric_inc(NULL);           /* updates of nothing do nothing */
    metrics_inc(NULL, NULL);
    metrics_free(m);
    metrics_free(NULL);
}

static void test_metrics_bounds_label_values_under_other(void **state)
{
    static const char *const labels[] = {"chime_job", "state", NULL};
    struct metrics *m = metrics_new();
    struct metric_family *f = metrics_family(m, METRIC_COUNTER, "runs_total", "runs", labels,
                                             NULL, 0, 0, 2);
    char *text;

    (void)state;
    metrics_inc(f, (const char *const[]){"ns/a", "failed"});
    metrics_inc(f, (const char *const[]){"ns/b", "failed"});
    metrics_inc(f, (const char *const[]){"ns/c", "failed"});
    metrics_inc(f, (const char *const[]){"ns/d", "failed"});
    metrics_inc(f, (const char *const[]){"ns/d", "succeeded"});
    metrics_inc(f, (const char *const[]){"ns/a", "succeeded"}); /* admitted: its own */
    text = render(m);
    assert_has(text, "runs_total{chime_job=\"ns/a\",state=\"failed\"} 1\n");
    assert_has(text, "runs_total{chime_job=\"ns/a\",state=\"succeeded\"} 1\n");
    assert_has(text, "runs_total{chime_job=\"ns/b\",state=\"failed\"} 1\n");
    assert_has(text, "runs_total{chime_job=\"other\",state=\"failed\"} 2\n");
    assert_has(text, "runs_total{chime_job=\"other\",state=\"succeeded\"} 1\n");
    assert_null(strstr(text, "ns/c"));
    free(text);
    metrics_free(m);
}

static void test_metrics_caps_series_per_family(void **state)
{
    static const char *const labels[] = {"n", NULL};
    struct metrics *m = metrics_new();
    struct metric_family *f =
        metrics_family(m, METRIC_COUNTER, "many_total", "many", labels, NULL, 0, -1, 0);
    char v[32], *text;

    (void)state;
    for (int i = 0; i < METRICS_SERIES_MAX + 10; i++) {
        snprintf(v, sizeof v, "%d", i);
        metrics_inc(f, (const char *const[]){v});
    }
    text = render(m);
    assert_has(text, "chime_metrics_series_dropped_total 10\n");
    assert_has(text, "many_total{n=\"4095\"} 1\n");
    assert_null(strstr(text, "many_total{n=\"4096\"}"));
    free(text);
    metrics_free(m);
}

static void test_metrics_notify_delivery_feeds_its_families(void **state)
{
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    metrics_notify_delivery(m, "webhook", true);
    metrics_notify_delivery(m, "webhook", false);
    metrics_notify_delivery(m, "webhook", false);
    metrics_notify_delivery(NULL, "webhook", true);
    text = render(m);
    assert_has(text, "chime_notifications_delivered_total{type=\"webhook\"} 1\n");
    assert_has(text, "chime_notification_failures_total{type=\"webhook\"} 2\n");
    free(text);
    metrics_free(m);
}

#define THREADS 4
#define PER_THREAD 20000

struct worker {
    struct metric_family *c, *h;
    int id;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char v[8];

    snprintf(v, sizeof v, "%d", w->id % 2);
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_inc(w->c, (const char *const[]){v});
        metrics_observe(w->h, NULL, 0.5);
    }
    return NULL;
}

/* A scope that sees the namespace "tenant-a" only. */
static bool sees_tenant_a(void *ctx, const char *job)
{
    (*(int *)ctx)++;
    return !strncmp(job, "tenant-a/", 9);
}

static void test_metrics_scoped_render_shows_only_the_jobs_in_scope(void **state)
{
    static const char *const labels[] = {"chime_job", "state", NULL};
    static const char *const plain[] = {"reason", NULL};
    struct metrics *m = metrics_new();
    struct metric_family *f, *g;
    char *text = NULL;
    size_t len = 0;
    int asked = 0;

    (void)state;
    f = metrics_family(m, METRIC_COUNTER, "chime_runs_total", "Runs", labels, NULL, 0, 0, 2);
    g = metrics_family(m, METRIC_COUNTER, "chime_fires_total", "Fires", plain, NULL, 0, -1, 0);
    metrics_inc(f, (const char *const[]){"tenant-a/import", "succeeded"});
    metrics_inc(f, (const char *const[]){"tenant-b/secret-plan", "succeeded"});
    metrics_inc(f, (const char *const[]){"tenant-a/late", "failed"}); /* past the limit: other */
    metrics_inc(g, (const char *const[]){"manual"});
    assert_int_equal(metrics_render(m, sees_tenant_a, &asked, &text, &len), 0);
    assert_has(text, "chime_runs_total{chime_job=\"tenant-a/import\",state=\"succeeded\"} 1\n");
    assert_null(strstr(text, "tenant-b"));
    assert_null(strstr(text, "other")); /* it mixes both tenants */
    assert_null(strstr(text, "chime_fires_total")); /* daemon-wide */
    assert_null(strstr(text, "process_"));
    assert_true(asked >= 2);
    free(text);
    /* unscoped: everything */
    text = render(m);
    assert_has(text, "tenant-b/secret-plan");
    assert_has(text, "chime_fires_total{reason=\"manual\"} 1\n");
    free(text);
    metrics_free(m);
}

static void test_metrics_counts_every_update_from_threads(void **state)
{
    static const double bounds[] = {1};
    static const char *const labels[] = {"n", NULL};
    struct metrics *m = metrics_new();
    struct worker w[THREADS];
    pthread_t t[THREADS];
    char *text;

    (void)state;
    for (int i = 0; i < THREADS; i++) {
        w[i].c = metrics_family(m, METRIC_COUNTER, "c_total", "c", labels, NULL, 0, -1, 0);
        w[i].h = metrics_family(m, METRIC_HISTOGRAM, "h", "h", NULL, bounds, 1, -1, 0);
        w[i].id = i;
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    text = render(m);
    assert_has(text, "c_total{n=\"0\"} 40000\n");
    assert_has(text, "c_total{n=\"1\"} 40000\n");
    assert_has(text, "h_bucket{le=\"+Inf\"} 80000\n");
    assert_has(text, "h_sum 40000\n");
    free(text);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_counter_renders_help_type_and_labels),
        cmocka_unit_test(test_metrics_escapes_label_values),
        cmocka_unit_test(test_metrics_histogram_buckets_are_cumulative_with_inf),
        cmocka_unit_test(test_metrics_refuses_malformed_families),
        cmocka_unit_test(test_metrics_bounds_label_values_under_other),
        cmocka_unit_test(test_metrics_caps_series_per_family),
        cmocka_unit_test(test_metrics_notify_delivery_feeds_its_families),
        cmocka_unit_test(test_metrics_scoped_render_shows_only_the_jobs_in_scope),
        cmocka_unit_test(test_metrics_counts_every_update_from_threads),
    };

    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
