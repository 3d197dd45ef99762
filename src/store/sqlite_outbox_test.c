/* sqlite_outbox_test.c: the notification outbox: adding an event's rows
 * once, claims and their leases, results fenced by the claim, requeues,
 * pruning, filtered pages, the daemon's own (job-less) events, and the
 * migrations that make the table and rebuild it. */
#include "store/sqlite_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/backend.h"
#include "store/store.h"
#include "store/testutil.h"
#include "util/err.h"
#include "../banned.h"

#define DOC_OPS                                                                                    \
    "{\"name\":\"a\",\"notify\":{\"on_failure\":[\"ops\",\"mail\"],\"on_success\":[],"          \
    "\"on_recovery\":[\"ops\"]}}"
#define DOC_NONE "{\"name\":\"b\",\"notify\":{}}"
#define PAYLOAD  "{\"event\":\"failure\"}"
#define DAEMON_PAYLOAD "{\"event\":\"error_rate\",\"job\":null}"

/* Runs the outbox add OP; how many rows it made. */
static int exec_add(struct store *s, struct store_op *op, struct err *err)
{
    int rc = store_exec(s, op);

    if (rc < 0) {
        if (err)
            *err = op->err;
        return rc;
    }
    free(op->ret_ids);
    return (int)op->n_ret_ids;
}

/* Adds EVENT of ns/name's run RUN with KEY at NOW; how many rows it made. */
static int add(struct store *s, const char *ns, const char *name, const char *event, int64_t run,
               const char *key, int64_t now, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_OUTBOX_ADD};

    op.outbox_add.ns = ns;
    op.outbox_add.name = name;
    op.outbox_add.run_id = run;
    op.outbox_add.event = event;
    op.outbox_add.key = key;
    op.outbox_add.payload = PAYLOAD;
    op.outbox_add.now_us = now;
    return exec_add(s, &op, err);
}

/* Adds the daemon event EVENT with KEY at NOW for CHANNELS (a JSON array);
 * how many rows it made. */
static int add_daemon(struct store *s, const char *event, const char *key, const char *channels,
                      int64_t now, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_OUTBOX_ADD};

    op.outbox_add.run_id = STORE_NULL;
    op.outbox_add.event = event;
    op.outbox_add.key = key;
    op.outbox_add.payload = DAEMON_PAYLOAD;
    op.outbox_add.now_us = now;
    op.outbox_add.channels = channels;
    return exec_add(s, &op, err);
}

/* Claims the row due first at NOW into *O; its id, 0 when none. */
static int64_t claim(struct store *s, int64_t now, int64_t lease, struct store_outbox *o)
{
    struct store_op op = {.kind = STORE_OP_OUTBOX_CLAIM};

    memset(o, 0, sizeof *o);
    op.outbox_claim.now_us = now;
    op.outbox_claim.lease_us = lease;
    op.outbox_claim.ret = o;
    assert_int_equal(store_exec(s, &op), 0);
    return op.ret_id;
}

static int done(struct store *s, const struct store_outbox *o, enum store_outbox_state st,
                int64_t due, const char *error, int64_t now, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_OUTBOX_DONE};
    int rc;

    op.outbox_done.id = o->id;
    op.outbox_done.attempts = o->attempts;
    op.outbox_done.state = st;
    op.outbox_done.due_us = due;
    op.outbox_done.status = st == STORE_OUTBOX_DELIVERED ? 200 : 500;
    op.outbox_done.error = error;
    op.outbox_done.now_us = now;
    rc = store_exec(s, &op);
    if (rc < 0 && err)
        *err = op.err;
    return rc;
}

static int64_t requeue(struct store *s, int64_t id, int64_t now, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_OUTBOX_REQUEUE};
    int rc;

    op.outbox_requeue.id = id;
    op.outbox_requeue.now_us = now;
    rc = store_exec(s, &op);
    if (rc < 0) {
        if (err)
            *err = op.err;
        return rc;
    }
    return op.ret_id;
}

