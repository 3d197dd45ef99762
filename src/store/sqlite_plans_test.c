/* sqlite_plans_test.c: the jobs' plans (the columns start-up loads
 * them from), the scan that reads them, versions by id, batches of ops
 * committed together, and the heads listing of the jobs directory, and the migration of a
 * schema-1 database to plans. */
#include "store/sqlite_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/testutil.h"
#include "util/err.h"
#include "../banned.h"

static struct store_job_plan full_plan(int64_t version)
{
    struct store_job_plan p = {0};

    p.version = version;
    p.kind = "cron";
    p.cron = "0 2 * * *";
    p.zone = "Europe/Berlin";
    p.every_us = 60000000;
    p.start_us = STORE_NULL;
    p.jitter_us = 5;
    p.at_us = -7;
    p.after = "a/b c/d";
    p.when = "always";
    p.concurrency = "queue";
    p.max_instances = 3;
    p.priority = 15;
    p.misfire_grace_us = 3600000000;
    p.catch_up = "all";
    p.max_catch_up = 9;
    p.retry_max_attempts = 4;
    p.retry_backoff_us = 30000000;
    p.retry_factor = 1.5;
    p.retry_max_backoff_us = 1800000000;
    p.retry_jitter = 0.2;
    p.disable_after_failures = 5;
    return p;
}

static int write_plan(struct store *s, int64_t id, const struct store_job_plan *p, struct err *err)
{
    struct store_op op = {.kind = STORE_OP_JOB_PLAN};
    int rc;

    op.job_plan.job_id = id;
    op.job_plan.plan = *p;
    rc = store_exec(s, &op);
    if (rc < 0)
        *err = op.err;
    return rc;
}

/* What one scan saw. */
struct scanned {
    int n;
    int64_t id[8], version[8], version_us[8], last_fire[8];
    bool paused[8], has_plan[8];
    char doc[8][256];
    struct store_job_plan plan;     /* the last plan seen */
    char texts[8][64];              /* its texts, copied */
    int stop_after;                 /* > 0: return an error at that row */
};

static int on_scanned(void *ctx, const struct store_job_entry *e)
{
    struct scanned *sc = ctx;
    int i = sc->n++;

    if (sc->stop_after && sc->n == sc->stop_after)
        return -CHIME_EINVAL;
    assert_true(i < 8);
    sc->id[i] = e->id;
    sc->version[i] = e->version;
    sc->version_us[i] = e->version_us;
    sc->last_fire[i] = e->last_fire_us;
    sc->paused[i] = e->paused;
    sc->has_plan[i] = e->plan != NULL;
    sc->doc[i][0] = '\0';
    if (e->doc) {
        assert_null(e->plan);
        assert_int_equal(e->doc_len, strlen(e->doc));
        snprintf(sc->doc[i], sizeof sc->doc[i], "%s", e->doc);
    }
    if (e->plan) {
        const char *t[] = {e->plan->kind, e->plan->cron, e->plan->zone, e->plan->after,
                           e->plan->when, e->plan->concurrency, e->plan->catch_up};

        assert_null(e->doc);
        sc->plan = *e->plan;
        for (int k = 0; k < 7; k++)
            snprintf(sc->texts[k], sizeof sc->texts[k], "%s", t[k] ? t[k] : "(null)");
    }
    return 0;
}

