/* job_test.c: tests of the job document (job.c, jobvalue.c, jobsched.c).
 *
 * Bad documents are a table: each row changes one thing in a valid base
 * document and names the field the error must point at and a part of its
 * message. Every document that parses must also survive the round trip
 * from_json(to_json(j)), checked by round_trip() wherever a job is made. */
#include "job/job.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "job/jobdoc.h"
#include "store/store.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

#define S INT64_C(1000000)

/* ---- helpers ---- */

/* to_json, from_json, to_json again: the two documents must be equal. */
static void round_trip(const struct job *j)
{
    struct err err = { 0 };
    struct job *back = NULL;
    json_t *a = job_to_json(j), *b;

    assert_non_null(a);
    if (job_from_json(a, "unused", &back, &err) < 0) {
        char *text = json_dumps(a, JSON_INDENT(2));

        fail_msg("canonical document refused: %s: %s\n%s", err.field, err.msg, text);
    }
    b = job_to_json(back);
    assert_non_null(b);
    if (!json_equal(a, b)) {
        char *ta = json_dumps(a, JSON_SORT_KEYS), *tb = json_dumps(b, JSON_SORT_KEYS);

        fail_msg("round trip changed the document:\n%s\n%s", ta, tb);
    }
    json_decref(a);
    json_decref(b);
    job_free(back);
}

static struct job *parse_ok(const char *text)
{
    struct err err = { 0 };
    struct job *j = NULL;

    if (job_parse(text, strlen(text), NULL, &j, &err) < 0)
        fail_msg("refused: %s: %s\n%s", err.field, err.msg, text);
    round_trip(j);
    return j;
}

static int64_t at(const char *iso)
{
    struct err err = { 0 };
    int64_t us = 0;

    if (isotime_parse(iso, NULL, "test", &us, &err) < 0)
        fail_msg("bad test instant '%s': %s", iso, err.msg);
    return us;
}

/* ---- the example of docs/design.md ---- */

static const char design_example[] =
    "{\n"
    "  \"name\": \"nightly-import\",\n"
    "  \"namespace\": \"sales-team-1\",\n"
    "  \"description\": \"Import the partner CSV files\",\n"
    "  \"schedule\": { \"cron\": \"0 2 * * *\", \"timezone\": \"Europe/Berlin\" },\n"
    "  \"command\": [\"/usr/bin/python3\", \"import.py\", \"--all\"],\n"
    "  \"workdir\": \"inputs\",\n"
    "  \"env\": { \"MODE\": \"full\" },\n"
    "  \"params\": { \"BACKFILL_DAYS\": { \"pattern\": \"^[0-9]{1,3}$\", \"default\": \"1\" } },\n"
    "  \"timeout\": \"1h\",\n"
    "  \"kill_grace\": \"30s\",\n"
    "  \"retry\": { \"max_attempts\": 4, \"backoff\": \"30s\", \"factor\": 2, \"max_backoff\": \"30m\", \"jitter\": 0.2 },\n"
    "  \"concurrency\": \"forbid\",\n"
    "  \"max_instances\": 1,\n"
    "  \"misfire\": { \"grace\": \"1h\", \"catch_up\": \"latest\" },\n"
    "  \"priority\": \"normal\",\n"
    "  \"limits\": { \"memory\": \"512M\", \"cpu_time\": \"20m\", \"processes\": 64, \"output\": \"4M\" },\n"
    "  \"disable_after_failures\": 5,\n"
    "  \"notify\": { \"on_failure\": [\"ops\"], \"on_recovery\": [\"ops\"] },\n"
    "  \"labels\": { \"team\": \"sales\" },\n"
    "  \"paused\": false\n"
    "}\n";

static void test_job_reads_the_design_example(void **state)
{
    struct job *j = parse_ok(design_example);
    const struct tz *berlin = NULL;
    char id[2 * JOB_NAME_MAX + 2];

    (void)state;
    assert_int_equal(tz_load("Europe/Berlin", &berlin, NULL), 0);
    assert_string_equal(job_id(j, id, sizeof id), "sales-team-1/nightly-import");
    assert_string_equal(j->body->description, "Import the partner CSV files");
    assert_int_equal(j->sched.kind, JOB_CRON);
    assert_string_equal(j->body->cron_expr, "0 2 * * *");
    assert_string_equal(tz_name(j->sched.zone), "Europe/Berlin");
    assert_ptr_equal(j->sched.zone, berlin);
    assert_int_equal(j->body->argc, 3);
    assert_string_equal(j->body->argv[0], "/usr/bin/python3");
    assert_string_equal(j->body->argv[2], "--all");
    assert_null(j->body->argv[3]);
    assert_null(j->body->shell);
    assert_string_equal(j->body->workdir, "inputs");
    assert_int_equal(j->body->n_env, 1);
    assert_string_equal(j->body->env[0].key, "MODE");
    assert_string_equal(j->body->env[0].value, "full");
    assert_int_equal(j->body->n_params, 1);
    assert_string_equal(j->body->params[0].name, "BACKFILL_DAYS");
    assert_string_equal(j->body->params[0].pattern, "^[0-9]{1,3}$");
    assert_string_equal(j->body->params[0].def, "1");
    assert_null(j->body->params[0].description);
    assert_int_equal(j->body->timeout_us, 3600 * S);
    assert_int_equal(j->body->kill_grace_us, 30 * S);
    assert_int_equal(j->retry.max_attempts, 4);
    assert_int_equal(j->retry.backoff_us, 30 * S);
    assert_true(j->retry.factor == 2.0);
    assert_int_equal(j->retry.max_backoff_us, 1800 * S);
    assert_true(j->retry.jitter == 0.2);
    assert_int_equal(j->concurrency, JOB_FORBID);
    assert_int_equal(j->max_instances, 1);
    assert_int_equal(j->misfire.grace_us, 3600 * S);
    assert_int_equal(j->misfire.catch_up, JOB_CATCH_UP_LATEST);
    assert_int_equal(j->misfire.max_catch_up, 100);
    assert_int_equal(j->priority, 5);
    assert_int_equal(j->body->limits.memory, 512 << 20);
    assert_int_equal(j->body->limits.cpu_time_us, 1200 * S);
    assert_int_equal(j->body->limits.processes, 64);
    assert_int_equal(j->body->limits.open_files, 0);
    assert_int_equal(j->body->limits.output, 4 << 20);
    assert_int_equal(j->disable_after_failures, 5);
    assert_string_equal(j->body->notify[JOB_ON_FAILURE][0], "ops");
    assert_null(j->body->notify[JOB_ON_FAILURE][1]);
    assert_string_equal(j->body->notify[JOB_ON_RECOVERY][0], "ops");
    assert_null(j->body->notify[JOB_ON_SUCCESS]);
    assert_int_equal(j->body->n_labels, 1);
    assert_string_equal(j->body->labels[0].key, "team");
    assert_false(j->paused);
    job_free(j);
}

/* The canonical form of the example, written out by hand: every member,
 * defaults filled, "none" as null, reals as reals. */
static void test_job_writes_the_design_example_canonically(void **state)
{
    static const char want_text[] =
        "{\"name\": \"nightly-import\", \"namespace\": \"sales-team-1\","
        " \"description\": \"Import the partner CSV files\","
        " \"schedule\": {\"cron\": \"0 2 * * *\", \"timezone\": \"Europe/Berlin\"},"
        " \"command\": [\"/usr/bin/python3\", \"import.py\", \"--all\"],"
        " \"workdir\": \"inputs\", \"env\": {\"MODE\": \"full\"},"
        " \"params\": {\"BACKFILL_DAYS\": {\"pattern\": \"^[0-9]{1,3}$\", \"default\": \"1\","
        "   \"description\": null}},"
        " \"timeout\": \"1h\", \"kill_grace\": \"30s\", \"stuck_after\": null,"
        " \"retry\": {\"max_attempts\": 4, \"backoff\": \"30s\", \"factor\": 2.0,"
        "   \"max_backoff\": \"30m\", \"jitter\": 0.2},"
        " \"concurrency\": \"forbid\", \"max_instances\": 1,"
        " \"misfire\": {\"grace\": \"1h\", \"catch_up\": \"latest\", \"max_catch_up\": 100},"
        " \"priority\": \"normal\","
        " \"limits\": {\"memory\": \"512M\", \"cpu_time\": \"20m\", \"processes\": 64,"
        "   \"open_files\": null, \"output\": \"4M\"},"
        " \"disable_after_failures\": 5,"
        " \"retention\": {\"runs\": null, \"for\": null, \"output\": null, \"dead_letters\": null},"
        " \"notify\": {\"on_failure\": [\"ops\"], \"on_success\": [], \"on_timeout\": [],"
        "   \"on_retry\": [], \"on_recovery\": [\"ops\"], \"on_disabled\": [], \"on_stuck\": []},"
        " \"labels\": {\"team\": \"sales\"}, \"paused\": false}";
    struct job *j = parse_ok(design_example);
    json_t *want = json_loads(want_text, 0, NULL), *got = job_to_json(j);

    (void)state;
    assert_non_null(want);
    if (!json_equal(want, got)) {
        char *text = json_dumps(got, JSON_SORT_KEYS);

        fail_msg("canonical document differs:\n%s", text);
    }
    json_decref(want);
    json_decref(got);
    job_free(j);
}

/* stuck_after: how long a run may take before /healthz calls it stuck;
 * absent or null is the default (derived from the job's recent runs). */
