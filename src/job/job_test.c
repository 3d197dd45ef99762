/* job_test.c: tests of the job document (job.c, jobvalue.c, jobsched.c):
 * the example of docs/design.md, defaults, schedules, the other members,
 * ids. Params are job_params_test.c's, refused documents
 * job_errors_test.c's, plans job_plan_test.c's. Every document that
 * parses must also survive the round trip from_json(to_json(j)), checked
 * by round_trip() (job_test.h) wherever a job is made. */
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
#include "job/job_test.h"
#include "../banned.h"

/* ---- the example of docs/design.md ---- */

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
        cmocka_unit_test(test_job_reads_priority_names_and_integers),
        cmocka_unit_test(test_job_reads_durations_and_sizes_as_integers_too),
        cmocka_unit_test(test_job_accepts_the_edges_of_every_range),
        cmocka_unit_test(test_job_id_parse_splits_and_checks_both_halves),
        cmocka_unit_test(test_job_id_joins_namespace_and_name),
    };

    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
