/* sqlite_tokens_test.c: tokens and the audit log in SQLite: the
 * migration that adds them, names, revocation, audit entries written with
 * the change they record, filters, pages and pruning. */
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

static struct store_token token(const char *key, const char *name, const char *role,
                                const char *ns)
{
    struct store_token t = {0};

    snprintf(t.key, sizeof t.key, "%s", key);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.role, sizeof t.role, "%s", role);
    t.namespaces = (char *)ns;
    memset(t.hash, 0xab, 32);
    t.hash_len = 32;
    t.created_us = 100;
    t.expires_us = STORE_NULL;
    t.revoked_us = STORE_NULL;
    return t;
}

static void test_store_migrates_a_schema_2_database_to_tokens_and_audit(void **state)
{
    struct testdir t;
    struct store *s = NULL;
    struct store_options o = {0};
    struct store_job j;
    struct err err = {0};
    sqlite3 *db;
    int64_t n = -1;
    size_t two = 0;

    (void)state;
    testdir_make(&t);
    db = testdir_sqlite(&t);
    while (two < sqlite_n_migrations && sqlite_migrations[two].version <= 2)
        two++;
    assert_int_equal(sqlite_migrate(db, sqlite_migrations, two, 1, &err), 0);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO jobs (namespace, name, version, created_us,"
                                  " updated_us) VALUES ('default', 'old', 1, 1, 1);"
                                  "INSERT INTO job_versions (job_id, version, doc, created_us)"
                                  " VALUES (1, 1, '{\"name\":\"old\"}', 1);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'tokens'"),
                     0);
    sqlite3_close(db);
    o.path = t.dir;
    assert_int_equal(store_open(&o, &s, &err), 0);
    assert_int_equal(store_token_count(s, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_job_get(s, "default", "old", &j, &err), 0);
    store_job_release(&j);
    assert_int_equal(store_check(s, &err), 0);
    store_close(s);
    db = testdir_sqlite(&t);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM schema_version WHERE version = 3"), 1);
    assert_int_equal(testdir_query(db, "SELECT count(*) FROM sqlite_master"
                                       " WHERE name IN ('tokens', 'audit')"),
                     2);
    sqlite3_close(db);
    testdir_remove(&t);
}

