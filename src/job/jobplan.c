/* jobplan.c: a job's plan -- the members the engine schedules it by -- as
 * the store keeps them in columns (struct store_job_plan), and a job made
 * back from them.
 *
 * Start-up reads the plans of every job instead of parsing every
 * document: a plan is a handful of numbers and names, read in well under a
 * microsecond, where a document costs some 20. The job made from a plan
 * has no body (no command, environment or limits): the runner reads the
 * document of the run's version when a run starts.
 *
 * job_from_plan(job_plan_make(j)) schedules exactly like j: every field
 * the engine reads is in the plan (job_test.c checks them one by one).
 * A plan is trusted no more than a document: a value out of range, an
 * unknown name, a cron expression or zone that does not load, is an error
 * naming the column, and the caller falls back to the document. */
#include "job/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/jobdoc.h"
#include "store/store.h"
#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

#define S INT64_C(1000000)
#define AFTER_MAX 64                /* upstream jobs of one "after", as jobsched.c */
#define ID_LEN (2 * JOB_NAME_MAX + 2)

int job_plan_make(const struct job *j, int64_t version, struct store_job_plan *ret,
                  char **ret_texts)
{
    const struct job_sched *sc = &j->sched;
    struct store_job_plan p = { 0 };
    char *texts = NULL;
    size_t len = 0, o = 0;

    if (sc->kind == JOB_CRON && (!j->body || !j->body->cron_expr))
        return -CHIME_EINVAL;   /* the expression is in the body */
    if (sc->kind == JOB_CRON)
        len = strlen(j->body->cron_expr) + 1;
    else if (sc->kind == JOB_AFTER)
        for (size_t i = 0; i < sc->n_after; i++)
            len += strlen(sc->after[i]) + 1;
    if (len && !(texts = malloc(len)))
        return -CHIME_ENOMEM;
    p.version = version;
    p.kind = job_sched_kind_name(sc->kind);
    p.start_us = STORE_NULL;
    p.every_us = p.jitter_us = p.at_us = STORE_NULL;
    switch (sc->kind) {
    case JOB_CRON:
        memcpy(texts, j->body->cron_expr, len);
        p.cron = texts;
        p.zone = sc->zone ? tz_name(sc->zone) : NULL;
        break;
    case JOB_EVERY:
        p.every_us = sc->every_us;
        p.start_us = sc->start_us == INT64_MIN ? STORE_NULL : sc->start_us;
        p.jitter_us = sc->jitter_us;
        break;
    case JOB_AT:
        p.at_us = sc->at_us;
        break;
    case JOB_AFTER:     /* texts is NULL only when there is no upstream job */
        for (size_t i = 0; texts && i < sc->n_after; i++) {
            size_t n = strlen(sc->after[i]);

            memcpy(texts + o, sc->after[i], n);
            o += n;
            texts[o++] = i + 1 < sc->n_after ? ' ' : '\0';
        }
        p.after = texts;
        p.when = job_when_name(sc->when);
        break;
    case JOB_MANUAL:
        break;
    }
    p.concurrency = job_enum_name(job_concurrency_names, (int)j->concurrency);
    p.max_instances = j->max_instances;
    p.priority = j->priority;
    p.misfire_grace_us = j->misfire.grace_us;
    p.catch_up = job_enum_name(job_catch_up_names, (int)j->misfire.catch_up);
    p.max_catch_up = j->misfire.max_catch_up;
    p.retry_max_attempts = j->retry.max_attempts;
    p.retry_backoff_us = j->retry.backoff_us;
    p.retry_factor = j->retry.factor;
    p.retry_max_backoff_us = j->retry.max_backoff_us;
    p.retry_jitter = j->retry.jitter;
    p.disable_after_failures = j->disable_after_failures;
    p.retain_runs = p.retain_for_us = p.retain_output = p.retain_dead_letters = STORE_NULL;
    if (j->body) {      /* the store applies these; 0 is the default (NULL) */
        p.retain_runs = j->body->retention.runs ? j->body->retention.runs : STORE_NULL;
        p.retain_for_us = j->body->retention.for_us ? j->body->retention.for_us : STORE_NULL;
        p.retain_output = j->body->retention.output ? j->body->retention.output : STORE_NULL;
        p.retain_dead_letters = j->body->retention.dead_letters
                                    ? j->body->retention.dead_letters : STORE_NULL;
    }
    if (!p.kind || !p.concurrency || !p.catch_up || (sc->kind == JOB_AFTER && !p.when)) {
        free(texts);
        return -CHIME_EINVAL;
    }
    *ret = p;
    *ret_texts = texts;
    return 0;
}

/* ---- reading a plan back ---- */

static int bad(struct err *err, const char *column, const char *why)
{
    return err_set(err, CHIME_EINVAL, column, "plan column %s: %s", column, why);
}

static int in_range(int64_t v, int64_t min, int64_t max)
{
    return v != STORE_NULL && v >= min && v <= max;
}

