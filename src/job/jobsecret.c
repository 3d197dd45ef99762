/* jobsecret.c: secret env values, read, written, sealed, redacted and
 * opened (see jobsecret.h).
 *
 * The invariant: a stored document holds secrets only in sealed form, and
 * no reply holds one in any form but redacted. Messages name members, never
 * values: a secret's value is neither quoted nor cut into a message. */
#include "job/jobsecret.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "job/job.h"
#include "job/jobdoc.h"
#include "util/err.h"
#include "util/secret.h"
#include "../banned.h"

#define TAG_MAX 64      /* bytes of a redacted value's tag as read */

static const char *const secret_keys[] = { "secret" };
static const char *const form_keys[] = { "v", "box", "redacted" };

/* The error of a given value that job_read_string() refused (RC), told
 * without quoting the value. */
static int value_error(const json_t *v, const char *path, size_t max, int rc, struct err *err)
{
    const char *s, *nul;

    if (!json_is_string(v))
        return rc;              /* a type error quotes no value */
    s = json_string_value(v);
    if (rc == -CHIME_ETOOBIG)
        return err_set(err, CHIME_ETOOBIG, path, "the secret is longer than %zu bytes", max);
    if ((nul = memchr(s, '\0', json_string_length(v))))
        return err_set(err, CHIME_EINVAL, path, "the secret has a NUL byte at position %zu",
                       (size_t)(nul - s) + 1);
    return err_set(err, CHIME_EINVAL, path, "the secret is not valid UTF-8");
}

/* Every member of the object V at PATH is one of KNOWN. */
static int check_keys(const json_t *v, const char *path, const char *const *known, size_t n,
                      struct err *err)
{
    const char *key;
    size_t key_len, i;
    json_t *m;
    int rc;

    json_object_keylen_foreach((json_t *)v, key, key_len, m) {
        bool ok = false;

        if ((rc = job_check_key(key, key_len, path, err)) < 0)
            return rc;
        for (i = 0; i < n && !ok; i++)
            ok = strlen(known[i]) == key_len && memcmp(known[i], key, key_len) == 0;
        if (!ok)
            return job_unknown_field(path, key, key_len, known, n, err);
    }
    return 0;
}

/* A member, with null read as absent. */
static json_t *member(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return v && !json_is_null(v) ? v : NULL;
}

/* {"v": 1, "box": "..."} or {"redacted": "TAG"} at PATH. */
static int read_form(const json_t *o, const char *path, struct job_kv *kv, struct err *err)
{
    char sub[JOB_PATH_LEN];
    json_t *ver, *box, *red;
    const char *s;
    size_t len;
    int rc;

    if ((rc = check_keys(o, path, form_keys, sizeof form_keys / sizeof *form_keys, err)) < 0)
        return rc;
    ver = member(o, "v");
    box = member(o, "box");
    red = member(o, "redacted");
    if (red) {
        job_path(sub, sizeof sub, path, "redacted", 8);
        if (ver || box)
            return err_set(err, CHIME_EINVAL, path,
                           "'redacted' goes alone (a sealed secret has 'v' and 'box')");
        if ((rc = job_read_string(red, sub, TAG_MAX, &s, &len, err)) < 0)
            return rc;
        if (len == 0)
            return err_set(err, CHIME_EINVAL, sub, "'' is empty");
        kv->kind = JOB_ENV_REDACTED;
    } else {
        if (!ver)
            return err_set(err, CHIME_EINVAL, path,
                           "missing field 'v' (want {\"v\": 1, \"box\": ...}, or a string: "
                           "the secret's value)");
        job_path(sub, sizeof sub, path, "v", 1);
        if (!json_is_integer(ver))
            return job_type_error(ver, sub, "the integer 1", err);
        if (json_integer_value(ver) != JOB_SECRET_FORMAT)
            return err_set(err, CHIME_EINVAL, sub,
                           "'%" JSON_INTEGER_FORMAT "' is not a sealed-secret format this chime "
                           "reads (%d)", json_integer_value(ver), JOB_SECRET_FORMAT);
        if (!box)
            return err_set(err, CHIME_EINVAL, path, "missing field 'box'");
        job_path(sub, sizeof sub, path, "box", 3);
        if ((rc = job_read_string(box, sub, JOB_SECRET_BOX_MAX, &s, &len, err)) < 0)
            return rc;
        if (!secret_box_valid(s, len))
            return err_set(err, CHIME_EINVAL, sub,
                           "is not a sealed secret (base64 of a nonce and a box)");
        kv->kind = JOB_ENV_SEALED;
    }
    if (!(kv->value = strdup(s)))
        return job_no_memory(path, err);
    return 0;
}

