/* run.c: `chime run JOB [--wait] [--env KEY=VALUE]...`: a manual run now.
 *
 * Without --wait it prints the new run's id and returns. With --wait it is
 * the job in the foreground: the run's output on our stdout and stderr as
 * it comes, and the run's end as our exit status, the way timeout(1) and
 * ssh hand a command's status on, so `chime run --wait JOB && next` works. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/follow.h"
#include "time/units.h"
#include "util/err.h"
#include "../banned.h"

#define RUN_ENV_MAX 256

static const char usage[] =
    "usage: chime run JOB [--wait [--timeout DURATION]] [--env KEY=VALUE]... [--json]\n"
    "  JOB             NAME or NAMESPACE/NAME\n"
    "  --env K=V       extra environment for this run (repeatable)\n"
    "  --wait          print the run's output as it comes and exit with its status:\n"
    "                  its exit code, 128+N for signal N, 124 when it timed out,\n"
    "                  1 for any other failure\n"
    "  --timeout DUR   with --wait: give up waiting after DUR (90s, 15m, 2h); the\n"
    "                  run goes on\n"
    "  --json          print the daemon's answer ({\"run_id\": N}) as JSON\n";

/* KEY=VALUE with a POSIX-style variable name, added to ENV. */
static int add_env(json_t *env, const char *arg, struct err *err)
{
    const char *eq = strchr(arg, '=');
    char key[256], q[64];
    size_t n = eq ? (size_t)(eq - arg) : 0;

    if (!eq || n == 0 || n >= sizeof key || strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                                                        "nopqrstuvwxyz0123456789_") != n
        || (arg[0] >= '0' && arg[0] <= '9'))
        return err_set(err, CHIME_EINVAL, "env",
                       "'%s' is not KEY=VALUE with KEY of letters, digits and '_'",
                       err_quote(arg, strlen(arg), q, sizeof q));
    if (json_object_size(env) >= RUN_ENV_MAX)
        return err_set(err, CHIME_ERANGE, "env", "more than %d variables", RUN_ENV_MAX);
    memcpy(key, arg, n);
    key[n] = '\0';
    if (json_object_set_new(env, key, json_string(eq + 1)) < 0)
        return err_set(err, CHIME_EINVAL, "env", "the value of %s is not UTF-8 text", key);
    return 0;
}

/* A line for the ends an exit status does not explain by itself:
 * "chime run: run 7 ended timed_out (signal 15): ERROR". */
static void tell_end(int64_t id, const json_t *run)
{
    const char *state = cli_json_str(run, "state"), *why = cli_json_str(run, "error");
    const json_t *sig = json_object_get(run, "signal");
    char how[48] = "";

    if (!state || !strcmp(state, "succeeded"))
        return;
    if (!strcmp(state, "failed") && json_is_integer(json_object_get(run, "exit_code"))
        && !json_is_integer(sig) && !json_is_string(sig))
        return; /* its exit status says it all, as a shell would */
    if (json_is_integer(sig))
        snprintf(how, sizeof how, " (signal %lld)", (long long)json_integer_value(sig));
    else if (json_is_string(sig))
        snprintf(how, sizeof how, " (%.30s)", json_string_value(sig));
    fprintf(stderr, "chime run: run %lld ended %.20s%s%s%.200s\n", (long long)id, state, how,
            why ? ": " : "", why ? why : "");
}

int cli_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "wait", no_argument, NULL, 'w' },
        { "timeout", required_argument, NULL, 't' },
        { "env", required_argument, NULL, 'e' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *env = json_object(), *body = NULL, *answer = NULL, *run = NULL;
    char id[CLI_JOB_ID_MAX], path[200], *text = NULL;
    const json_t *rid;
    bool wait = false, json = false;
    int64_t timeout_us = 0, run_id;
    int ch, rc;

    if (!env) {
        fputs("chime run: out of memory\n", stderr);
        return 1;
    }
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":wt:e:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'w': wait = true; break;
        case 'j': json = true; break;
        case 't':
            if (units_duration_parse(optarg, "timeout", &timeout_us, &err) < 0)
                goto invalid;
            break;
        case 'e':
            if (add_env(env, optarg, &err) < 0)
                goto invalid;
            break;
        case 'h': fputs(usage, stdout); rc = 0; goto done;
        default: rc = cli_bad_option("run", ch, argv); goto done;
        }
    }
    if (optind != argc - 1) {
        rc = cli_bad_args("run", optind == argc ? "missing JOB" : "more than one JOB");
        goto done;
    }
    if (timeout_us && !wait) {
        err_set(&err, CHIME_EINVAL, "timeout", "--timeout needs --wait");
        goto invalid;
    }
    if (cli_job_id(argv[optind], id, &err) < 0)
        goto invalid;
    if (json_object_size(env)) {
        body = json_pack("{sO}", "env", env);
        if (!body || !(text = json_dumps(body, JSON_COMPACT))) {
            fputs("chime run: out of memory\n", stderr);
            rc = 1;
            goto done;
        }
    }
    snprintf(path, sizeof path, "/api/v1/jobs/%s/trigger", id);
    if (client_new(&c, &err) < 0
        || client_json(c, "POST", path, text, NULL, &answer, &err) < 0)
        goto fail;
    rid = json_object_get(answer, "run_id");
    if (!json_is_integer(rid) || (run_id = json_integer_value(rid)) < 1) {
        err_set(&err, CHIME_EIO, "", "the daemon's answer has no run_id");
        goto fail;
    }
    if (!wait) {
        if (json)
            rc = cli_json_print(answer);
        else
            rc = printf("%lld\n", (long long)run_id) < 0 || fflush(stdout) ? 1 : 0;
        goto done;
    }
    if (follow_run(c, run_id, timeout_us, &run, &err) < 0)
        goto fail;
    tell_end(run_id, run);
    rc = follow_exit_status(run);
    goto done;
fail:
    rc = client_fail(c, "run", &err);
    goto done;
invalid:
    cli_error("run", &err);
    rc = 2;
done:
    free(text);
    json_decref(run);
    json_decref(answer);
    json_decref(body);
    json_decref(env);
    client_free(c);
    return rc;
}
