/* deadletters.c: `chime dead-letters [JOB]`, the fires whose last attempt
 * failed, newest first, and `chime requeue ID`, one of them run again
 * (GET /api/v1/dead-letters, POST /api/v1/dead-letters/{run_id}/requeue). */
#include "cli/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/table.h"
#include "util/err.h"
#include "../banned.h"

#define DEAD_LIMIT_DEFAULT "20"

static const char dead_usage[] =
    "usage: chime dead-letters [JOB] [--limit N] [--json]\n"
    "  JOB         only the dead letters of JOB (NAME or NAMESPACE/NAME)\n"
    "  --limit N   at most N dead letters, newest first (default " DEAD_LIMIT_DEFAULT
    ", at most 1000)\n"
    "  --json      the daemon's JSON ({\"items\": [...], ...}) instead of a table\n"
    "  chime requeue RUN runs a dead letter's job again and drops the letter\n";

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

int cli_dead_letters(int argc, char **argv)
{
    static const struct option opts[] = {
        { "limit", required_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const struct cli_list list = { "dead-letters", "/api/v1/dead-letters",
                                          "dead letter list", "dead letters", dead_table };
    char job[CLI_JOB_ID_MAX];
    const char *kv[] = { "job", NULL, "limit", DEAD_LIMIT_DEFAULT, NULL };
    struct err err = { 0 };
    bool json = false;
    int ch;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":n:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            if (cli_list_limit(optarg, &err) < 0)
                goto invalid;
            kv[3] = optarg;
            break;
        case 'j': json = true; break;
        case 'h': fputs(dead_usage, stdout); return 0;
        default: return cli_bad_option("dead-letters", ch, argv);
        }
    }
    if (argc - optind > 1)
        return cli_bad_args("dead-letters", "more than one JOB");
    if (optind < argc) {
        if (cli_job_id(argv[optind], job, &err) < 0)
            goto invalid;
        kv[1] = job;
    }
    return cli_list_show(&list, kv, json);
invalid:
    cli_error("dead-letters", &err);
    return 2;
}

static void requeued(long long id, const json_t *ref)
{
    printf("dead letter %lld requeued: run %lld\n", id,
           (long long)json_integer_value(json_object_get(ref, "run_id")));
}

int cli_requeue(int argc, char **argv)
{
    static const char usage[] =
        "usage: chime requeue RUN [--json]\n"
        "  RUN     the run id of a dead letter (chime dead-letters lists them): its job runs\n"
        "          again now, and the dead letter goes\n"
        "  --json  {\"run_id\"} of the new run\n";

    return cli_run_post("requeue", usage, "/api/v1/dead-letters/%lld/requeue", argc, argv,
                        requeued);
}