/* env values may be secrets: an error about one never quotes it */
static void test_job_env_value_errors_do_not_quote_the_value(void **state)
{
    char doc[40000];
    struct job *j = NULL;
    struct err err = { 0 };
    int n;

    (void)state;
    n = snprintf(doc, sizeof doc, "{\"name\": \"x\", \"schedule\": {\"manual\": true},"
                 " \"shell\": \"true\", \"env\": {\"PASSWORD\": \"hunter2\\u0000tail\"}}");
    assert_int_equal(job_parse(doc, (size_t)n, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "env.PASSWORD");
    assert_string_equal(err.msg, "the value has a NUL byte at position 8");
    n = snprintf(doc, sizeof doc, "{\"name\": \"x\", \"schedule\": {\"manual\": true},"
                 " \"shell\": \"true\", \"env\": {\"TOKEN\": \"");
    memset(doc + n, 's', 33 * 1024);
    n += 33 * 1024;
    n += snprintf(doc + n, sizeof doc - (size_t)n, "\"}}");
    assert_int_equal(job_parse(doc, (size_t)n, NULL, &j, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "env.TOKEN");
    assert_string_equal(err.msg, "the value is longer than 32768 bytes");
    assert_null(j);
}

static void test_job_reads_and_writes_stuck_after(void **state)
{
    struct job *j = parse_ok("{\"name\": \"slow\", \"schedule\": {\"manual\": true},"
                             " \"shell\": \"sleep 9\", \"stuck_after\": \"1h30m\"}");
    json_t *doc;

    (void)state;
    assert_int_equal(j->body->stuck_after_us, 5400 * S);
    doc = job_to_json(j);
    assert_string_equal(json_string_value(json_object_get(doc, "stuck_after")), "1h30m");
    json_decref(doc);
    job_free(j);
    j = parse_ok("{\"name\": \"slow\", \"schedule\": {\"manual\": true},"
                 " \"shell\": \"sleep 9\", \"stuck_after\": 90}");
    assert_int_equal(j->body->stuck_after_us, 90 * S);
    job_free(j);
    j = parse_ok("{\"name\": \"slow\", \"schedule\": {\"manual\": true},"
                 " \"shell\": \"sleep 9\", \"stuck_after\": null}");
    assert_int_equal(j->body->stuck_after_us, 0);
    doc = job_to_json(j);
    assert_true(json_is_null(json_object_get(doc, "stuck_after")));
    json_decref(doc);
    job_free(j);
}

/* retention: each member alone; absent or null is the daemon's default (0
 * here, null in the document); the plan carries them to the store. */
static void test_job_reads_and_writes_retention(void **state)
{
    struct job *j = parse_ok("{\"name\": \"often\", \"schedule\": {\"every\": \"1s\"},"
                             " \"shell\": \"true\", \"retention\": {\"runs\": 500,"
                             " \"for\": \"14d\", \"output\": \"1G\", \"dead_letters\": 20}}");
    struct store_job_plan p;
    char *texts = NULL;
    json_t *doc, *r;

    (void)state;
    assert_int_equal(j->body->retention.runs, 500);
    assert_int_equal(j->body->retention.for_us, 14 * 86400 * S);
    assert_int_equal(j->body->retention.output, INT64_C(1) << 30);
    assert_int_equal(j->body->retention.dead_letters, 20);
    doc = job_to_json(j);
    r = json_object_get(doc, "retention");
    assert_int_equal(json_integer_value(json_object_get(r, "runs")), 500);
    assert_string_equal(json_string_value(json_object_get(r, "for")), "2w");
    assert_string_equal(json_string_value(json_object_get(r, "output")), "1G");
    assert_int_equal(json_integer_value(json_object_get(r, "dead_letters")), 20);
    json_decref(doc);
    assert_int_equal(job_plan_make(j, 3, &p, &texts), 0);
    assert_int_equal(p.retain_runs, 500);
    assert_int_equal(p.retain_for_us, 14 * 86400 * S);
    assert_int_equal(p.retain_output, INT64_C(1) << 30);
    assert_int_equal(p.retain_dead_letters, 20);
    free(texts);
    job_free(j);
    j = parse_ok("{\"name\": \"often\", \"schedule\": {\"every\": \"1s\"},"
                 " \"shell\": \"true\", \"retention\": {\"for\": 3600, \"runs\": null}}");
    assert_int_equal(j->body->retention.runs, 0);
    assert_int_equal(j->body->retention.for_us, 3600 * S);
    assert_int_equal(j->body->retention.output, 0);
    assert_int_equal(job_plan_make(j, 1, &p, &texts), 0);
    assert_int_equal(p.retain_runs, STORE_NULL);
    assert_int_equal(p.retain_for_us, 3600 * S);
    assert_int_equal(p.retain_output, STORE_NULL);
    free(texts);
    doc = job_to_json(j);
    assert_true(json_is_null(json_object_get(json_object_get(doc, "retention"), "runs")));
    json_decref(doc);
    job_free(j);
}

/* ---- defaults ---- */

static void test_job_fills_every_default(void **state)
{
    static const char want_text[] =
        "{\"name\": \"tidy\", \"namespace\": \"default\", \"description\": null,"
        " \"schedule\": {\"manual\": true}, \"shell\": \"rm -f /tmp/x\","
        " \"workdir\": null, \"env\": {}, \"params\": {}, \"timeout\": null, \"kill_grace\": \"10s\","
        " \"stuck_after\": null, \"retry\": {\"max_attempts\": 1, \"backoff\": \"10s\", \"factor\": 2.0,"
        "   \"max_backoff\": \"1h\", \"jitter\": 0.0},"
        " \"concurrency\": \"forbid\", \"max_instances\": 1,"
        " \"misfire\": {\"grace\": \"1h\", \"catch_up\": \"latest\", \"max_catch_up\": 100},"
        " \"priority\": \"normal\","
        " \"limits\": {\"memory\": null, \"cpu_time\": null, \"processes\": null,"
        "   \"open_files\": null, \"output\": \"4M\"},"
        " \"disable_after_failures\": 0,"
        " \"retention\": {\"runs\": null, \"for\": null, \"output\": null, \"dead_letters\": null},"
        " \"notify\": {\"on_failure\": [], \"on_success\": [], \"on_timeout\": [],"
        "   \"on_retry\": [], \"on_recovery\": [], \"on_disabled\": [], \"on_stuck\": []},"
        " \"labels\": {}, \"paused\": false}";
    struct job *j = parse_ok("{\"name\": \"tidy\", \"schedule\": {\"manual\": true},"
                             " \"shell\": \"rm -f /tmp/x\"}");
    json_t *want = json_loads(want_text, 0, NULL), *got = job_to_json(j);
    int i;

    (void)state;
    assert_string_equal(j->ns, "default");
    assert_null(j->body->description);
    assert_null(j->body->argv);
    assert_int_equal(j->body->argc, 0);
    assert_string_equal(j->body->shell, "rm -f /tmp/x");
    assert_null(j->body->workdir);
    assert_int_equal(j->body->n_env, 0);
    assert_int_equal(j->body->n_params, 0);
    assert_int_equal(j->body->timeout_us, 0);
    assert_int_equal(j->body->kill_grace_us, 10 * S);
    assert_int_equal(j->retry.max_attempts, 1);
    assert_int_equal(j->retry.backoff_us, 10 * S);
    assert_true(j->retry.factor == 2.0);
    assert_int_equal(j->retry.max_backoff_us, 3600 * S);
    assert_true(j->retry.jitter == 0.0);
    assert_int_equal(j->concurrency, JOB_FORBID);
    assert_int_equal(j->max_instances, 1);
    assert_int_equal(j->misfire.grace_us, 3600 * S);
    assert_int_equal(j->misfire.catch_up, JOB_CATCH_UP_LATEST);
    assert_int_equal(j->misfire.max_catch_up, 100);
    assert_int_equal(j->priority, 5);
    assert_int_equal(j->body->limits.memory, 0);
    assert_int_equal(j->body->limits.cpu_time_us, 0);
    assert_int_equal(j->body->limits.processes, 0);
    assert_int_equal(j->body->limits.open_files, 0);
    assert_int_equal(j->body->limits.output, 4 << 20);
    assert_int_equal(j->disable_after_failures, 0);
    for (i = 0; i < JOB_ON_COUNT; i++)
        assert_null(j->body->notify[i]);
    assert_int_equal(j->body->n_labels, 0);
    assert_false(j->paused);
    assert_true(json_equal(want, got));
    json_decref(want);
    json_decref(got);
    job_free(j);
}

static void test_job_reads_null_members_as_their_defaults(void **state)
{
    struct job *j = parse_ok(
        "{\"name\": \"x\", \"namespace\": null, \"schedule\": {\"cron\": \"@daily\", \"timezone\": null},"
        " \"command\": [\"/bin/true\"], \"shell\": null, \"timeout\": null, \"kill_grace\": null,"
        " \"retry\": null, \"misfire\": {\"grace\": null}, \"priority\": null,"
        " \"limits\": {\"output\": null, \"memory\": null}, \"labels\": null, \"paused\": null}");

    (void)state;
    assert_string_equal(j->ns, "default");
    assert_null(j->sched.zone);
    assert_null(j->sched.zone);
    assert_int_equal(j->body->kill_grace_us, 10 * S);
    assert_int_equal(j->retry.max_attempts, 1);
    assert_int_equal(j->misfire.grace_us, 3600 * S);
    assert_int_equal(j->priority, 5);
    assert_int_equal(j->body->limits.output, 4 << 20);
    job_free(j);
}

static void test_job_takes_the_callers_namespace_unless_it_names_one(void **state)
{
    static const char base[] = "{\"name\": \"x\", \"schedule\": {\"manual\": true}, \"shell\": \"true\"";
    struct err err = { 0 };
    struct job *j = NULL;
    char text[256];

    (void)state;
    snprintf(text, sizeof text, "%s}", base);
    assert_int_equal(job_parse(text, strlen(text), "tenant-7", &j, &err), 0);
    assert_string_equal(j->ns, "tenant-7");
    job_free(j);
    snprintf(text, sizeof text, "%s, \"namespace\": \"own\"}", base);
    assert_int_equal(job_parse(text, strlen(text), "tenant-7", &j, &err), 0);
    assert_string_equal(j->ns, "own");
    job_free(j);
    j = NULL;
    snprintf(text, sizeof text, "%s}", base);
    assert_int_equal(job_parse(text, strlen(text), "Bad NS", &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "namespace");
    assert_null(j);
}

/* ---- schedules ---- */

static void test_job_reads_a_cron_schedule_in_the_default_zone(void **state)
{
    struct job *j = parse_ok("{\"name\": \"c\", \"schedule\": {\"cron\": \"*/5 * * * *\"},"
                             " \"command\": [\"/bin/true\"]}");

    (void)state;
    assert_int_equal(j->sched.kind, JOB_CRON);
    assert_string_equal(j->body->cron_expr, "*/5 * * * *");
    assert_true(j->sched.cron.min & 1);          /* minute 0 */
    assert_false(j->sched.cron.min & 2);         /* not minute 1 */
    assert_null(j->sched.zone);
    assert_null(j->sched.zone);
    job_free(j);
}

static void test_job_allows_reboot_and_every_as_cron_expressions(void **state)
{
    struct job *j = parse_ok("{\"name\": \"r\", \"schedule\": {\"cron\": \"@reboot\"},"
                             " \"command\": [\"/bin/true\"]}");

    (void)state;
    assert_true(j->sched.cron.flags & CRON_REBOOT);
    job_free(j);
    j = parse_ok("{\"name\": \"e\", \"schedule\": {\"cron\": \"@every 90s\", \"timezone\": \"UTC\"},"
                 " \"command\": [\"/bin/true\"]}");
    assert_int_equal(j->sched.cron.every_us, 90 * S);
    assert_string_equal(tz_name(j->sched.zone), "UTC");
    job_free(j);
}

static void test_job_reads_an_every_schedule(void **state)
{
    struct job *j = parse_ok(
        "{\"name\": \"e\", \"schedule\": {\"every\": \"15m\", \"start\": \"2026-03-01T08:00:00+01:00\","
        " \"jitter\": \"30s\"}, \"command\": [\"/bin/true\"]}");
    json_t *doc;

    (void)state;
    assert_int_equal(j->sched.kind, JOB_EVERY);
    assert_int_equal(j->sched.every_us, 900 * S);
    assert_int_equal(j->sched.start_us, at("2026-03-01T07:00:00Z"));
    assert_int_equal(j->sched.jitter_us, 30 * S);
    doc = job_to_json(j);
    /* written in UTC, with microseconds */
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "schedule"), "start")),
                        "2026-03-01T07:00:00.000000Z");
    json_decref(doc);
    job_free(j);
    j = parse_ok("{\"name\": \"e\", \"schedule\": {\"every\": 3600}, \"command\": [\"/bin/true\"]}");
    assert_int_equal(j->sched.every_us, 3600 * S);
    assert_int_equal(j->sched.start_us, INT64_MIN);
    assert_int_equal(j->sched.jitter_us, 0);
    job_free(j);
}

