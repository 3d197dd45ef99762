/* run.c: `chime run JOB [--wait] [--param NAME=VALUE]...`: a manual run now.
 *
 * --param sets one of the job's declared params for this run (the daemon
 * checks it against the job's pattern); --env is its former spelling and
 * means the same. 
 * Without --wait it prints the new run's id and returns. With --wait it is
 * the job in the foreground: the run's output on our stdout and stderr as
 * it comes, and the run's end as our exit status, the way timeout(1) and
 * ssh hand a command's status on, so `chime run --wait JOB && next` works.
 * A run that fails with attempts left in its job's retry policy is not the
 * end: --wait follows the retry chain (attempt 2, 3, ... of the same fire,
 * each recorded when its backoff is over) and exits with the status of
 * the final attempt. */
#include "cli/cli.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/cmdline.h"
#include "cli/follow.h"
#include "time/units.h"
#include "util/err.h"
#include "../banned.h"

#define RUN_PARAMS_MAX 64           /* as a job declares at most */

/* NAME=VALUE with a POSIX-style variable name, added to PARAMS. */
static int add_param(json_t *params, const char *arg, struct err *err)
{
    const char *eq = strchr(arg, '=');
    char key[256], q[64];
    size_t n = eq ? (size_t)(eq - arg) : 0;

    if (!eq || n == 0 || n >= sizeof key || strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                                                        "nopqrstuvwxyz0123456789_") != n
        || (arg[0] >= '0' && arg[0] <= '9'))
        return err_set(err, CHIME_EINVAL, "param",
                       "'%s' is not NAME=VALUE with NAME of letters, digits and '_'",
                       err_quote(arg, strlen(arg), q, sizeof q));
    if (json_object_size(params) >= RUN_PARAMS_MAX)
        return err_set(err, CHIME_ERANGE, "param", "more than %d parameters", RUN_PARAMS_MAX);
    memcpy(key, arg, n);
    key[n] = '\0';
    if (json_object_set_new(params, key, json_string(eq + 1)) < 0)
        return err_set(err, CHIME_EINVAL, "param", "the value of %s is not UTF-8 text", key);
    return 0;
}

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The next attempt of ended run RUN's fire, into *RET_ID (0: RUN was the
 * final attempt). The engine retries a run that neither succeeded nor
 * was cancelled while the job version it ran has attempts left
 * (retry.max_attempts); the retry is recorded once its backoff is over,
 * so it is polled for (0.2 s to 2 s apart) until DEADLINE_US (0: none). */
