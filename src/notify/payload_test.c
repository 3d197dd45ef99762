/* payload_test.c: events as recorded (a job's and the daemon's own), the
 * webhook, Slack and email forms made from them, the readable summaries,
 * and the signature against the HMAC-SHA256 vectors of RFC 4231. */
#include "notify/payload.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "notify/channel.h"
#include "notify/notify.h"
#include "store/vocab.h"
#include "util/err.h"
#include "../banned.h"

#define ID "0123456789abcdef0123456789abcdef"
#define T0 INT64_C(1795000000000000) /* 2026-11-18T...Z */

static struct payload_event failure(void)
{
    struct payload_event e = { 0 };

    e.event = "failure";
    e.ns = "sales";
    e.name = "import";
    e.run_id = 42;
    e.attempt = 2;
    e.state = "failed";
    e.reason = "retry";
    e.fire_us = T0;
    e.started_us = T0 + 1000;
    e.finished_us = T0 + 2000000;
    e.exit_code = 3;
    e.error = NULL;
    e.occurred_us = T0 + 2000001;
    e.node = "host-a";
    return e;
}

static char *event_text(struct payload_event e)
{
    char *t = payload_event_json(&e);

    assert_non_null(t);
    return t;
}

static void test_payload_event_records_the_job_the_run_and_when(void **state)
{
    struct payload_event e = failure();
    char *text = event_text(e);
    json_t *doc = json_loads(text, 0, NULL), *run;

    (void)state;
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "event")), "failure");
    assert_string_equal(json_string_value(json_object_get(doc, "job")), "sales/import");
    assert_string_equal(json_string_value(json_object_get(doc, "namespace")), "sales");
    assert_string_equal(json_string_value(json_object_get(doc, "node")), "host-a");
    assert_string_equal(json_string_value(json_object_get(doc, "occurred_at")),
                        "2026-11-18T11:06:42.000001Z");
    run = json_object_get(doc, "run");
    assert_int_equal(json_integer_value(json_object_get(run, "id")), 42);
    assert_int_equal(json_integer_value(json_object_get(run, "attempt")), 2);
    assert_int_equal(json_integer_value(json_object_get(run, "exit_code")), 3);
    assert_true(json_is_null(json_object_get(run, "signal")));
    assert_true(json_is_null(json_object_get(run, "error")));
    assert_string_equal(json_string_value(json_object_get(run, "fire_time")),
                        "2026-11-18T11:06:40.000000Z");
    json_decref(doc);
    free(text);

    /* no run (disabled), and an error that is not UTF-8 */
    e.run_id = 0;
    e.event = "disabled";
    text = event_text(e);
    doc = json_loads(text, 0, NULL);
    assert_true(json_is_null(json_object_get(doc, "run")));
    json_decref(doc);
    free(text);
    e = failure();
    e.error = "bad \xff byte";
    text = event_text(e);
    assert_non_null(strstr(text, "\"bad ? byte\""));
    free(text);
}

static void test_payload_summaries_read_as_sentences(void **state)
{
    static const struct {
        const char *event, *state;
        int exit_code, sig;
        const char *want;
    } cases[] = {
        { "failure", "failed", 3, 0, "job sales/import failed: run 42 (attempt 2) exited with code 3" },
        { "failure", "failed", -1, 9, "job sales/import failed: run 42 (attempt 2) was killed by signal 9" },
        { "failure", "timed_out", -1, 15, "job sales/import failed: run 42 (attempt 2) timed out" },
        { "retry", "failed", 1, 0, "job sales/import failed and will be retried: run 42 (attempt 2) exited with code 1" },
        { "timeout", "timed_out", -1, 15, "job sales/import timed out: run 42 (attempt 2)" },
        { "success", "succeeded", 0, 0, "job sales/import succeeded: run 42 (attempt 2)" },
        { "recovery", "succeeded", 0, 0, "job sales/import recovered: run 42 (attempt 2) succeeded after failures" },
        { "stuck", "running", -1, 0, "job sales/import looks stuck: run 42 (attempt 2) has been running since 2026-11-18T11:06:40.001000Z" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct payload_event e = failure();
        char *text, *s;

        e.event = cases[i].event;
        e.state = cases[i].state;
        e.exit_code = cases[i].exit_code;
        e.signal = cases[i].sig;
        text = event_text(e);
        s = payload_summary(text);
        assert_non_null(s);
        assert_string_equal(s, cases[i].want);
        free(s);
        free(text);
    }
    assert_null(payload_summary("{\"not\": \"an event\"}"));
    assert_null(payload_summary("nonsense"));
}

static void test_payload_webhook_adds_the_delivery_id_and_is_stable(void **state)
{
    char *text = event_text(failure()), *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    struct err err = { 0 };
    json_t *doc;

    (void)state;
    assert_int_equal(payload_webhook(text, ID, "ops", &a, &alen, &err), 0);
    assert_int_equal(payload_webhook(text, ID, "ops", &b, &blen, &err), 0);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);           /* a retry sends the same bytes */
    assert_int_equal(strncmp(a, "{\"delivery_id\":\"" ID "\"", 49), 0);
    doc = json_loads(a, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "channel")), "ops");
    assert_string_equal(json_string_value(json_object_get(doc, "event")), "failure");
    assert_string_equal(json_string_value(json_object_get(doc, "summary")),
                        "job sales/import failed: run 42 (attempt 2) exited with code 3");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "run"), "id")), 42);
    json_decref(doc);
    free(a);
    free(b);
    assert_int_equal(payload_webhook("[1]", ID, "ops", &a, &alen, &err), -CHIME_EINVAL);
    free(text);
}

