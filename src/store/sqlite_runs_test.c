/* sqlite_runs_test.c: runs (the unique fire key, updates, pages, filters),
 * dead letters and pruning. */
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

static void test_store_run_insert_reports_a_recorded_fire(void **state)
{
    struct fixture *f = *state;
    struct store_run r;
    struct err err = {0};
    int64_t job = fixture_job(f->s, "a", "b", "{}");
    int64_t first = fixture_run(f->s, job, 60000000, 1, STORE_RUN_QUEUED);
    int64_t id = 0, n = 0;

    store_run_init(&r);
    r.job_id = job;
    r.job_version = 1;
    r.fire_us = 60000000;
    r.reason = STORE_REASON_CATCH_UP;
    r.attempt = 1;
    r.state = STORE_RUN_RUNNING;
    r.queued_us = 1;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), STORE_EXISTS);
    assert_int_equal(id, first);
    r.attempt = 2;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), 0);
    assert_true(id > first);
    assert_int_equal(store_run_count(f->s, &(struct store_run_filter){0}, &n, &err), 0);
    assert_int_equal(n, 2);
    /* the first row is as it was */
    assert_int_equal(store_run_get(f->s, first, &r, &err), 0);
    assert_int_equal(r.state, STORE_RUN_QUEUED);
    assert_int_equal(r.reason, STORE_REASON_SCHEDULE);
    store_run_release(&r);
}

static void test_store_run_unique_key_holds_behind_the_store(void **state)
{
    struct fixture *f = *state;
    int64_t job = fixture_job(f->s, "a", "b", "{}");
    sqlite3 *db;

    fixture_run(f->s, job, 5, 1, STORE_RUN_QUEUED);
    db = testdir_sqlite(&f->t);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO runs (job_id, job_version, fire_us,"
                                  " reason, attempt, state, queued_us)"
                                  " SELECT id, 1, 5, 'manual', 1, 'queued', 9"
                                  " FROM jobs",
                                  NULL, NULL, NULL),
                     SQLITE_CONSTRAINT);
    assert_int_equal(sqlite3_extended_errcode(db), SQLITE_CONSTRAINT_UNIQUE);
    sqlite3_close(db);
}

static void test_store_run_update_writes_the_outcome(void **state)
{
    struct fixture *f = *state;
    struct store_run r, got;
    struct err err = {0};
    int64_t job = fixture_job(f->s, "sales-team-1", "nightly-import", "{}");
    int64_t id;

    store_run_init(&r);
    r.job_id = job;
    r.job_version = 3;
    r.fire_us = 1795482000000000;
    r.reason = STORE_REASON_MANUAL;
    r.attempt = 1;
    r.state = STORE_RUN_QUEUED;
    r.queued_us = 1795482000000112;
    r.triggered_by = "token:ops";
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), 0);

    r.id = id;
    r.state = STORE_RUN_RUNNING;
    r.started_us = 1795482000000815;
    r.pid = 91822;
    r.holder_pid = 91821;
    r.node = "host-a";
    assert_int_equal(store_run_update(f->s, &r, STORE_RUN_QUEUED, &err), 0);
    r.state = STORE_RUN_SUCCEEDED;
    r.finished_us = 1795482192402000;
    r.exit_code = 0;
    r.cpu_user_ms = 81234;
    r.cpu_sys_ms = 3120;
    r.max_rss_kb = 412008;
    r.output_bytes = 18211;
    r.triggered_by = "ignored: fixed at insert";
    assert_int_equal(store_run_update(f->s, &r, STORE_RUN_RUNNING, &err), 0);

    assert_int_equal(store_run_get(f->s, id, &got, &err), 0);
    assert_int_equal(got.id, id);
    assert_int_equal(got.job_id, job);
    assert_string_equal(got.ns, "sales-team-1");
    assert_string_equal(got.name, "nightly-import");
    assert_int_equal(got.job_version, 3);
    assert_int_equal(got.fire_us, 1795482000000000);
    assert_int_equal(got.reason, STORE_REASON_MANUAL);
    assert_int_equal(got.attempt, 1);
    assert_int_equal(got.state, STORE_RUN_SUCCEEDED);
    assert_int_equal(got.queued_us, 1795482000000112);
    assert_int_equal(got.started_us, 1795482000000815);
    assert_int_equal(got.finished_us, 1795482192402000);
    assert_int_equal(got.pid, 91822);
    assert_int_equal(got.holder_pid, 91821);
    assert_int_equal(got.exit_code, 0);
    assert_int_equal(got.signal, STORE_NULL);
    assert_int_equal(got.cpu_user_ms, 81234);
    assert_int_equal(got.cpu_sys_ms, 3120);
    assert_int_equal(got.max_rss_kb, 412008);
    assert_int_equal(got.output_bytes, 18211);
    assert_null(got.error);
    assert_string_equal(got.node, "host-a");
    assert_string_equal(got.triggered_by, "token:ops");
    store_run_release(&got);
}