static void test_job_reads_an_at_schedule(void **state)
{
    struct job *j = parse_ok("{\"name\": \"once\", \"schedule\": {\"at\": \"2026-11-24T01:00:00Z\"},"
                             " \"command\": [\"/bin/true\"]}");

    (void)state;
    assert_int_equal(j->sched.kind, JOB_AT);
    assert_int_equal(j->sched.at_us, at("2026-11-24T01:00:00Z"));
    job_free(j);
    /* the first and the last instant that can be written back */
    job_free(parse_ok("{\"name\": \"a\", \"schedule\": {\"at\": \"0001-01-01T00:00:00Z\"}, \"shell\": \"x\"}"));
    job_free(parse_ok("{\"name\": \"a\", \"schedule\": {\"at\": \"9999-12-31T23:59:59.999999Z\"},"
                      " \"shell\": \"x\"}"));
}

static void test_job_qualifies_after_names_with_its_namespace(void **state)
{
    struct job *j = parse_ok(
        "{\"name\": \"report\", \"namespace\": \"sales\", \"schedule\": {\"after\": [\"import\","
        " \"ops/backup\", \"report2\"], \"when\": \"always\"}, \"command\": [\"/bin/true\"]}");

    (void)state;
    assert_int_equal(j->sched.kind, JOB_AFTER);
    assert_int_equal(j->sched.n_after, 3);
    assert_string_equal(j->sched.after[0], "sales/import");
    assert_string_equal(j->sched.after[1], "ops/backup");
    assert_string_equal(j->sched.after[2], "sales/report2");
    assert_int_equal(j->sched.when, JOB_WHEN_ALWAYS);
    job_free(j);
    /* the same name in another namespace is not the job itself */
    j = parse_ok("{\"name\": \"report\", \"schedule\": {\"after\": [\"other/report\"]},"
                 " \"command\": [\"/bin/true\"]}");
    assert_int_equal(j->sched.when, JOB_WHEN_SUCCESS);
    job_free(j);
}

static void test_job_reads_a_manual_schedule(void **state)
{
    struct job *j = parse_ok("{\"name\": \"m\", \"schedule\": {\"manual\": true},"
                             " \"command\": [\"/bin/true\"]}");

    (void)state;
    assert_int_equal(j->sched.kind, JOB_MANUAL);
    job_free(j);
}

/* ---- other members ---- */

static void test_job_sorts_env_and_labels_by_key(void **state)
{
    struct job *j = parse_ok(
        "{\"name\": \"s\", \"schedule\": {\"manual\": true}, \"command\": [\"/bin/true\"],"
        " \"env\": {\"ZED\": \"3\", \"_A\": \"\", \"MODE\": \"full\", \"A1\": \"x=y\"},"
        " \"labels\": {\"tier\": \"web\", \"app/name\": \"shop\", \"a\": \"\"}}");

    (void)state;
    assert_int_equal(j->body->n_env, 4);
    assert_string_equal(j->body->env[0].key, "A1");
    assert_string_equal(j->body->env[0].value, "x=y");
    assert_string_equal(j->body->env[1].key, "MODE");
    assert_string_equal(j->body->env[2].key, "ZED");
    assert_string_equal(j->body->env[3].key, "_A");
    assert_string_equal(j->body->env[3].value, "");
    assert_int_equal(j->body->n_labels, 3);
    assert_string_equal(j->body->labels[0].key, "a");
    assert_string_equal(j->body->labels[1].key, "app/name");
    assert_string_equal(j->body->labels[2].key, "tier");
    job_free(j);
}

static void test_job_reads_priority_names_and_integers(void **state)
{
    static const struct { const char *text; int value; const char *written; } rows[] = {
        { "\"low\"", 1, "low" },
        { "\"normal\"", 5, "normal" },
        { "\"high\"", 10, "high" },
        { "\"critical\"", 15, "critical" },
        { "0", 0, NULL },
        { "10", 10, "high" },   /* an integer with a name is written by name */
        { "42", 42, NULL },
        { "100", 100, NULL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char text[256];
        struct job *j;
        json_t *doc, *p;

        snprintf(text, sizeof text, "{\"name\": \"p\", \"schedule\": {\"manual\": true},"
                 " \"command\": [\"x\"], \"priority\": %s}", rows[i].text);
        j = parse_ok(text);
        assert_int_equal(j->priority, rows[i].value);
        doc = job_to_json(j);
        p = json_object_get(doc, "priority");
        if (rows[i].written)
            assert_string_equal(json_string_value(p), rows[i].written);
        else
            assert_int_equal(json_integer_value(p), rows[i].value);
        json_decref(doc);
        job_free(j);
    }
}

static void test_job_reads_durations_and_sizes_as_integers_too(void **state)
{
    struct job *j = parse_ok(
        "{\"name\": \"u\", \"schedule\": {\"manual\": true}, \"command\": [\"x\"],"
        " \"timeout\": 5400, \"kill_grace\": 0, \"retry\": {\"backoff\": 90, \"max_backoff\": \"1d\"},"
        " \"limits\": {\"memory\": 1048576, \"output\": 1536, \"cpu_time\": 1,"
        "  \"open_files\": 1048576, \"processes\": 1}}");
    json_t *doc = job_to_json(j), *limits = json_object_get(doc, "limits");

    (void)state;
    assert_int_equal(j->body->timeout_us, 5400 * S);
    assert_int_equal(j->body->kill_grace_us, 0);
    assert_int_equal(j->retry.backoff_us, 90 * S);
    assert_int_equal(j->body->limits.memory, 1 << 20);
    assert_int_equal(j->body->limits.output, 1536);
    assert_string_equal(json_string_value(json_object_get(doc, "timeout")), "1h30m");
    assert_string_equal(json_string_value(json_object_get(doc, "kill_grace")), "0s");
    assert_string_equal(json_string_value(json_object_get(limits, "memory")), "1M");
    assert_string_equal(json_string_value(json_object_get(limits, "output")), "1536");
    assert_int_equal(json_integer_value(json_object_get(limits, "open_files")), 1048576);
    json_decref(doc);
    job_free(j);
}

static void test_job_accepts_the_edges_of_every_range(void **state)
{
    struct job *j = parse_ok(
        "{\"name\": \"a23456789012345678901234567890123456789012345678901234567890123\","
        " \"schedule\": {\"every\": \"1s\", \"jitter\": \"999ms\"}, \"command\": [\"x\", \"\"],"
        " \"workdir\": \"./a/..b/c..\","
        " \"retry\": {\"max_attempts\": 100, \"factor\": 10, \"jitter\": 1, \"backoff\": \"1h\","
        "  \"max_backoff\": \"1h\"},"
        " \"concurrency\": \"replace\", \"max_instances\": 1000,"
        " \"misfire\": {\"grace\": 0, \"catch_up\": \"all\", \"max_catch_up\": 10000},"
        " \"disable_after_failures\": 1000, \"limits\": {\"output\": \"1K\", \"processes\": 1000000}}");

    (void)state;
    assert_int_equal(strlen(j->name), JOB_NAME_MAX);
    assert_int_equal(j->body->argc, 2);
    assert_string_equal(j->body->argv[1], "");
    assert_true(j->retry.factor == 10.0);
    assert_int_equal(j->concurrency, JOB_REPLACE);
    assert_int_equal(j->misfire.catch_up, JOB_CATCH_UP_ALL);
    job_free(j);
}

/* ---- params ---- */

/* A job document of NAME with params PARAMS (a JSON object's text). */
static int parse_params(const char *params, struct job **ret, struct err *err)
{
    char text[4096];

    snprintf(text, sizeof text,
             "{\"name\": \"p\", \"schedule\": {\"manual\": true}, \"shell\": \"true\","
             " \"params\": %s}", params);
    return job_parse(text, strlen(text), NULL, ret, err);
}

/* What the loader, a shell, an interpreter or chime reads is never a
 * param, in any case; names that merely begin alike are. */
static void test_job_refuses_every_forbidden_param_name(void **state)
{
    static const char *const refused[] = {
        "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_", "ld_preload", "BASH_ENV",
        "BASH_FUNC_ls", "ENV", "PATH", "path", "IFS", "SHELLOPTS", "BASHOPTS", "PS1", "PS4",
        "PROMPT_COMMAND", "CDPATH", "GLOBIGNORE", "HOME", "SHELL", "GCONV_PATH",
        "GLIBC_TUNABLES", "MALLOC_CHECK_", "LOCPATH", "NLSPATH", "PYTHONPATH",
        "PYTHONSTARTUP", "PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS", "CLASSPATH", "LUA_INIT", "GIT_SSH_COMMAND", "GIT_CONFIG_COUNT",
        "XDG_CONFIG_HOME", "EDITOR", "PAGER", "LESSOPEN", "OPENSSL_CONF", "https_proxy",
        "HTTP_PROXY", "CHIME_URL", "CHIME_TOKEN", "CHIME_BIN", "chime_x", "DOTNET_STARTUP_HOOKS",
        "MAKEFLAGS", "GOFLAGS", "ZDOTDIR", "FPATH",
    };
    static const char *const allowed[] = {
        "BACKFILL_DAYS", "MODE", "LDAP_HOST", "PATHNAME", "HOMEDIR", "ENVIRONMENT", "IFSX",
        "PS5", "SHELLY", "GOAL", "R", "CHIMES", "NODE", "PYTHO", "_",
    };
    char params[256], field[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct err err = { 0 };
        struct job *j = NULL;

        snprintf(params, sizeof params, "{\"%s\": {\"pattern\": \".*\"}}", refused[i]);
        snprintf(field, sizeof field, "params.%s", refused[i]);
        if (parse_params(params, &j, &err) != -CHIME_EINVAL || strcmp(err.field, field) != 0
            || !strstr(err.msg, "may not be a parameter: "))
            fail_msg("'%s' was not refused: %s: %s", refused[i], err.field, err.msg);
        assert_null(j);
    }
    for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        struct err err = { 0 };
        struct job *j = NULL;

        snprintf(params, sizeof params, "{\"%s\": {\"pattern\": \".*\"}}", allowed[i]);
        if (parse_params(params, &j, &err) < 0)
            fail_msg("'%s' was refused: %s: %s", allowed[i], err.field, err.msg);
        assert_int_equal(j->body->n_params, 1);
        job_free(j);
    }
}

