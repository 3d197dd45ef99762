/* notifications.c: `chime notifications`, the outbox newest first (each
 * event for each channel and how its delivery went), `chime notifications
 * retry ID` (send a failed one again) and `chime channels` (the channels
 * the daemon has). A daemon event has no job: its JOB cell is "-" (the
 * table's mark for nothing; "job" is null in the JSON). */
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

#define LIMIT_DEFAULT 50

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
    static const struct cmdline_spec spec = {
        "notifications retry", "ID", "  ID  a failed notification, sent again (same delivery id)\n",
        NULL, 0, NULL, 1, 1, "ID",
    };
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *n = NULL;
    char path[80];
    int64_t id;
    int rc = cmdline_parse(&spec, argc, argv, NULL);

    if (rc < 0)
        return cmdline_exit(rc);
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

struct notifications_opts {
    const char *state, *job, *channel;
    long limit;
    bool json;
};

static int state_check(const char *v, struct err *err)
{
    return cli_choice(v, states, "notification state", err);
}

static const struct cmdline_opt rows[] = {
    { "state", 0, CMDLINE_STRING, offsetof(struct notifications_opts, state), "STATE",
      "only notifications in state STATE: pending delivering delivered failed",
      .check = state_check },
    { "job", 0, CMDLINE_STRING, offsetof(struct notifications_opts, job), "JOB",
      "only those of JOB (NAME or NAMESPACE/NAME)" },
    { "channel", 0, CMDLINE_STRING, offsetof(struct notifications_opts, channel), "CHANNEL",
      "only those to channel CHANNEL" },
    { "limit", 0, CMDLINE_INT, offsetof(struct notifications_opts, limit), "N",
      "at most N, newest first (default 50, at most 1000)", 1, CLI_LIST_MAX },
    { "json", 0, CMDLINE_FLAG, offsetof(struct notifications_opts, json), NULL,
      "the daemon's JSON ({\"items\": [...], ...}) instead of a table" },
};

int cli_notifications(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "notifications", NULL, NULL, rows, sizeof rows / sizeof rows[0],
        "  chime notifications retry ID   send failed notification ID again (same delivery id)\n"
        "The daemon's own events (error_rate, error_rate_ok) have no job: JOB and RUN\n"
        "show -, \"job\" is null in JSON; a token limited to namespaces does not see them.\n",
        0, 0, NULL,
    };
    static const struct cli_list list = { "notifications", "/api/v1/notifications",
                                          "notification list", "", notifications_table };
    struct notifications_opts o = { .limit = LIMIT_DEFAULT };
    char job[CLI_JOB_ID_MAX], limit[24];
    const char *kv[] = { "state", NULL, "job", NULL, "channel", NULL, "limit", limit, NULL };
    struct err err = { 0 };
    int n;

    if (argc > 1 && !strcmp(argv[1], "retry"))
        return retry(argc - 1, argv + 1);
    if ((n = cmdline_parse(&spec, argc, argv, &o)) < 0)
        return cmdline_exit(n);
    if (o.job) {
        if (cli_job_id(o.job, job, &err) < 0) {
            cli_error("notifications", &err);
            return 2;
        }
        kv[3] = job;
    }
    kv[1] = o.state;
    kv[5] = o.channel;
    snprintf(limit, sizeof limit, "%ld", o.limit);
    return cli_list_show(&list, kv, o.json);
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
    static const struct cmdline_opt channel_rows[] = {
        { "json", 0, CMDLINE_FLAG, 0, NULL, "the daemon's JSON ({\"items\": [...]})" },
    };
    static const struct cmdline_spec spec = {
        "channels", NULL,
        "  the notification channels the daemon has (from its channels file; no secrets)\n",
        channel_rows, 1, NULL, 0, 0, NULL,
    };
    bool json = false;
    size_t i;
    int rc = cmdline_parse(&spec, argc, argv, &json);

    if (rc < 0)
        return cmdline_exit(rc);
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
