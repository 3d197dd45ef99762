/* payload.c: an event's JSON, and what each kind of channel is sent.
 *
 * Everything is made from the event JSON recorded at enqueue time and the
 * row's delivery id, never from the clock (but an email's Date), so a
 * retry sends the same bytes and a receiver can deduplicate by the id and
 * verify the same signature. */
#include "notify/payload.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "notify/channel.h"
#include "store/vocab.h"
#include "time/isotime.h"
#include "time/units.h"
#include "util/err.h"
#include "../banned.h"

#define SUMMARY_MAX 1024
#define ERROR_SHOWN 400         /* bytes of a run's error in a summary */

/* ---- the event ---- */

/* A JSON string of S; bytes that are not UTF-8 become '?'. */
static json_t *text_json(const char *s)
{
    json_t *j;
    char *copy;

    if (!s)
        return json_null();
    if ((j = json_string(s)))
        return j;
    if (!(copy = strdup(s)))
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *instant_json(int64_t us)
{
    char buf[ISOTIME_LEN];

    return us ? json_string(isotime_format_utc(us, buf, sizeof buf)) : json_null();
}

static json_t *run_json(const struct payload_event *e)
{
    if (e->run_id <= 0)
        return json_null();
    return json_pack("{s:I, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)e->run_id, "attempt", e->attempt, "state", text_json(e->state),
                     "reason", text_json(e->reason), "fire_time", instant_json(e->fire_us),
                     "started_at", instant_json(e->started_us), "finished_at",
                     instant_json(e->finished_us), "exit_code",
                     e->exit_code >= 0 ? json_integer(e->exit_code) : json_null(), "signal",
                     e->signal ? json_integer(e->signal) : json_null(), "error",
                     text_json(e->error));
}

/* As /healthz names the error_rate check's members. */
static json_t *rate_json(const struct payload_rate *r)
{
    if (!r)
        return NULL;
    return json_pack("{s:s, s:I, s:I, s:I, s:f, s:i}", "status", r->status, "failed",
                     (json_int_t)r->failed, "finished", (json_int_t)r->finished, "window_s",
                     (json_int_t)(r->window_us / 1000000), "threshold", r->threshold,
                     "min_runs", r->min_runs);
}

char *payload_event_json(const struct payload_event *e)
{
    json_t *doc;
    char job[2 * 64 + 2];
    char *text;

    snprintf(job, sizeof job, "%s/%s", e->ns ? e->ns : "", e->name ? e->name : "");
    /* a daemon event: "job", "namespace", "name" and "run" are null */
    doc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o*, s:o, s:o}", "event", e->event, "job",
                    text_json(e->ns ? job : NULL), "namespace", text_json(e->ns), "name",
                    text_json(e->name), "run", run_json(e), "error_rate", rate_json(e->rate),
                    "occurred_at", instant_json(e->occurred_us), "node", text_json(e->node));
    if (!doc)
        return NULL;
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* ---- the readable line ---- */

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

/* How the run ended, after "run 42 (attempt 1) ". */
static void outcome(const json_t *run, char *buf, size_t len)
{
    const json_t *code = json_object_get(run, "exit_code"), *sig = json_object_get(run, "signal");
    const char *state = str(run, "state"), *error = str(run, "error");

    if (!strcmp(state, "timed_out"))
        snprintf(buf, len, "timed out");
    else if (!strcmp(state, "lost"))
        snprintf(buf, len, "was lost");
    else if (json_is_integer(sig))
        snprintf(buf, len, "was killed by signal %lld", (long long)json_integer_value(sig));
    else if (json_is_integer(code))
        snprintf(buf, len, "exited with code %lld", (long long)json_integer_value(code));
    else if (*error)
        snprintf(buf, len, "could not run: %.*s", ERROR_SHOWN, error);
    else
        snprintf(buf, len, "ended %s", *state ? state : "unknown");
}

/* The daemon's own events have no job: "job" is null (payload_event_json). */
static bool is_daemon_event(const json_t *ev)
{
    return json_is_null(json_object_get(ev, "job"));
}

