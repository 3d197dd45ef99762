/* job.c: the job document, read into a struct job and written back.
 *
 * One table per JSON object (job_specs, retry_specs, ...) lists its members:
 * the key, how the value is read and written, where it lives in struct job,
 * its range and its default. Reading and writing walk the same rows, so a
 * field cannot be read without being written back or the other way round,
 * and from_json(to_json(j)) gives j again. The members that need more than
 * a row (names, the schedule, command and shell, env, params, labels) have
 * a read and a write function: the schedule's in jobsched.c, the params'
 * in jobparam.c, the others' in jobmember.c (the priority's here); the
 * readers of single values (strings, durations, enums, names) are in
 * jobvalue.c.
 *
 * Reading is strict and its order is fixed: first every key of an object
 * is checked against its table (an unknown key is an error naming its
 * path), then the rows are read in table order, whatever the order of the
 * keys in the text, so a document with several faults always reports the
 * same one. A null member reads as an absent one: its default. */
#include "job/job.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job/jobdoc.h"
#include "job/jobsecret.h"
#include "time/units.h"
#include "util/err.h"
#include "util/name.h"
#include "../banned.h"

#define S INT64_C(1000000)          /* one second in microseconds */
#define DESCRIPTION_MAX 1024
#define CHANNELS_MAX 16             /* per notify event */

/* ---- the tables ---- */

enum spec_kind {
    SPEC_INT,           /* int in [min, max] */
    SPEC_INT64,         /* int64_t in [min, max] */
    SPEC_REAL,          /* double in [dmin, dmax]; integers are read too */
    SPEC_BOOL,
    SPEC_DURATION,      /* int64_t microseconds, at least min */
    SPEC_SIZE,          /* int64_t bytes, at least min */
    SPEC_ENUM,          /* an enum field, one of names[] */
    SPEC_STRING,        /* char *, at most max bytes, NULL when absent */
    SPEC_CHANNELS,      /* char **, NULL-terminated channel names, NULL: none */
    SPEC_OBJECT,        /* a nested object read by the rows of sub[] */
    SPEC_CUSTOM,        /* read() and write() */
};

/* 0 stands for "none" (no timeout, no limit): absent or null reads as 0,
 * and 0 is written as null. A given value must still reach min. */
#define SPEC_ZERO_IS_NONE 1u
#define SPEC_REQUIRED 2u        /* absent is an error (the row's reader says so) */
#define SPEC_NULL 4u            /* written as null when none (SPEC_CUSTOM) */
#define SPEC_AT_TIMES 8u        /* left out when not in use (SPEC_CUSTOM) */

struct spec {
    const char *key;            /* NULL ends a table */
    enum spec_kind kind;
    unsigned flags;
    size_t off;                 /* of the field in struct job, or in its body: OFF(), BODY() */
    bool in_body;               /* the field is in struct job_body */
    int64_t min, max, def;      /* INT, INT64: range; DURATION, SIZE: min */
    double dmin, dmax, ddef;    /* REAL */
    const struct job_name_value *names;     /* ENUM */
    const struct spec *sub;                 /* OBJECT */
    int (*read)(const json_t *v, const char *path, struct job_reader *r);
    int (*write)(const struct job *j, json_t *obj, const char *key);
    enum job_field_type type;               /* CUSTOM: what it reads, for job_fields() */
    const char *doc;                        /* for job_fields(); NULL: none */
};

/* A row's .off, named: rows are { key, kind, OFF(field), .more = ... }. */
#define OFF(field) .off = offsetof(struct job, field)
#define BODY(field) .off = offsetof(struct job_body, field), .in_body = true

const struct job_name_value job_concurrency_names[] = {
    { "forbid", JOB_FORBID },
    { "allow", JOB_ALLOW },
    { "queue", JOB_QUEUE },
    { "replace", JOB_REPLACE },
    { NULL, 0 },
};

const struct job_name_value job_catch_up_names[] = {
    { "none", JOB_CATCH_UP_NONE },
    { "latest", JOB_CATCH_UP_LATEST },
    { "all", JOB_CATCH_UP_ALL },
    { NULL, 0 },
};

