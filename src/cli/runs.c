/* runs.c: `chime runs [JOB]`, the run history newest first,
 * `chime logs RUN [--follow]`, one run's output, and `chime cancel RUN`. */
#include "cli/cli.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/cmdline.h"
#include "cli/follow.h"
#include "cli/table.h"
#include "store/vocab.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "time/units.h"
#include "util/err.h"
#include "../banned.h"

#define RUNS_LIMIT_DEFAULT 20

/* " queued running ..." from store/vocab.h's table */
#define STATE_NAME_SP(id, name, ...) " " name
#define STATE_NAMES STORE_RUN_STATES(STATE_NAME_SP)

static const char *const states[] = {
#define X(id, name, ...) name,
    STORE_RUN_STATES(X)
#undef X
    NULL,
};

/* "0", "SIGKILL" or "-": how the run's process ended. */
static const char *exit_text(const json_t *run, char *buf, size_t len)
{
    const json_t *code = json_object_get(run, "exit_code"), *sig = json_object_get(run, "signal");

    if (json_is_integer(sig) && json_integer_value(sig) > 0 && json_integer_value(sig) < NSIG) {
        const char *abbr = sigabbrev_np((int)json_integer_value(sig));

        if (abbr)
            snprintf(buf, len, "SIG%s", abbr);
        else
            snprintf(buf, len, "signal %lld", (long long)json_integer_value(sig));
    } else if (json_is_string(sig)) {
        snprintf(buf, len, "%s", json_string_value(sig));
    } else if (json_is_integer(code)) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(code));
    } else {
        snprintf(buf, len, "-");
    }
    return buf;
}

/* How long it ran (so far, when it runs): "850ms", "4.2s", "3m12s". */
static const char *duration_text(const json_t *run, char *buf, size_t len)
{
    int64_t start, end, us;

    if (cli_time_us(cli_json_str(run, "started_at"), &start) < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    if (cli_time_us(cli_json_str(run, "finished_at"), &end) < 0)
        end = cli_now_us();
    us = end > start ? end - start : 0;
    if (us < 1000000)
        snprintf(buf, len, "%lldms", (long long)(us / 1000));
    else if (us < 60000000)
        snprintf(buf, len, "%.1fs", (double)us / 1e6);
    else
        units_duration_format((us + 500000) / 1000000 * 1000000, buf, len);
    return buf;
}

static int runs_table(const json_t *items, struct err *err)
{
    static const struct table_col cols[] = {
        { "ID", true }, { "JOB" },         { "FIRE TIME" }, { "REASON" },
        { "ATTEMPT", true }, { "STATE" }, { "EXIT", true }, { "DURATION", true },
    };
    struct table *t = NULL;
    const json_t *run;
    size_t i;
    int rc = table_new(cols, sizeof cols / sizeof cols[0], &t, err);

    json_array_foreach(items, i, run) {
        char id[24] = "-", attempt[24] = "-", fire[CLI_TIME_LEN], code[32], took[40];
        const char *row[8] = { id, cli_json_str(run, "job"), fire, cli_json_str(run, "reason"),
                               attempt, cli_json_str(run, "state"), code, took };

        if (rc < 0)
            break;
        if (json_is_integer(json_object_get(run, "id")))
            snprintf(id, sizeof id, "%lld",
                     (long long)json_integer_value(json_object_get(run, "id")));
        if (json_is_integer(json_object_get(run, "attempt")))
            snprintf(attempt, sizeof attempt, "%lld",
                     (long long)json_integer_value(json_object_get(run, "attempt")));
        cli_time(cli_json_str(run, "fire_time"), fire, sizeof fire);
        exit_text(run, code, sizeof code);
        duration_text(run, took, sizeof took);
        rc = table_add(t, row, err);
    }
    if (rc == 0)
        table_print(t, stdout);
    table_free(t);
    return rc;
}

struct runs_opts {
    const char *state;
    char since[CMDLINE_INSTANT_LEN], until[CMDLINE_INSTANT_LEN];
    long limit;
    bool json;
};

static int state_check(const char *v, struct err *err)
{
    return cli_choice(v, states, "run state", err);
}

static const struct cmdline_opt runs_rows[] = {
    { "state", 0, CMDLINE_STRING, offsetof(struct runs_opts, state), "STATE",
      "only runs in state STATE:" STATE_NAMES, .check = state_check },
    { "since", 0, CMDLINE_INSTANT, offsetof(struct runs_opts, since), "TIME",
      "only runs fired at or after TIME (ISO 8601; local time without offset)" },
    { "until", 0, CMDLINE_INSTANT, offsetof(struct runs_opts, until), "TIME",
      "only runs fired before TIME" },
    { "limit", 0, CMDLINE_INT, offsetof(struct runs_opts, limit), "N",
      "at most N runs, newest first (default 20, at most 1000)", 1, CLI_LIST_MAX },
    { "json", 0, CMDLINE_FLAG, offsetof(struct runs_opts, json), NULL,
      "the daemon's JSON ({\"items\": [...], ...}) instead of a table" },
};

int cli_runs(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "runs", "[JOB]", "  JOB  only the runs of JOB (NAME or NAMESPACE/NAME)\n", runs_rows,
        sizeof runs_rows / sizeof runs_rows[0], NULL, 0, 1, "JOB",
    };
    static const struct cli_list list = { "runs", "/api/v1/runs", "run list", "runs", runs_table };
    struct runs_opts o = { .limit = RUNS_LIMIT_DEFAULT };
    char job[CLI_JOB_ID_MAX], limit[24];
    const char *kv[] = { "job", NULL, "state", NULL, "since", NULL, "until", NULL,
                         "limit", limit, NULL };
    struct err err = { 0 };
    int n = cmdline_parse(&spec, argc, argv, &o);

    if (n < 0)
        return cmdline_exit(n);
    if (n == 1) {
        if (cli_job_id(argv[1], job, &err) < 0) {
            cli_error("runs", &err);
            return 2;
        }
        kv[1] = job;
    }
    kv[3] = o.state;
    kv[5] = o.since[0] ? o.since : NULL;
    kv[7] = o.until[0] ? o.until : NULL;
    snprintf(limit, sizeof limit, "%ld", o.limit);
    return cli_list_show(&list, kv, o.json);
}

