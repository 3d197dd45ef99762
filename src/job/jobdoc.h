/* jobdoc.h: the job document's internals, private to job.c (the document
 * and its tables), jobvalue.c (reading one value) and jobsched.c (the
 * "schedule" member). Other modules use job.h.
 *
 * Every reader reports a fault the same way: the member's path in
 * err->field ("retry.backoff", "command[2]"), the value quoted in the
 * message. A reader writes its result only on success. */
#ifndef CHIME_JOBDOC_H
#define CHIME_JOBDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job/job.h"

struct err;

#define JOB_DEFAULT_NS "default"   /* when neither document nor caller names one */
#define JOB_QUOTE_LEN 48        /* a quoted value in a message, with NUL */
#define JOB_PATH_LEN 64         /* a member's path; err->field keeps 31 bytes */
#define JOB_KEY_GUESS_MAX 32    /* longer unknown keys get no "did you mean" */
#define JOB_PARAMS_MAX 64       /* params of one job */

/* What reading one document needs; J is filled member by member. */
struct job_reader {
    struct job *j;
    const char *default_ns;     /* borrowed; NULL: "default" */
    struct err *err;
    char name[64];              /* "name", read before "namespace" */
};

/* ---- job.c ---- */

/* The names of enum job_concurrency and enum job_catch_up. */
extern const struct job_name_value job_concurrency_names[];
extern const struct job_name_value job_catch_up_names[];

/* Sets J's namespace and name (one allocation, the old one freed):
 * 0 or -CHIME_ENOMEM. */
int job_set_names(struct job *j, const char *ns, const char *name);

/* Whether KEY (LEN bytes) may name a variable of a run's environment, as
 * a job's "env" requires: [A-Za-z_][A-Za-z0-9_]*, 1-128 bytes, not one of
 * the run variables. CHIME_EINVAL naming PATH. */
int job_check_env_key(const char *key, size_t len, const char *path, struct err *err);

/* ---- jobparam.c ---- */

/* The "params" member at PATH (V NULL when absent) into r->j's body; needs
 * its env read first (a param may not share a name with it). */
int job_params_read(const json_t *v, const char *path, struct job_reader *r);
/* J's params as KEY of OBJ: json_object_set_new()'s result. */
int job_params_write(const struct job *j, json_t *obj, const char *key);
/* The members of one param, as job_fields("params") gives them. */
int job_params_fields(struct job_field *ret, size_t max);
/* Frees N params at P (and P). */
void job_params_free(struct job_param *p, size_t n);

/* ---- jobsched.c ---- */

/* The members of "schedule", as job_fields() gives them. */
int job_sched_fields(struct job_field *ret, size_t max);

/* The schedule member: V is the member (NULL when absent or null), PATH
 * "schedule". Reads into r->j->sched (and the cron expression into its
 * body); needs r->j's name and namespace. */
int job_sched_read(const json_t *v, const char *path, struct job_reader *r);
/* J's canonical schedule object, a new reference; NULL when out of memory. */
json_t *job_sched_write(const struct job *j);
/* The kind's document name ("cron"), and back: -1 when unknown. */
const char *job_sched_kind_name(enum job_sched_kind kind);
int job_sched_kind_parse(const char *name);
/* "success", "failure", "always", and back: -1 when unknown. */
const char *job_when_name(enum job_when when);
int job_when_parse(const char *name);
/* Frees what the schedule owns; the struct itself is embedded. */
void job_sched_release(struct job_sched *s);

/* ---- jobvalue.c ---- */

/* job_id_parse() on ID's first LEN bytes, with the errors naming PATH. */
int job_id_split(const char *id, size_t len, const char *default_ns,
                 const char *path, char *ns, char *name, struct err *err);

/* An error unless KEY (KEY_LEN bytes, a member of the object at PARENT) is
 * free of NUL bytes. Every reader of an object's keys calls it first. */
int job_check_key(const char *key, size_t key_len, const char *parent, struct err *err);

/* PARENT + "." + KEY (KEY_LEN bytes from the document, quoted) into BUF. */
const char *job_path(char *buf, size_t len, const char *parent, const char *key,
                     size_t key_len);

/* PARENT + "[I]", for the item I of an array. */
const char *job_path_item(char *buf, size_t len, const char *parent, size_t i);

/* Errors. V is never NULL. KNOWN lists the keys that fit at PATH's level,
 * for a "did you mean". */
int job_type_error(const json_t *v, const char *path, const char *want,
                   struct err *err);
int job_missing(const char *path, struct err *err);
int job_no_memory(const char *path, struct err *err);
int job_unknown_field(const char *path, const char *key, size_t key_len,
                      const char *const *known, size_t n_known, struct err *err);

/* Readers of one value V (not NULL). A string is at most MAX bytes, valid
 * UTF-8 and free of NUL; job_read_string() lends it from V, job_dup_string()
 * returns an owned copy. Integers lie in [MIN, MAX]; durations and sizes
 * (strings for units.c, or integer seconds and bytes) are at least MIN. */
int job_read_string(const json_t *v, const char *path, size_t max,
                    const char **ret, size_t *ret_len, struct err *err);
int job_dup_string(const json_t *v, const char *path, size_t max, bool nonempty,
                   char **ret, struct err *err);
int job_read_int(const json_t *v, const char *path, int64_t min, int64_t max,
                 int64_t *ret, struct err *err);
int job_read_real(const json_t *v, const char *path, double min, double max,
                  double *ret, struct err *err);
int job_read_duration(const json_t *v, const char *path, int64_t min,
                      int64_t *ret_us, struct err *err);
int job_read_size(const json_t *v, const char *path, int64_t min,
                  int64_t *ret, struct err *err);
int job_read_enum(const json_t *v, const char *path,
                  const struct job_name_value *names, int *ret, struct err *err);
/* VALUE's name in NAMES, or NULL. */
const char *job_enum_name(const struct job_name_value *names, int value);

/* ---- the members read and written by hand (jobmember.c) ---- */

#define JOB_ARGV_MAX 256                /* items of "command" */
#define JOB_ARG_MAX_LEN 4096
#define JOB_SHELL_MAX ((size_t)64 * 1024)
#define JOB_WORKDIR_MAX 1024
#define JOB_ENV_MAX 256
#define JOB_ENV_KEY_MAX 128
#define JOB_ENV_VALUE_MAX ((size_t)32 * 1024)
#define JOB_LABELS_MAX 64
#define JOB_LABEL_VALUE_MAX 256

int job_read_name(const json_t *v, const char *path, struct job_reader *r);
int job_read_namespace(const json_t *v, const char *path, struct job_reader *r);
int job_read_command(const json_t *v, const char *path, struct job_reader *r);
int job_read_shell(const json_t *v, const char *path, struct job_reader *r);
int job_read_workdir(const json_t *v, const char *path, struct job_reader *r);
int job_read_env(const json_t *v, const char *path, struct job_reader *r);
int job_read_labels(const json_t *v, const char *path, struct job_reader *r);
int job_write_name(const struct job *j, json_t *obj, const char *key);
int job_write_namespace(const struct job *j, json_t *obj, const char *key);
int job_write_command(const struct job *j, json_t *obj, const char *key);
int job_write_shell(const struct job *j, json_t *obj, const char *key);
int job_write_workdir(const struct job *j, json_t *obj, const char *key);
int job_write_env(const struct job *j, json_t *obj, const char *key);
int job_write_labels(const struct job *j, json_t *obj, const char *key);
/* A list of strings as a JSON array (job.c). */
json_t *job_write_list(char *const *list);

#endif