int job_env_secret_read(const json_t *v, const char *path, size_t max, struct job_kv *kv,
                        struct err *err)
{
    char sub[JOB_PATH_LEN];
    const char *s;
    size_t len;
    json_t *sec;
    int rc;

    if ((rc = check_keys(v, path, secret_keys, 1, err)) < 0)
        return rc;
    if (!(sec = member(v, "secret")))
        return err_set(err, CHIME_EINVAL, path,
                       "missing field 'secret' (want a string, or {\"secret\": \"value\"})");
    job_path(sub, sizeof sub, path, "secret", 6);
    if (json_is_object(sec))
        return read_form(sec, sub, kv, err);
    if (!json_is_string(sec))
        return job_type_error(sec, sub, "a string (the secret's value) or an object", err);
    if ((rc = job_read_string(sec, sub, max, &s, &len, err)) < 0)
        return value_error(sec, sub, max, rc, err);
    if (len == 0)
        return err_set(err, CHIME_EINVAL, sub, "the secret is empty");
    if (!(kv->value = strdup(s)))
        return job_no_memory(sub, err);
    kv->kind = JOB_ENV_SECRET;
    return 0;
}

json_t *job_env_secret_write(const struct job_kv *kv)
{
    switch ((enum job_env_kind)kv->kind) {
    case JOB_ENV_PLAIN:
        return json_string(kv->value);
    case JOB_ENV_SECRET:
        return json_pack("{s:s}", "secret", kv->value);
    case JOB_ENV_SEALED:
        return json_pack("{s:{s:i, s:s}}", "secret", "v", JOB_SECRET_FORMAT, "box", kv->value);
    case JOB_ENV_REDACTED:
        return json_pack("{s:{s:s}}", "secret", "redacted", kv->value);
    }
    return NULL;
}

/* ---- documents ---- */

/* The box text of a sealed value V ({"secret": {"v": .., "box": ".."}}),
 * or NULL. */
static const char *sealed_box(const json_t *v, size_t *ret_len)
{
    json_t *sec = json_is_object(v) ? json_object_get(v, "secret") : NULL;
    json_t *box = json_is_object(sec) ? json_object_get(sec, "box") : NULL;

    if (!json_is_string(box))
        return NULL;
    *ret_len = json_string_length(box);
    return json_string_value(box);
}

int job_doc_redact(json_t *doc)
{
    json_t *env = json_is_object(doc) ? json_object_get(doc, "env") : NULL;
    const char *name;
    json_t *v;

    if (!json_is_object(env))
        return 0;
    json_object_foreach(env, name, v) {
        char tag[SECRET_TAG_LEN];
        const char *box, *t = JOB_SECRET_UNSEALED;
        json_t *sec, *red;
        size_t len;

        if (!json_is_object(v))
            continue;           /* a plain value */
        sec = json_object_get(v, "secret");
        red = json_is_object(sec) ? json_object_get(sec, "redacted") : NULL;
        if (json_is_string(red) && json_object_size(sec) == 1 && json_object_size(v) == 1)
            continue;           /* redacted already */
        if ((box = sealed_box(v, &len))) {
            secret_tag(box, len, tag);
            t = tag;
        }
        /* whatever else the object holds is not shown either */
        if (json_object_set_new(env, name, json_pack("{s:{s:s}}", "secret", "redacted", t)) < 0)
            return -1;
    }
    return 0;
}

