/* job_plan_test.c: a job made from the store's columns (job_from_plan())
 * schedules like its document; columns no document could give are
 * refused. The helpers are job_test.h's. */
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
        cmocka_unit_test(test_job_from_plan_schedules_like_its_document),
        cmocka_unit_test(test_job_plan_needs_the_cron_expression_of_the_body),
        cmocka_unit_test(test_job_from_plan_refuses_columns_no_document_could_give),
        cmocka_unit_test(test_job_new_has_every_default),
    };

    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
