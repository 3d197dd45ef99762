/* token.c: `chime token create|list|revoke`, the daemon's API tokens
 * (admin of every namespace only).
 *
 * create prints the new secret alone on standard output, so that
 * TOKEN=$(chime token create ci --role operator) works, and what was made
 * on standard error; the secret is shown this once (the daemon keeps its
 * hash). list never shows secrets: the daemon has none to show. */
#include "cli/cli.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/token.h"
#include "cli/client.h"
#include "cli/cmdline.h"
#include "cli/table.h"
#include "time/units.h"
#include "util/err.h"
#include "../banned.h"

#define LIST_PAGES_MAX 100 /* pages of 1000 tokens list reads at most */

/* "a, b" or "every namespace" */
static const char *namespaces_text(const json_t *t, char *buf, size_t len)
{
    const json_t *ns = json_object_get(t, "namespaces"), *v;
    size_t i, o = 0;

    if (!json_is_array(ns)) {
        snprintf(buf, len, "*");
        return buf;
    }
    buf[0] = '\0';
    json_array_foreach(ns, i, v) if (json_is_string(v) && o < len)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "", json_string_value(v));
    return buf;
}

struct create_opts {
    const char *role, *expires;
    struct cmdline_list ns;
    bool json;
};

static int role_check(const char *v, struct err *err)
{
    enum token_role role;

    return token_role_parse(v, "role", &role, err);
}

static int expires_check(const char *v, struct err *err)
{
    int64_t us;

    return units_duration_parse(v, "expires", &us, err);
}

static const struct cmdline_opt create_rows[] = {
    { "role", 0, CMDLINE_STRING, offsetof(struct create_opts, role), "ROLE",
      "viewer (read), operator (read, run, pause, cancel, requeue) or admin (everything)",
      .required = true, .check = role_check },
    { "namespace", 0, CMDLINE_LIST, offsetof(struct create_opts, ns), "NS",
      "a namespace it sees (again for more); default: every one", .check = cli_namespace },
    { "expires", 0, CMDLINE_STRING, offsetof(struct create_opts, expires), "DURATION",
      "it stops working after DURATION (30d, 12h); default: never", .check = expires_check },
    { "json", 0, CMDLINE_FLAG, offsetof(struct create_opts, json), NULL,
      "the daemon's answer, with the secret as \"secret\"" },
};

static int token_create(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "token create", "NAME",
        "  NAME  the token's name; its secret is printed once (the daemon keeps only its hash)\n",
        create_rows, sizeof create_rows / sizeof create_rows[0], NULL, 1, 1, "NAME",
    };
    struct create_opts o = { 0 };
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *body = json_object(), *ns = NULL, *reply = NULL;
    const char *secret;
    char *text = NULL, nsbuf[512], exp[CLI_TIME_LEN];
    int rc = cmdline_parse(&spec, argc, argv, &o);

    if (rc < 0) {
        rc = cmdline_exit(rc);
        goto done;
    }
    if (!body) {
        rc = 1;
        goto done;
    }
    json_object_set_new(body, "role", json_string(o.role));
    if (o.expires)
        json_object_set_new(body, "expires", json_string(o.expires));
    if (o.ns.n) {
        ns = json_array();
        for (size_t i = 0; i < o.ns.n; i++)
            json_array_append_new(ns, json_string(o.ns.v[i]));
    }
    if (cli_namespace(argv[1], &err) < 0) {
        err_set(&err, CHIME_EINVAL, "name", "'%.40s' is not a token name ([a-z0-9][a-z0-9._-]{0,62})",
                argv[1]);
        goto invalid;
    }
    json_object_set_new(body, "name", json_string(argv[1]));
    if (ns)
        json_object_set(body, "namespaces", ns);
    text = json_dumps(body, JSON_COMPACT);
    if (client_new(&c, &err) < 0 || client_json(c, "POST", "/api/v1/tokens", text, NULL, &reply, &err) < 0)
        goto fail;
    secret = cli_json_str(reply, "secret");
    if (!secret) {
        err_set(&err, CHIME_EIO, "", "the daemon's answer has no secret");
        goto fail;
    }
    if (o.json) {
        rc = cli_json_print(reply);
        goto done;
    }
    fprintf(stderr, "chime token: created '%s' (%s, namespaces %s, expires %s); its secret is shown "
                    "this once:\n",
            cli_json_str(reply, "name"), cli_json_str(reply, "role"),
            namespaces_text(reply, nsbuf, sizeof nsbuf),
            cli_json_str(reply, "expires_at") ? cli_time(cli_json_str(reply, "expires_at"), exp, sizeof exp)
                                               : "never");
    printf("%s\n", secret);
    rc = fflush(stdout) ? 1 : 0;
    goto done;
fail:
    rc = client_fail(c, "token create", &err);
    goto done;
invalid:
    cli_error("token create", &err);
    rc = 2;
done:
    free(text);
    json_decref(ns);
    json_decref(body);
    json_decref(reply);
    client_free(c);
    return rc;
}

static const char *state_text(const json_t *t)
{
    int64_t exp;

    if (cli_json_str(t, "revoked_at"))
        return "revoked";
    if (cli_time_us(cli_json_str(t, "expires_at"), &exp) == 0 && exp <= cli_now_us())
        return "expired";
    return "live";
}