static void test_job_refuses_oversized_params(void **state)
{
    char *big = malloc(8192), *p;
    struct err err = { 0 };
    struct job *j = NULL;
    int i;

    (void)state;
    /* 65 params */
    p = big + snprintf(big, 8192, "{");
    for (i = 0; i < 65; i++)
        p += snprintf(p, (size_t)(big + 8192 - p), "%s\"P%d\": {\"pattern\": \"x\"}",
                      i ? ", " : "", i);
    snprintf(p, (size_t)(big + 8192 - p), "}");
    assert_int_equal(parse_params(big, &j, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params");
    assert_non_null(strstr(err.msg, "65 parameters are more than 64"));
    /* a pattern of 257 bytes */
    snprintf(big, 8192, "{\"N\": {\"pattern\": \"%0257d\"}}", 0);
    assert_int_equal(parse_params(big, &j, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params.N.pattern");
    assert_non_null(strstr(err.msg, "is longer than 256 bytes"));
    /* a default of 1025 bytes, though it matches */
    snprintf(big, 8192, "{\"N\": {\"pattern\": \"[0-9]*\", \"default\": \"%01025d\"}}", 0);
    assert_int_equal(parse_params(big, &j, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params.N.default");
    assert_non_null(strstr(err.msg, "is longer than 1024 bytes"));
    /* a description of 1025 bytes */
    snprintf(big, 8192, "{\"N\": {\"pattern\": \"x\", \"description\": \"%01025d\"}}", 0);
    assert_int_equal(parse_params(big, &j, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params.N.description");
    /* at the bounds: accepted */
    snprintf(big, 8192, "{\"N\": {\"pattern\": \"[0-9]{1,200}\", \"default\": \"%0200d\","
             " \"description\": \"%01024d\"}}", 0, 0);
    if (parse_params(big, &j, &err) < 0)
        fail_msg("refused: %s: %s", err.field, err.msg);
    assert_int_equal(strlen(j->body->params[0].def), 200);
    job_free(j);
    free(big);
}

/* A trigger's values: only declared params, each matching as a whole;
 * the defaults fill the rest. */
static void test_job_params_resolve_takes_declared_values_and_defaults(void **state)
{
    static const struct { const char *given; const char *field, *says; } bad[] = {
        { "{\"C\": \"1\"}", "params.C", "'C' is not a parameter of this job" },
        { "{\"LD_PRELOAD\": \"/x.so\"}", "params.LD_PRELOAD",
          "'LD_PRELOAD' may never be set by a trigger: the dynamic loader" },
        { "{\"BASH_ENV\": \"/x\"}", "params.BASH_ENV", "may never be set by a trigger" },
        { "{\"CHIME_TOKEN\": \"x\"}", "params.CHIME_TOKEN", "may never be set by a trigger" },
        { "{\"A\": \"1a\"}", "params.A", "'1a' does not match the pattern '[0-9]+'" },
        { "{\"A\": \"a1\"}", "params.A", "does not match" },
        { "{\"A\": \"\"}", "params.A", "does not match" },
        { "{\"A\": \"1\\n2\"}", "params.A", "does not match" },
        { "{\"B\": \"xy\"}", "params.B", "'xy' does not match the pattern 'x|y'" },
        { "{\"A\": 1}", "params.A", "got an integer, want a string" },
        { "{\"A\": null}", "params.A", "got null, want a string" },
        { "{\"A\": \"1\\u00002\"}", "params.A", "NUL byte at position 2" },
        { "[\"A=1\"]", "params", "got an array, want an object of strings" },
    };
    struct job *j = NULL;
    struct err err = { 0 };
    const char *v[2];
    char long_value[1025];
    json_t *given;
    size_t i;

    (void)state;
    assert_int_equal(parse_params("{\"B\": {\"pattern\": \"x|y\"},"
                                  " \"A\": {\"pattern\": \"[0-9]+\", \"default\": \"1\"}}",
                                  &j, &err), 0);
    assert_string_equal(j->body->params[0].name, "A");     /* sorted */
    assert_int_equal(job_params_resolve(j->body, NULL, v, &err), 0);
    assert_string_equal(v[0], "1");
    assert_null(v[1]);
    given = json_loads("{\"B\": \"y\"}", 0, NULL);
    assert_int_equal(job_params_resolve(j->body, given, v, &err), 0);
    assert_string_equal(v[0], "1");
    assert_string_equal(v[1], "y");
    json_decref(given);
    given = json_loads("{\"A\": \"0042\", \"B\": \"x\"}", 0, NULL);
    assert_int_equal(job_params_resolve(j->body, given, v, &err), 0);
    assert_string_equal(v[0], "0042");
    assert_string_equal(v[1], "x");
    json_decref(given);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        given = json_loads(bad[i].given, JSON_ALLOW_NUL, NULL);
        assert_non_null(given);
        memset(&err, 0, sizeof err);
        if (job_params_resolve(j->body, given, v, &err) != -CHIME_EINVAL
            || strcmp(err.field, bad[i].field) != 0 || !strstr(err.msg, bad[i].says))
            fail_msg("%s: got %s: %s", bad[i].given, err.field, err.msg);
        json_decref(given);
    }
    /* a value past 1024 bytes, though it would match */
    memset(long_value, '1', sizeof long_value);
    given = json_pack("{s:s#}", "A", long_value, (int)sizeof long_value);
    assert_int_equal(job_params_resolve(j->body, given, v, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params.A");
    json_decref(given);
    job_free(j);
}

/* Patterns that backtracking engines take exponential time over: glibc
 * answers them over the longest value allowed, and does not match. */
static void test_job_params_match_hostile_values(void **state)
{
    static const char *const patterns[] = {
        "(a|aa)*b", "(a*)*b", "(a+)+b", "(.*a){20}b", "(a|a?)+b", "(a?){100}a{100}b",
        "([a-z]*,?)*b", "((a*)(a*))*b", "(a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*)*b",
    };
    char doc[512], value[1025];
    size_t i;

    (void)state;
    memset(value, 'a', 1024);
    value[1024] = '\0';
    for (i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        struct job *j = NULL;
        struct err err = { 0 };
        const char *v[1];
        json_t *given = json_pack("{s:s}", "N", value);

        snprintf(doc, sizeof doc, "{\"N\": {\"pattern\": \"%s\"}}", patterns[i]);
        if (parse_params(doc, &j, &err) < 0)
            fail_msg("%s refused: %s", patterns[i], err.msg);
        assert_int_equal(job_params_resolve(j->body, given, v, &err), -CHIME_EINVAL);
        assert_non_null(strstr(err.msg, "does not match"));
        json_decref(given);
        job_free(j);
    }
}

/* ---- bad documents ---- */

/* A row's PATCH is merged into BASE (a null member removes it), unless it
 * starts with '{', '[' or is empty: then it is the whole text. */
struct bad {
    const char *patch;
    const char *field;
    const char *says;
};

static const char bad_base[] =
    "{\"name\": \"job1\", \"schedule\": {\"cron\": \"0 2 * * *\"}, \"command\": [\"/bin/true\"]}";

static const struct bad bad_docs[] = {
    /* the document itself */
    { "", "", "invalid JSON at line 1" },
    { "[]", "", "got an array, want an object" },
    { "\"job\"", "", "invalid JSON" },
    { "{\"name\": \"job1\",", "", "invalid JSON at line 1, column" },
    { "{\"name\": \"job1\"} x", "", "invalid JSON" },
    { "{\"name\": \"a\", \"name\": \"b\"}", "", "duplicate object key" },
    { "{\"name\": \"\xff\"}", "", "invalid JSON" },
    { "{\"name\": \"\xc0\xaf\"}", "", "invalid JSON" },
    { "{\"name\": \"job1\", \"env\": {\"A\\u0000B\": \"1\"}}", "", "NUL byte in object key" },
    { "\"colour\": \"red\"", "colour", "unknown field 'colour'" },
    { "\"pause\": true", "pause", "unknown field 'pause' (did you mean 'paused'?)" },
    /* name and namespace */
    { "\"name\": null", "name", "missing field 'name'" },
    { "\"name\": 5", "name", "got an integer, want a string" },
    { "\"name\": \"\"", "name", "'' is empty" },
    { "\"name\": \"Nightly\"", "name", "'Nightly' starts with 'N'" },
    { "\"name\": \"-x\"", "name", "'-x' starts with '-'" },
    { "\"name\": \"a b\"", "name", "'a b' has ' ' at position 2" },
    { "\"name\": \"a/b\"", "name", "'a/b' has '/' at position 2" },
    { "\"name\": \"a\\u0000b\"", "name", "NUL byte at position 2" },
    { "\"name\": \"a234567890123456789012345678901234567890123456789012345678901234\"", "name",
      "is longer than 63 bytes" },
    { "\"namespace\": \"Sales\"", "namespace", "'Sales' starts with 'S'" },
    { "\"namespace\": [\"a\"]", "namespace", "got an array, want a string" },
    { "\"description\": 1", "description", "got an integer, want a string" },
    { "\"description\": \"a\\u0000b\"", "description", "a NUL byte at position 2 (after 'a')" },
    /* schedule */
    { "\"schedule\": null", "schedule", "missing field 'schedule'" },
    { "\"schedule\": \"0 2 * * *\"", "schedule", "got a string, want an object" },
    { "\"schedule\": {}", "schedule", "no kind of schedule" },
    { "\"schedule\": {\"cron\": \"* * * * *\", \"every\": \"1h\"}", "schedule.every",
      "'cron' and 'every' are both given" },
    { "\"schedule\": {\"manual\": true, \"at\": \"2026-01-01T00:00:00Z\"}", "schedule.at",
      "'manual' and 'at' are both given" },
    { "\"schedule\": {\"cron\": \"* * * * *\", \"jitter\": \"1s\"}", "schedule.jitter",
      "'jitter' goes with 'every', not with 'cron'" },
    { "\"schedule\": {\"at\": \"2026-01-01T00:00:00Z\", \"when\": \"always\"}", "schedule.when",
      "'when' goes with 'after', not with 'at'" },
    { "\"schedule\": {\"cron\": \"* * * * *\", \"tz\": \"UTC\"}", "schedule.tz", "unknown field 'tz'" },
    { "\"schedule\": {\"cron\": \"* * * * *\", \"tz\": \"UTC\"}", "schedule.tz", "'tz'" },
    { "\"schedule\": {\"crn\": \"* * * * *\"}", "schedule.crn",
      "unknown field 'crn' (did you mean 'cron'?)" },
    { "\"schedule\": {\"cron\": 5}", "schedule.cron", "got an integer, want a string" },
    { "\"schedule\": {\"cron\": \"61 * * * *\"}", "schedule.cron", "minute '61' is out of range 0-59" },
    { "\"schedule\": {\"cron\": \"* * * *\"}", "schedule.cron", "has 4 fields, not 5 or 6" },
    { "\"schedule\": {\"cron\": \"0 0 30 2 *\"}", "schedule.cron", "never fires" },
    { "\"schedule\": {\"cron\": \"@daily\", \"timezone\": \"Mars/Olympus\"}", "schedule.timezone",
      "unknown time zone 'Mars/Olympus'" },
    { "\"schedule\": {\"cron\": \"@daily\", \"timezone\": \"../etc/passwd\"}", "schedule.timezone",
      "invalid time zone name" },
    { "\"schedule\": {\"cron\": \"@daily\", \"timezone\": 1}", "schedule.timezone",
      "got an integer, want a string" },
    { "\"schedule\": {\"every\": \"0s\"}", "schedule.every", "'0s' is less than 1s" },
    { "\"schedule\": {\"every\": \"-5m\"}", "schedule.every", "'-5m' is negative" },
    { "\"schedule\": {\"every\": -5}", "schedule.every", "'-5' is negative" },
    { "\"schedule\": {\"every\": 1.5}", "schedule.every", "got a real number, want a duration" },
    { "\"schedule\": {\"every\": \"15m\", \"jitter\": \"15m\"}", "schedule.jitter",
      "'15m' is not less than the period '15m'" },
    { "\"schedule\": {\"every\": \"15m\", \"start\": \"2026-01-01T00:00\"}", "schedule.start",
      "'2026-01-01T00:00' has no UTC offset" },
    { "\"schedule\": {\"every\": \"15m\", \"start\": \"2026-01-01\"}", "schedule.start",
      "has no UTC offset" },
    { "\"schedule\": {\"every\": \"15m\", \"start\": \"yesterday\"}", "schedule.start",
      "is not ISO 8601" },
    { "\"schedule\": {\"at\": \"2026-02-30T00:00:00Z\"}", "schedule.at", "has day 30 out of range" },
    { "\"schedule\": {\"at\": null}", "schedule.at", "got null, want a string" },
    { "\"schedule\": {\"at\": \"0001-01-01T00:00:00+05:00\"}", "schedule.at",
      "is out of range (years 0001-9999 in UTC)" },
    { "\"schedule\": {\"at\": \"9999-12-31T23:59:59-00:01\"}", "schedule.at", "is out of range" },
    { "\"schedule\": {\"after\": []}", "schedule.after", "empty array" },
    { "\"schedule\": {\"after\": \"x\"}", "schedule.after", "got a string, want an array" },
    { "\"schedule\": {\"after\": [\"job1\"]}", "schedule.after[0]", "'default/job1' is this job itself" },
    { "\"schedule\": {\"after\": [\"default/job1\"]}", "schedule.after[0]", "is this job itself" },
    { "\"schedule\": {\"after\": [\"a\", \"default/a\"]}", "schedule.after[1]",
      "'default/a' is listed twice" },
    { "\"schedule\": {\"after\": [\"a/b/c\"]}", "schedule.after[0]", "'b/c' has '/' at position 2" },
    { "\"schedule\": {\"after\": [\"/a\"]}", "schedule.after[0]", "'' is empty" },
    { "\"schedule\": {\"after\": [3]}", "schedule.after[0]", "got an integer, want a string" },
    { "\"schedule\": {\"after\": [\"a\"], \"when\": \"sometimes\"}", "schedule.when",
      "'sometimes' is not one of success, failure or always" },
    { "\"schedule\": {\"manual\": false}", "schedule.manual", "want {\"manual\": true}" },
    { "\"schedule\": {\"manual\": 1}", "schedule.manual", "got an integer, want true" },
    /* command and shell */
    { "\"shell\": \"true\"", "shell", "'shell' and 'command' are both given" },
    { "\"command\": null", "command", "missing field 'command' (an argv array) or 'shell'" },
    { "\"command\": []", "command", "empty array" },
    { "\"command\": \"/bin/true\"", "command", "got a string, want an array of strings" },
    { "\"command\": [\"/bin/echo\", 5]", "command[1]", "got an integer, want a string" },
    { "\"command\": [\"\"]", "command[0]", "'' is empty" },
    { "\"command\": [\"/bin/echo\", \"a\\u0000b\"]", "command[1]", "NUL byte at position 2" },
    { "\"command\": null, \"shell\": \"\"", "shell", "'' is empty" },
    { "\"command\": null, \"shell\": [\"true\"]", "shell", "got an array, want a string" },
    /* workdir */
    { "\"workdir\": \"/etc\"", "workdir", "'/etc' is absolute" },
    { "\"workdir\": \"a/../../b\"", "workdir", "'a/../../b' has a '..' component" },
    { "\"workdir\": \"..\"", "workdir", "has a '..' component" },
    { "\"workdir\": \"a//..\"", "workdir", "has a '..' component" },
    { "\"workdir\": \"\"", "workdir", "'' is empty" },
    { "\"workdir\": \"a\\u0000b\"", "workdir", "NUL byte at position 2" },
    { "\"workdir\": 7", "workdir", "got an integer, want a string" },
    /* env */
    { "\"env\": [\"A=1\"]", "env", "got an array, want an object of strings" },
    { "\"env\": {\"CHIME_JOB\": \"x\"}", "env.CHIME_JOB", "'CHIME_JOB' is reserved" },
    { "\"env\": {\"1A\": \"x\"}", "env.1A", "'1A' is not a variable name" },
    { "\"env\": {\"A-B\": \"x\"}", "env.A-B", "'A-B' is not a variable name" },
    { "\"env\": {\"\": \"x\"}", "env.", "'' is not 1-128 bytes long" },
    { "\"env\": {\"A\": 1}", "env.A", "got an integer, want a string" },
    { "\"env\": {\"A\": \"a\\u0000b\"}", "env.A", "NUL byte at position 2" },
    /* params */
    { "\"params\": []", "params", "got an array, want an object of parameters" },
    { "\"params\": {\"N\": \"^x$\"}", "params.N", "got a string, want an object with a pattern" },
    { "\"params\": {\"N\": {}}", "params.N.pattern", "missing field 'params.N.pattern'" },
    { "\"params\": {\"N\": {\"pattern\": null}}", "params.N.pattern", "missing field" },
    { "\"params\": {\"N\": {\"pattern\": \"x\", \"colour\": 1}}", "params.N.colour",
      "unknown field 'colour'" },
    { "\"params\": {\"N\": {\"pattern\": \"x\", \"defualt\": \"x\"}}", "params.N.defualt",
      "(did you mean 'default'?)" },
    { "\"params\": {\"N\": {\"pattern\": \"(\"}}", "params.N.pattern",
      "'(' is not a POSIX extended regular expression (" },
    { "\"params\": {\"N\": {\"pattern\": \"[a-\"}}", "params.N.pattern",
      "'[a-' is not a POSIX extended regular expression" },
    { "\"params\": {\"N\": {\"pattern\": \"a{2,1}\"}}", "params.N.pattern",
      "is not a POSIX extended regular expression" },
    { "\"params\": {\"N\": {\"pattern\": \"a)|(b\"}}", "params.N.pattern",
      "'a)|(b' has an unmatched ')'" },
    { "\"params\": {\"N\": {\"pattern\": \"\"}}", "params.N.pattern", "'' is empty" },
    { "\"params\": {\"N\": {\"pattern\": 5}}", "params.N.pattern", "got an integer, want a string" },
    { "\"params\": {\"N\": {\"pattern\": \"a\\u0000b\"}}", "params.N.pattern",
      "NUL byte at position 2" },
    { "\"params\": {\"N\": {\"pattern\": \"(a*)\\\\1\"}}", "params.N.pattern",
      "has a back-reference" },
    { "\"params\": {\"N\": {\"pattern\": \"((a{20}){20})\"}}", "params.N.pattern",
      "is too complex: its repeats expand to more than 256 atoms" },
    { "\"params\": {\"N\": {\"pattern\": \"[0-9]{300}\"}}", "params.N.pattern", "is too complex" },
    { "\"params\": {\"N\": {\"pattern\": \"(x{2,}){200,}\"}}", "params.N.pattern", "is too complex" },
    { "\"params\": {\"N\": {\"pattern\": \"((((a*)*)*)*b\"}}", "params.N.pattern",
      "'((((a*)*)*)*b' nests repeats more than 2 deep" },
    { "\"params\": {\"N\": {\"pattern\": \"x|((a|a?)+)+b\"}}", "params.N.pattern",
      "nests repeats more than 2 deep" },
    { "\"params\": {\"N\": {\"pattern\": \"a++++b\"}}", "params.N.pattern",
      "'a++++b' repeats a repeat" },
    { "\"params\": {\"N\": {\"pattern\": \"(a)*{2}\"}}", "params.N.pattern", "repeats a repeat" },
    { "\"params\": {\"N\": {\"pattern\": \"(((((((((((((((((a)))))))))))))))))\"}}",
      "params.N.pattern", "nests groups too deep" },
    { "\"params\": {\"N\": {\"pattern\": \"^[0-9]{1,3}$\", \"default\": \"1234\"}}",
      "params.N.default", "'1234' does not match the pattern '^[0-9]{1,3}$'" },
    { "\"params\": {\"N\": {\"pattern\": \"[0-9]\", \"default\": \"x1\"}}",
      "params.N.default", "'x1' does not match" },
    { "\"params\": {\"N\": {\"pattern\": \"x\", \"default\": 1}}", "params.N.default",
      "got an integer, want a string" },
    { "\"params\": {\"N\": {\"pattern\": \".*\", \"default\": \"a\\u0000b\"}}",
      "params.N.default", "NUL byte at position 2" },
    { "\"params\": {\"N\": {\"pattern\": \".*\", \"description\": 5}}", "params.N.description",
      "got an integer, want a string" },
    { "\"params\": {\"1A\": {\"pattern\": \"x\"}}", "params.1A", "'1A' is not a variable name" },
    { "\"params\": {\"\": {\"pattern\": \"x\"}}", "params.", "'' is not 1-128 bytes long" },
    { "\"params\": {\"CHIME_RUN_ID\": {\"pattern\": \"x\"}}", "params.CHIME_RUN_ID", "is reserved" },
    { "\"params\": {\"BASH_ENV\": {\"pattern\": \"x\"}}", "params.BASH_ENV",
      "'BASH_ENV' may not be a parameter: bash reads it" },
    { "\"env\": {\"N\": \"1\"}, \"params\": {\"N\": {\"pattern\": \"1\"}}", "params.N",
      "'N' is also in env: a variable has one value" },
    /* durations */
    { "\"timeout\": \"1x\"", "timeout", "'1x' has unknown unit 'x'" },
    { "\"timeout\": -1", "timeout", "'-1' is negative" },
    { "\"timeout\": true", "timeout", "got true, want a duration" },
    { "\"timeout\": \"36601d\"", "timeout", "is out of range" },
    { "\"timeout\": 99999999999999", "timeout", "is out of range" },
    { "\"kill_grace\": \"1.5s\"", "kill_grace", "has a fraction" },
    { "\"kill_grace\": {}", "kill_grace", "got an object, want a duration" },
    { "\"stuck_after\": \"500ms\"", "stuck_after", "'500ms' is less than 1s" },
    { "\"stuck_after\": -5", "stuck_after", "'-5' is negative" },
    { "\"stuck_after\": \"soon\"", "stuck_after", "'soon' has unit 'soon' without a number" },
    { "\"stuck_after\": [1]", "stuck_after", "got an array, want a duration" },
    /* retention */
    { "\"retention\": 100", "retention", "got an integer, want an object" },
    { "\"retention\": {\"keep\": 3}", "retention.keep", "unknown field 'keep'" },
    { "\"retention\": {\"runs\": 0}", "retention.runs", "'0' is out of range 1-1000000" },
    { "\"retention\": {\"runs\": \"5\"}", "retention.runs", "got a string, want an integer" },
    { "\"retention\": {\"for\": \"500ms\"}", "retention.for", "'500ms' is less than 1s" },
    { "\"retention\": {\"for\": \"2 weeks\"}", "retention.for", "'2 weeks'" },
    { "\"retention\": {\"output\": \"100\"}", "retention.output", "is less than 1K" },
    { "\"retention\": {\"output\": \"1Q\"}", "retention.output", "'1Q'" },
    { "\"retention\": {\"dead_letters\": -1}", "retention.dead_letters",
      "'-1' is out of range 1-1000000" },
    /* retry */
    { "\"retry\": 3", "retry", "got an integer, want an object" },
    { "\"retry\": {\"max_attemps\": 3}", "retry.max_attemps",
      "unknown field 'max_attemps' (did you mean 'max_attempts'?)" },
    { "\"retry\": {\"max_attempts\": 0}", "retry.max_attempts", "'0' is out of range 1-100" },
    { "\"retry\": {\"max_attempts\": 101}", "retry.max_attempts", "'101' is out of range 1-100" },
    { "\"retry\": {\"max_attempts\": \"3\"}", "retry.max_attempts", "got a string, want an integer" },
    { "\"retry\": {\"max_attempts\": 2.5}", "retry.max_attempts", "got a real number, want an integer" },
    { "\"retry\": {\"factor\": 0.5}", "retry.factor", "'0.5' is out of range 1-10" },
    { "\"retry\": {\"factor\": 10.5}", "retry.factor", "'10.5' is out of range 1-10" },
    { "\"retry\": {\"factor\": \"2\"}", "retry.factor", "got a string, want a number" },
    { "\"retry\": {\"jitter\": 1.5}", "retry.jitter", "'1.5' is out of range 0-1" },
    { "\"retry\": {\"jitter\": -0.1}", "retry.jitter", "'-0.1' is out of range 0-1" },
    { "\"retry\": {\"backoff\": \"2h\"}", "retry.max_backoff", "'1h' is less than the backoff '2h'" },
    { "\"retry\": {\"backoff\": \"1m\", \"max_backoff\": \"30s\"}", "retry.max_backoff",
      "'30s' is less than the backoff '1m'" },
    /* concurrency */
    { "\"concurrency\": \"parallel\"", "concurrency",
      "'parallel' is not one of forbid, allow, queue or replace" },
    { "\"concurrency\": 1", "concurrency", "got an integer, want one of forbid, allow" },
    { "\"max_instances\": 0", "max_instances", "'0' is out of range 1-1000" },
    { "\"max_instances\": 1001", "max_instances", "'1001' is out of range 1-1000" },
    /* misfire */
    { "\"misfire\": []", "misfire", "got an array, want an object" },
    { "\"misfire\": {\"grace\": \"soon\"}", "misfire.grace", "'soon' has unit 'soon' without a number" },
    { "\"misfire\": {\"catch_up\": \"some\"}", "misfire.catch_up",
      "'some' is not one of none, latest or all" },
    { "\"misfire\": {\"max_catch_up\": 0}", "misfire.max_catch_up", "'0' is out of range 1-10000" },
    { "\"misfire\": {\"catchup\": \"all\"}", "misfire.catchup", "did you mean 'catch_up'?" },
    /* priority */
    { "\"priority\": \"urgent\"", "priority", "'urgent' is not one of low, normal, high or critical" },
    { "\"priority\": 101", "priority", "'101' is out of range 0-100" },
    { "\"priority\": -1", "priority", "'-1' is out of range 0-100" },
    { "\"priority\": 5.5", "priority", "got a real number, want one of low, normal" },
    /* limits */
    { "\"limits\": \"1G\"", "limits", "got a string, want an object" },
    { "\"limits\": {\"memory\": \"512Q\"}", "limits.memory", "'512Q' has unknown unit 'Q'" },
    { "\"limits\": {\"memory\": 0}", "limits.memory", "'0' is less than 1M" },
    { "\"limits\": {\"memory\": \"-1M\"}", "limits.memory", "'-1M' is negative" },
    { "\"limits\": {\"memory\": true}", "limits.memory", "got true, want a size" },
    { "\"limits\": {\"cpu_time\": \"500ms\"}", "limits.cpu_time", "'500ms' is less than 1s" },
    { "\"limits\": {\"processes\": 0}", "limits.processes", "'0' is out of range 1-1000000" },
    { "\"limits\": {\"open_files\": 1048577}", "limits.open_files", "'1048577' is out of range 1-1048576" },
    { "\"limits\": {\"output\": \"512\"}", "limits.output", "'512' is less than 1K" },
    { "\"limits\": {\"output\": \"2P\"}", "limits.output", "has unknown unit 'P'" },
    { "\"limits\": {\"swap\": \"1G\"}", "limits.swap", "unknown field 'swap'" },
    /* disable_after_failures */
    { "\"disable_after_failures\": -1", "disable_after_failures", "'-1' is out of range 0-1000" },
    { "\"disable_after_failures\": 1001", "disable_after_failures", "'1001' is out of range 0-1000" },
    { "\"disable_after_failures\": \"5\"", "disable_after_failures", "got a string, want an integer" },
    /* notify */
    { "\"notify\": [\"ops\"]", "notify", "got an array, want an object" },
    { "\"notify\": {\"on_fail\": [\"ops\"]}", "notify.on_fail", "did you mean 'on_failure'?" },
    { "\"notify\": {\"on_failure\": \"ops\"}", "notify.on_failure",
      "got a string, want an array of channel names" },
    { "\"notify\": {\"on_failure\": [\"Ops\"]}", "notify.on_failure[0]", "'Ops' starts with 'O'" },
    { "\"notify\": {\"on_failure\": [\"ops\", \"ops\"]}", "notify.on_failure[1]", "'ops' is listed twice" },
    { "\"notify\": {\"on_stuck\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\","
      "\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}", "notify.on_stuck", "17 channels are more than 16" },
    /* labels */
    { "\"labels\": [\"a\"]", "labels", "got an array, want an object of strings" },
    { "\"labels\": {\"Team\": \"x\"}", "labels.Team", "'Team' starts with 'T'" },
    { "\"labels\": {\"/team\": \"x\"}", "labels./team", "'/team' starts with '/'" },
    { "\"labels\": {\"a b\": \"x\"}", "labels.a b", "has ' ' at position 2 (use a-z, 0-9, '.', '_', '-' or '/')" },
    { "\"labels\": {\"team\": 1}", "labels.team", "got an integer, want a string" },
    /* paused */
    { "\"paused\": \"no\"", "paused", "got a string, want true or false" },
    { "\"paused\": 0", "paused", "got an integer, want true or false" },
};

/* BASE with PATCH merged in, as text for job_parse(). Owned by the caller. */
static char *patched(const char *patch)
{
    char *wrapped, *text;
    json_t *base, *p;
    json_error_t jerr;
    const char *key;
    json_t *v;
    size_t len;

    if (patch[0] == '\0' || patch[0] == '{' || patch[0] == '[' ||
        (patch[0] == '"' && strchr(patch, ':') == NULL))
        return strdup(patch);
    len = strlen(patch) + 3;
    wrapped = malloc(len);
    snprintf(wrapped, len, "{%s}", patch);
    base = json_loads(bad_base, 0, NULL);
    p = json_loads(wrapped, JSON_ALLOW_NUL, &jerr);
    if (!p)
        fail_msg("bad test patch '%s': %s", patch, jerr.text);
    json_object_foreach(p, key, v) {
        if (json_is_null(v))
            json_object_del(base, key);
        else
            json_object_set(base, key, v);
    }
    text = json_dumps(base, 0);
    json_decref(p);
    json_decref(base);
    free(wrapped);
    return text;
}

static void test_job_rejects_bad_documents_naming_the_field(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
        const struct bad *b = &bad_docs[i];
        char *text = patched(b->patch);
        struct err err = { 0 };
        struct job *j = (struct job *)&err;     /* must stay as it is */
        int rc = job_parse(text, strlen(text), NULL, &j, &err);

        if (rc >= 0 || rc != -err.code || strcmp(err.field, b->field) != 0 ||
            !strstr(err.msg, b->says) || j != (struct job *)&err)
            fail_msg("row %zu: %s\n  got rc %d field '%s' msg '%s'\n  want field '%s' msg '...%s...'",
                     i, text, rc, err.field, err.msg, b->field, b->says);
        /* a message has no capital letter (except in quoted values) and no full stop */
        assert_false(err.msg[0] >= 'A' && err.msg[0] <= 'Z');
        assert_int_not_equal(err.msg[strlen(err.msg) - 1], '.');
        free(text);
    }
    assert_true(i >= 60);
}

/* The code says what kind of fault it is. */
static void test_job_errors_carry_the_right_code(void **state)
{
    static const struct { const char *patch; int code; } rows[] = {
        { "\"retry\": {\"max_attempts\": 0}", CHIME_ERANGE },
        { "\"retry\": {\"max_attempts\": \"3\"}", CHIME_EINVAL },
        { "\"schedule\": {\"cron\": \"0 0 30 2 *\"}", CHIME_ENEVER },
        { "\"schedule\": {\"cron\": \"@daily\", \"timezone\": \"Mars/Olympus\"}", CHIME_ENOTFOUND },
        { "\"notify\": {\"on_stuck\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\","
          "\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}", CHIME_ETOOBIG },
        { "\"colour\": 1", CHIME_EINVAL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *text = patched(rows[i].patch);
        struct err err = { 0 };
        struct job *j = NULL;

        assert_int_equal(job_parse(text, strlen(text), NULL, &j, &err), -rows[i].code);
        assert_null(j);
        free(text);
    }
}

/* ---- generated bad documents: sizes and counts ---- */

/* Fills BUF with N copies of the C string UNIT joined by SEP. */
static char *repeat(const char *unit, const char *sep, size_t n)
{
    size_t ul = strlen(unit), sl = strlen(sep), len = n * (ul + sl) + 1, o = 0, i;
    char *buf = malloc(len);

    for (i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(buf + o, sep, sl);
            o += sl;
        }
        memcpy(buf + o, unit, ul);
        o += ul;
    }
    buf[o] = '\0';
    return buf;
}

static void expect_refusal(const char *text, size_t len, int code, const char *field,
                           const char *says)
{
    struct err err = { 0 };
    struct job *j = NULL;
    int rc = job_parse(text, len, NULL, &j, &err);

    if (rc != -code || strcmp(err.field, field) != 0 || !strstr(err.msg, says))
        fail_msg("got rc %d field '%s' msg '%s', want rc %d field '%s' msg '...%s...'", rc,
                 err.field, err.msg, -code, field, says);
    assert_null(j);
}

/* DOC with "%s" in it, filled with N copies of UNIT joined by SEP. */
static void expect_refusal_of(const char *doc, const char *unit, const char *sep, size_t n,
                              int code, const char *field, const char *says)
{
    char *fill = repeat(unit, sep, n);
    size_t len = strlen(doc) + strlen(fill) + 1;
    char *text = malloc(len);

    snprintf(text, len, doc, fill);
    expect_refusal(text, strlen(text), code, field, says);
    free(text);
    free(fill);
}

#define DOC(members) "{\"name\": \"big\", \"schedule\": {\"manual\": true}, " members "}"

static void test_job_refuses_oversized_parts(void **state)
{
    (void)state;
    expect_refusal_of(DOC("\"command\": [\"x\"], \"description\": \"%s\""), "a", "", 1025,
                      CHIME_ETOOBIG, "description", "is longer than 1024 bytes");
    expect_refusal_of(DOC("\"command\": [%s]"), "\"x\"", ",", 257,
                      CHIME_ETOOBIG, "command", "257 arguments are more than 256");
    expect_refusal_of(DOC("\"command\": [\"x\", \"%s\"]"), "a", "", 4097,
                      CHIME_ETOOBIG, "command[1]", "is longer than 4096 bytes");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"workdir\": \"%s\""), "a", "", 1025,
                      CHIME_ETOOBIG, "workdir", "is longer than 1024 bytes");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"env\": {\"A\": \"%s\"}"), "a", "", 32769,
                      CHIME_ETOOBIG, "env.A", "is longer than 32768 bytes");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"env\": {\"%s\": \"1\"}"), "A", "", 129,
                      CHIME_EINVAL, "env.AAAAAAAAAAAAAAAAAAAAAAAAAAA", "is not 1-128 bytes long");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"labels\": {\"a\": \"%s\"}"), "v", "", 257,
                      CHIME_ETOOBIG, "labels.a", "is longer than 256 bytes");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"labels\": {\"%s\": \"\"}"), "k", "", 64,
                      CHIME_ETOOBIG, "labels.kkkkkkkkkkkkkkkkkkkkkkkk", "is longer than 63 bytes");
    expect_refusal_of("{\"name\": \"x\", \"shell\": \"true\", \"schedule\": {\"after\": [%s]}}",
                      "\"a\"", ",", 65, CHIME_ETOOBIG, "schedule.after", "65 jobs are more than 64");
}

