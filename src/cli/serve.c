/* serve.c: `chime serve`, the daemon's options. Each option is a row of
 * cmdline.h: its flag, its CHIME_* environment variable, its kind and its
 * help; parsing, the environment and --help all read the table. Flags win over the
 * environment. */
#include "cli/cli.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmdline.h"
#include "notify/channel.h"
#include "daemon/node.h"
#include "daemon/runas.h"
#include "time/tz.h"
#include "time/units.h"
#include "util/err.h"
#include "util/log.h"
#include "../banned.h"

/* The one LIST row's value once a flag repeats (freed by cli_serve()). */
static char *list_joined;

static int nonempty(const char *v, struct err *err)
{
    return *v ? 0 : err_set(err, CHIME_EINVAL, "", "must not be empty");
}

/* repeated flags add up: "a=x" then "b=y" is "a=x,b=y" */
static int set_list(const struct cmdline_opt *row, const char *v, void *field, struct err *err)
{
    const char *prev = *(const char **)field;
    size_t n = prev ? strlen(prev) + 1 + strlen(v) + 1 : 0;
    char *joined;

    if (!*v)
        return err_set(err, CHIME_EINVAL, row->name, "must not be empty");
    if (!prev) {
        *(const char **)field = v;
        return 0;
    }
    if (!(joined = malloc(n)))
        return err_set(err, CHIME_ENOMEM, row->name, "out of memory");
    snprintf(joined, n, "%s,%s", prev, v);
    free(list_joined);
    list_joined = joined;
    *(const char **)field = list_joined;
    return 0;
}

static int set_count(const struct cmdline_opt *row, const char *v, void *field, struct err *err)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (end == v || *end || n < 1 || n > 100000)
        return err_set(err, CHIME_EINVAL, row->name, "'%.40s' is not a number from 1 to 100000",
                       v);
    *(int *)field = (int)n;
    return 0;
}

static int set_total(const struct cmdline_opt *row, const char *v, void *field, struct err *err)
{
    char *end;
    long long n = strtoll(v, &end, 10);

    if (end == v || *end || n < 1 || n > INT64_C(1000000000000))
        return err_set(err, CHIME_EINVAL, row->name, "'%.40s' is not a number from 1 to "
                       "1000000000000", v);
    *(int64_t *)field = n;
    return 0;
}

static int set_logfmt(const struct cmdline_opt *row, const char *v, void *field, struct err *err)
{
    enum log_format f;

    (void)field;
    if (log_format_parse(v, &f) < 0)
        return err_set(err, CHIME_EINVAL, row->name, "'%.40s' is not logfmt, json or text", v);
    log_set_format(f);
    return 0;
}

static int set_loglevel(const struct cmdline_opt *row, const char *v, void *field,
                        struct err *err)
{
    enum log_level lv;

    (void)field;
    if (log_level_parse(v, &lv) < 0)
        return err_set(err, CHIME_EINVAL, row->name, "'%.40s' is not debug, info, warn or error",
                       v);
    log_set_level(lv);
    return 0;
}

static int set_size(const struct cmdline_opt *row, const char *v, void *field, struct err *err)
{
    int64_t n;
    int rc = units_size_parse(v, row->name, &n, err);

    if (rc < 0)
        return rc;
    if (n < 1)
        return err_set(err, CHIME_EINVAL, row->name, "'%.40s' must be at least 1 byte", v);
    *(int64_t *)field = n;
    return 0;
}

static int set_fraction(const struct cmdline_opt *row, const char *v, void *field,
                        struct err *err)
{
    char *end;
    double d = strtod(v, &end);

    if (end == v || *end || !(d > 0 && d <= 1))
        return err_set(err, CHIME_EINVAL, row->name, "'%.40s' is not a fraction in (0, 1]", v);
    *(double *)field = d;
    return 0;
}

