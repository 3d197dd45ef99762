/* serve.c: `chime serve`, the daemon's options. Each option is a row: its
 * flag, its CHIME_* environment variable, its kind and its help; parsing,
 * the environment and --help all read the table. Flags win over the
 * environment. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify/channel.h"
#include "daemon/node.h"
#include "daemon/runas.h"
#include "time/tz.h"
#include "time/units.h"
#include "util/err.h"
#include "util/log.h"
#include "../banned.h"

enum kind { TEXT, LIST, COUNT, DURATION, FLAG, LOGFMT, LOGLEVEL, SIZE, FRACTION, TOTAL };

static const struct option_row {
    const char *flag;
    const char *env;
    enum kind kind;
    size_t offset;              /* in struct node_options; LOGFMT: none */
    const char *arg, *help;
} rows[] = {
    { "data-dir", "CHIME_DATA_DIR", TEXT, offsetof(struct node_options, data_dir), "DIR",
      "database, run output and working directories (default ./chime-data)" },
    { "listen", "CHIME_LISTEN", TEXT, offsetof(struct node_options, listen), "HOST:PORT",
      "where the API listens (default 127.0.0.1:8717)" },
    { "timezone", "CHIME_TIMEZONE", TEXT, offsetof(struct node_options, timezone), "ZONE",
      "zone of cron jobs that name none (default the system's)" },
    { "jobs-dir", "CHIME_JOBS_DIR", TEXT, offsetof(struct node_options, jobs_dir), "DIR",
      "JSON job documents applied at start and on SIGHUP" },
    { "max-concurrent", "CHIME_MAX_CONCURRENT", COUNT,
      offsetof(struct node_options, max_concurrent), "N", "runs at once (default 64)" },
    { "grace", "CHIME_GRACE", DURATION, offsetof(struct node_options, grace_us), "DURATION",
      "with --wait: how long shutdown waits for runs (default 30s)" },
    { "wait", "CHIME_WAIT", FLAG, offsetof(struct node_options, wait_runs), NULL,
      "on SIGTERM wait for running runs (else they go on and are re-attached)" },
    { "channels", "CHIME_CHANNELS", TEXT, offsetof(struct node_options, channels), "FILE",
      "notification channels (default DATA_DIR/channels.json if present; SIGHUP re-reads)" },
    { "keep-runs", "CHIME_KEEP_RUNS", COUNT, offsetof(struct node_options, keep_runs), "N",
      "finished runs kept per job, with their output (default 100)" },
    { "keep-for", "CHIME_KEEP_FOR", DURATION, offsetof(struct node_options, keep_for_us),
      "DURATION", "finished runs older than this are removed (default 30d)" },
    { "keep-output", "CHIME_KEEP_OUTPUT", SIZE, offsetof(struct node_options, keep_output),
      "SIZE", "output kept per job, newest runs first (default no cap)" },
    { "keep-dead-letters", "CHIME_KEEP_DEAD_LETTERS", COUNT,
      offsetof(struct node_options, keep_dead_letters), "N",
      "dead letters kept per job; they also expire with --keep-for (default 1000)" },
    { "keep-audit", "CHIME_KEEP_AUDIT", TOTAL, offsetof(struct node_options, keep_audit), "N",
      "audit entries kept (default 1000000)" },
    { "keep-audit-for", "CHIME_KEEP_AUDIT_FOR", DURATION,
      offsetof(struct node_options, keep_audit_for_us), "DURATION",
      "audit entries older than this are removed (default 365d)" },
    { "retention-every", "CHIME_RETENTION_EVERY", DURATION,
      offsetof(struct node_options, retention_every_us), "DURATION",
      "how often every job's history and the audit log are swept (default 1m)" },
    { "metrics-open", "CHIME_METRICS_OPEN", FLAG, offsetof(struct node_options, metrics_open),
      NULL, "serve /metrics without a token (a scraper on a trusted network)" },
    { "triggers-per-job", "CHIME_TRIGGERS_PER_JOB", COUNT,
      offsetof(struct node_options, triggers_per_job), "N",
      "manual triggers of one job a minute, in a burst or spread; past it 429 (default 10)" },
    { "triggers-per-token", "CHIME_TRIGGERS_PER_TOKEN", COUNT,
      offsetof(struct node_options, triggers_per_token), "N",
      "manual triggers by one token a minute, any jobs; past it 429 (default 60)" },
    { "api-connections", "CHIME_API_CONNECTIONS", COUNT,
      offsetof(struct node_options, api_connections), "N",
      "API connections at once; past it a newcomer cuts the one waiting longest for its request "
      "(default 256)" },
    { "api-connections-per-address", "CHIME_API_CONNECTIONS_PER_ADDRESS", COUNT,
      offsetof(struct node_options, api_connections_per_address), "N",
      "API connections from one address (IPv6: one /64), the same way (default 64)" },
    { "api-head-timeout", "CHIME_API_HEAD_TIMEOUT", DURATION,
      offsetof(struct node_options, api_head_timeout_us), "DURATION",
      "a request's head must have come whole within this of connecting or of the previous "
      "reply, however it trickles; else the connection is cut (default 10s)" },
    { "api-body-timeout", "CHIME_API_BODY_TIMEOUT", DURATION,
      offsetof(struct node_options, api_body_timeout_us), "DURATION",
      "a request's body must have come whole within this of its head (default 60s)" },
    { "log-format", "CHIME_LOG_FORMAT", LOGFMT, 0, "logfmt|json|text",
      "log lines on stderr: logfmt (default), JSON lines, or text for people" },
    { "log-level", "CHIME_LOG_LEVEL", LOGLEVEL, 0, "LEVEL",
      "debug, info (default), warn or error: lines below it are dropped" },
    { "metrics-jobs", "CHIME_METRICS_JOBS", COUNT, offsetof(struct node_options, metrics_jobs),
      "N", "jobs with /metrics series of their own; the rest are job \"other\" (default 100)" },
    { "health-loop-lag", "CHIME_HEALTH_LOOP_LAG", DURATION,
      offsetof(struct node_options, health.loop_lag_us), "DURATION",
      "/healthz: degraded when the loop is later than this, failing at 10 times (default 1s)" },
    { "health-error-rate", "CHIME_HEALTH_ERROR_RATE", FRACTION,
      offsetof(struct node_options, health.error_rate), "FRACTION",
      "/healthz: degraded when more of the window's finished runs failed (default 0.5)" },
    { "health-error-window", "CHIME_HEALTH_ERROR_WINDOW", DURATION,
      offsetof(struct node_options, health.error_window_us), "DURATION",
      "/healthz: the error rate's window (default 15m)" },
    { "health-error-min-runs", "CHIME_HEALTH_ERROR_MIN_RUNS", COUNT,
      offsetof(struct node_options, health.error_min_runs), "N",
      "/healthz: fewer finished runs in the window are not judged (default 10)" },
    { "health-disk-degraded", "CHIME_HEALTH_DISK_DEGRADED", SIZE,
      offsetof(struct node_options, health.disk_degraded), "SIZE",
      "/healthz: degraded with less free in the data directory (default 1G)" },
    { "health-disk-failing", "CHIME_HEALTH_DISK_FAILING", SIZE,
      offsetof(struct node_options, health.disk_failing), "SIZE",
      "/healthz: failing with less free (default 100M)" },
    { "uid-range", "CHIME_UID_RANGE", TEXT, offsetof(struct node_options, uid_range), "LO-HI",
      "as root: each namespace's jobs run as a uid of its own from here (default "
      RUNAS_DEFAULT_RANGE ")" },
    { "run-as", "CHIME_RUN_AS", LIST, offsetof(struct node_options, run_as),
      "NS=USER[:GROUP]", "as root: namespace NS runs as USER instead (repeat it, or ',' in the "
      "variable)" },
    { "root-namespaces", "CHIME_ROOT_NAMESPACES", TEXT,
      offsetof(struct node_options, root_namespaces), "NS,...",
      "as root: these namespaces' jobs run as root, with every capability (default none)" },
    { "health-stuck-floor", "CHIME_HEALTH_STUCK_FLOOR", DURATION,
      offsetof(struct node_options, health.stuck_floor_us), "DURATION",
      "the least a stuck threshold derived from a job's p95 can be (default 1m)" },
};
#define NROWS (sizeof rows / sizeof rows[0])

