/* token.c: `chime token create|list|revoke`, the daemon's API tokens
 * (admin of every namespace only).
 *
 * create prints the new secret alone on standard output, so that
 * TOKEN=$(chime token create ci --role operator) works, and what was made
 * on standard error; the secret is shown this once (the daemon keeps its
 * hash). list never shows secrets: the daemon has none to show. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/token.h"
#include "cli/client.h"
#include "cli/table.h"
#include "time/units.h"
#include "util/err.h"
#include "../banned.h"

#define NAMESPACES_MAX 1000
#define LIST_PAGES_MAX 100 /* pages of 1000 tokens list reads at most */

static const char token_usage[] =
    "usage: chime token create NAME --role ROLE [--namespace NS]... [--expires DURATION] [--json]\n"
    "       chime token list [--all] [--json]\n"
    "       chime token revoke NAME\n"
    "  create   makes a token and prints its secret, once (the daemon keeps only its hash)\n"
    "    --role ROLE        viewer (read), operator (read, run, pause, cancel, requeue) or\n"
    "                       admin (everything)\n"
    "    --namespace NS     the namespaces it sees (again for more); default: every one\n"
    "    --expires D        it stops working after D (30d, 12h); default: never\n"
    "    --json             the daemon's answer, with the secret as \"secret\"\n"
    "  list     the tokens, without secrets; --all with the revoked ones\n"
    "  revoke   stops the token NAME from working, at once\n";

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

static int token_create(int argc, char **argv)
{
    static const struct option opts[] = {
        { "role", required_argument, NULL, 'r' },
        { "namespace", required_argument, NULL, 'n' },
        { "expires", required_argument, NULL, 'e' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *body = json_object(), *ns = NULL, *reply = NULL;
    const char *secret;
    char *text = NULL, nsbuf[512], exp[CLI_TIME_LEN];
    bool json = false;
    enum token_role role;
    int64_t us;
    int ch, rc = 2;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":r:n:e:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'r':
            if (token_role_parse(optarg, "role", &role, &err) < 0)
                goto invalid;
            json_object_set_new(body, "role", json_string(optarg));
            break;
        case 'n':
            if (cli_namespace(optarg, &err) < 0)
                goto invalid;
            if (!ns)
                ns = json_array();
            if (json_array_size(ns) < NAMESPACES_MAX)
                json_array_append_new(ns, json_string(optarg));
            break;
        case 'e':
            if (units_duration_parse(optarg, "expires", &us, &err) < 0)
                goto invalid;
            json_object_set_new(body, "expires", json_string(optarg));
            break;
        case 'j': json = true; break;
        case 'h': fputs(token_usage, stdout); rc = 0; goto done;
        default: rc = cli_bad_option("token create", ch, argv); goto done;
        }
    }
    if (argc - optind != 1) {
        rc = cli_bad_args("token create", "one NAME is needed");
        goto done;
    }
    if (cli_namespace(argv[optind], &err) < 0) {
        err_set(&err, CHIME_EINVAL, "name", "'%.40s' is not a token name ([a-z0-9][a-z0-9._-]{0,62})",
                argv[optind]);
        goto invalid;
    }
    if (!json_object_get(body, "role")) {
        rc = cli_bad_args("token create", "--role is needed");
        goto done;
    }
    json_object_set_new(body, "name", json_string(argv[optind]));
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
    if (json) {
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

static int token_list(int argc, char **argv)
{
    static const struct option opts[] = {
        { "all", no_argument, NULL, 'a' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const struct table_col cols[] = {
        { "NAME" }, { "ROLE" }, { "NAMESPACES" }, { "STATE" }, { "CREATED" }, { "EXPIRES" }, { "ID" },
    };
    struct client *c = NULL;
    struct err err = { 0 };
    struct table *t = NULL;
    json_t *all = json_array(), *page = NULL;
    char path[512], cursor[300] = "";
    const char *kv[] = { "revoked", "false", "limit", "1000", "cursor", NULL, NULL };
    bool json = false;
    int ch, rc;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":ajh", opts, NULL)) != -1) {
        switch (ch) {
        case 'a': kv[1] = "true"; break;
        case 'j': json = true; break;
        case 'h': fputs(token_usage, stdout); json_decref(all); return 0;
        default: json_decref(all); return cli_bad_option("token list", ch, argv);
        }
    }
    if (optind != argc) {
        json_decref(all);
        return cli_bad_args("token list", "no arguments are taken");
    }
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
    if (json) {
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
    struct client *c = NULL;
    struct err err = { 0 };
    char path[160];
    int rc;

    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(token_usage, stdout);
        return 0;
    }
    if (argc != 2)
        return cli_bad_args("token revoke", "one NAME is needed");
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

int cli_token(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        { "create", token_create },
        { "list", token_list },
        { "revoke", token_revoke },
    };

    if (argc < 2) {
        fputs(token_usage, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(token_usage, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (!strcmp(argv[1], subs[i].name))
            return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "chime token: unknown subcommand '%.40s' (create, list, revoke)\n", argv[1]);
    return 2;
}
