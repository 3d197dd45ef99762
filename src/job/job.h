/* job.h: a job as chime runs it, and its public JSON document.
 *
 * A job document (docs/design.md, "The job document") is validated completely
 * before anything is saved: unknown fields, wrong types, bad durations,
 * bad cron expressions and unknown zones are errors naming the field by its
 * path ("retry.max_attempts", "schedule.cron", "command[2]", "env.MODE";
 * err->field keeps 31 bytes of it). A null member reads as an absent one.
 * A valid document becomes a struct job with every default filled in;
 * job_to_json() gives back the canonical document, so from_json(to_json(j))
 * == j: every member written with its effective value, durations and sizes
 * in their shortest form ("1h30m", "4M"), instants in UTC with
 * microseconds, "after" jobs as "namespace/name", a priority by its name
 * when it has one, and "none" (no timeout, no limit, no description, no
 * workdir, no start, the default zone) as null rather than left out. Of
 * "command" and "shell" only the one in use is written. "at" and "start"
 * must carry a UTC offset. The caller owns a job and releases it with
 * job_free().
 *
 * A job is two parts: struct job, what the engine schedules by (kept for
 * every scheduled job, so it is small), and struct job_body, the rest of
 * the document (what a run and the document need). A job read from a
 * document has both; one made from the store's plan columns
 * (job_from_plan) has no body, and neither has a job the engine keeps. */
#ifndef CHIME_JOB_H
#define CHIME_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/vocab.h"
#include "time/cron.h"

struct err;
struct store_job_plan;
struct tz;
typedef struct json_t json_t;

#define JOB_NAME_MAX 63           /* [a-z0-9][a-z0-9._-]{0,62} */
#define JOB_DOC_MAX (64 * 1024)   /* bytes of JSON text */

enum job_sched_kind { JOB_CRON, JOB_EVERY, JOB_AT, JOB_AFTER, JOB_MANUAL };
enum job_when { JOB_WHEN_SUCCESS, JOB_WHEN_FAILURE, JOB_WHEN_ALWAYS };
enum job_concurrency { JOB_FORBID, JOB_ALLOW, JOB_QUEUE, JOB_REPLACE };
enum job_catch_up { JOB_CATCH_UP_NONE, JOB_CATCH_UP_LATEST, JOB_CATCH_UP_ALL };

/* A job's notification events, from store/vocab.h's table: its document
 * lists channels under "on_NAME". Counted from 0: they index arrays. */
enum job_notify_event {
#define X(id, ...) JOB_ON_##id,
    STORE_JOB_EVENTS(X)
#undef X
    JOB_ON_COUNT
};

/* What an env value is (jobsecret.h): the value itself, or a secret as
 * given ({"secret": "..."}), sealed ({"secret": {"v": 1, "box": "..."}},
 * VALUE the box) or redacted ({"secret": {"redacted": TAG}}, VALUE the
 * tag). Labels are always JOB_ENV_PLAIN. */
enum job_env_kind { JOB_ENV_PLAIN, JOB_ENV_SECRET, JOB_ENV_SEALED, JOB_ENV_REDACTED };

struct job_kv {
    char *key;
    char *value;
    unsigned char kind;     /* enum job_env_kind */
};

/* A parameter a manual trigger may set (jobparam.c): a variable of the
 * run's environment whose value must match PATTERN (a POSIX extended
 * regular expression, matched against the whole value). */
struct job_param {
    char *name;
    char *pattern;
    char *def;              /* the value when a run is not given one; NULL: unset */
    char *description;      /* NULL: none */
};

/* The schedule: one kind, and only that kind's fields (a union: read the
 * arm KIND names). The texts of the document that scheduling does not
 * need (the cron expression as written) are in the body. */
struct job_sched {
    enum job_sched_kind kind;
    enum job_when when;                 /* JOB_AFTER */
    union {
        struct {                        /* JOB_CRON */
            struct cron cron;
            const struct tz *zone;      /* loaded zone; NULL: the daemon's default */
        };
        struct {                        /* JOB_EVERY */
            int64_t every_us;           /* period */
            int64_t start_us;           /* first fire; INT64_MIN: none given */
            int64_t jitter_us;          /* random delay up to this; 0: none */
        };
        int64_t at_us;                  /* JOB_AT: the one fire */
        struct {                        /* JOB_AFTER */
            char **after;               /* "namespace/name" of upstream jobs */
            size_t n_after;
        };
    };
};

/* What a run and the document need beyond scheduling: the executor, its
 * limits, and the texts. A job read from the store's schedule columns
 * (job_from_plan) has none; the runner reads the document when a run
 * starts. */
