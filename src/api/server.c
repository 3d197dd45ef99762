/* server.c: the API's HTTP server: libmicrohttpd set-up, limits, request
 * bodies, and sending the reply a handler wrote (call.c holds the helpers
 * handlers use to read a request and write a reply, and the problem
 * documents).
 *
 * What bounds a request: headers by the connection's memory pool
 * (API_CONNECTION_MEMORY, libmicrohttpd answers 431 past it), a body by
 * body_max (a Content-Length above it is refused before a byte of the body
 * is read; a chunked body is counted as it comes and then refused, and a
 * client that goes on sending far beyond is cut off), idle time, and
 * conntrack.h: deadlines for a request's head and body however slowly its
 * bytes trickle in, and limits on connections in total and per address
 * that make room for a newcomer by cutting whoever has waited longest for
 * a head. The server runs a pool of polling threads (epoll where there is
 * one): a slow client holds a connection, not a thread, so it never delays
 * anybody else. */
#include "api/api_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/conntrack.h"
#include "api/ratelimit.h"
#include "store/store.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/metrics.h"
#include "../banned.h"

#define API_BODY_MAX_DEFAULT    ((size_t)1024 * 1024)
#define API_CONNECTIONS_DEFAULT 256
#define API_PER_IP_DEFAULT      64
#define API_IDLE_DEFAULT        30
#define API_THREADS_DEFAULT     4
#define API_HEAD_TIMEOUT_US     INT64_C(10000000)
#define API_BODY_TIMEOUT_US     INT64_C(60000000)
#define API_SWEEP_US            INT64_C(200000) /* how often deadlines are checked */
#define API_TRIM_BODY           ((size_t)1024 * 1024) /* a body this big is trimmed after */
#define API_NICE                10 /* the API threads' nice, above the daemon's */
#define API_CONNECTION_MEMORY   ((size_t)64 * 1024) /* headers and buffers of one connection */
#define API_AUTH_SLOTS          4096 /* addresses and token ids whose failures are counted */
#define API_TRIGGER_SLOTS       4096 /* jobs, and tokens, whose triggers are counted */
#define API_TRIGGERS_PER_JOB    10   /* a minute, by default */
#define API_TRIGGERS_PER_TOKEN  60

/* Media types a JSON body may come as (before any ";" parameter). */
static const char *const json_types[] = {
    "application/json",
    "application/merge-patch+json",
};

/* ---- connections and their deadlines (conntrack.h) ---- */

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct api *a = cls;
    const union MHD_ConnectionInfo *fd, *addr;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* before libmicrohttpd closes the socket: no cut can reach a
         * descriptor reused by then */
        conntrack_close(a->conns, *socket_context);
        *socket_context = NULL;
        return;
    }
    fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (fd && addr)
        *socket_context = conntrack_open(a->conns, fd->connect_fd, addr->client_addr, mono_us());
}

/* C's connection enters phase P. */
static void call_phase(struct api_call *c, enum conntrack_phase p)
{
    conntrack_phase(c->api->conns, c->tracked, p, mono_us());
}

static void *sweep_main(void *arg)
{
    struct api *a = arg;
    struct timespec ts;

    pthread_mutex_lock(&a->sweep_lock);
    while (!a->sweep_stop) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)(API_SWEEP_US * 1000);
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&a->sweep_cond, &a->sweep_lock, &ts);
        conntrack_sweep(a->conns, mono_us());
    }
    pthread_mutex_unlock(&a->sweep_lock);
    return NULL;
}

static int sweep_start(struct api *a, struct err *err)
{
    pthread_condattr_t ca;

    a->conns = conntrack_new(a->opt.connections_max, a->opt.connections_per_ip,
                             a->opt.head_timeout_us, a->opt.body_timeout_us);
    if (!a->conns)
        return err_set(err, CHIME_ENOMEM, "", "out of memory for the API");
    pthread_mutex_init(&a->sweep_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->sweep_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&a->sweep_thread, NULL, sweep_main, a) != 0) {
        pthread_cond_destroy(&a->sweep_cond);
        pthread_mutex_destroy(&a->sweep_lock);
        conntrack_free(a->conns);
        a->conns = NULL;
        return err_set(err, CHIME_EIO, "", "cannot start the API's deadline thread");
    }
    a->sweep_running = true;
    return 0;
}