static void test_store_run_update_checks_the_expected_state(void **state)
{
    struct fixture *f = *state;
    struct store_run r, got;
    struct err err = {0};
    int64_t job = fixture_job(f->s, "a", "b", "{}");

    store_run_init(&r);
    r.id = fixture_run(f->s, job, 10, 1, STORE_RUN_RUNNING);
    r.state = STORE_RUN_SUCCEEDED;
    r.exit_code = 0;
    assert_int_equal(store_run_update(f->s, &r, STORE_RUN_RUNNING, &err), 0);
    /* a late "lost" from recovery must not undo the success */
    r.state = STORE_RUN_LOST;
    assert_int_equal(store_run_update(f->s, &r, STORE_RUN_RUNNING, &err), -CHIME_ECONFLICT);
    assert_string_equal(err.msg, "run 1 is 'succeeded', not 'running'");
    assert_int_equal(store_run_get(f->s, r.id, &got, &err), 0);
    assert_int_equal(got.state, STORE_RUN_SUCCEEDED);
    store_run_release(&got);
    /* without a check the write goes through */
    assert_int_equal(store_run_update(f->s, &r, 0, &err), 0);
    r.id = 999;
    assert_int_equal(store_run_update(f->s, &r, 0, &err), -CHIME_ENOTFOUND);
    assert_int_equal(store_run_get(f->s, 999, &got, &err), -CHIME_ENOTFOUND);
}

static void test_store_run_insert_moves_last_fire_forward_only(void **state)
{
    struct fixture *f = *state;
    struct store_run r;
    struct store_job j;
    struct err err = {0};
    int64_t job = fixture_job(f->s, "a", "b", "{}"), id;
    static const struct {
        enum store_reason reason;
        int64_t fire_us;
        int64_t last_fire_us; /* after the insert */
    } steps[] = {
        {STORE_REASON_SCHEDULE, 3000, 3000},
        {STORE_REASON_CATCH_UP, 2000, 3000}, /* older: no move back */
        {STORE_REASON_CATCH_UP, 4000, 4000},
        {STORE_REASON_MANUAL, 9000, 4000}, /* not a schedule fire */
        {STORE_REASON_RETRY, 9500, 4000},
        {STORE_REASON_AFTER, 9600, 4000},
        {STORE_REASON_SCHEDULE, 5000, 5000},
    };

    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        store_run_init(&r);
        r.job_id = job;
        r.job_version = 1;
        r.fire_us = steps[i].fire_us;
        r.reason = steps[i].reason;
        r.attempt = 1;
        r.state = STORE_RUN_QUEUED;
        r.queued_us = 1;
        assert_int_equal(store_run_insert(f->s, &r, &id, &err), 0);
        assert_int_equal(store_job_get(f->s, "a", "b", &j, &err), 0);
        assert_int_equal(j.last_fire_us, steps[i].last_fire_us);
        store_job_release(&j);
    }
}

/* Lists every page of F, LIMIT a page, and checks the order; the ids seen. */
static size_t list_all(struct store *s, struct store_run_filter *f, int64_t *ids, size_t max)
{
    char cursor[STORE_CURSOR_MAX] = "";
    int64_t prev_fire = INT64_MAX, prev_id = INT64_MAX;
    struct err err = {0};
    size_t n = 0;

    do {
        struct store_run_page p;

        f->cursor = cursor;
        if (store_run_list(s, f, &p, &err) < 0)
            fail_msg("list: %s", err.msg);
        for (size_t i = 0; i < p.n; i++) {
            const struct store_run *r = &p.items[i];

            assert_true(r->fire_us < prev_fire || (r->fire_us == prev_fire && r->id < prev_id));
            prev_fire = r->fire_us;
            prev_id = r->id;
            assert_true(n < max);
            ids[n++] = r->id;
        }
        assert_true(p.n > 0 || n == 0); /* no empty last page */
        snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
        store_run_page_release(&p);
    } while (*cursor);
    f->cursor = NULL;
    return n;
}

