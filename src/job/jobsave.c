/* jobsave.c: saving a batch of job versions (jobsave.h).
 *
 * Costs: the check reads each changed job's stored version once, and for
 * the cycle check the stored jobs its `after` lists reach, each once
 * (none for jobs that wait for nothing); the check itself is linear in
 * those jobs and their edges, whatever the length of a cycle. The write
 * is one transaction; the engine gets the batch in one call on its loop.
 * With JOBSAVE_EACH a change that closes a cycle is left out and the
 * check runs again without it, once per such change. */
#include "job/jobsave.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job/jobgraph.h"
#include "job/jobsecret.h"
#include "store/store.h"
#include "../banned.h"

struct jobsave {
    struct jobsave_options opt;
    struct jobsave_item *items;
    size_t n, cap;
    struct jobgraph *g; /* after the check: the jobs as they will be */
    char *scratch;      /* the check's: a canonical text as it is written */
    size_t scratch_cap;
};

int jobsave_new(const struct jobsave_options *opt, struct jobsave **ret, struct err *err)
{
    struct jobsave *b = calloc(1, sizeof *b);

    if (!b)
        return err_set(err, CHIME_ENOMEM, "", "out of memory saving jobs");
    b->opt = *opt;
    *ret = b;
    return 0;
}

void jobsave_free(struct jobsave *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        job_free(b->items[i].job);
        free(b->items[i].cur_doc);
        free(b->items[i].text);
    }
    free(b->items);
    free(b->scratch);
    jobgraph_free(b->g);
    free(b);
}

static struct jobsave_item *add(struct jobsave *b, struct err *err)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4;
        struct jobsave_item *more = realloc(b->items, cap * sizeof *more);

        if (!more) {
            err_set(err, CHIME_ENOMEM, "", "out of memory saving jobs");
            return NULL;
        }
        b->items = more;
        b->cap = cap;
    }
    b->items[b->n] = (struct jobsave_item){0};
    return &b->items[b->n++];
}

int jobsave_put(struct jobsave *b, struct job *j, int64_t expect, bool keep_paused, void *data,
                struct err *err)
{
    struct jobsave_item *it = add(b, err);

    if (!it) {
        job_free(j);
        return -CHIME_ENOMEM;
    }
    it->job = j;
    it->data = data;
    snprintf(it->ns, sizeof it->ns, "%s", j->ns);
    snprintf(it->name, sizeof it->name, "%s", j->name);
    job_id(j, it->id, sizeof it->id);
    it->expect = expect;
    it->keep_paused = keep_paused;
    it->cur_last_fire_us = INT64_MIN;
    return 0;
}

int jobsave_remove(struct jobsave *b, const char *ns, const char *name, void *data,
                   struct err *err)
{
    struct jobsave_item *it = add(b, err);

    if (!it)
        return -CHIME_ENOMEM;
    it->act = JOBSAVE_REMOVE;
    it->data = data;
    snprintf(it->ns, sizeof it->ns, "%s", ns);
    snprintf(it->name, sizeof it->name, "%s", name);
    snprintf(it->id, sizeof it->id, "%s/%s", ns, name);
    return 0;
}

size_t jobsave_count(const struct jobsave *b)
{
    return b->n;
}

struct jobsave_item *jobsave_item(struct jobsave *b, size_t i)
{
    return &b->items[i];
}

static bool sees(const struct jobsave *b, const char *ns)
{
    return !b->opt.sees || b->opt.sees(b->opt.ctx, ns);
}

/* Whether the saver sees the namespace of ID ("ns/name", read up to its
 * first '/': the rest of a longer text is not looked at). */
static bool sees_id(const struct jobsave *b, const char *id)
{
    const char *slash = strchr(id, '/');
    char ns[JOB_NAME_MAX + 1];

    snprintf(ns, sizeof ns, "%.*s", slash ? (int)(slash - id) : 0, id);
    return sees(b, ns);
}

static int fail(struct jobsave_item *it, const struct err *e)
{
    it->failed = true;
    it->err = *e;
    return -e->code;
}