/* The priority names of docs/design.md; any integer 0-100 is a priority too. */
static const struct job_name_value priority_names[] = {
    { "low", 1 },
    { "normal", 5 },
    { "high", 10 },
    { "critical", 15 },
    { NULL, 0 },
};
#define PRIORITY_DEFAULT 5
#define PRIORITY_MAX 100

static const struct spec retry_specs[] = {
    { "max_attempts", SPEC_INT, OFF(retry.max_attempts), .min = 1, .max = 100, .def = 1 },
    { "backoff", SPEC_DURATION, OFF(retry.backoff_us), .def = 10 * S },
    { "factor", SPEC_REAL, OFF(retry.factor), .dmin = 1, .dmax = 10, .ddef = 2 },
    { "max_backoff", SPEC_DURATION, OFF(retry.max_backoff_us), .def = 3600 * S },
    { "jitter", SPEC_REAL, OFF(retry.jitter), .dmin = 0, .dmax = 1, .ddef = 0 },
    { NULL },
};

static const struct spec misfire_specs[] = {
    { "grace", SPEC_DURATION, OFF(misfire.grace_us), .def = 3600 * S },
    { "catch_up", SPEC_ENUM, OFF(misfire.catch_up), .names = job_catch_up_names,
      .def = JOB_CATCH_UP_LATEST },
    { "max_catch_up", SPEC_INT, OFF(misfire.max_catch_up), .min = 1, .max = 10000, .def = 100 },
    { NULL },
};

/* A memory limit below 1M stops every program before main(); RLIMIT_CPU
 * counts whole seconds. */
static const struct spec limits_specs[] = {
    { "memory", SPEC_SIZE, BODY(limits.memory), .min = 1 << 20, .flags = SPEC_ZERO_IS_NONE },
    { "cpu_time", SPEC_DURATION, BODY(limits.cpu_time_us), .min = S, .flags = SPEC_ZERO_IS_NONE },
    { "processes", SPEC_INT64, BODY(limits.processes), .min = 1, .max = 1000000,
      .flags = SPEC_ZERO_IS_NONE },
    { "open_files", SPEC_INT64, BODY(limits.open_files), .min = 1, .max = 1048576,
      .flags = SPEC_ZERO_IS_NONE },
    { "output", SPEC_SIZE, BODY(limits.output), .min = 1 << 10, .def = 4 << 20 },
    { NULL },
};

/* History kept: absent or null is the daemon's default (chime serve
 * --keep-runs, --keep-for, --keep-output, --keep-dead-letters). */
static const struct spec retention_specs[] = {
    { "runs", SPEC_INT64, BODY(retention.runs), .min = 1, .max = 1000000,
      .flags = SPEC_ZERO_IS_NONE },
    { "for", SPEC_DURATION, BODY(retention.for_us), .min = S, .flags = SPEC_ZERO_IS_NONE },
    { "output", SPEC_SIZE, BODY(retention.output), .min = 1 << 10, .flags = SPEC_ZERO_IS_NONE },
    { "dead_letters", SPEC_INT64, BODY(retention.dead_letters), .min = 1, .max = 1000000,
      .flags = SPEC_ZERO_IS_NONE },
    { NULL },
};

static const struct spec notify_specs[] = {
#define X(id, name, ...) { "on_" name, SPEC_CHANNELS, BODY(notify[JOB_ON_##id]) },
    STORE_JOB_EVENTS(X)
#undef X
    { NULL },
};

static int read_priority(const json_t *v, const char *path, struct job_reader *r);
static int write_priority(const struct job *j, json_t *obj, const char *key);

static int read_schedule(const json_t *v, const char *path, struct job_reader *r)
{
    return job_sched_read(v, path, r);
}

static int write_schedule(const struct job *j, json_t *obj, const char *key)
{
    return json_object_set_new(obj, key, job_sched_write(j));
}

/* Name and namespace come first: the schedule's "after" needs both. Command
 * comes before shell, which checks that exactly one of them was given; env
 * before params, which may not share a name with it. */
