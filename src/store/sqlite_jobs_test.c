/* sqlite_jobs_test.c: jobs, their versions, state, lists, and hostile
 * names and documents (plans, scans, batches and migration: sqlite_plans_test.c). */
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

static void expect_doc(struct store *s, const char *ns, const char *name, int64_t version,
                       const char *doc)
{
    struct store_job j;
    struct err err = {0};

    if (version)
        assert_int_equal(store_job_get_version(s, ns, name, version, &j, &err), 0);
    else
        assert_int_equal(store_job_get(s, ns, name, &j, &err), 0);
    assert_string_equal(j.doc, doc);
    assert_int_equal(j.doc_len, strlen(doc));
    store_job_release(&j);
}

static void test_store_job_put_keeps_every_version(void **state)
{
    struct fixture *f = *state;
    struct store_version_page p;
    struct store_job j;
    struct err err = {0};
    int64_t v = 0;

    assert_int_equal(
        store_job_put(f->s, "default", "etl", "{\"v\": 1}", "ann", 0, false, 100, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(
        store_job_put(f->s, "default", "etl", "{\"v\": 2}", NULL, 0, false, 200, &v, &err), 0);
    assert_int_equal(v, 2);
    assert_int_equal(
        store_job_put(f->s, "default", "etl", "{\"v\": 3}", "bob", 0, false, 300, &v, &err), 0);
    assert_int_equal(v, 3);

    assert_int_equal(store_job_get(f->s, "default", "etl", &j, &err), 0);
    assert_int_equal(j.version, 3);
    assert_int_equal(j.latest_version, 3);
    assert_string_equal(j.doc, "{\"v\": 3}");
    assert_string_equal(j.author, "bob");
    assert_int_equal(j.version_us, 300);
    assert_int_equal(j.created_us, 100);
    assert_int_equal(j.last_fire_us, STORE_NULL);
    store_job_release(&j);

    assert_int_equal(store_job_get_version(f->s, "default", "etl", 1, &j, &err), 0);
    assert_int_equal(j.version, 1);
    assert_int_equal(j.latest_version, 3);
    assert_string_equal(j.author, "ann");
    assert_int_equal(j.version_us, 100);
    store_job_release(&j);
    expect_doc(f->s, "default", "etl", 2, "{\"v\": 2}");
    assert_int_equal(store_job_get_version(f->s, "default", "etl", 4, &j, &err), -CHIME_ENOTFOUND);
    assert_string_equal(err.msg, "job 'default/etl' has no version 4");

    assert_int_equal(store_job_versions(f->s, "default", "etl", NULL, 2, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.items[0].version, 3);
    assert_int_equal(p.items[1].version, 2);
    assert_null(p.items[1].author);
    assert_int_equal(p.items[1].doc_len, strlen("{\"v\": 2}"));
    assert_string_equal(p.next_cursor, "2");
    store_version_page_release(&p);
    assert_int_equal(store_job_versions(f->s, "default", "etl", "2", 2, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.items[0].version, 1);
    assert_string_equal(p.items[0].author, "ann");
    assert_string_equal(p.next_cursor, "");
    store_version_page_release(&p);
}

static void test_store_job_put_of_an_equal_document_makes_no_version(void **state)
{
    struct fixture *f = *state;
    struct store_job j;
    struct err err = {0};
    int64_t v = 0;

    assert_int_equal(store_job_put(f->s, "a", "b", "{}", NULL, 0, false, 1, &v, &err), 0);
    assert_int_equal(store_job_put(f->s, "a", "b", "{}", NULL, 0, true, 2, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(store_job_get(f->s, "a", "b", &j, &err), 0);
    assert_int_equal(j.version, 1);
    assert_true(j.paused); /* the put's paused applies still */
    store_job_release(&j);
    /* another document is a new version */
    assert_int_equal(store_job_put(f->s, "a", "b", "{\"v\": 1}", NULL, 0, false, 3, &v, &err), 0);
    assert_int_equal(v, 2);
}

/* "paused" is the job's state, not its document: a put that changes only
 * it (a paused job's view PUT back, a rollback, an import) sets the state
 * and makes no version, whatever "paused" the stored version says. */
static void test_store_job_put_that_differs_only_in_paused_makes_no_version(void **state)
{
    struct fixture *f = *state;
    struct store_job j;
    struct err err = {0};
    int64_t v = 0;

    assert_int_equal(store_job_put(f->s, "a", "p", "{\"a\":1,\"paused\":false,\"z\":[2]}", NULL,
                                   0, false, 1, &v, &err), 0);
    assert_int_equal(store_job_put(f->s, "a", "p", "{\"a\":1,\"paused\":true,\"z\":[2]}", NULL,
                                   0, true, 2, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(store_job_get(f->s, "a", "p", &j, &err), 0);
    assert_int_equal(j.version, 1);
    assert_true(j.paused);
    assert_string_equal(j.doc, "{\"a\":1,\"paused\":false,\"z\":[2]}");
    store_job_release(&j);
    /* without it at all, and resumed: still the same document */
    assert_int_equal(store_job_put(f->s, "a", "p", "{\"a\":1,\"z\":[2]}", NULL, 0, false, 3,
                                   &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(store_job_get(f->s, "a", "p", &j, &err), 0);
    assert_false(j.paused);
    store_job_release(&j);
    /* any other member changed is a version, paused or not */
    assert_int_equal(store_job_put(f->s, "a", "p", "{\"a\":2,\"paused\":true,\"z\":[2]}", NULL,
                                   0, true, 4, &v, &err), 0);
    assert_int_equal(v, 2);
}

static void test_store_job_put_checks_the_expected_version(void **state)
{
    struct fixture *f = *state;
    struct err err = {0};
    int64_t v = 0;
    sqlite3 *db;

    assert_int_equal(store_job_put(f->s, "a", "b", "[1]", NULL, 5, false, 1, &v, &err),
                     -CHIME_ECONFLICT);
    assert_string_equal(err.msg, "job 'a/b' does not exist, expected version 5");
    assert_int_equal(store_job_put(f->s, "a", "b", "[1]", NULL, STORE_NEW, false, 1, &v, &err), 0);
    assert_int_equal(store_job_put(f->s, "a", "b", "[2]", NULL, STORE_NEW, false, 2, &v, &err),
                     -CHIME_ECONFLICT);
    assert_string_equal(err.msg, "job 'a/b' already exists");
    assert_string_equal(err.field, "name");
    assert_int_equal(store_job_put(f->s, "a", "b", "[2]", NULL, 1, false, 2, &v, &err), 0);
    assert_int_equal(v, 2);
    v = 77;
    assert_int_equal(store_job_put(f->s, "a", "b", "[3]", NULL, 1, false, 3, &v, &err),
                     -CHIME_ECONFLICT);
    assert_string_equal(err.msg, "job 'a/b' is at version 2, not 1");
    assert_int_equal(v, 77); /* written only on success */
    assert_int_equal(store_job_delete(f->s, "a", "b", 1, 4, &err), -CHIME_ECONFLICT);
    assert_int_equal(store_job_delete(f->s, "a", "b", 2, 4, &err), 0);
    db = testdir_sqlite(&f->t); /* a delete keeps the versions */
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM job_versions"), 2);
    sqlite3_close(db);
}

static void test_store_job_delete_hides_it_and_a_put_brings_it_back(void **state)
{
    struct fixture *f = *state;
    struct store_op op = {.kind = STORE_OP_JOB_STATE};
    struct store_job_filter all = {0};
    struct store_run_filter runs = {.ns = "a", .name = "b"};
    struct store_job j;
    struct err err = {0};
    int64_t job, n = -1, v = 0;

    job = fixture_job(f->s, "a", "b", "{\"x\": 1}");
    fixture_run(f->s, job, 5000, 1, STORE_RUN_SUCCEEDED);
    op.job_state.job_id = job;
    op.job_state.set = STORE_STATE_FAILURES;
    op.job_state.consecutive_failures = 4;
    assert_int_equal(store_exec(f->s, &op), 0);

    assert_int_equal(store_job_delete(f->s, "a", "b", 0, 9000, &err), 0);
    assert_int_equal(store_job_get(f->s, "a", "b", &j, &err), -CHIME_ENOTFOUND);
    assert_string_equal(err.msg, "job 'a/b' does not exist");
    assert_int_equal(store_job_delete(f->s, "a", "b", 0, 9000, &err), -CHIME_ENOTFOUND);
    assert_int_equal(store_job_count(f->s, &all, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_exec(f->s, &op), -CHIME_ENOTFOUND); /* no state either */
    assert_int_equal(store_run_count(f->s, &runs, &n, &err), 0);
    assert_int_equal(n, 1); /* its history stays */

    assert_int_equal(
        store_job_put(f->s, "a", "b", "{\"x\": 1}", NULL, STORE_NEW, false, 10000, &v, &err), 0);
    assert_int_equal(v, 2); /* numbering goes on */
    assert_int_equal(store_job_get(f->s, "a", "b", &j, &err), 0);
    assert_int_equal(j.id, job);
    assert_int_equal(j.created_us, 10000);
    assert_int_equal(j.consecutive_failures, 0);
    assert_int_equal(j.last_fire_us, STORE_NULL);
    store_job_release(&j);
}

static void test_store_job_put_of_invalid_json_leaves_no_trace(void **state)
{
    struct fixture *f = *state;
    struct store_job_filter all = {0};
    struct store_job j;
    struct err err = {0};
    int64_t n = -1, v = 0;

    /* the job row is written before the version fails its CHECK: the
     * op's savepoint must take the row back */
    assert_int_equal(store_job_put(f->s, "a", "new", "{\"x\": ", NULL, 0, false, 1, &v, &err),
                     -CHIME_EINVAL);
    assert_string_equal(err.msg, "document is not valid JSON");
    assert_string_equal(err.field, "document");
    assert_int_equal(store_job_get(f->s, "a", "new", &j, &err), -CHIME_ENOTFOUND);
    assert_int_equal(store_job_count(f->s, &all, &n, &err), 0);
    assert_int_equal(n, 0);

    fixture_job(f->s, "a", "old", "{}");
    assert_int_equal(store_job_put(f->s, "a", "old", "nope", NULL, 0, false, 2, &v, &err),
                     -CHIME_EINVAL);
    expect_doc(f->s, "a", "old", 0, "{}");
    assert_int_equal(store_job_get(f->s, "a", "old", &j, &err), 0);
    assert_int_equal(j.latest_version, 1);
    store_job_release(&j);
    assert_int_equal(store_check(f->s, &err), 0);
}

static void list_names(struct store *s, struct store_job_filter *f, char *out, size_t len)
{
    struct store_job_page p;
    struct err err = {0};

    out[0] = '\0';
    if (store_job_list(s, f, &p, &err) < 0)
        fail_msg("list: %s", err.msg);
    for (size_t i = 0; i < p.n; i++) {
        size_t o = strlen(out);

        snprintf(out + o, len - o, "%s%s/%s", i ? " " : "", p.items[i].ns, p.items[i].name);
    }
    store_job_page_release(&p);
}

static void test_store_job_list_filters_by_namespace_and_label(void **state)
{
    struct fixture *f = *state;
    struct store_job_filter flt = {0};
    struct err err = {0};
    char names[512];
    int64_t n = 0;

    fixture_job(f->s, "team-b", "z", "{\"labels\": {\"team\": \"sales\"}}");
    fixture_job(f->s, "team-a", "y", "{\"labels\": {\"team\": \"sales\", \"tier\": \"1\"}}");
    fixture_job(f->s, "team-a", "x", "{\"labels\": {\"team\": \"ops\"}}");
    fixture_job(f->s, "team-a", "w", "{\"labels\": [\"team\", \"sales\"]}");
    fixture_job(f->s, "team-a", "v", "{\"labels\": {\"team\": 5}}");

    list_names(f->s, &flt, names, sizeof names);
    assert_string_equal(names, "team-a/v team-a/w team-a/x team-a/y team-b/z");
    flt.ns = "team-a";
    list_names(f->s, &flt, names, sizeof names);
    assert_string_equal(names, "team-a/v team-a/w team-a/x team-a/y");
    flt.label_key = "team";
    flt.label_value = "sales";
    list_names(f->s, &flt, names, sizeof names);
    assert_string_equal(names, "team-a/y");
    assert_int_equal(store_job_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 1);
    flt.ns = NULL;
    list_names(f->s, &flt, names, sizeof names);
    assert_string_equal(names, "team-a/y team-b/z");
    assert_int_equal(store_job_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 2);

    /* an empty "labels" object elsewhere does not hide the job's own */
    fixture_job(f->s, "team-c", "u", "{\"env\":{\"labels\":{}},\"labels\":{\"team\":\"sales\"}}");
    fixture_job(f->s, "team-c", "t", "{\"labels\":{},\"x\":\"\\\"labels\\\":{\\\"team\\\":1}\"}");
    list_names(f->s, &flt, names, sizeof names);
    assert_string_equal(names, "team-a/y team-b/z team-c/u");

    /* a new version re-indexes the labels */
    fixture_job(f->s, "team-b", "z", "{\"labels\": {\"team\": \"ops\"}}");
    list_names(f->s, &flt, names, sizeof names);
    assert_string_equal(names, "team-a/y team-c/u");
    flt.label_value = NULL;
    assert_int_equal(store_job_list(f->s, &flt, &(struct store_job_page){0}, &err), -CHIME_EINVAL);
}

static void test_store_job_list_pages_return_every_job_once(void **state)
{
    struct fixture *f = *state;
    struct store_job_filter flt = {.limit = 3};
    char cursor[STORE_CURSOR_MAX] = "";
    char prev[200] = "";
    int seen[64] = {0};
    struct err err = {0};
    int pages = 0;

    for (int i = 0; i < 20; i++) {
        char ns[16], name[16];

        snprintf(ns, sizeof ns, "ns%d", i % 4);
        snprintf(name, sizeof name, "job%02d", i);
        fixture_job(f->s, ns, name, "{}");
    }
    do {
        struct store_job_page p;

        flt.cursor = cursor;
        assert_int_equal(store_job_list(f->s, &flt, &p, &err), 0);
        for (size_t i = 0; i < p.n; i++) {
            char key[200];

            snprintf(key, sizeof key, "%s/%s", p.items[i].ns, p.items[i].name);
            assert_true(strcmp(prev, key) < 0); /* in order, no repeats */
            snprintf(prev, sizeof prev, "%s", key);
            seen[strtol(p.items[i].name + 3, NULL, 10)]++;
        }
        snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
        store_job_page_release(&p);
        /* after two pages the cursor is ns1/job01: a job put before it is
         * not seen, one after it is seen once */
        if (++pages == 2) {
            fixture_job(f->s, "ns0", "job40", "{}");
            fixture_job(f->s, "ns3", "job41", "{}");
        }
    } while (*cursor);
    assert_int_equal(pages, 7); /* 21 jobs, 3 a page, no empty page */
    for (int k = 0; k < 20; k++)
        assert_int_equal(seen[k], 1);
    assert_int_equal(seen[40], 0);
    assert_int_equal(seen[41], 1);
}

static void test_store_job_state_is_written_field_by_field(void **state)
{
    struct fixture *f = *state;
    struct store_op op = {.kind = STORE_OP_JOB_STATE};
    struct store_job j;
    struct err err = {0};
    int64_t job = fixture_job(f->s, "a", "b", "{}");

    op.job_state.job_id = job;
    op.job_state.set = STORE_STATE_PAUSED | STORE_STATE_NEXT_FIRE;
    op.job_state.paused = true;
    op.job_state.consecutive_failures = 9; /* not in set: not written */
    op.job_state.next_fire_us = 123;
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(store_job_get(f->s, "a", "b", &j, &err), 0);
    assert_true(j.paused);
    assert_int_equal(j.consecutive_failures, 0);
    assert_int_equal(j.next_fire_us, 123);
    store_job_release(&j);

    op.job_state.set = STORE_STATE_FAILURES | STORE_STATE_NEXT_FIRE | STORE_STATE_LAST_FIRE;
    op.job_state.next_fire_us = STORE_NULL;
    op.job_state.last_fire_us = 50;
    assert_int_equal(store_exec(f->s, &op), 0);
    assert_int_equal(store_job_get(f->s, "a", "b", &j, &err), 0);
    assert_true(j.paused);
    assert_int_equal(j.consecutive_failures, 9);
    assert_int_equal(j.next_fire_us, STORE_NULL);
    assert_int_equal(j.last_fire_us, 50);
    store_job_release(&j);

    op.job_state.job_id = job + 100;
    assert_int_equal(store_exec(f->s, &op), -CHIME_ENOTFOUND);
    op.job_state.job_id = job;
    op.job_state.consecutive_failures = -1;
    assert_int_equal(store_exec(f->s, &op), -CHIME_EINVAL);
}

static void test_store_stores_sql_metacharacters_verbatim(void **state)
{
    struct fixture *f = *state;
    static const char *const names[] = {
        "x'; DROP TABLE jobs; --",
        "\"quoted\"",
        "%s%n%x",
        "a/b",
        "caf\xc3\xa9",
        "?1",
        "back\\slash",
        "new\nline",
        "\x01\x7f",
        "' OR '1'='1",
    };
    const char *doc = "{\"shell\": \"echo '; DROP TABLE runs; --' \\\"$x\\\" %s\","
                      " \"labels\": {\"k'\": \"v\\\"; --\", \"\xc3\xa9\": \"?\"}}";
    struct store_job_filter flt = {.label_key = "k'", .label_value = "v\"; --"};
    struct store_job_page p;
    struct err err = {0};
    char cursor[STORE_CURSOR_MAX] = "";
    size_t n = sizeof names / sizeof names[0], seen = 0;

    for (size_t i = 0; i < n; i++) {
        fixture_job(f->s, names[i], names[(i + 1) % n], doc);
        expect_doc(f->s, names[i], names[(i + 1) % n], 0, doc);
    }
    assert_int_equal(store_job_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, n);
    store_job_page_release(&p);

    /* page one job at a time: the cursor carries any bytes */
    flt = (struct store_job_filter){.limit = 1};
    do {
        flt.cursor = cursor;
        assert_int_equal(store_job_list(f->s, &flt, &p, &err), 0);
        seen += p.n;
        if (p.n)
            assert_string_equal(p.items[0].doc, doc);
        snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
        store_job_page_release(&p);
    } while (*cursor);
    assert_int_equal(seen, n);
    assert_int_equal(store_check(f->s, &err), 0);
}

static void test_store_bounds_huge_names_and_documents(void **state)
{
    struct fixture *f = *state;
    struct store_job_filter flt = {0};
    struct store_job_page p;
    struct store_job j;
    struct err err = {0};
    size_t big = STORE_DOC_MAX + 1;
    char *doc = malloc(big + 1), *name = malloc(100001);
    int64_t v;

    assert_non_null(doc);
    assert_non_null(name);
    memset(name, 'n', 100000);
    name[100000] = '\0';
    assert_int_equal(store_job_put(f->s, "a", name, "{}", NULL, 0, false, 1, &v, &err),
                     -CHIME_EINVAL);
    assert_string_equal(err.field, "name");
    assert_true(strlen(err.msg) < sizeof err.msg);
    assert_int_equal(store_job_put(f->s, name, "b", "{}", NULL, 0, false, 1, &v, &err),
                     -CHIME_EINVAL);
    assert_int_equal(store_job_put(f->s, "", "b", "{}", NULL, 0, false, 1, &v, &err),
                     -CHIME_EINVAL);
    assert_int_equal(store_job_put(f->s, "a", "b", NULL, NULL, 0, false, 1, &v, &err),
                     -CHIME_EINVAL);
    assert_int_equal(store_job_put(f->s, "a", "b", "{}", name, 0, false, 1, &v, &err),
                     -CHIME_ETOOBIG);
    assert_int_equal(store_job_get(f->s, "a", name, &j, &err), -CHIME_EINVAL);
    name[STORE_NAME_MAX] = '\0'; /* exactly the ceiling: fine */
    fixture_job(f->s, name, name, "{}");

    /* a JSON string filling the whole ceiling is fine, one byte more is not */
    memset(doc, 'x', big);
    doc[0] = '"';
    doc[big - 2] = '"';
    doc[big - 1] = '\0';
    assert_int_equal(store_job_put(f->s, "a", "big", doc, NULL, 0, false, 1, &v, &err), 0);
    expect_doc(f->s, "a", "big", 0, doc);
    doc[big - 1] = ' ';
    doc[big] = '\0';
    assert_int_equal(store_job_put(f->s, "a", "big", doc, NULL, 0, false, 1, &v, &err),
                     -CHIME_ETOOBIG);

    /* huge filter values are only values */
    flt.label_key = name;
    flt.label_value = doc;
    assert_int_equal(store_job_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 0);
    store_job_page_release(&p);
    free(doc);
    free(name);
}

static void test_store_job_list_refuses_bad_cursors_and_limits(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {
        "zz",   "61",      "61.",     ".62",   "61.62.63",
        "6.62", "00.62",   "61.0062", "61.6G", "12345678901234567890",
        "-",    "61.62\n",
    };
    struct store_job_filter flt = {0};
    struct store_job_page p;
    struct err err = {0};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        flt.cursor = bad[i];
        if (store_job_list(f->s, &flt, &p, &err) != -CHIME_EINVAL)
            fail_msg("cursor '%s' was taken", bad[i]);
        assert_string_equal(err.field, "cursor");
    }
    flt.cursor = "61.62"; /* "a", "b" */
    assert_int_equal(store_job_list(f->s, &flt, &p, &err), 0);
    store_job_page_release(&p);
    flt.limit = STORE_LIMIT_MAX + 1;
    assert_int_equal(store_job_list(f->s, &flt, &p, &err), -CHIME_ERANGE);
    flt.limit = -1;
    assert_int_equal(store_job_list(f->s, &flt, &p, &err), -CHIME_ERANGE);
}

/* ---- plans ---- */

/* A plan with every column set, for version VERSION. */
int main(void)
{
    const struct CMUnitTest tests[] = {

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
        T(test_store_job_put_keeps_every_version),
        T(test_store_job_put_of_an_equal_document_makes_no_version),
        T(test_store_job_put_that_differs_only_in_paused_makes_no_version),
        T(test_store_job_put_checks_the_expected_version),
        T(test_store_job_delete_hides_it_and_a_put_brings_it_back),
        T(test_store_job_put_of_invalid_json_leaves_no_trace),
        T(test_store_job_list_filters_by_namespace_and_label),
        T(test_store_job_list_pages_return_every_job_once),
        T(test_store_job_state_is_written_field_by_field),
        T(test_store_stores_sql_metacharacters_verbatim),
        T(test_store_bounds_huge_names_and_documents),
        T(test_store_job_list_refuses_bad_cursors_and_limits),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
