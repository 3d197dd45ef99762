/* sqlite_users.c: each namespace's job user (store.h, ns_user_claim).
 *
 * The claim runs in the writer's transaction, so two claims never pick
 * the same uid, and the table's UNIQUE says so again. The walk merges the
 * range's taken uids (few: one per namespace) with the caller's avoid
 * list, so it costs the number of namespaces, not the size of the range. */
#include "store/sqlite_int.h"

#include <stdlib.h>

#include "util/err.h"
#include "../banned.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static bool avoided(const struct store_op *op, int64_t uid)
{
    return op->ns_user_claim.n_avoid
           && bsearch(&uid, op->ns_user_claim.avoid, op->ns_user_claim.n_avoid, sizeof uid,
                      cmp_i64);
}

/* The lowest free uid of the range at or after *CAND and below LIMIT; true
 * when found (in *CAND). */
static bool free_below(const struct store_op *op, int64_t *cand, int64_t limit)
{
    for (; *cand < limit; (*cand)++)
        if (!avoided(op, *cand))
            return true;
    return false;
}

int sqlite_ns_user_claim(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    int64_t lo = op->ns_user_claim.lo, hi = op->ns_user_claim.hi, cand = lo, uid = 0;
    sqlite3_stmt *st = NULL;
    bool found = false;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_NS_USER_GET, &st, err)) < 0)
        return rc;
    sqlite_bind_str(st, 1, op->ns_user_claim.ns);
    rc = sqlite_row(c, st, "read the namespace's user", err);
    if (rc == 1)
        uid = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc < 0)
        return rc;
    /* kept while the range still holds it: its files are that uid's */
    if (uid >= lo && uid <= hi && !avoided(op, uid)) {
        op->ret_id = uid;
        return 0;
    }
    if ((rc = sqlite_stmt(c, SQ_NS_USER_TAKEN, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, lo);
    sqlite_bind_i64(st, 2, hi);
    while (!found && (rc = sqlite_row(c, st, "read the namespaces' users", err)) == 1) {
        int64_t taken = sqlite3_column_int64(st, 0);

        found = free_below(op, &cand, taken);
        if (!found)
            cand = taken + 1;
    }
    sqlite3_reset(st);
    if (rc < 0)
        return rc;
    if (!found)
        found = free_below(op, &cand, hi + 1);
    if (!found)
        return err_set(err, CHIME_ERANGE, "uid_range",
                       "'%lld-%lld' is used up: every uid has a namespace or a user",
                       (long long)lo, (long long)hi);
    if ((rc = sqlite_stmt(c, SQ_NS_USER_PUT, &st, err)) < 0)
        return rc;
    sqlite_bind_str(st, 1, op->ns_user_claim.ns);
    sqlite_bind_i64(st, 2, cand);
    rc = sqlite_run(c, st, "keep the namespace's user", err);
    if (rc == 0)
        op->ret_id = cand;
    return rc;
}
