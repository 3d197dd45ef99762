/* jobvalue.c: reading one value of a job document, for job.c and jobsched.c.
 *
 * Each reader checks the JSON type, then the value, and reports a fault
 * the same way: err->field is the member's path ("retry.backoff",
 * "command[2]"), the message quotes the value (through err_quote(), so a
 * hostile value can neither flood it nor put control bytes in it) and
 * says what was wanted. Strings are checked for NUL bytes and for UTF-8
 * here, whatever built the json_t, so nothing downstream needs to. */
#include "job/jobdoc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job/job.h"
#include "time/units.h"
#include "util/err.h"
#include "util/name.h"
#include "util/utf8.h"
#include "../banned.h"

/* ---- names and ids ---- */

_Static_assert(JOB_NAME_MAX == NAME_LEN_MAX, "a job name is a name (util/name.h)");

int job_id_split(const char *id, size_t len, const char *default_ns,
                 const char *path, char *ns, char *name, struct err *err)
{
    const char *slash = memchr(id, '/', len);
    const char *n = id, *d = default_ns ? default_ns : JOB_DEFAULT_NS;
    size_t ns_len = strlen(d), name_len = len;
    int rc;

    if (slash) {
        d = id;
        ns_len = (size_t)(slash - id);
        n = slash + 1;
        name_len = len - ns_len - 1;
    }
    if ((rc = name_check(d, ns_len, 0, NULL, path, err)) < 0 ||
        (rc = name_check(n, name_len, 0, NULL, path, err)) < 0)
        return rc;
    memcpy(ns, d, ns_len);
    ns[ns_len] = '\0';
    memcpy(name, n, name_len);
    name[name_len] = '\0';
    return 0;
}

int job_id_parse(const char *id, const char *default_ns, char *ns, char *name,
                 struct err *err)
{
    if (!id)
        return err_set(err, CHIME_EINVAL, "job", "missing job name");
    return job_id_split(id, strlen(id), default_ns, "job", ns, name, err);
}

char *job_id(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", j->ns, j->name);
    return buf;
}

/* ---- values ---- */

/* jansson refuses such keys in text; a json_t built in code may hold one,
 * and err_quote() would stop at the NUL and show another key's name. */
int job_check_key(const char *key, size_t key_len, const char *parent, struct err *err)
{
    char q[JOB_QUOTE_LEN];
    const char *nul = memchr(key, '\0', key_len);

    if (!nul)
        return 0;
    return err_set(err, CHIME_EINVAL, parent,
                   "a member name has a NUL byte at position %zu (after '%s')",
                   (size_t)(nul - key) + 1, err_quote(key, key_len, q, sizeof q));
}

/* "retry" + "backoff" is "retry.backoff"; KEY (LEN bytes, from the
 * document) is quoted so that the path holds no control bytes. */
const char *job_path(char *buf, size_t len, const char *parent, const char *key,
                     size_t key_len)
{
    char q[JOB_QUOTE_LEN];

    err_quote(key, key_len, q, sizeof q);
    snprintf(buf, len, "%s%s%s", parent, *parent ? "." : "", q);
    return buf;
}

/* PARENT + "[I]" for an array's item, cut to fit like job_path(). */
const char *job_path_item(char *buf, size_t len, const char *parent, size_t i)
{
    if (snprintf(buf, len, "%s[%zu]", parent, i) < 0)
        buf[0] = '\0';
    return buf;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "something";
}

/* These return the constant, not err_set()'s result, so that the static
 * analyser sees a failure (as tz.c does). */
int job_type_error(const json_t *v, const char *path, const char *want,
                   struct err *err)
{
    err_set(err, CHIME_EINVAL, path, "got %s, want %s", type_name(v), want);
    return -CHIME_EINVAL;
}

int job_missing(const char *path, struct err *err)
{
    err_set(err, CHIME_EINVAL, path, "missing field '%s'", path);
    return -CHIME_EINVAL;
}