/* A job may set any variable but the five chime sets in every run:
 * CHIME_URL for a job that talks to the daemon, say. */
static void test_job_env_may_set_chime_url_but_not_the_run_variables(void **state)
{
    static const char *const run_vars[] = {
        "CHIME_JOB", "CHIME_NAMESPACE", "CHIME_RUN_ID", "CHIME_FIRE_TIME", "CHIME_ATTEMPT",
    };
    struct job *j = parse_ok(
        "{\"name\": \"backup\", \"schedule\": {\"manual\": true}, \"shell\": \"chime backup x\","
        " \"env\": {\"CHIME_URL\": \"http://127.0.0.1:8717\", \"CHIME_TOKEN\": \"t\","
        " \"CHIME_JOBS\": \"1\", \"CHIME\": \"2\"}}");

    (void)state;
    assert_int_equal(j->body->n_env, 4);
    assert_string_equal(j->body->env[3].key, "CHIME_URL");
    job_free(j);
    assert_int_equal(JOB_VAR_COUNT, 5);
    for (size_t i = 0; i < sizeof run_vars / sizeof run_vars[0]; i++) {
        char text[300], field[64], says[80];

        snprintf(text, sizeof text,
                 "{\"name\": \"r\", \"schedule\": {\"manual\": true}, \"shell\": \"true\","
                 " \"env\": {\"%s\": \"x\"}}", run_vars[i]);
        snprintf(field, sizeof field, "env.%s", run_vars[i]);
        snprintf(says, sizeof says, "'%s' is reserved: chime sets it in every run", run_vars[i]);
        expect_refusal(text, strlen(text), CHIME_EINVAL, field, says);
        assert_true(job_env_reserved(run_vars[i], strlen(run_vars[i])));
        assert_string_equal(job_run_var_names[i], run_vars[i]);
    }
    /* a prefix or an extension of a run variable is not one */
    assert_false(job_env_reserved("CHIME_JOB", 8));
    assert_false(job_env_reserved("CHIME_JOBX", 10));
}

