/* client.c: requests to the daemon with libcurl's easy interface.
 *
 * Every answer lands in a bounded buffer (struct body) or, for an event
 * stream, goes through the SSE parser as it arrives. The status and
 * Content-Type of the last answer are kept on the client so that
 * client_fail() can tell invalid input (exit 2) from a failure (exit 1),
 * and a daemon that is not there from one that said no. */
#include "cli/client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/cli.h"
#include "cli/sse.h"
#include "util/err.h"
#include "../banned.h"

#define CLIENT_CONNECT_TIMEOUT_S 10
#define CLIENT_REQUEST_TIMEOUT_S 120
#define CLIENT_EVENT_MAX         ((size_t)4 << 20) /* bytes of one SSE event */
#define CLIENT_URL_MAX           1024
#define NO_TOKEN_HINT                                                                              \
    "give a token it accepts with --token TOKEN, --token-file FILE or CHIME_TOKEN (and the "      \
    "daemon with --url URL or CHIME_URL)"

struct client {
    CURL *curl;
    char url[CLIENT_URL_MAX];   /* base, no trailing '/' */
    char *auth;                 /* "Authorization: Bearer ..." or NULL */
    long status;                /* of the last answer; 0: none came */
    bool unreachable;           /* the last request never reached the daemon */
    char ctype[128];            /* Content-Type of the last answer, lower case */
    json_t *problem;            /* the last answer's problem document, or NULL */
};

/* An answer's body, bounded. */
struct body {
    char *data;
    size_t len, cap;
    bool too_big;
};

