/* jobs.c: `chime jobs` (the list) and `chime job SUBCOMMAND`, whose
 * subcommands are rows of their own table (`chime job edit` lives in
 * jobedit.c). Names are checked here before anything is sent; the daemon
 * validates the documents. */
#include "cli/cli.h"

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
#include "../banned.h"

#define JOBS_LABELS_MAX ((size_t)16)
#define JOBS_PAGES_MAX  1000    /* a daemon that never ends its list stops here */


void jobs_schedule_text(const json_t *sched, char *buf, size_t len)
{
    const char *s;
    const json_t *v;
    char when[CLI_TIME_LEN];

    if ((s = cli_json_str(sched, "cron"))) {
        const char *zone = cli_json_str(sched, "timezone");

        snprintf(buf, len, "%s%s%s%s", s, zone ? " (" : "", zone ? zone : "", zone ? ")" : "");
    } else if ((s = cli_json_str(sched, "every"))) {
        snprintf(buf, len, "every %s", s);
    } else if (json_is_integer(v = json_object_get(sched, "every"))) {
        snprintf(buf, len, "every %llds", (long long)json_integer_value(v));
    } else if ((s = cli_json_str(sched, "at"))) {
        snprintf(buf, len, "at %s", cli_time(s, when, sizeof when));
    } else if (json_is_array(v = json_object_get(sched, "after"))) {
        size_t i, n = (size_t)snprintf(buf, len, "after ");
        const json_t *dep;
        const char *on = cli_json_str(sched, "when");

        json_array_foreach(v, i, dep) {
            if (n < len && json_is_string(dep))
                n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "," : "",
                                      json_string_value(dep));
        }
        if (n < len && on && strcmp(on, "success") != 0)
            snprintf(buf + n, len - n, " (%s)", on);
    } else if (json_is_true(json_object_get(sched, "manual"))) {
        snprintf(buf, len, "manual");
    } else {
        snprintf(buf, len, "-");
    }
}

void jobs_id_text(const json_t *job, const char *fallback, char *buf, size_t len)
{
    const char *ns = cli_json_str(job, "namespace"), *name = cli_json_str(job, "name");

    if (name)
        snprintf(buf, len, "%s/%s", ns ? ns : "default", name);
    else
        snprintf(buf, len, "%s", fallback ? fallback : "-");
}

/* Members of a job's view that the daemon computes: not part of the document. */
static const char *const view_only[] = {
    "version", "next_fire", "created_at", "updated_at", "state", "last_run",
};

void jobs_strip_view(json_t *doc)
{
    for (size_t i = 0; i < sizeof view_only / sizeof view_only[0]; i++)
        json_object_del(doc, view_only[i]);
}

/* How the job's last fire went: its run's state when the view has it
 * ("last_run"), else from the view's "state": "-" before any fire, "ok",
 * or "failed xN" for N failed fires in a row. */
static const char *last_text(const json_t *job, char *buf, size_t len)
{
    const json_t *st = json_object_get(job, "state"), *fails;
    const char *s = cli_json_str(json_object_get(job, "last_run"), "state");

    if (s)
        snprintf(buf, len, "%s", s);
    else if (json_is_integer(fails = json_object_get(st, "consecutive_failures"))
             && json_integer_value(fails) > 0)
        snprintf(buf, len, "failed x%lld", (long long)json_integer_value(fails));
    else if (cli_json_str(st, "last_fire"))
        snprintf(buf, len, "ok");
    else
        snprintf(buf, len, "-");
    return buf;
}

