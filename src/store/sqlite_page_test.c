/* sqlite_page_test.c: the keyset page reader (sqlite_page.c) on its own,
 * over a statement that counts 1..N oldest first: the page edges, a
 * cursor past the end, a refused cursor, and a row that fails. */
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

/* An item owns memory, so a page that is not released leaks. */
struct item {
    int64_t x;
    char *text;
};

/* The statement's rows and what the callbacks saw. */
struct numbers {
    int64_t rows;    /* the statement yields 1..rows */
    int prepared;    /* times the statement was asked for */
    sqlite3_stmt *st;
};

static int numbers_stmt(struct sqlite_conn *c, const void *arg, sqlite3_stmt **ret,
                        struct err *err)
{
    struct numbers *n = (struct numbers *)arg;

    (void)err;
    n->prepared++;
    if (!n->st)
        assert_int_equal(sqlite3_prepare_v2(c->db,
                                            "WITH RECURSIVE n(x) AS (SELECT 1 WHERE ?2 > 0"
                                            " UNION ALL SELECT x + 1 FROM n WHERE x < ?2)"
                                            " SELECT x, 'row ' || x FROM n WHERE x > ?1"
                                            " ORDER BY x LIMIT ?3",
                                            -1, &n->st, NULL),
                         SQLITE_OK);
    sqlite_bind_i64(n->st, 2, n->rows);
    *ret = n->st;
    return 0;
}

static int64_t fail_at; /* item_fill refuses this row (0: none) */

static int item_fill(sqlite3_stmt *st, void *p, struct err *err)
{
    struct item *it = p;

    it->x = sqlite3_column_int64(st, 0);
    it->text = strdup((const char *)sqlite3_column_text(st, 1));
    if (it->x == fail_at)
        return err_set(err, CHIME_EIO, NULL, "row %lld is bad", (long long)it->x);
    return 0;
}

static void item_release(void *p)
{
    struct item *it = p;

    free(it->text);
    it->text = NULL;
}

static void item_key(const void *p, struct store_key *ret)
{
    ret->n[0] = ((const struct item *)p)->x;
}

static const struct sqlite_list numbers_list = {
    .what = "list numbers", .key = STORE_KEY_ONE, .first = 0, .key_param = 1,
    .limit_param = 3, .size = sizeof(struct item), .fill = item_fill,
    .release = item_release, .key_of = item_key,
};

struct pager {
    struct sqlite_store *b;
    struct testdir t;
    struct numbers n;
};

static int pager_setup(void **state)
{
    struct pager *p = calloc(1, sizeof *p);
    struct store_options o = {.readers = 1};
    struct err err = {0};
    struct store *s = NULL;

    testdir_make(&p->t);
    o.path = p->t.dir;
    /* a store creates the schema; the backend is then opened on its own */
    assert_int_equal(store_open(&o, &s, &err), 0);
    store_close(s);
    assert_int_equal(sqlite_backend.open(&o, (void **)&p->b, &err), 0);
    fail_at = 0;
    *state = p;
    return 0;
}

static int pager_teardown(void **state)
{
    struct pager *p = *state;

    sqlite3_finalize(p->n.st);
    sqlite_backend.close(p->b);
    testdir_remove(&p->t);
    free(p);
    return 0;
}

/* A page of LIMIT after CURSOR over 1..ROWS; asserts it reads and returns it. */
static struct sqlite_page page(struct pager *p, int64_t rows, const char *cursor, int limit)
{
    struct sqlite_page pg;
    struct err err = {0};

    p->n.rows = rows;
    assert_int_equal(sqlite_page_read(p->b, &numbers_list, numbers_stmt, &p->n, cursor, limit,
                                      &pg, &err),
                     0);
    return pg;
}

static void page_free(struct sqlite_page *pg)
{
    struct item *it = pg->items;

    for (size_t i = 0; i < pg->n; i++)
        item_release(&it[i]);
    free(pg->items);
}

static void test_page_of_nothing_is_empty_and_last(void **state)
{
    struct pager *p = *state;
    struct sqlite_page pg = page(p, 0, NULL, 3);

    assert_int_equal(pg.n, 0);
    assert_string_equal(pg.next_cursor, "");
    page_free(&pg);
}

static void test_page_of_exactly_limit_rows_has_no_next_cursor(void **state)
{
    struct pager *p = *state;
    struct sqlite_page pg = page(p, 3, "", 3);
    struct item *it = pg.items;

    assert_int_equal(pg.n, 3);
    assert_int_equal(it[0].x, 1);
    assert_int_equal(it[2].x, 3);
    assert_string_equal(it[2].text, "row 3");
    assert_string_equal(pg.next_cursor, ""); /* never an empty last page */
    page_free(&pg);
}

