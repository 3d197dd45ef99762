/* jobmember.c: the members of the job document that a table row cannot
 * read and write alone: the name and namespace, command and shell, the
 * working directory, env (and the run variables it may not set) and
 * labels. job.c's table (job_specs) names these functions; they report
 * faults as every reader does (jobdoc.h). */
#include "job/jobdoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job/job.h"
#include "job/jobsecret.h"
#include "util/err.h"
#include "util/name.h"
#include "../banned.h"

int job_read_name(const json_t *v, const char *path, struct job_reader *r)
{
    const char *s;
    size_t len;
    int rc;

    if (!v)
        return job_missing(path, r->err);
    if ((rc = job_read_string(v, path, SIZE_MAX, &s, &len, r->err)) < 0 ||
        (rc = name_check(s, len, 0, NULL, path, r->err)) < 0)
        return rc;
    memcpy(r->name, s, len + 1);
    return 0;
}

int job_read_namespace(const json_t *v, const char *path, struct job_reader *r)
{
    const char *s = r->default_ns ? r->default_ns : JOB_DEFAULT_NS;
    size_t len = strlen(s);
    int rc;

    if (v && (rc = job_read_string(v, path, SIZE_MAX, &s, &len, r->err)) < 0)
        return rc;
    if ((rc = name_check(s, len, 0, NULL, path, r->err)) < 0)
        return rc;
    if (job_set_names(r->j, s, r->name) < 0)
        return job_no_memory(path, r->err);
    return 0;
}

int job_read_command(const json_t *v, const char *path, struct job_reader *r)
{
    char sub[JOB_PATH_LEN];
    struct job_body *j = r->j->body;
    size_t i, n;
    int rc;

    if (!v)
        return 0;
    if (!json_is_array(v))
        return job_type_error(v, path, "an array of strings", r->err);
    n = json_array_size(v);
    if (n == 0)
        return err_set(r->err, CHIME_EINVAL, path,
                       "empty array: want the program and its arguments");
    if (n > JOB_ARGV_MAX)
        return err_set(r->err, CHIME_ETOOBIG, path, "%zu arguments are more than %d",
                       n, JOB_ARGV_MAX);
    if (!(j->argv = calloc(n + 1, sizeof *j->argv)))
        return job_no_memory(path, r->err);
    for (i = 0; i < n; i++) {
        job_path_item(sub, sizeof sub, path, i);
        /* Arguments may be empty; the program may not. */
        if ((rc = job_dup_string(json_array_get(v, i), sub, JOB_ARG_MAX_LEN, i == 0,
                             &j->argv[i], r->err)) < 0)
            return rc;
        j->argc = i + 1;
    }
    return 0;
}

int job_read_shell(const json_t *v, const char *path, struct job_reader *r)
{
    if (v && r->j->body->argv)
        return err_set(r->err, CHIME_EINVAL, path,
                       "'shell' and 'command' are both given: want one of them");
    if (!v && !r->j->body->argv)
        return err_set(r->err, CHIME_EINVAL, "command",
                       "missing field 'command' (an argv array) or 'shell' (a string)");
    if (!v)
        return 0;
    return job_dup_string(v, path, JOB_SHELL_MAX, true, &r->j->body->shell, r->err);
}

/* The runner resolves the workdir beneath the namespace root; these rules
 * keep it there without touching the file system. Symbolic links inside
 * the root are the runner's business. */
int job_read_workdir(const json_t *v, const char *path, struct job_reader *r)
{
    char q[JOB_QUOTE_LEN];
    const char *s, *p;
    size_t len;
    int rc;

    if (!v)
        return 0;
    if ((rc = job_read_string(v, path, JOB_WORKDIR_MAX, &s, &len, r->err)) < 0)
        return rc;
    err_quote(s, len, q, sizeof q);
    if (len == 0)
        return err_set(r->err, CHIME_EINVAL, path, "'' is empty (leave it out for the root)");
    if (s[0] == '/')
        return err_set(r->err, CHIME_EINVAL, path,
                       "'%s' is absolute: want a path beneath the namespace root", q);
    for (p = s; *p; p += strcspn(p, "/")) {
        p += strspn(p, "/");
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
            return err_set(r->err, CHIME_EINVAL, path,
                           "'%s' has a '..' component: want a path beneath the namespace root",
                           q);
    }
    if (!(r->j->body->workdir = strdup(s)))
        return job_no_memory(path, r->err);
    return 0;
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const struct job_kv *)a)->key, ((const struct job_kv *)b)->key);
}

typedef int (*key_check_fn)(const char *key, size_t len, const char *path,
                            struct err *err);

/* An object of strings into a key-sorted array: env and labels. */
const char *const job_run_var_names[JOB_VAR_COUNT] = {
#define JOB_RUN_VAR_NAME(n) [JOB_VAR_##n] = "CHIME_" #n,
    JOB_RUN_VARS(JOB_RUN_VAR_NAME)
#undef JOB_RUN_VAR_NAME
};

bool job_env_reserved(const char *key, size_t len)
{
    for (size_t i = 0; i < JOB_VAR_COUNT; i++)
        if (strlen(job_run_var_names[i]) == len && !memcmp(key, job_run_var_names[i], len))
            return true;
    return false;
}

/* An env value may be a secret, and errors reach clients and logs: the
 * error of a bad value says what is wrong without quoting it (RC is the
 * reader's, whose message quoted it). */
static int env_value_error(const json_t *v, const char *path, size_t max, int rc,
                           struct err *err)
{
    const char *s, *nul;