static void test_outbox_add_makes_one_row_per_channel_of_the_event_once(void **state)
{
    struct fixture *f = *state;
    struct store_outbox_filter all = {0};
    struct store_outbox_page p = {0};
    struct err err = {0};

    fixture_job(f->s, "ns", "a", DOC_OPS);
    fixture_job(f->s, "ns", "b", DOC_NONE);
    assert_int_equal(add(f->s, "ns", "a", "failure", 7, "failure:7", 100, &err), 2);
    /* the same event again (a replay after a restart): nothing new */
    assert_int_equal(add(f->s, "ns", "a", "failure", 7, "failure:7", 200, &err), 0);
    /* no channel for the event, or none at all: nothing, and no error */
    assert_int_equal(add(f->s, "ns", "a", "success", 7, "success:7", 100, &err), 0);
    assert_int_equal(add(f->s, "ns", "a", "timeout", 7, "timeout:7", 100, &err), 0);
    assert_int_equal(add(f->s, "ns", "b", "failure", 8, "failure:8", 100, &err), 0);
    assert_int_equal(add(f->s, "ns", "a", "recovery", 9, "recovery:9", 300, &err), 1);
    /* an unknown job, an unknown event */
    assert_int_equal(add(f->s, "ns", "zz", "failure", 9, "failure:9", 300, &err), 0);
    assert_int_equal(add(f->s, "ns", "a", "bogus", 9, "bogus:9", 300, &err), 0);

    assert_int_equal(store_outbox_list(f->s, &all, &p, &err), 0);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.items[0].event, "recovery");
    assert_string_equal(p.items[0].channel, "ops");
    assert_string_equal(p.items[1].channel, "mail");
    assert_string_equal(p.items[2].channel, "ops");
    for (size_t i = 0; i < p.n; i++) {
        assert_int_equal(strlen(p.items[i].delivery_id), 32);
        assert_int_equal(p.items[i].state, STORE_OUTBOX_PENDING);
        assert_int_equal(p.items[i].attempts, 0);
        assert_string_equal(p.items[i].ns, "ns");
        assert_string_equal(p.items[i].name, "a");
        assert_string_equal(p.items[i].payload, PAYLOAD);
        assert_int_equal(p.items[i].delivered_us, STORE_NULL);
        assert_null(p.items[i].last_error);
    }
    assert_int_equal(p.items[2].run_id, 7);
    assert_int_equal(p.items[2].due_us, 100);
    assert_string_not_equal(p.items[1].delivery_id, p.items[2].delivery_id);
    store_outbox_page_release(&p);
}

static void test_outbox_add_reads_the_channels_of_the_runs_version(void **state)
{
    struct fixture *f = *state;
    struct store_op op = {.kind = STORE_OP_OUTBOX_ADD};
    struct err err = {0};
    int64_t n = 0;

    fixture_job(f->s, "ns", "a", DOC_OPS);
    assert_int_equal(store_job_put(f->s, "ns", "a", DOC_NONE, NULL, 0, false, 2, NULL, &err), 0);
    /* the current version lists nothing; version 1 lists two */
    assert_int_equal(add(f->s, "ns", "a", "failure", 1, "failure:1", 10, &err), 0);
    op.outbox_add.ns = "ns";
    op.outbox_add.name = "a";
    op.outbox_add.job_version = 1;
    op.outbox_add.run_id = STORE_NULL;
    op.outbox_add.event = "failure";
    op.outbox_add.key = "failure:2";
    op.outbox_add.payload = PAYLOAD;
    op.outbox_add.now_us = 10;
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(op.n_ret_ids, 2);
    free(op.ret_ids);
    assert_int_equal(store_outbox_count(f->s, &(struct store_outbox_filter){0}, &n, &err), 0);
    assert_int_equal(n, 2);
}