int job_no_memory(const char *path, struct err *err)
{
    err_set(err, CHIME_ENOMEM, path, "out of memory");
    return -CHIME_ENOMEM;
}

int job_read_string(const json_t *v, const char *path, size_t max,
                    const char **ret, size_t *ret_len, struct err *err)
{
    char q[JOB_QUOTE_LEN];
    const char *s, *nul;
    size_t len;

    if (!json_is_string(v))
        return job_type_error(v, path, "a string", err);
    s = json_string_value(v);
    len = json_string_length(v);
    if (len > max) {
        err_set(err, CHIME_ETOOBIG, path, "'%s' is longer than %zu bytes",
                err_quote(s, len, q, sizeof q), max);
        return -CHIME_ETOOBIG;  /* constants, for the static analyser */
    }
    if ((nul = memchr(s, '\0', len))) {
        err_set(err, CHIME_EINVAL, path, "a NUL byte at position %zu (after '%s')",
                (size_t)(nul - s) + 1, err_quote(s, len, q, sizeof q));
        return -CHIME_EINVAL;
    }
    if (!utf8_valid(s, len)) {
        err_set(err, CHIME_EINVAL, path, "'%s' is not valid UTF-8",
                err_quote(s, len, q, sizeof q));
        return -CHIME_EINVAL;
    }
    *ret = s;
    if (ret_len)
        *ret_len = len;
    return 0;
}

int job_dup_string(const json_t *v, const char *path, size_t max, bool nonempty,
                   char **ret, struct err *err)
{
    const char *s;
    size_t len;
    char *copy;
    int rc;

    if ((rc = job_read_string(v, path, max, &s, &len, err)) < 0)
        return rc;
    if (nonempty && len == 0)
        return err_set(err, CHIME_EINVAL, path, "'' is empty");
    if (!(copy = strdup(s)))
        return job_no_memory(path, err);
    *ret = copy;
    return 0;
}

int job_read_int(const json_t *v, const char *path, int64_t min, int64_t max,
                 int64_t *ret, struct err *err)
{
    json_int_t x;

    if (!json_is_integer(v))
        return job_type_error(v, path, "an integer", err);
    x = json_integer_value(v);
    if (x < min || x > max)
        return err_set(err, CHIME_ERANGE, path,
                       "'%" JSON_INTEGER_FORMAT "' is out of range %" PRId64 "-%" PRId64,
                       x, min, max);
    *ret = x;
    return 0;
}

int job_read_real(const json_t *v, const char *path, double min, double max,
                  double *ret, struct err *err)
{
    double x;

    if (!json_is_number(v))
        return job_type_error(v, path, "a number", err);
    x = json_number_value(v);
    if (!(x >= min && x <= max))
        return err_set(err, CHIME_ERANGE, path, "'%g' is out of range %g-%g", x, min, max);
    *ret = x;
    return 0;
}

/* Durations and sizes are strings for units.c, or JSON integers: seconds
 * and bytes. An integer is handed to units.c as its decimal text, so both
 * forms get the same messages ("'-5' is negative"). */
static int units_text(const json_t *v, const char *path, const char *want,
                      char *buf, size_t len, const char **ret, struct err *err)
{
    if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *ret = buf;
        return 0;
    }
    if (!json_is_string(v))
        return job_type_error(v, path, want, err);
    return job_read_string(v, path, SIZE_MAX, ret, NULL, err);
}

int job_read_duration(const json_t *v, const char *path, int64_t min,
                      int64_t *ret_us, struct err *err)
{
    char buf[32], m[32];
    const char *s;
    int64_t us;
    int rc;

    if ((rc = units_text(v, path, "a duration (\"90s\", \"1h30m\") or integer seconds",
                         buf, sizeof buf, &s, err)) < 0 ||
        (rc = units_duration_parse(s, path, &us, err)) < 0)
        return rc;
    if (us < min)
        return err_set(err, CHIME_ERANGE, path, "'%s' is less than %s", s,
                       units_duration_format(min, m, sizeof m));
    *ret_us = us;
    return 0;
}