/* A daemon event's error rate as text, for every form. */
struct rate_text {
    char failed[80];            /* "4 of 8 finished runs" */
    char window[32];            /* "15m" */
    char threshold[80];         /* "50%", "50%; fewer than 10 runs are not judged" */
    char status[16];
};

/* EV's "error_rate" into T; false when EV has none. */
static bool rate_text(const json_t *ev, struct rate_text *t)
{
    const json_t *r = json_object_get(ev, "error_rate");
    long long failed = json_integer_value(json_object_get(r, "failed")),
              finished = json_integer_value(json_object_get(r, "finished")),
              min = json_integer_value(json_object_get(r, "min_runs")),
              window_s = json_integer_value(json_object_get(r, "window_s"));
    int pct = (int)(json_number_value(json_object_get(r, "threshold")) * 100 + 0.5);

    if (!json_is_object(r))
        return false;
    snprintf(t->failed, sizeof t->failed, "%lld of %lld finished run%s", failed, finished,
             finished == 1 ? "" : "s");
    if (window_s > 0 && window_s < INT64_MAX / 1000000)
        units_duration_format(window_s * 1000000, t->window, sizeof t->window);
    else
        snprintf(t->window, sizeof t->window, "%llds", window_s);
    if (finished < min)
        snprintf(t->threshold, sizeof t->threshold, "%d%%; fewer than %lld runs are not judged",
                 pct, min);
    else
        snprintf(t->threshold, sizeof t->threshold, "%d%%", pct);
    snprintf(t->status, sizeof t->status, "%s", str(r, "status"));
    return true;
}

/* The daemon's host, or what to call it without one. */
static const char *node_of(const json_t *ev)
{
    return *str(ev, "node") ? str(ev, "node") : "the daemon";
}

/* "error rate on host-a is over its threshold: 7 of 10 finished runs in
 * the last 15m failed (threshold 50%)" */
static char *daemon_summary(const json_t *ev)
{
    struct rate_text t;
    char out[SUMMARY_MAX];

    if (!rate_text(ev, &t))
        return NULL;
    snprintf(out, sizeof out, "error rate on %s is %s its threshold: %s in the last %s failed"
             " (threshold %s)", node_of(ev),
             !strcmp(str(ev, "event"), "error_rate") ? "over" : "back under", t.failed,
             t.window, t.threshold);
    return strdup(out);
}

static char *summary_of(const json_t *ev)
{
    const char *event = str(ev, "event"), *job = str(ev, "job");
    const json_t *run = json_object_get(ev, "run");
    char out[SUMMARY_MAX], how[ERROR_SHOWN + 64], runs[64] = "";

    if (*event && is_daemon_event(ev))
        return daemon_summary(ev);
    if (!json_is_object(ev) || !*event || !*job)
        return NULL;
    if (json_is_object(run))
        snprintf(runs, sizeof runs, "run %lld (attempt %lld)",
                 (long long)json_integer_value(json_object_get(run, "id")),
                 (long long)json_integer_value(json_object_get(run, "attempt")));
    outcome(run, how, sizeof how);
    if (!strcmp(event, "failure"))
        snprintf(out, sizeof out, "job %s failed: %s %s", job, runs, how);
    else if (!strcmp(event, "retry"))
        snprintf(out, sizeof out, "job %s failed and will be retried: %s %s", job, runs, how);
    else if (!strcmp(event, "timeout"))
        snprintf(out, sizeof out, "job %s timed out: %s", job, runs);
    else if (!strcmp(event, "success"))
        snprintf(out, sizeof out, "job %s succeeded: %s", job, runs);
    else if (!strcmp(event, "recovery"))
        snprintf(out, sizeof out, "job %s recovered: %s succeeded after failures", job, runs);
    else if (!strcmp(event, "disabled"))
        snprintf(out, sizeof out, "job %s was paused: it failed too many times in a row"
                 " (disable_after_failures)", job);
    else if (!strcmp(event, "stuck"))
        snprintf(out, sizeof out, "job %s looks stuck: %s has been running since %s", job, runs,
                 str(run, "started_at"));
    else
        snprintf(out, sizeof out, "job %s: %s %s", job, event, runs);
    return strdup(out);
}