static void test_outbox_claims_the_row_due_first_and_counts_the_attempt(void **state)
{
    struct fixture *f = *state;
    struct store_outbox o, o2, got;
    struct err err = {0};
    int64_t due = 0;

    fixture_job(f->s, "ns", "a", DOC_OPS);
    assert_int_equal(add(f->s, "ns", "a", "failure", 1, "failure:1", 100, &err), 2);
    assert_int_equal(store_outbox_next_due(f->s, &due, &err), 0);
    assert_int_equal(due, 100);
    /* nothing is due before its instant */
    assert_int_equal(claim(f->s, 99, 1000, &o), 0);
    assert_true(claim(f->s, 100, 1000, &o) > 0);
    assert_int_equal(o.state, STORE_OUTBOX_DELIVERING);
    assert_int_equal(o.attempts, 1);
    assert_int_equal(o.due_us, 1100);
    assert_string_equal(o.channel, "ops");
    assert_true(claim(f->s, 100, 1000, &o2) > 0);
    assert_string_equal(o2.channel, "mail");
    assert_int_equal(claim(f->s, 100, 1000, &got), 0);
    /* a failed attempt: pending again, due later */
    assert_int_equal(done(f->s, &o2, STORE_OUTBOX_PENDING, 5000, "HTTP 500", 150, &err), 0);
    assert_int_equal(store_outbox_get(f->s, o2.id, &got, &err), 0);
    assert_int_equal(got.state, STORE_OUTBOX_PENDING);
    assert_int_equal(got.due_us, 5000);
    assert_int_equal(got.last_status, 500);
    assert_string_equal(got.last_error, "HTTP 500");
    store_outbox_release(&got);
    assert_int_equal(store_outbox_next_due(f->s, &due, &err), 0);
    assert_int_equal(due, 1100); /* the lease of the other */
    /* the first is delivered */
    assert_int_equal(done(f->s, &o, STORE_OUTBOX_DELIVERED, STORE_NULL, NULL, 160, &err), 0);
    assert_int_equal(store_outbox_get(f->s, o.id, &got, &err), 0);
    assert_int_equal(got.state, STORE_OUTBOX_DELIVERED);
    assert_int_equal(got.delivered_us, 160);
    store_outbox_release(&got);
    /* ... and cannot be ended again */
    assert_int_equal(done(f->s, &o, STORE_OUTBOX_FAILED, STORE_NULL, "x", 170, &err),
                     -CHIME_ECONFLICT);
    /* the second, claimed again at its due instant, is attempt 2 */
    assert_int_equal(claim(f->s, 5000, 1000, &got), o2.id);
    assert_int_equal(got.attempts, 2);
    store_outbox_release(&got);
    store_outbox_release(&o);
    store_outbox_release(&o2);
}

static void test_outbox_lease_expiry_lets_another_claim_and_fences_the_late_answer(void **state)
{
    struct fixture *f = *state;
    struct store_outbox first, second, got;
    struct err err = {0};

    fixture_job(f->s, "ns", "a", DOC_OPS);
    assert_int_equal(add(f->s, "ns", "a", "recovery", 1, "recovery:1", 100, &err), 1);
    assert_true(claim(f->s, 100, 50, &first) > 0);
    assert_int_equal(claim(f->s, 149, 50, &got), 0);
    /* the deliverer died: its lease ends and the row is claimed again */
    assert_int_equal(claim(f->s, 150, 50, &second), first.id);
    assert_int_equal(second.attempts, 2);
    /* the first deliverer's late answer changes nothing */
    assert_int_equal(done(f->s, &first, STORE_OUTBOX_FAILED, STORE_NULL, "late", 160, &err),
                     -CHIME_ECONFLICT);
    assert_int_equal(done(f->s, &second, STORE_OUTBOX_DELIVERED, STORE_NULL, NULL, 170, &err), 0);
    assert_int_equal(store_outbox_get(f->s, first.id, &got, &err), 0);
    assert_int_equal(got.state, STORE_OUTBOX_DELIVERED);
    assert_int_equal(got.attempts, 2);
    store_outbox_release(&got);
    store_outbox_release(&first);
    store_outbox_release(&second);
}