/* The field of env member NAME, with SUFFIX (".secret.box"), for errors. */
static const char *env_field(char *buf, size_t len, const char *name, const char *suffix)
{
    char q[JOB_QUOTE_LEN];

    snprintf(buf, len, "env.%s%s", err_quote(name, strlen(name), q, sizeof q), suffix);
    return buf;
}

/* Sets env member NAME to the sealed form of BOX (LEN bytes). */
static int set_sealed(json_t *env, const char *name, const char *box, size_t len)
{
    json_t *v = json_pack("{s:{s:i, s:s%}}", "secret", "v", JOB_SECRET_FORMAT, "box", box, len);

    return v ? json_object_set_new(env, name, v) : -1;
}

/* Whether BOX (sealed under KEY) holds PLAIN (LEN bytes). */
static bool box_holds(const struct secret_key *key, const char *box, size_t box_len,
                      const char *plain, size_t len)
{
    char *p = NULL;
    size_t n = 0;
    bool same;

    if (secret_open(key, box, box_len, &p, &n, NULL) < 0)
        return false;
    same = n == len && sodium_memcmp(p, plain, len) == 0;
    secret_plain_free(p, n);
    return same;
}

static int seal_one(json_t *env, const char *name, json_t *v, const json_t *cur_env,
                    const struct secret_key *key, struct err *err)
{
    char field[JOB_PATH_LEN], tag[SECRET_TAG_LEN], q[JOB_QUOTE_LEN];
    json_t *sec = json_object_get(v, "secret"), *red;
    const char *cur_box = NULL, *box;
    size_t cur_len = 0, len;
    char *sealed = NULL, *plain = NULL;
    int rc;

    if (cur_env)
        cur_box = sealed_box(json_object_get(cur_env, name), &cur_len);
    if (!key)
        return err_set(err, CHIME_EINVAL, env_field(field, sizeof field, name, ""),
                       "a secret, and this daemon has no key file to seal it with");
    if (json_is_string(sec)) {
        const char *s = json_string_value(sec);

        len = json_string_length(sec);
        /* the same value as now: the same box, so no new version */
        if (cur_box && box_holds(key, cur_box, cur_len, s, len))
            return set_sealed(env, name, cur_box, cur_len) < 0
                       ? err_set(err, CHIME_ENOMEM, "", "out of memory") : 0;
        if ((rc = secret_seal(key, s, len, &sealed, err)) < 0)
            return rc;
        rc = set_sealed(env, name, sealed, strlen(sealed));
        free(sealed);
        return rc < 0 ? err_set(err, CHIME_ENOMEM, "", "out of memory") : 0;
    }
    red = json_is_object(sec) ? json_object_get(sec, "redacted") : NULL;
    if (json_is_string(red)) {
        env_field(field, sizeof field, name, ".secret.redacted");
        if (!cur_box)
            return err_set(err, CHIME_EINVAL, field,
                           "the job has no stored secret of this name to keep: give its value "
                           "as {\"secret\": \"...\"}");
        secret_tag(cur_box, cur_len, tag);
        if (strcmp(json_string_value(red), tag) != 0)
            return err_set(err, CHIME_EINVAL, field,
                           "'%s' is not the tag of the job's stored secret of this name (now "
                           "'%s'): give its value as {\"secret\": \"...\"}",
                           err_quote(json_string_value(red), TAG_MAX, q, sizeof q), tag);
        return set_sealed(env, name, cur_box, cur_len) < 0
                   ? err_set(err, CHIME_ENOMEM, "", "out of memory") : 0;
    }
    if ((box = sealed_box(v, &len))) {
        /* a sealed value written back (a rollback, a patch): it must open */
        rc = secret_open(key, box, len, &plain, &len, NULL);
        if (rc == -CHIME_ENOMEM)
            return err_set(err, CHIME_ENOMEM, "", "out of memory");
        if (rc < 0)
            return err_set(err, CHIME_EINVAL, env_field(field, sizeof field, name, ".secret.box"),
                           "the sealed secret does not open with this daemon's key file (sealed "
                           "by another chime, or changed): give its value as "
                           "{\"secret\": \"...\"}");
        secret_plain_free(plain, len);
        return 0;
    }
    return err_set(err, CHIME_EINVAL, env_field(field, sizeof field, name, ""),
                   "is not a secret chime reads");
}