/* The optimistic-concurrency check, as the store makes it at the write:
 * made here too because an unchanged job is not written. */
static int expect_check(struct jobsave_item *it, int64_t expect, struct err *err)
{
    if (expect == STORE_NEW && it->cur_version)
        return err_set(err, CHIME_ECONFLICT, "name", "job '%s' already exists", it->id);
    if (expect > 0 && !it->cur_version)
        return err_set(err, CHIME_ECONFLICT, "version",
                       "job '%s' does not exist, expected version %lld", it->id, (long long)expect);
    if (expect > 0 && it->cur_version != expect)
        return err_set(err, CHIME_ECONFLICT, "version", "job '%s' is at version %lld, not %lld",
                       it->id, (long long)it->cur_version, (long long)expect);
    return 0;
}

/* Reads the job's stored version into IT. */
static int read_current(struct jobsave *b, struct jobsave_item *it, struct err *err)
{
    struct store_job sj = {0};
    int rc = store_job_get(b->opt.store, it->ns, it->name, &sj, err);

    if (rc == -CHIME_ENOTFOUND)
        return it->act == JOBSAVE_REMOVE ? rc : 0;
    if (rc < 0)
        return rc;
    it->key = sj.id;
    it->cur_version = sj.version;
    it->cur_paused = sj.paused;
    it->cur_last_fire_us = sj.last_fire_us == STORE_NULL ? INT64_MIN : sj.last_fire_us;
    it->cur_doc = sj.doc;
    it->cur_len = sj.doc_len;
    sj.doc = NULL;
    store_job_release(&sj);
    return 0;
}

/* DOC as compact text, into IT (an allocation of its size). */
static int dump(struct jobsave *b, struct jobsave_item *it, const json_t *doc, struct err *err)
{
    size_t len = json_dumpb(doc, b->scratch, b->scratch_cap, JSON_COMPACT);

    if (len >= b->scratch_cap) {
        size_t cap = len + 1 > 4096 ? len + 1 : 4096;
        char *more = realloc(b->scratch, cap);

        if (!more)
            return err_set(err, CHIME_ENOMEM, "", "out of memory writing the job");
        b->scratch = more;
        b->scratch_cap = cap;
        len = json_dumpb(doc, b->scratch, b->scratch_cap, JSON_COMPACT);
    }
    if (!len || !(it->text = malloc(len + 1)))
        return err_set(err, CHIME_ENOMEM, "", "out of memory writing the job");
    memcpy(it->text, b->scratch, len);
    it->text[len] = '\0';
    it->len = len;
    return 0;
}

/* IT's canonical text, made once here for the write: the job's document
 * with its secrets sealed against the version they replace (an unchanged
 * or redacted one keeps its box: jobsecret.h). *RET_SAME: whether the
 * stored document is the same but for "paused" (one that is not JSON is
 * not). The trees live only while this runs. */
static int canonical(struct jobsave *b, struct jobsave_item *it, bool *ret_same, struct err *err)
{
    json_t *doc = job_to_json(it->job), *cur = NULL;
    int rc;

    if (!doc)
        return err_set(err, CHIME_ENOMEM, "", "out of memory writing the job");
    if (it->cur_doc)
        cur = json_loadb(it->cur_doc, it->cur_len, 0, NULL);
    rc = job_doc_seal(doc, cur, b->opt.secret_key, err);
    if (rc == 0)
        rc = dump(b, it, doc, err);
    if (rc == 0 && cur) {
        json_object_del(doc, "paused");
        json_object_del(cur, "paused");
        *ret_same = json_equal(doc, cur);
    }
    json_decref(doc);
    json_decref(cur);
    return rc;
}