struct job_body {
    char *description;              /* NULL: none */
    char *cron_expr;                /* JOB_CRON: the expression as written */
    char **argv;                    /* "command": NULL-terminated; NULL when shell */
    size_t argc;
    char *shell;                    /* "shell": run by /bin/sh -c; NULL when argv */
    char *workdir;                  /* relative to the namespace root; NULL: the root */
    struct job_kv *env;             /* sorted by key */
    size_t n_env;
    struct job_param *params;       /* what a trigger may set; sorted by name */
    size_t n_params;
    int64_t timeout_us;             /* 0: none */
    int64_t kill_grace_us;          /* default 10s */
    int64_t stuck_after_us;         /* a run this long is stuck (/healthz); 0: the default */
    struct {
        int64_t memory;             /* bytes; 0: no limit */
        int64_t cpu_time_us;        /* 0: no limit */
        int64_t processes;          /* 0: no limit */
        int64_t open_files;         /* 0: no limit */
        int64_t output;             /* bytes kept of output; default 4M */
    } limits;
    struct {                        /* "retention"; 0: the daemon's default */
        int64_t runs;               /* finished runs kept */
        int64_t for_us;             /* ... fired at most this long ago */
        int64_t output;             /* bytes of output kept, newest runs first */
        int64_t dead_letters;       /* dead letters kept (they expire by for_us too) */
    } retention;
    char **notify[JOB_ON_COUNT];    /* channel names per event, NULL-terminated or NULL */
    struct job_kv *labels;          /* sorted by key */
    size_t n_labels;
};

/* A job: its name, its schedule and the policies the engine applies, and
 * (when read from a document) its body. The engine keeps one per job
 * version for as long as it schedules it, so the part it keeps is small. */
struct job {
    char *ns;                       /* namespace, default "default"; one allocation */
    const char *name;               /* ... with the name: "ns\0name\0" */
    struct job_sched sched;
    struct {
        int64_t backoff_us;         /* first delay, default 10s */
        int64_t max_backoff_us;     /* ceiling, default 1h */
        double factor;              /* default 2 */
        double jitter;              /* random fraction 0-1 of each delay, default 0 */
        int max_attempts;           /* total attempts, default 1 (no retry) */
    } retry;
    enum job_concurrency concurrency;   /* default forbid */
    int max_instances;              /* allow: at once; queue: waiting bound; default 1 */
    struct {
        int64_t grace_us;           /* default 1h */
        enum job_catch_up catch_up; /* default latest */
        int max_catch_up;           /* default 100 */
    } misfire;
    int priority;                   /* low 1, normal 5 (default), high 10, critical 15, or 0-100 */
    int disable_after_failures;     /* 0: never */
    bool paused;
    struct job_body *body;          /* NULL: not read (job_from_plan, job_body_drop) */
};

/* Validates DOC (borrowed) and returns an owned job. DEFAULT_NS fills a
 * missing "namespace" ("default" when NULL). Errors name the field by its
 * path; *RET is written only on success. */
int job_from_json(const json_t *doc, const char *default_ns, struct job **ret,
                  struct err *err);
/* Parses and validates JSON text: LEN bytes, at most JOB_DOC_MAX
 * (CHIME_ETOOBIG), no NUL needed at the end. Malformed JSON and duplicate
 * keys are CHIME_EINVAL with field "" and the line and column. */
int job_parse(const char *text, size_t len, const char *default_ns, struct job **ret,
              struct err *err);
/* The canonical document; a new reference the caller releases. NULL when
 * out of memory, when J has no body, or when J holds what no document can
 * (such as an enum value outside its names). */
json_t *job_to_json(const struct job *j);
void job_free(struct job *j);
/* Frees J's body and sets it NULL: what stays is what the engine needs. */
void job_body_drop(struct job *j);

/* ---- the document's members, for whoever describes it ----
 *
 * The reader's own tables, walked: what job_from_json() accepts at each
 * object of a document, with each member's type, bounds, names and words,
 * so a description (the API's OpenAPI schema) is made from them and
 * cannot drift from them. A member may always be null, which reads as
 * absent (its default). */
enum job_field_type {
    JOB_FIELD_OBJECT,       /* members: job_fields(PATH.KEY) */
    JOB_FIELD_STRING,       /* at most max bytes (0: no bound); min 1: not empty */
    JOB_FIELD_NAME,         /* [a-z0-9][a-z0-9._-]{0,62} */
    JOB_FIELD_INTEGER,      /* in [min, max] */
    JOB_FIELD_NUMBER,       /* in [dmin, dmax] */
    JOB_FIELD_BOOLEAN,      /* min 1: true only */
    JOB_FIELD_DURATION,     /* "1h30m" or integer seconds; at least min microseconds */
    JOB_FIELD_SIZE,         /* "512M" or integer bytes; at least min bytes */
    JOB_FIELD_INSTANT,      /* RFC 3339 with a UTC offset */
    JOB_FIELD_ENUM,         /* one of names; or an integer in [min, max] when max > 0 */
    JOB_FIELD_STRINGS,      /* an array of at most max strings (min: at least that many) */
    JOB_FIELD_NAMES,        /* an array of at most max distinct JOB_FIELD_NAMEs */
    JOB_FIELD_LABELS,       /* an object of at most max strings, keys like names ('/' too) */
    JOB_FIELD_ENV,          /* an object of at most max strings or secrets (docs/secrets.md) */
    JOB_FIELD_MAP,          /* an object of at most max objects, each one job_fields(PATH.KEY) */
};