static int next_attempt(struct client *c, const json_t *run, int64_t deadline_us,
                        int64_t *ret_id, struct err *err)
{
    const char *state = cli_json_str(run, "state"), *job = cli_json_str(run, "job");
    const char *fire = cli_json_str(run, "fire_time");
    json_int_t attempt = json_integer_value(json_object_get(run, "attempt"));
    json_int_t version = json_integer_value(json_object_get(run, "job_version"));
    json_t *ver = NULL, *list = NULL;
    const json_t *max;
    char path[400], vpath[300];
    int64_t nap_us = 200000;
    int rc;

    *ret_id = 0;
    if (!state || !job || !fire || attempt < 1 || version < 1 || !strcmp(state, "succeeded")
        || !strcmp(state, "cancelled"))
        return 0;
    snprintf(vpath, sizeof vpath, "/api/v1/jobs/%s/versions/%lld", job, (long long)version);
    rc = client_json(c, "GET", vpath, NULL, NULL, &ver, err);
    if (rc < 0)
        return rc;
    max = json_object_get(json_object_get(json_object_get(ver, "document"), "retry"),
                          "max_attempts");
    if (!json_is_integer(max) || attempt >= json_integer_value(max)) {
        json_decref(ver);
        return 0;
    }
    json_decref(ver);
    rc = client_path(path, sizeof path, "/api/v1/runs",
                     (const char *const[]){"job", job, "since", fire, NULL}, err);
    while (rc == 0) {
        size_t i;
        json_t *item;

        rc = client_json(c, "GET", path, NULL, NULL, &list, err);
        if (rc < 0)
            break;
        json_array_foreach(json_object_get(list, "items"), i, item)
        {
            const char *f = cli_json_str(item, "fire_time");

            if (f && !strcmp(f, fire)
                && json_integer_value(json_object_get(item, "attempt")) == attempt + 1)
                *ret_id = json_integer_value(json_object_get(item, "id"));
        }
        json_decref(list);
        list = NULL;
        if (*ret_id > 0)
            break;
        if (deadline_us && mono_us() + nap_us > deadline_us) {
            rc = err_set(err, CHIME_ERANGE, "timeout",
                         "attempt %lld of job '%s' has not begun in time; it goes on "
                         "(chime runs %s)",
                         (long long)attempt + 1, job, job);
            break;
        }
        nanosleep(&(struct timespec){ .tv_sec = nap_us / 1000000,
                                      .tv_nsec = (long)(nap_us % 1000000) * 1000 },
                  NULL);
        nap_us = nap_us * 2 > 2000000 ? 2000000 : nap_us * 2;
    }
    return rc;
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

struct run_opts {
    bool wait, json;
    int64_t timeout_us;
    struct cmdline_list params;
};

static const struct cmdline_opt rows[] = {
    { "param", 'p', CMDLINE_LIST, offsetof(struct run_opts, params), "NAME=VALUE",
      "set the job's declared parameter NAME for this run; the others take their defaults "
      "(repeatable; --env is its former name)", .max = RUN_PARAMS_MAX },
    { "env", 0, CMDLINE_LIST, offsetof(struct run_opts, params), "NAME=VALUE", NULL,
      .max = RUN_PARAMS_MAX },
    { "wait", 0, CMDLINE_FLAG, offsetof(struct run_opts, wait), NULL,
      "print the run's output as it comes, through every retry attempt, and exit with the "
      "final attempt's status: its exit code, 128+N for signal N, 124 when it timed out, 1 for "
      "any other failure (skipped, lost, cancelled)" },
    { "timeout", 0, CMDLINE_DURATION, offsetof(struct run_opts, timeout_us), "DURATION",
      "with --wait: give up waiting after DURATION (90s, 15m, 2h), the whole chain included; "
      "the run goes on" },
    { "json", 0, CMDLINE_FLAG, offsetof(struct run_opts, json), NULL,
      "print the daemon's answer ({\"run_id\": N}) as JSON" },
};

static const struct cmdline_spec spec = {
    "run", "JOB", "  JOB  NAME or NAMESPACE/NAME\n", rows, sizeof rows / sizeof rows[0], NULL, 1,
    1, "JOB",
};

int cli_run(int argc, char **argv)
{
    struct run_opts o = { 0 };
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *params = json_object(), *body = NULL, *answer = NULL, *run = NULL;
    char id[CLI_JOB_ID_MAX], path[200], *text = NULL;
    const json_t *rid;
    int64_t deadline_us, run_id;
    int rc;

    if (!params) {
        fputs("chime run: out of memory\n", stderr);
        return 1;
    }
    if ((rc = cmdline_parse(&spec, argc, argv, &o)) < 0) {
        rc = cmdline_exit(rc);
        goto done;
    }
    for (size_t i = 0; i < o.params.n; i++)
        if (add_param(params, o.params.v[i], &err) < 0)
            goto invalid;
    if (o.timeout_us && !o.wait) {
        err_set(&err, CHIME_EINVAL, "timeout", "--timeout needs --wait");
        goto invalid;
    }
    if (cli_job_id(argv[1], id, &err) < 0)
        goto invalid;
    if (json_object_size(params)) {
        body = json_pack("{sO}", "params", params);
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
    if (!o.wait) {
        if (o.json)
            rc = cli_json_print(answer);
        else
            rc = printf("%lld\n", (long long)run_id) < 0 || fflush(stdout) ? 1 : 0;
        goto done;
    }
    deadline_us = o.timeout_us ? mono_us() + o.timeout_us : 0;
    for (;;) {
        /* the first attempt has the whole timeout (its message says so),
         * a later one what is left of it */
        int64_t next = 0, left = deadline_us ? deadline_us - mono_us() : 0;

        if (!run || (deadline_us && left < 1))
            left = run ? 1 : o.timeout_us;
        json_decref(run);
        run = NULL;
        if (follow_run(c, run_id, left, &run, &err) < 0)
            goto fail;
        tell_end(run_id, run);
        if (next_attempt(c, run, deadline_us, &next, &err) < 0)
            goto fail;
        if (!next)
            break;
        fprintf(stderr, "chime run: run %lld was attempt %lld; following run %lld\n",
                (long long)run_id, (long long)json_integer_value(json_object_get(run, "attempt")),
                (long long)next);
        run_id = next;
    }
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
    json_decref(params);
    client_free(c);
    return rc;
}
