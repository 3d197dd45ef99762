/* exportdoc.c: reading and writing chime's export file (exportdoc.h).
 *
 * Reading goes envelope first, then each job, collecting errors instead of
 * stopping at the first, so that one attempt tells everything that is
 * wrong with a file. Past EXPORTDOC_ERRORS_MAX errors the rest are
 * counted in one more entry: a file that bad is the wrong file. */
#include "api/exportdoc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "time/isotime.h"
#include "util/err.h"
#include "../banned.h"

/* Members of a job view that a write ignores (as jobs.c's PUT does). */
static const char *const view_only[] = {
    "version", "next_fire", "created_at", "updated_at", "state", "last_run",
};

static const char *const envelope[] = {"chime_export", "exported_at", "jobs", "tokens"};

struct parse {
    json_t *errors;
    size_t n_errors; /* found, told or not */
    struct err first;
    /* the jobs kept so far by id: open addressing, 1 + their place in
     * d->jobs (0: empty); MASK + 1 slots, at least twice the file's jobs */
    size_t *slots, mask;
};

static size_t id_hash(const char *id)
{
    size_t h = 1469598103934665603u;

    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211u;
    return h;
}

/* The slot of ID: the job kept with it, or the empty slot it would take. */
static size_t *id_slot(const struct parse *p, const struct exportdoc *d, const char *id)
{
    size_t k = id_hash(id) & p->mask;

    while (p->slots[k] && strcmp(d->jobs[p->slots[k] - 1].id, id) != 0)
        k = (k + 1) & p->mask;
    return &p->slots[k];
}

/* Records an error at FIELD (the whole path) about job INDEX (SIZE_MAX:
 * none) named ID (may be NULL). */
static void add_error(struct parse *p, int code, size_t index, const char *id, const char *field,
                      const char *detail)
{
    if (p->n_errors++ == 0)
        err_set(&p->first, code, field, "%s", detail);
    if (p->n_errors > EXPORTDOC_ERRORS_MAX)
        return;
    json_array_append_new(p->errors,
                          json_pack("{s:o, s:o, s:s, s:s}", "index",
                                    index == SIZE_MAX ? json_null() : json_integer((json_int_t)index),
                                    "job", id ? json_string(id) : json_null(), "field", field,
                                    "detail", detail));
}