/* Everything about one change but the dependencies. */
static int check_item(struct jobsave *b, struct jobsave_item *it, struct err *err)
{
    struct job *j = it->job;
    bool same = false;
    char sub[64];
    int rc;

    if (it->act == JOBSAVE_REMOVE)
        return read_current(b, it, err);
    /* a namespace the saver does not see has no jobs to save */
    if (!sees(b, it->ns))
        return err_set(err, CHIME_ENOTFOUND, "namespace", "namespace '%s' does not exist", it->ns);
    /* whether a job elsewhere exists, and when it runs, is not the
     * saver's business, and the answer is the same whether it exists */
    for (size_t i = 0; j->sched.kind == JOB_AFTER && i < j->sched.n_after; i++)
        if (!sees_id(b, j->sched.after[i])) {
            snprintf(sub, sizeof sub, "schedule.after[%zu]", i);
            return err_set(err, CHIME_EINVAL, sub, "'%s' is in a namespace this token cannot see",
                           j->sched.after[i]);
        }
    if (b->opt.check && (rc = b->opt.check(b->opt.ctx, j, err)) < 0)
        return rc;
    if ((rc = read_current(b, it, err)) < 0 || (rc = expect_check(it, it->expect, err)) < 0)
        return rc;
    if (it->keep_paused && it->cur_version)
        j->paused = it->cur_paused;
    if ((rc = canonical(b, it, &same, err)) < 0)
        return rc;
    if (!it->cur_version) {
        it->act = JOBSAVE_CREATE;
        return 0;
    }
    it->act = !same ? JOBSAVE_CHANGE
              : j->paused != it->cur_paused ? JOBSAVE_STATE
                                            : JOBSAVE_UNCHANGED;
    return 0;
}

/* ---- dependencies ---- */

/* The ids still to read from the store (owned). */
struct todo {
    char **ids;
    size_t n, cap;
};

static int todo_push(struct todo *t, char *const *ids, size_t n, struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 64;
            char **more = realloc(t->ids, cap * sizeof *more);

            if (!more)
                return err_set(err, CHIME_ENOMEM, "", "out of memory checking dependencies");
            t->ids = more;
            t->cap = cap;
        }
        if (!(t->ids[t->n] = strdup(ids[i])))
            return err_set(err, CHIME_ENOMEM, "", "out of memory checking dependencies");
        t->n++;
    }
    return 0;
}

/* Job ID as stored into the graph, its upstreams into T. One the store
 * does not have is known, and not a job. */
static int graph_add_stored(struct jobsave *b, const char *id, struct todo *t, struct err *err)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    struct store_job sj = {0};
    struct job *j = NULL;
    int rc = -CHIME_ENOTFOUND;

    if (job_id_parse(id, NULL, ns, name, NULL) == 0)
        rc = store_job_get(b->opt.store, ns, name, &sj, err);
    if (rc == -CHIME_ENOTFOUND) {
        rc = jobgraph_set(b->g, id, NULL, 0, err);
        jobgraph_remove(b->g, id);
        return rc;
    }
    if (rc < 0)
        return rc;
    /* a stored document that no longer parses waits for nothing */
    if (job_parse(sj.doc, sj.doc_len, ns, &j, NULL) == 0 && j->sched.kind == JOB_AFTER) {
        rc = jobgraph_set(b->g, id, (const char *const *)j->sched.after, j->sched.n_after, err);
        if (rc == 0)
            rc = todo_push(t, j->sched.after, j->sched.n_after, err);
    } else {
        rc = jobgraph_set(b->g, id, NULL, 0, err);
    }
    job_free(j);
    store_job_release(&sj);
    return rc;
}

/* The jobs as they will be, as far as the batch reaches: the batch's laid
 * over the store's, its removals gone (changes that failed leave the job
 * as stored). Only the jobs reachable from the batch's upstreams are read
 * from the store, each once: a cycle the batch closes runs through them,
 * and a batch of jobs that wait for nothing reads none. */