static void test_store_tokens_are_found_by_key_and_named_once_while_live(void **state)
{
    struct fixture *f = *state;
    struct store_token a = token("aaaa", "ci", "operator", "[\"t1\",\"t2\"]"), b, got;
    struct store_token_page p = {0};
    struct err err = {0};
    int64_t id = 0, n = 0;

    assert_int_equal(store_token_insert(f->s, &a, &id, &err), 0);
    assert_true(id > 0);
    assert_int_equal(store_token_get(f->s, "aaaa", &got, &err), 0);
    assert_string_equal(got.name, "ci");
    assert_string_equal(got.role, "operator");
    assert_string_equal(got.namespaces, "[\"t1\",\"t2\"]");
    assert_int_equal(got.hash_len, 32);
    assert_memory_equal(got.hash, a.hash, 32);
    assert_true(got.expires_us == STORE_NULL && got.revoked_us == STORE_NULL);
    store_token_release(&got);
    assert_int_equal(store_token_get(f->s, "nope", &got, &err), -CHIME_ENOTFOUND);
    /* a second live token of that name is a conflict */
    b = token("bbbb", "ci", "viewer", NULL);
    assert_int_equal(store_token_insert(f->s, &b, NULL, &err), -CHIME_ECONFLICT);
    assert_string_equal(err.field, "name");
    /* revoked, the name is free again; the old row stays */
    assert_int_equal(store_token_revoke(f->s, "ci", 500, &err), 0);
    assert_int_equal(store_token_revoke(f->s, "ci", 600, &err), -CHIME_ENOTFOUND);
    assert_int_equal(store_token_insert(f->s, &b, NULL, &err), 0);
    assert_int_equal(store_token_get(f->s, "aaaa", &got, &err), 0);
    assert_int_equal(got.revoked_us, 500);
    store_token_release(&got);
    /* the same key twice is refused by the unique key */
    b = token("bbbb", "other", "viewer", NULL);
    assert_true(store_token_insert(f->s, &b, NULL, &err) < 0);
    /* a malformed namespace list is refused by the table */
    b = token("cccc", "bad", "viewer", "[unclosed");
    assert_true(store_token_insert(f->s, &b, NULL, &err) < 0);
    b = token("dddd", "bad", "root", NULL);
    assert_true(store_token_insert(f->s, &b, NULL, &err) < 0);
    assert_int_equal(store_token_count(f->s, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_token_list(f->s, false, NULL, 0, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.items[0].key, "bbbb");
    store_token_page_release(&p);
    assert_int_equal(store_token_list(f->s, true, NULL, 1, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.items[0].key, "aaaa");
    assert_string_not_equal(p.next_cursor, "");
    {
        char cursor[STORE_CURSOR_MAX];

        snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
        store_token_page_release(&p);
        assert_int_equal(store_token_list(f->s, true, cursor, 1, &p, &err), 0);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.items[0].key, "bbbb");
        assert_string_equal(p.next_cursor, "");
        store_token_page_release(&p);
    }
}

static struct store_audit entry(int64_t at, const char *token, const char *ns, const char *name,
                                int64_t status)
{
    struct store_audit a;

    store_audit_init(&a);
    a.at_us = at;
    a.token = (char *)token;
    a.address = "127.0.0.1";
    a.method = "POST";
    a.route = "/api/v1/jobs";
    a.target = "/api/v1/jobs";
    if (ns) {
        snprintf(a.ns, sizeof a.ns, "%s", ns);
        snprintf(a.name, sizeof a.name, "%s", name);
    }
    a.status = status;
    return a;
}

static void test_store_audit_entry_goes_with_its_change_or_not_at_all(void **state)
{
    struct fixture *f = *state;
    struct store_op put = {.kind = STORE_OP_JOB_PUT}, au = {.kind = STORE_OP_AUDIT_INSERT};
    struct store_op del = {.kind = STORE_OP_JOB_DELETE};
    struct store_op *ops[2] = {&put, &au};
    struct store_audit_filter flt = {.ns = "t1", .name = "j"};
    struct store_audit_page p = {0};
    struct err err = {0};

    put.job_put.ns = "t1";
    put.job_put.name = "j";
    put.job_put.doc = "{\"name\":\"j\"}";
    put.job_put.now_us = 10;
    au.audit_insert.entry = entry(10, "admin", "t1", "j", 201);
    au.audit_insert.after = &put;
    assert_int_equal(store_exec_all(f->s, ops, 2), 0);
    assert_int_equal(put.rc, 0);
    assert_int_equal(au.rc, 0);
    assert_true(au.ret_id > 0);
    /* the same again, expected new: the put fails, and so no entry */
    put.job_put.expect_version = STORE_NEW;
    au.audit_insert.entry = entry(11, "admin", "t1", "j", 201);
    assert_int_equal(store_exec_all(f->s, ops, 2), 0);
    assert_int_equal(put.rc, -CHIME_ECONFLICT);
    assert_int_equal(au.rc, 0);
    assert_int_equal(au.ret_id, 0);
    /* a new version: version_after comes from the put */
    put.job_put.expect_version = 0;
    put.job_put.doc = "{\"name\":\"j\",\"x\":1}";
    au.audit_insert.entry = entry(12, "admin", "t1", "j", 200);
    au.audit_insert.entry.version_before = 1;
    assert_int_equal(store_exec_all(f->s, ops, 2), 0);
    /* a delete: version_before comes from it */
    del.job_delete.ns = "t1";
    del.job_delete.name = "j";
    del.job_delete.now_us = 13;
    ops[0] = &del;
    au.audit_insert.entry = entry(13, "admin", "t1", "j", 204);
    au.audit_insert.after = &del;
    assert_int_equal(store_exec_all(f->s, ops, 2), 0);
    assert_int_equal(del.rc, 0);
    assert_int_equal(store_audit_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.items[0].status, 204);
    assert_int_equal(p.items[0].version_before, 2);
    assert_true(p.items[0].version_after == STORE_NULL);
    assert_int_equal(p.items[1].version_before, 1);
    assert_int_equal(p.items[1].version_after, 2);
    assert_true(p.items[2].version_before == STORE_NULL);
    assert_int_equal(p.items[2].version_after, 1);
    assert_string_equal(p.items[2].token, "admin");
    assert_string_equal(p.items[2].address, "127.0.0.1");
    assert_string_equal(p.items[2].ns, "t1");
    assert_string_equal(p.items[2].name, "j");
    store_audit_page_release(&p);
}

static void test_store_audit_filters_pages_and_prunes(void **state)
{
    struct fixture *f = *state;
    struct store_audit_filter flt = {0};
    struct store_audit_page p = {0};
    struct err err = {0};
    char cursor[STORE_CURSOR_MAX];
    int64_t n = 0;

    for (int i = 1; i <= 10; i++) {
        struct store_audit a = entry(i * 100, i % 2 ? "alice" : "bob", i <= 5 ? "t1" : "t2",
                                     i <= 5 ? "a" : "b", 200);

        assert_int_equal(store_audit_insert(f->s, &a, NULL, &err), 0);
    }
    {
        struct store_audit a = entry(1100, "alice", NULL, NULL, 201);

        assert_int_equal(store_audit_insert(f->s, &a, NULL, &err), 0);
    }
    assert_int_equal(store_audit_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 11);
    flt.token = "bob";
    assert_int_equal(store_audit_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 5);
    flt.ns = "t2";
    flt.name = "b";
    assert_int_equal(store_audit_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 3); /* 6, 8, 10 */
    flt = (struct store_audit_filter){.since_us = 300, .until_us = 700};
    assert_int_equal(store_audit_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 4);
    flt = (struct store_audit_filter){.ns_in = "[\"t1\"]"};
    assert_int_equal(store_audit_count(f->s, &flt, &n, &err), 0);
    assert_int_equal(n, 5);
    /* pages of 4, newest first, nothing twice */
    flt = (struct store_audit_filter){.limit = 4};
    assert_int_equal(store_audit_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 4);
    assert_int_equal(p.items[0].at_us, 1100);
    assert_int_equal(p.items[3].at_us, 800);
    snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
    store_audit_page_release(&p);
    flt.cursor = cursor;
    assert_int_equal(store_audit_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.items[0].at_us, 700);
    store_audit_page_release(&p);
    flt.cursor = "garbage";
    assert_int_equal(store_audit_list(f->s, &flt, &p, &err), -CHIME_EINVAL);
    /* a filter on a namespace alone is not a job */
    flt = (struct store_audit_filter){.ns = "t1"};
    assert_int_equal(store_audit_list(f->s, &flt, &p, &err), -CHIME_EINVAL);
    /* pruning: older than 300, then all but the newest 5 */
    assert_int_equal(store_audit_prune(f->s, 300, 0, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_audit_prune(f->s, 0, 5, &n, &err), 0);
    assert_int_equal(n, 4);
    flt = (struct store_audit_filter){0};
    assert_int_equal(store_audit_list(f->s, &flt, &p, &err), 0);
    assert_int_equal(p.n, 5);
    assert_int_equal(p.items[4].at_us, 700);
    store_audit_page_release(&p);
    assert_int_equal(store_audit_prune(f->s, 0, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_audit_prune(f->s, -1, 0, &n, &err), -CHIME_EINVAL);
}

static void test_store_lists_keep_to_the_namespaces_given(void **state)
{
    struct fixture *f = *state;
    struct store_job_filter jf = {.ns_in = "[\"t1\",\"t3\"]"};
    struct store_job_page jp = {0};
    struct store_run_filter rf = {.ns_in = "[\"t2\"]"};
    struct store_run_page rp = {0};
    struct store_dead_filter df = {.ns_in = "[\"t1\"]"};
    struct store_dead_page dp = {0};
    struct err err = {0};
    int64_t a = fixture_job(f->s, "t1", "a", "{}"), b = fixture_job(f->s, "t2", "b", "{}");
    int64_t ra, rb, n = 0;

    fixture_job(f->s, "t3", "c", "{}");
    ra = fixture_run(f->s, a, 1000, 1, STORE_RUN_FAILED);
    rb = fixture_run(f->s, b, 2000, 1, STORE_RUN_FAILED);
    assert_int_equal(store_dead_insert(f->s, ra, "x", 1, &err), 0);
    assert_int_equal(store_dead_insert(f->s, rb, "x", 1, &err), 0);
    assert_int_equal(store_job_list(f->s, &jf, &jp, &err), 0);
    assert_int_equal(jp.n, 2);
    assert_string_equal(jp.items[0].ns, "t1");
    assert_string_equal(jp.items[1].ns, "t3");
    store_job_page_release(&jp);
    assert_int_equal(store_job_count(f->s, &jf, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_run_list(f->s, &rf, &rp, &err), 0);
    assert_int_equal(rp.n, 1);
    assert_int_equal(rp.items[0].id, rb);
    store_run_page_release(&rp);
    assert_int_equal(store_run_count(f->s, &rf, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_dead_list(f->s, &df, &dp, &err), 0);
    assert_int_equal(dp.n, 1);
    assert_int_equal(dp.items[0].run_id, ra);
    store_dead_page_release(&dp);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_migrates_a_schema_2_database_to_tokens_and_audit),
        T(test_store_tokens_are_found_by_key_and_named_once_while_live),
        T(test_store_audit_entry_goes_with_its_change_or_not_at_all),
        T(test_store_audit_filters_pages_and_prunes),
        T(test_store_lists_keep_to_the_namespaces_given),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