static int jobs_table(const json_t *items, struct err *err)
{
    static const struct table_col cols[] = {
        { "NAME" }, { "SCHEDULE" }, { "NEXT" }, { "LAST" }, { "PAUSED" },
    };
    struct table *t = NULL;
    const json_t *job;
    size_t i;
    int rc;

    rc = table_new(cols, sizeof cols / sizeof cols[0], &t, err);
    json_array_foreach(items, i, job) {
        char id[CLI_JOB_ID_MAX], sched[256], next[CLI_TIME_LEN], last[32];
        const char *row[5] = { id, sched, next, last_text(job, last, sizeof last),
                               json_is_true(json_object_get(job, "paused")) ? "yes" : "no" };

        if (rc < 0)
            break;
        jobs_id_text(job, NULL, id, sizeof id);
        jobs_schedule_text(json_object_get(job, "schedule"), sched, sizeof sched);
        cli_time(cli_json_str(job, "next_fire"), next, sizeof next);
        rc = table_add(t, row, err);
    }
    if (rc == 0)
        table_print(t, stdout);
    table_free(t);
    return rc;
}

struct jobs_opts {
    const char *ns;
    struct cmdline_list labels;
    bool json;
};

static int label_check(const char *v, struct err *err)
{
    char q[64];

    if (!strchr(v, '=') || v[0] == '=')
        return err_set(err, CHIME_EINVAL, "label", "'%s' is not KEY=VALUE",
                       err_quote(v, strlen(v), q, sizeof q));
    return 0;
}

static const struct cmdline_opt jobs_rows[] = {
    { "namespace", 0, CMDLINE_STRING, offsetof(struct jobs_opts, ns), "NS",
      "only the jobs of namespace NS", .check = cli_namespace },
    { "label", 0, CMDLINE_LIST, offsetof(struct jobs_opts, labels), "KEY=VALUE",
      "only jobs with label KEY set to VALUE (repeatable: all must match)",
      .max = JOBS_LABELS_MAX, .check = label_check },
    { "json", 0, CMDLINE_FLAG, offsetof(struct jobs_opts, json), NULL,
      "the daemon's JSON ({\"items\": [...], ...}) instead of a table" },
};

static const struct cmdline_spec jobs_spec = {
    "jobs", NULL, NULL, jobs_rows, sizeof jobs_rows / sizeof jobs_rows[0], NULL, 0, 0, NULL,
};

int cli_jobs(int argc, char **argv)
{
    struct jobs_opts o = { 0 };
    const char *kv[2 * (JOBS_LABELS_MAX + 2) + 1] = { "namespace", NULL };
    size_t nkv = 2;
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *all = NULL, *page = NULL;
    char path[4096], cursor[128] = "";
    int n, rc;

    if ((n = cmdline_parse(&jobs_spec, argc, argv, &o)) < 0)
        return cmdline_exit(n);
    kv[1] = o.ns;
    for (size_t i = 0; i < o.labels.n; i++) {
        kv[nkv++] = "label";
        kv[nkv++] = o.labels.v[i];
    }
    kv[nkv] = "cursor";
    kv[nkv + 2] = NULL;
    if (client_new(&c, &err) < 0) {
        cli_error("jobs", &err);
        return 2;
    }
    /* every page, in one list: the table shows all jobs, and so does --json */
    for (int pages = 0; pages < JOBS_PAGES_MAX; pages++) {
        const json_t *next;

        kv[nkv + 1] = cursor[0] ? cursor : NULL;
        if (client_path(path, sizeof path, "/api/v1/jobs", kv, &err) < 0
            || client_json(c, "GET", path, NULL, NULL, &page, &err) < 0)
            goto fail;
        if (!json_is_array(json_object_get(page, "items"))) {
            err_set(&err, CHIME_EIO, "", "the daemon's job list has no \"items\" array");
            goto fail;
        }
        next = json_object_get(page, "next_cursor");
        if (json_is_string(next) && *json_string_value(next))
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        else if (json_is_integer(next))
            snprintf(cursor, sizeof cursor, "%lld", (long long)json_integer_value(next));
        else
            cursor[0] = '\0';
        if (!all) {
            all = page;
        } else {
            json_array_extend(json_object_get(all, "items"), json_object_get(page, "items"));
            json_decref(page);
        }
        page = NULL;
        if (!cursor[0])
            break;
        json_object_set_new(all, "next_cursor", json_null());
    }
    if (o.json) {
        rc = cli_json_print(all);
    } else {
        if (jobs_table(json_object_get(all, "items"), &err) < 0)
            goto fail;
        rc = fflush(stdout) ? 1 : 0;
    }
    json_decref(all);
    client_free(c);
    return rc;
fail:
    rc = client_fail(c, "jobs", &err);
    json_decref(page);
    json_decref(all);
    client_free(c);
    return rc;
}