static void test_payload_slack_is_an_incoming_webhook_message(void **state)
{
    struct payload_event e = failure();
    char *text, *msg = NULL;
    size_t len = 0;
    struct err err = { 0 };
    json_t *doc, *att;

    (void)state;
    e.error = "disk full";
    text = event_text(e);
    assert_int_equal(payload_slack(text, ID, &msg, &len, &err), 0);
    doc = json_loads(msg, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "text")),
                        ":x: job sales/import failed: run 42 (attempt 2) exited with code 3");
    att = json_array_get(json_object_get(doc, "attachments"), 0);
    assert_string_equal(json_string_value(json_object_get(att, "color")), "#d40e0d");
    assert_int_equal(json_array_size(json_object_get(att, "fields")), 5);
    assert_non_null(strstr(json_string_value(json_object_get(att, "footer")), ID));
    json_decref(doc);
    free(msg);
    free(text);
}

static void test_payload_email_is_a_complete_message(void **state)
{
    struct channel c = { 0 };
    char *to[] = { "a@example.com", "b@example.com" };
    struct payload_event e = failure();
    char *text, *msg = NULL;
    size_t len = 0;
    struct err err = { 0 };

    (void)state;
    c.kind = CHANNEL_EMAIL;
    c.from = "chime@example.com";
    c.to = to;
    c.n_to = 2;
    e.error = "line one\nline two\r";
    text = event_text(e);
    assert_int_equal(payload_email(text, ID, &c, T0, &msg, &len, &err), 0);
    assert_int_equal(strlen(msg), len);
    assert_non_null(strstr(msg, "From: chime@example.com\r\n"));
    assert_non_null(strstr(msg, "To: a@example.com, b@example.com\r\n"));
    assert_non_null(strstr(msg, "Subject: [chime] sales/import: failure\r\n"));
    assert_non_null(strstr(msg, "Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n"));
    assert_non_null(strstr(msg, "Message-ID: <" ID "@chime>\r\n"));
    assert_non_null(strstr(msg, "X-Chime-Delivery: " ID "\r\n"));
    assert_non_null(strstr(msg, "\r\n\r\njob sales/import failed: run 42 (attempt 2) exited with"
                                " code 3\r\n"));
    assert_non_null(strstr(msg, "Error:     line one\r\n           line two\r\n"));
    assert_non_null(strstr(msg, "Exit code: 3\r\n"));
    /* every line ends in CRLF: no bare LF */
    for (size_t i = 0; i < len; i++)
        if (msg[i] == '\n')
            assert_int_equal(msg[i - 1], '\r');
    free(msg);

    c.subject = "Alarm für {name} ({event}, run {run})";
    assert_int_equal(payload_email(text, ID, &c, T0, &msg, &len, &err), 0);
    /* base64 of "Alarm für import (failure, run 42)" */
    assert_non_null(strstr(msg, "Subject: =?UTF-8?B?QWxhcm0gZsO8ciBpbXBvcnQgKGZhaWx1cmUsIHJ1biA0Mik=?=\r\n"));
    free(msg);
    free(text);
}

/* The daemon's error rate went over its threshold: 7 of 10 in 15m. */
static const struct payload_rate high_rate = { "degraded", 7, 10, INT64_C(900) * 1000000, 0.5, 10 };