struct list_opts {
    bool all, json;
};

static const struct cmdline_opt list_rows[] = {
    { "all", 0, CMDLINE_FLAG, offsetof(struct list_opts, all), NULL, "the revoked ones too" },
    { "json", 0, CMDLINE_FLAG, offsetof(struct list_opts, json), NULL,
      "the daemon's JSON ({\"items\": [...]})" },
};

static int token_list(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "token list", NULL, "  the tokens, without secrets (the daemon has none to show)\n",
        list_rows, sizeof list_rows / sizeof list_rows[0], NULL, 0, 0, NULL,
    };
    struct list_opts o = { 0 };
    static const struct table_col cols[] = {
        { "NAME" }, { "ROLE" }, { "NAMESPACES" }, { "STATE" }, { "CREATED" }, { "EXPIRES" }, { "ID" },
    };
    struct client *c = NULL;
    struct err err = { 0 };
    struct table *t = NULL;
    json_t *all = json_array(), *page = NULL;
    char path[512], cursor[300] = "";
    const char *kv[] = { "revoked", "false", "limit", "1000", "cursor", NULL, NULL };
    int rc = cmdline_parse(&spec, argc, argv, &o);

    if (rc < 0) {
        json_decref(all);
        return cmdline_exit(rc);
    }
    if (o.all)
        kv[1] = "true";
    if (client_new(&c, &err) < 0)
        goto fail;
    for (int i = 0; i < LIST_PAGES_MAX; i++) {
        const char *next;

        kv[5] = cursor[0] ? cursor : NULL;
        json_decref(page);
        page = NULL;
        if (client_path(path, sizeof path, "/api/v1/tokens", kv, &err) < 0
            || client_json(c, "GET", path, NULL, NULL, &page, &err) < 0)
            goto fail;
        if (!json_is_array(json_object_get(page, "items"))) {
            err_set(&err, CHIME_EIO, "", "the daemon's token list has no \"items\" array");
            goto fail;
        }
        json_array_extend(all, json_object_get(page, "items"));
        next = cli_json_str(page, "next_cursor");
        if (!next || !*next || strlen(next) >= sizeof cursor)
            break;
        snprintf(cursor, sizeof cursor, "%s", next);
    }
    if (o.json) {
        json_t *out = json_pack("{s:O, s:n, s:n}", "items", all, "next_cursor", "total");

        rc = cli_json_print(out);
        json_decref(out);
        goto done;
    }
    if (table_new(cols, sizeof cols / sizeof cols[0], &t, &err) < 0)
        goto fail;
    {
        const json_t *tok;
        size_t i;

        json_array_foreach(all, i, tok) {
            char ns[512], created[CLI_TIME_LEN], expires[CLI_TIME_LEN];
            const char *row[7] = { cli_json_str(tok, "name"), cli_json_str(tok, "role"),
                                   namespaces_text(tok, ns, sizeof ns), state_text(tok),
                                   cli_time(cli_json_str(tok, "created_at"), created, sizeof created),
                                   cli_json_str(tok, "expires_at")
                                       ? cli_time(cli_json_str(tok, "expires_at"), expires, sizeof expires)
                                       : "never",
                                   cli_json_str(tok, "id") };

            if (table_add(t, row, &err) < 0)
                goto fail;
        }
    }
    table_print(t, stdout);
    rc = fflush(stdout) ? 1 : 0;
    goto done;
fail:
    rc = client_fail(c, "token list", &err);
done:
    table_free(t);
    json_decref(page);
    json_decref(all);
    client_free(c);
    return rc;
}

static int token_revoke(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "token revoke", "NAME", "  NAME  the token that stops working, at once\n", NULL, 0, NULL,
        1, 1, "NAME",
    };
    struct client *c = NULL;
    struct err err = { 0 };
    char path[160];
    int rc = cmdline_parse(&spec, argc, argv, NULL);

    if (rc < 0)
        return cmdline_exit(rc);
    if (cli_namespace(argv[1], &err) < 0) {
        err_set(&err, CHIME_EINVAL, "name", "'%.40s' is not a token name", argv[1]);
        cli_error("token revoke", &err);
        return 2;
    }
    snprintf(path, sizeof path, "/api/v1/tokens/%s", argv[1]);
    if (client_new(&c, &err) < 0 || client_json(c, "DELETE", path, NULL, NULL, NULL, &err) < 0) {
        rc = client_fail(c, "token revoke", &err);
    } else {
        printf("revoked %s\n", argv[1]);
        rc = fflush(stdout) ? 1 : 0;
    }
    client_free(c);
    return rc;
}

static const struct cmdline_cmd subcommands[] = {
    { "create", token_create, "NAME --role ROLE [--namespace NS]... [--expires DURATION] [--json]",
      "make a token and print its secret, once (the daemon keeps only its hash)" },
    { "list", token_list, "[--all] [--json]", "the tokens, without secrets" },
    { "revoke", token_revoke, "NAME", "stop the token NAME from working, at once" },
};

static const struct cmdline_cmds token_table = {
    "chime token", "usage: chime token SUBCOMMAND ARGS (admin of every namespace only)\n\n",
    subcommands, sizeof subcommands / sizeof subcommands[0], NULL,
};

int cli_token(int argc, char **argv)
{
    return cmdline_dispatch(&token_table, argc, argv);
}