int job_read_size(const json_t *v, const char *path, int64_t min,
                  int64_t *ret, struct err *err)
{
    char buf[32], m[32];
    const char *s;
    int64_t bytes;
    int rc;

    if ((rc = units_text(v, path, "a size (\"512K\", \"4M\") or integer bytes",
                         buf, sizeof buf, &s, err)) < 0 ||
        (rc = units_size_parse(s, path, &bytes, err)) < 0)
        return rc;
    if (bytes < min)
        return err_set(err, CHIME_ERANGE, path, "'%s' is less than %s", s,
                       units_size_format(min, m, sizeof m));
    *ret = bytes;
    return 0;
}

/* "a, b or c" from NAMES, for messages. */
static const char *name_list(const struct job_name_value *names, char *buf, size_t len)
{
    size_t o = 0, i;

    buf[0] = '\0';
    for (i = 0; names[i].name && o < len; i++) {
        const char *sep = i == 0 ? "" : names[i + 1].name ? ", " : " or ";
        int n = snprintf(buf + o, len - o, "%s%s", sep, names[i].name);

        o += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

int job_read_enum(const json_t *v, const char *path, const struct job_name_value *names,
                  int *ret, struct err *err)
{
    char q[JOB_QUOTE_LEN], list[128], want[160];
    const char *s;
    size_t i;
    int rc;

    name_list(names, list, sizeof list);
    if (!json_is_string(v)) {
        snprintf(want, sizeof want, "one of %s", list);
        return job_type_error(v, path, want, err);
    }
    if ((rc = job_read_string(v, path, SIZE_MAX, &s, NULL, err)) < 0)
        return rc;
    for (i = 0; names[i].name; i++)
        if (strcmp(s, names[i].name) == 0) {
            *ret = names[i].value;
            return 0;
        }
    return err_set(err, CHIME_EINVAL, path, "'%s' is not one of %s",
                   err_quote(s, SIZE_MAX, q, sizeof q), list);
}

const char *job_enum_name(const struct job_name_value *names, int value)
{
    size_t i;

    for (i = 0; names[i].name; i++)
        if (names[i].value == value)
            return names[i].name;
    return NULL;
}

/* Edit distance of A (ALEN bytes) and B, for "did you mean": only short
 * keys are compared, longer ones are nobody's typo of ours. */
static size_t distance(const char *a, size_t alen, const char *b)
{
    size_t row[JOB_KEY_GUESS_MAX + 1], blen = strlen(b), i, k;

    if (alen > JOB_KEY_GUESS_MAX || blen > JOB_KEY_GUESS_MAX)
        return SIZE_MAX;
    for (k = 0; k <= blen; k++)
        row[k] = k;
    for (i = 1; i <= alen; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (k = 1; k <= blen; k++) {
            size_t up = row[k], best = diag + (a[i - 1] != b[k - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[k - 1] + 1 < best)
                best = row[k - 1] + 1;
            diag = up;
            row[k] = best;
        }
    }
    return row[blen];
}

int job_unknown_field(const char *path, const char *key, size_t key_len,
                      const char *const *known, size_t n_known, struct err *err)
{
    char q[JOB_QUOTE_LEN];
    const char *best = NULL;
    size_t best_d = 3, i;       /* suggest keys at most two edits away */

    for (i = 0; i < n_known; i++) {
        size_t d = distance(key, key_len, known[i]);

        /* a key cut short ("on_fail") is as good as one typo */
        if (key_len >= 4 && strncmp(known[i], key, key_len) == 0 && d > 1)
            d = 1;

        if (d < best_d && d * 2 < key_len) {    /* "tz" is not a typo of "at" */
            best_d = d;
            best = known[i];
        }
    }
    err_quote(key, key_len, q, sizeof q);
    if (best)
        return err_set(err, CHIME_EINVAL, path, "unknown field '%s' (did you mean '%s'?)",
                       q, best);
    return err_set(err, CHIME_EINVAL, path, "unknown field '%s'", q);
}
