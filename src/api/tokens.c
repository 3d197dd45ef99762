/* tokens.c: the handlers of /api/v1/tokens and /api/v1/audit.
 *
 * Tokens are managed by admins of every namespace only (API_ROOT): a
 * token could otherwise make one that sees more than itself. A new
 * token's secret is in the creating answer and nowhere else: the store
 * keeps its hash. Revoking goes by name and keeps the row (the audit log
 * names tokens), freeing the name for a new token. */
#include "api/api_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/token.h"
#include "job/job.h"
#include "store/store.h"
#include "time/units.h"
#include "util/name.h"
#include "../banned.h"

static json_t *token_json(const struct store_token *t)
{
    json_t *ns = t->namespaces ? json_loads(t->namespaces, 0, NULL) : NULL;

    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id", t->key, "name", t->name,
                     "role", t->role, "namespaces", ns ? ns : json_null(), "created_at",
                     api_json_instant(t->created_us), "created_by",
                     t->created_by ? json_string(t->created_by) : json_null(), "expires_at",
                     api_json_instant(t->expires_us), "revoked_at",
                     api_json_instant(t->revoked_us));
}

int api_tokens_list(struct api_call *c)
{
    struct store_token_page page = {0};
    const char *rv = api_query(c, "revoked");
    json_t *items;
    int64_t limit;
    size_t i;
    int rc;

    if (rv && strcmp(rv, "true") != 0 && strcmp(rv, "false") != 0)
        return err_set(&c->err, CHIME_EINVAL, "revoked", "must be true or false");
    rc = api_query_int(c, "limit", 1, STORE_LIMIT_MAX, STORE_LIMIT_DEFAULT, &limit, &c->err);
    if (rc < 0)
        return rc;
    rc = store_token_list(c->api->opt.store, rv && !strcmp(rv, "true"), api_query(c, "cursor"),
                          (int)limit, &page, &c->err);
    if (rc < 0)
        return rc;
    items = json_array();
    for (i = 0; items && i < page.n; i++)
        json_array_append_new(items, token_json(&page.items[i]));
    rc = api_reply_json(c, 200, api_json_list(items, page.next_cursor, -1));
    store_token_page_release(&page);
    return rc;
}

/* A name as a job's (util/name.h); NULL is none. */
static int check_name(const char *name, const char *field, struct err *err)
{
    return name_check(name ? name : "", name ? strlen(name) : 0, 0, "name", field, err);
}

/* The body's namespaces: absent or null for every one, else a non-empty
 * array of distinct names, as JSON text (owned) in *RET. */
static int body_namespaces(struct api_call *c, const json_t *v, char **ret)
{
    json_t *e;
    size_t i, k;
    char field[32];
    int rc;

    *ret = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 1000)
        return err_set(&c->err, CHIME_EINVAL, "namespaces",
                       "must be an array of 1 to 1000 namespaces, or null for every one");
    json_array_foreach(v, i, e)
    {
        snprintf(field, sizeof field, "namespaces.%zu", i);
        if (!json_is_string(e))
            return err_set(&c->err, CHIME_EINVAL, field, "must be a string");
        if ((rc = check_name(json_string_value(e), field, &c->err)) < 0)
            return rc;
        for (k = 0; k < i; k++)
            if (json_equal(e, json_array_get(v, k)))
                return err_set(&c->err, CHIME_EINVAL, field, "'%s' is listed twice",
                               json_string_value(e));
    }
    *ret = json_dumps(v, JSON_COMPACT);
    return *ret ? 0 : err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
}