static void usage(FILE *f)
{
    fputs("usage: chime serve [OPTIONS]\n", f);
    for (size_t i = 0; i < NROWS; i++) {
        char flag[64];

        snprintf(flag, sizeof flag, "--%s%s%s", rows[i].flag, rows[i].arg ? " " : "",
                 rows[i].arg ? rows[i].arg : "");
        fprintf(f, "  %-28s %s [%s]\n", flag, rows[i].help, rows[i].env);
    }
}

/* The one LIST row's value once a flag repeats (freed by cli_serve()). */
static char *list_joined;

static int set(const struct option_row *row, const char *v, struct node_options *o,
               struct err *err)
{
    char *field = (char *)o + row->offset;

    switch (row->kind) {
    case LIST: {
        /* repeated flags add up: "a=x" then "b=y" is "a=x,b=y" */
        const char *prev = *(const char **)(void *)field;
        size_t n = prev ? strlen(prev) + 1 + strlen(v) + 1 : 0;

        if (!*v)
            return err_set(err, CHIME_EINVAL, row->flag, "must not be empty");
        if (!prev) {
            *(const char **)(void *)field = v;
            return 0;
        }
        free(list_joined);
        list_joined = malloc(n);
        if (!list_joined)
            return err_set(err, CHIME_ENOMEM, row->flag, "out of memory");
        snprintf(list_joined, n, "%s,%s", prev, v);
        *(const char **)(void *)field = list_joined;
        return 0;
    }
    case TEXT:
        if (!*v)
            return err_set(err, CHIME_EINVAL, row->flag, "must not be empty");
        *(const char **)(void *)field = v;
        return 0;
    case COUNT: {
        char *end;
        long n = strtol(v, &end, 10);

        if (end == v || *end || n < 1 || n > 100000)
            return err_set(err, CHIME_EINVAL, row->flag, "'%.40s' is not a number from 1 to "
                           "100000", v);
        *(int *)(void *)field = (int)n;
        return 0;
    }
    case TOTAL: {
        char *end;
        long long n = strtoll(v, &end, 10);

        if (end == v || *end || n < 1 || n > INT64_C(1000000000000))
            return err_set(err, CHIME_EINVAL, row->flag, "'%.40s' is not a number from 1 to "
                           "1000000000000", v);
        *(int64_t *)(void *)field = n;
        return 0;
    }
    case DURATION:
        return units_duration_parse(v, row->flag, (int64_t *)(void *)field, err);
    case FLAG:
        if (strcmp(v, "1") != 0 && strcmp(v, "true") != 0 && strcmp(v, "0") != 0
            && strcmp(v, "false") != 0)
            return err_set(err, CHIME_EINVAL, row->flag, "'%.40s' is not true or false", v);
        *(bool *)(void *)field = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
        return 0;
    case LOGFMT: {
        enum log_format f;

        if (log_format_parse(v, &f) < 0)
            return err_set(err, CHIME_EINVAL, row->flag, "'%.40s' is not logfmt, json or text",
                           v);
        log_set_format(f);
        return 0;
    }
    case LOGLEVEL: {
        enum log_level lv;

        if (log_level_parse(v, &lv) < 0)
            return err_set(err, CHIME_EINVAL, row->flag,
                           "'%.40s' is not debug, info, warn or error", v);
        log_set_level(lv);
        return 0;
    }
    case SIZE: {
        int64_t n;
        int rc = units_size_parse(v, row->flag, &n, err);

        if (rc < 0)
            return rc;
        if (n < 1)
            return err_set(err, CHIME_EINVAL, row->flag, "'%.40s' must be at least 1 byte", v);
        *(int64_t *)(void *)field = n;
        return 0;
    }
    case FRACTION: {
        char *end;
        double d = strtod(v, &end);

        if (end == v || *end || !(d > 0 && d <= 1))
            return err_set(err, CHIME_EINVAL, row->flag, "'%.40s' is not a fraction in (0, 1]",
                           v);
        *(double *)(void *)field = d;
        return 0;
    }
    }
    return 0;
}

