/* audit.c: `chime audit`, the daemon's audit log: who changed what, when,
 * from where, and how it went, newest first. */
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
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

#define AUDIT_LIMIT_DEFAULT 20

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

struct audit_opts {
    const char *job, *token;
    char since[CMDLINE_INSTANT_LEN], until[CMDLINE_INSTANT_LEN];
    long limit;
    bool json;
};

static int token_check(const char *v, struct err *err)
{
    char q[48];

    if (cli_namespace(v, err) < 0)
        return err_set(err, CHIME_EINVAL, "token", "'%s' is not a token name",
                       err_quote(v, strlen(v), q, sizeof q));
    return 0;
}

static const struct cmdline_opt audit_rows[] = {
    { "job", 0, CMDLINE_STRING, offsetof(struct audit_opts, job), "JOB",
      "only changes of JOB (NAME or NAMESPACE/NAME)" },
    { "token", 0, CMDLINE_STRING, offsetof(struct audit_opts, token), "NAME",
      "only requests made with the token NAME", .check = token_check },
    { "since", 0, CMDLINE_INSTANT, offsetof(struct audit_opts, since), "TIME",
      "only entries at or after TIME (ISO 8601; local time without offset)" },
    { "until", 0, CMDLINE_INSTANT, offsetof(struct audit_opts, until), "TIME",
      "only entries before TIME" },
    { "limit", 0, CMDLINE_INT, offsetof(struct audit_opts, limit), "N",
      "at most N entries, newest first (default 20, at most 1000)", 1, CLI_LIST_MAX },
    { "json", 0, CMDLINE_FLAG, offsetof(struct audit_opts, json), NULL,
      "the daemon's JSON ({\"items\": [...], ...}) instead of a table" },
};

int cli_audit(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "audit", NULL, NULL, audit_rows, sizeof audit_rows / sizeof audit_rows[0], NULL, 0, 0,
        NULL,
    };
    static const struct cli_list list = { "audit", "/api/v1/audit", "audit log", "entries",
                                          audit_table };
    struct audit_opts o = { .limit = AUDIT_LIMIT_DEFAULT };
    char job[CLI_JOB_ID_MAX], limit[24];
    const char *kv[] = { "job", NULL, "token", NULL, "since", NULL, "until", NULL,
                         "limit", limit, NULL };
    struct err err = { 0 };
    int n = cmdline_parse(&spec, argc, argv, &o);

    if (n < 0)
        return cmdline_exit(n);
    if (o.job) {
        if (cli_job_id(o.job, job, &err) < 0) {
            cli_error("audit", &err);
            return 2;
        }
        kv[1] = job;
    }
    kv[3] = o.token;
    kv[5] = o.since[0] ? o.since : NULL;
    kv[7] = o.until[0] ? o.until : NULL;
    snprintf(limit, sizeof limit, "%ld", o.limit);
    return cli_list_show(&list, kv, o.json);
}
