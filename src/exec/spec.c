/* spec.c: checking a run's spec, and carrying it as JSON to the spawner.
 *
 * The spawner trusts nothing it receives: exec_spec_from_json() checks
 * types and runs exec_spec_check() again before a holder sees the spec. */
#include "exec/spec.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "exec/exec.h"
#include "util/err.h"
#include "../banned.h"

#define SPEC_ARGS_MAX 4096 /* argv or env entries */
#define SPEC_ID_MAX   INT64_C(2147483646) /* the largest uid or gid; -1 is "none" */

/* A job user's ids: never 0 (root is a zeroed identity, not a uid), never
 * past what uid_t holds without meaning "unchanged" */
static int check_user(const struct exec_identity *u, struct err *err)
{
    int i;

    if (u->uid == 0)
        return u->gid || u->n_groups ? err_set(err, CHIME_EINVAL, "user", "has groups but no uid")
                                     : 0;
    if (u->uid < 1 || u->uid > SPEC_ID_MAX)
        return err_set(err, CHIME_ERANGE, "user.uid", "'%" PRId64 "' is out of range 1-%" PRId64,
                       u->uid, SPEC_ID_MAX);
    if (u->gid < 1 || u->gid > SPEC_ID_MAX)
        return err_set(err, CHIME_ERANGE, "user.gid", "'%" PRId64 "' is out of range 1-%" PRId64,
                       u->gid, SPEC_ID_MAX);
    if (u->n_groups < 0 || u->n_groups > EXEC_GROUPS_MAX)
        return err_set(err, CHIME_ETOOBIG, "user.groups", "has more than %d groups",
                       EXEC_GROUPS_MAX);
    for (i = 0; i < u->n_groups; i++)
        if (u->groups[i] < 1 || u->groups[i] > SPEC_ID_MAX)
            return err_set(err, CHIME_ERANGE, "user.groups",
                           "'%" PRId64 "' is out of range 1-%" PRId64, u->groups[i], SPEC_ID_MAX);
    return 0;
}

static int check_path(const char *path, const char *field, struct err *err)
{
    char q[64];

    if (!path || !path[0])
        return err_set(err, CHIME_EINVAL, field, "is missing");
    if (path[0] != '/')
        return err_set(err, CHIME_EINVAL, field, "'%s' is not an absolute path",
                       err_quote(path, SIZE_MAX, q, sizeof q));
    if (strlen(path) >= PATH_MAX - 64)
        return err_set(err, CHIME_ETOOBIG, field, "is longer than %d bytes", PATH_MAX - 64);
    return 0;
}

int exec_spec_check(const struct exec_spec *s, struct err *err)
{
    const struct {
        int64_t v;
        const char *field;
    } nonneg[] = {
        {s->limits.memory, "limits.memory"},       {s->limits.cpu_time_us, "limits.cpu_time"},
        {s->limits.processes, "limits.processes"}, {s->limits.open_files, "limits.open_files"},
        {s->output_max, "limits.output"},          {s->timeout_us, "timeout"},
        {s->kill_grace_us, "kill_grace"},          {s->start_at_us, "start_at"},
    };
    char q[64];
    size_t i;
    int rc;

    if ((s->argv == NULL) == (s->shell == NULL))
        return err_set(err, CHIME_EINVAL, "command", "exactly one of command and shell is needed");
    if (s->argv && (!s->argv[0] || !s->argv[0][0]))
        return err_set(err, CHIME_EINVAL, "command", "is empty");
    for (i = 0; s->argv && s->argv[i]; i++)
        if (i >= SPEC_ARGS_MAX)
            return err_set(err, CHIME_ETOOBIG, "command", "has more than %d arguments",
                           SPEC_ARGS_MAX);
    for (i = 0; s->env && s->env[i]; i++) {
        const char *eq = strchr(s->env[i], '=');

        if (i >= SPEC_ARGS_MAX)
            return err_set(err, CHIME_ETOOBIG, "env", "has more than %d variables", SPEC_ARGS_MAX);
        if (!eq || eq == s->env[i])
            return err_set(err, CHIME_EINVAL, "env", "'%s' is not KEY=VALUE",
                           err_quote(s->env[i], SIZE_MAX, q, sizeof q));
    }
    if ((rc = check_path(s->output, "output", err)) < 0
        || (rc = check_path(s->workdir_root, "workdir_root", err)) < 0
        || (rc = check_user(&s->user, err)) < 0)
        return rc;
    if (s->sandbox & ~(unsigned)(EXEC_SANDBOX_TMP | EXEC_SANDBOX_PROC))
        return err_set(err, CHIME_EINVAL, "sandbox", "'%u' has unknown bits", s->sandbox);
    if (s->workdir && s->workdir[0] == '/')
        return err_set(err, CHIME_EINVAL, "workdir",
                       "'%s' is absolute: it must be relative to the namespace root",
                       err_quote(s->workdir, SIZE_MAX, q, sizeof q));
    if (s->workdir && strlen(s->workdir) >= PATH_MAX - 64)
        return err_set(err, CHIME_ETOOBIG, "workdir", "is longer than %d bytes", PATH_MAX - 64);
    for (i = 0; s->secrets && s->secrets[i]; i++)
        if (i >= SPEC_ARGS_MAX || !s->secrets[i][0])
            return err_set(err, CHIME_EINVAL, "secrets",
                           "has an empty value or more than %d values", SPEC_ARGS_MAX);
    for (i = 0; i < sizeof nonneg / sizeof nonneg[0]; i++)
        if (nonneg[i].v < 0)
            return err_set(err, CHIME_ERANGE, nonneg[i].field, "'%" PRId64 "' is negative",
                           nonneg[i].v);
    return 0;
}

