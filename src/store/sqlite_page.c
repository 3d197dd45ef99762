/* sqlite_page.c: the one keyset page reader behind every SQLite list.
 *
 * A list's statement orders its rows by a unique key and starts past a
 * bound (backend.h: the cursor is the key of the previous page's last
 * row). The reader checks the cursor before it takes a connection, so a
 * malformed one reads nothing; binds the key and LIMIT + 1; steps; and
 * stops at the extra row, whose presence is what gives the page a next
 * cursor (the key of the page's last item). A last page is thus never
 * empty, and a cursor past the end gives an empty page with no cursor.
 * On any failure every item read so far is released. */
#include "store/sqlite_int.h"

#include <stdlib.h>

#include "store/backend.h"
#include "util/err.h"
#include "../banned.h"

static void page_release(const struct sqlite_list *l, struct sqlite_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        l->release((char *)p->items + i * l->size);
    free(p->items);
}

static int page_rows(struct sqlite_conn *c, const struct sqlite_list *l, sqlite_list_stmt *stmt,
                     const void *arg, const struct store_key *after, int limit,
                     struct sqlite_page *ret, struct err *err)
{
    struct sqlite_page p = {0};
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    if ((rc = stmt(c, arg, &st, err)) < 0)
        return rc;
    if (l->key_param > 0) {
        if (l->key == STORE_KEY_NAMES) {
            sqlite_bind_str(st, l->key_param, after->s[0]);
            sqlite_bind_str(st, l->key_param + 1, after->s[1]);
        } else {
            sqlite_bind_i64(st, l->key_param, after->n[0]);
            if (l->key == STORE_KEY_PAIR)
                sqlite_bind_i64(st, l->key_param + 1, after->n[1]);
        }
    }
    if (limit > 0)
        sqlite_bind_i64(st, l->limit_param, (int64_t)limit + 1); /* is there a next page? */
    while ((rc = sqlite_row(c, st, l->what, err)) == 1) {
        void *item;

        if (limit > 0 && p.n == (size_t)limit) {
            struct store_key k;

            l->key_of((char *)p.items + (p.n - 1) * l->size, &k);
            store_key_cursor(l->key, &k, p.next_cursor);
            rc = 0;
            break;
        }
        if ((rc = sqlite_grow(&p.items, &cap, p.n, l->size, err)) < 0)
            break;
        item = (char *)p.items + p.n * l->size;
        if ((rc = l->fill(st, item, err)) < 0) {
            l->release(item);
            break;
        }
        p.n++;
    }
    sqlite3_reset(st);
    if (rc < 0) {
        page_release(l, &p);
        return rc;
    }
    *ret = p;
    return 0;
}

int sqlite_page_read(struct sqlite_store *b, const struct sqlite_list *l, sqlite_list_stmt *stmt,
                     const void *arg, const char *cursor, int limit, struct sqlite_page *ret,
                     struct err *err)
{
    struct sqlite_conn *c;
    struct store_key after;
    int rc;

    if (l->key_param == 0 && cursor && *cursor)
        return err_set(err, CHIME_EINVAL, "cursor", "this list has no pages");
    if ((rc = store_key_parse(l->key, cursor, l->first, &after, err)) < 0)
        return rc;
    c = sqlite_reader_take(b);
    rc = page_rows(c, l, stmt, arg, &after, limit, ret, err);
    sqlite_reader_give(b, c);
    return rc;
}