static void test_outbox_requeue_after_restart_and_of_a_failed_row(void **state)
{
    struct fixture *f = *state;
    struct store_outbox a, b, got;
    struct err err = {0};

    fixture_job(f->s, "ns", "a", DOC_OPS);
    assert_int_equal(add(f->s, "ns", "a", "failure", 1, "failure:1", 100, &err), 2);
    assert_true(claim(f->s, 100, 1000000, &a) > 0);
    assert_true(claim(f->s, 100, 1000000, &b) > 0);
    assert_int_equal(done(f->s, &b, STORE_OUTBOX_FAILED, STORE_NULL, "HTTP 404", 110, &err), 0);
    /* a restart: the row being delivered is due again at once */
    assert_int_equal(requeue(f->s, 0, 200, &err), 1);
    assert_int_equal(claim(f->s, 200, 10, &got), a.id);
    store_outbox_release(&got);
    /* a failed row goes back by hand, its attempts counted anew */
    assert_int_equal(requeue(f->s, b.id, 300, &err), 1);
    assert_int_equal(store_outbox_get(f->s, b.id, &got, &err), 0);
    assert_int_equal(got.state, STORE_OUTBOX_PENDING);
    assert_int_equal(got.attempts, 0);
    assert_int_equal(got.due_us, 300);
    store_outbox_release(&got);
    /* only a failed one */
    assert_int_equal(requeue(f->s, b.id, 300, &err), -CHIME_ECONFLICT);
    assert_int_equal(requeue(f->s, 999, 300, &err), -CHIME_ENOTFOUND);
    store_outbox_release(&a);
    store_outbox_release(&b);
}

static void test_outbox_prune_removes_only_old_finished_rows(void **state)
{
    struct fixture *f = *state;
    struct store_op op = {.kind = STORE_OP_OUTBOX_PRUNE};
    struct store_outbox o;
    struct err err = {0};
    int64_t n = 0;

    fixture_job(f->s, "ns", "a", DOC_OPS);
    assert_int_equal(add(f->s, "ns", "a", "failure", 1, "failure:1", 100, &err), 2);
    assert_int_equal(add(f->s, "ns", "a", "failure", 2, "failure:2", 900, &err), 2);
    assert_true(claim(f->s, 100, 10, &o) > 0);
    assert_int_equal(done(f->s, &o, STORE_OUTBOX_DELIVERED, STORE_NULL, NULL, 100, &err), 0);
    store_outbox_release(&o);
    op.outbox_prune.before_us = 500;
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(op.ret_id, 1); /* the old pending one stays */
    assert_int_equal(store_outbox_count(f->s, &(struct store_outbox_filter){0}, &n, &err), 0);
    assert_int_equal(n, 3);
}

static void test_outbox_list_filters_and_pages(void **state)
{
    struct fixture *f = *state;
    struct store_outbox_filter flt = {0};
    struct store_outbox_page p = {0};
    struct store_outbox o;
    struct err err = {0};
    char key[32], cursor[STORE_CURSOR_MAX];
    int64_t n = 0, seen = 0, last = INT64_MAX;

    fixture_job(f->s, "ns", "a", DOC_OPS);
    fixture_job(f->s, "other", "a", DOC_OPS);
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "failure:%d", i);
        assert_int_equal(add(f->s, i % 2 ? "ns" : "other", "a", "failure", i, key, 100 + i, &err),
                         2);
    }
    assert_true(claim(f->s, 100, 10, &o) > 0);
    assert_int_equal(done(f->s, &o, STORE_OUTBOX_FAILED, STORE_NULL, "no", 100, &err), 0);
    store_outbox_release(&o);

    flt.state = STORE_OUTBOX_FAILED;
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 1);
    flt.state = 0;
    flt.channel = "mail";
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 10);
    flt.ns = "ns";
    flt.name = "a";
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 5);
    flt.name = NULL;
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 5);
    flt.ns = NULL;
    flt.channel = NULL;
    flt.ns_in = "[\"other\"]";
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 10);
    flt.ns_in = "[]";
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 0);
    flt.ns_in = NULL;
    flt.ns = "nope";
    flt.name = "a";
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), -CHIME_ENOTFOUND);

    /* pages of 3 over 20 rows: each once, newest first */
    memset(&flt, 0, sizeof flt);
    flt.limit = 3;
    cursor[0] = '\0';
    do {
        flt.cursor = cursor;
        assert_int_equal(store_outbox_list(f->s, &flt, &p, &err), 0);
        for (size_t i = 0; i < p.n; i++) {
            assert_true(p.items[i].id < last);
            last = p.items[i].id;
            seen++;
        }
        snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
        store_outbox_page_release(&p);
    } while (cursor[0]);
    assert_int_equal(seen, 20);
    flt.cursor = "x";
    assert_int_equal(store_outbox_list(f->s, &flt, &p, &err), -CHIME_EINVAL);
    flt.cursor = NULL;
    flt.state = (enum store_outbox_state)99;
    assert_int_equal(store_outbox_list(f->s, &flt, &p, &err), -CHIME_EINVAL);
}