int job_doc_seal(json_t *doc, const json_t *current, const struct secret_key *key,
                 struct err *err)
{
    json_t *env = json_is_object(doc) ? json_object_get(doc, "env") : NULL;
    const json_t *cur_env = json_is_object(current) ? json_object_get(current, "env") : NULL;
    const char *name;
    json_t *v;
    int rc;

    if (!json_is_object(env))
        return 0;
    if (!json_is_object(cur_env))
        cur_env = NULL;
    json_object_foreach(env, name, v) {
        if (!json_is_object(v))
            continue;
        if ((rc = seal_one(env, name, v, cur_env, key, err)) < 0)
            return rc;
    }
    return 0;
}

/* ---- runs ---- */

int job_env_open(const struct job_body *b, const struct secret_key *key,
                 struct job_kv **ret_env, char ***ret_secrets, struct err *err)
{
    struct job_kv *env = calloc(b->n_env ? b->n_env : 1, sizeof *env);
    char **secrets = calloc(b->n_env + 1, sizeof *secrets);
    char field[JOB_PATH_LEN];
    size_t i, k = 0;
    int rc = 0;

    if (!env || !secrets) {
        free(env);
        free(secrets);
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    }
    for (i = 0; i < b->n_env; i++) {
        const struct job_kv *kv = &b->env[i];
        size_t len;

        env[i].key = kv->key;           /* borrowed */
        env[i].value = kv->value;       /* borrowed, unless opened below */
        env[i].kind = JOB_ENV_PLAIN;
        if (kv->kind == JOB_ENV_PLAIN)
            continue;
        env_field(field, sizeof field, kv->key, "");
        if (kv->kind == JOB_ENV_REDACTED) {
            rc = err_set(err, CHIME_EINVAL, field, "the secret is redacted: no value to run with");
            break;
        }
        if (kv->kind == JOB_ENV_SEALED) {
            if (!key) {
                rc = err_set(err, CHIME_EINVAL, field,
                             "a sealed secret, and this daemon has no key file");
                break;
            }
            rc = secret_open(key, kv->value, strlen(kv->value), &env[i].value, &len, err);
            if (rc < 0) {
                env[i].value = NULL;
                if (rc != -CHIME_ENOMEM)
                    rc = err_set(err, CHIME_EINVAL, field,
                                 "the sealed secret does not open with this daemon's key file "
                                 "(sealed under another one, or changed)");
                break;
            }
            env[i].kind = JOB_ENV_SEALED;       /* owned: wiped and freed at release */
        }
        secrets[k++] = env[i].value;
    }
    if (rc < 0) {
        job_env_release(env, i + 1 < b->n_env ? i + 1 : b->n_env, secrets);
        return rc;
    }
    *ret_env = env;
    *ret_secrets = secrets;
    return 0;
}

void job_env_release(struct job_kv *env, size_t n, char **secrets)
{
    for (size_t i = 0; env && i < n; i++)
        if (env[i].kind == JOB_ENV_SEALED && env[i].value)
            secret_plain_free(env[i].value, strlen(env[i].value));
    free(env);
    free(secrets);
}