static const struct spec job_specs[] = {
    { "name", SPEC_CUSTOM, SPEC_REQUIRED, .read = job_read_name, .write = job_write_name,
      .type = JOB_FIELD_NAME },
    { "namespace", SPEC_CUSTOM, .read = job_read_namespace, .write = job_write_namespace,
      .type = JOB_FIELD_NAME, .doc = "absent: the caller's default (\"default\")" },
    { "description", SPEC_STRING, BODY(description), .max = DESCRIPTION_MAX },
    { "schedule", SPEC_CUSTOM, SPEC_REQUIRED, .read = read_schedule, .write = write_schedule,
      .type = JOB_FIELD_OBJECT,
      .doc = "exactly one kind: cron (with timezone), every (with start, jitter), at, "
             "after (with when) or manual" },
    { "command", SPEC_CUSTOM, SPEC_AT_TIMES, .read = job_read_command, .write = job_write_command,
      .type = JOB_FIELD_STRINGS, .min = 1, .max = JOB_ARGV_MAX,
      .doc = "the program and its arguments; exactly one of command and shell" },
    { "shell", SPEC_CUSTOM, SPEC_AT_TIMES, .read = job_read_shell, .write = job_write_shell,
      .type = JOB_FIELD_STRING, .min = 1, .max = JOB_SHELL_MAX, .doc = "run by /bin/sh -c" },
    { "workdir", SPEC_CUSTOM, SPEC_NULL, .read = job_read_workdir, .write = job_write_workdir,
      .type = JOB_FIELD_STRING, .max = JOB_WORKDIR_MAX,
      .doc = "beneath the namespace root, without '..'; null: the root" },
    { "env", SPEC_CUSTOM, .read = job_read_env, .write = job_write_env, .type = JOB_FIELD_ENV,
      .max = JOB_ENV_MAX },
    { "params", SPEC_CUSTOM, .read = job_params_read, .write = job_params_write,
      .type = JOB_FIELD_MAP, .max = JOB_PARAMS_MAX,
      .doc = "the variables a manual trigger may set ({params: {NAME: VALUE}}), each value "
             "matching its pattern as a whole; names the loader, a shell or chime reads "
             "(LD_*, BASH_ENV, PATH, CHIME_*, ...) and names in env are refused" },
    { "timeout", SPEC_DURATION, BODY(timeout_us), .flags = SPEC_ZERO_IS_NONE },
    { "kill_grace", SPEC_DURATION, BODY(kill_grace_us), .def = 10 * S },
    { "stuck_after", SPEC_DURATION, BODY(stuck_after_us), .min = S, .flags = SPEC_ZERO_IS_NONE,
      .doc = "a run this long is stuck (/healthz, the stuck notification); null: 3 x the p95 "
             "of its recent runs (at least 1m), or its timeout + kill_grace when sooner" },
    { "retry", SPEC_OBJECT, .sub = retry_specs },
    { "concurrency", SPEC_ENUM, OFF(concurrency), .names = job_concurrency_names,
      .def = JOB_FORBID },
    { "max_instances", SPEC_INT, OFF(max_instances), .min = 1, .max = 1000, .def = 1 },
    { "misfire", SPEC_OBJECT, .sub = misfire_specs },
    { "priority", SPEC_CUSTOM, .read = read_priority, .write = write_priority,
      .type = JOB_FIELD_ENUM, .names = priority_names, .max = PRIORITY_MAX,
      .doc = "a name, or any integer 0-100 (low 1, normal 5, high 10, critical 15)" },
    { "limits", SPEC_OBJECT, .sub = limits_specs },
    { "disable_after_failures", SPEC_INT, OFF(disable_after_failures), .min = 0, .max = 1000 },
    { "retention", SPEC_OBJECT, .sub = retention_specs,
      .doc = "history kept; each limit alone deletes, null is the daemon's --keep-* default" },
    { "notify", SPEC_OBJECT, .sub = notify_specs },
    { "labels", SPEC_CUSTOM, .read = job_read_labels, .write = job_write_labels,
      .type = JOB_FIELD_LABELS, .max = JOB_LABELS_MAX },
    { "paused", SPEC_BOOL, OFF(paused) },
    { NULL },
};

/* ---- notify channels ---- */

