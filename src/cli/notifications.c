/* notifications.c: `chime notifications`, the outbox newest first (each
 * event for each channel and how its delivery went), `chime notifications
 * retry ID` (send a failed one again) and `chime channels` (the channels
 * the daemon has). A daemon event has no job: its JOB cell is "-" (the
 * table's mark for nothing; "job" is null in the JSON). */
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

#define LIMIT_DEFAULT "50"

static const char usage_text[] =
    "usage: chime notifications [--state S] [--job JOB] [--channel C] [--limit N] [--json]\n"
    "       chime notifications retry ID\n"
    "  --state S     only notifications in state S: pending delivering delivered failed\n"
    "  --job JOB     only those of JOB (NAME or NAMESPACE/NAME)\n"
    "  --channel C   only those to channel C\n"
    "  --limit N     at most N, newest first (default " LIMIT_DEFAULT ", at most 1000)\n"
    "  --json        the daemon's JSON ({\"items\": [...], ...}) instead of a table\n"
    "  retry ID      send failed notification ID again (same delivery id)\n"
    "The daemon's own events (error_rate, error_rate_ok) have no job: JOB and RUN\n"
    "show -, \"job\" is null in JSON; a token limited to namespaces does not see them.\n";

static const char *const states[] = { "pending", "delivering", "delivered", "failed", NULL };

static const char *num(const json_t *o, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        return "-";
    snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    return buf;
}

static int notifications_table(const json_t *items, struct err *err)
{
    static const struct table_col cols[] = {
        { "ID", true }, { "CREATED" }, { "JOB" }, { "EVENT" }, { "RUN", true },
        { "CHANNEL" }, { "STATE" }, { "ATTEMPTS", true }, { "LAST ERROR" },
    };
    struct table *t = NULL;
    const json_t *n;
    size_t i;
    int rc = table_new(cols, sizeof cols / sizeof cols[0], &t, err);

    json_array_foreach(items, i, n) {
        char id[24], run[24], attempts[24], created[CLI_TIME_LEN], error[81];
        const char *e = cli_json_str(n, "last_error");
        const char *row[9] = { num(n, "id", id, sizeof id), created, cli_json_str(n, "job"),
                               cli_json_str(n, "event"), num(n, "run_id", run, sizeof run),
                               cli_json_str(n, "channel"), cli_json_str(n, "state"),
                               num(n, "attempts", attempts, sizeof attempts), error };

        if (rc < 0)
            break;
        cli_time(cli_json_str(n, "created_at"), created, sizeof created);
        snprintf(error, sizeof error, "%s", e ? e : "");
        if (e && strlen(e) >= sizeof error)
            memcpy(error + sizeof error - 4, "...", 4);
        rc = table_add(t, row, err);
    }
    if (rc == 0)
        table_print(t, stdout);
    table_free(t);
    return rc;
}

static int retry(int argc, char **argv)
{
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *n = NULL;
    char path[80];
    int64_t id;
    int rc;

    if (argc != 2)
        return cli_bad_args("notifications", argc < 2 ? "missing ID" : "more than one ID");
    if (cli_run_id(argv[1], &id, &err) < 0) {
        snprintf(err.field, sizeof err.field, "id");
        cli_error("notifications", &err);
        return 2;
    }
    snprintf(path, sizeof path, "/api/v1/notifications/%lld/retry", (long long)id);
    if (client_new(&c, &err) < 0 || client_json(c, "POST", path, NULL, NULL, &n, &err) < 0) {
        rc = client_fail(c, "notifications", &err);
        goto done;
    }
    printf("notification %lld is due again (delivery %s)\n", (long long)id,
           cli_json_str(n, "delivery_id") ? cli_json_str(n, "delivery_id") : "-");
    rc = fflush(stdout) ? 1 : 0;
done:
    json_decref(n);
    client_free(c);
    return rc;
}

int cli_notifications(int argc, char **argv)
{
    static const struct option opts[] = {
        { "state", required_argument, NULL, 's' },
        { "job", required_argument, NULL, 'J' },
        { "channel", required_argument, NULL, 'c' },
        { "limit", required_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const struct cli_list list = { "notifications", "/api/v1/notifications",
                                          "notification list", "", notifications_table };
    char job[CLI_JOB_ID_MAX];
    const char *kv[] = { "state", NULL, "job", NULL, "channel", NULL, "limit", LIMIT_DEFAULT,
                         NULL };
    struct err err = { 0 };
    bool json = false;
    int ch;

    if (argc > 1 && !strcmp(argv[1], "retry"))
        return retry(argc - 1, argv + 1);
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":s:J:c:n:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (cli_choice(optarg, states, "notification state", &err) < 0)
                goto invalid;
            kv[1] = optarg;
            break;
        case 'J':
            if (cli_job_id(optarg, job, &err) < 0)
                goto invalid;
            kv[3] = job;
            break;
        case 'c': kv[5] = optarg; break;
        case 'n':
            if (cli_list_limit(optarg, &err) < 0)
                goto invalid;
            kv[7] = optarg;
            break;
        case 'j': json = true; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_bad_option("notifications", ch, argv);
        }
    }
    if (optind != argc)
        return cli_bad_args("notifications", "unexpected argument");
    return cli_list_show(&list, kv, json);
invalid:
    cli_error("notifications", &err);
    return 2;
}

int cli_channels(int argc, char **argv)
{
    static const struct table_col cols[] = { { "NAME" }, { "KIND" }, { "TARGET" },
                                             { "NAMESPACES" } };
    struct client *c = NULL;
    struct table *t = NULL;
    struct err err = { 0 };
    json_t *list = NULL;
    const json_t *item;
    bool json = argc == 2 && !strcmp(argv[1], "--json");
    size_t i;
    int rc;

    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs("usage: chime channels [--json]\n  the notification channels the daemon has"
              " (from its channels file; no secrets)\n", stdout);
        return 0;
    }
    if (argc > 1 && !json)
        return cli_bad_args("channels", "unexpected argument");
    if (client_new(&c, &err) < 0 || client_json(c, "GET", "/api/v1/channels", NULL, NULL, &list,
                                                &err) < 0) {
        rc = client_fail(c, "channels", &err);
        goto done;
    }
    if (json) {
        rc = cli_json_print(list);
        goto done;
    }
    rc = table_new(cols, sizeof cols / sizeof cols[0], &t, &err);
    json_array_foreach(json_object_get(list, "items"), i, item) {
        char ns[256] = "";
        const json_t *v;
        size_t k;

        json_array_foreach(json_object_get(item, "namespaces"), k, v) {
            size_t used = strlen(ns);

            snprintf(ns + used, sizeof ns - used, "%s%s", k ? "," : "", json_string_value(v));
        }
        const char *row[4] = { cli_json_str(item, "name"), cli_json_str(item, "kind"),
                               cli_json_str(item, "target"), ns[0] ? ns : "(all)" };

        if (rc == 0)
            rc = table_add(t, row, &err);
    }
    if (rc == 0) {
        table_print(t, stdout);
        rc = fflush(stdout) ? 1 : 0;
    } else {
        cli_error("channels", &err);
        rc = 1;
    }
done:
    table_free(t);
    json_decref(list);
    client_free(c);
    return rc;
}