static int enum_of(const struct job_name_value *names, const char *name)
{
    for (size_t i = 0; name && names[i].name; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].value;
    return -1;
}

/* "ns/name ns/name" into the schedule's after list. */
static int read_after(struct job *j, const char *text, struct err *err)
{
    struct job_sched *sc = &j->sched;
    size_t n = 1;

    if (!text || !*text)
        return bad(err, "after_jobs", "empty");
    for (const char *p = text; *p; p++)
        n += *p == ' ';
    if (n > AFTER_MAX)
        return bad(err, "after_jobs", "too many jobs");
    if (!(sc->after = calloc(n, sizeof *sc->after)))
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    for (const char *p = text; sc->n_after < n;) {
        size_t len = strcspn(p, " ");
        char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[ID_LEN];

        if (job_id_split(p, len, NULL, "after_jobs", ns, name, err) < 0 || !memchr(p, '/', len))
            return bad(err, "after_jobs", "not a list of namespace/name");
        snprintf(id, sizeof id, "%s/%s", ns, name);
        if (!(sc->after[sc->n_after] = strdup(id)))
            return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
        sc->n_after++;
        p += len + (p[len] == ' ');
    }
    return 0;
}

static int read_sched(struct job *j, const struct store_job_plan *p, struct err *err)
{
    struct job_sched *sc = &j->sched;
    struct err e = { 0 };
    int kind = job_sched_kind_parse(p->kind), w;

    if (kind < 0)
        return bad(err, "kind", "not a kind of schedule");
    sc->kind = (enum job_sched_kind)kind;
    switch (sc->kind) {
    case JOB_CRON:
        if (!p->cron || cron_parse(p->cron, &sc->cron, &e) < 0)
            return bad(err, "cron", "not a cron expression");
        if (p->zone && tz_load(p->zone, &sc->zone, &e) < 0)
            return bad(err, "timezone", "not a zone");
        return 0;
    case JOB_EVERY:
        if (!in_range(p->every_us, S, INT64_MAX) || !in_range(p->jitter_us, 0, p->every_us - 1))
            return bad(err, "every_us", "out of range");
        sc->every_us = p->every_us;
        sc->jitter_us = p->jitter_us;
        sc->start_us = p->start_us == STORE_NULL ? INT64_MIN : p->start_us;
        return 0;
    case JOB_AT:
        if (p->at_us == STORE_NULL)
            return bad(err, "at_us", "missing");
        sc->at_us = p->at_us;
        return 0;
    case JOB_AFTER:
        if ((w = job_when_parse(p->when)) < 0)
            return bad(err, "after_when", "not success, failure or always");
        sc->when = (enum job_when)w;
        return read_after(j, p->after, err);
    case JOB_MANUAL:
        return 0;
    }
    return bad(err, "kind", "not a kind of schedule");
}

int job_from_plan(const struct store_job_plan *p, const char *ns, const char *name,
                  struct job **ret, struct err *err)
{
    struct job *j = job_new(ns, name);
    int conc, catch_up, rc;

    if (!j)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    conc = enum_of(job_concurrency_names, p->concurrency);
    catch_up = enum_of(job_catch_up_names, p->catch_up);
    if ((rc = read_sched(j, p, err)) < 0)
        goto fail;
    if (conc < 0 || catch_up < 0)
        rc = bad(err, conc < 0 ? "concurrency" : "catch_up", "unknown name");
    else if (!in_range(p->max_instances, 1, 1000) || !in_range(p->priority, 0, 100)
             || !in_range(p->misfire_grace_us, 0, INT64_MAX) || !in_range(p->max_catch_up, 1, 10000)
             || !in_range(p->retry_max_attempts, 1, 100) || !in_range(p->retry_backoff_us, 0, INT64_MAX)
             || !in_range(p->retry_max_backoff_us, p->retry_backoff_us, INT64_MAX)
             || !in_range(p->disable_after_failures, 0, 1000)
             || !(p->retry_factor >= 1 && p->retry_factor <= 10)
             || !(p->retry_jitter >= 0 && p->retry_jitter <= 1))
        rc = bad(err, "policy", "a value is out of range");
    if (rc < 0)
        goto fail;
    j->concurrency = (enum job_concurrency)conc;
    j->max_instances = (int)p->max_instances;
    j->priority = (int)p->priority;
    j->misfire.grace_us = p->misfire_grace_us;
    j->misfire.catch_up = (enum job_catch_up)catch_up;
    j->misfire.max_catch_up = (int)p->max_catch_up;
    j->retry.max_attempts = (int)p->retry_max_attempts;
    j->retry.backoff_us = p->retry_backoff_us;
    j->retry.factor = p->retry_factor;
    j->retry.max_backoff_us = p->retry_max_backoff_us;
    j->retry.jitter = p->retry_jitter;
    j->disable_after_failures = (int)p->disable_after_failures;
    *ret = j;
    return 0;
fail:
    job_free(j);
    return rc;
}