char *payload_summary(const char *event_json)
{
    json_t *ev = json_loads(event_json, 0, NULL);
    char *s = ev ? summary_of(ev) : NULL;

    json_decref(ev);
    return s;
}

static int load_event(const char *event_json, json_t **ret, char **ret_summary, struct err *err)
{
    json_error_t jerr;
    json_t *ev = json_loads(event_json, 0, &jerr);
    char *s = ev ? summary_of(ev) : NULL;

    if (!s) {
        json_decref(ev);
        return err_set(err, CHIME_EINVAL, "payload", "the recorded event is not an event");
    }
    *ret = ev;
    *ret_summary = s;
    return 0;
}

static int dump(json_t *doc, char **ret, size_t *ret_len, struct err *err)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (!text)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    *ret = text;
    *ret_len = strlen(text);
    return 0;
}

/* ---- webhook ---- */

int payload_webhook(const char *event_json, const char *delivery_id, const char *channel,
                    char **ret, size_t *ret_len, struct err *err)
{
    json_t *ev, *doc;
    char *summary;
    int rc = load_event(event_json, &ev, &summary, err);

    if (rc < 0)
        return rc;
    /* the delivery id first, then the event as recorded */
    doc = json_pack("{s:s, s:s, s:o}", "delivery_id", delivery_id, "channel", channel,
                    "summary", text_json(summary));
    if (doc && json_object_update(doc, ev) < 0) {
        json_decref(doc);
        doc = NULL;
    }
    json_decref(ev);
    free(summary);
    return dump(doc, ret, ret_len, err);
}

/* ---- Slack ---- */

/* how each event shows: the emoji and colour columns of store/vocab.h */
static const struct {
    const char *event, *emoji, *color;
} looks[] = {
#define X(id, name, emoji, color) { name, emoji, color },
    STORE_EVENTS(X)
#undef X
};

/* An attachment's field; VALUE is taken. */
static void field(json_t *fields, const char *title, json_t *value, bool is_short)
{
    json_array_append_new(fields, json_pack("{s:s, s:o, s:b}", "title", title, "value", value,
                                            "short", is_short));
}

/* Job, Event, Run, State, Error: a job's event. */
static void job_fields(json_t *fields, const json_t *ev)
{
    const json_t *run = json_object_get(ev, "run");
    char num[64];

    field(fields, "Job", json_string(str(ev, "job")), true);
    field(fields, "Event", json_string(str(ev, "event")), true);
    if (!json_is_object(run))
        return;
    snprintf(num, sizeof num, "%lld (attempt %lld)",
             (long long)json_integer_value(json_object_get(run, "id")),
             (long long)json_integer_value(json_object_get(run, "attempt")));
    field(fields, "Run", json_string(num), true);
    field(fields, "State", json_string(str(run, "state")), true);
    if (*str(run, "error"))
        field(fields, "Error", json_copy(json_object_get(run, "error")), false);
}

/* Node, Event, Status, Failed, Window, Threshold: a daemon event. */
static void daemon_fields(json_t *fields, const json_t *ev)
{
    struct rate_text t;

    field(fields, "Node", text_json(node_of(ev)), true);
    field(fields, "Event", json_string(str(ev, "event")), true);
    if (!rate_text(ev, &t))
        return;
    field(fields, "Status", text_json(t.status), true);
    field(fields, "Failed", json_string(t.failed), true);
    field(fields, "Window", json_string(t.window), true);
    field(fields, "Threshold", json_string(t.threshold), true);
}

