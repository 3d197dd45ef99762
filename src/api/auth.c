/* auth.c: who a request comes from, what it may do, and the audit log.
 *
 * Every route but /healthz needs "Authorization: Bearer <token>". The
 * token's public id finds its row; the secret's hash is compared in
 * constant time (token.c); an expired or revoked token is refused like a
 * wrong one. Then the route decides:
 *
 *   - a job or run the path names must be in the token's namespaces, or
 *     the answer is the 404 a missing job or run gets: a token learns
 *     nothing of other tenants' jobs, not even that they exist;
 *   - the token's role must be strong enough for the route, or 403.
 *
 * Lists are filtered by the store (the ns_in of its filters). A failed
 * authentication is logged (address, reason and the token's public id,
 * never its secret) and counted per client address and per presented
 * token id (ratelimit.c); a failure past either budget is answered 429
 * with Retry-After instead of 401. A valid token is always served: it is
 * checked before any budget is looked at (authenticate). A request
 * without any Authorization header is not counted: it guesses nothing.
 *
 * The audit log: every request that may change something (not GET or
 * HEAD) and was authenticated gets an entry with the status answered.
 * Where the change is a store write, the entry is written in the same
 * transaction (api_audit_exec); otherwise (a trigger, a cancel, a refusal)
 * as the answer goes out (api_audit_request). */
#include "api/api_int.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "api/ratelimit.h"
#include "api/token.h"
#include "store/store.h"
#include "util/log.h"
#include "../banned.h"

#define AUTH_REALM "Bearer realm=\"chime\""

static const char *const access_names[] = {
    [API_ADMIN] = "admin",      [API_VIEWER] = "viewer", [API_OPERATOR] = "operator",
    [API_ROOT] = "admin of every namespace", [API_PUBLIC] = "none", [API_SCRAPE] = "viewer",
};

const char *api_access_name(enum api_access a)
{
    return (size_t)a < sizeof access_names / sizeof access_names[0] ? access_names[a] : "admin";
}

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const struct sockaddr *client_addr(const struct api_call *c)
{
    const union MHD_ConnectionInfo *ci =
        c->conn ? MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;

    return ci ? ci->client_addr : NULL;
}

/* c->address, once. */
static void call_address(struct api_call *c)
{
    const struct sockaddr *sa = client_addr(c);

    if (c->address[0])
        return;
    snprintf(c->address, sizeof c->address, "unknown");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, c->address,
                  sizeof c->address);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  c->address, sizeof c->address);
}

/* A failed authentication. ID is the token's public id when the header
 * had one (never the secret). Within the limits (of the address and of
 * the id) it is counted, logged and answered 401; past either it is
 * answered 429 with Retry-After and not logged. A budget already spent
 * does not count the failure, so a client hammering away neither extends
 * its wait nor floods the log. */
static int auth_fail(struct api_call *c, const char *reason, const char *id, const char *detail)
{
    struct ratelimit *r = c->api->auth_fails;
    unsigned char ak[RATELIMIT_ADDR_KEY_MAX];
    char tk[2 + TOKEN_ID_LEN + 1];
    size_t al = ratelimit_addr_key(client_addr(c), ak), tl = 0;
    int64_t now = mono_us(), wait_a, wait_t = 0;

    if (id)     /* "t:" never starts an address key (a family byte) */
        tl = (size_t)snprintf(tk, sizeof tk, "t:%s", id);
    wait_a = ratelimit_wait(r, ak, al, now);
    if (tl)
        wait_t = ratelimit_wait(r, tk, tl, now);
    /* each budget counts the failures within it, whatever the other
     * says: guesses at one token id from many addresses use up its own */
    if (!wait_a)
        ratelimit_add(r, ak, al, now);
    if (tl && !wait_t)
        ratelimit_add(r, tk, tl, now);
    if (wait_a || wait_t) {
        int64_t retry = wait_a > wait_t ? wait_a : wait_t;

        log_debug("authentication refused: address=%s reason=too-many-failures%s%s "
                  "retry_after=%" PRId64, c->address, id ? " token_id=" : "", id ? id : "", retry);
        api_reply_header(c, MHD_HTTP_HEADER_RETRY_AFTER, "%" PRId64, retry);
        return err_set(&c->err, API_ETOO_MANY, "Authorization",
                       "too many failed authentications %s %s: try again in %" PRId64 " s",
                       wait_a ? "from" : "with token id", wait_a ? c->address : id, retry);
    }
    log_info("authentication failed: address=%s reason=%s%s%s route=\"%s %s\"", c->address,
             reason, id ? " token_id=" : "", id ? id : "", c->method,
             c->route ? c->route->path : "?");
    api_reply_header(c, MHD_HTTP_HEADER_WWW_AUTHENTICATE, AUTH_REALM ", error=\"invalid_token\"");
    return err_set(&c->err, API_EUNAUTHORIZED, "Authorization", "%s", detail);
}

