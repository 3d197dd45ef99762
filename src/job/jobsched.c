/* jobsched.c: the "schedule" member of a job document.
 *
 * A schedule is an object of exactly one kind, named by the member that
 * gives it ("cron", "every", "at", "after", "manual"), plus the members
 * that kind takes ("timezone"; "start", "jitter"; "when"). Each key is
 * checked before any value is read: an unknown key, a second kind, or a
 * member of another kind is an error naming "schedule.KEY".
 *
 * Instants ("at", "start") must carry a UTC offset: the daemon's default
 * zone is not known here, and a local time read as UTC would fire hours
 * off without a word. They are written back in UTC. */
#include "job/jobdoc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job/job.h"
#include "time/cron.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "time/units.h"
#include "util/err.h"
#include "../banned.h"

#define S INT64_C(1000000)
#define AFTER_MAX 64                /* upstream jobs of one "after" */
#define ID_LEN (2 * JOB_NAME_MAX + 2)
/* Instants whose UTC form has a year in 0001-9999, the years isotime.c
 * reads: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z. */
#define INSTANT_MIN_US (INT64_C(-62135596800) * S)
#define INSTANT_MAX_US (INT64_C(253402300799) * S + 999999)

static const struct job_name_value when_names[] = {
    { "success", JOB_WHEN_SUCCESS },
    { "failure", JOB_WHEN_FAILURE },
    { "always", JOB_WHEN_ALWAYS },
    { NULL, 0 },
};

static int read_cron(const json_t *o, struct job_reader *r);
static int read_every(const json_t *o, struct job_reader *r);
static int read_at(const json_t *o, struct job_reader *r);
static int read_after(const json_t *o, struct job_reader *r);
static int read_manual(const json_t *o, struct job_reader *r);
static int write_cron(const struct job *j, json_t *o);
static int write_every(const struct job *j, json_t *o);
static int write_at(const struct job *j, json_t *o);
static int write_after(const struct job *j, json_t *o);
static int write_manual(const struct job *j, json_t *o);

/* Every member is written only for its kind (JOB_FIELD_AT_TIMES). */
#define M(k, t, f, ...) { k, JOB_FIELD_##t, JOB_FIELD_AT_TIMES | (f), __VA_ARGS__ }

static const struct kind {
    struct job_field member;        /* the member that names the kind */
    enum job_sched_kind kind;
    struct job_field extras[2];     /* the other members it takes; key NULL: none */
    int (*read)(const json_t *o, struct job_reader *r);
    int (*write)(const struct job *j, json_t *o);
} kinds[] = {
    { M("cron", STRING, 0, .min = 1, .doc = "a cron expression: 5 fields, or 6 with seconds",
        .example = "0 2 * * *"),
      JOB_CRON,
      { M("timezone", STRING, JOB_FIELD_NULL,
          .doc = "an IANA zone; null: the daemon's", .example = "Europe/Berlin") },
      read_cron, write_cron },
    { M("every", DURATION, 0, .min = S), JOB_EVERY,
      { M("start", INSTANT, JOB_FIELD_NULL,
          .doc = "the first fire; null: now"),
        M("jitter", DURATION, 0, .min = 0, .doc = "a random delay up to this") },
      read_every, write_every },
    { M("at", INSTANT, 0, .doc = "the one fire"), JOB_AT, { { 0 } }, read_at, write_at },
    { M("after", STRINGS, 0, .min = 1, .max = AFTER_MAX,
        .doc = "the upstream jobs, NAMESPACE/NAME or NAME (of the job's namespace)"),
      JOB_AFTER,
      { M("when", ENUM, 0, .names = when_names, .doc = "which of their ends fires it (default success)") },
      read_after, write_after },
    { M("manual", BOOLEAN, 0, .min = 1, .doc = "true: fired only by a trigger"), JOB_MANUAL,
      { { 0 } }, read_manual, write_manual },
};
#undef M
#define N_KINDS (sizeof kinds / sizeof kinds[0])
#define N_EXTRAS (sizeof kinds[0].extras / sizeof kinds[0].extras[0])

static bool key_is(const char *key, size_t len, const char *name)
{
    return name && strlen(name) == len && memcmp(key, name, len) == 0;
}

/* The kind KEY names, or NULL. */
static const struct kind *kind_named(const char *key, size_t len)
{
    size_t i;

    for (i = 0; i < N_KINDS; i++)
        if (key_is(key, len, kinds[i].member.key))
            return &kinds[i];
    return NULL;
}