static void add_errorf(struct parse *p, int code, size_t index, const char *id, const char *field,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add_errorf(struct parse *p, int code, size_t index, const char *id, const char *field,
                       const char *fmt, ...)
{
    char detail[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    add_error(p, code, index, id, field, detail);
}

/* Checks the members of the file but its jobs. */
static void check_envelope(struct parse *p, const json_t *root, struct exportdoc *d)
{
    const json_t *format = json_object_get(root, "chime_export");
    const json_t *at = json_object_get(root, "exported_at");
    const json_t *jobs = json_object_get(root, "jobs"), *tokens = json_object_get(root, "tokens");
    const char *key;
    json_t *v;
    char q[64];

    json_object_foreach((json_t *)root, key, v)
    {
        bool known = false;

        for (size_t i = 0; i < sizeof envelope / sizeof envelope[0]; i++)
            known = known || !strcmp(key, envelope[i]);
        if (!known)
            add_errorf(p, CHIME_EINVAL, SIZE_MAX, NULL, key, "unknown member '%s'",
                       err_quote(key, strlen(key), q, sizeof q));
    }
    if (!format)
        add_error(p, CHIME_EINVAL, SIZE_MAX, NULL, "chime_export",
                  "not a chime export file: it has no \"chime_export\" member");
    else if (!json_is_integer(format))
        add_error(p, CHIME_EINVAL, SIZE_MAX, NULL, "chime_export", "must be a whole number");
    else if (json_integer_value(format) != EXPORTDOC_FORMAT)
        add_errorf(p, CHIME_ERANGE, SIZE_MAX, NULL, "chime_export",
                   "format %lld is not one this chime reads (%d)",
                   (long long)json_integer_value(format), EXPORTDOC_FORMAT);
    if (at && !json_is_null(at)) {
        struct err e = {0};
        int64_t us;

        if (!json_is_string(at) || isotime_parse(json_string_value(at), NULL, "exported_at", &us, &e) < 0)
            add_error(p, CHIME_EINVAL, SIZE_MAX, NULL, "exported_at",
                      "must be an ISO 8601 instant");
    }
    if (!jobs)
        add_error(p, CHIME_EINVAL, SIZE_MAX, NULL, "jobs", "missing: the file has no \"jobs\"");
    else if (!json_is_array(jobs))
        add_error(p, CHIME_EINVAL, SIZE_MAX, NULL, "jobs", "must be an array of job documents");
    else if (json_array_size(jobs) > EXPORTDOC_JOBS_MAX)
        add_errorf(p, CHIME_ETOOBIG, SIZE_MAX, NULL, "jobs", "%zu jobs are more than %d",
                   json_array_size(jobs), EXPORTDOC_JOBS_MAX);
    if (tokens && !json_is_null(tokens)) {
        size_t i;
        json_t *t;

        if (!json_is_array(tokens)) {
            add_error(p, CHIME_EINVAL, SIZE_MAX, NULL, "tokens", "must be an array of tokens");
        } else if (json_array_size(tokens) > EXPORTDOC_TOKENS_MAX) {
            add_errorf(p, CHIME_ETOOBIG, SIZE_MAX, NULL, "tokens", "%zu tokens are more than %d",
                       json_array_size(tokens), EXPORTDOC_TOKENS_MAX);
        } else {
            json_array_foreach(tokens, i, t)
            {
                char field[48];

                snprintf(field, sizeof field, "tokens[%zu]", i);
                if (!json_is_object(t) || !json_is_string(json_object_get(t, "name")))
                    add_error(p, CHIME_EINVAL, SIZE_MAX, NULL, field,
                              "a token is an object with a \"name\"");
                else if (json_object_get(t, "secret") || json_object_get(t, "hash"))
                    add_error(p, CHIME_EINVAL, SIZE_MAX, NULL, field,
                              "a token of an export file never carries a secret or a hash");
            }
            d->n_tokens = json_array_size(tokens);
        }
    }
}

/* Validates job I of the file; a valid one of the namespace asked for goes
 * to D. */
static int check_job(struct parse *p, size_t i, json_t *doc, const char *only_ns,
                     struct exportdoc *d)
{
    struct exportdoc_job *ej;
    struct job *j = NULL;
    struct err e = {0};
    size_t *slot;
    char where[40], field[160], id[EXPORTDOC_ID_LEN];
    size_t len;

    snprintf(where, sizeof where, "jobs[%zu]", i);
    if (!json_is_object(doc)) {
        add_error(p, CHIME_EINVAL, i, NULL, where, "a job document is a JSON object");
        return 0;
    }
    for (size_t k = 0; k < sizeof view_only / sizeof view_only[0]; k++)
        json_object_del(doc, view_only[k]);
    len = json_dumpb(doc, NULL, 0, JSON_COMPACT); /* counted, not written */
    if (len > (size_t)JOB_DOC_MAX) {
        add_errorf(p, CHIME_ETOOBIG, i, NULL, where,
                   "a job document of %zu bytes is longer than %d", len, JOB_DOC_MAX);
        return 0;
    }
    if (job_from_json(doc, NULL, &j, &e) < 0) {
        const char *ns = json_string_value(json_object_get(doc, "namespace"));
        const char *name = json_string_value(json_object_get(doc, "name"));
        char qn[70], qs[70];

        if (e.code == CHIME_ENOMEM)
            return err_set(&p->first, CHIME_ENOMEM, "", "out of memory reading the file");
        snprintf(field, sizeof field, "%s%s%s", where, e.field[0] ? "." : "", e.field);
        if (name)
            snprintf(id, sizeof id, "%s/%s", err_quote(ns ? ns : "default", 63, qs, sizeof qs),
                     err_quote(name, 63, qn, sizeof qn));
        add_error(p, e.code, i, name ? id : NULL, field, e.msg);
        return 0;
    }
    job_id(j, id, sizeof id);
    /* a second job of the same name: which one would win is anybody's guess */
    slot = id_slot(p, d, id);
    if (*slot) {
        snprintf(field, sizeof field, "%s.name", where);
        add_errorf(p, CHIME_EINVAL, i, id, field, "'%s' is also jobs[%zu]", id,
                   d->jobs[*slot - 1].index);
        job_free(j);
        return 0;
    }
    if (only_ns && strcmp(j->ns, only_ns) != 0) {
        d->n_other++;
        job_free(j);
        return 0;
    }
    ej = &d->jobs[d->n_jobs];
    *ej = (struct exportdoc_job){.index = i, .job = j,
                                 .paused_given = json_is_boolean(json_object_get(doc, "paused"))};
    snprintf(ej->id, sizeof ej->id, "%s", id);
    d->n_jobs++;
    *slot = d->n_jobs;
    return 0;
}

int exportdoc_parse(const char *text, size_t len, const char *only_ns, struct exportdoc **ret,
                    json_t **ret_errors, struct err *err)
{
    struct parse p = {.errors = json_array()};
    struct exportdoc *d = calloc(1, sizeof *d);
    json_t *root = NULL, *jobs, *doc;
    json_error_t jerr;
    size_t i;
    int rc = 0;

    if (!d || !p.errors) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory reading the file");
        goto done;
    }
    if (len > EXPORTDOC_BYTES_MAX) {
        add_errorf(&p, CHIME_ETOOBIG, SIZE_MAX, NULL, "",
                   "an export file of %zu bytes is larger than %zu MiB", len,
                   EXPORTDOC_BYTES_MAX >> 20);
        goto invalid;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson quotes the token near the fault: perhaps a piece of a secret */
        add_errorf(&p, CHIME_EINVAL, SIZE_MAX, NULL, "", "not JSON: line %d, column %d%s%s",
                   jerr.line, jerr.column, memmem(text, len, "\"secret\"", 8) ? "" : ": ",
                   memmem(text, len, "\"secret\"", 8) ? "" : jerr.text);
        goto invalid;
    }
    if (!json_is_object(root)) {
        add_error(&p, CHIME_EINVAL, SIZE_MAX, NULL, "",
                  "not a chime export file: it is not a JSON object");
        goto invalid;
    }
    check_envelope(&p, root, d);
    jobs = json_object_get(root, "jobs");
    if (p.n_errors || !json_is_array(jobs))
        goto invalid;
    d->jobs = calloc(json_array_size(jobs) ? json_array_size(jobs) : 1, sizeof *d->jobs);
    for (p.mask = 1; p.mask < 2 * json_array_size(jobs); p.mask *= 2)
        ;
    p.slots = calloc(p.mask--, sizeof *p.slots);
    if (!d->jobs || !p.slots) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory reading the file");
        goto done;
    }
    json_array_foreach(jobs, i, doc)
    {
        if (check_job(&p, i, doc, only_ns, d) < 0) {
            rc = -CHIME_ENOMEM;
            if (err)
                *err = p.first;
            goto done;
        }
        /* read: its tree goes, and the batch's allocations take its place */
        json_array_set_new(jobs, i, json_null());
    }
    if (p.n_errors)
        goto invalid;
    *ret = d;
    d = NULL;
    goto done;
invalid:
    if (p.n_errors > EXPORTDOC_ERRORS_MAX) {
        char detail[96];

        snprintf(detail, sizeof detail, "and %zu more errors", p.n_errors - EXPORTDOC_ERRORS_MAX);
        json_array_append_new(p.errors, json_pack("{s:n, s:n, s:s, s:s}", "index", "job", "field",
                                                  "", "detail", detail));
    }
    if (err)
        *err = p.first;
    rc = -p.first.code;
    if (ret_errors) {
        *ret_errors = p.errors;
        p.errors = NULL;
    }
done:
    json_decref(p.errors);
    free(p.slots);
    json_decref(root);
    exportdoc_free(d);
    return rc;
}

void exportdoc_free(struct exportdoc *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_jobs; i++)
        job_free(d->jobs[i].job);
    free(d->jobs);
    free(d);
}

json_t *exportdoc_build(json_t *jobs, json_t *tokens, int64_t now_us)
{
    char at[ISOTIME_LEN];
    json_t *doc;

    if (!jobs) {
        json_decref(tokens);
        return NULL;
    }
    doc = json_pack("{s:i, s:s, s:o}", "chime_export", EXPORTDOC_FORMAT, "exported_at",
                    isotime_format_utc(now_us, at, sizeof at), "jobs", jobs);
    if (doc && tokens && json_object_set_new(doc, "tokens", tokens) < 0) {
        json_decref(doc);
        return NULL;
    }
    if (!doc)
        json_decref(tokens);
    return doc;
}