/* Who C comes from. A token is always checked, whatever its address or
 * id failed before: a valid token is served even while others guess from
 * the same address or at the same id. Only failures are limited
 * (auth_fail). Checking costs one indexed store read and one BLAKE2b of
 * 66 bytes (token.h), no more than answering the 429 would. */
static int authenticate(struct api_call *c)
{
    const char *h, *p;
    struct store_token t;
    char id[TOKEN_ID_LEN + 1];
    enum token_role role = TOKEN_VIEWER;
    const char *why = NULL;
    struct err e = {0};
    size_t len;
    int rc;

    if (c->authed)
        return 0;
    call_address(c);
    h = api_header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h) {
        api_reply_header(c, MHD_HTTP_HEADER_WWW_AUTHENTICATE, AUTH_REALM);
        return err_set(&c->err, API_EUNAUTHORIZED, "Authorization",
                       "a token is required: Authorization: Bearer TOKEN");
    }
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return auth_fail(c, "not-bearer", NULL, "the Authorization header is not a Bearer token");
    for (p = h + 7; *p == ' '; p++)
        ;
    len = strlen(p);
    while (len > 0 && p[len - 1] == ' ')
        len--;
    if (token_parse(p, len, id, &e) < 0)
        return auth_fail(c, "malformed", NULL, "the token is not a valid chime token");
    rc = store_token_get(c->api->opt.store, id, &t, &e);
    if (rc == -CHIME_ENOTFOUND)
        return auth_fail(c, "unknown", id, "the token is not a valid chime token");
    if (rc < 0) {
        c->err = e;
        return rc;
    }
    rc = 0;
    if (!token_verify(p, len, t.hash, t.hash_len))
        rc = auth_fail(c, "wrong-secret", id, "the token is not a valid chime token");
    else if (!token_live(t.expires_us, t.revoked_us, api_now_us(), &why))
        rc = auth_fail(c, why, id,
                       !strcmp(why, "expired") ? "the token has expired"
                                               : "the token has been revoked");
    else if (token_role_parse(t.role, "role", &role, &e) < 0)
        rc = auth_fail(c, "bad-role", id, "the token is not a valid chime token");
    if (rc == 0) {
        c->authed = true;
        c->role = (int)role;
        snprintf(c->token, sizeof c->token, "%s", t.name);
        snprintf(c->token_id, sizeof c->token_id, "%s", id);
        c->token_ns = t.namespaces;
        t.namespaces = NULL;
    }
    store_token_release(&t);
    return rc;
}

static bool role_ok(const struct api_call *c, enum api_access need)
{
    switch (need) {
    case API_PUBLIC:
        return true;
    case API_VIEWER:
    case API_SCRAPE:
        return c->role >= TOKEN_VIEWER;
    case API_OPERATOR:
        return c->role >= TOKEN_OPERATOR;
    case API_ROOT:
        return c->role >= TOKEN_ADMIN && !c->token_ns;
    case API_ADMIN:
    default:
        return c->role >= TOKEN_ADMIN;
    }
}

static int role_check(struct api_call *c, enum api_access need)
{
    if (role_ok(c, need))
        return 0;
    return err_set(&c->err, API_EFORBIDDEN, "", "token '%s' (%s) cannot do this: it needs %s",
                   c->token, token_role_name((enum token_role)c->role),
                   (size_t)need < sizeof access_names / sizeof access_names[0] ? access_names[need]
                                                                               : "admin");
}

int api_auth_require(struct api_call *c, enum api_access need)
{
    int rc;

    if (need == API_PUBLIC || (need == API_SCRAPE && c->api->opt.metrics_open))
        return 0;
    rc = authenticate(c);
    return rc < 0 ? rc : role_check(c, need);
}

bool api_auth_sees(const struct api_call *c, const char *ns)
{
    return c->authed && token_sees(c->token_ns, ns);
}

int api_auth_job(struct api_call *c, const char *ns, const char *name)
{
    char q[140], id[140];

    if (api_auth_sees(c, ns))
        return 0;
    snprintf(id, sizeof id, "%s/%s", ns, name);
    return err_set(&c->err, CHIME_ENOTFOUND, "job", "job '%s' does not exist",
                   err_quote(id, strlen(id), q, sizeof q));
}

const char *api_auth_who(const struct api_call *c)
{
    return c->authed ? c->token : NULL;
}

void api_audit_job(struct api_call *c, const char *ns, const char *name)
{
    snprintf(c->audit.ns, sizeof c->audit.ns, "%s", ns);
    snprintf(c->audit.name, sizeof c->audit.name, "%s", name);
}

/* The path parameter of C's route named NAME, or NULL. */
static const char *route_param(const struct api_call *c, const char *name)
{
    const char *t = c->route->path;
    size_t i = 0, n = strlen(name);

    while ((t = strchr(t, '{')) != NULL) {
        if (i >= c->n_params)
            return NULL;
        if (!strncmp(t + 1, name, n) && t[1 + n] == '}')
            return c->params[i];
        i++;
        t++;
    }
    return NULL;
}