static void test_store_run_pages_return_every_run_exactly_once(void **state)
{
    struct fixture *f = *state;
    enum { N = 300 };
    int64_t jobs[3], ids[N + 10], seen[N + 10] = {0};
    struct store_run_filter flt = {.limit = 7};
    char cursor[STORE_CURSOR_MAX];
    struct store_run_page p;
    struct err err = {0};
    size_t n;

    jobs[0] = fixture_job(f->s, "a", "x", "{}");
    jobs[1] = fixture_job(f->s, "a", "y", "{}");
    jobs[2] = fixture_job(f->s, "b", "z", "{}");
    /* ties on fire_us within and across jobs, and attempts */
    for (int i = 0; i < N; i++)
        fixture_run(f->s, jobs[i % 3], (i / 7) * 1000, i + 1,
                    i % 4 ? STORE_RUN_SUCCEEDED : STORE_RUN_FAILED);

    n = list_all(f->s, &flt, ids, N + 10);
    assert_int_equal(n, N);
    for (size_t i = 0; i < n; i++) {
        assert_true(ids[i] >= 1 && ids[i] <= N);
        seen[ids[i]]++;
    }
    for (int i = 1; i <= N; i++)
        assert_int_equal(seen[i], 1);

    /* runs recorded between pages neither shift nor repeat the rest */
    flt.cursor = NULL;
    assert_int_equal(store_run_list(f->s, &flt, &p, &err), 0);
    snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
    store_run_page_release(&p);
    fixture_run(f->s, jobs[0], 999999, 1, STORE_RUN_QUEUED); /* newer */
    flt.cursor = cursor;
    n = 7;
    do {
        assert_int_equal(store_run_list(f->s, &flt, &p, &err), 0);
        n += p.n;
        snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
        store_run_page_release(&p);
    } while (*cursor);
    assert_int_equal(n, N);
}

static void test_store_run_list_filters_and_counts(void **state)
{
    struct fixture *f = *state;
    int64_t jobs[3], ids[400], count = -1;
    struct store_run_filter flt = {.limit = 11};
    struct err err = {0};
    int expect;

    jobs[0] = fixture_job(f->s, "a", "x", "{}");
    jobs[1] = fixture_job(f->s, "a", "y", "{}");
    jobs[2] = fixture_job(f->s, "b", "z", "{}");
    for (int i = 0; i < 300; i++)
        fixture_run(f->s, jobs[i % 3], (i / 7) * 1000, i + 1,
                    i % 4 ? STORE_RUN_SUCCEEDED : STORE_RUN_FAILED);

    flt.ns = "a";
    flt.name = "y";
    assert_int_equal(list_all(f->s, &flt, ids, 400), 100);
    assert_int_equal(store_run_count(f->s, &flt, &count, &err), 0);
    assert_int_equal(count, 100);
    flt.name = NULL;
    assert_int_equal(list_all(f->s, &flt, ids, 400), 200);
    flt.ns = "b";
    flt.state = STORE_RUN_FAILED; /* i % 4 == 0 and i % 3 == 2: i = 8, 20, ... */
    assert_int_equal(list_all(f->s, &flt, ids, 400), 25);
    flt.ns = NULL;
    assert_int_equal(list_all(f->s, &flt, ids, 400), 75);
    /* fire_us = (i / 7) * 1000 in [7000, 14000): i from 49 to 97, and failed */
    flt.since_us = 7000;
    flt.until_us = 14000;
    expect = 0;
    for (int i = 49; i <= 97; i++)
        expect += i % 4 == 0;
    assert_int_equal(list_all(f->s, &flt, ids, 400), expect);
    assert_int_equal(store_run_count(f->s, &flt, &count, &err), 0);
    assert_int_equal(count, expect);
    flt.state = 0;
    assert_int_equal(list_all(f->s, &flt, ids, 400), 49);

    flt = (struct store_run_filter){.ns = "a", .name = "nope"};
    assert_int_equal(store_run_count(f->s, &flt, &count, &err), -CHIME_ENOTFOUND);
    flt = (struct store_run_filter){.name = "x"};
    assert_int_equal(store_run_count(f->s, &flt, &count, &err), -CHIME_EINVAL);
    flt = (struct store_run_filter){.state = 42};
    assert_int_equal(store_run_count(f->s, &flt, &count, &err), -CHIME_EINVAL);
}

/* "ran": the runs that ran or run, never a skipped or missed one; the
 * newest of them is a job's last run (the API's last_run). */