static void test_outbox_ops_check_their_fields(void **state)
{
    struct fixture *f = *state;
    struct store_op op = {.kind = STORE_OP_OUTBOX_ADD};
    struct store_outbox o;
    enum store_outbox_state st;
    struct err err = {0};

    op.outbox_add.ns = "ns";
    op.outbox_add.name = "a";
    assert_int_equal(store_exec(f->s, &op), -CHIME_EINVAL); /* no event */
    memset(&op, 0, sizeof op);
    op.kind = STORE_OP_OUTBOX_CLAIM;
    op.outbox_claim.ret = &o;
    assert_int_equal(store_exec(f->s, &op), -CHIME_EINVAL); /* no lease */
    memset(&op, 0, sizeof op);
    op.kind = STORE_OP_OUTBOX_DONE;
    op.outbox_done.id = 1;
    op.outbox_done.state = STORE_OUTBOX_DELIVERING;
    assert_int_equal(store_exec(f->s, &op), -CHIME_EINVAL);
    assert_int_equal(store_outbox_state_parse("delivered", "state", &st, &err), 0);
    assert_int_equal(st, STORE_OUTBOX_DELIVERED);
    assert_int_equal(store_outbox_state_parse("done", "state", &st, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "state");
    assert_string_equal(store_outbox_state_name(STORE_OUTBOX_FAILED), "failed");
}

static void test_outbox_daemon_event_has_no_job_and_goes_to_the_channels_named(void **state)
{
    struct fixture *f = *state;
    struct store_outbox_filter flt = {0};
    struct store_outbox_page p = {0};
    struct store_outbox o, got;
    struct store_op op = {.kind = STORE_OP_OUTBOX_PRUNE};
    struct err err = {0};
    int64_t n = 0;

    fixture_job(f->s, "ns", "a", DOC_OPS);
    assert_int_equal(add(f->s, "ns", "a", "failure", 1, "failure:1", 100, &err), 2);
    assert_int_equal(add_daemon(f->s, "error_rate", "error_rate:h:200", "[\"ops\", \"mail\"]",
                                200, &err), 2);
    /* the same crossing again (a replay): nothing new; none named: nothing */
    assert_int_equal(add_daemon(f->s, "error_rate", "error_rate:h:200", "[\"ops\"]", 300, &err),
                     0);
    assert_int_equal(add_daemon(f->s, "error_rate_ok", "error_rate_ok:h:400", "[]", 400, &err),
                     0);
    /* listed with the jobs' rows, without a job, by a reader of every namespace */
    assert_int_equal(store_outbox_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 4);
    assert_string_equal(p.items[0].event, "error_rate");
    assert_string_equal(p.items[0].channel, "mail");
    assert_string_equal(p.items[1].channel, "ops");
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(p.items[i].job_id, STORE_NULL);
        assert_int_equal(p.items[i].run_id, STORE_NULL);
        assert_string_equal(p.items[i].ns, "");
        assert_string_equal(p.items[i].name, "");
        assert_string_equal(p.items[i].payload, DAEMON_PAYLOAD);
        assert_int_equal(strlen(p.items[i].delivery_id), 32);
    }
    assert_string_equal(p.items[2].ns, "ns");
    store_outbox_page_release(&p);
    /* a reader limited to namespaces, or asking for a job, never sees them */
    flt.ns_in = "[\"ns\"]";
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_outbox_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.items[0].event, "failure");
    store_outbox_page_release(&p);
    flt.ns_in = NULL;
    flt.ns = "ns";
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 2);
    flt.ns = NULL;
    flt.channel = "mail";
    assert_int_equal(store_outbox_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 2);
    /* claimed, delivered and pruned like any row (the jobs' rows are due first) */
    assert_true(claim(f->s, 100, 1000000, &o) > 0);
    assert_int_equal(o.job_id, 1);
    store_outbox_release(&o);
    assert_true(claim(f->s, 100, 1000000, &o) > 0);
    store_outbox_release(&o);
    assert_true(claim(f->s, 200, 1000000, &o) > 0);
    assert_string_equal(o.event, "error_rate");
    assert_int_equal(o.job_id, STORE_NULL);
    assert_int_equal(done(f->s, &o, STORE_OUTBOX_DELIVERED, STORE_NULL, NULL, 205, &err), 0);
    assert_int_equal(store_outbox_get(f->s, o.id, &got, &err), 0);
    assert_int_equal(got.state, STORE_OUTBOX_DELIVERED);
    assert_string_equal(got.ns, "");
    store_outbox_release(&got);
    op.outbox_prune.before_us = 1000;
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(op.ret_id, 1);
    assert_int_equal(store_outbox_get(f->s, o.id, &got, &err), -CHIME_ENOTFOUND);
    store_outbox_release(&o);
    assert_int_equal(store_check(f->s, &err), 0);
}