static int graph_build(struct jobsave *b, struct err *err)
{
    struct todo t = {0};
    int rc;

    jobgraph_free(b->g);
    b->g = NULL;
    if ((rc = jobgraph_new(&b->g, err)) < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        const struct jobsave_item *it = &b->items[i];
        const struct job *j = it->job;
        bool after = j && j->sched.kind == JOB_AFTER;

        if (it->failed)
            continue;
        if (it->act == JOBSAVE_REMOVE) {
            rc = jobgraph_set(b->g, it->id, NULL, 0, err);
            jobgraph_remove(b->g, it->id);
            continue;
        }
        rc = jobgraph_set(b->g, it->id, after ? (const char *const *)j->sched.after : NULL,
                          after ? j->sched.n_after : 0, err);
        if (rc == 0 && after)
            rc = todo_push(&t, j->sched.after, j->sched.n_after, err);
    }
    /* then what they wait for, as far as it goes */
    for (size_t i = 0; rc == 0 && i < t.n; i++)
        if (!jobgraph_known(b->g, t.ids[i]))
            rc = graph_add_stored(b, t.ids[i], &t, err);
    for (size_t i = 0; i < t.n; i++)
        free(t.ids[i]);
    free(t.ids);
    return rc;
}

/* A cycle message ("dependency cycle: a -> b -> a") through a job the
 * saver does not see is told without its path. */
static void cycle_scrub(const struct jobsave *b, struct err *err)
{
    static const char head[] = "dependency cycle: ", arrow[] = " -> ";

    if (!b->opt.sees || strncmp(err->msg, head, sizeof head - 1) != 0)
        return;
    for (const char *p = err->msg + sizeof head - 1; p; p = strstr(p, arrow)) {
        p += *p == ' ' ? sizeof arrow - 1 : 0; /* past the arrow found */
        if (strncmp(p, "... (", 5) != 0 && !sees_id(b, p)) {
            snprintf(err->msg, sizeof err->msg,
                     "dependency cycle through a job outside this token's namespaces");
            return;
        }
    }
}

/* The one cycle check: over the store's jobs and the batch, walked from
 * the batch's jobs. A cycle is the error of the change it is told from. */
static int check_cycles(struct jobsave *b, struct err *err)
{
    const char **starts = calloc(b->n ? b->n : 1, sizeof *starts);
    char at[JOBSAVE_ID_LEN];
    size_t n = 0;
    struct err e = {0};
    bool found;
    int rc;

    if (!starts)
        return err_set(err, CHIME_ENOMEM, "", "out of memory checking dependencies");
    for (;;) {
        n = 0;
        /* only a new edge closes a cycle: the stored jobs had none, so the
         * walk starts at the jobs created or changed, and a cycle is told
         * from one of them, never from a job the batch leaves as it was */
        for (size_t i = 0; i < b->n; i++)
            if (!b->items[i].failed
                && (b->items[i].act == JOBSAVE_CREATE || b->items[i].act == JOBSAVE_CHANGE))
                starts[n++] = b->items[i].id;
        if ((rc = graph_build(b, err)) < 0)
            break;
        at[0] = '\0';
        rc = jobgraph_check(b->g, starts, n, at, sizeof at, &e);
        if (rc != -CHIME_EINVAL) {
            if (rc < 0)
                *err = e;
            break;
        }
        cycle_scrub(b, &e);
        *err = e;
        found = false;
        for (size_t i = 0; !found && i < b->n; i++)
            if (!b->items[i].failed
                && (b->items[i].act == JOBSAVE_CREATE || b->items[i].act == JOBSAVE_CHANGE)
                && !strcmp(b->items[i].id, at)) {
                fail(&b->items[i], &e);
                found = true;
            }
        /* a cycle among stored jobs alone (none of the batch's) fails the
         * batch: leaving a change out would not end it */
        if (!(b->opt.flags & JOBSAVE_EACH) || !found)
            break;
        /* the rest goes on without it: check again */
    }
    free(starts);
    return rc;
}

static int by_id(const void *x, const void *y)
{
    const struct jobsave_item *const *a = x, *const *c = y;

    return strcmp((*a)->id, (*c)->id);
}