static int body_add(struct body *b, const char *data, size_t n)
{
    if (b->len + n > CLIENT_BODY_MAX) {
        b->too_big = true;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(p = realloc(b->data, cap)))
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* The global options (client_options()), borrowed from argv. */
static struct {
    const char *url, *token, *token_file;
} given;

static const char *const option_names[] = {"--url", "--token", "--token-file"};

int client_options(int *argc, char **argv)
{
    const char **slot[] = {&given.url, &given.token, &given.token_file};
    bool before = true, audit = false;
    int i = 1, out = 1;

    for (; i < *argc; i++) {
        const char *a = argv[i], *value = NULL;
        size_t k, n = 0;

        if (!strcmp(a, "--")) {
            break;
        }
        for (k = 0; k < sizeof option_names / sizeof option_names[0]; k++) {
            n = strlen(option_names[k]);
            if (!strncmp(a, option_names[k], n) && (a[n] == '\0' || a[n] == '='))
                break;
        }
        /* `chime audit --token NAME` is audit's own filter */
        if (k == sizeof option_names / sizeof option_names[0] || (audit && k == 1)) {
            if (before && a[0] != '-') {
                before = false;
                audit = !strcmp(a, "audit");
            }
            argv[out++] = argv[i];
            continue;
        }
        if (a[n] == '=')
            value = a + n + 1;
        else if (i + 1 < *argc)
            value = argv[++i];
        if (!value || !*value) {
            fprintf(stderr, "chime: %s needs a value (see chime help)\n", option_names[k]);
            return 2;
        }
        *slot[k] = value;
    }
    for (; i < *argc; i++)
        argv[out++] = argv[i];
    argv[out] = NULL;
    *argc = out;
    if (given.token && given.token_file) {
        fputs("chime: give --token or --token-file, not both\n", stderr);
        return 2;
    }
    return 0;
}

/* The first line of the file at PATH, a token, into BUF; -1 (errno set,
 * or EINVAL for a file that is not a token) when it cannot be read. */
static int token_read(const char *path, char *buf, size_t len)
{
    size_t n = 0;
    FILE *f;

    buf[0] = '\0';
    f = fopen(path, "re");
    if (!f)
        return -1;
    n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0 || n >= len - 1 || strpbrk(buf, "\r\n") || strlen(buf) != n) {
        buf[0] = '\0'; /* not a token file */
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* The admin token the daemon wrote to DATA_DIR/admin.token, where
 * DATA_DIR is $CHIME_DATA_DIR, else ./chime-data (as for `chime serve`),
 * into BUF; "" when there is no such file or it cannot be read. */
static void token_file(char *buf, size_t len)
{
    const char *dir = getenv("CHIME_DATA_DIR");
    char path[4096];

    buf[0] = '\0';
    if (!dir || !*dir)
        dir = "./chime-data";
    if ((size_t)snprintf(path, sizeof path, "%s/admin.token", dir) < sizeof path)
        token_read(path, buf, len);
}

int client_new(struct client **ret, struct err *err)
{
    const char *url = given.url ? given.url : getenv("CHIME_URL");
    const char *token = given.token ? given.token : getenv("CHIME_TOKEN");
    const char *url_field = given.url ? "--url" : "CHIME_URL";
    struct client *c;
    size_t n;
    char quoted[80], file_token[256];

    if (!url || !*url)
        url = CLIENT_DEFAULT_URL;
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if ((strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) || n <= 8
        || n >= CLIENT_URL_MAX)
        return err_set(err, CHIME_EINVAL, url_field, "'%s' is not an http:// or https:// URL",
                       err_quote(url, n, quoted, sizeof quoted));
    if (given.token_file) {
        if (token_read(given.token_file, file_token, sizeof file_token) < 0)
            return err_set(err, CHIME_EINVAL, "--token-file", "cannot read a token from '%s': %s",
                           err_quote(given.token_file, strlen(given.token_file), quoted,
                                     sizeof quoted),
                           errno == EINVAL ? "not one line of at most 254 bytes" : strerror(errno));
        token = file_token;
    }
    if (token && strpbrk(token, "\r\n"))
        return err_set(err, CHIME_EINVAL, given.token ? "--token" : "CHIME_TOKEN",
                       "the token holds a line break");
    if (!token || !*token) {
        token_file(file_token, sizeof file_token);
        token = file_token;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(err, CHIME_ENOMEM, "", "libcurl could not start");
    if (!(c = calloc(1, sizeof *c)) || !(c->curl = curl_easy_init())) {
        free(c);
        return err_set(err, CHIME_ENOMEM, "", "out of memory for the HTTP client");
    }
    memcpy(c->url, url, n);
    c->url[n] = '\0';
    if (token && *token && asprintf(&c->auth, "Authorization: Bearer %s", token) < 0) {
        c->auth = NULL;
        client_free(c);
        return err_set(err, CHIME_ENOMEM, "", "out of memory for the HTTP client");
    }
    *ret = c;
    return 0;
}

void client_free(struct client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    json_decref(c->problem);
    free(c->auth);
    free(c);
    curl_global_cleanup(); /* counted: pairs with client_new's init */
}

const char *client_url(const struct client *c)
{
    return c->url;
}

/* Headers arrive one line at a time; a new status line (after a 100
 * Continue, say) starts a new answer. */
static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct client *c = arg;
    size_t len = size * n, i, k = 0;

    if (len >= 5 && !memcmp(line, "HTTP/", 5))
        c->ctype[0] = '\0';
    if (len > 13 && !strncasecmp(line, "content-type:", 13)) {
        for (i = 13; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
            ;
        for (; i < len && line[i] != ';' && line[i] != '\r' && line[i] != '\n'
               && k + 1 < sizeof c->ctype;
             i++)
            c->ctype[k++] = (char)(line[i] >= 'A' && line[i] <= 'Z' ? line[i] + 32 : line[i]);
        while (k > 0 && (c->ctype[k - 1] == ' ' || c->ctype[k - 1] == '\t'))
            k--;
        c->ctype[k] = '\0';
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    return body_add(arg, data, size * n) < 0 ? 0 : size * n;
}

static int add_header(struct curl_slist **hdr, const char *line, struct err *err)
{
    struct curl_slist *more = curl_slist_append(*hdr, line);

    if (!more)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    *hdr = more;
    return 0;
}

/* Sets what every request shares and adds the common headers to *HDR (the
 * request's own are already there); the caller frees *HDR in any case and
 * sets method, body and writer. */
static int prepare(struct client *c, const char *path, const char *accept,
                   struct curl_slist **hdr, char *errbuf, struct err *err)
{
    CURL *h = c->curl;
    char *full = NULL;
    int rc;

    curl_easy_reset(h);
    c->status = 0;
    c->unreachable = false;
    c->ctype[0] = '\0';
    json_decref(c->problem);
    c->problem = NULL;
    errbuf[0] = '\0';
    /* "Expect:": curl would wait for "100 Continue" before sending a larger body */
    if ((rc = add_header(hdr, "Expect:", err)) < 0 || (rc = add_header(hdr, accept, err)) < 0
        || (c->auth && (rc = add_header(hdr, c->auth, err)) < 0))
        return rc;
    if (asprintf(&full, "%s%s", c->url, path) < 0)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    curl_easy_setopt(h, CURLOPT_URL, full);
    free(full); /* libcurl keeps its own copy of every string option */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CLIENT_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "chime-cli");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdr);
    return 0;
}

/* Turns a transfer that failed below HTTP into ERR. */
static int transport_error(struct client *c, CURLcode rc, const char *errbuf, struct err *err)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        c->unreachable = true;
        return err_set(err, CHIME_EIO, "",
                       "cannot reach the daemon at %s (is `chime serve` running?)", c->url);
    case CURLE_OPERATION_TIMEDOUT:
        return err_set(err, CHIME_EIO, "", "the daemon at %s did not answer in time: %s", c->url,
                       why);
    default:
        if (!c->status)
            c->unreachable = true;
        return err_set(err, CHIME_EIO, "", "talking to the daemon at %s failed: %s", c->url, why);
    }
}