static const struct cmdline_opt rows[] = {
    { "data-dir", 0, CMDLINE_STRING, offsetof(struct node_options, data_dir), "DIR",
      "database, run output and working directories (default ./chime-data)", .env = "CHIME_DATA_DIR", .check = nonempty },
    { "listen", 0, CMDLINE_STRING, offsetof(struct node_options, listen), "HOST:PORT",
      "where the API listens (default 127.0.0.1:8717)", .env = "CHIME_LISTEN", .check = nonempty },
    { "timezone", 0, CMDLINE_STRING, offsetof(struct node_options, timezone), "ZONE",
      "zone of cron jobs that name none (default the system's)", .env = "CHIME_TIMEZONE", .check = nonempty },
    { "jobs-dir", 0, CMDLINE_STRING, offsetof(struct node_options, jobs_dir), "DIR",
      "JSON job documents applied at start and on SIGHUP", .env = "CHIME_JOBS_DIR", .check = nonempty },
    { "max-concurrent", 0, CMDLINE_FUNC, offsetof(struct node_options, max_concurrent), "N",
      "runs at once (default 64)", .env = "CHIME_MAX_CONCURRENT", .set = set_count },
    { "grace", 0, CMDLINE_DURATION, offsetof(struct node_options, grace_us), "DURATION",
      "with --wait: how long shutdown waits for runs (default 30s)", .env = "CHIME_GRACE" },
    { "wait", 0, CMDLINE_FLAG, offsetof(struct node_options, wait_runs), NULL,
      "on SIGTERM wait for running runs (else they go on and are re-attached)", .env = "CHIME_WAIT" },
    { "channels", 0, CMDLINE_STRING, offsetof(struct node_options, channels), "FILE",
      "notification channels (default DATA_DIR/channels.json if present; SIGHUP re-reads)", .env = "CHIME_CHANNELS", .check = nonempty },
    { "keep-runs", 0, CMDLINE_FUNC, offsetof(struct node_options, keep_runs), "N",
      "finished runs kept per job, with their output (default 100)", .env = "CHIME_KEEP_RUNS", .set = set_count },
    { "keep-for", 0, CMDLINE_DURATION, offsetof(struct node_options, keep_for_us), "DURATION",
      "finished runs older than this are removed (default 30d)", .env = "CHIME_KEEP_FOR" },
    { "keep-output", 0, CMDLINE_FUNC, offsetof(struct node_options, keep_output), "SIZE",
      "output kept per job, newest runs first (default no cap)", .env = "CHIME_KEEP_OUTPUT", .set = set_size },
    { "keep-dead-letters", 0, CMDLINE_FUNC, offsetof(struct node_options, keep_dead_letters), "N",
      "dead letters kept per job; they also expire with --keep-for (default 1000)", .env = "CHIME_KEEP_DEAD_LETTERS", .set = set_count },
    { "keep-audit", 0, CMDLINE_FUNC, offsetof(struct node_options, keep_audit), "N",
      "audit entries kept (default 1000000)", .env = "CHIME_KEEP_AUDIT", .set = set_total },
    { "keep-audit-for", 0, CMDLINE_DURATION, offsetof(struct node_options, keep_audit_for_us), "DURATION",
      "audit entries older than this are removed (default 365d)", .env = "CHIME_KEEP_AUDIT_FOR" },
    { "retention-every", 0, CMDLINE_DURATION, offsetof(struct node_options, retention_every_us), "DURATION",
      "how often every job's history and the audit log are swept (default 1m)", .env = "CHIME_RETENTION_EVERY" },
    { "metrics-open", 0, CMDLINE_FLAG, offsetof(struct node_options, metrics_open), NULL,
      "serve /metrics without a token (a scraper on a trusted network)", .env = "CHIME_METRICS_OPEN" },
    { "triggers-per-job", 0, CMDLINE_FUNC, offsetof(struct node_options, triggers_per_job), "N",
      "manual triggers of one job a minute, in a burst or spread; past it 429 (default 10)", .env = "CHIME_TRIGGERS_PER_JOB", .set = set_count },
    { "triggers-per-token", 0, CMDLINE_FUNC, offsetof(struct node_options, triggers_per_token), "N",
      "manual triggers by one token a minute, any jobs; past it 429 (default 60)", .env = "CHIME_TRIGGERS_PER_TOKEN", .set = set_count },
    { "api-connections", 0, CMDLINE_FUNC, offsetof(struct node_options, api_connections), "N",
      "API connections at once; past it a newcomer cuts the one waiting longest for its request "
      "(default 256)", .env = "CHIME_API_CONNECTIONS", .set = set_count },
    { "api-connections-per-address", 0, CMDLINE_FUNC, offsetof(struct node_options, api_connections_per_address), "N",
      "API connections from one address (IPv6: one /64), the same way (default 64)", .env = "CHIME_API_CONNECTIONS_PER_ADDRESS", .set = set_count },
    { "api-head-timeout", 0, CMDLINE_DURATION, offsetof(struct node_options, api_head_timeout_us), "DURATION",
      "a request's head must have come whole within this of connecting or of the previous "
      "reply, however it trickles; else the connection is cut (default 10s)", .env = "CHIME_API_HEAD_TIMEOUT" },
    { "api-body-timeout", 0, CMDLINE_DURATION, offsetof(struct node_options, api_body_timeout_us), "DURATION",
      "a request's body must have come whole within this of its head (default 60s)", .env = "CHIME_API_BODY_TIMEOUT" },
    { "log-format", 0, CMDLINE_FUNC, 0, "logfmt|json|text",
      "log lines on stderr: logfmt (default), JSON lines, or text for people", .env = "CHIME_LOG_FORMAT", .set = set_logfmt },
    { "log-level", 0, CMDLINE_FUNC, 0, "LEVEL",
      "debug, info (default), warn or error: lines below it are dropped", .env = "CHIME_LOG_LEVEL", .set = set_loglevel },
    { "metrics-jobs", 0, CMDLINE_FUNC, offsetof(struct node_options, metrics_jobs), "N",
      "jobs with /metrics series of their own; the rest are job \"other\" (default 100)", .env = "CHIME_METRICS_JOBS", .set = set_count },
    { "health-loop-lag", 0, CMDLINE_DURATION, offsetof(struct node_options, health.loop_lag_us), "DURATION",
      "/healthz: degraded when the loop is later than this, failing at 10 times (default 1s)", .env = "CHIME_HEALTH_LOOP_LAG" },
    { "health-error-rate", 0, CMDLINE_FUNC, offsetof(struct node_options, health.error_rate), "FRACTION",
      "/healthz: degraded when more of the window's finished runs failed (default 0.5)", .env = "CHIME_HEALTH_ERROR_RATE", .set = set_fraction },
    { "health-error-window", 0, CMDLINE_DURATION, offsetof(struct node_options, health.error_window_us), "DURATION",
      "/healthz: the error rate's window (default 15m)", .env = "CHIME_HEALTH_ERROR_WINDOW" },
    { "health-error-min-runs", 0, CMDLINE_FUNC, offsetof(struct node_options, health.error_min_runs), "N",
      "/healthz: fewer finished runs in the window are not judged (default 10)", .env = "CHIME_HEALTH_ERROR_MIN_RUNS", .set = set_count },
    { "health-disk-degraded", 0, CMDLINE_FUNC, offsetof(struct node_options, health.disk_degraded), "SIZE",
      "/healthz: degraded with less free in the data directory (default 1G)", .env = "CHIME_HEALTH_DISK_DEGRADED", .set = set_size },
    { "health-disk-failing", 0, CMDLINE_FUNC, offsetof(struct node_options, health.disk_failing), "SIZE",
      "/healthz: failing with less free (default 100M)", .env = "CHIME_HEALTH_DISK_FAILING", .set = set_size },
    { "uid-range", 0, CMDLINE_STRING, offsetof(struct node_options, uid_range), "LO-HI",
      "as root: each namespace's jobs run as a uid of its own from here (default "
      RUNAS_DEFAULT_RANGE ")", .env = "CHIME_UID_RANGE", .check = nonempty },
    { "run-as", 0, CMDLINE_FUNC, offsetof(struct node_options, run_as), "NS=USER[:GROUP]",
      "as root: namespace NS runs as USER instead (repeat it, or ',' in the "
      "variable)", .env = "CHIME_RUN_AS", .set = set_list, .repeatable = true },
    { "root-namespaces", 0, CMDLINE_STRING, offsetof(struct node_options, root_namespaces), "NS,...",
      "as root: these namespaces' jobs run as root, with every capability (default none)", .env = "CHIME_ROOT_NAMESPACES", .check = nonempty },
    { "health-stuck-floor", 0, CMDLINE_DURATION, offsetof(struct node_options, health.stuck_floor_us), "DURATION",
      "the least a stuck threshold derived from a job's p95 can be (default 1m)", .env = "CHIME_HEALTH_STUCK_FLOOR" },
};
#define NROWS (sizeof rows / sizeof rows[0])