int cli_serve(int argc, char **argv)
{
    struct option longopts[NROWS + 2];
    struct node_options o = { 0 };
    struct err err = { 0 };
    const struct tz *zone;
    struct runas *runas = NULL;
    bool flagged[NROWS] = { false };
    int c, idx, rc;

    o.grace_us = 30 * INT64_C(1000000);
    for (size_t i = 0; i < NROWS; i++) {
        const char *v = getenv(rows[i].env);

        if (v && set(&rows[i], v, &o, &err) < 0) {
            fprintf(stderr, "chime serve: %s: %s\n", rows[i].env, err.msg);
            return 2;
        }
        longopts[i] = (struct option){ rows[i].flag,
                                       rows[i].kind == FLAG ? no_argument : required_argument,
                                       NULL, 0 };
    }
    longopts[NROWS] = (struct option){ "help", no_argument, NULL, 'h' };
    longopts[NROWS + 1] = (struct option){ NULL, 0, NULL, 0 };
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c != 0) {
            usage(stderr);
            return 2;
        }
        /* a list from flags replaces the environment's, as other flags do */
        if (rows[idx].kind == LIST && !flagged[idx])
            *(const char **)(void *)((char *)&o + rows[idx].offset) = NULL;
        flagged[idx] = true;
        if (set(&rows[idx], rows[idx].kind == FLAG ? "true" : optarg, &o, &err) < 0) {
            cli_error("serve", &err);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "chime serve: unexpected argument '%.40s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    /* an unknown zone is bad input: refuse it before anything is created */
    if (o.timezone && tz_load(o.timezone, &zone, &err) < 0) {
        cli_error("serve", &err);
        return 2;
    }
    /* so is a bad channels file (the named one, or the data directory's) */
    {
        struct channel_set *cs = NULL;
        char path[4096];
        int crc = 0;

        snprintf(path, sizeof path, "%s/channels.json", o.data_dir ? o.data_dir : "./chime-data");
        if (o.channels)
            crc = channel_set_load(o.channels, &cs, &err);
        else if (access(path, F_OK) == 0)
            crc = channel_set_load(path, &cs, &err);
        channel_set_free(cs);
        if (crc < 0) {
            cli_error("serve", &err);
            return 2;
        }
    }
    /* and so are job users that do not exist, or overlap */
    if (runas_new(o.uid_range, o.run_as, o.root_namespaces, &runas, &err) < 0) {
        cli_error("serve", &err);
        free(list_joined);
        return 2;
    }
    o.runas = runas;
    /* node_run() fails only at start-up (a port in use, a data directory
     * it cannot write or lock, a store that does not open): bad set-up, 2 */
    rc = node_run(&o, &err);
    runas_free(runas);
    free(list_joined);
    list_joined = NULL;
    if (rc < 0) {
        cli_error("serve", &err);
        return 2;
    }
    return 0;
}