int payload_slack(const char *event_json, const char *delivery_id, char **ret, size_t *ret_len,
                  struct err *err)
{
    const char *emoji = ":bell:", *color = "#888888";
    json_t *ev, *fields, *doc;
    char *summary, text[SUMMARY_MAX + 32], footer[256];
    int rc = load_event(event_json, &ev, &summary, err);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < sizeof looks / sizeof looks[0]; i++)
        if (!strcmp(looks[i].event, str(ev, "event"))) {
            emoji = looks[i].emoji;
            color = looks[i].color;
        }
    snprintf(text, sizeof text, "%s %s", emoji, summary);
    fields = json_array();
    if (is_daemon_event(ev))
        daemon_fields(fields, ev);
    else
        job_fields(fields, ev);
    snprintf(footer, sizeof footer, "chime on %s · delivery %s", str(ev, "node"), delivery_id);
    doc = json_pack("{s:s, s:[{s:s, s:s, s:o, s:s}]}", "text", text, "attachments", "color",
                    color, "fallback", summary, "fields", fields, "footer", footer);
    json_decref(ev);
    free(summary);
    return dump(doc, ret, ret_len, err);
}

/* ---- email ---- */

struct buf {
    char *data;
    size_t len, cap;
    bool failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *more = realloc(b->data, cap);