/* Turns an answer other than 2xx into ERR: the problem document's field
 * and detail when there is one, else the status and the start of the body. */
static int http_error(struct client *c, const struct body *b, struct err *err)
{
    json_t *doc = NULL, *v;
    const char *field = "", *detail = NULL;
    char quoted[200];
    int code;
    int rc;

    switch (c->status) {
    case 400: case 422: code = CHIME_EINVAL; break;
    case 404: code = CHIME_ENOTFOUND; break;
    case 409: case 412: code = CHIME_ECONFLICT; break;
    case 413: code = CHIME_ETOOBIG; break;
    default: code = CHIME_EIO; break;
    }
    if (b->len && !b->too_big)
        doc = json_loadb(b->data, b->len, 0, NULL);
    if (json_is_object(doc)) {
        if (json_is_string(v = json_object_get(doc, "field")))
            field = json_string_value(v);
        /* an empty "detail" says nothing: "title" instead */
        v = json_object_get(doc, "detail");
        if (!json_is_string(v) || !*json_string_value(v))
            v = json_object_get(doc, "title");
        if (json_is_string(v))
            detail = json_string_value(v);
    }
    if (detail && c->status == 401) {
        /* no token, or a wrong one: say how to give one */
        rc = err_set(err, code, "", "%s: %s", err_quote(detail, strlen(detail), quoted, 120),
                     NO_TOKEN_HINT);
    } else if (detail) {
        char f[32];

        err_quote(field, strlen(field), f, sizeof f);
        rc = err_set(err, code, f, "%s", err_quote(detail, strlen(detail), quoted, sizeof quoted));
    } else if (c->status == 401 || c->status == 403) {
        rc = err_set(err, code, "", "the daemon refused the request (HTTP %ld): %s", c->status,
                     NO_TOKEN_HINT);
    } else if (b->len) {
        rc = err_set(err, code, "", "the daemon answered HTTP %ld: %s", c->status,
                     err_quote(b->data, b->len, quoted, 80));
    } else {
        rc = err_set(err, code, "", "the daemon answered HTTP %ld", c->status);
    }
    if (json_is_object(doc))
        c->problem = json_incref(doc); /* for client_problem() */
    json_decref(doc);
    return rc;
}

/* Runs the prepared transfer into B; 0 on a 2xx answer. */
static int perform(struct client *c, struct body *b, const char *errbuf, struct err *err)
{
    CURLcode rc;

    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, b);
    rc = curl_easy_perform(c->curl);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
    if (b->too_big)
        return err_set(err, CHIME_EIO, "", "the daemon's answer is larger than %zu MiB",
                       CLIENT_BODY_MAX >> 20);
    if (rc != CURLE_OK)
        return transport_error(c, rc, errbuf, err);
    if (c->status < 200 || c->status > 299)
        return http_error(c, b, err);
    return 0;
}

int client_json(struct client *c, const char *method, const char *path, const char *body,
                const char *if_match, json_t **ret, struct err *err)
{
    struct curl_slist *hdr = NULL;
    struct body b = { 0 };
    char errbuf[CURL_ERROR_SIZE];
    char *match = NULL;
    json_t *doc = NULL;
    json_error_t jerr;
    int rc;

    if (if_match && asprintf(&match, "If-Match: \"%s\"", if_match) < 0)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    if ((body && (rc = add_header(&hdr, "Content-Type: application/json", err)) < 0)
        || (match && (rc = add_header(&hdr, match, err)) < 0)
        || (rc = prepare(c, path, "Accept: application/json", &hdr, errbuf, err)) < 0)
        goto done;
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)CLIENT_REQUEST_TIMEOUT_S);
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    if (body || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body ? strlen(body) : 0));
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
    }
    rc = perform(c, &b, errbuf, err);
    if (rc < 0)
        goto done;
    if (b.len && ret) {
        doc = json_loadb(b.data, b.len, 0, &jerr);
        if (!doc) {
            rc = err_set(err, CHIME_EIO, "", "the daemon's answer to %s %s is not JSON: %s", method,
                         path, jerr.text);
            goto done;
        }
    }
    if (ret)
        *ret = doc;
    rc = 0;
