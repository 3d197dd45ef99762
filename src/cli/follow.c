/* follow.c: following a run's output, by its event stream or by polling.
 *
 * Whatever the route, PRINTED counts the bytes of output text written so
 * far, in the order of the daemon's plain-text rendering of the output
 * (both streams interleaved, drop markers as lines), so that a follower
 * that falls back from the stream to polling asks for the text from
 * exactly there and prints nothing twice. */
#include "cli/follow.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "store/vocab.h"
#include "util/err.h"
#include "../banned.h"

#define FOLLOW_POLL_FIRST_US   100000
#define FOLLOW_POLL_MAX_US     2000000
#define FOLLOW_RECONNECTS      3       /* stream restarts that bring nothing new */

struct follow {
    int64_t printed;        /* bytes of output text written so far */
    json_t *run;            /* the run from the "end" event */
    bool ended;             /* "end" came */
    bool closed;            /* "close" came: the daemon asks us to reconnect */
    bool plain;             /* the answer was plain text, not a stream */
    char last_id[64];       /* of the last event, for Last-Event-ID */
    char last;              /* the last byte written, '\n' before any */
    struct err *err;
};

int follow_state_final(const char *state)
{
    enum store_run_state st;

    return store_run_state_parse(state, "state", &st, NULL) == 0 && store_run_state_finished(st);
}

static int signal_number(const json_t *v)
{
    const char *s;

    if (json_is_integer(v))
        return (int)json_integer_value(v);
    if (!json_is_string(v))
        return 0;
    s = json_string_value(v);
    if (!strncasecmp(s, "SIG", 3))
        s += 3;
    for (int n = 1; n < NSIG; n++) {
        const char *abbr = sigabbrev_np(n);

        if (abbr && !strcasecmp(abbr, s))
            return n;
    }
    return 0;
}

int follow_exit_status(const json_t *run)
{
    enum store_run_state st = STORE_RUN_STATE_NONE;
    const json_t *code = json_object_get(run, "exit_code");
    int sig = signal_number(json_object_get(run, "signal"));

    store_run_state_parse(cli_json_str(run, "state"), "state", &st, NULL);
    if (store_run_state_exit(st) >= 0)
        return store_run_state_exit(st);
    /* the process's own status: a signal as a shell gives it (128 + N) */
    if (sig > 0 && sig < 128)
        return 128 + sig;
    if (json_is_integer(code) && json_integer_value(code) > 0 && json_integer_value(code) < 256)
        return (int)json_integer_value(code);
    return 1;
}

static int put(struct follow *fo, FILE *f, const char *data, size_t len)
{
    if ((len && fwrite(data, 1, len, f) != len) || fflush(f) != 0)
        return err_set(fo->err, CHIME_EIO, "", "cannot write the output: %s", strerror(errno));
    fo->printed += (int64_t)len;
    if (len)
        fo->last = data[len - 1];
    return 0;
}

static int on_event(void *arg, const char *name, const char *data, size_t len, const char *id)
{
    struct follow *fo = arg;
    json_error_t jerr;

    /* the last id outlives a connection whose events carry none */
    if (*id)
        snprintf(fo->last_id, sizeof fo->last_id, "%s", id);
    if (!strcmp(name, "end")) {
        json_decref(fo->run);
        fo->run = json_loadb(data, len, 0, &jerr);
        if (!json_is_object(fo->run))
            return err_set(fo->err, CHIME_EIO, "", "the output stream's end is not a run: %s",
                           fo->run ? "not an object" : jerr.text);
        /* an end that shows the run still going is a close */
        if (follow_state_final(cli_json_str(fo->run, "state")))
            fo->ended = true;
        else
            fo->closed = true;
        return 1;
    }
    if (!strcmp(name, "close")) {
        /* the daemon's follow time is up (or it shuts down): come back */
        fo->closed = true;
        return 1;
    }
    if (!strcmp(name, "stdout") || !strcmp(name, "output") || !strcmp(name, "message"))
        return put(fo, stdout, data, len);
    if (!strcmp(name, "stderr"))
        return put(fo, stderr, data, len);
    if (!strcmp(name, "dropped")) {
        /* the marker line exactly as the plain-text output renders it */
        char line[80];
        int n = snprintf(line, sizeof line, "%s[chime: %lld bytes of output dropped]\n",
                         fo->last != '\n' ? "\n" : "", strtoll(data, NULL, 10));

        return put(fo, stdout, line, (size_t)n);
    }
    return 0;   /* events of later versions ("state", "ping") */
}