static void test_outbox_only_daemon_events_go_without_a_job(void **state)
{
    struct fixture *f = *state;
    struct store_op op = {.kind = STORE_OP_OUTBOX_ADD};
    struct err err = {0};

    fixture_job(f->s, "ns", "c", "{\"name\":\"c\",\"notify\":{\"on_error_rate\":[\"ops\"]}}");
    /* a job's event without a job, a daemon event naming a job, bad names */
    assert_int_equal(add_daemon(f->s, "failure", "failure:x", "[\"ops\"]", 1, &err),
                     -CHIME_EINVAL);
    assert_string_equal(err.field, "event");
    assert_int_equal(add(f->s, "ns", "c", "error_rate", 1, "error_rate:1", 1, &err),
                     -CHIME_EINVAL);
    assert_int_equal(add_daemon(f->s, "error_rate", "error_rate:y", "{\"ops\": 1}", 1, &err), 0);
    assert_int_equal(add_daemon(f->s, "error_rate", "error_rate:z", "not json", 1, &err),
                     -CHIME_EIO);
    op.outbox_add.ns = "ns";
    op.outbox_add.name = "c";
    op.outbox_add.event = "error_rate";
    op.outbox_add.key = "k";
    op.outbox_add.payload = DAEMON_PAYLOAD;
    op.outbox_add.channels = "[\"ops\"]";
    assert_int_equal(store_exec(f->s, &op), -CHIME_EINVAL);
    assert_string_equal(op.err.field, "channels");
}

/* The fixture's store closed and made again as an empty database at the
 * schema before migration VERSION, holding the job ns/old (version 1,
 * on_failure to "ops"); the open connection to it. */
static sqlite3 *db_before(struct fixture *f, int version)
{
    struct err err = {0};
    sqlite3 *db = NULL;
    size_t before = 0;

    while (before < sqlite_n_migrations && sqlite_migrations[before].version < version)
        before++;
    store_close(f->s);
    f->s = NULL;
    testdir_remove(&f->t);
    testdir_make(&f->t);
    assert_int_equal(sqlite3_open(f->t.db, &db), SQLITE_OK);
    assert_int_equal(sqlite_migrate(db, sqlite_migrations, before, 1, &err), 0);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO jobs (namespace, name, version, created_us,"
                                  " updated_us) VALUES ('ns', 'old', 1, 1, 1);"
                                  "INSERT INTO job_versions (job_id, version, doc, created_us)"
                                  " VALUES (1, 1, '{\"notify\":{\"on_failure\":[\"ops\"]}}', 1);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    return db;
}

/* A database of the schema before the outbox is migrated when opened: its
 * jobs are kept and their events go to the new table. */
static void test_outbox_migration_adds_the_table_to_an_older_database(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};
    sqlite3 *db = db_before(f, 4);

    assert_int_equal(testdir_query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"),
                     0);
    sqlite3_close(db);

    fixture_open(f);
    db = testdir_sqlite(&f->t);
    assert_true(testdir_query(db, "SELECT max(version) FROM schema_version") >= 4);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"),
                     1);
    sqlite3_close(db);
    assert_int_equal(add(f->s, "ns", "old", "failure", 1, "failure:1", 5, &err), 1);
    assert_int_equal(store_check(f->s, &err), 0);
}