done:
    free(match);
    free(b.data);
    curl_slist_free_all(hdr);
    return rc;
}

int client_text(struct client *c, const char *path, int64_t from, char **ret, size_t *ret_len,
                struct err *err)
{
    struct curl_slist *hdr = NULL;
    struct body b = { 0 };
    char errbuf[CURL_ERROR_SIZE];
    char range[48];
    size_t skip = 0;
    int rc;

    rc = prepare(c, path, "Accept: text/plain", &hdr, errbuf, err);
    if (rc < 0)
        goto done;
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)CLIENT_REQUEST_TIMEOUT_S);
    if (from > 0) {
        snprintf(range, sizeof range, "%lld-", (long long)from);
        curl_easy_setopt(c->curl, CURLOPT_RANGE, range);
    }
    rc = perform(c, &b, errbuf, err);
    if (rc < 0 && c->status == 416) {
        /* nothing past FROM yet */
        rc = 0;
        b.len = 0;
    }
    if (rc < 0)
        goto done;
    /* 200 instead of 206: a daemon that ignores Range sent all of it */
    if (from > 0 && c->status == 200)
        skip = (uint64_t)from < b.len ? (size_t)from : b.len;
    if (!(*ret = malloc(b.len - skip + 1))) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    if (b.len > skip)
        memcpy(*ret, b.data + skip, b.len - skip);
    (*ret)[b.len - skip] = '\0';
    *ret_len = b.len - skip;
    rc = 0;
done:
    free(b.data);
    curl_slist_free_all(hdr);
    return rc;
}

/* The state of one streamed answer. */
struct stream {
    struct client *c;
    const struct client_stream *s;
    struct sse *parser;
    struct body errbody;        /* the body of an answer other than 200 */
    struct err *err;
    int rc;                     /* what stopped the transfer: 1, or a negative code */
    bool decided;               /* status and type have been looked at */
    bool events;                /* the answer is text/event-stream */
};

static int on_event(void *arg, const char *name, const char *data, size_t len, const char *id)
{
    struct stream *st = arg;

    return st->s->on_event(st->s->arg, name, data, len, id);
}

static size_t on_stream(char *data, size_t size, size_t n, void *arg)
{
    struct stream *st = arg;
    size_t len = size * n;
    int rc;

    if (!st->decided) {
        curl_easy_getinfo(st->c->curl, CURLINFO_RESPONSE_CODE, &st->c->status);
        st->events = !strcmp(st->c->ctype, "text/event-stream");
        st->decided = true;
    }
    if (st->c->status != 200)
        return body_add(&st->errbody, data, len) < 0 ? 0 : len;
    if (st->events)
        rc = sse_feed(st->parser, data, len, st->err);
    else
        rc = st->s->on_text(st->s->arg, data, len);
    if (rc) {
        st->rc = rc;
        return 0;
    }
    return len;
}

int client_stream(struct client *c, const char *path, const char *last_id, long timeout_ms,
                  const struct client_stream *s, struct err *err)
{
    struct stream st = { .c = c, .s = s, .err = err };
    struct curl_slist *hdr = NULL;
    char errbuf[CURL_ERROR_SIZE];
    char *idh = NULL;
    CURLcode crc;
    int rc;

    if (sse_new(CLIENT_EVENT_MAX, on_event, &st, &st.parser, err) < 0)
        return -CHIME_ENOMEM;
    if (last_id && *last_id && asprintf(&idh, "Last-Event-ID: %s", last_id) < 0)
        idh = NULL;
    if ((rc = add_header(&hdr, "Cache-Control: no-cache", err)) < 0
        || (idh && (rc = add_header(&hdr, idh, err)) < 0)
        || (rc = prepare(c, path, "Accept: text/event-stream", &hdr, errbuf, err)) < 0)
        goto done;
    if (timeout_ms > 0)
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &st);
    crc = curl_easy_perform(c->curl);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
    if (st.rc) {
        rc = st.rc > 0 ? 0 : st.rc;
    } else if (st.errbody.too_big) {
        rc = err_set(err, CHIME_EIO, "", "the daemon's answer is larger than %zu MiB",
                     CLIENT_BODY_MAX >> 20);
    } else if (c->status == 200) {
        /* closed, broken or timed out after it began: the caller's callbacks know how far */
        rc = 0;
    } else if (crc != CURLE_OK) {
        rc = transport_error(c, crc, errbuf, err);
    } else {
        rc = http_error(c, &st.errbody, err);
    }
done:
    free(idh);
    free(st.errbody.data);
    sse_free(st.parser);
    curl_slist_free_all(hdr);
    return rc;
}