static void free_list(char **list)
{
    size_t i;

    for (i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

/* Channel names for one notify event: unique names, at most CHANNELS_MAX. */
static int read_channels(const json_t *v, const char *path, char ***ret,
                         struct err *err)
{
    char **list;
    size_t i, k, n;
    int rc = 0;

    if (!json_is_array(v))
        return job_type_error(v, path, "an array of channel names", err);
    n = json_array_size(v);
    if (n > CHANNELS_MAX)
        return err_set(err, CHIME_ETOOBIG, path, "%zu channels are more than %d",
                       n, CHANNELS_MAX);
    if (n == 0)
        return 0;               /* *ret stays NULL: none */
    if (!(list = calloc(n + 1, sizeof *list)))
        return job_no_memory(path, err);
    for (i = 0; i < n; i++) {
        char sub[JOB_PATH_LEN];
        const char *s;
        size_t len;

        job_path_item(sub, sizeof sub, path, i);
        if ((rc = job_read_string(json_array_get(v, i), sub, SIZE_MAX, &s, &len, err)) < 0 ||
            (rc = name_check(s, len, 0, NULL, sub, err)) < 0)
            goto fail;
        for (k = 0; k < i; k++)
            if (strcmp(list[k], s) == 0) {
                rc = err_set(err, CHIME_EINVAL, sub, "'%s' is listed twice", s);
                goto fail;
            }
        if (!(list[i] = strdup(s))) {
            rc = job_no_memory(sub, err);
            goto fail;
        }
    }
    *ret = list;
    return 0;
fail:
    free_list(list);
    return rc;
}

/* ---- reading an object by its table ---- */

static const struct spec *find_spec(const struct spec *specs, const char *key,
                                    size_t key_len)
{
    size_t i;

    for (i = 0; specs[i].key; i++)
        if (strlen(specs[i].key) == key_len && memcmp(specs[i].key, key, key_len) == 0)
            return &specs[i];
    return NULL;
}

static int read_object(const json_t *obj, const char *path, const struct spec *specs,
                       struct job_reader *r);

static int read_spec(const struct spec *s, const json_t *v, const char *path,
                     struct job_reader *r)
{
    void *p = (s->in_body ? (char *)r->j->body : (char *)r->j) + s->off;
    int64_t x = s->def;
    double d = s->ddef;
    int e = (int)s->def;
    int rc = 0;

    if (v && json_is_null(v))
        v = NULL;
    switch (s->kind) {
    case SPEC_INT:
        if (!v || (rc = job_read_int(v, path, s->min, s->max, &x, r->err)) == 0)
            *(int *)p = (int)x;
        break;
    case SPEC_INT64:
        if (!v || (rc = job_read_int(v, path, s->min, s->max, &x, r->err)) == 0)
            *(int64_t *)p = x;
        break;
    case SPEC_REAL:
        if (!v || (rc = job_read_real(v, path, s->dmin, s->dmax, &d, r->err)) == 0)
            *(double *)p = d;
        break;
    case SPEC_BOOL:
        if (v && !json_is_boolean(v))
            return job_type_error(v, path, "true or false", r->err);
        *(bool *)p = v && json_is_true(v);
        break;
    case SPEC_DURATION:
        if (!v || (rc = job_read_duration(v, path, s->min, &x, r->err)) == 0)
            *(int64_t *)p = x;
        break;
    case SPEC_SIZE:
        if (!v || (rc = job_read_size(v, path, s->min, &x, r->err)) == 0)
            *(int64_t *)p = x;
        break;
    case SPEC_ENUM:
        /* The enum fields have int's size (asserted below). */
        if (!v || (rc = job_read_enum(v, path, s->names, &e, r->err)) == 0)
            memcpy(p, &e, sizeof e);
        break;
    case SPEC_STRING:
        if (v)
            rc = job_dup_string(v, path, (size_t)s->max, false, (char **)p, r->err);
        break;
    case SPEC_CHANNELS:
        if (v)
            rc = read_channels(v, path, (char ***)p, r->err);
        break;
    case SPEC_OBJECT:
        rc = read_object(v, path, s->sub, r);
        break;
    case SPEC_CUSTOM:
        rc = s->read(v, path, r);
        break;
    }
    return rc;
}

_Static_assert(sizeof(enum job_concurrency) == sizeof(int), "enum fields are ints");
_Static_assert(sizeof(enum job_catch_up) == sizeof(int), "enum fields are ints");

/* OBJ NULL: absent, every row takes its default. */
static int read_object(const json_t *obj, const char *path, const struct spec *specs,
                       struct job_reader *r)
{
    char sub[JOB_PATH_LEN];
    size_t i;
    int rc;

    if (obj && !json_is_object(obj))
        return job_type_error(obj, path, "an object", r->err);
    if (obj) {
        const char *key;
        size_t key_len;
        json_t *v;

        /* jansson's iterators take a non-const object; they do not change it. */
        json_object_keylen_foreach((json_t *)obj, key, key_len, v) {
            const char *known[32];
            size_t n = 0;

            if ((rc = job_check_key(key, key_len, path, r->err)) < 0)
                return rc;
            if (find_spec(specs, key, key_len))
                continue;
            for (i = 0; specs[i].key && n < sizeof known / sizeof known[0]; i++)
                known[n++] = specs[i].key;
            return job_unknown_field(job_path(sub, sizeof sub, path, key, key_len),
                                     key, key_len, known, n, r->err);
        }
    }
    for (i = 0; specs[i].key; i++) {
        const json_t *v = obj ? json_object_get(obj, specs[i].key) : NULL;

        /* an absent member takes its default and names no path, unless
         * it is read by hand or has members of its own (one of which may
         * be required) */
        sub[0] = '\0';
        if (v || specs[i].kind == SPEC_CUSTOM || specs[i].kind == SPEC_OBJECT)
            job_path(sub, sizeof sub, path, specs[i].key, strlen(specs[i].key));
        if ((rc = read_spec(&specs[i], v, sub, r)) < 0)
            return rc;
    }
    return 0;
}

/* ---- the members read by hand (the others: jobmember.c) ---- */

static int read_priority(const json_t *v, const char *path, struct job_reader *r)
{
    int64_t x = PRIORITY_DEFAULT;
    int e, rc;

    if (v && json_is_integer(v)) {
        if ((rc = job_read_int(v, path, 0, PRIORITY_MAX, &x, r->err)) < 0)
            return rc;
    } else if (v) {
        if ((rc = job_read_enum(v, path, priority_names, &e, r->err)) < 0)
            return rc;
        x = e;
    }
    r->j->priority = (int)x;
    return 0;
}

/* Rules between members, once each has been read. */
static int check_job(const struct job *j, struct err *err)
{
    char a[32], b[32];

    if (j->retry.max_backoff_us < j->retry.backoff_us)
        return err_set(err, CHIME_ERANGE, "retry.max_backoff",
                       "'%s' is less than the backoff '%s'",
                       units_duration_format(j->retry.max_backoff_us, a, sizeof a),
                       units_duration_format(j->retry.backoff_us, b, sizeof b));
    return 0;
}

int job_from_json(const json_t *doc, const char *default_ns, struct job **ret,
                  struct err *err)
{
    struct job_reader r = { NULL, default_ns, err, "" };
    int rc;

    if (!doc)
        return err_set(err, CHIME_EINVAL, "", "missing document");
    if (!json_is_object(doc))
        return job_type_error(doc, "", "an object", err);
    if (!(r.j = calloc(1, sizeof *r.j)) || !(r.j->body = calloc(1, sizeof *r.j->body))) {
        free(r.j);
        return job_no_memory("", err);
    }
    if ((rc = read_object(doc, "", job_specs, &r)) < 0 ||
        (rc = check_job(r.j, err)) < 0) {
        job_free(r.j);
        return rc;
    }
    *ret = r.j;
    return 0;
}

int job_parse(const char *text, size_t len, const char *default_ns, struct job **ret,
              struct err *err)
{
    char q[JSON_ERROR_TEXT_LENGTH];     /* jansson's message, quoted */
    json_error_t jerr;
    json_t *doc;
    int rc;

    if (len > (size_t)JOB_DOC_MAX)
        return err_set(err, CHIME_ETOOBIG, "", "document of %zu bytes is longer than %d",
                       len, JOB_DOC_MAX);
    /* NUL is let through to be refused by field, with its path. The depth
     * is bounded by jansson (JSON_PARSER_MAX_DEPTH) and by the length. */
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    /* jansson's text quotes the token "near" the fault: in a document
     * with secrets that may be a piece of one, so it is left out there */
    if (!doc && memmem(text, len, "\"secret\"", 8))
        return err_set(err, CHIME_EINVAL, "", "invalid JSON at line %d, column %d",
                       jerr.line, jerr.column);
    if (!doc)
        return err_set(err, CHIME_EINVAL, "", "invalid JSON at line %d, column %d: %s",
                       jerr.line, jerr.column,
                       err_quote(jerr.text, sizeof jerr.text, q, sizeof q));
    rc = job_from_json(doc, default_ns, ret, err);
    json_decref(doc);
    return rc;
}

/* ---- writing ---- */

static int write_object(const struct job *j, const struct spec *specs, json_t *obj);

static json_t *write_duration(int64_t us)
{
    char buf[32];

    return json_string(units_duration_format(us, buf, sizeof buf));
}

json_t *job_write_list(char *const *list)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a && list && list[i]; i++)
        if (json_array_append_new(a, json_string(list[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *write_spec(const struct job *j, const struct spec *s)
{
    const void *p = (s->in_body ? (const char *)j->body : (const char *)j) + s->off;
    bool none = s->flags & SPEC_ZERO_IS_NONE;
    char buf[32];
    json_t *o;
    int e;

    switch (s->kind) {
    case SPEC_INT:
        return json_integer(*(const int *)p);
    case SPEC_INT64:
        return none && *(const int64_t *)p == 0 ? json_null()
                                                : json_integer(*(const int64_t *)p);
    case SPEC_REAL:
        return json_real(*(const double *)p);
    case SPEC_BOOL:
        return json_boolean(*(const bool *)p);
    case SPEC_DURATION:
        return none && *(const int64_t *)p == 0 ? json_null()
                                                : write_duration(*(const int64_t *)p);
    case SPEC_SIZE:
        if (none && *(const int64_t *)p == 0)
            return json_null();
        return json_string(units_size_format(*(const int64_t *)p, buf, sizeof buf));
    case SPEC_ENUM:
        memcpy(&e, p, sizeof e);
        return json_string(job_enum_name(s->names, e));
    case SPEC_STRING:
        return *(char *const *)p ? json_string(*(char *const *)p) : json_null();
    case SPEC_CHANNELS:
        return job_write_list(*(char **const *)p);
    case SPEC_OBJECT:
        if ((o = json_object()) && write_object(j, s->sub, o) < 0) {
            json_decref(o);
            o = NULL;
        }
        return o;
    case SPEC_CUSTOM:
        break;
    }
    return NULL;
}

/* json_object_set_new() fails on a NULL value, so one check covers both an
 * allocation that failed and an insertion that did. */
static int write_object(const struct job *j, const struct spec *specs, json_t *obj)
{
    size_t i;

    for (i = 0; specs[i].key; i++) {
        const struct spec *s = &specs[i];
        int rc = s->kind == SPEC_CUSTOM ? s->write(j, obj, s->key)
                                        : json_object_set_new(obj, s->key, write_spec(j, s));

        if (rc < 0)
            return -1;
    }
    return 0;
}

static int write_priority(const struct job *j, json_t *obj, const char *key)
{
    const char *name = job_enum_name(priority_names, j->priority);

    return json_object_set_new(obj, key, name ? json_string(name) : json_integer(j->priority));
}

json_t *job_to_json(const struct job *j)
{
    json_t *doc = j->body ? json_object() : NULL;

    if (doc && write_object(j, job_specs, doc) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---- releasing ---- */

static void free_kv(struct job_kv *kv, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void job_body_drop(struct job *j)
{
    struct job_body *b = j->body;
    size_t i;

    if (!b)
        return;
    free(b->description);
    free(b->cron_expr);
    free_list(b->argv);
    free(b->shell);
    free(b->workdir);
    free_kv(b->env, b->n_env);
    job_params_free(b->params, b->n_params);
    for (i = 0; i < JOB_ON_COUNT; i++)
        free_list(b->notify[i]);
    free_kv(b->labels, b->n_labels);
    free(b);
    j->body = NULL;
}

void job_free(struct job *j)
{
    if (!j)
        return;
    job_body_drop(j);
    job_sched_release(&j->sched);
    free(j->ns);
    free(j);
}

/* ---- names and defaults ---- */

int job_set_names(struct job *j, const char *ns, const char *name)
{
    size_t a = strlen(ns), b = strlen(name);
    char *p = malloc(a + b + 2);

    if (!p)
        return -CHIME_ENOMEM;
    memcpy(p, ns, a + 1);
    memcpy(p + a + 1, name, b + 1);
    free(j->ns);
    j->ns = p;
    j->name = p + a + 1;
    return 0;
}

/* The defaults of the rows of SPECS (and of their nested objects) that
 * live in struct job, not in the body. */
static void set_defaults(struct job *j, const struct spec *specs)
{
    for (size_t i = 0; specs[i].key; i++) {
        const struct spec *s = &specs[i];
        void *p = (char *)j + s->off;
        int e = (int)s->def;

        if (s->in_body)
            continue;
        switch (s->kind) {
        case SPEC_INT:
            *(int *)p = (int)s->def;
            break;
        case SPEC_INT64:
        case SPEC_DURATION:
        case SPEC_SIZE:
            *(int64_t *)p = s->def;
            break;
        case SPEC_REAL:
            *(double *)p = s->ddef;
            break;
        case SPEC_ENUM:
            memcpy(p, &e, sizeof e);
            break;
        case SPEC_OBJECT:
            set_defaults(j, s->sub);
            break;
        default:
            break;
        }
    }
}

struct job *job_new(const char *ns, const char *name)
{
    struct job *j = calloc(1, sizeof *j);

    if (!j || job_set_names(j, ns, name) < 0) {
        free(j);
        return NULL;
    }
    set_defaults(j, job_specs);
    j->priority = PRIORITY_DEFAULT;
    j->sched.kind = JOB_MANUAL;
    return j;
}

/* ---- the members, described ---- */

static struct job_field spec_field(const struct spec *s)
{
    struct job_field f = { .key = s->key, .min = s->min, .max = s->max, .doc = s->doc };
    static const enum job_field_type types[] = {
        [SPEC_INT] = JOB_FIELD_INTEGER,   [SPEC_INT64] = JOB_FIELD_INTEGER,
        [SPEC_REAL] = JOB_FIELD_NUMBER,   [SPEC_BOOL] = JOB_FIELD_BOOLEAN,
        [SPEC_DURATION] = JOB_FIELD_DURATION, [SPEC_SIZE] = JOB_FIELD_SIZE,
        [SPEC_ENUM] = JOB_FIELD_ENUM,     [SPEC_STRING] = JOB_FIELD_STRING,
        [SPEC_CHANNELS] = JOB_FIELD_NAMES, [SPEC_OBJECT] = JOB_FIELD_OBJECT,
    };

    f.type = s->kind == SPEC_CUSTOM ? s->type : types[s->kind];
    f.flags = (s->flags & SPEC_REQUIRED ? JOB_FIELD_REQUIRED : 0)
              | (s->flags & SPEC_AT_TIMES ? JOB_FIELD_AT_TIMES : 0)
              | (s->flags & (SPEC_ZERO_IS_NONE | SPEC_NULL) || s->kind == SPEC_STRING
                     ? JOB_FIELD_NULL : 0);
    f.dmin = s->dmin;
    f.dmax = s->dmax;
    f.names = s->names;
    if (s->kind == SPEC_CHANNELS) {
        f.max = CHANNELS_MAX;
        if (!f.doc)
            f.doc = "the channels notified of the event";
    }
    return f;
}

int job_fields(const char *path, struct job_field *ret, size_t max)
{
    const struct spec *specs = job_specs;
    const char *dot;
    size_t i, n = 0;

    if (strcmp(path, "schedule") == 0)
        return job_sched_fields(ret, max);
    if (strcmp(path, "params") == 0)
        return job_params_fields(ret, max);
    /* "" or "retry", "limits", ...: the rows of one nested object */
    while (*path) {
        const struct spec *s;

        dot = strchr(path, '.');
        s = find_spec(specs, path, dot ? (size_t)(dot - path) : strlen(path));
        if (!s || s->kind != SPEC_OBJECT)
            return -1;
        specs = s->sub;
        path = dot ? dot + 1 : "";
    }
    for (i = 0; specs[i].key; i++, n++)
        if (n < max)
            ret[n] = spec_field(&specs[i]);
    return (int)n;
}
