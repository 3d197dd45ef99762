/* history.c: a job's versions from the command line: `chime job history`,
 * `chime job diff` and `chime job rollback` (rows of jobs.c's table of
 * `chime job` subcommands).
 *
 * The daemon keeps every version and computes diffs (field by field,
 * arrays whole: util/jsondiff.h); this file asks and prints. History
 * shows, per version, what changed since the one before it, one diff
 * request per row shown (20 by default). */
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/cmdline.h"
#include "cli/jobs.h"
#include "cli/table.h"
#include "util/err.h"
#include "util/jsondiff.h"
#include "../banned.h"

#define HISTORY_DEFAULT   20
#define HISTORY_MAX       1000
#define CHANGES_SHOWN_MAX 72 /* characters of the CHANGES column */

/* A version number argument: 1 or more (field FIELD). */
static int version_arg(const char *arg, const char *field, int64_t *ret, struct err *err)
{
    char *end, q[48];
    long long v;

    errno = 0;
    v = strtoll(arg, &end, 10);
    if (!*arg || *end || errno || v < 1 || *arg < '0' || *arg > '9')
        return err_set(err, CHIME_EINVAL, field, "'%s' is not a version number (1, 2, ...)",
                       err_quote(arg, 40, q, sizeof q));
    *ret = v;
    return 0;
}

/* The options of the three: --json, and --limit N for history. */
struct history_opts {
    bool json;
    long limit;
};

static const struct cmdline_opt history_rows[] = {
    { "json", 0, CMDLINE_FLAG, offsetof(struct history_opts, json), NULL,
      "the daemon's JSON" },
    { "limit", 0, CMDLINE_INT, offsetof(struct history_opts, limit), "N",
      "the newest N versions (default 20, at most 1000)", 1, HISTORY_MAX },
};

/* "schedule.cron, env.MODE" of a diff's changes, cut to fit a column. */
static void changes_text(const json_t *changes, char *buf, size_t len)
{
    size_t i, n = 0;
    const json_t *ch;

    buf[0] = '\0';
    json_array_foreach(changes, i, ch)
    {
        const char *path = cli_json_str(ch, "path");
        int w;

        if (!path)
            continue;
        w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", *path ? path : "(the document)");
        if (w < 0 || (size_t)w >= len - n || n + (size_t)w > CHANGES_SHOWN_MAX) {
            /* cut at the last whole path that fits */
            buf[n] = '\0';
            snprintf(buf + n, len - n, "%s...", n ? ", " : "");
            return;
        }
        n += (size_t)w;
    }
}

