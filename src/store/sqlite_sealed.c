/* sqlite_sealed.c: finding a stored job document that holds a given text,
 * for the daemon's start-up check of its secret key (store_job_doc_find).
 *
 * Start-up must not read every document (docs/sched.md: it reads plans),
 * so the caller bounds the search to the newest versions written, which
 * rowid order gives without a sort; the whole table is read only when it
 * asks for that (the key file is missing: a rare start). */
#include "store/sqlite_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../banned.h"

int sqlite_job_doc_find(void *h, const char *needle, int64_t newest, char **ret, size_t *ret_len,
                        struct err *err)
{
    static const char *const sql =
        "SELECT doc FROM (SELECT doc FROM job_versions ORDER BY rowid DESC LIMIT ?2)"
        " WHERE instr(doc, ?1) > 0 LIMIT 1";
    struct sqlite_store *b = h;
    struct sqlite_conn *c = sqlite_reader_take(b);
    sqlite3_stmt *st = NULL;
    char *doc = NULL;
    size_t len = 0;
    int rc;

    if (!c)
        return err_set(err, CHIME_EIO, NULL, "no database connection for reading");
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = err_set(err, CHIME_EIO, NULL, "search job documents: %s", sqlite3_errmsg(c->db));
        goto done;
    }
    sqlite3_bind_text(st, 1, needle, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, newest > 0 ? newest : -1);     /* -1: no limit */
    rc = sqlite_row(c, st, "search job documents", err);
    if (rc == 1)
        rc = sqlite_col_str(st, 0, &doc, &len, err);
done:
    sqlite3_finalize(st);
    sqlite_reader_give(b, c);
    if (rc < 0)
        return rc;
    *ret = doc;
    if (ret_len)
        *ret_len = len;
    return 0;
}