        if (!more) {
            b->failed = true;
            return;
        }
        b->data = more;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A body line "LABEL VALUE" with every line break made CRLF and other
 * control bytes dropped. */
static void line(struct buf *b, const char *label, const char *value)
{
    puts_(b, label);
    for (const char *p = value; *p; p++) {
        if (*p == '\n')
            puts_(b, "\r\n           ");
        else if ((unsigned char)*p >= 0x20 || *p == '\t')
            put(b, p, 1);
    }
    puts_(b, "\r\n");
}

/* What {KEY} of a subject stands for. A daemon event has no job: {job} is
 * "daemon NODE", {namespace} and {name} are "-". */
static const char *subject_value(const json_t *ev, const char *key, char *buf, size_t len)
{
    const char *node = str(ev, "node");

    if (!is_daemon_event(ev) || !strcmp(key, "event"))
        return str(ev, key);
    if (strcmp(key, "job") != 0)
        return "-";
    snprintf(buf, len, "daemon%s%s", *node ? " " : "", node);
    return buf;
}

/* The subject from TEMPLATE: {job} {event} {namespace} {name} {run}. */
static void subject(struct buf *b, const char *template, const json_t *ev)
{
    const json_t *run = json_object_get(ev, "run");
    struct buf raw = { 0 };
    char num[32], daemon[80];

    for (const char *p = template; *p; p++) {
        static const char *const keys[] = { "job", "event", "namespace", "name" };
        bool done = false;

        for (size_t i = 0; *p == '{' && i < sizeof keys / sizeof keys[0]; i++) {
            size_t n = strlen(keys[i]);

            if (!strncmp(p + 1, keys[i], n) && p[1 + n] == '}') {
                puts_(&raw, subject_value(ev, keys[i], daemon, sizeof daemon));
                p += n + 1;
                done = true;
            }
        }
        if (!done && !strncmp(p, "{run}", 5)) {
            snprintf(num, sizeof num, "%lld",
                     (long long)json_integer_value(json_object_get(run, "id")));
            puts_(&raw, json_is_object(run) ? num : "-");
            p += 4;
            done = true;
        }
        if (!done)
            put(&raw, p, 1);
    }
    if (raw.failed || !raw.data) {
        b->failed = true;
        free(raw.data);
        return;
    }
    /* RFC 2047 for anything but printable ASCII */
    bool ascii = true;

    for (size_t i = 0; i < raw.len; i++)
        if ((unsigned char)raw.data[i] < 0x20 || (unsigned char)raw.data[i] >= 0x7f)
            ascii = false;
    if (ascii) {
        put(b, raw.data, raw.len);
    } else {
        size_t n = sodium_base64_ENCODED_LEN(raw.len, sodium_base64_VARIANT_ORIGINAL);
        char *enc = malloc(n);

        if (!enc) {
            b->failed = true;
        } else {
            sodium_bin2base64(enc, n, (const unsigned char *)raw.data, raw.len,
                              sodium_base64_VARIANT_ORIGINAL);
            puts_(b, "=?UTF-8?B?");
            puts_(b, enc);
            puts_(b, "?=");
            free(enc);
        }
    }
    free(raw.data);
}

/* Job, Event, Run, State, Exit code, Signal, instants, Error: a job's event. */
static void job_lines(struct buf *b, const json_t *ev)
{
    static const struct {
        const char *label, *key;
    } times[] = {
        { "Fired:     ", "fire_time" },
        { "Started:   ", "started_at" },
        { "Finished:  ", "finished_at" },
    };
    const json_t *run = json_object_get(ev, "run");
    char num[128];

    line(b, "Job:       ", str(ev, "job"));
    line(b, "Event:     ", str(ev, "event"));
    if (!json_is_object(run))
        return;
    snprintf(num, sizeof num, "%lld (attempt %lld, %s)",
             (long long)json_integer_value(json_object_get(run, "id")),
             (long long)json_integer_value(json_object_get(run, "attempt")), str(run, "reason"));
    line(b, "Run:       ", num);
    line(b, "State:     ", str(run, "state"));
    if (json_is_integer(json_object_get(run, "exit_code"))) {
        snprintf(num, sizeof num, "%lld",
                 (long long)json_integer_value(json_object_get(run, "exit_code")));
        line(b, "Exit code: ", num);
    }
    if (json_is_integer(json_object_get(run, "signal"))) {
        snprintf(num, sizeof num, "%lld",
                 (long long)json_integer_value(json_object_get(run, "signal")));
        line(b, "Signal:    ", num);
    }
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        if (*str(run, times[i].key))
            line(b, times[i].label, str(run, times[i].key));
    if (*str(run, "error"))
        line(b, "Error:     ", str(run, "error"));
}

/* Event, Status, Failed, Window, Threshold: a daemon event. */
static void daemon_lines(struct buf *b, const json_t *ev)
{
    struct rate_text t;

    line(b, "Event:     ", str(ev, "event"));
    if (!rate_text(ev, &t))
        return;
    line(b, "Status:    ", t.status);
    line(b, "Failed:    ", t.failed);
    line(b, "Window:    ", t.window);
    line(b, "Threshold: ", t.threshold);
}

int payload_email(const char *event_json, const char *delivery_id, const struct channel *c,
                  int64_t now_us, char **ret, size_t *ret_len, struct err *err)
{
    struct buf b = { 0 };
    json_t *ev;
    char *summary, date[64];
    struct tm tm;
    time_t t = (time_t)(now_us / 1000000);
    int rc = load_event(event_json, &ev, &summary, err);

    if (rc < 0)
        return rc;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    puts_(&b, "From: ");
    puts_(&b, c->from);
    puts_(&b, "\r\nTo: ");
    for (size_t i = 0; i < c->n_to; i++) {
        puts_(&b, i ? ", " : "");
        puts_(&b, c->to[i]);
    }
    puts_(&b, "\r\nSubject: ");
    subject(&b, c->subject ? c->subject : "[chime] {job}: {event}", ev);
    puts_(&b, "\r\nDate: ");
    puts_(&b, date);
    puts_(&b, "\r\nMessage-ID: <");
    puts_(&b, delivery_id);
    puts_(&b, "@chime>\r\nX-Chime-Delivery: ");
    puts_(&b, delivery_id);
    puts_(&b, "\r\nX-Chime-Event: ");
    puts_(&b, str(ev, "event"));
    puts_(&b, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Transfer-Encoding: 8bit\r\n\r\n");
    line(&b, "", summary);
    puts_(&b, "\r\n");
    if (is_daemon_event(ev))
        daemon_lines(&b, ev);
    else
        job_lines(&b, ev);
    line(&b, "When:      ", str(ev, "occurred_at"));
    line(&b, "Node:      ", str(ev, "node"));
    line(&b, "Delivery:  ", delivery_id);
    json_decref(ev);
    free(summary);
    if (b.failed || !b.data) {
        free(b.data);
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    }
    *ret = b.data;
    *ret_len = b.len;
    return 0;
}

/* ---- the signature ---- */

void payload_sign(const unsigned char *key, size_t key_len, const void *body, size_t len,
                  char out[PAYLOAD_SIGNATURE_LEN])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];

    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", sizeof "sha256="); /* with its NUL, which the hex overwrites */
    sodium_bin2hex(out + 7, PAYLOAD_SIGNATURE_LEN - 7, mac, sizeof mac);
}