/* One row of an enum's names; a table ends with { NULL, 0 }. */
struct job_name_value {
    const char *name;
    int value;
};

#define JOB_FIELD_REQUIRED 1u   /* a document without it is refused */
#define JOB_FIELD_NULL     2u   /* job_to_json() writes null for "none" */
#define JOB_FIELD_AT_TIMES 4u   /* job_to_json() leaves it out at times */

struct job_field {
    const char *key;
    enum job_field_type type;
    unsigned flags;                 /* JOB_FIELD_* */
    int64_t min, max;               /* see the type */
    double dmin, dmax;              /* JOB_FIELD_NUMBER */
    const struct job_name_value *names; /* JOB_FIELD_ENUM */
    const char *doc;                /* NULL: none */
    const char *example;            /* a valid value; NULL: none given */
};

/* The members of the object at PATH of a job document: "" (the document),
 * a member of type JOB_FIELD_OBJECT ("retry", "schedule") or the entries
 * of a JOB_FIELD_MAP ("params"). Fills up to MAX of RET in the reader's
 * order and returns how many there are (more than MAX: call again), or -1
 * when PATH is none of these. The texts are static. */
int job_fields(const char *path, struct job_field *ret, size_t max);

/* A job of namespace NS and NAME with every policy at its default and a
 * "manual" schedule, no body: what job_from_plan() and the tests start
 * from. Returns an owned job, or NULL when out of memory. */
struct job *job_new(const char *ns, const char *name);

/* J's plan (see jobplan.c) for VERSION, as the store's columns, into
 * *RET; its texts point into *RET_TEXTS (owned, free(); may be NULL) and
 * into static names. J needs its body when it is a cron job (the
 * expression as written). -CHIME_EINVAL without it, -CHIME_ENOMEM. */
int job_plan_make(const struct job *j, int64_t version, struct store_job_plan *ret,
                  char **ret_texts);
/* A job of NS and NAME made from plan P (borrowed): every field the engine
 * reads, and no body. A value no document could hold is CHIME_EINVAL
 * naming the column. */
int job_from_plan(const struct store_job_plan *p, const char *ns, const char *name,
                  struct job **ret, struct err *err);

/* "namespace/name" into BUF (at least 2 * JOB_NAME_MAX + 2 bytes, else
 * cut). Returns BUF. */
char *job_id(const struct job *j, char *buf, size_t len);
/* Splits "ns/name" or "name" (namespace DEFAULT_NS, or "default" when
 * NULL) and validates both into NS and NAME (JOB_NAME_MAX + 1 bytes each),
 * written only on success. Errors name the field "job". */
int job_id_parse(const char *id, const char *default_ns, char *ns, char *name,
                 struct err *err);
/* The values of a run's parameters: for each of B's params (by index),
 * the trigger's value in GIVEN (its "params" object, borrowed; NULL: none)
 * or else the default, or NULL for neither, into RET (b->n_params
 * pointers, borrowed from GIVEN and B). GIVEN may set only B's params,
 * each value a string of at most 1024 bytes of UTF-8 without NUL whose
 * whole matches the param's pattern: anything else is CHIME_EINVAL naming
 * "params.NAME", and a name no param may have says why. */
int job_params_resolve(const struct job_body *b, const json_t *given, const char **ret,
                       struct err *err);

/* The variables chime sets in every run's environment, one table: the
 * runner writes them (node.c) and a job's env may not set them. Any other
 * name is the job's, CHIME_URL and CHIME_TOKEN included (a backup job
 * talks to the daemon). */
#define JOB_RUN_VARS(X) X(JOB) X(NAMESPACE) X(RUN_ID) X(FIRE_TIME) X(ATTEMPT)

enum job_run_var {
#define JOB_RUN_VAR_ENUM(n) JOB_VAR_##n,
    JOB_RUN_VARS(JOB_RUN_VAR_ENUM)
#undef JOB_RUN_VAR_ENUM
    JOB_VAR_COUNT
};

/* "CHIME_JOB", ..., by enum job_run_var. */
extern const char *const job_run_var_names[JOB_VAR_COUNT];
/* Whether the LEN bytes of KEY are one of the run variables' names. */
bool job_env_reserved(const char *key, size_t len);

#endif