int api_auth_route(struct api_call *c)
{
    const char *ns, *name, *run;
    enum api_access need = c->route->access;
    int rc;

    if (need == API_PUBLIC || (need == API_SCRAPE && c->api->opt.metrics_open))
        return 0;
    rc = authenticate(c);
    if (rc < 0)
        return rc;
    /* what the path names must be visible before the role is told */
    ns = route_param(c, "namespace");
    name = route_param(c, "name");
    run = route_param(c, "run_id");
    if (!run && !strncmp(c->route->path, "/api/v1/runs/", 13))
        run = route_param(c, "id");
    if (ns && name) {
        api_audit_job(c, ns, name);
        if ((rc = api_auth_job(c, ns, name)) < 0)
            return rc;
    }
    if (run) {
        struct store_run r;
        struct err e = {0};
        char *end;
        long long id = strtoll(run, &end, 10);

        store_run_init(&r);
        /* A run of a namespace the token does not see, and one that does
         * not exist, get the same answer, from here, before the role is
         * told: else a viewer's 403 for one and 404 for the other tells
         * which ids exist elsewhere. A malformed id is the handler's to
         * tell (400 whatever exists). */
        if (*end == '\0' && id > 0 && *run >= '0' && *run <= '9') {
            rc = store_run_get(c->api->opt.store, id, &r, &e);
            if (rc == 0) {
                c->audit.run_id = id;
                api_audit_job(c, r.ns, r.name);
            }
            if ((rc == 0 && !api_auth_sees(c, r.ns)) || e.code == CHIME_ENOTFOUND)
                rc = err_set(&c->err, CHIME_ENOTFOUND, route_param(c, "run_id") ? "run_id" : "id",
                             "run %lld does not exist", id);
            else if (rc < 0)
                c->err = e;
        }
        store_run_release(&r);
        if (rc < 0)
            return rc;
    }
    return role_check(c, need);
}

void api_auth_release(struct api_call *c)
{
    free(c->token_ns);
    c->token_ns = NULL;
}

/* ---- the audit log ---- */

/* The request's path again (dispatch split c->path): the route's
 * template with its parameters. */
static void call_target(const struct api_call *c, char *buf, size_t len)
{
    const char *t = c->route->path;
    size_t o = 0, i = 0;

    buf[0] = '\0';
    while (*t && o + 1 < len) {
        if (*t == '{') {
            const char *v = i < c->n_params ? c->params[i] : "";

            i++;
            o += (size_t)snprintf(buf + o, len - o, "%s", v);
            t = strchr(t, '}');
            t = t ? t + 1 : "";
            continue;
        }
        buf[o++] = *t++;
        buf[o] = '\0';
    }
    if (o >= len)
        buf[len - 1] = '\0';
}

void api_audit_entry(struct api_call *c, struct store_audit *e, unsigned status, char *target,
                     size_t target_len)
{
    call_target(c, target, target_len);
    store_audit_init(e);
    e->at_us = api_now_us();
    e->token = c->token;
    e->address = c->address;
    e->method = c->method;
    e->route = (char *)c->route->path;
    e->target = target;
    if (c->audit.ns[0] && c->audit.name[0]) {
        snprintf(e->ns, sizeof e->ns, "%s", c->audit.ns);
        snprintf(e->name, sizeof e->name, "%s", c->audit.name);
    }
    if (c->audit.run_id > 0)
        e->run_id = c->audit.run_id;
    if (c->audit.before > 0)
        e->version_before = c->audit.before;
    if (c->audit.after > 0)
        e->version_after = c->audit.after;
    e->status = status;
}

int api_audit_exec(struct api_call *c, struct store_op *change, unsigned status)
{
    struct store_op audit = {.kind = STORE_OP_AUDIT_INSERT};
    struct store_op *ops[2] = {change, &audit};
    char target[API_PATH_MAX];
    int rc;

    api_audit_entry(c, &audit.audit_insert.entry, status, target, sizeof target);
    audit.audit_insert.after = change;
    rc = store_exec_all(c->api->opt.store, ops, 2);
    if (rc == 0 && change->rc >= 0) {
        if (change->kind == STORE_OP_JOB_PUT)
            c->audit.after = change->ret_version;
        if (change->kind == STORE_OP_JOB_DELETE)
            c->audit.before = change->ret_version;
        /* when the entry failed alone, it is written again with the answer */
        c->audit.done = audit.rc == 0;
        return change->rc;
    }
    c->err = change->err;
    return change->rc < 0 ? change->rc : rc;
}

void api_audit_request(struct api_call *c)
{
    struct store_audit e;
    char target[API_PATH_MAX];
    struct err err = {0};

    if (!c->route || !c->authed || c->audit.done || c->route->no_audit
        || !strcmp(c->method, "GET") || !strcmp(c->method, "HEAD"))
        return;
    api_audit_entry(c, &e, c->status ? c->status : 500, target, sizeof target);
    if (store_audit_insert(c->api->opt.store, &e, NULL, &err) < 0)
        log_error("audit: cannot record %s %s by %s: %s", c->method, target, c->token, err.msg);
    c->audit.done = true;
}
