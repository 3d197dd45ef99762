/* cron_bench.c: parse and next() throughput of the time engine.
 *
 * For each expression of the fixed set: ns per cron_parse() and ns
 * per cron_next() (chained: each call starts from the previous fire, over
 * a run of consecutive fires from 2026-01-01), the median of RUNS runs, and
 * the compiled size. Prints the machine it ran on. Not a test: figures go
 * to bench/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "machine.h"

#include "time/cron.h"
#include "time/tz.h"
#include "util/err.h"

#define RUNS 9
#define PARSES 200000
#define NEXTS 200000

static const struct {
    const char *expr;
    const char *zone;
} set[] = {
    { "*/5 9-17 * * MON-FRI", "UTC" },
    { "0 0 29 2 *", "UTC" },
    { "0 0 L * *", "UTC" },
    { "30 2 * * *", "America/New_York" },
    { "0 */15 * * * *", "UTC" },
    { "0 0 12 ? * 2#3", "UTC" },
};

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

int main(void)
{
    volatile int64_t sink = 0;

    print_machine();
    printf("sizeof(struct cron) = %zu bytes; median of %d runs\n\n", sizeof(struct cron), RUNS);
    printf("%-24s %-18s %10s %10s\n", "expression", "zone", "parse ns", "next ns");
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        double parse_ns[RUNS], next_ns[RUNS];
        const struct tz *z;
        struct err err = { 0 };
        struct cron c;

        if (tz_load(set[i].zone, &z, &err) < 0) {
            fprintf(stderr, "%s: %s\n", set[i].zone, err.msg);
            return 1;
        }
        for (int r = 0; r < RUNS; r++) {
            double t0 = now_ns();
            int64_t t = 1767225600 * INT64_C(1000000);  /* 2026-01-01T00:00:00Z */

            for (int k = 0; k < PARSES; k++) {
                if (cron_parse(set[i].expr, &c, &err) < 0) {
                    fprintf(stderr, "%s: %s\n", set[i].expr, err.msg);
                    return 1;
                }
                sink += c.flags;
            }
            parse_ns[r] = (now_ns() - t0) / PARSES;
            t0 = now_ns();
            for (int k = 0; k < NEXTS; k++)
                if (cron_next(&c, z, t, &t, &err) < 0)
                    t = 1767225600 * INT64_C(1000000);   /* past 9999: start over */
            next_ns[r] = (now_ns() - t0) / NEXTS;
            sink += t;
        }
        printf("%-24s %-18s %10.1f %10.1f\n", set[i].expr, set[i].zone,
               median(parse_ns, RUNS), median(next_ns, RUNS));
    }
    return sink == 42;
}