static json_t *string_array(char *const *v)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a && v && v[i]; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *exec_spec_to_json(const struct exec_spec *s)
{
    json_t *j = json_pack(
        "{s:I, s:o, s:o, s:o, s:s, s:o, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:I,"
        " s:s, s:I}",
        "run_id", (json_int_t)s->run_id, "argv", s->argv ? string_array(s->argv) : json_null(),
        "shell", string_or_null(s->shell), "env", string_array(s->env), "workdir_root",
        s->workdir_root, "workdir", string_or_null(s->workdir), "limits", "memory",
        (json_int_t)s->limits.memory, "cpu_time_us", (json_int_t)s->limits.cpu_time_us, "processes",
        (json_int_t)s->limits.processes, "open_files", (json_int_t)s->limits.open_files,
        "output_max", (json_int_t)s->output_max, "timeout_us", (json_int_t)s->timeout_us,
        "kill_grace_us", (json_int_t)s->kill_grace_us, "output", s->output, "start_at_us",
        (json_int_t)s->start_at_us);

    /* secrets only when there are some: a spec without keeps its size */
    if (j && s->secrets && s->secrets[0]
        && json_object_set_new(j, "secrets", string_array(s->secrets)) < 0) {
        json_decref(j);
        return NULL;
    }
    /* likewise the user, for a job that does not run as the holder */
    if (j && s->user.uid > 0) {
        json_t *groups = json_array();

        for (int i = 0; groups && i < s->user.n_groups; i++)
            json_array_append_new(groups, json_integer(s->user.groups[i]));
        if (json_object_set_new(j, "user",
                                json_pack("{s:I, s:I, s:o?}", "uid", (json_int_t)s->user.uid,
                                          "gid", (json_int_t)s->user.gid, "groups", groups))
                < 0
            || json_object_set_new(j, "sandbox", json_integer(s->sandbox)) < 0) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

/* An owned NULL-terminated copy of the string array A (NULL: json null). */
static int copy_strings(const json_t *a, const char *field, char ***ret, struct err *err)
{
    char **v;
    size_t i, n;

    *ret = NULL;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > SPEC_ARGS_MAX)
        return err_set(err, CHIME_EINVAL, field, "is not an array of at most %d strings",
                       SPEC_ARGS_MAX);
    n = json_array_size(a);
    v = calloc(n + 1, sizeof *v);
    if (!v)
        return err_set(err, CHIME_ENOMEM, field, "out of memory");
    *ret = v;
    for (i = 0; i < n; i++) {
        const json_t *s = json_array_get(a, i);

        if (!json_is_string(s))
            return err_set(err, CHIME_EINVAL, field, "entry %zu is not a string", i);
        v[i] = strdup(json_string_value(s));
        if (!v[i])
            return err_set(err, CHIME_ENOMEM, field, "out of memory");
    }
    return 0;
}

static int copy_int(const json_t *j, const char *key, int64_t *ret, struct err *err);

/* "user" and "sandbox", both absent for a job that runs as the holder */
static int copy_user(const json_t *j, struct exec_spec *s, struct err *err)
{
    const json_t *u = json_object_get(j, "user"), *groups, *g;
    int64_t sandbox = 0;
    size_t i;
    int rc;

    if (!u)
        return 0;
    if (!json_is_object(u))
        return err_set(err, CHIME_EINVAL, "user", "is not an object");
    groups = json_object_get(u, "groups");
    if (!json_is_array(groups) || json_array_size(groups) > EXEC_GROUPS_MAX)
        return err_set(err, CHIME_EINVAL, "user.groups", "is not an array of at most %d ids",
                       EXEC_GROUPS_MAX);
    if ((rc = copy_int(u, "uid", &s->user.uid, err)) < 0
        || (rc = copy_int(u, "gid", &s->user.gid, err)) < 0
        || (rc = copy_int(j, "sandbox", &sandbox, err)) < 0)
        return rc;
    if (sandbox < 0 || sandbox > (EXEC_SANDBOX_TMP | EXEC_SANDBOX_PROC))
        return err_set(err, CHIME_EINVAL, "sandbox", "'%" PRId64 "' has unknown bits", sandbox);
    s->sandbox = (unsigned)sandbox;
    json_array_foreach (groups, i, g) {
        if (!json_is_integer(g))
            return err_set(err, CHIME_EINVAL, "user.groups", "entry %zu is not an integer", i);
        s->user.groups[s->user.n_groups++] = json_integer_value(g);
    }
    return 0;
}

static int copy_string(const json_t *j, const char *key, char **ret, struct err *err)
{
    const json_t *s = json_object_get(j, key);

    *ret = NULL;
    if (!s || json_is_null(s))
        return 0;
    if (!json_is_string(s))
        return err_set(err, CHIME_EINVAL, key, "is not a string");
    *ret = strdup(json_string_value(s));
    return *ret ? 0 : err_set(err, CHIME_ENOMEM, key, "out of memory");
}

static int copy_int(const json_t *j, const char *key, int64_t *ret, struct err *err)
{
    const json_t *v = json_object_get(j, key);

    if (!json_is_integer(v))
        return err_set(err, CHIME_EINVAL, key, "is not an integer");
    *ret = json_integer_value(v);
    return 0;
}

int exec_spec_from_json(const json_t *j, struct exec_spec **ret, struct err *err)
{
    struct exec_spec *s = calloc(1, sizeof *s);
    const json_t *lim = json_object_get(j, "limits");
    char **argv = NULL, **env = NULL;
    char *shell = NULL, *root = NULL, *workdir = NULL, *output = NULL;
    int rc;

    if (!s)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    if (!json_is_object(j) || !json_is_object(lim)) {
        rc = err_set(err, CHIME_EINVAL, "", "start request is not a spec object");
        goto done;
    }
    /* each copy is stored in S at once, so exec_spec_free(s) releases it */
    rc = copy_strings(json_object_get(j, "argv"), "argv", &argv, err);
    s->argv = argv;
    if (rc == 0) {
        rc = copy_strings(json_object_get(j, "env"), "env", &env, err);
        s->env = env;
    }
    if (rc == 0) {
        char **secrets = NULL;

        rc = copy_strings(json_object_get(j, "secrets"), "secrets", &secrets, err);
        s->secrets = secrets;
    }
    if (rc == 0) {
        rc = copy_string(j, "shell", &shell, err);
        s->shell = shell;
    }
    if (rc == 0) {
        rc = copy_string(j, "workdir_root", &root, err);
        s->workdir_root = root;
    }
    if (rc == 0) {
        rc = copy_string(j, "workdir", &workdir, err);
        s->workdir = workdir;
    }
    if (rc == 0) {
        rc = copy_string(j, "output", &output, err);
        s->output = output;
    }
    if (rc < 0 || (rc = copy_int(j, "run_id", &s->run_id, err)) < 0
        || (rc = copy_int(lim, "memory", &s->limits.memory, err)) < 0
        || (rc = copy_int(lim, "cpu_time_us", &s->limits.cpu_time_us, err)) < 0
        || (rc = copy_int(lim, "processes", &s->limits.processes, err)) < 0
        || (rc = copy_int(lim, "open_files", &s->limits.open_files, err)) < 0
        || (rc = copy_int(j, "output_max", &s->output_max, err)) < 0
        || (rc = copy_int(j, "timeout_us", &s->timeout_us, err)) < 0
        || (rc = copy_int(j, "kill_grace_us", &s->kill_grace_us, err)) < 0
        || (rc = copy_int(j, "start_at_us", &s->start_at_us, err)) < 0
        || (rc = copy_user(j, s, err)) < 0 || (rc = exec_spec_check(s, err)) < 0)
        goto done;
    *ret = s;
    s = NULL;
done:
    exec_spec_free(s);
    return rc;
}

static void free_strings(char *const *v)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        free(v[i]);
    free((void *)v);
}

void exec_spec_free(struct exec_spec *s)
{
    if (!s)
        return;
    free_strings(s->argv);
    free_strings(s->env);
    free_strings(s->secrets);
    free((char *)s->shell);
    free((char *)s->workdir_root);
    free((char *)s->workdir);
    free((char *)s->output);
    free(s);
}