static void test_store_job_plan_is_read_back_by_the_scan_until_a_new_version(void **state)
{
    struct fixture *f = *state;
    struct store_job_plan p = full_plan(1), old = full_plan(1);
    struct scanned sc = {0};
    struct err err = {0};
    int64_t a = fixture_job(f->s, "ns", "a", "{\"v\":1}");
    int64_t b = fixture_job(f->s, "ns", "b", "{\"v\":\"b\"}");

    assert_int_equal(write_plan(f->s, a, &p, &err), 0);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.n, 2);
    /* a: the plan, every column as written; b: no plan, its document */
    assert_int_equal(sc.id[0], a);
    assert_true(sc.has_plan[0]);
    assert_int_equal(sc.plan.version, 1);
    assert_string_equal(sc.texts[0], "cron");
    assert_string_equal(sc.texts[1], "0 2 * * *");
    assert_string_equal(sc.texts[2], "Europe/Berlin");
    assert_string_equal(sc.texts[3], "a/b c/d");
    assert_string_equal(sc.texts[4], "always");
    assert_string_equal(sc.texts[5], "queue");
    assert_string_equal(sc.texts[6], "all");
    assert_int_equal(sc.plan.every_us, p.every_us);
    assert_int_equal(sc.plan.start_us, STORE_NULL);
    assert_int_equal(sc.plan.jitter_us, 5);
    assert_int_equal(sc.plan.at_us, -7);
    assert_int_equal(sc.plan.max_instances, 3);
    assert_int_equal(sc.plan.priority, 15);
    assert_int_equal(sc.plan.misfire_grace_us, p.misfire_grace_us);
    assert_int_equal(sc.plan.max_catch_up, 9);
    assert_int_equal(sc.plan.retry_max_attempts, 4);
    assert_int_equal(sc.plan.retry_backoff_us, p.retry_backoff_us);
    assert_true(sc.plan.retry_factor == 1.5);
    assert_int_equal(sc.plan.retry_max_backoff_us, p.retry_max_backoff_us);
    assert_true(sc.plan.retry_jitter == 0.2);
    assert_int_equal(sc.plan.disable_after_failures, 5);
    assert_int_equal(sc.id[1], b);
    assert_false(sc.has_plan[1]);
    assert_string_equal(sc.doc[1], "{\"v\":\"b\"}");

    /* a new version makes the plan stale: the scan gives the document */
    assert_int_equal(store_job_put(f->s, "ns", "a", "{\"v\":2}", NULL, 0, true, 2000, NULL, &err),
                     0);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_false(sc.has_plan[0]);
    assert_int_equal(sc.version[0], 2);
    assert_true(sc.paused[0]);
    assert_string_equal(sc.doc[0], "{\"v\":2}");
    /* the old version's plan is refused; the new one's is taken */
    assert_int_equal(write_plan(f->s, a, &old, &err), -CHIME_ECONFLICT);
    p.version = 2;
    p.kind = "every";
    p.cron = p.zone = NULL;
    assert_int_equal(write_plan(f->s, a, &p, &err), 0);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_true(sc.has_plan[0]);
    assert_int_equal(sc.plan.version, 2);
    assert_string_equal(sc.texts[0], "every");
    assert_string_equal(sc.texts[1], "(null)");
    assert_string_equal(sc.texts[2], "(null)");
    /* a deleted job is not scanned and takes no plan */
    assert_int_equal(store_job_delete(f->s, "ns", "b", 0, 3000, &err), 0);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.n, 1);
    assert_int_equal(write_plan(f->s, b, &old, &err), -CHIME_ECONFLICT);
}

/* The engine counts a job's fires from the instant its version took
 * effect: the scan gives the current version's write time, which a
 * pause, a fire or a save of the same document does not move. */
static void test_store_job_scan_gives_when_the_current_version_was_written(void **state)
{
    struct fixture *f = *state;
    struct store_op op = {.kind = STORE_OP_JOB_STATE};
    struct scanned sc = {0};
    struct err err = {0};
    int64_t a = fixture_job(f->s, "ns", "a", "{\"v\":1}");

    op.job_state.job_id = a;
    op.job_state.set = STORE_STATE_PAUSED | STORE_STATE_LAST_FIRE;
    op.job_state.paused = true;
    op.job_state.last_fire_us = 4000;
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(store_job_put(f->s, "ns", "a", "{\"v\":1}", NULL, 0, false, 5000, NULL, &err),
                     0);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.n, 1);
    assert_int_equal(sc.version[0], 1);
    assert_int_equal(sc.version_us[0], 1000);
    assert_int_equal(sc.last_fire[0], 4000);
    assert_int_equal(store_job_put(f->s, "ns", "a", "{\"v\":2}", NULL, 0, false, 7000, NULL, &err),
                     0);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.version[0], 2);
    assert_int_equal(sc.version_us[0], 7000);
    assert_int_equal(sc.last_fire[0], 4000);
}

static void test_store_job_scan_stops_when_told(void **state)
{
    struct fixture *f = *state;
    struct scanned sc = {.stop_after = 2};
    struct err err = {0};

    fixture_job(f->s, "ns", "a", "{}");
    fixture_job(f->s, "ns", "b", "{}");
    fixture_job(f->s, "ns", "c", "{}");
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), -CHIME_EINVAL);
    assert_int_equal(sc.n, 2);
    assert_int_equal(store_job_scan(f->s, NULL, NULL, &err), -CHIME_EINVAL);
}