/* The kind that takes KEY as an extra member, or NULL. */
static const struct kind *kind_taking(const char *key, size_t len)
{
    size_t i, k;

    for (i = 0; i < N_KINDS; i++)
        for (k = 0; k < N_EXTRAS; k++)
            if (key_is(key, len, kinds[i].extras[k].key))
                return &kinds[i];
    return NULL;
}

/* Member KEY of O; null reads as absent. */
static const json_t *member(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return v && !json_is_null(v) ? v : NULL;
}

int job_sched_read(const json_t *v, const char *path, struct job_reader *r)
{
    char sub[JOB_PATH_LEN];
    const struct kind *kind = NULL, *other;
    const char *key;
    size_t key_len;
    json_t *value;
    int rc;

    if (!v)
        return job_missing(path, r->err);
    if (!json_is_object(v))
        return job_type_error(v, path, "an object", r->err);
    /* jansson's iterators take a non-const object; they do not change it. */
    json_object_keylen_foreach((json_t *)v, key, key_len, value) {
        if ((rc = job_check_key(key, key_len, path, r->err)) < 0)
            return rc;
        if (!(other = kind_named(key, key_len)))
            continue;
        if (kind)
            return err_set(r->err, CHIME_EINVAL, job_path(sub, sizeof sub, path, key, key_len),
                           "'%s' and '%s' are both given: want one kind of schedule",
                           kind->member.key, other->member.key);
        kind = other;
    }
    json_object_keylen_foreach((json_t *)v, key, key_len, value) {
        if (kind_named(key, key_len))
            continue;
        job_path(sub, sizeof sub, path, key, key_len);
        if (!(other = kind_taking(key, key_len))) {
            const char *known[N_KINDS * (N_EXTRAS + 1)];
            size_t n = 0, i, k;

            for (i = 0; i < N_KINDS; i++) {
                known[n++] = kinds[i].member.key;
                for (k = 0; k < N_EXTRAS && kinds[i].extras[k].key; k++)
                    known[n++] = kinds[i].extras[k].key;
            }
            return job_unknown_field(sub, key, key_len, known, n, r->err);
        }
        if (kind && other != kind)
            return err_set(r->err, CHIME_EINVAL, sub,
                           "'%.*s' goes with '%s', not with '%s'",
                           (int)key_len, key, other->member.key, kind->member.key);
    }
    if (!kind)
        return err_set(r->err, CHIME_EINVAL, path,
                       "no kind of schedule: want 'cron', 'every', 'at', 'after' or 'manual'");
    r->j->sched.kind = kind->kind;
    return kind->read(v, r);
}

/* Rewrites an error of cron.c or tz.c for PATH. cron.c names the field of
 * the expression ("minute"); that name moves into the message. */
static int moved_error(const struct err *e, const char *path, struct err *err)
{
    bool part = e->field[0] && strcmp(e->field, "expression") != 0 &&
                strcmp(e->field, "timezone") != 0;
    int code = e->code > CHIME_OK ? e->code : CHIME_EINVAL;    /* never a success */

    err_set(err, code, path, "%s%s%s", part ? e->field : "", part ? " " : "", e->msg);
    return -code;
}

static int read_cron(const json_t *o, struct job_reader *r)
{
    struct job_sched *s = &r->j->sched;
    const json_t *zone = member(o, "timezone");
    struct err e = { 0 };
    const char *text;
    int rc;

    if ((rc = job_read_string(json_object_get(o, "cron"), "schedule.cron", SIZE_MAX,
                              &text, NULL, r->err)) < 0)
        return rc;
    if (cron_parse(text, &s->cron, &e) < 0)
        return moved_error(&e, "schedule.cron", r->err);
    if (!(r->j->body->cron_expr = strdup(text)))
        return job_no_memory("schedule.cron", r->err);
    if (!zone)
        return 0;               /* the daemon's default zone */
    if ((rc = job_read_string(zone, "schedule.timezone", SIZE_MAX, &text, NULL,
                              r->err)) < 0)
        return rc;
    /* the zone keeps the name it was loaded by: tz_name() writes it back */
    if (tz_load(text, &s->zone, &e) < 0)
        return moved_error(&e, "schedule.timezone", r->err);
    return 0;
}