/* ---- chime job SUBCOMMAND ---- */

const struct cmdline_opt jobs_json_row[] = {
    { "json", 0, CMDLINE_FLAG, 0, NULL, "the daemon's JSON for the job" },
};

int jobs_args(const struct cmdline_spec *spec, int argc, char **argv, void *opts,
              char id[CLI_JOB_ID_MAX])
{
    struct err err = { 0 };
    int n = cmdline_parse(spec, argc, argv, opts);

    if (n < 0)
        return n == CMDLINE_HELP ? -1 : 2;
    if (cli_job_id(argv[1], id, &err) < 0) {
        cli_error(spec->cmd, &err);
        return 2;
    }
    return 0;
}

static int job_show(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "job show", "JOB", "  JOB     NAME or NAMESPACE/NAME\n", jobs_json_row, 1, NULL, 1, 1, "JOB",
    };
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *job = NULL, *doc = NULL;
    char id[CLI_JOB_ID_MAX], path[200], sched[256], next[CLI_TIME_LEN], last[32],
        when[CLI_TIME_LEN];
    bool json = false;
    int rc = jobs_args(&spec, argc, argv, &json, id);

    if (rc)
        return rc < 0 ? 0 : rc;
    snprintf(path, sizeof path, "/api/v1/jobs/%s", id);
    if ((rc = client_new(&c, &err)) < 0
        || (rc = client_json(c, "GET", path, NULL, NULL, &job, &err)) < 0 || !json_is_object(job)) {
        if (rc == 0)
            err_set(&err, CHIME_EIO, "", "the daemon's answer is not a job");
        rc = client_fail(c, "job show", &err);
        goto done;
    }
    if (json) {
        rc = cli_json_print(job);
        goto done;
    }
    jobs_schedule_text(json_object_get(job, "schedule"), sched, sizeof sched);
    printf("job:       %s\n", id);
    if (json_is_integer(json_object_get(job, "version")))
        printf("version:   %lld\n", (long long)json_integer_value(json_object_get(job, "version")));
    printf("schedule:  %s\n", sched);
    printf("next fire: %s\n", cli_time(cli_json_str(job, "next_fire"), next, sizeof next));
    printf("paused:    %s\n", json_is_true(json_object_get(job, "paused")) ? "yes" : "no");
    cli_time(cli_json_str(json_object_get(job, "state"), "last_fire"), when, sizeof when);
    if (strcmp(when, "-") != 0)
        printf("last fire: %s (%s)\n", when, last_text(job, last, sizeof last));
    else
        printf("last fire: -\n");
    /* the document itself, as `chime job edit` shows it */
    if ((doc = json_deep_copy(job)))
        jobs_strip_view(doc);
    fputc('\n', stdout);
    rc = cli_json_print(doc ? doc : job);
done:
    json_decref(doc);
    json_decref(job);
    client_free(c);
    return rc;
}