int api_token_create(struct api_call *c)
{
    static const char *const known[] = {"name", "role", "namespaces", "expires"};
    struct store_op op = {.kind = STORE_OP_TOKEN_INSERT};
    struct store_token t = {0};
    enum token_role role;
    char secret[TOKEN_TEXT_LEN + 1], q[48];
    json_t *body = NULL, *v, *reply;
    const char *key;
    int64_t expires = 0;
    int rc;

    rc = api_body_object(c, &body, &c->err);
    if (rc < 0)
        return rc;
    json_object_foreach(body, key, v)
    {
        size_t i;

        for (i = 0; i < sizeof known / sizeof known[0] && strcmp(known[i], key) != 0; i++)
            ;
        if (i == sizeof known / sizeof known[0]) {
            rc = err_set(&c->err, CHIME_EINVAL, key, "unknown field '%s'",
                         err_quote(key, strlen(key), q, sizeof q));
            goto done;
        }
    }
    if ((rc = check_name(json_string_value(json_object_get(body, "name")), "name", &c->err)) < 0
        || (rc = token_role_parse(json_string_value(json_object_get(body, "role")), "role", &role,
                                  &c->err))
               < 0
        || (rc = body_namespaces(c, json_object_get(body, "namespaces"), &t.namespaces)) < 0)
        goto done;
    v = json_object_get(body, "expires");
    if (json_is_string(v))
        rc = units_duration_parse(json_string_value(v), "expires", &expires, &c->err);
    else if (json_is_integer(v) && json_integer_value(v) > 0
             && json_integer_value(v) < INT64_MAX / 1000000)
        expires = json_integer_value(v) * 1000000;
    else if (v && !json_is_null(v))
        rc = err_set(&c->err, CHIME_EINVAL, "expires", "must be a duration (\"30d\") or seconds");
    if (rc == 0 && v && !json_is_null(v) && expires <= 0)
        rc = err_set(&c->err, CHIME_ERANGE, "expires", "must be more than nothing");
    if (rc < 0)
        goto done;
    snprintf(t.name, sizeof t.name, "%s", json_string_value(json_object_get(body, "name")));
    snprintf(t.role, sizeof t.role, "%s", token_role_name(role));
    if ((rc = token_new(secret, t.key, t.hash, &c->err)) < 0)
        goto done;
    t.hash_len = TOKEN_HASH_LEN;
    t.created_us = api_now_us();
    t.created_by = (char *)api_auth_who(c);
    t.expires_us = expires > 0 ? t.created_us + expires : STORE_NULL;
    t.revoked_us = STORE_NULL;
    op.token_insert.token = &t;
    rc = api_audit_exec(c, &op, 201);
    if (rc < 0)
        goto done;
    reply = token_json(&t);
    if (reply)
        json_object_set_new(reply, "secret", json_string(secret));
    api_reply_header(c, "Location", "/api/v1/tokens/%s", t.name);
    rc = api_reply_json(c, 201, reply);
done:
    sodium_memzero(secret, sizeof secret);
    free(t.namespaces);
    json_decref(body);
    return rc;
}

int api_token_revoke(struct api_call *c)
{
    struct store_op op = {.kind = STORE_OP_TOKEN_REVOKE};
    int rc;

    rc = check_name(c->params[0], "token", &c->err);
    if (rc < 0)
        return rc;
    op.token_revoke.name = c->params[0];
    op.token_revoke.now_us = api_now_us();
    rc = api_audit_exec(c, &op, 204);
    if (rc < 0)
        return rc;
    c->status = 204;
    return 0;
}

static json_t *audit_json(const struct store_audit *a)
{
    char job[2 * STORE_NAME_MAX + 2];

    snprintf(job, sizeof job, "%s/%s", a->ns, a->name);
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "id",
                     (json_int_t)a->id, "at", api_json_instant(a->at_us), "token",
                     a->token ? api_json_text(a->token, strlen(a->token)) : json_null(),
                     "address", a->address ? json_string(a->address) : json_null(), "method",
                     api_json_text(a->method, strlen(a->method)), "route",
                     api_json_text(a->route, strlen(a->route)), "path",
                     api_json_text(a->target, strlen(a->target)), "job",
                     a->ns[0] ? json_string(job) : json_null(), "run_id",
                     a->run_id == STORE_NULL ? json_null() : json_integer(a->run_id),
                     "version_before",
                     a->version_before == STORE_NULL ? json_null()
                                                     : json_integer(a->version_before),
                     "version_after",
                     a->version_after == STORE_NULL ? json_null() : json_integer(a->version_after),
                     "status", (json_int_t)a->status);
}

int api_audit_list(struct api_call *c)
{
    struct store_audit_filter f = {0};
    struct store_audit_page page = {0};
    const char *job = api_query(c, "job");
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    json_t *items;
    int64_t total;
    size_t i;
    int rc;

    if (job && (rc = job_id_parse(job, NULL, ns, name, &c->err)) < 0)
        return rc;
    if (job) {
        f.ns = ns;
        f.name = name;
    }
    f.token = api_query(c, "token");
    if (f.token && (rc = check_name(f.token, "token", &c->err)) < 0)
        return rc;
    if ((rc = api_query_page(c, &f.since_us, &f.until_us, &f.limit, &c->err)) < 0)
        return rc;
    f.cursor = api_query(c, "cursor");
    /* an admin of some namespaces sees the entries of their jobs */
    f.ns_in = c->token_ns;
    rc = store_audit_list(c->api->opt.store, &f, &page, &c->err);
    if (rc < 0)
        return rc;
    rc = store_audit_count(c->api->opt.store, &f, &total, &c->err);
    if (rc < 0)
        goto done;
    items = json_array();
    for (i = 0; items && i < page.n; i++)
        json_array_append_new(items, audit_json(&page.items[i]));
    rc = api_reply_json(c, 200, api_json_list(items, page.next_cursor, total));
done:
    store_audit_page_release(&page);
    return rc;
}
