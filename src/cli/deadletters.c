/* deadletters.c: `chime dead-letters [JOB]`, the fires whose last attempt
 * failed, newest first, and `chime requeue ID`, one of them run again
 * (GET /api/v1/dead-letters, POST /api/v1/dead-letters/{run_id}/requeue). */
#include "cli/cli.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/cmdline.h"
#include "cli/table.h"
#include "util/err.h"
#include "../banned.h"

#define DEAD_LIMIT_DEFAULT 20

static int dead_table(const json_t *items, struct err *err)
{
    static const struct table_col cols[] = {
        { "RUN", true }, { "JOB" }, { "FIRE TIME" }, { "DEAD SINCE" }, { "REASON" },
    };
    struct table *t = NULL;
    const json_t *d;
    size_t i;
    int rc = table_new(cols, sizeof cols / sizeof cols[0], &t, err);

    json_array_foreach(items, i, d) {
        char id[24] = "-", fire[CLI_TIME_LEN], at[CLI_TIME_LEN];
        const char *row[5] = { id, cli_json_str(d, "job"), fire, at, cli_json_str(d, "reason") };

        if (rc < 0)
            break;
        if (json_is_integer(json_object_get(d, "run_id")))
            snprintf(id, sizeof id, "%lld",
                     (long long)json_integer_value(json_object_get(d, "run_id")));
        cli_time(cli_json_str(d, "fire_time"), fire, sizeof fire);
        cli_time(cli_json_str(d, "created_at"), at, sizeof at);
        rc = table_add(t, row, err);
    }
    if (rc == 0)
        table_print(t, stdout);
    table_free(t);
    return rc;
}

struct dead_opts {
    long limit;
    bool json;
};

static const struct cmdline_opt dead_rows[] = {
    { "limit", 0, CMDLINE_INT, offsetof(struct dead_opts, limit), "N",
      "at most N dead letters, newest first (default 20, at most 1000)", 1, CLI_LIST_MAX },
    { "json", 0, CMDLINE_FLAG, offsetof(struct dead_opts, json), NULL,
      "the daemon's JSON ({\"items\": [...], ...}) instead of a table" },
};

int cli_dead_letters(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "dead-letters", "[JOB]", "  JOB  only the dead letters of JOB (NAME or NAMESPACE/NAME)\n",
        dead_rows, sizeof dead_rows / sizeof dead_rows[0],
        "chime requeue RUN runs a dead letter's job again and drops the letter\n", 0, 1, "JOB",
    };
    static const struct cli_list list = { "dead-letters", "/api/v1/dead-letters",
                                          "dead letter list", "dead letters", dead_table };
    struct dead_opts o = { .limit = DEAD_LIMIT_DEFAULT };
    char job[CLI_JOB_ID_MAX], limit[24];
    const char *kv[] = { "job", NULL, "limit", limit, NULL };
    struct err err = { 0 };
    int n = cmdline_parse(&spec, argc, argv, &o);

    if (n < 0)
        return cmdline_exit(n);
    if (n == 1) {
        if (cli_job_id(argv[1], job, &err) < 0) {
            cli_error("dead-letters", &err);
            return 2;
        }
        kv[1] = job;
    }
    snprintf(limit, sizeof limit, "%ld", o.limit);
    return cli_list_show(&list, kv, o.json);
}

static void requeued(long long id, const json_t *ref)
{
    printf("dead letter %lld requeued: run %lld\n", id,
           (long long)json_integer_value(json_object_get(ref, "run_id")));
}

int cli_requeue(int argc, char **argv)
{
    static const char about[] =
        "  RUN     the run id of a dead letter (chime dead-letters lists them): its job runs\n"
        "          again now, and the dead letter goes\n";

    return cli_run_post("requeue", about, "/api/v1/dead-letters/%lld/requeue", argc, argv,
                        requeued);
}
