/* vocab_test.c: the vocabularies of vocab.h: every name goes to its value
 * and back, nothing else is a name, the columns say what the callers
 * relied on, and each table is exactly what the store's schema CHECK
 * constraints accept (read back from the database sqlite_schema.c made). */
#include "store/vocab.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/testutil.h"
#include "util/err.h"
#include "../banned.h"

static const char *const state_rows[] = {
#define X(id, name, ...) name,
    STORE_RUN_STATES(X)
#undef X
};

static const char *const reason_rows[] = {
#define X(id, name) name,
    STORE_REASONS(X)
#undef X
};

static const char *const event_rows[] = {
#define X(id, name, ...) name,
    STORE_EVENTS(X)
#undef X
};

static const char *const daemon_event_rows[] = {
#define X(id, name, ...) name,
    STORE_DAEMON_EVENTS(X)
#undef X
};

static const char *const role_rows[] = {
#define X(id, name) name,
    STORE_ROLES(X)
#undef X
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* the enums count the rows, from 1 */
_Static_assert(STORE_RUN_STATE_END == N(state_rows) + 1, "one run state per row");
_Static_assert(STORE_REASON_END == N(reason_rows) + 1, "one reason per row");

/* names that are no state and no reason: case, spaces, prefixes, empty,
 * "unknown" (what the name functions return outside the table), long */
static const char *const strangers[] = {
    "", "QUEUED", "Queued", "queued ", " queued", "queue", "queuedx", "unknown", "none",
    "catch-up", "timed out", "succeeded\n", "\xff\xfe",
    "queuedqueuedqueuedqueuedqueuedqueuedqueuedqueuedqueuedqueuedqueuedqueuedqueuedqueued",
};

static void test_vocab_run_state_names_round_trip(void **state)
{
    (void)state;
    for (int v = 1; v < STORE_RUN_STATE_END; v++) {
        enum store_run_state back = STORE_RUN_STATE_NONE;
        const char *name = store_run_state_name((enum store_run_state)v);
        struct err err = {0};

        assert_string_equal(name, state_rows[v - 1]);
        assert_int_equal(store_run_state_parse(name, "state", &back, &err), 0);
        assert_int_equal(back, v);
    }
    assert_string_equal(store_run_state_name(STORE_RUN_TIMED_OUT), "timed_out");
}

static void test_vocab_reason_names_round_trip(void **state)
{
    (void)state;
    for (int v = 1; v < STORE_REASON_END; v++) {
        enum store_reason back = STORE_REASON_NONE;
        const char *name = store_reason_name((enum store_reason)v);
        struct err err = {0};

        assert_string_equal(name, reason_rows[v - 1]);
        assert_int_equal(store_reason_parse(name, "reason", &back, &err), 0);
        assert_int_equal(back, v);
    }
    assert_string_equal(store_reason_name(STORE_REASON_CATCH_UP), "catch_up");
}

static void test_vocab_unknown_names_are_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
        enum store_run_state st = STORE_RUN_LOST;
        enum store_reason r = STORE_REASON_AFTER;
        struct err err = {0};

        assert_int_equal(store_run_state_parse(strangers[i], "state", &st, &err), -CHIME_EINVAL);
        assert_int_equal(st, STORE_RUN_LOST); /* untouched */
        assert_string_equal(err.field, "state");
        assert_non_null(strstr(err.msg, "is not a run state"));
        assert_int_equal(store_reason_parse(strangers[i], "reason", &r, &err), -CHIME_EINVAL);
        assert_int_equal(r, STORE_REASON_AFTER);
        assert_non_null(strstr(err.msg, "is not a run reason"));
    }
    {
        enum store_run_state st = STORE_RUN_LOST;
        struct err err = {0};

        assert_int_equal(store_run_state_parse(NULL, "state", &st, &err), -CHIME_EINVAL);
        assert_int_equal(st, STORE_RUN_LOST);
    }
    /* values outside the table have no name */
    assert_string_equal(store_run_state_name(STORE_RUN_STATE_NONE), "unknown");
    assert_string_equal(store_run_state_name(STORE_RUN_STATE_END), "unknown");
    assert_string_equal(store_run_state_name((enum store_run_state)-1), "unknown");
    assert_string_equal(store_reason_name(STORE_REASON_NONE), "unknown");
    assert_string_equal(store_reason_name(STORE_REASON_END), "unknown");
}