/* After libmicrohttpd has stopped: every connection is closed by then. */
static void sweep_stop(struct api *a)
{
    if (!a->sweep_running)
        return;
    pthread_mutex_lock(&a->sweep_lock);
    a->sweep_stop = true;
    pthread_cond_signal(&a->sweep_cond);
    pthread_mutex_unlock(&a->sweep_lock);
    pthread_join(a->sweep_thread, NULL);
    pthread_cond_destroy(&a->sweep_cond);
    pthread_mutex_destroy(&a->sweep_lock);
    conntrack_free(a->conns);
    a->conns = NULL;
    a->sweep_running = false;
}

/* ---- sending the reply ---- */

/* Queues C's reply on its connection. */
static enum MHD_Result reply_send(struct api_call *c)
{
    struct MHD_Response *r = c->response;
    enum MHD_Result ok;
    size_t i;

    call_phase(c, CONNTRACK_REPLY);
    c->response = NULL;
    if (!r && c->json) {
        char *text = json_dumps(c->json, JSON_COMPACT);
        size_t len = text ? strlen(text) : 0;
        char *nl = text ? realloc(text, len + 2) : NULL;

        if (!nl) {
            free(text);
            return MHD_NO;
        }
        nl[len++] = '\n';
        nl[len] = '\0';
        r = MHD_create_response_from_buffer(len, nl, MHD_RESPMEM_MUST_FREE);
        if (!r)
            free(nl);
    } else if (!r && c->text) {
        r = MHD_create_response_from_buffer(c->text_len, c->text, MHD_RESPMEM_MUST_FREE);
        if (r)
            c->text = NULL;
    } else if (!r) {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    if (c->text_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, c->text_type);
    for (i = 0; i < c->n_headers; i++)
        MHD_add_response_header(r, c->headers[i].name, c->headers[i].value);
    ok = MHD_queue_response(c->conn, c->status ? c->status : 500, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_error(struct api_call *c)
{
    api_reply_problem(c);
    api_audit_request(c);
    return reply_send(c);
}

/* ---- requests ---- */

struct unknown_query {
    const struct api_param *known;
    const char *bad;
};

static enum MHD_Result on_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct unknown_query *u = cls;
    const struct api_param *p;

    (void)kind;
    (void)value;
    for (p = u->known; p && p->name; p++)
        if (!strcmp(p->name, key))
            return MHD_YES;
    u->bad = key;
    return MHD_NO;
}

/* Whether the Content-Type of a request with a body says JSON. A missing
 * one is taken as JSON; a form or text type is refused with 415. */
static bool type_is_json(const char *type)
{
    size_t n, i;

    if (!type)
        return true;
    n = strcspn(type, "; \t");
    for (i = 0; i < sizeof json_types / sizeof json_types[0]; i++)
        if (strlen(json_types[i]) == n && !strncasecmp(type, json_types[i], n))
            return true;
    return false;
}

/* The most body C may send: its route's own limit (an import), else the
 * server's. */
static size_t call_body_max(const struct api_call *c)
{
    return c->route && c->route->body_max ? c->route->body_max : c->api->opt.body_max;
}

/* The first call of a request: route it and check what can be checked
 * before its body arrives. Returns 0, or a negative code with c->err. */
static int call_begin(struct api_call *c)
{
    struct unknown_query u = {0};
    const char *len = api_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = api_header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    char allow[128], q[48];
    uint64_t n = 0;
    int rc;

    rc = api_route_find(c, allow, sizeof allow);
    if (rc == -API_EMETHOD)
        api_reply_header(c, MHD_HTTP_HEADER_ALLOW, "%s", allow);
    if (rc < 0)
        return rc;
    rc = api_auth_route(c);
    if (rc < 0)
        return rc;
    u.known = c->route->query;
    MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, on_query_arg, &u);
    if (u.bad)
        return err_set(&c->err, CHIME_EINVAL, u.bad, "unknown query parameter '%s'",
                       err_quote(u.bad, 40, q, sizeof q));
    if (len) {
        char *end;

        errno = 0;
        n = strtoull(len, &end, 10);
        if (errno || *end)
            n = UINT64_MAX;
    }
    if (n > call_body_max(c))
        return err_set(&c->err, CHIME_ETOOBIG, "", "a body of %s bytes is over the limit of %zu",
                       err_quote(len, 24, q, sizeof q), call_body_max(c));
    if ((n > 0 || te) && c->route->body != API_BODY_NONE
        && !type_is_json(api_header(c, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return err_set(&c->err, API_EMEDIA, "", "a body of type '%s' is not JSON",
                       err_quote(api_header(c, MHD_HTTP_HEADER_CONTENT_TYPE), 60, q, sizeof q));
    return 0;
}

/* Keeps LEN more bytes of body, or counts them once past body_max.
 * Returns false when the client has sent far too much to go on reading. */
static bool call_feed(struct api_call *c, const char *data, size_t len)
{
    size_t max = call_body_max(c);

    c->received += len;
    if (c->received > max) {
        /* A chunked body past the limit is read and dropped, to answer
         * 413 after it; past twice the limit the connection is cut. */
        return c->received <= (uint64_t)max * 2 + 65536;
    }
    if (c->route->body == API_BODY_NONE)
        return true;
    if (c->body_len + len > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        char *b;

        while (cap < c->body_len + len)
            cap *= 2;
        if (cap > max)
            cap = max;
        b = realloc(c->body, cap + 1);
        if (!b)
            return false;
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, data, len);
    c->body_len += len;
    c->body[c->body_len] = '\0';
    return true;
}

/* The API's threads yield to the scheduler's: under load a client waits a
 * little longer, a fire does not (on Linux a nice value is per thread).
 * Once per thread, on its first request. */
static void nice_this_thread(void)
{
    static _Thread_local bool done;
    pid_t tid = gettid();

    if (!done) {
        done = true;
        setpriority(PRIO_PROCESS, (id_t)tid, getpriority(PRIO_PROCESS, (id_t)tid) + API_NICE);
    }
}

/* Whether URI, as it came, holds a percent-encoded NUL, read as
 * libmicrohttpd decodes it: "%2500" is the text "%00", not one. */
static bool uri_has_nul(const char *uri)
{
    for (; *uri; uri++) {
        if (uri[0] != '%' || !isxdigit((unsigned char)uri[1]) || !isxdigit((unsigned char)uri[2]))
            continue;
        if (uri[1] == '0' && uri[2] == '0')
            return true;
        uri += 2;
    }
    return false;
}

/* A request begins: its call is made here, before libmicrohttpd splits
 * and decodes the URI in place, to see it whole. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct api_call *c = calloc(1, sizeof *c);

    (void)conn;
    if (c) {
        c->api = cls;
        c->uri_len = uri ? strlen(uri) : 0;
        c->uri_nul = uri && uri_has_nul(uri);
    }
    return c;
}

/* Whether the request line holds a NUL byte, raw or percent-encoded:
 * libmicrohttpd hands C strings, so "GET\0" would be served as GET and
 * "/runs?state=running%00" as running. The line lies in one buffer, its
 * separating spaces made NULs: METHOD NUL [spaces] URI NUL VERSION, so
 * any other NUL shows as a METHOD or a URI that ends early (URI_LEN was
 * measured before the URI was split at '?'). */
static bool call_has_nul(const struct api_call *c, const char *method, const char *url,
                         const char *version)
{
    const char *p = method + strlen(method) + 1;

    if (c->uri_nul || url < p)
        return true;
    for (; p < url; p++)
        if (*p != ' ')
            return true;
    return *version && url + c->uri_len + 1 != version;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct api *a = cls;
    struct api_call *c = *con_cls;
    const union MHD_ConnectionInfo *ci;
    int rc;

    if (!c)
        return MHD_NO; /* out of memory in on_uri */
    if (!c->started) {
        nice_this_thread();
        c->started = true;
        c->api = a;
        c->conn = conn;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        c->tracked = ci ? ci->socket_context : NULL;
        call_phase(c, CONNTRACK_BODY);
        snprintf(c->method, sizeof c->method, "%s", method);
        if (call_has_nul(c, method, url, version)) {
            err_set(&c->err, CHIME_EINVAL, "", "a NUL byte in the request line");
            return reply_error(c);
        }
        if (strlen(url) >= sizeof c->path) {
            err_set(&c->err, CHIME_ENOTFOUND, "", "no such path");
            return reply_error(c);
        }
        snprintf(c->path, sizeof c->path, "%s", url);
        if (call_begin(c) < 0) {
            /* Refused before its body: answered at once, and the body is
             * never read (the connection then closes). Without a body the
             * answer waits for the request's end, so the connection is
             * kept alive. */
            const char *cl = api_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);

            if ((cl && strcmp(cl, "0") != 0) || api_header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING))
                return reply_error(c);
            c->failed = true;
        }
        return MHD_YES;
    }
    if (*upload_size) {
        bool go_on = c->failed || call_feed(c, upload, *upload_size);

        *upload_size = 0;
        return go_on ? MHD_YES : MHD_NO;
    }
    call_phase(c, CONNTRACK_REPLY);
    if (c->failed)
        return reply_error(c);
    if (c->received > call_body_max(c)) {
        err_set(&c->err, CHIME_ETOOBIG, "", "a body of %" PRIu64 " bytes is over the limit of %zu",
                c->received, call_body_max(c));
        return reply_error(c);
    }
    c->err = (struct err){0};
    rc = c->route->fn(c);
    if (rc < 0) {
        if (c->err.code == CHIME_OK)
            err_set(&c->err, -rc < API_ECODE_END ? -rc : CHIME_EIO, "", "request failed");
        return reply_error(c);
    }
    api_audit_request(c);
    return reply_send(c);
}

/* chime_api_requests_total{method,route,status}: the route's template,
 * never the raw path, and the route's method, never the client's, so
 * neither a scan of paths nor odd methods can grow the label sets. */
static void count_request(const struct api_call *c)
{
    char status[12];

    if (!c->api->requests || !c->status)
        return;
    snprintf(status, sizeof status, "%u", c->status);
    metrics_inc(c->api->requests,
                (const char *const[]){c->route ? c->route->method : "other",
                                      c->route ? c->route->path : "unmatched", status});
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct api_call *c = *con_cls;
    bool large;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!c)
        return;
    /* a kept-alive connection waits for its next head from now */
    call_phase(c, CONNTRACK_HEAD);
    count_request(c);
    json_decref(c->json);
    json_decref(c->warnings);
    free(c->text);
    if (c->response)
        MHD_destroy_response(c->response);
    api_auth_release(c);
    free(c->body);
    large = c->body_cap >= API_TRIM_BODY;
    free(c);
    *con_cls = NULL;
    /* A large body (an import of tens of thousands of jobs) builds
     * hundreds of MiB of JSON trees and plans, freed by now but kept by
     * malloc in this thread's arena, in pieces below its top: an 8 MiB
     * dry run left 570 MiB resident, and each pool thread keeps its own.
     * Handing the free pages back costs a walk of the arenas, nothing
     * next to such a request. */
    if (large)
        malloc_trim(0);
}

/* ---- listening ---- */

/* "HOST:PORT" or "[V6]:PORT" into SS. HOST may be a name (looked up once,
 * at start). */
static int listen_parse(const char *listen, struct sockaddr_storage *ss, char *host,
                        size_t host_len, unsigned *ret_port, struct err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    const char *colon, *hs = listen, *he;
    char q[80], *end;
    unsigned long port;
    int rc;

    if (listen[0] == '[') {
        hs = listen + 1;
        he = strchr(hs, ']');
        colon = he ? he + 1 : NULL;
        if (!he || *colon != ':')
            goto bad;
    } else {
        colon = strrchr(listen, ':');
        he = colon;
        if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
            goto bad;
    }
    if (he == hs || (size_t)(he - hs) >= host_len)
        goto bad;
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port > 65535 || colon[1] < '0' || colon[1] > '9')
        goto bad;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    hints.ai_family = listen[0] == '[' ? AF_INET6 : AF_UNSPEC;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res)
        return err_set(err, CHIME_EINVAL, "listen", "cannot resolve '%s': %s",
                       err_quote(host, 60, q, sizeof q), gai_strerror(rc));
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    inet_ntop(ss->ss_family,
              ss->ss_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)ss)->sin6_addr
                                        : (void *)&((struct sockaddr_in *)ss)->sin_addr,
              host, (socklen_t)host_len);
    *ret_port = (unsigned)port;
    return 0;