static int on_text(void *arg, const char *data, size_t len)
{
    struct follow *fo = arg;

    fo->plain = true;
    return put(fo, stdout, data, len);
}

static void nap(int64_t us)
{
    struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int timed_out(int64_t run_id, int64_t timeout_us, struct err *err)
{
    return err_set(err, CHIME_ERANGE, "timeout",
                   "run %lld has not ended after %llds; it goes on (chime logs %lld --follow)",
                   (long long)run_id, (long long)(timeout_us / 1000000), (long long)run_id);
}

/* Polls the run and prints its output past FO->printed until it ends. */
static int poll_run(struct client *c, int64_t run_id, int64_t deadline, int64_t timeout_us,
                    struct follow *fo, json_t **ret_run)
{
    char run_path[64], out_path[80];
    int64_t wait_us = FOLLOW_POLL_FIRST_US;

    snprintf(run_path, sizeof run_path, "/api/v1/runs/%lld", (long long)run_id);
    snprintf(out_path, sizeof out_path, "/api/v1/runs/%lld/output", (long long)run_id);
    for (;;) {
        json_t *run = NULL;
        char *text = NULL;
        size_t len = 0;
        int final, rc;

        /* the state first: output fetched after a final state is complete */
        rc = client_json(c, "GET", run_path, NULL, NULL, &run, fo->err);
        if (rc < 0)
            return rc;
        final = follow_state_final(cli_json_str(run, "state"));
        rc = client_text(c, out_path, fo->printed, &text, &len, fo->err);
        if (rc == 0)
            rc = put(fo, stdout, text, len);
        free(text);
        if (rc < 0 || final) {
            if (rc == 0)
                *ret_run = run;
            else
                json_decref(run);
            return rc;
        }
        json_decref(run);
        if (deadline) {
            int64_t left = deadline - cli_now_us();

            if (left <= 0)
                return timed_out(run_id, timeout_us, fo->err);
            if (wait_us > left)
                wait_us = left;
        }
        nap(wait_us);
        wait_us = wait_us * 2 > FOLLOW_POLL_MAX_US ? FOLLOW_POLL_MAX_US : wait_us * 2;
    }
}

int follow_run(struct client *c, int64_t run_id, int64_t timeout_us, json_t **ret_run,
               struct err *err)
{
    static const struct client_stream ops_proto = { .on_event = on_event, .on_text = on_text };
    struct client_stream ops = ops_proto;
    struct follow fo = { .err = err, .last = '\n' };
    int64_t deadline = timeout_us ? cli_now_us() + timeout_us : 0;
    char path[80];
    int idle = 0, rc;

    ops.arg = &fo;
    snprintf(path, sizeof path, "/api/v1/runs/%lld/output", (long long)run_id);
    for (int attempt = 0;; attempt++) {
        int64_t before = fo.printed;
        long ms = 0;

        if (deadline) {
            int64_t left = deadline - cli_now_us();

            if (left <= 0) {
                rc = timed_out(run_id, timeout_us, err);
                goto fail;
            }
            ms = (long)(left / 1000) + 1;
        }
        fo.closed = false;
        rc = client_stream(c, path, fo.last_id[0] ? fo.last_id : NULL, ms, &ops, err);
        if (rc < 0 && attempt > 0 && err->code == CHIME_EIO && ++idle < FOLLOW_RECONNECTS) {
            /* gone while we followed: a daemon restarting comes back soon */
            nap(FOLLOW_POLL_MAX_US / 2);
            continue;
        }
        if (rc < 0)
            goto fail;
        if (fo.ended) {
            *ret_run = fo.run;
            return 0;
        }
        if (fo.plain)
            break;
        if (fo.closed) {
            idle = 0;
            continue;
        }
        /* The stream broke. It resumes from its last event id; output
         * without an id to resume from, or a stream that keeps breaking
         * without news, is followed by polling from what was printed. */
        if (fo.printed != before)
            idle = 0;
        else if (++idle >= FOLLOW_RECONNECTS)
            break;
        if (fo.printed > 0 && !fo.last_id[0])
            break;
        nap(FOLLOW_POLL_FIRST_US);
    }
    json_decref(fo.run);
    fo.run = NULL;
    return poll_run(c, run_id, deadline, timeout_us, &fo, ret_run);
fail:
    json_decref(fo.run);
    return rc;
}