static int job_add(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "job add", "FILE|-", "  FILE  the job's JSON document (docs/cli.md); - reads standard input\n",
        NULL, 0, NULL, 1, 1, "FILE (- for standard input)",
    };
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *doc = NULL, *job = NULL;
    json_error_t jerr;
    char *text = NULL, id[CLI_JOB_ID_MAX];
    size_t len;
    int rc = cmdline_parse(&spec, argc, argv, NULL);

    if (rc < 0)
        return cmdline_exit(rc);
    if (cli_read_file(argv[1], CLI_FILE_MAX, &text, &len, &err) < 0)
        goto invalid;
    /* a local look first: a syntax error is told with its line, and costs no request */
    doc = json_loadb(text, len, 0, &jerr);
    if (!doc) {
        err_set(&err, CHIME_EINVAL, "file", "line %d, column %d: %s", jerr.line, jerr.column,
                jerr.text);
        goto invalid;
    }
    if (!json_is_object(doc)) {
        err_set(&err, CHIME_EINVAL, "file", "a job document is a JSON object");
        goto invalid;
    }
    if (client_new(&c, &err) < 0)
        goto invalid;
    if (client_json(c, "POST", "/api/v1/jobs", text, NULL, &job, &err) < 0) {
        rc = client_fail(c, "job add", &err);
        goto done;
    }
    jobs_id_text(cli_json_str(job, "name") ? job : doc, "default/?", id, sizeof id);
    if (json_is_integer(json_object_get(job, "version")))
        printf("added %s (version %lld)\n", id,
               (long long)json_integer_value(json_object_get(job, "version")));
    else
        printf("added %s\n", id);
    rc = 0;
    goto done;
invalid:
    cli_error("job add", &err);
    rc = 2;
done:
    json_decref(job);
    json_decref(doc);
    free(text);
    client_free(c);
    return rc;
}

/* rm, pause and resume: one request, and a line saying it is done. */
static int job_simple(int argc, char **argv, const char *cmd, const char *method,
                      const char *suffix, const char *done_verb)
{
    const struct cmdline_spec spec = {
        cmd, "JOB", "  JOB  NAME or NAMESPACE/NAME\n", NULL, 0, NULL, 1, 1, "JOB",
    };
    struct client *c = NULL;
    struct err err = { 0 };
    char id[CLI_JOB_ID_MAX], path[200];
    int rc = jobs_args(&spec, argc, argv, NULL, id);

    if (rc)
        return rc < 0 ? 0 : rc;
    snprintf(path, sizeof path, "/api/v1/jobs/%s%s", id, suffix);
    if (client_new(&c, &err) < 0
        || (rc = client_json(c, method, path, NULL, NULL, NULL, &err)) < 0)
        rc = client_fail(c, cmd, &err);
    else
        printf("%s %s\n", done_verb, id);
    client_free(c);
    return rc;
}

static int job_rm(int argc, char **argv)
{
    return job_simple(argc, argv, "job rm", "DELETE", "", "removed");
}

static int job_pause(int argc, char **argv)
{
    return job_simple(argc, argv, "job pause", "POST", "/pause", "paused");
}

static int job_resume(int argc, char **argv)
{
    return job_simple(argc, argv, "job resume", "POST", "/resume", "resumed");
}

static const struct cmdline_cmd subcommands[] = {
    { "add", job_add, "FILE|-", "create a job from its JSON document (- reads standard input)" },
    { "edit", jobs_edit, "JOB", "edit a job's document in $VISUAL or $EDITOR and save it" },
    { "show", job_show, "JOB [--json]", "a job's schedule, next fire and document" },
    { "rm", job_rm, "JOB", "remove a job" },
    { "pause", job_pause, "JOB", "stop firing a job on its schedule" },
    { "resume", job_resume, "JOB", "fire a paused job on its schedule again" },
    { "history", jobs_history, "JOB [--limit N] [--json]",
      "a job's versions: when, by whom, what changed" },
    { "diff", jobs_diff, "JOB V1 [V2] [--json]",
      "what changed between two versions, field by field (V2: the current one)" },
    { "rollback", jobs_rollback, "JOB VERSION [--json]",
      "make an earlier version's document the job's new version" },
};

static const struct cmdline_cmds job_table = {
    "chime job", "usage: chime job SUBCOMMAND ARGS (JOB is NAME or NAMESPACE/NAME)\n\n",
    subcommands, sizeof subcommands / sizeof subcommands[0], NULL,
};

int cli_job(int argc, char **argv)
{
    return cmdline_dispatch(&job_table, argc, argv);
}