/* A job changed twice in one batch: the second is refused. */
static int check_twice(struct jobsave *b, struct err *err)
{
    struct jobsave_item **v = malloc((b->n ? b->n : 1) * sizeof *v);

    if (!v)
        return err_set(err, CHIME_ENOMEM, "", "out of memory saving jobs");
    for (size_t i = 0; i < b->n; i++)
        v[i] = &b->items[i];
    qsort(v, b->n, sizeof *v, by_id);
    for (size_t i = 1; i < b->n; i++)
        if (!strcmp(v[i]->id, v[i - 1]->id)) {
            struct jobsave_item *later = v[i] > v[i - 1] ? v[i] : v[i - 1];
            struct err e = {0};

            err_set(&e, CHIME_EINVAL, "name", "'%s' is changed twice in one save", later->id);
            fail(later, &e);
        }
    free(v);
    return 0;
}

/* All or nothing: the first failed change fails the batch (0 when none
 * has, or with JOBSAVE_EACH). */
static int first_failure(const struct jobsave *b, struct err *err)
{
    for (size_t i = 0; !(b->opt.flags & JOBSAVE_EACH) && i < b->n; i++)
        if (b->items[i].failed) {
            *err = b->items[i].err;
            return -err->code;
        }
    return 0;
}

int jobsave_check(struct jobsave *b, struct err *err)
{
    int rc;

    for (size_t i = 0; i < b->n; i++) {
        struct err e = {0};

        if (check_item(b, &b->items[i], &e) < 0) {
            if (e.code == CHIME_ENOMEM || e.code == CHIME_EIO) {
                *err = e;
                return -e.code;
            }
            fail(&b->items[i], &e);
        }
    }
    /* a batch that failed already is not checked further */
    if ((rc = check_twice(b, err)) < 0 || (rc = first_failure(b, err)) < 0)
        return rc;
    rc = check_cycles(b, err);
    if (rc < 0 && rc != -CHIME_EINVAL)
        return rc;
    return first_failure(b, err);
}

bool jobsave_has(const struct jobsave *b, const char *id)
{
    return b->g && jobgraph_has(b->g, id);
}

/* ---- writing ---- */

/* The audit entry of IT's change OP, into AUDIT. */
static void audit_op(const struct jobsave *b, const struct jobsave_item *it,
                     const struct store_op *op, struct store_op *audit)
{
    struct store_audit *e = &audit->audit_insert.entry;

    audit->kind = STORE_OP_AUDIT_INSERT;
    *e = *b->opt.audit;
    e->at_us = b->opt.now_us;
    snprintf(e->ns, sizeof e->ns, "%s", it->ns);
    snprintf(e->name, sizeof e->name, "%s", it->name);
    e->version_before = it->cur_version ? it->cur_version : STORE_NULL;
    e->version_after = it->act == JOBSAVE_STATE ? it->cur_version : STORE_NULL;
    e->status = it->act == JOBSAVE_CREATE ? b->opt.status_created : b->opt.status;
    audit->audit_insert.after = op;
}