static struct payload_event error_rate(const char *event, const struct payload_rate *r)
{
    struct payload_event e = { 0 };

    e.event = event;
    e.exit_code = -1;
    e.occurred_us = T0;
    e.node = "host-a";
    e.rate = r;
    return e;
}

static void test_payload_daemon_event_has_no_job_and_the_error_rate(void **state)
{
    char *text = event_text(error_rate("error_rate", &high_rate));
    json_t *doc = json_loads(text, 0, NULL), *r;

    (void)state;
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "event")), "error_rate");
    assert_true(json_is_null(json_object_get(doc, "job")));
    assert_true(json_is_null(json_object_get(doc, "namespace")));
    assert_true(json_is_null(json_object_get(doc, "name")));
    assert_true(json_is_null(json_object_get(doc, "run")));
    assert_string_equal(json_string_value(json_object_get(doc, "node")), "host-a");
    assert_string_equal(json_string_value(json_object_get(doc, "occurred_at")),
                        "2026-11-18T11:06:40.000000Z");
    r = json_object_get(doc, "error_rate");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "degraded");
    assert_int_equal(json_integer_value(json_object_get(r, "failed")), 7);
    assert_int_equal(json_integer_value(json_object_get(r, "finished")), 10);
    assert_int_equal(json_integer_value(json_object_get(r, "window_s")), 900);
    assert_true(json_real_value(json_object_get(r, "threshold")) == 0.5);
    assert_int_equal(json_integer_value(json_object_get(r, "min_runs")), 10);
    json_decref(doc);
    free(text);
    /* a job's event has no error_rate member */
    text = event_text(failure());
    assert_null(strstr(text, "error_rate"));
    free(text);
}

static void test_payload_daemon_summaries_read_as_sentences(void **state)
{
    static const struct payload_rate ok = { "ok", 4, 9, INT64_C(60) * 1000000, 0.5, 4 };
    static const struct payload_rate few = { "ok", 2, 3, INT64_C(5400) * 1000000, 0.25, 10 };
    static const struct {
        const char *event;
        const struct payload_rate *r;
        const char *node, *want;
    } cases[] = {
        { "error_rate", &high_rate, "host-a", "error rate on host-a is over its threshold: 7 of 10"
          " finished runs in the last 15m failed (threshold 50%)" },
        { "error_rate_ok", &ok, "host-a", "error rate on host-a is back under its threshold: 4"
          " of 9 finished runs in the last 1m failed (threshold 50%)" },
        { "error_rate_ok", &few, NULL, "error rate on the daemon is back under its threshold: 2"
          " of 3 finished runs in the last 1h30m failed (threshold 25%; fewer than 10 runs are"
          " not judged)" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct payload_event e = error_rate(cases[i].event, cases[i].r);
        char *text, *sum;

        e.node = cases[i].node;
        text = event_text(e);
        sum = payload_summary(text);
        assert_non_null(sum);
        assert_string_equal(sum, cases[i].want);
        assert_null(strstr(sum, "null"));
        free(sum);
        free(text);
    }
    /* job null without an error rate is not an event */
    assert_null(payload_summary("{\"event\": \"error_rate\", \"job\": null}"));
}

static void test_payload_daemon_event_in_each_form(void **state)
{
    struct channel c = { 0 };
    char *to[] = { "ops@example.com" };
    char *text = event_text(error_rate("error_rate", &high_rate)), *msg = NULL;
    size_t len = 0;
    struct err err = { 0 };
    json_t *doc, *att, *fields;

    (void)state;
    /* webhook: the event, its delivery id and summary, job null */
    assert_int_equal(payload_webhook(text, ID, "ops-hook", &msg, &len, &err), 0);
    doc = json_loads(msg, 0, NULL);
    assert_true(json_is_null(json_object_get(doc, "job")));
    assert_string_equal(json_string_value(json_object_get(doc, "delivery_id")), ID);
    assert_non_null(strstr(json_string_value(json_object_get(doc, "summary")),
                           "error rate on host-a is over its threshold"));
    json_decref(doc);
    free(msg);
    /* Slack: the node and the numbers, no job and no "null" */
    assert_int_equal(payload_slack(text, ID, &msg, &len, &err), 0);
    assert_null(strstr(msg, "null"));
    doc = json_loads(msg, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "text")),
                        ":rotating_light: error rate on host-a is over its threshold: 7 of 10"
                        " finished runs in the last 15m failed (threshold 50%)");
    att = json_array_get(json_object_get(doc, "attachments"), 0);
    assert_string_equal(json_string_value(json_object_get(att, "color")), "#d40e0d");
    fields = json_object_get(att, "fields");
    assert_int_equal(json_array_size(fields), 6);
    assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 0), "title")),
                        "Node");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 0), "value")),
                        "host-a");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 3), "value")),
                        "7 of 10 finished runs");
    json_decref(doc);
    free(msg);
    /* email: the default subject names the daemon; no job, no run */
    c.kind = CHANNEL_EMAIL;
    c.from = "chime@example.com";
    c.to = to;
    c.n_to = 1;
    assert_int_equal(payload_email(text, ID, &c, T0, &msg, &len, &err), 0);
    assert_non_null(strstr(msg, "Subject: [chime] daemon host-a: error_rate\r\n"));
    assert_non_null(strstr(msg, "X-Chime-Event: error_rate\r\n"));
    assert_non_null(strstr(msg, "Failed:    7 of 10 finished runs\r\n"));
    assert_non_null(strstr(msg, "Window:    15m\r\n"));
    assert_non_null(strstr(msg, "Threshold: 50%\r\n"));
    assert_non_null(strstr(msg, "Status:    degraded\r\n"));
    assert_non_null(strstr(msg, "Node:      host-a\r\n"));
    assert_null(strstr(msg, "Job:"));
    assert_null(strstr(msg, "null"));
    free(msg);
    c.subject = "{namespace}/{name} {job} run {run}: {event}";
    assert_int_equal(payload_email(text, ID, &c, T0, &msg, &len, &err), 0);
    assert_non_null(strstr(msg, "Subject: -/- daemon host-a run -: error_rate\r\n"));
    free(msg);
    free(text);
}