/* An ISO 8601 instant with a UTC offset. isotime_parse() has checked that
 * the text starts with a four-digit date, so an offset or "Z" is any of
 * "+-Zz" after its tenth byte. */
static int read_instant(const json_t *v, const char *path, int64_t *ret_us,
                        struct err *err)
{
    char q[JOB_QUOTE_LEN];
    const char *s;
    int64_t us;
    int rc;

    if ((rc = job_read_string(v, path, SIZE_MAX, &s, NULL, err)) < 0 ||
        (rc = isotime_parse(s, NULL, path, &us, err)) < 0)
        return rc;
    err_quote(s, SIZE_MAX, q, sizeof q);
    if (strlen(s) <= 10 || !strpbrk(s + 10, "+-Zz"))
        return err_set(err, CHIME_EINVAL, path,
                       "'%s' has no UTC offset (add 'Z' or '+HH:MM')", q);
    /* "0001-01-01T00:00+05:00" is in year 0 in UTC: it could not be
     * written back in a form that reads again. */
    if (us < INSTANT_MIN_US || us > INSTANT_MAX_US)
        return err_set(err, CHIME_ERANGE, path,
                       "'%s' is out of range (years 0001-9999 in UTC)", q);
    *ret_us = us;
    return 0;
}

/* A period under a second would only load the machine, and fires fall on
 * whole seconds elsewhere (cron). The jitter is a delay within the period. */
static int read_every(const json_t *o, struct job_reader *r)
{
    struct job_sched *s = &r->j->sched;
    const json_t *start = member(o, "start"), *jitter = member(o, "jitter");
    char a[32], b[32];
    int rc;

    s->start_us = INT64_MIN;
    if ((rc = job_read_duration(json_object_get(o, "every"), "schedule.every", S,
                                &s->every_us, r->err)) < 0)
        return rc;
    if (start && (rc = read_instant(start, "schedule.start", &s->start_us, r->err)) < 0)
        return rc;
    if (jitter && (rc = job_read_duration(jitter, "schedule.jitter", 0, &s->jitter_us,
                                          r->err)) < 0)
        return rc;
    if (s->jitter_us >= s->every_us)
        return err_set(r->err, CHIME_ERANGE, "schedule.jitter",
                       "'%s' is not less than the period '%s'",
                       units_duration_format(s->jitter_us, a, sizeof a),
                       units_duration_format(s->every_us, b, sizeof b));
    return 0;
}

static int read_at(const json_t *o, struct job_reader *r)
{
    return read_instant(json_object_get(o, "at"), "schedule.at", &r->j->sched.at_us,
                        r->err);
}

/* Upstream jobs as "namespace/name"; a bare name is in this job's
 * namespace. Unique after that, and never the job itself. */
static int read_after(const json_t *o, struct job_reader *r)
{
    const char *path = "schedule.after";
    const json_t *v = json_object_get(o, "after"), *when = member(o, "when");
    struct job_sched *s = &r->j->sched;
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[ID_LEN], self[ID_LEN];
    size_t i, k, n;
    int w = JOB_WHEN_SUCCESS, rc;

    if (!json_is_array(v))
        return job_type_error(v, path, "an array of job names", r->err);
    n = json_array_size(v);
    if (n == 0)
        return err_set(r->err, CHIME_EINVAL, path, "empty array: want 1-%d jobs", AFTER_MAX);
    if (n > AFTER_MAX)
        return err_set(r->err, CHIME_ETOOBIG, path, "%zu jobs are more than %d", n, AFTER_MAX);
    if (!(s->after = calloc(n, sizeof *s->after)))
        return job_no_memory(path, r->err);
    job_id(r->j, self, sizeof self);
    for (i = 0; i < n; i++) {
        char sub[JOB_PATH_LEN];
        const char *text;
        size_t len;

        job_path_item(sub, sizeof sub, path, i);
        if ((rc = job_read_string(json_array_get(v, i), sub, SIZE_MAX, &text, &len,
                                  r->err)) < 0 ||
            (rc = job_id_split(text, len, r->j->ns, sub, ns, name, r->err)) < 0)
            return rc;
        snprintf(id, sizeof id, "%s/%s", ns, name);
        if (strcmp(id, self) == 0)
            return err_set(r->err, CHIME_EINVAL, sub, "'%s' is this job itself", id);
        for (k = 0; k < i; k++)
            if (strcmp(s->after[k], id) == 0)
                return err_set(r->err, CHIME_EINVAL, sub, "'%s' is listed twice", id);
        if (!(s->after[i] = strdup(id)))
            return job_no_memory(sub, r->err);
        s->n_after = i + 1;
    }
    if (when && (rc = job_read_enum(when, "schedule.when", when_names, &w, r->err)) < 0)
        return rc;
    s->when = (enum job_when)w;
    return 0;
}