static void test_job_refuses_too_many_env_entries_and_labels(void **state)
{
    char *env = malloc(257 * 16 + 64), *labels = malloc(65 * 16 + 64), *text;
    size_t o = 0, k = 0, i, len;

    (void)state;
    for (i = 0; i < 257; i++)
        o += (size_t)snprintf(env + o, 32, "%s\"V%zu\": \"\"", i ? ", " : "", i);
    for (i = 0; i < 65; i++)
        k += (size_t)snprintf(labels + k, 32, "%s\"l%zu\": \"\"", i ? ", " : "", i);
    len = o + k + 256;
    text = malloc(len);
    snprintf(text, len, DOC("\"command\": [\"x\"], \"env\": {%s}"), env);
    expect_refusal(text, strlen(text), CHIME_ETOOBIG, "env", "257 entries are more than 256");
    snprintf(text, len, DOC("\"command\": [\"x\"], \"labels\": {%s}"), labels);
    expect_refusal(text, strlen(text), CHIME_ETOOBIG, "labels", "65 entries are more than 64");
    free(text);
    free(env);
    free(labels);
}

static void test_job_parse_refuses_an_oversized_document(void **state)
{
    static const char doc[] = DOC("\"command\": [\"x\"]");
    size_t len = (size_t)JOB_DOC_MAX + 1;
    char *text = malloc(len);
    struct err err = { 0 };
    struct job *j = NULL;

    (void)state;
    /* valid JSON, padded with spaces past the limit (no NUL: a length) */
    memset(text, ' ', len);
    memcpy(text, doc, sizeof doc - 1);
    expect_refusal(text, len, CHIME_ETOOBIG, "", "document of 65537 bytes is longer than 65536");
    /* exactly the limit is fine */
    assert_int_equal(job_parse(text, len - 1, NULL, &j, &err), 0);
    job_free(j);
    free(text);
}

