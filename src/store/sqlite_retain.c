/* sqlite_retain.c: retention in SQLite, the retain op (store.h).
 *
 * A step never costs more than what it keeps plus what it deletes: every
 * statement walks an index from one end and stops at a limit, so a job
 * with a million runs or a table of ten million costs a step no more than
 * a job with a hundred. A job's limits are found first (its plan's retain_*
 * columns, else the daemon's defaults), then its cut-offs, each one
 * indexed query: the newest run past the count (OFFSET over runs_by_job),
 * the newest run past the output cap (a running sum over the runs the count
 * keeps), and the age. Then one DELETE takes the oldest runs up to the
 * cut-offs, LIMIT what is left of the op's budget. Dead letters expire
 * first (by age and by their own count), so a run whose dead letter has
 * expired falls under the ordinary limits in the same step. */
#include "store/sqlite_int.h"

#include <inttypes.h>
#include <stdlib.h>

#include "store/backend.h"
#include "util/err.h"
#include "../banned.h"

/* "No lower bound" (INT64_MIN itself is STORE_NULL, bound as NULL). */
#define LOWEST_US (INT64_MIN + 1)
#define RETAIN_MAX_DEFAULT 1000
#define RETAIN_JOBS_DEFAULT 256
/* A failed run that ended this recently is left alone: its dead letter
 * may be a write behind it (the engine submits the two one after the
 * other), and a run deleted first would lose it. */
#define SETTLE_US INT64_C(2000000)

struct limits {
    int64_t job_id;
    int64_t runs, for_us, output, dead_letters; /* 0: none */
};

/* Reads up to N jobs after AFTER with their limits into L; *RET_N. */
static int read_jobs(struct sqlite_conn *c, const struct store_op *op, int64_t after, int64_t n,
                     struct limits *l, size_t *ret_n, struct err *err)
{
    const struct store_retention *d = &op->retain.def;
    sqlite3_stmt *st = NULL;
    size_t k = 0;
    int rc;