/* A database of schema 6 with notifications in it: migration 7 rebuilds
 * the table and keeps every row as it was (id, delivery id, state), the
 * indexes come back, and daemon events can be added. */
static void test_outbox_migration_7_keeps_the_rows_of_a_version_6_database(void **state)
{
    struct fixture *f = *state;
    struct store_outbox got;
    struct err err = {0};
    sqlite3 *db = db_before(f, 7);

    assert_int_equal(testdir_query(db, "SELECT max(version) FROM schema_version"), 6);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO outbox (id, delivery_id, event_key, job_id, run_id,"
                                  " event, channel, payload, state, attempts, created_us, due_us,"
                                  " updated_us, delivered_us, last_status, last_error) VALUES"
                                  " (5, 'aaaa', 'failure:3', 1, 3, 'failure', 'ops', '{}',"
                                  "  'delivered', 1, 10, 10, 11, 11, 200, NULL),"
                                  " (6, 'bbbb', 'failure:4', 1, 4, 'failure', 'ops', '{}',"
                                  "  'pending', 2, 20, 30, 21, NULL, 503, 'HTTP 503');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    fixture_open(f);
    db = testdir_sqlite(&f->t);
    assert_true(testdir_query(db, "SELECT max(version) FROM schema_version") >= 7);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                       " AND name IN ('outbox_due', 'outbox_by_job')"), 2);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM sqlite_master"
                                       " WHERE name = 'outbox_new'"), 0);
    sqlite3_close(db);
    assert_int_equal(store_outbox_get(f->s, 5, &got, &err), 0);
    assert_string_equal(got.delivery_id, "aaaa");
    assert_int_equal(got.state, STORE_OUTBOX_DELIVERED);
    assert_int_equal(got.delivered_us, 11);
    assert_string_equal(got.name, "old");
    store_outbox_release(&got);
    assert_int_equal(store_outbox_get(f->s, 6, &got, &err), 0);
    assert_int_equal(got.attempts, 2);
    assert_int_equal(got.due_us, 30);
    assert_string_equal(got.last_error, "HTTP 503");
    store_outbox_release(&got);
    /* the kept rows still count as sent: the same event adds nothing */
    assert_int_equal(add(f->s, "ns", "old", "failure", 3, "failure:3", 40, &err), 0);
    assert_int_equal(add_daemon(f->s, "error_rate", "error_rate:h:50", "[\"ops\"]", 50, &err), 1);
    assert_int_equal(store_check(f->s, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
        T(test_outbox_add_makes_one_row_per_channel_of_the_event_once),
        T(test_outbox_add_reads_the_channels_of_the_runs_version),
        T(test_outbox_claims_the_row_due_first_and_counts_the_attempt),
        T(test_outbox_lease_expiry_lets_another_claim_and_fences_the_late_answer),
        T(test_outbox_requeue_after_restart_and_of_a_failed_row),
        T(test_outbox_prune_removes_only_old_finished_rows),
        T(test_outbox_list_filters_and_pages),
        T(test_outbox_ops_check_their_fields),
        T(test_outbox_migration_adds_the_table_to_an_older_database),
        T(test_outbox_daemon_event_has_no_job_and_goes_to_the_channels_named),
        T(test_outbox_only_daemon_events_go_without_a_job),
        T(test_outbox_migration_7_keeps_the_rows_of_a_version_6_database),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