static void test_job_parse_refuses_deep_nesting(void **state)
{
    char *open = repeat("[", "", 5000), *close = repeat("]", "", 5000);
    size_t len = 2 * 5000 + 64;
    char *text = malloc(len);

    (void)state;
    snprintf(text, len, "{\"x\": %s%s}", open, close);
    expect_refusal(text, strlen(text), CHIME_EINVAL, "", "maximum parsing depth");
    /* shallower nesting parses, and is refused by field without a walk */
    snprintf(text, len, DOC("\"command\": [\"x\"], \"labels\": %.1000s%.1000s"), open, close);
    expect_refusal(text, strlen(text), CHIME_EINVAL, "labels", "got an array, want an object");
    free(text);
    free(open);
    free(close);
}

/* ---- documents built in code, not parsed ---- */

static void test_job_from_json_checks_strings_built_in_code(void **state)
{
    json_t *doc = json_pack("{s:s, s:{s:b}, s:[s]}", "name", "x", "schedule", "manual", 1,
                            "command", "/bin/true");
    struct err err = { 0 };
    struct job *j = NULL;

    (void)state;
    json_object_set_new(doc, "description", json_stringn_nocheck("a\xff", 2));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "description");
    assert_string_equal(err.msg, "'a\\xff' is not valid UTF-8");
    json_object_set_new(doc, "description", json_stringn_nocheck("\xed\xa0\x80", 3));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "is not valid UTF-8"));
    json_object_set_new(doc, "description", json_stringn("a\0b", 3));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.msg, "a NUL byte at position 2 (after 'a')");
    /* a key with a NUL in it: refused, not read as its first bytes */
    json_object_del(doc, "description");
    json_object_setn_new(doc, "paused\0x", 8, json_true());
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "");
    assert_string_equal(err.msg, "a member name has a NUL byte at position 7 (after 'paused')");
    json_object_deln(doc, "paused\0x", 8);
    json_object_set_new(doc, "retry", json_object());
    json_object_setn_new(json_object_get(doc, "retry"), "factor\0", 7, json_real(2));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "retry");
    json_object_del(doc, "retry");
    json_object_set_new(doc, "env", json_object());
    json_object_setn_new(json_object_get(doc, "env"), "A\0B", 3, json_string("1"));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "env");
    json_object_del(doc, "env");
    json_object_set_new(doc, "schedule", json_object());
    json_object_setn_new(json_object_get(doc, "schedule"), "manual\0", 7, json_true());
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "schedule");
    assert_null(j);
    json_decref(doc);
    assert_int_equal(job_from_json(NULL, NULL, &j, &err), -CHIME_EINVAL);
}

/* ---- ids ---- */

static void test_job_id_parse_splits_and_checks_both_halves(void **state)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    struct err err = { 0 };

    (void)state;
    assert_int_equal(job_id_parse("sales/import", "default", ns, name, &err), 0);
    assert_string_equal(ns, "sales");
    assert_string_equal(name, "import");
    assert_int_equal(job_id_parse("import", "tenant", ns, name, &err), 0);
    assert_string_equal(ns, "tenant");
    assert_string_equal(name, "import");
    assert_int_equal(job_id_parse("import", NULL, ns, name, &err), 0);
    assert_string_equal(ns, "default");
    assert_int_equal(job_id_parse("a/b/c", NULL, ns, name, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "job");
    assert_int_equal(job_id_parse("/b", NULL, ns, name, &err), -CHIME_EINVAL);
    assert_int_equal(job_id_parse("a/", NULL, ns, name, &err), -CHIME_EINVAL);
    assert_int_equal(job_id_parse("A/b", NULL, ns, name, &err), -CHIME_EINVAL);
    assert_int_equal(job_id_parse("", NULL, ns, name, &err), -CHIME_EINVAL);
    assert_int_equal(job_id_parse(NULL, NULL, ns, name, &err), -CHIME_EINVAL);
    assert_int_equal(job_id_parse("x", "Bad", ns, name, &err), -CHIME_EINVAL);
    assert_int_equal(
        job_id_parse("a/b234567890123456789012345678901234567890123456789012345678901234",
                     NULL, ns, name, &err), -CHIME_ETOOBIG);
}

static void test_job_id_joins_namespace_and_name(void **state)
{
    struct job *j = parse_ok("{\"name\": \"n\", \"namespace\": \"ns\", \"schedule\": {\"manual\": true},"
                             " \"shell\": \"true\"}");
    char buf[2 * JOB_NAME_MAX + 2];

    (void)state;
    assert_string_equal(job_id(j, buf, sizeof buf), "ns/n");
    job_free(j);
    job_free(NULL);
}


/* ---- plans: the store's columns ---- */