static void test_store_run_list_of_runs_that_ran_leaves_out_skipped_and_missed(void **state)
{
    struct fixture *f = *state;
    struct store_run_filter flt = {.ns = "a", .name = "x", .ran = true, .limit = 1};
    struct store_run_page p;
    struct err err = {0};
    int64_t job, ran, ids[10], count = -1;

    job = fixture_job(f->s, "a", "x", "{}");
    ran = fixture_run(f->s, job, 1000, 1, STORE_RUN_FAILED);
    fixture_run(f->s, job, 2000, 1, STORE_RUN_SKIPPED);
    fixture_run(f->s, job, 3000, 1, STORE_RUN_MISSED);
    fixture_run(f->s, job, 4000, 1, STORE_RUN_SKIPPED);
    assert_int_equal(store_run_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.items[0].id, ran);
    assert_int_equal(p.items[0].state, STORE_RUN_FAILED);
    store_run_page_release(&p);
    flt.limit = 5;
    assert_int_equal(list_all(f->s, &flt, ids, 10), 1);
    assert_int_equal(store_run_count(f->s, &flt, &count, &err), 0);
    assert_int_equal(count, 1);
    /* a live run ran too */
    ran = fixture_run(f->s, job, 5000, 1, STORE_RUN_RUNNING);
    flt.limit = 1;
    assert_int_equal(store_run_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.items[0].id, ran);
    store_run_page_release(&p);
    /* with a state: both hold */
    flt.state = STORE_RUN_SKIPPED;
    assert_int_equal(store_run_count(f->s, &flt, &count, &err), 0);
    assert_int_equal(count, 0);
    flt.ran = false;
    assert_int_equal(store_run_count(f->s, &flt, &count, &err), 0);
    assert_int_equal(count, 2);
}

static void test_store_run_unfinished_lists_queued_and_running(void **state)
{
    struct fixture *f = *state;
    struct store_run_page p;
    struct err err = {0};
    int64_t job = fixture_job(f->s, "a", "b", "{}");
    int64_t q = fixture_run(f->s, job, 1, 1, STORE_RUN_QUEUED);
    int64_t r;

    fixture_run(f->s, job, 2, 1, STORE_RUN_SUCCEEDED);
    r = fixture_run(f->s, job, 3, 1, STORE_RUN_RUNNING);
    fixture_run(f->s, job, 4, 1, STORE_RUN_LOST);
    assert_int_equal(store_run_unfinished(f->s, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.items[0].id, q);
    assert_int_equal(p.items[1].id, r);
    assert_string_equal(p.next_cursor, "");
    store_run_page_release(&p);
}

static void test_store_dead_letters_are_listed_and_removed(void **state)
{
    struct fixture *f = *state;
    struct store_dead_filter flt = {.limit = 2};
    struct store_dead_page p;
    struct err err = {0};
    int64_t a = fixture_job(f->s, "a", "a", "{}");
    int64_t b = fixture_job(f->s, "b", "b", "{}");
    int64_t r1 = fixture_run(f->s, a, 100, 3, STORE_RUN_FAILED);
    int64_t r2 = fixture_run(f->s, b, 200, 2, STORE_RUN_TIMED_OUT);
    int64_t r3 = fixture_run(f->s, a, 300, 1, STORE_RUN_LOST);

    assert_int_equal(store_dead_insert(f->s, r1, "exit 1", 10, &err), 0);
    assert_int_equal(store_dead_insert(f->s, r2, "timed out", 20, &err), 0);
    assert_int_equal(store_dead_insert(f->s, r3, "lost", 30, &err), 0);
    assert_int_equal(store_dead_insert(f->s, r3, "again", 40, &err), STORE_EXISTS);
    assert_int_equal(store_dead_insert(f->s, 999, "none", 40, &err), -CHIME_ENOTFOUND);

    assert_int_equal(store_dead_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.items[0].run_id, r3);
    assert_string_equal(p.items[0].reason, "lost");
    assert_int_equal(p.items[0].fire_us, 300);
    assert_int_equal(p.items[0].created_us, 30);
    assert_string_equal(p.items[0].ns, "a");
    assert_int_equal(p.items[1].run_id, r2);
    assert_string_equal(p.next_cursor, "2");
    store_dead_page_release(&p);
    flt.cursor = "2";
    assert_int_equal(store_dead_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.items[0].run_id, r1);
    assert_string_equal(p.next_cursor, "");
    store_dead_page_release(&p);

    flt = (struct store_dead_filter){.ns = "a", .name = "a"};
    assert_int_equal(store_dead_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 2);
    store_dead_page_release(&p);
    assert_int_equal(store_dead_remove(f->s, r1, &err), 0);
    assert_int_equal(store_dead_remove(f->s, r1, &err), -CHIME_ENOTFOUND);
    flt = (struct store_dead_filter){.ns = "b"};
    assert_int_equal(store_dead_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.items[0].run_id, r2);
    store_dead_page_release(&p);
    /* deleting a job drops its dead letters: nothing is left to requeue */
    assert_int_equal(store_job_delete(f->s, "b", "b", 0, 50, &err), 0);
    assert_int_equal(store_dead_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 0);
    store_dead_page_release(&p);
}

static void test_store_run_error_text_is_cut_at_a_character_boundary(void **state)
{
    struct fixture *f = *state;
    struct store_run r, got;
    struct err err = {0};
    size_t big = 1 << 20;
    char *text = malloc(big + 1);
    int64_t job = fixture_job(f->s, "a", "b", "{}");

    assert_non_null(text);
    memset(text, 'e', big);
    text[big] = '\0';
    /* "é" (2 bytes) straddles the ceiling: cut before it */
    text[STORE_ERROR_MAX - 1] = '\xc3';
    text[STORE_ERROR_MAX] = '\xa9';
    store_run_init(&r);
    r.id = fixture_run(f->s, job, 1, 1, STORE_RUN_RUNNING);
    r.state = STORE_RUN_FAILED;
    r.error = text;
    assert_int_equal(store_run_update(f->s, &r, 0, &err), 0);
    assert_int_equal(store_run_get(f->s, r.id, &got, &err), 0);
    assert_int_equal(strlen(got.error), STORE_ERROR_MAX - 1);
    assert_memory_equal(got.error, text, STORE_ERROR_MAX - 1);
    store_run_release(&got);
    assert_int_equal(store_dead_insert(f->s, r.id, text, 5, &err), 0);
    free(text);
}

static void test_store_run_refuses_malformed_runs(void **state)
{
    struct fixture *f = *state;
    char node[STORE_TEXT_MAX + 2];
    struct store_run good, r;
    struct err err = {0};
    int64_t id = 0;

    store_run_init(&good);
    good.job_id = fixture_job(f->s, "a", "b", "{}");
    good.job_version = 1;
    good.fire_us = 1;
    good.queued_us = 1;
    good.reason = STORE_REASON_SCHEDULE;
    good.attempt = 1;
    good.state = STORE_RUN_QUEUED;
    memset(node, 'n', sizeof node - 1);
    node[sizeof node - 1] = '\0';

    r = good, r.state = 0;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), -CHIME_EINVAL);
    r = good, r.state = STORE_RUN_STATE_END;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), -CHIME_EINVAL);
    r = good, r.reason = 77;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), -CHIME_EINVAL);
    r = good, r.attempt = 0;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), -CHIME_EINVAL);
    r = good, r.fire_us = STORE_NULL;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), -CHIME_EINVAL);
    r = good, r.node = node;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), -CHIME_ETOOBIG);
    r = good, r.triggered_by = node;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), -CHIME_ETOOBIG);
    r = good, r.job_id = 0;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), -CHIME_EINVAL);
    r = good, r.job_id = 12345;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), -CHIME_ENOTFOUND);
    assert_string_equal(err.msg, "job 12345 does not exist");
    assert_int_equal(id, 0);
    node[STORE_TEXT_MAX] = '\0';
    r = good, r.node = node;
    assert_int_equal(store_run_insert(f->s, &r, &id, &err), 0);
    assert_int_equal(store_check(f->s, &err), 0);
}

