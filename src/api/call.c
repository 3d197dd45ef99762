/* call.c: the handler's side of a call: reading a request (headers, query
 * parameters, path parameters, the JSON body) and writing its reply (JSON,
 * text, headers, or the problem document for c->err, through the one
 * table that maps every code to its problem type and HTTP status).
 * server.c owns the connection and sends what is written here. */
#include "api/api_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "store/store.h"
#include "time/isotime.h"
#include "../banned.h"

#define API_PROBLEM_BASE "https://chime.dev/problems/"

/* Each code's HTTP status and problem title; the type is err_name() for
 * chime's codes and NAME for the HTTP-only ones. */
static const struct errinfo {
    const char *name;
    unsigned status;
    const char *title;
} errinfo[API_ECODE_END] = {
    [CHIME_OK] = {NULL, 500, "Internal error"},
    [CHIME_EINVAL] = {NULL, 400, "Invalid request"},
    [CHIME_ERANGE] = {NULL, 400, "Value out of range"},
    [CHIME_ENOTFOUND] = {NULL, 404, "Not found"},
    [CHIME_ETOOBIG] = {NULL, 413, "Too big"},
    [CHIME_ENEVER] = {NULL, 400, "Schedule never fires"},
    [CHIME_ENOMEM] = {NULL, 503, "Out of memory"},
    [CHIME_EIO] = {NULL, 500, "Input/output error"},
    [CHIME_ECONFLICT] = {NULL, 409, "Conflict"},
    [CHIME_ENOSPC] = {NULL, 507, "Insufficient storage"},
    [API_EMETHOD] = {"method-not-allowed", 405, "Method not allowed"},
    [API_EMEDIA] = {"unsupported-media-type", 415, "Unsupported media type"},
    [API_ERANGE_NOT_SATISFIABLE] = {"range-not-satisfiable", 416, "Range not satisfiable"},
    [API_EUNAUTHORIZED] = {"unauthorized", 401, "Unauthorized"},
    [API_EFORBIDDEN] = {"forbidden", 403, "Forbidden"},
    [API_ETOO_MANY] = {"too-many-requests", 429, "Too many requests"},
};

int64_t api_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- replies ---- */

int api_reply_json(struct api_call *c, unsigned status, json_t *j)
{
    if (!j)
        return err_set(&c->err, CHIME_ENOMEM, "", "out of memory building the reply");
    json_decref(c->json);
    c->json = j;
    c->status = status;
    c->text_type = "application/json";
    return 0;
}

int api_reply_text(struct api_call *c, unsigned status, char *text, size_t len, const char *type)
{
    free(c->text);
    c->text = text;
    c->text_len = len;
    c->text_type = type;
    c->status = status;
    return 0;
}

void api_reply_header(struct api_call *c, const char *name, const char *fmt, ...)
{
    struct api_header *h;
    va_list ap;

    if (c->n_headers == API_HEADERS_MAX)
        return;
    h = &c->headers[c->n_headers];
    h->name = name;
    va_start(ap, fmt);
    /* clang 14 analyzer false positive: AP is started just above */
    vsnprintf(h->value, sizeof h->value, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    c->n_headers++;
}

/* The problem document for C's error. */
void api_reply_problem(struct api_call *c)
{
    int code = c->err.code > 0 && c->err.code < API_ECODE_END ? c->err.code : CHIME_EIO;
    const struct errinfo *ei = &errinfo[code];
    char type[96];
    json_t *p;

    snprintf(type, sizeof type, "%s%s", API_PROBLEM_BASE, ei->name ? ei->name : err_name(code));
    p = json_pack("{s:s, s:s, s:i, s:s, s:o}", "type", type, "title", ei->title, "status",
                  (int)ei->status, "detail", c->err.msg, "field",
                  c->err.field[0] ? json_string(c->err.field) : json_null());
    if (p && c->problem_run_id > 0)
        json_object_set_new(p, "run_id", json_integer((json_int_t)c->problem_run_id));
    json_decref(c->json);
    c->json = p;
    free(c->text);
    c->text = NULL;
    c->status = ei->status;
    c->text_type = "application/problem+json";
    if (code == CHIME_ENOMEM)
        api_reply_header(c, MHD_HTTP_HEADER_RETRY_AFTER, "1");
}

/* ---- requests ---- */

const char *api_header(const struct api_call *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

const char *api_query(const struct api_call *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

int api_query_int(const struct api_call *c, const char *name, int64_t lo, int64_t hi, int64_t def,
                  int64_t *ret, struct err *err)
{
    const char *v = api_query(c, name);
    char q[48], *end;
    long long n;

    if (!v) {
        *ret = def;
        return 0;
    }
    errno = 0;
    n = strtoll(v, &end, 10);
    if (!*v || *end || errno || (*v < '0' || *v > '9'))
        return err_set(err, CHIME_EINVAL, name, "'%s' is not a whole number",
                       err_quote(v, 40, q, sizeof q));
    if (n < lo || n > hi)
        return err_set(err, CHIME_ERANGE, name, "'%lld' is out of range %" PRId64 "-%" PRId64, n,
                       lo, hi);
    *ret = n;
    return 0;
}

int api_query_instant(const struct api_call *c, const char *name, int64_t def, int64_t *ret,
                      struct err *err)
{
    const char *v = api_query(c, name);

    if (!v) {
        *ret = def;
        return 0;
    }
    return isotime_parse(v, NULL, name, ret, err);
}

int api_query_page(const struct api_call *c, int64_t *since_us, int64_t *until_us, int *limit,
                   struct err *err)
{
    int64_t n = STORE_LIMIT_DEFAULT;
    int rc;

    if ((rc = api_query_instant(c, "since", 0, since_us, err)) < 0
        || (rc = api_query_instant(c, "until", 0, until_us, err)) < 0
        || (rc = api_query_int(c, "limit", 1, STORE_LIMIT_MAX, STORE_LIMIT_DEFAULT, &n, err)) < 0)
        return rc;
    if (*since_us && *until_us && *until_us <= *since_us)
        return err_set(err, CHIME_ERANGE, "until", "until is not after since");
    *limit = (int)n;
    return 0;
}

int api_body_object(const struct api_call *c, json_t **ret, struct err *err)
{
    json_t *j = NULL;
    int rc;

    if (c->body_len == 0) {
        if (c->route && c->route->body == API_BODY_OPTIONAL) {
            *ret = NULL;
            return 0;
        }
        return err_set(err, CHIME_EINVAL, "", "a JSON body is required");
    }
    rc = api_json_parse(c->body, c->body_len, &j, err);
    if (rc < 0)
        return rc;
    if (!json_is_object(j)) {
        json_decref(j);
        return err_set(err, CHIME_EINVAL, "", "the body must be a JSON object");
    }
    *ret = j;
    return 0;
}

int api_param_id(const struct api_call *c, size_t i, const char *field, int64_t *ret,
                 struct err *err)
{
    const char *v = i < c->n_params ? c->params[i] : "";
    char q[48], *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 10);
    if (!*v || *end || errno || *v < '0' || *v > '9' || n <= 0)
        return err_set(err, CHIME_EINVAL, field, "'%s' is not a positive whole number",
                       err_quote(v, 40, q, sizeof q));
    *ret = n;
    return 0;
}
