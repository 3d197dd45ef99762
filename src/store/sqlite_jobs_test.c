/* sqlite_jobs_test.c: jobs, their versions, state, lists, and hostile
 * names and documents. */
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