int jobsave_write(struct jobsave *b, struct err *err)
{
    struct store_op *ops = calloc(2 * b->n + 1, sizeof *ops);
    struct store_op **list = calloc(2 * b->n + 1, sizeof *list);
    struct store_job_plan *plans = calloc(b->n + 1, sizeof *plans);
    char **texts = calloc(b->n + 1, sizeof *texts);
    size_t n_ops = 0, n_plans = 0, failed = 0;
    int rc = 0;

    if (!ops || !list || !plans || !texts) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory saving jobs");
        goto done;
    }
    for (size_t i = 0; i < b->n; i++) {
        struct jobsave_item *it = &b->items[i];
        struct store_op *op = &ops[n_ops];

        if (it->failed || it->act == JOBSAVE_UNCHANGED)
            continue;
        if (it->act == JOBSAVE_REMOVE) {
            op->kind = STORE_OP_JOB_DELETE;
            op->job_delete.ns = it->ns;
            op->job_delete.name = it->name;
            op->job_delete.expect_version = it->cur_version;
            op->job_delete.now_us = b->opt.now_us;
        } else if (it->act == JOBSAVE_STATE) {
            op->kind = STORE_OP_JOB_STATE;
            op->job_state.job_id = it->key;
            op->job_state.set = STORE_STATE_PAUSED;
            op->job_state.paused = it->job->paused;
        } else {
            /* the text goes with the version the check saw, so a change
             * made since is a conflict, not overwritten */
            op->kind = STORE_OP_JOB_PUT;
            op->job_put.ns = it->ns;
            op->job_put.name = it->name;
            op->job_put.doc = it->text;
            op->job_put.author = b->opt.author;
            op->job_put.expect_version = it->cur_version ? it->cur_version : STORE_NEW;
            op->job_put.paused = it->job->paused;
            op->job_put.now_us = b->opt.now_us;
            /* its plan in the same op: start-up then schedules it without
             * its document, and the engine writes no plan of its own */
            if (job_plan_make(it->job, 0, &plans[n_plans], &texts[n_plans]) == 0)
                op->job_put.plan = &plans[n_plans++];
        }
        op->data = it;
        list[n_ops++] = op;
        if (b->opt.audit) {
            audit_op(b, it, op, &ops[n_ops]);
            list[n_ops] = &ops[n_ops];
            n_ops++;
        }
    }
    if (n_ops == 0)
        goto done;
    if (!(b->opt.flags & JOBSAVE_EACH)) {
        rc = store_exec_atomic(b->opt.store, list, n_ops, &failed, err);
        if (rc < 0) {
            /* an audit entry fails with its change, just before it */
            if (failed < n_ops && !list[failed]->data && failed > 0)
                failed--;
            if (failed < n_ops && list[failed]->data)
                fail(list[failed]->data, err);
            goto done;
        }
    } else {
        rc = store_exec_all(b->opt.store, list, n_ops);
        if (rc < 0) {
            *err = list[0]->err;
            goto done;
        }
    }
    for (size_t k = 0; k < n_ops; k++) {
        struct jobsave_item *it = list[k]->data;

        if (!it)
            continue;
        if (list[k]->rc < 0) {
            fail(it, &list[k]->err);
            continue;
        }
        if (list[k]->kind == STORE_OP_JOB_PUT) {
            it->key = list[k]->ret_id;
            it->version = list[k]->ret_version;
            /* a put that made no version wrote no plan */
            it->planned = list[k]->job_put.plan && it->version != it->cur_version;
        } else if (list[k]->kind == STORE_OP_JOB_STATE) {
            it->version = it->cur_version;
        }
    }
done:
    for (size_t k = 0; texts && k < n_plans; k++)
        free(texts[k]);
    free(texts);
    free(plans);
    free(ops);
    free(list);
    return rc;
}

/* ---- the engine's order ---- */

ssize_t jobsave_order(const struct jobsave *b, size_t *order)
{
    size_t n = 0, n_ids = 0, *at = calloc(b->n + 1, sizeof *at), *sub = calloc(b->n + 1, sizeof *sub);
    const char **ids = calloc(b->n + 1, sizeof *ids);

    if (!ids || !at || !sub) {
        free(ids);
        free(at);
        free(sub);
        return -CHIME_ENOMEM;
    }
    for (size_t i = 0; i < b->n; i++) {
        const struct jobsave_item *it = &b->items[i];

        if (it->failed || it->act == JOBSAVE_UNCHANGED)
            continue;
        if (it->act == JOBSAVE_REMOVE || it->act == JOBSAVE_STATE) {
            order[n++] = i;
        } else {
            at[n_ids] = i;
            ids[n_ids++] = it->id;
        }
    }
    /* out of memory ordering them: as given, which the engine takes all the same */
    if (!b->g || jobgraph_order(b->g, ids, n_ids, sub, NULL) < 0)
        for (size_t k = 0; k < n_ids; k++)
            sub[k] = k;
    for (size_t k = 0; k < n_ids; k++)
        order[n++] = at[sub[k]];
    free(ids);
    free(at);
    free(sub);
    return (ssize_t)n;
}