int jobs_history(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "job history", "JOB", "  JOB  NAME or NAMESPACE/NAME\n", history_rows, 2, NULL, 1, 1,
        "JOB",
    };
    static const struct table_col cols[] = {
        {"VERSION", true}, {"CREATED"}, {"AUTHOR"}, {"CHANGES"},
    };
    struct client *c = NULL;
    struct table *t = NULL;
    struct err err = {0};
    json_t *page = NULL, *items, *v;
    char id[CLI_JOB_ID_MAX], path[300], limit_s[16];
    struct history_opts o = { .limit = HISTORY_DEFAULT };
    bool json;
    size_t i;
    int rc = jobs_args(&spec, argc, argv, &o, id);

    if (rc)
        return rc < 0 ? 0 : rc;
    json = o.json;
    snprintf(limit_s, sizeof limit_s, "%ld", o.limit);
    snprintf(path, sizeof path, "/api/v1/jobs/%s/versions?limit=%s", id, limit_s);
    if (client_new(&c, &err) < 0 || client_json(c, "GET", path, NULL, NULL, &page, &err) < 0
        || !json_is_array(items = json_object_get(page, "items"))) {
        if (!err.code)
            err_set(&err, CHIME_EIO, "", "the daemon's answer is not a list of versions");
        rc = client_fail(c, "job history", &err);
        goto done;
    }
    if (json) {
        rc = cli_json_print(page);
        goto done;
    }
    if (table_new(cols, sizeof cols / sizeof cols[0], &t, &err) < 0) {
        rc = client_fail(NULL, "job history", &err);
        goto done;
    }
    json_array_foreach(items, i, v)
    {
        json_int_t ver = json_integer_value(json_object_get(v, "version"));
        char when[CLI_TIME_LEN], vs[24], changes[CHANGES_SHOWN_MAX + 8];
        const char *author = cli_json_str(v, "author");
        const char *cells[4];

        snprintf(vs, sizeof vs, "%lld", (long long)ver);
        cli_time(cli_json_str(v, "created_at"), when, sizeof when);
        if (ver <= 1) {
            snprintf(changes, sizeof changes, "created");
        } else {
            json_t *diff = NULL;

            snprintf(path, sizeof path, "/api/v1/jobs/%s/diff?from=%lld&to=%lld", id,
                     (long long)ver - 1, (long long)ver);
            if (client_json(c, "GET", path, NULL, NULL, &diff, &err) < 0) {
                rc = client_fail(c, "job history", &err);
                goto done;
            }
            changes_text(json_object_get(diff, "changes"), changes, sizeof changes);
            if (!changes[0])
                snprintf(changes, sizeof changes, "(none)");
            json_decref(diff);
        }
        cells[0] = vs;
        cells[1] = when;
        cells[2] = author && *author ? author : "-";
        cells[3] = changes;
        if (table_add(t, cells, &err) < 0) {
            rc = client_fail(NULL, "job history", &err);
            goto done;
        }
    }
    table_print(t, stdout);
    if (json_is_integer(json_object_get(page, "total"))
        && (size_t)json_integer_value(json_object_get(page, "total")) > table_rows(t))
        fprintf(stderr, "(the newest %zu of %lld versions; --limit N for more)\n", table_rows(t),
                (long long)json_integer_value(json_object_get(page, "total")));
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    table_free(t);
    json_decref(page);
    client_free(c);
    return rc;
}

int jobs_diff(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "job diff", "JOB V1 [V2]",
        "  JOB     NAME or NAMESPACE/NAME\n"
        "  V1 V2   the versions to compare (V2: the current one when left out)\n",
        history_rows, 1,
        "Lines: '~ PATH: OLD -> NEW' changed, '+ PATH: NEW' added, '- PATH: OLD' removed;\n"
        "objects are compared field by field, arrays as whole values.\n",
        0, -1, NULL,
    };
    struct history_opts o = { 0 };
    struct client *c = NULL;
    struct err err = {0};
    json_t *diff = NULL, *ch;
    char id[CLI_JOB_ID_MAX], path[300], when1[CLI_TIME_LEN], when2[CLI_TIME_LEN];
    bool json;
    int64_t v1 = 0, v2 = 0;
    size_t i;
    int rc, n = cmdline_parse(&spec, argc, argv, &o);

    if (n < 0)
        return cmdline_exit(n);
    json = o.json;
    if (n < 2 || n > 3)
        return cli_bad_args("job diff", n < 2 ? "missing JOB or V1" : "more than JOB V1 V2");
    if (cli_job_id(argv[1], id, &err) < 0 || version_arg(argv[2], "V1", &v1, &err) < 0
        || (n == 3 && version_arg(argv[3], "V2", &v2, &err) < 0)) {
        cli_error("job diff", &err);
        return 2;
    }
    if (n == 3)
        snprintf(path, sizeof path, "/api/v1/jobs/%s/diff?from=%" PRId64 "&to=%" PRId64, id, v1,
                 v2);
    else
        snprintf(path, sizeof path, "/api/v1/jobs/%s/diff?from=%" PRId64, id, v1);
    if (client_new(&c, &err) < 0 || client_json(c, "GET", path, NULL, NULL, &diff, &err) < 0
        || !json_is_array(json_object_get(diff, "changes"))) {
        if (!err.code)
            err_set(&err, CHIME_EIO, "", "the daemon's answer is not a diff");
        rc = client_fail(c, "job diff", &err);
        goto done;
    }
    if (json) {
        rc = cli_json_print(diff);
        goto done;
    }
    v2 = json_integer_value(json_object_get(diff, "to"));
    cli_time(cli_json_str(diff, "from_created_at"), when1, sizeof when1);
    cli_time(cli_json_str(diff, "to_created_at"), when2, sizeof when2);
    if (!json_array_size(json_object_get(diff, "changes"))) {
        printf("%s: versions %" PRId64 " and %" PRId64 " are the same\n", id, v1, v2);
        rc = fflush(stdout) == 0 ? 0 : 1;
        goto done;
    }
    printf("%s: version %" PRId64 " (%s) -> version %" PRId64 " (%s)\n", id, v1, when1, v2, when2);
    json_array_foreach(json_object_get(diff, "changes"), i, ch)
    {
        char *line = jsondiff_line(ch);

        if (line)
            printf("%s\n", line);
        free(line);
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    json_decref(diff);
    client_free(c);
    return rc;
}