bad:
    return err_set(err, CHIME_EINVAL, "listen", "'%s' is not HOST:PORT or [V6]:PORT",
                   err_quote(listen, 60, q, sizeof q));
}

int api_listen(const char *where, struct err *err)
{
    struct sockaddr_storage ss = {0};
    char host[INET6_ADDRSTRLEN + 1];
    unsigned port = 0;
    int one = 1, fd, rc;

    rc = listen_parse(where, &ss, host, sizeof host, &port, err);
    if (rc < 0)
        return rc;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(err, CHIME_EIO, "listen", "cannot listen on '%s': %s", where,
                       strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss,
             ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in))
            < 0
        || listen(fd, SOMAXCONN) < 0) {
        rc = err_set(err, CHIME_EIO, "listen", "cannot listen on '%s': %s", where,
                     strerror(errno));
        close(fd);
        return rc;
    }
    return fd;
}

int api_start(const struct api_options *opt, char *bound, size_t bound_len, struct api **ret,
              struct err *err)
{
    const struct api_engine *e = &opt->engine;
    const union MHD_DaemonInfo *info;
    struct sockaddr_storage ss = {0};
    struct MHD_OptionItem where[2] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}};
    struct api *a = NULL;
    char host[INET6_ADDRSTRLEN + 1];
    unsigned port = 0, flags;
    bool locks = false;
    int rc;

    if (!opt->store || !opt->data_dir || !opt->listen)
        rc = err_set(err, CHIME_EINVAL, "",
                     "the API needs a store, a data directory and "
                     "an address");
    else if (!e->jobs_apply || !e->job_remove || !e->job_pause || !e->trigger || !e->cancel
             || !e->job_next)
        rc = err_set(err, CHIME_EINVAL, "engine", "every engine call must be set");
    else
        rc = listen_parse(opt->listen, &ss, host, sizeof host, &port, err);
    if (rc < 0) {
        if (opt->listen_fd > 0)
            close(opt->listen_fd);
        return rc;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        if (opt->listen_fd > 0)
            close(opt->listen_fd);
        return err_set(err, CHIME_ENOMEM, "", "out of memory for the API");
    }
    a->opt = *opt;
    if (opt->metrics) {
        static const char *const labels[] = {"method", "route", "status", NULL};

        a->requests = metrics_family(opt->metrics, METRIC_COUNTER, "chime_api_requests_total",
                                     "API requests answered, by route template and status",
                                     labels, NULL, 0, -1, 0);
    }
    a->opt.listen = NULL;
    a->opt.data_dir = NULL;
    if (!a->opt.body_max)
        a->opt.body_max = API_BODY_MAX_DEFAULT;
    if (!a->opt.connections_max)
        a->opt.connections_max = API_CONNECTIONS_DEFAULT;
    if (!a->opt.connections_per_ip)
        a->opt.connections_per_ip = API_PER_IP_DEFAULT;
    if (!a->opt.idle_timeout_s)
        a->opt.idle_timeout_s = API_IDLE_DEFAULT;
    if (!a->opt.threads)
        a->opt.threads = API_THREADS_DEFAULT;
    if (a->opt.head_timeout_us <= 0)
        a->opt.head_timeout_us = API_HEAD_TIMEOUT_US;
    if (a->opt.body_timeout_us <= 0)
        a->opt.body_timeout_us = API_BODY_TIMEOUT_US;
    /* previews of jobs without a zone: UTC when the daemon gives none */
    if (!a->opt.default_zone && (rc = tz_load("UTC", &a->opt.default_zone, err)) < 0)
        goto fail;
    a->data_dir = strdup(opt->data_dir);
    if (!a->data_dir) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory for the API");
        goto fail;
    }
    rc = api_openapi_build(&a->openapi, &a->openapi_len, err);
    if (rc < 0)
        goto fail;
    a->auth_fails = ratelimit_new(API_AUTH_SLOTS, a->opt.auth_burst ? a->opt.auth_burst : 10,
                                  a->opt.auth_interval_us ? a->opt.auth_interval_us
                                                          : INT64_C(6000000));
    if (!a->opt.triggers_per_job)
        a->opt.triggers_per_job = API_TRIGGERS_PER_JOB;
    if (!a->opt.triggers_per_token)
        a->opt.triggers_per_token = API_TRIGGERS_PER_TOKEN;
    /* N a minute: a burst of N, then one each minute / N */
    a->trigger_jobs = ratelimit_new(API_TRIGGER_SLOTS, a->opt.triggers_per_job,
                                    INT64_C(60000000) / a->opt.triggers_per_job);
    a->trigger_tokens = ratelimit_new(API_TRIGGER_SLOTS, a->opt.triggers_per_token,
                                      INT64_C(60000000) / a->opt.triggers_per_token);
    if (!a->auth_fails || !a->trigger_jobs || !a->trigger_tokens) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory for the API");
        goto fail;
    }
    pthread_mutex_init(&a->write_lock, NULL);
    locks = true;
    rc = api_follow_start(a, err);
    if (rc < 0)
        goto fail;
    rc = sweep_start(a, err);
    if (rc < 0)
        goto fail;
    flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    /* a socket bound by api_listen() is used as it is; else SS is bound here */
    if (opt->listen_fd > 0)
        where[0] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, opt->listen_fd, NULL};
    else
        where[0] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
    a->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, a, MHD_OPTION_ARRAY, where,
        /* conntrack keeps the limits; libmicrohttpd's own has room for
         * the connections cut and not closed yet, and for newcomers that
         * make room for themselves */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(a->opt.connections_max * 2 + 16),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)a->opt.idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, API_CONNECTION_MEMORY, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)a->opt.threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, a, MHD_OPTION_URI_LOG_CALLBACK, on_uri, a,
        MHD_OPTION_END);
    if (!a->mhd) {
        rc = err_set(err, CHIME_EIO, "listen", "cannot listen on '%s': %s", opt->listen,
                     errno ? strerror(errno) : "refused by libmicrohttpd");
        goto fail;
    }
    info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port)
        port = info->port;
    if (bound && bound_len)
        snprintf(bound, bound_len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
    *ret = a;
    return 0;
fail:
    sweep_stop(a);
    if (opt->listen_fd > 0)
        close(opt->listen_fd);
    api_follow_stop(a);
    api_follow_release(a);
    if (locks)
        pthread_mutex_destroy(&a->write_lock);
    ratelimit_free(a->auth_fails);
    ratelimit_free(a->trigger_jobs);
    ratelimit_free(a->trigger_tokens);
    free(a->openapi);
    free(a->data_dir);
    free(a);
    return rc;
}

void api_stop(struct api *a)
{
    if (!a)
        return;
    /* Followers are woken and end first: libmicrohttpd must not be
     * stopped with a connection suspended. */
    api_follow_stop(a);
    MHD_stop_daemon(a->mhd);
    sweep_stop(a);
    api_follow_release(a);
    pthread_mutex_destroy(&a->write_lock);
    ratelimit_free(a->auth_fails);
    ratelimit_free(a->trigger_jobs);
    ratelimit_free(a->trigger_tokens);
    free(a->openapi);
    free(a->data_dir);
    free(a);
}