static void test_store_run_list_refuses_bad_cursors(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {
        "x",   "1",    "1.",   ".1",    "1.2.3", "1.2x", "99999999999999999999.1",
        "1.-", " 1.2", "1.2 ", "0x1.2", "+1.2",
    };
    struct store_run_filter flt = {0};
    struct store_run_page p;
    struct err err = {0};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        flt.cursor = bad[i];
        if (store_run_list(f->s, &flt, &p, &err) != -CHIME_EINVAL)
            fail_msg("cursor '%s' was taken", bad[i]);
    }
    flt.cursor = "-5.3";
    assert_int_equal(store_run_list(f->s, &flt, &p, &err), 0);
    store_run_page_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
        T(test_store_run_insert_reports_a_recorded_fire),
        T(test_store_run_unique_key_holds_behind_the_store),
        T(test_store_run_update_writes_the_outcome),
        T(test_store_run_update_checks_the_expected_state),
        T(test_store_run_insert_moves_last_fire_forward_only),
        T(test_store_run_pages_return_every_run_exactly_once),
        T(test_store_run_list_filters_and_counts),
        T(test_store_run_list_of_runs_that_ran_leaves_out_skipped_and_missed),
        T(test_store_run_unfinished_lists_queued_and_running),
        T(test_store_dead_letters_are_listed_and_removed),
        T(test_store_run_error_text_is_cut_at_a_character_boundary),
        T(test_store_run_refuses_malformed_runs),
        T(test_store_run_list_refuses_bad_cursors),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