int jobs_rollback(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "job rollback", "JOB VERSION",
        "  JOB      NAME or NAMESPACE/NAME\n"
        "  VERSION  the version whose document the job goes back to; that becomes a new\n"
        "           version (the job stays paused or running as it is)\n",
        history_rows, 1, NULL, 0, -1, NULL,
    };
    struct history_opts o = { 0 };
    struct client *c = NULL;
    struct err err = {0};
    json_t *job = NULL, *after = NULL, *body = NULL;
    char id[CLI_JOB_ID_MAX], path[300], cur_s[24], *text = NULL;
    bool json;
    int64_t version = 0, cur, now;
    int rc = cmdline_parse(&spec, argc, argv, &o);

    if (rc < 0)
        return cmdline_exit(rc);
    json = o.json;
    if (rc != 2)
        return cli_bad_args("job rollback", rc < 2 ? "missing JOB or VERSION"
                                                   : "more than JOB VERSION");
    if (cli_job_id(argv[1], id, &err) < 0
        || version_arg(argv[2], "VERSION", &version, &err) < 0) {
        cli_error("job rollback", &err);
        return 2;
    }
    snprintf(path, sizeof path, "/api/v1/jobs/%s", id);
    if (client_new(&c, &err) < 0 || client_json(c, "GET", path, NULL, NULL, &job, &err) < 0
        || !json_is_integer(json_object_get(job, "version"))) {
        if (!err.code)
            err_set(&err, CHIME_EIO, "", "the daemon's answer is not a job");
        rc = client_fail(c, "job rollback", &err);
        goto done;
    }
    cur = json_integer_value(json_object_get(job, "version"));
    snprintf(cur_s, sizeof cur_s, "%" PRId64, cur);
    body = json_pack("{s:I}", "version", (json_int_t)version);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    snprintf(path, sizeof path, "/api/v1/jobs/%s/rollback", id);
    /* If-Match: the version seen now, so a change made meanwhile is not undone unseen */
    if (!text || client_json(c, "POST", path, text, cur_s, &after, &err) < 0) {
        if (!text)
            err_set(&err, CHIME_ENOMEM, "", "out of memory");
        rc = client_fail(c, "job rollback", &err);
        goto done;
    }
    if (json) {
        rc = cli_json_print(after);
        goto done;
    }
    now = json_integer_value(json_object_get(after, "version"));
    if (now == cur)
        fprintf(stderr, "no change to %s: version %" PRId64 " has version %" PRId64
                        "'s document already\n", id, cur, version);
    else
        printf("rolled %s back to version %" PRId64 ": now version %" PRId64 "\n", id, version,
               now);
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    free(text);
    json_decref(body);
    json_decref(job);
    json_decref(after);
    client_free(c);
    return rc;
}
