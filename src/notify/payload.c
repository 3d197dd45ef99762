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
#include "time/isotime.h"
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

char *payload_event_json(const struct payload_event *e)
{
    json_t *doc, *run = json_null();
    char job[2 * 64 + 2];
    char *text;

    snprintf(job, sizeof job, "%s/%s", e->ns, e->name);
    if (e->run_id > 0)
        run = json_pack("{s:I, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                        (json_int_t)e->run_id, "attempt", e->attempt, "state",
                        text_json(e->state), "reason", text_json(e->reason), "fire_time",
                        instant_json(e->fire_us), "started_at", instant_json(e->started_us),
                        "finished_at", instant_json(e->finished_us), "exit_code",
                        e->exit_code >= 0 ? json_integer(e->exit_code) : json_null(), "signal",
                        e->signal ? json_integer(e->signal) : json_null(), "error",
                        text_json(e->error));
    doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "event", e->event, "job", job,
                    "namespace", e->ns, "name", e->name, "run", run, "occurred_at",
                    instant_json(e->occurred_us), "node", text_json(e->node));
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

static char *summary_of(const json_t *ev)
{
    const char *event = str(ev, "event"), *job = str(ev, "job");
    const json_t *run = json_object_get(ev, "run");
    char out[SUMMARY_MAX], how[ERROR_SHOWN + 64], runs[64] = "";

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

static const struct {
    const char *event, *emoji, *color;
} looks[] = {
    { "failure", ":x:", "#d40e0d" },        { "retry", ":repeat:", "#e8a317" },
    { "timeout", ":hourglass:", "#d40e0d" }, { "success", ":white_check_mark:", "#2eb67d" },
    { "recovery", ":large_green_circle:", "#2eb67d" },
    { "disabled", ":no_entry:", "#d40e0d" }, { "stuck", ":warning:", "#e8a317" },
};

int payload_slack(const char *event_json, const char *delivery_id, char **ret, size_t *ret_len,
                  struct err *err)
{
    const char *emoji = ":bell:", *color = "#888888";
    json_t *ev, *fields, *run, *doc;
    char *summary, text[SUMMARY_MAX + 32], num[64];
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
    run = json_object_get(ev, "run");
    json_array_append_new(fields, json_pack("{s:s, s:s, s:b}", "title", "Job", "value",
                                            str(ev, "job"), "short", 1));
    json_array_append_new(fields, json_pack("{s:s, s:s, s:b}", "title", "Event", "value",
                                            str(ev, "event"), "short", 1));
    if (json_is_object(run)) {
        snprintf(num, sizeof num, "%lld (attempt %lld)",
                 (long long)json_integer_value(json_object_get(run, "id")),
                 (long long)json_integer_value(json_object_get(run, "attempt")));
        json_array_append_new(fields, json_pack("{s:s, s:s, s:b}", "title", "Run", "value", num,
                                                "short", 1));
        json_array_append_new(fields, json_pack("{s:s, s:s, s:b}", "title", "State", "value",
                                                str(run, "state"), "short", 1));
        if (*str(run, "error"))
            json_array_append_new(fields, json_pack("{s:s, s:o, s:b}", "title", "Error", "value",
                                                    json_copy(json_object_get(run, "error")),
                                                    "short", 0));
    }
    snprintf(num, sizeof num, "chime on %s · delivery %s", str(ev, "node"), delivery_id);
    doc = json_pack("{s:s, s:[{s:s, s:s, s:o, s:s}]}", "text", text, "attachments", "color",
                    color, "fallback", summary, "fields", fields, "footer", num);
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

/* The subject from TEMPLATE: {job} {event} {namespace} {name} {run}. */
static void subject(struct buf *b, const char *template, const json_t *ev)
{
    const json_t *run = json_object_get(ev, "run");
    struct buf raw = { 0 };
    char num[32];

    for (const char *p = template; *p; p++) {
        static const char *const keys[] = { "job", "event", "namespace", "name" };
        bool done = false;

        for (size_t i = 0; *p == '{' && i < sizeof keys / sizeof keys[0]; i++) {
            size_t n = strlen(keys[i]);

            if (!strncmp(p + 1, keys[i], n) && p[1 + n] == '}') {
                puts_(&raw, str(ev, keys[i]));
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

int payload_email(const char *event_json, const char *delivery_id, const struct channel *c,
                  int64_t now_us, char **ret, size_t *ret_len, struct err *err)
{
    static const struct {
        const char *label, *key;
    } times[] = {
        { "Fired:     ", "fire_time" },
        { "Started:   ", "started_at" },
        { "Finished:  ", "finished_at" },
    };
    struct buf b = { 0 };
    const json_t *run;
    json_t *ev;
    char *summary, date[64], num[128];
    struct tm tm;
    time_t t = (time_t)(now_us / 1000000);
    int rc = load_event(event_json, &ev, &summary, err);

    if (rc < 0)
        return rc;
    run = json_object_get(ev, "run");
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
    line(&b, "Job:       ", str(ev, "job"));
    line(&b, "Event:     ", str(ev, "event"));
    if (json_is_object(run)) {
        snprintf(num, sizeof num, "%lld (attempt %lld, %s)",
                 (long long)json_integer_value(json_object_get(run, "id")),
                 (long long)json_integer_value(json_object_get(run, "attempt")),
                 str(run, "reason"));
        line(&b, "Run:       ", num);
        line(&b, "State:     ", str(run, "state"));
        if (json_is_integer(json_object_get(run, "exit_code"))) {
            snprintf(num, sizeof num, "%lld",
                     (long long)json_integer_value(json_object_get(run, "exit_code")));
            line(&b, "Exit code: ", num);
        }
        if (json_is_integer(json_object_get(run, "signal"))) {
            snprintf(num, sizeof num, "%lld",
                     (long long)json_integer_value(json_object_get(run, "signal")));
            line(&b, "Signal:    ", num);
        }
        for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
            if (*str(run, times[i].key))
                line(&b, times[i].label, str(run, times[i].key));
        if (*str(run, "error"))
            line(&b, "Error:     ", str(run, "error"));
    }
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