int client_path(char *buf, size_t len, const char *base, const char *const *kv, struct err *err)
{
    size_t n = (size_t)snprintf(buf, len, "%s", base);
    char sep = '?';

    for (; n < len && kv[0]; kv += 2) {
        char *v;

        if (!kv[1])
            continue;
        /* the handle argument is unused since curl 7.82 */
        if (!(v = curl_easy_escape(NULL, kv[1], 0)))
            return err_set(err, CHIME_ENOMEM, "", "out of memory");
        n += (size_t)snprintf(buf + n, len - n, "%c%s=%s", sep, kv[0], v);
        curl_free(v);
        sep = '&';
    }
    if (n >= len)
        return err_set(err, CHIME_ETOOBIG, "", "the request's query is longer than %zu bytes", len);
    return 0;
}

int client_fail(const struct client *c, const char *cmd, const struct err *err)
{
    if (!c) {
        /* nothing was sent: the trouble is the environment (CHIME_URL) */
        cli_error(cmd, err);
        return 2;
    }
    if (c->unreachable) {
        fprintf(stderr, "chime: %s\n", err->msg);
        return 1;
    }
    cli_error(cmd, err);
    if ((c->status == 400 || c->status == 413 || c->status == 422))
        return 2;
    return 1;
}

const json_t *client_problem(const struct client *c)
{
    return c ? c->problem : NULL;
}

/* ---- downloads: an answer written to a file as it comes ---- */

struct download {
    struct client *c;
    int fd;
    uint64_t bytes;
    struct body errbody; /* the body of an answer other than 2xx */
    bool decided;
    int werrno;          /* writing FD failed */
    const char *hname;   /* a header to keep */
    char *hvalue;
    size_t hlen;
};

static size_t on_download_header(char *line, size_t size, size_t n, void *arg)
{
    struct download *d = arg;
    size_t len = size * n, k = strlen(d->hname), i, o = 0;

    on_header(line, size, n, d->c);
    if (d->hvalue && len > k + 1 && !strncasecmp(line, d->hname, k) && line[k] == ':') {
        for (i = k + 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
            ;
        for (; i < len && line[i] != '\r' && line[i] != '\n' && o + 1 < d->hlen; i++)
            d->hvalue[o++] = line[i];
        d->hvalue[o] = '\0';
    }
    return len;
}

static size_t on_download_body(char *data, size_t size, size_t n, void *arg)
{
    struct download *d = arg;
    size_t len = size * n, off = 0;

    if (!d->decided) {
        curl_easy_getinfo(d->c->curl, CURLINFO_RESPONSE_CODE, &d->c->status);
        d->decided = true;
    }
    if (d->c->status < 200 || d->c->status > 299)
        return body_add(&d->errbody, data, len) < 0 ? 0 : len;
    while (off < len) {
        ssize_t w = write(d->fd, data + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            d->werrno = errno;
            return 0;
        }
        off += (size_t)w;
    }
    d->bytes += len;
    return len;
}

int client_download(struct client *c, const char *method, const char *path, int fd,
                    const char *header, char *value, size_t value_len, uint64_t *ret_bytes,
                    struct err *err)
{
    struct download d = {.c = c, .fd = fd, .hname = header, .hvalue = value, .hlen = value_len};
    struct curl_slist *hdr = NULL;
    char errbuf[CURL_ERROR_SIZE];
    CURLcode crc;
    int rc;

    if (value && value_len)
        value[0] = '\0';
    rc = prepare(c, path, "Accept: application/x-tar, application/octet-stream, "
                          "application/problem+json", &hdr, errbuf, err);
    if (rc < 0)
        goto done;
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    /* no overall limit (a copy may be large, and is made before it is
     * sent): a transfer that stays silent for ten minutes is given up */
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, 600L);
    if (header)
        curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_download_header);
    if (header)
        curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &d);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_download_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &d);
    crc = curl_easy_perform(c->curl);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
    if (d.werrno)
        rc = err_set(err, CHIME_EIO, "file", "writing the file failed: %s", strerror(d.werrno));
    else if (d.errbody.too_big)
        rc = err_set(err, CHIME_EIO, "", "the daemon's answer is larger than %zu MiB",
                     CLIENT_BODY_MAX >> 20);
    else if (crc != CURLE_OK)
        rc = transport_error(c, crc, errbuf, err);
    else if (c->status < 200 || c->status > 299)
        rc = http_error(c, &d.errbody, err);
    else
        *ret_bytes = d.bytes;
done:
    free(d.errbody.data);
    curl_slist_free_all(hdr);
    return rc;
}