static const struct cmdline_spec spec = {
    "serve", NULL, NULL, rows, NROWS, NULL, 0, 0, NULL,
};

/* An environment variable: a flag's is true, 1, false or 0. */
static int set_env(const struct cmdline_opt *row, const char *v, struct node_options *o,
                   struct err *err)
{
    if (row->kind != CMDLINE_FLAG)
        return cmdline_set(row, v, o, err);
    if (strcmp(v, "1") != 0 && strcmp(v, "true") != 0 && strcmp(v, "0") != 0
        && strcmp(v, "false") != 0)
        return err_set(err, CHIME_EINVAL, row->name, "'%.40s' is not true or false", v);
    *(bool *)(void *)((char *)o + row->offset) = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
    return 0;
}

int cli_serve(int argc, char **argv)
{
    struct node_options o = { 0 };
    struct err err = { 0 };
    const struct tz *zone;
    struct runas *runas = NULL;
    const char *env_run_as;
    int rc;

    o.grace_us = 30 * INT64_C(1000000);
    for (size_t i = 0; i < NROWS; i++) {
        const char *v = getenv(rows[i].env);

        if (v && set_env(&rows[i], v, &o, &err) < 0) {
            fprintf(stderr, "chime serve: %s: %s\n", rows[i].env, err.msg);
            return 2;
        }
    }
    /* --run-as flags replace the environment's list, as other flags do */
    env_run_as = o.run_as;
    o.run_as = NULL;
    rc = cmdline_parse(&spec, argc, argv, &o);
    if (rc < 0) {
        free(list_joined);
        return cmdline_exit(rc);
    }
    if (!o.run_as)
        o.run_as = env_run_as;
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