    if ((rc = sqlite_stmt(c, SQ_RETAIN_JOBS, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, after);
    sqlite_bind_i64(st, 2, d->runs);
    sqlite_bind_i64(st, 3, d->for_us);
    sqlite_bind_i64(st, 4, d->output);
    sqlite_bind_i64(st, 5, d->dead_letters);
    sqlite_bind_i64(st, 6, n);
    while ((rc = sqlite_row(c, st, "read retention", err)) == 1 && (int64_t)k < n) {
        l[k].job_id = sqlite3_column_int64(st, 0);
        l[k].runs = sqlite3_column_int64(st, 1);
        l[k].for_us = sqlite3_column_int64(st, 2);
        l[k].output = sqlite3_column_int64(st, 3);
        l[k].dead_letters = sqlite3_column_int64(st, 4);
        k++;
    }
    sqlite3_reset(st);
    if (rc < 0)
        return rc;
    *ret_n = k;
    return 0;
}

/* One row of two numbers (or one) from statement ST, bound already:
 * 1 and *A, *B; 0 when there is none. */
static int pair_row(struct sqlite_conn *c, sqlite3_stmt *st, int64_t *a, int64_t *b,
                    struct err *err)
{
    int rc = sqlite_row(c, st, "read retention cut-off", err);

    if (rc == 1) {
        *a = sqlite3_column_int64(st, 0);
        if (b)
            *b = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc;
}

/* Expires job L's dead letters past its newest dead_letters or fired
 * before BEFORE; the runs stay (the ordinary limits decide on them). */
static int expire_dead(struct sqlite_conn *c, const struct limits *l, int64_t before,
                       int64_t *budget, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t cut = 0;
    int rc;

    if (l->dead_letters) {
        if ((rc = sqlite_stmt(c, SQ_RETAIN_DEAD_NTH, &st, err)) < 0)
            return rc;
        sqlite_bind_i64(st, 1, l->job_id);
        sqlite_bind_i64(st, 2, l->dead_letters);
        if ((rc = pair_row(c, st, &cut, NULL, err)) < 0)
            return rc;
    }
    if (!cut && before == LOWEST_US)
        return 0;
    if ((rc = sqlite_stmt(c, SQ_RETAIN_DEAD_DELETE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, l->job_id);
    sqlite_bind_i64(st, 2, cut);
    sqlite_bind_i64(st, 3, before);
    sqlite_bind_i64(st, 4, *budget);
    if ((rc = sqlite_run(c, st, "expire dead letters", err)) < 0)
        return rc;
    *budget -= sqlite3_changes(c->db);
    return 0;
}

/* Applies L to its job, deleting at most *BUDGET rows (and lowering it);
 * the deleted runs go to op->ret_ids. */
static int retain_job(struct sqlite_conn *c, struct store_op *op, const struct limits *l,
                      int64_t *budget, size_t *cap, struct err *err)
{
    int64_t now = op->retain.now_us;
    int64_t before = l->for_us ? now - l->for_us : LOWEST_US;
    int64_t cut_fire = LOWEST_US, cut_id = LOWEST_US, upper;
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = expire_dead(c, l, before, budget, err)) < 0 || *budget <= 0)
        return rc;
    if (l->runs) {
        if ((rc = sqlite_stmt(c, SQ_RETAIN_NTH, &st, err)) < 0)
            return rc;
        sqlite_bind_i64(st, 1, l->job_id);
        sqlite_bind_i64(st, 2, l->runs);
        if ((rc = pair_row(c, st, &cut_fire, &cut_id, err)) < 0)
            return rc;
    }
    if (l->output) {
        int64_t f = LOWEST_US, i = LOWEST_US;

        if ((rc = sqlite_stmt(c, SQ_RETAIN_OUTPUT, &st, err)) < 0)
            return rc;
        sqlite_bind_i64(st, 1, l->job_id);
        sqlite_bind_i64(st, 2, cut_fire);
        sqlite_bind_i64(st, 3, cut_id);
        sqlite_bind_i64(st, 4, l->output);
        if ((rc = pair_row(c, st, &f, &i, err)) < 0)
            return rc;
        if (rc == 1) {   /* newer than the count's cut-off, by the query */
            cut_fire = f;
            cut_id = i;
        }
    }
    if (cut_fire == LOWEST_US && before == LOWEST_US)
        return 0;
    upper = cut_fire > before ? cut_fire : before;
    if ((rc = sqlite_stmt(c, SQ_RETAIN_DELETE, &st, err)) < 0)
        return rc;
    sqlite_bind_i64(st, 1, l->job_id);
    sqlite_bind_i64(st, 2, cut_fire);
    sqlite_bind_i64(st, 3, cut_id);
    sqlite_bind_i64(st, 4, before);
    sqlite_bind_i64(st, 5, now - SETTLE_US);
    sqlite_bind_i64(st, 6, upper);
    sqlite_bind_i64(st, 7, *budget);
    while ((rc = sqlite_row(c, st, "delete runs", err)) == 1) {
        if ((rc = sqlite_grow(&op->ret_ids, cap, op->n_ret_ids, sizeof *op->ret_ids, err)) < 0)
            break;
        op->ret_ids[op->n_ret_ids++] = sqlite3_column_int64(st, 0);
        --*budget;
    }
    sqlite3_reset(st);
    return rc; /* on failure sqlite.c frees ret_ids */
}

int sqlite_retain(struct sqlite_conn *c, struct store_op *op, struct err *err)
{
    int64_t budget = op->retain.max ? op->retain.max : RETAIN_MAX_DEFAULT;
    int64_t n = op->retain.jobs ? op->retain.jobs : RETAIN_JOBS_DEFAULT;
    int64_t after = op->retain.after;
    struct limits *l;
    size_t cap = 0, got = 0, i;
    int rc;

    if (op->retain.job_id) {
        n = 1;
        after = op->retain.job_id - 1;
    }
    if (!(l = calloc((size_t)n, sizeof *l)))
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    rc = read_jobs(c, op, after, n, l, &got, err);
    if (op->retain.job_id && got == 1 && l[0].job_id != op->retain.job_id)
        got = 0; /* no such job: nothing to do */
    for (i = 0; rc == 0 && i < got && budget > 0; i++) {
        rc = retain_job(c, op, &l[i], &budget, &cap, err);
        if (rc == 0 && budget > 0)
            after = l[i].job_id; /* done with it (a job cut short is done again) */
    }
    free(l);
    if (rc < 0)
        return rc;
    op->ret_id = op->retain.job_id ? op->retain.job_id : after;
    op->ret_version = !op->retain.job_id && (int64_t)got < n && i == got && budget > 0;
    return 0;
}