static void test_page_of_limit_plus_one_rows_names_the_next(void **state)
{
    struct pager *p = *state;
    struct sqlite_page pg = page(p, 4, NULL, 3), next;
    struct item *it;

    assert_int_equal(pg.n, 3);
    assert_string_equal(pg.next_cursor, "3");
    next = page(p, 4, pg.next_cursor, 3);
    it = next.items;
    assert_int_equal(next.n, 1);
    assert_int_equal(it[0].x, 4);
    assert_string_equal(next.next_cursor, "");
    page_free(&pg);
    page_free(&next);
}

static void test_pages_walk_every_row_once(void **state)
{
    struct pager *p = *state;
    char cursor[STORE_CURSOR_MAX] = "";
    int64_t seen = 0;
    int pages = 0;

    do {
        struct sqlite_page pg = page(p, 10, cursor, 3);
        struct item *it = pg.items;

        for (size_t i = 0; i < pg.n; i++)
            assert_int_equal(it[i].x, ++seen);
        memcpy(cursor, pg.next_cursor, sizeof cursor);
        page_free(&pg);
        pages++;
    } while (cursor[0]);
    assert_int_equal(seen, 10);
    assert_int_equal(pages, 4);
}

static void test_page_past_the_end_is_empty_and_last(void **state)
{
    struct pager *p = *state;
    struct sqlite_page pg = page(p, 4, "100", 3);

    assert_int_equal(pg.n, 0);
    assert_string_equal(pg.next_cursor, "");
    page_free(&pg);
}

static void test_page_refuses_a_bad_cursor_before_reading(void **state)
{
    static const char *const bad[] = {
        "x", "1x", "-", ".", "1.2", "1 ", " 1", "+1", "0x10", "1\n",
        "99999999999999999999", "../../etc/passwd", "%s%s%n", "3;DROP TABLE runs",
        "\xc3\xa9", "\xff\xfe",
    };
    struct pager *p = *state;
    char longest[4096];

    memset(longest, '9', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
        const char *c = i < sizeof bad / sizeof bad[0] ? bad[i] : longest;
        struct sqlite_page pg = {.n = 77};
        struct err err = {0};

        p->n.rows = 4;
        assert_int_equal(sqlite_page_read(p->b, &numbers_list, numbers_stmt, &p->n, c, 3, &pg,
                                          &err),
                         -CHIME_EINVAL);
        assert_string_equal(err.field, "cursor");
        assert_non_null(strstr(err.msg, "is not a cursor of this list"));
        assert_int_equal(p->n.prepared, 0); /* nothing was read */
        assert_int_equal(pg.n, 77);         /* nor written */
    }
}

static void test_page_without_a_key_refuses_any_cursor(void **state)
{
    struct sqlite_list all = numbers_list;
    struct pager *p = *state;
    struct sqlite_page pg;
    struct err err = {0};

    all.key_param = 0;
    assert_int_equal(sqlite_page_read(p->b, &all, numbers_stmt, &p->n, "1", 0, &pg, &err),
                     -CHIME_EINVAL);
    assert_string_equal(err.field, "cursor");
    assert_int_equal(p->n.prepared, 0);
}

static void test_page_failing_row_releases_what_it_read(void **state)
{
    struct pager *p = *state;
    struct sqlite_page pg = {.n = 77};
    struct err err = {0};

    fail_at = 2;
    p->n.rows = 4;
    assert_int_equal(sqlite_page_read(p->b, &numbers_list, numbers_stmt, &p->n, NULL, 3, &pg,
                                      &err),
                     -CHIME_EIO);
    assert_string_equal(err.msg, "row 2 is bad");
    assert_int_equal(pg.n, 77); /* untouched; the leak checker sees the rest */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, pager_setup, pager_teardown)
        T(test_page_of_nothing_is_empty_and_last),
        T(test_page_of_exactly_limit_rows_has_no_next_cursor),
        T(test_page_of_limit_plus_one_rows_names_the_next),
        T(test_pages_walk_every_row_once),
        T(test_page_past_the_end_is_empty_and_last),
        T(test_page_refuses_a_bad_cursor_before_reading),
        T(test_page_without_a_key_refuses_any_cursor),
        T(test_page_failing_row_releases_what_it_read),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