static void test_store_job_plan_op_checks_its_fields(void **state)
{
    struct fixture *f = *state;
    struct store_job_plan p = full_plan(1);
    struct err err = {0};
    int64_t a = fixture_job(f->s, "ns", "a", "{}");

    assert_int_equal(write_plan(f->s, 0, &p, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "job_id");
    p.version = 0;
    assert_int_equal(write_plan(f->s, a, &p, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "version");
    p = full_plan(1);
    p.kind = NULL;
    assert_int_equal(write_plan(f->s, a, &p, &err), -CHIME_EINVAL);
    p = full_plan(1);
    p.kind = "hourly";      /* the column's CHECK */
    assert_int_equal(write_plan(f->s, a, &p, &err), -CHIME_EINVAL);
    p = full_plan(9);
    assert_int_equal(write_plan(f->s, a, &p, &err), -CHIME_ECONFLICT);
}

static void test_store_job_doc_reads_any_version_by_id(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};
    char *doc = NULL;
    size_t len = 0;
    int64_t a = fixture_job(f->s, "ns", "a", "{\"v\":1}");

    assert_int_equal(store_job_put(f->s, "ns", "a", "{\"v\":22}", NULL, 0, false, 2, NULL, &err),
                     0);
    assert_int_equal(store_job_doc(f->s, a, 1, &doc, &len, &err), 0);
    assert_string_equal(doc, "{\"v\":1}");
    assert_int_equal(len, 7);
    free(doc);
    assert_int_equal(store_job_doc(f->s, a, 2, &doc, NULL, &err), 0);
    assert_string_equal(doc, "{\"v\":22}");
    free(doc);
    /* a deleted job's versions stay readable: its last runs may still start */
    assert_int_equal(store_job_delete(f->s, "ns", "a", 0, 3, &err), 0);
    assert_int_equal(store_job_doc(f->s, a, 2, &doc, NULL, &err), 0);
    free(doc);
    doc = NULL;
    assert_int_equal(store_job_doc(f->s, a, 3, &doc, NULL, &err), -CHIME_ENOTFOUND);
    assert_null(doc);
    assert_int_equal(store_job_doc(f->s, 0, 1, &doc, NULL, &err), -CHIME_EINVAL);
    assert_int_equal(store_job_doc(f->s, a, 0, &doc, NULL, &err), -CHIME_EINVAL);
}

static void test_store_exec_all_commits_ops_together_each_with_its_result(void **state)
{
    struct fixture *f = *state;
    struct store_op put = {.kind = STORE_OP_JOB_PUT}, plan = {.kind = STORE_OP_JOB_PLAN};
    struct store_op bad = {.kind = STORE_OP_JOB_PLAN};
    struct store_op *ops[] = {&put, &bad, &plan};
    struct store_stats before, after;
    struct scanned sc = {0};
    struct err err = {0};
    int64_t a = fixture_job(f->s, "ns", "a", "{}");

    put.job_put.ns = "ns";
    put.job_put.name = "b";
    put.job_put.doc = "{}";
    put.job_put.now_us = 5;
    bad.job_plan.job_id = a;
    bad.job_plan.plan = full_plan(7);           /* a is at version 1 */
    plan.job_plan.job_id = a;
    plan.job_plan.plan = full_plan(1);
    store_stats(f->s, &before);
    assert_int_equal(store_exec_all(f->s, ops, 3), 0);
    store_stats(f->s, &after);
    assert_int_equal(after.batches, before.batches + 1);
    assert_int_equal(after.ops, before.ops + 3);
    assert_int_equal(put.rc, 0);
    assert_int_equal(put.ret_version, 1);
    assert_int_equal(bad.rc, -CHIME_ECONFLICT);
    assert_int_equal(plan.rc, 0);
    assert_null(put.next);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.n, 2);
    assert_true(sc.has_plan[0]);
    assert_false(sc.has_plan[1]);
    assert_int_equal(store_exec_all(f->s, ops, 0), 0);
}

/* ---- plans written with the put, and the heads listing ---- */

static struct store_op put_planned(const char *name, const char *doc, const char *author,
                                   const struct store_job_plan *plan, int64_t now_us)
{
    struct store_op op = {.kind = STORE_OP_JOB_PUT};

    op.job_put.ns = "ns";
    op.job_put.name = name;
    op.job_put.doc = doc;
    op.job_put.author = author;
    op.job_put.now_us = now_us;
    op.job_put.plan = plan;
    return op;
}

/* A put with its plan leaves the job's plan current at the new version,
 * whether the put creates the job, makes a new version or brings a
 * deleted job back; one that makes no version leaves the plan alone. */