struct logs_opts {
    bool follow;
};

static const struct cmdline_opt logs_rows[] = {
    { "follow", 'f', CMDLINE_FLAG, offsetof(struct logs_opts, follow), NULL,
      "go on printing the output as it is written, until the run ends" },
};

int cli_logs(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "logs", "RUN", "  RUN  a run id (chime runs lists them)\n", logs_rows,
        sizeof logs_rows / sizeof logs_rows[0], NULL, 1, 1, "RUN",
    };
    struct logs_opts o = { 0 };
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *run = NULL;
    char path[80], *text = NULL;
    size_t len = 0;
    int64_t id;
    int rc = cmdline_parse(&spec, argc, argv, &o);

    if (rc < 0)
        return cmdline_exit(rc);
    if (cli_run_id(argv[1], &id, &err) < 0) {
        cli_error("logs", &err);
        return 2;
    }
    snprintf(path, sizeof path, "/api/v1/runs/%lld/output", (long long)id);
    if (client_new(&c, &err) < 0)
        goto fail;
    if (o.follow)
        rc = follow_run(c, id, 0, &run, &err);
    else if ((rc = client_text(c, path, 0, &text, &len, &err)) == 0
             && ((len && fwrite(text, 1, len, stdout) != len) || fflush(stdout)))
        rc = err_set(&err, CHIME_EIO, "", "cannot write the output");
    if (rc < 0)
        goto fail;
    rc = 0;
    goto done;
fail:
    rc = client_fail(c, "logs", &err);
done:
    free(text);
    json_decref(run);
    client_free(c);
    return rc;
}

static void cancelled(long long id, const json_t *run)
{
    const char *state = cli_json_str(run, "state");

    printf("run %lld: %s\n", id, state && !strcmp(state, "cancelled")
                                     ? "cancelled"
                                     : "cancelling (its process tree is being ended)");
}

int cli_cancel(int argc, char **argv)
{
    static const char about[] =
        "  RUN     a queued or running run (chime runs lists them): a queued one ends\n"
        "          cancelled at once, a running one once its process tree is ended\n";

    return cli_run_post("cancel", about, "/api/v1/runs/%lld/cancel", argc, argv, cancelled);
}