static int read_manual(const json_t *o, struct job_reader *r)
{
    const json_t *v = json_object_get(o, "manual");

    if (json_is_true(v))
        return 0;
    if (json_is_false(v))
        return err_set(r->err, CHIME_EINVAL, "schedule.manual",
                       "'false' is not a schedule: want {\"manual\": true}");
    return job_type_error(v, "schedule.manual", "true", r->err);
}

/* ---- writing ---- */

static json_t *duration(int64_t us)
{
    char buf[32];

    return json_string(units_duration_format(us, buf, sizeof buf));
}

static json_t *instant(int64_t us)
{
    char buf[ISOTIME_LEN];

    return json_string(isotime_format_utc(us, buf, sizeof buf));
}

/* Each writer sets every member of its kind, defaults and nulls included;
 * json_object_set_new() fails on a NULL value, so the rc covers allocation. */
static int write_cron(const struct job *j, json_t *o)
{
    const struct job_sched *s = &j->sched;

    if (json_object_set_new(o, "cron", json_string(j->body->cron_expr)) < 0)
        return -1;
    return json_object_set_new(o, "timezone", s->zone ? json_string(tz_name(s->zone)) : json_null());
}

static int write_every(const struct job *j, json_t *o)
{
    const struct job_sched *s = &j->sched;

    if (json_object_set_new(o, "every", duration(s->every_us)) < 0 ||
        json_object_set_new(o, "start",
                            s->start_us == INT64_MIN ? json_null() : instant(s->start_us)) < 0)
        return -1;
    return json_object_set_new(o, "jitter", duration(s->jitter_us));
}

static int write_at(const struct job *j, json_t *o)
{
    return json_object_set_new(o, "at", instant(j->sched.at_us));
}

static int write_after(const struct job *j, json_t *o)
{
    const struct job_sched *s = &j->sched;
    json_t *a = json_array();
    size_t i;

    if (json_object_set_new(o, "after", a) < 0)
        return -1;
    for (i = 0; i < s->n_after; i++)
        if (json_array_append_new(a, json_string(s->after[i])) < 0)
            return -1;
    return json_object_set_new(o, "when", json_string(job_enum_name(when_names, (int)s->when)));
}

static int write_manual(const struct job *j, json_t *o)
{
    (void)j;
    return json_object_set_new(o, "manual", json_true());
}

json_t *job_sched_write(const struct job *j)
{
    json_t *o = json_object();
    size_t i;

    for (i = 0; o && i < N_KINDS; i++)
        if (kinds[i].kind == j->sched.kind) {
            if (kinds[i].write(j, o) < 0) {
                json_decref(o);
                return NULL;
            }
            return o;
        }
    json_decref(o);
    return NULL;
}

void job_sched_release(struct job_sched *s)
{
    size_t i;

    if (s->kind != JOB_AFTER)
        return;
    for (i = 0; i < s->n_after; i++)
        free(s->after[i]);
    free(s->after);
    s->after = NULL;
    s->n_after = 0;
}

const char *job_sched_kind_name(enum job_sched_kind kind)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (kinds[i].kind == kind)
            return kinds[i].member.key;
    return NULL;
}

int job_sched_kind_parse(const char *name)
{
    const struct kind *k = name ? kind_named(name, strlen(name)) : NULL;

    return k ? (int)k->kind : -1;
}

const char *job_when_name(enum job_when when)
{
    return job_enum_name(when_names, (int)when);
}

int job_when_parse(const char *name)
{
    for (size_t i = 0; name && when_names[i].name; i++)
        if (strcmp(when_names[i].name, name) == 0)
            return when_names[i].value;
    return -1;
}

int job_sched_fields(struct job_field *ret, size_t max)
{
    size_t i, k, n = 0;

    for (i = 0; i < N_KINDS; i++) {
        if (n < max)
            ret[n] = kinds[i].member;
        n++;
        for (k = 0; k < N_EXTRAS && kinds[i].extras[k].key; k++, n++)
            if (n < max)
                ret[n] = kinds[i].extras[k];
    }
    return (int)n;
}