/* What the engine reads of a job, field by field, is the same in A and B. */
static void assert_same_schedule(const struct job *a, const struct job *b)
{
    const struct job_sched *x = &a->sched, *y = &b->sched;

    assert_string_equal(a->ns, b->ns);
    assert_string_equal(a->name, b->name);
    assert_int_equal(x->kind, y->kind);
    switch (x->kind) {
    case JOB_CRON:
        assert_memory_equal(&x->cron, &y->cron, sizeof x->cron);
        assert_ptr_equal(x->zone, y->zone);
        break;
    case JOB_EVERY:
        assert_int_equal(x->every_us, y->every_us);
        assert_int_equal(x->start_us, y->start_us);
        assert_int_equal(x->jitter_us, y->jitter_us);
        break;
    case JOB_AT:
        assert_int_equal(x->at_us, y->at_us);
        break;
    case JOB_AFTER:
        assert_int_equal(x->when, y->when);
        assert_int_equal(x->n_after, y->n_after);
        for (size_t i = 0; i < x->n_after; i++)
            assert_string_equal(x->after[i], y->after[i]);
        break;
    case JOB_MANUAL:
        break;
    }
    assert_int_equal(a->retry.max_attempts, b->retry.max_attempts);
    assert_int_equal(a->retry.backoff_us, b->retry.backoff_us);
    assert_true(a->retry.factor == b->retry.factor);
    assert_int_equal(a->retry.max_backoff_us, b->retry.max_backoff_us);
    assert_true(a->retry.jitter == b->retry.jitter);
    assert_int_equal(a->concurrency, b->concurrency);
    assert_int_equal(a->max_instances, b->max_instances);
    assert_int_equal(a->misfire.grace_us, b->misfire.grace_us);
    assert_int_equal(a->misfire.catch_up, b->misfire.catch_up);
    assert_int_equal(a->misfire.max_catch_up, b->misfire.max_catch_up);
    assert_int_equal(a->priority, b->priority);
    assert_int_equal(a->disable_after_failures, b->disable_after_failures);
}

static void test_job_from_plan_schedules_like_its_document(void **state)
{
    static const char *const docs[] = {
        design_example,
        "{\"name\": \"c\", \"schedule\": {\"cron\": \"*/5 9-17 * * MON-FRI\"}, \"shell\": \"x\"}",
        "{\"name\": \"r\", \"schedule\": {\"cron\": \"@reboot\"}, \"shell\": \"x\","
        " \"priority\": 77, \"concurrency\": \"replace\"}",
        "{\"name\": \"e\", \"namespace\": \"t\", \"schedule\": {\"every\": \"90s\","
        " \"start\": \"2026-01-01T00:00:00Z\", \"jitter\": \"10s\"}, \"shell\": \"x\","
        " \"concurrency\": \"queue\", \"max_instances\": 7}",
        "{\"name\": \"e2\", \"schedule\": {\"every\": \"1h\"}, \"shell\": \"x\"}",
        "{\"name\": \"a\", \"schedule\": {\"at\": \"2027-03-01T10:00:00.250000+01:00\"},"
        " \"shell\": \"x\", \"misfire\": {\"grace\": 0, \"catch_up\": \"none\"}}",
        "{\"name\": \"d\", \"namespace\": \"t\", \"schedule\": {\"after\": [\"up1\", \"o/up2\"],"
        " \"when\": \"always\"}, \"shell\": \"x\", \"retry\": {\"max_attempts\": 3,"
        " \"backoff\": \"1s\", \"factor\": 1.5, \"max_backoff\": \"1m\", \"jitter\": 0.25}}",
        "{\"name\": \"m\", \"schedule\": {\"manual\": true}, \"shell\": \"x\","
        " \"disable_after_failures\": 3, \"misfire\": {\"catch_up\": \"all\", \"max_catch_up\": 9}}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        struct job *j = parse_ok(docs[i]), *back = NULL;
        struct store_job_plan plan;
        struct err err = { 0 };
        char *texts = NULL;

        assert_int_equal(job_plan_make(j, 3, &plan, &texts), 0);
        assert_int_equal(plan.version, 3);
        assert_string_equal(plan.kind, job_sched_kind_name(j->sched.kind));
        if (j->sched.kind == JOB_CRON)
            assert_string_equal(plan.cron, j->body->cron_expr);
        if (j->sched.kind == JOB_AFTER)
            assert_string_equal(plan.after, "t/up1 o/up2");
        if (job_from_plan(&plan, j->ns, j->name, &back, &err) < 0)
            fail_msg("%s: %s: %s", docs[i], err.field, err.msg);
        assert_null(back->body);
        assert_null(job_to_json(back));         /* no body, no document */
        assert_same_schedule(j, back);   /* sched_test previews both alike */
        free(texts);
        job_free(back);
        job_free(j);
    }
}

static void test_job_plan_needs_the_cron_expression_of_the_body(void **state)
{
    struct job *j = parse_ok("{\"name\": \"c\", \"schedule\": {\"cron\": \"@daily\"},"
                             " \"shell\": \"x\"}");
    struct store_job_plan plan;
    char *texts = NULL;

    (void)state;
    job_body_drop(j);
    assert_null(j->body);
    job_body_drop(j);                           /* twice is harmless */
    assert_int_equal(job_plan_make(j, 1, &plan, &texts), -CHIME_EINVAL);
    job_free(j);
}

static void test_job_from_plan_refuses_columns_no_document_could_give(void **state)
{
    struct job *j = parse_ok("{\"name\": \"c\", \"schedule\": {\"cron\": \"@daily\","
                             " \"timezone\": \"Europe/Berlin\"}, \"shell\": \"x\"}");
    struct job *e = parse_ok("{\"name\": \"e\", \"schedule\": {\"every\": \"1m\"}, \"shell\": \"x\"}");
    struct job *d = parse_ok("{\"name\": \"d\", \"schedule\": {\"after\": [\"u\"]}, \"shell\": \"x\"}");
    struct store_job_plan good, p, ge, gd;
    struct err err = { 0 };
    struct job *back = NULL;
    char *t1 = NULL, *t2 = NULL, *t3 = NULL;

    (void)state;
    assert_int_equal(job_plan_make(j, 1, &good, &t1), 0);
    assert_int_equal(job_plan_make(e, 1, &ge, &t2), 0);
    assert_int_equal(job_plan_make(d, 1, &gd, &t3), 0);
#define REFUSED(plan, column) do { \
        memset(&err, 0, sizeof err); \
        assert_int_equal(job_from_plan(&(plan), "default", "x", &back, &err), -CHIME_EINVAL); \
        assert_string_equal(err.field, column); \
    } while (0)
    p = good, p.kind = "hourly";            REFUSED(p, "kind");
    p = good, p.cron = "61 * * * *";        REFUSED(p, "cron");
    p = good, p.cron = NULL;                REFUSED(p, "cron");
    p = good, p.zone = "Mars/Olympus";      REFUSED(p, "timezone");
    p = good, p.concurrency = "sometimes";  REFUSED(p, "concurrency");
    p = good, p.catch_up = NULL;            REFUSED(p, "catch_up");
    p = good, p.max_instances = 0;          REFUSED(p, "policy");
    p = good, p.priority = STORE_NULL;      REFUSED(p, "policy");
    p = good, p.retry_factor = 0.5;         REFUSED(p, "policy");
    p = good, p.retry_max_backoff_us = p.retry_backoff_us - 1; REFUSED(p, "policy");
    p = ge, p.every_us = 0;                 REFUSED(p, "every_us");
    p = ge, p.jitter_us = p.every_us;       REFUSED(p, "every_us");
    p = gd, p.after = "";                   REFUSED(p, "after_jobs");
    p = gd, p.after = "no-namespace";       REFUSED(p, "after_jobs");
    p = gd, p.after = "a/b  c/d";           REFUSED(p, "after_jobs");
    p = gd, p.when = "sometimes";           REFUSED(p, "after_when");
#undef REFUSED
    assert_int_equal(job_from_plan(&gd, "default", "x", &back, &err), 0);
    job_free(back);
    free(t1);
    free(t2);
    free(t3);
    job_free(j);
    job_free(e);
    job_free(d);
}

static void test_job_new_has_every_default(void **state)
{
    struct job *a = job_new("default", "x");
    struct job *b = parse_ok("{\"name\": \"x\", \"schedule\": {\"manual\": true}, \"shell\": \"x\"}");

    (void)state;
    assert_non_null(a);
    assert_null(a->body);
    assert_same_schedule(a, b);
    job_free(a);
    job_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_reads_the_design_example),
        cmocka_unit_test(test_job_writes_the_design_example_canonically),
        cmocka_unit_test(test_job_reads_and_writes_stuck_after),
        cmocka_unit_test(test_job_reads_and_writes_retention),
        cmocka_unit_test(test_job_env_value_errors_do_not_quote_the_value),
        cmocka_unit_test(test_job_fills_every_default),
        cmocka_unit_test(test_job_reads_null_members_as_their_defaults),
        cmocka_unit_test(test_job_takes_the_callers_namespace_unless_it_names_one),
        cmocka_unit_test(test_job_reads_a_cron_schedule_in_the_default_zone),
        cmocka_unit_test(test_job_allows_reboot_and_every_as_cron_expressions),
        cmocka_unit_test(test_job_reads_an_every_schedule),
        cmocka_unit_test(test_job_reads_an_at_schedule),
        cmocka_unit_test(test_job_qualifies_after_names_with_its_namespace),
        cmocka_unit_test(test_job_reads_a_manual_schedule),
        cmocka_unit_test(test_job_sorts_env_and_labels_by_key),
        cmocka_unit_test(test_job_env_may_set_chime_url_but_not_the_run_variables),
        cmocka_unit_test(test_job_reads_priority_names_and_integers),
        cmocka_unit_test(test_job_reads_durations_and_sizes_as_integers_too),
        cmocka_unit_test(test_job_accepts_the_edges_of_every_range),
        cmocka_unit_test(test_job_refuses_every_forbidden_param_name),
        cmocka_unit_test(test_job_refuses_oversized_params),
        cmocka_unit_test(test_job_params_resolve_takes_declared_values_and_defaults),
        cmocka_unit_test(test_job_params_match_hostile_values),
        cmocka_unit_test(test_job_rejects_bad_documents_naming_the_field),
        cmocka_unit_test(test_job_errors_carry_the_right_code),
        cmocka_unit_test(test_job_refuses_oversized_parts),
        cmocka_unit_test(test_job_refuses_too_many_env_entries_and_labels),
        cmocka_unit_test(test_job_parse_refuses_an_oversized_document),
        cmocka_unit_test(test_job_parse_refuses_deep_nesting),
        cmocka_unit_test(test_job_from_json_checks_strings_built_in_code),
        cmocka_unit_test(test_job_id_parse_splits_and_checks_both_halves),
        cmocka_unit_test(test_job_id_joins_namespace_and_name),
        cmocka_unit_test(test_job_from_plan_schedules_like_its_document),
        cmocka_unit_test(test_job_plan_needs_the_cron_expression_of_the_body),
        cmocka_unit_test(test_job_from_plan_refuses_columns_no_document_could_give),
        cmocka_unit_test(test_job_new_has_every_default),
    };

    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