static void test_store_job_put_with_a_plan_writes_it_with_the_new_version(void **state)
{
    struct fixture *f = *state;
    struct store_job_plan p = full_plan(99); /* its version is the store's to set */
    struct store_op op = put_planned("a", "{\"v\":1}", NULL, &p, 1000);
    struct scanned sc = {0};
    struct err err = {0};

    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(op.ret_version, 1);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.n, 1);
    assert_true(sc.has_plan[0]);
    assert_int_equal(sc.plan.version, 1);
    assert_string_equal(sc.texts[1], "0 2 * * *");
    assert_string_equal(sc.texts[3], "a/b c/d");
    assert_int_equal(sc.plan.max_instances, 3);
    assert_true(sc.plan.retry_factor == 1.5);
    assert_int_equal(sc.plan.disable_after_failures, 5);

    /* a new version with its plan */
    p.kind = "every";
    p.cron = p.zone = NULL;
    op = put_planned("a", "{\"v\":2}", NULL, &p, 2000);
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(op.ret_version, 2);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_true(sc.has_plan[0]);
    assert_int_equal(sc.plan.version, 2);
    assert_string_equal(sc.texts[0], "every");
    assert_string_equal(sc.texts[1], "(null)");

    /* the same document makes no version and writes no plan */
    p.kind = "at";
    op = put_planned("a", "{\"v\":2}", NULL, &p, 3000);
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(op.ret_version, 2);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_string_equal(sc.texts[0], "every");

    /* a new version without a plan leaves the columns stale */
    op = put_planned("a", "{\"v\":3}", NULL, NULL, 4000);
    assert_int_equal(store_exec(f->s, &op), 0);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_false(sc.has_plan[0]);
    assert_string_equal(sc.doc[0], "{\"v\":3}");

    /* a deleted job put again, with its plan */
    assert_int_equal(store_job_delete(f->s, "ns", "a", 0, 5000, &err), 0);
    op = put_planned("a", "{\"v\":4}", NULL, &p, 6000);
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(op.ret_version, 4);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.n, 1);
    assert_true(sc.has_plan[0]);
    assert_int_equal(sc.plan.version, 4);
    assert_string_equal(sc.texts[0], "at");
}

/* A batch of puts with plans: all or nothing leaves no job and no plan
 * when one put fails half-way (its document is not JSON, found when its
 * version row is written, after its job row and plan); one at a time
 * (store_exec_all) leaves out only that put. */
static void test_store_batch_of_planned_puts_that_fails_half_way_writes_nothing(void **state)
{
    struct fixture *f = *state;
    struct store_job_plan p = full_plan(1);
    struct store_op a = put_planned("a", "{\"v\":1}", "dir", &p, 1000);
    struct store_op b = put_planned("b", "{\"v\":2}", "dir", &p, 1000);
    struct store_op bad = put_planned("c", "{not json", "dir", &p, 1000);
    struct store_op d = put_planned("d", "{\"v\":4}", "dir", &p, 1000);
    struct store_op *ops[] = {&a, &b, &bad, &d};
    struct scanned sc = {0};
    struct store_job j;
    struct err err = {0};
    size_t failed = 0;

    assert_int_equal(store_exec_atomic(f->s, ops, 4, &failed, &err), -CHIME_EINVAL);
    assert_int_equal(failed, 2);
    for (size_t i = 0; i < 4; i++)
        assert_true(ops[i]->rc < 0);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.n, 0);
    assert_int_equal(store_job_get(f->s, "ns", "a", &j, &err), -CHIME_ENOTFOUND);

    /* each on its own: the bad one leaves no row, no plan, no version */
    assert_int_equal(store_exec_all(f->s, ops, 4), 0);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_int_equal(bad.rc, -CHIME_EINVAL);
    assert_int_equal(d.rc, 0);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.n, 3);
    for (int i = 0; i < 3; i++)
        assert_true(sc.has_plan[i]);
    assert_int_equal(store_job_get(f->s, "ns", "c", &j, &err), -CHIME_ENOTFOUND);
}

/* What one heads listing saw: "ns/name@version" joined by spaces. */
struct heads {
    char text[256];
    int64_t last_id;
    int stop_after, n;
};

static int on_head(void *ctx, const struct store_job_head *h)
{
    struct heads *hs = ctx;
    size_t o = strlen(hs->text);

    if (hs->stop_after && ++hs->n == hs->stop_after)
        return -CHIME_ECONFLICT;
    assert_true(h->id > hs->last_id); /* in id order */
    hs->last_id = h->id;
    snprintf(hs->text + o, sizeof hs->text - o, "%s%s/%s@%lld", o ? " " : "", h->ns, h->name,
             (long long)h->version);
    return 0;
}

/* The live jobs whose current version one author wrote, with that
 * version: a job another author changed since, or a deleted one, is not
 * listed; no author lists every live job. */
