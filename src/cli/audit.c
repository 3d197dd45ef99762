/* audit.c: `chime audit`, the daemon's audit log: who changed what, when,
 * from where, and how it went, newest first. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/table.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

#define AUDIT_LIMIT_DEFAULT "20"

static const char audit_usage[] =
    "usage: chime audit [--job JOB] [--token NAME] [--since T] [--until T] [--limit N] [--json]\n"
    "  --job JOB     only changes of JOB (NAME or NAMESPACE/NAME)\n"
    "  --token NAME  only requests made with the token NAME\n"
    "  --since T     only entries at or after T (ISO 8601; local time without offset)\n"
    "  --until T     only entries before T\n"
    "  --limit N     at most N entries, newest first (default " AUDIT_LIMIT_DEFAULT ", at most 1000)\n"
    "  --json        the daemon's JSON ({\"items\": [...], ...}) instead of a table\n";

/* "3 -> 4", "- -> 1", "2 -> -" */
static const char *versions_text(const json_t *e, char *buf, size_t len)
{
    const json_t *b = json_object_get(e, "version_before"), *a = json_object_get(e, "version_after");
    char vb[24] = "-", va[24] = "-";

    if (json_is_null(b) && json_is_null(a))
        return "";
    if (json_is_integer(b))
        snprintf(vb, sizeof vb, "%lld", (long long)json_integer_value(b));
    if (json_is_integer(a))
        snprintf(va, sizeof va, "%lld", (long long)json_integer_value(a));
    snprintf(buf, len, "%s -> %s", vb, va);
    return buf;
}

static int audit_table(const json_t *items, struct err *err)
{
    static const struct table_col cols[] = {
        { "TIME" }, { "TOKEN" }, { "ADDRESS" }, { "REQUEST" }, { "JOB" }, { "VERSION" },
        { "STATUS", true },
    };
    struct table *t = NULL;
    const json_t *e;
    size_t i;
    int rc = table_new(cols, sizeof cols / sizeof cols[0], &t, err);

    json_array_foreach(items, i, e) {
        char at[CLI_TIME_LEN], req[600], ver[64], status[16];
        const char *row[7] = { at, cli_json_str(e, "token"), cli_json_str(e, "address"), req,
                               cli_json_str(e, "job"), versions_text(e, ver, sizeof ver), status };

        if (rc < 0)
            break;
        cli_time(cli_json_str(e, "at"), at, sizeof at);
        snprintf(req, sizeof req, "%s %s", cli_json_str(e, "method") ? cli_json_str(e, "method") : "?",
                 cli_json_str(e, "path") ? cli_json_str(e, "path") : "?");
        snprintf(status, sizeof status, "%lld",
                 (long long)json_integer_value(json_object_get(e, "status")));
        rc = table_add(t, row, err);
    }
    if (rc == 0)
        table_print(t, stdout);
    table_free(t);
    return rc;
}

int cli_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        { "job", required_argument, NULL, 'J' },
        { "token", required_argument, NULL, 'T' },
        { "since", required_argument, NULL, 'S' },
        { "until", required_argument, NULL, 'U' },
        { "limit", required_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const struct cli_list list = { "audit", "/api/v1/audit", "audit log", "entries",
                                          audit_table };
    char job[CLI_JOB_ID_MAX], since[ISOTIME_LEN], until[ISOTIME_LEN];
    const char *kv[] = { "job", NULL, "token", NULL, "since", NULL, "until", NULL,
                         "limit", AUDIT_LIMIT_DEFAULT, NULL };
    struct err err = { 0 };
    bool json = false;
    int ch;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":J:T:S:U:n:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'J':
            if (cli_job_id(optarg, job, &err) < 0)
                goto invalid;
            kv[1] = job;
            break;
        case 'T':
            if (cli_namespace(optarg, &err) < 0) {
                err_set(&err, CHIME_EINVAL, "token", "'%.40s' is not a token name", optarg);
                goto invalid;
            }
            kv[3] = optarg;
            break;
        case 'S':
            if (cli_user_time(optarg, "since", since, sizeof since, &err) < 0)
                goto invalid;
            kv[5] = since;
            break;
        case 'U':
            if (cli_user_time(optarg, "until", until, sizeof until, &err) < 0)
                goto invalid;
            kv[7] = until;
            break;
        case 'n':
            if (cli_list_limit(optarg, &err) < 0)
                goto invalid;
            kv[9] = optarg;
            break;
        case 'j': json = true; break;
        case 'h': fputs(audit_usage, stdout); return 0;
        default: return cli_bad_option("audit", ch, argv);
        }
    }
    if (optind != argc)
        return cli_bad_args("audit", "no arguments are taken");
    return cli_list_show(&list, kv, json);
invalid:
    cli_error("audit", &err);
    return 2;
}