static void test_vocab_state_columns_say_final_and_exit(void **state)
{
    (void)state;
    assert_false(store_run_state_finished(STORE_RUN_QUEUED));
    assert_false(store_run_state_finished(STORE_RUN_RUNNING));
    for (int v = STORE_RUN_SUCCEEDED; v < STORE_RUN_STATE_END; v++)
        assert_true(store_run_state_finished((enum store_run_state)v));
    assert_false(store_run_state_finished(STORE_RUN_STATE_NONE));
    assert_false(store_run_state_finished(STORE_RUN_STATE_END));

    assert_int_equal(store_run_state_exit(STORE_RUN_SUCCEEDED), 0);
    assert_int_equal(store_run_state_exit(STORE_RUN_TIMED_OUT), 124); /* as timeout(1) */
    assert_int_equal(store_run_state_exit(STORE_RUN_FAILED), -1);     /* the process's */
    assert_int_equal(store_run_state_exit(STORE_RUN_CANCELLED), 1);
    assert_int_equal(store_run_state_exit(STORE_RUN_LOST), 1);
    assert_int_equal(store_run_state_exit(STORE_RUN_STATE_NONE), 1);
}

static void test_vocab_find_and_join(void **state)
{
    const char *const names[] = {NULL, "a", "bb", "c"};
    char buf[8];

    (void)state;
    assert_int_equal(vocab_find(names, 4, "bb"), 2);
    assert_int_equal(vocab_find(names, 4, "b"), -1);
    assert_int_equal(vocab_find(names, 4, NULL), -1);
    assert_string_equal(vocab_join(names, 4, ", ", buf, sizeof buf), "a, bb, ");
    assert_string_equal(vocab_join(names, 3, "|", buf, sizeof buf), "a|bb");
    assert_string_equal(vocab_join(names, 0, "|", buf, sizeof buf), "");
}

/* The quoted names of the "IN (...)" right after START in SQL, e.g.
 * START "state TEXT NOT NULL CHECK (state". Returns how many
 * went into OUT (at most MAX), each an owned string; -1 if not found. */
static int check_list(const char *sql, const char *start, char **out, int max)
{
    const char *p = strstr(sql, start), *end;
    int n = 0;

    if (!p)
        return -1;
    p += strlen(start);
    p += strspn(p, " \n");
    if (strncmp(p, "IN", 2) != 0)
        return -1;
    p += 2;
    p += strspn(p, " \n");
    if (*p != '(')
        return -1;
    end = strchr(p, ')');
    for (p = strchr(p, '\''); p && p < end && n < max; p = strchr(p, '\'')) {
        const char *q = strchr(p + 1, '\'');

        out[n++] = strndup(p + 1, (size_t)(q - p - 1));
        p = q + 1;
    }
    return n;
}

static char *table_sql(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st = NULL;
    char *sql = NULL;

    assert_int_equal(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = ?1", -1,
                                        &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sql = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return sql;
}

/* The CHECK list after START in TABLE's schema is ROWS, as a set. */
static void assert_check_is(sqlite3 *db, const char *table, const char *start,
                            const char *const *rows, int n_rows)
{
    char *sql = table_sql(db, table), *got[32];
    int n = check_list(sql, start, got, 32);

    if (n != n_rows)
        fail_msg("%s: the CHECK after '%s' lists %d names, the table %d rows", table, start, n,
                 n_rows);
    for (int i = 0; i < n_rows; i++) {
        bool found = false;

        for (int k = 0; k < n; k++)
            found = found || !strcmp(got[k], rows[i]);
        if (!found)
            fail_msg("%s: the CHECK after '%s' refuses '%s'", table, start, rows[i]);
    }
    for (int k = 0; k < n; k++)
        free(got[k]);
    free(sql);
}

static void test_vocab_tables_are_what_the_schema_checks_accept(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = testdir_sqlite(&f->t);

    assert_check_is(db, "runs", "state TEXT NOT NULL CHECK (state", state_rows, N(state_rows));
    assert_check_is(db, "runs", "reason TEXT NOT NULL CHECK (reason", reason_rows,
                    N(reason_rows));
    assert_check_is(db, "outbox", "event TEXT NOT NULL CHECK (event", event_rows, N(event_rows));
    /* a daemon event, and only one, has no job */
    assert_check_is(db, "outbox", "CHECK ((job_id IS NULL) = (event", daemon_event_rows,
                    N(daemon_event_rows));
    assert_check_is(db, "tokens", "role TEXT NOT NULL CHECK (role", role_rows, N(role_rows));

    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_run_state_names_round_trip),
        cmocka_unit_test(test_vocab_reason_names_round_trip),
        cmocka_unit_test(test_vocab_unknown_names_are_refused),
        cmocka_unit_test(test_vocab_state_columns_say_final_and_exit),
        cmocka_unit_test(test_vocab_find_and_join),
        cmocka_unit_test_setup_teardown(test_vocab_tables_are_what_the_schema_checks_accept,
                                        fixture_setup, fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
