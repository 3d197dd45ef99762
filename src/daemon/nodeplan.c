/* nodeplan.c: the plans, the store's columns that start-up schedules by
 * (job/jobplan.c). The engine hands each job version it takes with a
 * body to node_plan_put() (its job_put op); the version's plan goes to
 * the store so that the next start-up schedules it without reading the
 * document. While loading (n->loading) the plans are gathered into
 * n->plans and written NODE_PLAN_BATCH to a transaction; afterwards each
 * is submitted on its own. */
#include "daemon/node_int.h"

#include <stdlib.h>

#include "job/job.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "../banned.h"

struct plan_op {
    struct store_op op;
    char *texts;                /* what op.job_plan.plan's texts point into */
};

static void plan_op_free(struct plan_op *o)
{
    if (o) {
        free(o->texts);
        free(o);
    }
}

/* Writes the plans gathered at start-up in one transaction. */
void node_plans_flush(struct node *n)
{
    struct store_op *ops[NODE_PLAN_BATCH];

    if (!n->n_plans)
        return;
    for (size_t i = 0; i < n->n_plans; i++)
        ops[i] = &n->plans[i]->op;
    if (n->io->exec_all(n, ops, n->n_plans) < 0)
        log_error("writing %zu job plans failed: %s", n->n_plans, ops[0]->err.msg);
    for (size_t i = 0; i < n->n_plans; i++)
        plan_op_free(n->plans[i]);
    n->n_plans = 0;
}

static void on_plan_written(struct store_op *op)
{
    /* a conflict: a newer version was put meanwhile, and its plan follows */
    if (op->rc < 0 && op->err.code != CHIME_ECONFLICT && op->err.code != CHIME_ENOTFOUND)
        log_error("writing a job plan failed: %s", op->err.msg);
    plan_op_free(op->data);
}

/* The plan P of job KEY (its texts in TEXTS, taken) goes to the store. */
void node_plan_write(struct node *n, int64_t key, const struct store_job_plan *p, char *texts)
{
    struct plan_op *o;

    if (key <= 0 || p->version <= 0 || !(o = n->io->alloc(n, sizeof *o))) {
        free(texts);
        return;
    }
    o->op.kind = STORE_OP_JOB_PLAN;
    o->op.data = o;
    o->op.job_plan.job_id = key;
    o->op.job_plan.plan = *p;
    o->texts = texts;
    if (n->loading) {
        n->plans[n->n_plans++] = o;
        if (n->n_plans == NODE_PLAN_BATCH)
            node_plans_flush(n);
    } else if (n->io->submit(n, &o->op, on_plan_written) < 0) {
        plan_op_free(o);
    }
}

/* A job version with its document's members: its plan goes to the store,
 * so that the next start-up schedules it without reading the document.
 * At start-up (the documents of jobs without a current plan) the plans
 * are written in batches; afterwards each is submitted. */
void node_plan_put(void *ctx, const struct job *j, int64_t key, int64_t version)
{
    struct store_job_plan p;
    char *texts = NULL;

    if (key > 0 && version > 0 && job_plan_make(j, version, &p, &texts) == 0)
        node_plan_write(ctx, key, &p, texts);
}