static void test_store_job_heads_lists_the_live_jobs_an_author_wrote(void **state)
{
    struct fixture *f = *state;
    struct heads hs = {0};
    struct err err = {0};
    const char *put[][3] = {{"z", "{\"v\":1}", "dir"}, {"y", "{\"v\":1}", "api"},
                            {"x", "{\"v\":1}", "dir"}, {"w", "{\"v\":1}", "dir"},
                            {"x", "{\"v\":2}", "dir"}, {"z", "{\"v\":2}", NULL}};

    assert_int_equal(store_job_heads(f->s, "dir", on_head, &hs, &err), 0);
    assert_string_equal(hs.text, "");
    for (size_t i = 0; i < sizeof put / sizeof put[0]; i++)
        assert_int_equal(store_job_put(f->s, "ns", put[i][0], put[i][1], put[i][2], 0, false,
                                       1000, NULL, &err), 0);
    assert_int_equal(store_job_delete(f->s, "ns", "w", 0, 2000, &err), 0);
    assert_int_equal(store_job_heads(f->s, "dir", on_head, &hs, &err), 0);
    assert_string_equal(hs.text, "ns/x@2");
    memset(&hs, 0, sizeof hs);
    assert_int_equal(store_job_heads(f->s, NULL, on_head, &hs, &err), 0);
    assert_string_equal(hs.text, "ns/z@2 ns/y@1 ns/x@2");
    /* a callback's error stops it and is returned */
    memset(&hs, 0, sizeof hs);
    hs.stop_after = 2;
    assert_int_equal(store_job_heads(f->s, NULL, on_head, &hs, &err), -CHIME_ECONFLICT);
    assert_string_equal(hs.text, "ns/z@2");
    assert_int_equal(store_job_heads(f->s, NULL, NULL, NULL, &err), -CHIME_EINVAL);
}

/* A database the previous chime (schema 1) wrote is migrated when opened:
 * its jobs are there, with no plan, so they are read from the document
 * until the daemon writes the plans. */

static void test_store_migrates_a_schema_1_database(void **state)
{
    struct fixture *f = *state;
    struct store_job_plan p = full_plan(1);
    struct scanned sc = {0};
    struct err err = {0};
    sqlite3 *db = NULL;

    store_close(f->s);
    f->s = NULL;
    testdir_remove(&f->t);
    testdir_make(&f->t);
    assert_int_equal(sqlite3_open(f->t.db, &db), SQLITE_OK);
    assert_int_equal(sqlite_migrate(db, sqlite_migrations, 1, 1, &err), 0);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO jobs (namespace, name, version, created_us,"
                                  " updated_us, paused, last_fire_us)"
                                  " VALUES ('ns', 'old', 2, 1, 1, 1, 777);"
                                  "INSERT INTO job_versions (job_id, version, doc, created_us)"
                                  " VALUES (1, 1, '{\"v\":1}', 1), (1, 2, '{\"v\":2}', 1);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    fixture_open(f);
    db = testdir_sqlite(&f->t);
    assert_int_equal(testdir_query(db, "SELECT max(version) FROM schema_version"),
                     sqlite_migrations[sqlite_n_migrations - 1].version);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM pragma_table_info('jobs')"
                                       " WHERE name = 'plan_version'"),
                     1);
    sqlite3_close(db);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_int_equal(sc.n, 1);
    assert_false(sc.has_plan[0]);
    assert_string_equal(sc.doc[0], "{\"v\":2}");
    assert_int_equal(sc.version[0], 2);
    assert_true(sc.paused[0]);
    assert_int_equal(sc.last_fire[0], 777);
    /* its plan, once written, is what the next scan reads */
    p.version = 2;
    assert_int_equal(write_plan(f->s, 1, &p, &err), 0);
    memset(&sc, 0, sizeof sc);
    assert_int_equal(store_job_scan(f->s, on_scanned, &sc, &err), 0);
    assert_true(sc.has_plan[0]);
    assert_int_equal(store_check(f->s, &err), 0);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
        T(test_store_job_plan_is_read_back_by_the_scan_until_a_new_version),
        T(test_store_job_scan_stops_when_told),
        T(test_store_job_scan_gives_when_the_current_version_was_written),
        T(test_store_job_plan_op_checks_its_fields),
        T(test_store_job_doc_reads_any_version_by_id),
        T(test_store_exec_all_commits_ops_together_each_with_its_result),
        T(test_store_job_put_with_a_plan_writes_it_with_the_new_version),
        T(test_store_batch_of_planned_puts_that_fails_half_way_writes_nothing),
        T(test_store_job_heads_lists_the_live_jobs_an_author_wrote),
        T(test_store_migrates_a_schema_1_database),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