    if (!json_is_string(v))
        return rc;              /* a type error quotes no value */
    s = json_string_value(v);
    if (rc == -CHIME_ETOOBIG)
        return err_set(err, CHIME_ETOOBIG, path, "the value is longer than %zu bytes", max);
    if ((nul = memchr(s, '\0', json_string_length(v))))
        return err_set(err, CHIME_EINVAL, path, "the value has a NUL byte at position %zu",
                       (size_t)(nul - s) + 1);
    return err_set(err, CHIME_EINVAL, path, "the value is not valid UTF-8");
}

static int read_kv(const json_t *v, const char *path, size_t max_n, size_t max_value,
                   key_check_fn check, struct job_kv **ret, size_t *ret_n,
                   struct err *err)
{
    char sub[JOB_PATH_LEN];
    const char *key;
    size_t key_len, n;
    json_t *value;
    int rc;

    if (!v)
        return 0;
    if (!json_is_object(v))
        return job_type_error(v, path, "an object of strings", err);
    if ((n = json_object_size(v)) > max_n)
        return err_set(err, CHIME_ETOOBIG, path, "%zu entries are more than %zu", n, max_n);
    if (n == 0)
        return 0;
    if (!(*ret = calloc(n, sizeof **ret)))
        return job_no_memory(path, err);
    json_object_keylen_foreach((json_t *)v, key, key_len, value) {
        struct job_kv *kv = &(*ret)[*ret_n];
        const char *s;

        if ((rc = job_check_key(key, key_len, path, err)) < 0)
            return rc;
        job_path(sub, sizeof sub, path, key, key_len);
        if ((rc = check(key, key_len, sub, err)) < 0)
            return rc;
        if (check == job_check_env_key && json_is_object(value)) {
            /* {"secret": ...} (jobsecret.h) */
            if ((rc = job_env_secret_read(value, sub, max_value, kv, err)) < 0)
                return rc;
            if (!(kv->key = strdup(key))) {
                free(kv->value);
                kv->value = NULL;
                return job_no_memory(sub, err);
            }
            ++*ret_n;
            continue;
        }
        if ((rc = job_read_string(value, sub, max_value, &s, NULL, err)) < 0)
            return check == job_check_env_key ? env_value_error(value, sub, max_value, rc, err) : rc;
        if (!(kv->key = strdup(key)) || !(kv->value = strdup(s))) {
            free(kv->key);
            kv->key = NULL;
            return job_no_memory(sub, err);
        }
        ++*ret_n;
    }
    qsort(*ret, *ret_n, sizeof **ret, cmp_kv);
    return 0;
}

int job_check_env_key(const char *key, size_t len, const char *path, struct err *err)
{
    char q[JOB_QUOTE_LEN];
    size_t i;

    err_quote(key, len, q, sizeof q);
    if (len == 0 || len > JOB_ENV_KEY_MAX)
        return err_set(err, CHIME_EINVAL, path,
                       "'%s' is not 1-%d bytes long", q, JOB_ENV_KEY_MAX);
    for (i = 0; i < len; i++) {
        char c = key[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9')))
            return err_set(err, CHIME_EINVAL, path,
                           "'%s' is not a variable name: want [A-Za-z_][A-Za-z0-9_]*", q);
    }
    if (job_env_reserved(key, len))
        return err_set(err, CHIME_EINVAL, path,
                       "'%s' is reserved: chime sets it in every run itself", q);
    return 0;
}

int job_read_env(const json_t *v, const char *path, struct job_reader *r)
{
    return read_kv(v, path, JOB_ENV_MAX, JOB_ENV_VALUE_MAX, job_check_env_key, &r->j->body->env,
                   &r->j->body->n_env, r->err);
}

static int check_label_key(const char *key, size_t len, const char *path, struct err *err)
{
    return name_check(key, len, NAME_SLASH, NULL, path, err);
}

int job_read_labels(const json_t *v, const char *path, struct job_reader *r)
{
    return read_kv(v, path, JOB_LABELS_MAX, JOB_LABEL_VALUE_MAX, check_label_key, &r->j->body->labels,
                   &r->j->body->n_labels, r->err);
}

/* ---- writing ---- */

int job_write_name(const struct job *j, json_t *obj, const char *key)
{
    return json_object_set_new(obj, key, json_string(j->name));
}

int job_write_namespace(const struct job *j, json_t *obj, const char *key)
{
    return json_object_set_new(obj, key, json_string(j->ns));
}

/* Only the executor in use is written: the other is absent, not null. */
int job_write_command(const struct job *j, json_t *obj, const char *key)
{
    return j->body->argv ? json_object_set_new(obj, key, job_write_list(j->body->argv)) : 0;
}

int job_write_shell(const struct job *j, json_t *obj, const char *key)
{
    return j->body->shell ? json_object_set_new(obj, key, json_string(j->body->shell)) : 0;
}

int job_write_workdir(const struct job *j, json_t *obj, const char *key)
{
    const char *w = j->body->workdir;

    return json_object_set_new(obj, key, w ? json_string(w) : json_null());
}

static json_t *write_kv(const struct job_kv *kv, size_t n)
{
    json_t *o = json_object();
    size_t i;

    for (i = 0; o && i < n; i++)
        if (json_object_set_new(o, kv[i].key, kv[i].kind ? job_env_secret_write(&kv[i])
                                                         : json_string(kv[i].value)) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

int job_write_env(const struct job *j, json_t *obj, const char *key)
{
    return json_object_set_new(obj, key, write_kv(j->body->env, j->body->n_env));
}

int job_write_labels(const struct job *j, json_t *obj, const char *key)
{
    return json_object_set_new(obj, key, write_kv(j->body->labels, j->body->n_labels));
}

/* A priority with a name is written by its name. */