static void test_payload_signature_matches_rfc_4231(void **state)
{
    unsigned char key1[20];
    char sig[PAYLOAD_SIGNATURE_LEN];

    (void)state;
    /* RFC 4231, test case 2 */
    payload_sign((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28, sig);
    assert_string_equal(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* test case 1 */
    memset(key1, 0x0b, sizeof key1);
    payload_sign(key1, sizeof key1, "Hi There", 8, sig);
    assert_string_equal(sig, "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

/* Every event of store/vocab.h's table has its name back from the
 * notifier, a job's under its JOB_ON_ value and the daemon's under its
 * NOTIFY_ one, in the table's order. */
static void test_payload_every_event_of_the_table_is_named(void **state)
{
    static const struct {
        const char *name;
    } jobs[] = {
#define X(id, name, ...) { name },
        STORE_JOB_EVENTS(X)
#undef X
    }, daemons[] = {
#define X(id, name, ...) { name },
        STORE_DAEMON_EVENTS(X)
#undef X
    };

    (void)state;
    assert_int_equal(JOB_ON_COUNT, sizeof jobs / sizeof jobs[0]);
    assert_int_equal(NOTIFY_DAEMON_COUNT, sizeof daemons / sizeof daemons[0]);
    for (int ev = 0; ev < JOB_ON_COUNT; ev++)
        assert_string_equal(notify_event_name((enum job_notify_event)ev), jobs[ev].name);
    for (int ev = 0; ev < NOTIFY_DAEMON_COUNT; ev++)
        assert_string_equal(notify_daemon_event_name((enum notify_daemon_event)ev),
                            daemons[ev].name);
    assert_string_equal(notify_event_name(JOB_ON_RECOVERY), "recovery");
    assert_string_equal(notify_daemon_event_name(NOTIFY_ERROR_RATE_OK), "error_rate_ok");
    assert_string_equal(notify_event_name(JOB_ON_COUNT), "unknown");
    assert_string_equal(notify_daemon_event_name(NOTIFY_DAEMON_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_event_records_the_job_the_run_and_when),
        cmocka_unit_test(test_payload_summaries_read_as_sentences),
        cmocka_unit_test(test_payload_webhook_adds_the_delivery_id_and_is_stable),
        cmocka_unit_test(test_payload_slack_is_an_incoming_webhook_message),
        cmocka_unit_test(test_payload_email_is_a_complete_message),
        cmocka_unit_test(test_payload_signature_matches_rfc_4231),
        cmocka_unit_test(test_payload_daemon_event_has_no_job_and_the_error_rate),
        cmocka_unit_test(test_payload_daemon_summaries_read_as_sentences),
        cmocka_unit_test(test_payload_daemon_event_in_each_form),
        cmocka_unit_test(test_payload_every_event_of_the_table_is_named),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
