/* channel.c: the channels file (docs/notify.md, "Channels"): parsing,
 * checking every definition, lookup by name, and the retry schedule.
 *
 * The file is JSON: {"defaults": {...}, "channels": {"NAME": {...}},
 * "daemon": ["NAME", ...]}; "daemon" names the channels that hear the
 * daemon's own events (error_rate, error_rate_ok), which no job names.
 * Everything is checked before the set is used: an unknown member, an
 * unknown kind, a missing url, a url of the wrong scheme, an unreadable
 * secret file, a header that would smuggle a line break. Secrets are
 * never put into a message. */
#include "notify/channel.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "job/job.h"
#include "time/units.h"
#include "util/err.h"
#include "util/name.h"
#include "../banned.h"

_Static_assert(CHANNEL_NAME_MAX == NAME_LEN_MAX, "a channel name is a name (util/name.h)");

#define SECRET_MAX        4096
#define HEADERS_MAX       32
#define RECIPIENTS_MAX    100
#define NAMESPACES_MAX    1000
#define TIMEOUT_MAX_US    (INT64_C(600) * 1000000)
#define PATH_LEN          32    /* err->field's room */

struct channel_set {
    int refs;                   /* atomic */
    struct channel *items;      /* by name */
    size_t n;
    const struct channel **daemon; /* the "daemon" list: into items, in the file's order */
    size_t n_daemon;
};

static const char *const kind_names[CHANNEL_KIND_COUNT] = { "webhook", "slack", "email" };

const char *channel_kind_name(enum channel_kind k)
{
    return (int)k >= 0 && k < CHANNEL_KIND_COUNT ? kind_names[k] : "unknown";
}

static const struct channel_retry retry_defaults = {
    10, INT64_C(10) * 1000000, 2.0, INT64_C(3600) * 1000000, 0.2,
};

int64_t channel_backoff_us(const struct channel_retry *r, int attempt, uint64_t rnd)
{
    double d = (double)r->backoff_us;

    for (int i = 1; i < attempt && d < (double)r->max_backoff_us; i++)
        d *= r->factor;
    if (d > (double)r->max_backoff_us)
        d = (double)r->max_backoff_us;
    if (r->jitter > 0)
        d += d * r->jitter * ((double)(rnd >> 11) / 9007199254740992.0);
    return (int64_t)d;
}

/* ---- freeing ---- */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void channel_release(struct channel *c)
{
    free(c->url);
    free_strv(c->namespaces, c->n_namespaces);
    if (c->secret) {
        explicit_bzero(c->secret, c->secret_len);
        free(c->secret);
    }
    for (size_t i = 0; i < c->n_headers; i++) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }
    free(c->headers);
    free(c->from);
    free_strv(c->to, c->n_to);
    free(c->subject);
    free(c->username);
    if (c->password) {
        explicit_bzero(c->password, strlen(c->password));
        free(c->password);
    }
}

struct channel_set *channel_set_ref(struct channel_set *s)
{
    if (s)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

void channel_set_free(struct channel_set *s)
{
    if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (size_t i = 0; i < s->n; i++)
        channel_release(&s->items[i]);
    free(s->items);
    free(s->daemon);
    free(s);
}

size_t channel_set_count(const struct channel_set *s)
{
    return s ? s->n : 0;
}

const struct channel *channel_set_at(const struct channel_set *s, size_t i)
{
    return s && i < s->n ? &s->items[i] : NULL;
}

size_t channel_set_daemon_count(const struct channel_set *s)
{
    return s ? s->n_daemon : 0;
}

const struct channel *channel_set_daemon_at(const struct channel_set *s, size_t i)
{
    return s && i < s->n_daemon ? s->daemon[i] : NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct channel *)a)->name, ((const struct channel *)b)->name);
}

const struct channel *channel_set_find(const struct channel_set *s, const char *name)
{
    struct channel key;

    if (!s || !s->n || !name || strlen(name) > CHANNEL_NAME_MAX)
        return NULL;
    snprintf(key.name, sizeof key.name, "%s", name);
    return bsearch(&key, s->items, s->n, sizeof *s->items, by_name);
}

/* ---- reading members ---- */

/* "channels.NAME.MEMBER" into BUF, cut to the room err->field has. */
static const char *path3(char *buf, const char *a, const char *b, const char *c)
{
    snprintf(buf, PATH_LEN, "%s%s%s%s%s", a, b ? "." : "", b ? b : "", c ? "." : "", c ? c : "");
    return buf;
}

static int type_error(const char *path, const char *want, struct err *err)
{
    return err_set(err, CHIME_EINVAL, path, "%s must be %s", path, want);
}

static int dup_text(const json_t *v, const char *path, bool crlf_ok, char **ret, struct err *err)
{
    const char *s;

    if (!json_is_string(v))
        return type_error(path, "a string", err);
    s = json_string_value(v);
    if (!*s)
        return err_set(err, CHIME_EINVAL, path, "%s is empty", path);
    if (strlen(s) != json_string_length(v))
        return err_set(err, CHIME_EINVAL, path, "%s holds a NUL byte", path);
    if (!crlf_ok && strpbrk(s, "\r\n"))
        return err_set(err, CHIME_EINVAL, path, "%s holds a line break", path);
    if (!(*ret = strdup(s)))
        return err_set(err, CHIME_ENOMEM, path, "out of memory");
    return 0;
}

static int read_duration(const json_t *v, const char *path, int64_t *ret, struct err *err)
{
    int64_t us;
    int rc;

    if (json_is_integer(v)) {
        if (json_integer_value(v) <= 0 || json_integer_value(v) > TIMEOUT_MAX_US / 1000000)
            return err_set(err, CHIME_ERANGE, path, "'%lld' is out of range 1-600 seconds",
                           (long long)json_integer_value(v));
        *ret = json_integer_value(v) * 1000000;
        return 0;
    }
    if (!json_is_string(v))
        return type_error(path, "a duration (\"10s\") or seconds", err);
    rc = units_duration_parse(json_string_value(v), path, &us, err);
    if (rc < 0)
        return rc;
    if (us <= 0)
        return err_set(err, CHIME_ERANGE, path, "%s must be more than 0", path);
    *ret = us;
    return 0;
}

/* A file's contents, for secret_file and password_file: at most
 * SECRET_MAX bytes, without a trailing newline. */
static int read_secret_file(const json_t *v, const char *path, const char *base_dir,
                            char **ret, size_t *ret_len, struct err *err)
{
    char full[4096], *buf = NULL;
    const char *name;
    struct stat st;
    ssize_t n;
    int fd;

    if (!json_is_string(v) || !*json_string_value(v))
        return type_error(path, "a file name", err);
    name = json_string_value(v);
    if (name[0] != '/' && base_dir)
        snprintf(full, sizeof full, "%s/%s", base_dir, name);
    else
        snprintf(full, sizeof full, "%s", name);
    /* non-blocking: a FIFO with no writer must not hang a start or a SIGHUP */
    fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return err_set(err, CHIME_EINVAL, path, "cannot read '%.200s': %s", full,
                       strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, CHIME_EINVAL, path, "'%.200s' is not a regular file", full);
    }
    buf = malloc(SECRET_MAX + 1);
    n = buf ? read(fd, buf, SECRET_MAX + 1) : -1;
    close(fd);
    if (n < 0 || n > SECRET_MAX) {
        free(buf);
        return err_set(err, CHIME_EINVAL, path, "'%.200s' %s", full,
                       n < 0 ? "cannot be read" : "is longer than 4096 bytes");
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (n == 0 || memchr(buf, '\0', (size_t)n)) {
        free(buf);
        return err_set(err, CHIME_EINVAL, path, "'%.200s' is empty or holds a NUL byte", full);
    }
    *ret = buf;
    *ret_len = (size_t)n;
    return 0;
}

static int read_retry(const json_t *v, const char *path, struct channel_retry *r,
                      struct err *err)
{
    const char *key;
    json_t *m;
    char sub[PATH_LEN];
    int rc;

    if (!json_is_object(v))
        return type_error(path, "an object", err);
    json_object_foreach((json_t *)v, key, m) {
        snprintf(sub, sizeof sub, "%s.%s", path, key);
        if (!strcmp(key, "max_attempts")) {
            if (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > 100)
                return err_set(err, CHIME_ERANGE, sub, "max_attempts must be a whole number"
                               " from 1 to 100");
            r->max_attempts = (int)json_integer_value(m);
        } else if (!strcmp(key, "backoff") || !strcmp(key, "max_backoff")) {
            int64_t us;

            if (json_is_integer(m)) {
                if (json_integer_value(m) <= 0 || json_integer_value(m) > INT64_C(7) * 86400)
                    return err_set(err, CHIME_ERANGE, sub, "%s is out of range", key);
                us = json_integer_value(m) * 1000000;
            } else if (!json_is_string(m)) {
                return type_error(sub, "a duration", err);
            } else if ((rc = units_duration_parse(json_string_value(m), sub, &us, err)) < 0) {
                return rc;
            } else if (us <= 0 || us > INT64_C(7) * 86400 * 1000000) {
                return err_set(err, CHIME_ERANGE, sub, "%s must be from 1ms to 7d", key);
            }
            if (key[0] == 'b')
                r->backoff_us = us;
            else
                r->max_backoff_us = us;
        } else if (!strcmp(key, "factor")) {
            if (!json_is_number(m) || json_number_value(m) < 1 || json_number_value(m) > 10)
                return err_set(err, CHIME_ERANGE, sub, "factor must be a number from 1 to 10");
            r->factor = json_number_value(m);
        } else if (!strcmp(key, "jitter")) {
            if (!json_is_number(m) || json_number_value(m) < 0 || json_number_value(m) > 1)
                return err_set(err, CHIME_ERANGE, sub, "jitter must be a number from 0 to 1");
            r->jitter = json_number_value(m);
        } else {
            return err_set(err, CHIME_EINVAL, sub, "unknown member '%.40s' (max_attempts,"
                           " backoff, factor, max_backoff, jitter)", key);
        }
    }
    if (r->max_backoff_us < r->backoff_us)
        r->max_backoff_us = r->backoff_us;
    return 0;
}

/* The defaults every channel starts from. */
struct defaults {
    int64_t timeout_us, connect_timeout_us;
    struct channel_retry retry;
};

static int read_defaults(const json_t *v, struct defaults *d, struct err *err)
{
    const char *key;
    json_t *m;
    char sub[PATH_LEN];
    int rc;

    if (!json_is_object(v))
        return type_error("defaults", "an object", err);
    json_object_foreach((json_t *)v, key, m) {
        snprintf(sub, sizeof sub, "defaults.%s", key);
        if (!strcmp(key, "timeout"))
            rc = read_duration(m, sub, &d->timeout_us, err);
        else if (!strcmp(key, "connect_timeout"))
            rc = read_duration(m, sub, &d->connect_timeout_us, err);
        else if (!strcmp(key, "retry"))
            rc = read_retry(m, sub, &d->retry, err);
        else
            rc = err_set(err, CHIME_EINVAL, sub, "unknown member '%.40s' (timeout,"
                         " connect_timeout, retry)", key);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- urls ---- */

/* URL's scheme must be one of the kind's; it must name a host. */
static int check_url(const char *url, enum channel_kind kind, const char *path, struct err *err)
{
    static const char *const schemes[CHANNEL_KIND_COUNT][2] = {
        { "http", "https" }, { "http", "https" }, { "smtp", "smtps" },
    };
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, q[80];
    int rc = 0;

    if (!u)
        return err_set(err, CHIME_ENOMEM, path, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        rc = err_set(err, CHIME_EINVAL, path, "'%s' is not a url",
                     err_quote(url, strlen(url), q, sizeof q));
        goto done;
    }
    if (strcasecmp(scheme, schemes[kind][0]) != 0 && strcasecmp(scheme, schemes[kind][1]) != 0) {
        rc = err_set(err, CHIME_EINVAL, path, "'%s' is not a %s:// or %s:// url (a %s channel)",
                     err_quote(url, strlen(url), q, sizeof q), schemes[kind][0], schemes[kind][1],
                     kind_names[kind]);
        goto done;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
        rc = err_set(err, CHIME_EINVAL, path, "'%s' names no host",
                     err_quote(url, strlen(url), q, sizeof q));
done:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* ---- one channel ---- */

/* Which kinds a member belongs to (a bit per kind). */
enum { W = 1 << CHANNEL_WEBHOOK, S = 1 << CHANNEL_SLACK, E = 1 << CHANNEL_EMAIL, ALL = W | S | E };

static const struct {
    const char *name;
    int kinds;
} members[] = {
    { "kind", ALL },        { "url", ALL },           { "timeout", ALL },
    { "connect_timeout", ALL }, { "retry", ALL },     { "namespaces", ALL },
    { "secret", W },        { "secret_file", W },     { "headers", W | S },
    { "from", E },          { "to", E },              { "subject", E },
    { "username", E },      { "password", E },        { "password_file", E },
    { "starttls", E },
};

static int read_strv(const json_t *v, const char *path, size_t max, bool names, char ***ret,
                     size_t *ret_n, struct err *err)
{
    size_t n = json_array_size(v), i;
    char **out;
    char q[80];
    int rc;

    if (!json_is_array(v) || n == 0)
        return type_error(path, "a non-empty array of strings", err);
    if (n > max)
        return err_set(err, CHIME_ETOOBIG, path, "%zu items are more than %zu", n, max);
    if (!(out = calloc(n, sizeof *out)))
        return err_set(err, CHIME_ENOMEM, path, "out of memory");
    for (i = 0; i < n; i++) {
        /* !out[i] repeats rc < 0 for the analyzer, which cannot see that
         * err_set (in err.c) always returns < 0 */
        if ((rc = dup_text(json_array_get(v, i), path, false, &out[i], err)) < 0 || !out[i])
            goto fail;
        if (names && (rc = name_check(out[i], strlen(out[i]), 0, "namespace name", path, err)) < 0)
            goto fail;
        if (!names && (!strchr(out[i], '@') || strpbrk(out[i], "<>, \t"))) {
            rc = err_set(err, CHIME_EINVAL, path, "'%s' is not a mail address",
                         err_quote(out[i], strlen(out[i]), q, sizeof q));
            goto fail;
        }
    }
    *ret = out;
    *ret_n = n;
    return 0;
fail:
    free_strv(out, n);
    return rc;
}

static bool header_name_ok(const char *s)
{
    static const char *const reserved[] = { "content-type", "content-length", "host",
                                            "transfer-encoding", "user-agent" };

    if (!*s || strlen(s) > 64 || strncasecmp(s, "x-chime-", 8) == 0)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
              || *p == '-' || *p == '_'))
            return false;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (!strcasecmp(s, reserved[i]))
            return false;
    return true;
}

static int read_headers(const json_t *v, const char *path, struct channel *c, struct err *err)
{
    const char *key;
    json_t *m;
    char q[80];
    int rc;

    if (!json_is_object(v))
        return type_error(path, "an object of header names and values", err);
    if (json_object_size(v) > HEADERS_MAX)
        return err_set(err, CHIME_ETOOBIG, path, "more than %d headers", HEADERS_MAX);
    c->headers = calloc(json_object_size(v) + 1, sizeof *c->headers);
    if (!c->headers)
        return err_set(err, CHIME_ENOMEM, path, "out of memory");
    json_object_foreach((json_t *)v, key, m) {
        struct channel_header *h = &c->headers[c->n_headers];

        if (!header_name_ok(key))
            return err_set(err, CHIME_EINVAL, path, "'%s' is not a header a channel may set",
                           err_quote(key, strlen(key), q, sizeof q));
        if (!(h->name = strdup(key)))
            return err_set(err, CHIME_ENOMEM, path, "out of memory");
        c->n_headers++;
        if ((rc = dup_text(m, path, false, &h->value, err)) < 0)
            return rc;
    }
    return 0;
}

static int read_channel(const char *name, const json_t *v, const struct defaults *d,
                        const char *base_dir, struct channel *c, struct err *err)
{
    const json_t *kind = json_object_get(v, "kind"), *url = json_object_get(v, "url");
    char path[PATH_LEN], q[80];
    const char *key;
    json_t *m;
    int rc, bit;

    path3(path, "channels", name, NULL);
    if ((rc = name_check(name, strlen(name), 0, "channel name", path, err)) < 0)
        return rc;
    snprintf(c->name, sizeof c->name, "%s", name);
    if (!json_is_object(v))
        return type_error(path, "an object", err);
    if (!kind)
        return err_set(err, CHIME_EINVAL, path3(path, "channels", name, "kind"),
                       "kind is missing (webhook, slack or email)");
    for (c->kind = 0; c->kind < CHANNEL_KIND_COUNT; c->kind++)
        if (json_is_string(kind) && !strcmp(json_string_value(kind), kind_names[c->kind]))
            break;
    if (c->kind == CHANNEL_KIND_COUNT)
        return err_set(err, CHIME_EINVAL, path3(path, "channels", name, "kind"),
                       "unknown kind '%s' (webhook, slack or email)",
                       json_is_string(kind) ? err_quote(json_string_value(kind), 40, q, sizeof q)
                                            : "(not a string)");
    bit = 1 << c->kind;
    if (!url)
        return err_set(err, CHIME_EINVAL, path3(path, "channels", name, "url"),
                       "url is missing");
    c->timeout_us = d->timeout_us;
    c->connect_timeout_us = d->connect_timeout_us;
    c->retry = d->retry;
    json_object_foreach((json_t *)v, key, m) {
        size_t i;

        path3(path, "channels", name, key);
        for (i = 0; i < sizeof members / sizeof members[0]; i++)
            if (!strcmp(members[i].name, key))
                break;
        if (i == sizeof members / sizeof members[0])
            return err_set(err, CHIME_EINVAL, path, "unknown member '%s'",
                           err_quote(key, strlen(key), q, sizeof q));
        if (!(members[i].kinds & bit))
            return err_set(err, CHIME_EINVAL, path, "%s is not a member of a %s channel", key,
                           kind_names[c->kind]);
        rc = 0;
        if (!strcmp(key, "kind")) {
            continue;
        } else if (!strcmp(key, "url")) {
            if ((rc = dup_text(m, path, false, &c->url, err)) == 0)
                rc = check_url(c->url, c->kind, path, err);
        } else if (!strcmp(key, "timeout")) {
            rc = read_duration(m, path, &c->timeout_us, err);
        } else if (!strcmp(key, "connect_timeout")) {
            rc = read_duration(m, path, &c->connect_timeout_us, err);
        } else if (!strcmp(key, "retry")) {
            rc = read_retry(m, path, &c->retry, err);
        } else if (!strcmp(key, "namespaces")) {
            rc = read_strv(m, path, NAMESPACES_MAX, true, &c->namespaces, &c->n_namespaces, err);
        } else if (!strcmp(key, "secret") || !strcmp(key, "secret_file")) {
            char *s = NULL;
            size_t len = 0;

            if (c->secret)
                return err_set(err, CHIME_EINVAL, path, "give secret or secret_file, not both");
            if (key[6] == '_')
                rc = read_secret_file(m, path, base_dir, &s, &len, err);
            else if ((rc = dup_text(m, path, true, &s, err)) == 0 && s) /* s: as in read_strv */
                len = strlen(s);
            c->secret = (unsigned char *)s;
            c->secret_len = len;
            if (rc == 0 && len > SECRET_MAX)
                rc = err_set(err, CHIME_ETOOBIG, path, "the secret is longer than 4096 bytes");
        } else if (!strcmp(key, "headers")) {
            rc = read_headers(m, path, c, err);
        } else if (!strcmp(key, "from")) {
            if ((rc = dup_text(m, path, false, &c->from, err)) == 0
                && (!strchr(c->from, '@') || strpbrk(c->from, "<>, \t")))
                rc = err_set(err, CHIME_EINVAL, path, "'%s' is not a mail address",
                             err_quote(c->from, strlen(c->from), q, sizeof q));
        } else if (!strcmp(key, "to")) {
            rc = read_strv(m, path, RECIPIENTS_MAX, false, &c->to, &c->n_to, err);
        } else if (!strcmp(key, "subject")) {
            rc = dup_text(m, path, false, &c->subject, err);
        } else if (!strcmp(key, "username")) {
            rc = dup_text(m, path, false, &c->username, err);
        } else if (!strcmp(key, "password") || !strcmp(key, "password_file")) {
            size_t len;

            if (c->password)
                return err_set(err, CHIME_EINVAL, path, "give password or password_file, not"
                               " both");
            rc = key[8] == '_' ? read_secret_file(m, path, base_dir, &c->password, &len, err)
                               : dup_text(m, path, false, &c->password, err);
        } else if (!strcmp(key, "starttls")) {
            if (!json_is_boolean(m))
                return type_error(path, "true or false", err);
            c->starttls = json_is_true(m);
        }
        if (rc < 0)
            return rc;
    }
    if (c->kind == CHANNEL_EMAIL) {
        if (!c->from)
            return err_set(err, CHIME_EINVAL, path3(path, "channels", name, "from"),
                           "from is missing (an email channel needs a sender)");
        if (!c->to)
            return err_set(err, CHIME_EINVAL, path3(path, "channels", name, "to"),
                           "to is missing (an email channel needs recipients)");
        if (!c->password != !c->username)
            return err_set(err, CHIME_EINVAL, path3(path, "channels", name, "username"),
                           "username and password go together");
    }
    return 0;
}

/* The "daemon" member: the channels that hear the daemon's own events,
 * each a channel of the file, named once. Read after the channels. */
static int read_daemon(const json_t *v, struct channel_set *s, struct err *err)
{
    size_t n = json_array_size(v);
    char path[PATH_LEN], q[80];

    if (!json_is_array(v))
        return type_error("daemon", "an array of channel names", err);
    if (n > CHANNEL_COUNT_MAX)
        return err_set(err, CHIME_ETOOBIG, "daemon", "more than %d channels", CHANNEL_COUNT_MAX);
    if (n && !(s->daemon = calloc(n, sizeof(const struct channel *))))
        return err_set(err, CHIME_ENOMEM, "daemon", "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(v, i);
        const char *name = json_string_value(m);
        const struct channel *c;

        snprintf(path, sizeof path, "daemon[%zu]", i);
        if (!name || strlen(name) != json_string_length(m))
            return type_error(path, "a channel name (a string)", err);
        if (!(c = channel_set_find(s, name)))
            return err_set(err, CHIME_EINVAL, path, "'%s' is not a channel of this file",
                           err_quote(name, strlen(name), q, sizeof q));
        for (size_t k = 0; k < s->n_daemon; k++)
            if (s->daemon[k] == c)
                return err_set(err, CHIME_EINVAL, path, "'%s' is listed twice", c->name);
        s->daemon[s->n_daemon++] = c;
    }
    return 0;
}

/* ---- the file ---- */

int channel_set_empty(struct channel_set **ret, struct err *err)
{
    struct channel_set *s = calloc(1, sizeof *s);

    if (!s)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    s->refs = 1;
    *ret = s;
    return 0;
}

int channel_set_parse(const char *text, size_t len, const char *base_dir,
                      struct channel_set **ret, struct err *err)
{
    struct defaults d = { INT64_C(10) * 1000000, INT64_C(5) * 1000000, retry_defaults };
    struct channel_set *s = NULL;
    json_error_t jerr;
    json_t *doc, *chans, *m;
    const char *key;
    int rc = 0;

    if (len > CHANNEL_FILE_MAX)
        return err_set(err, CHIME_ETOOBIG, "", "the channels file is larger than 1M");
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return err_set(err, CHIME_EINVAL, "", "line %d, column %d: %s", jerr.line, jerr.column,
                       jerr.text);
    if (!json_is_object(doc)) {
        rc = type_error("channels", "an object with a \"channels\" member", err);
        goto done;
    }
    json_object_foreach(doc, key, m) {
        if (strcmp(key, "channels") != 0 && strcmp(key, "defaults") != 0
            && strcmp(key, "daemon") != 0) {
            char q[80];

            rc = err_set(err, CHIME_EINVAL, "", "unknown member '%s' (channels, defaults,"
                         " daemon)", err_quote(key, strlen(key), q, sizeof q));
            goto done;
        }
    }
    if ((m = json_object_get(doc, "defaults")) && (rc = read_defaults(m, &d, err)) < 0)
        goto done;
    chans = json_object_get(doc, "channels");
    if (!json_is_object(chans)) {
        rc = type_error("channels", "an object of channels by name", err);
        goto done;
    }
    if (json_object_size(chans) > CHANNEL_COUNT_MAX) {
        rc = err_set(err, CHIME_ETOOBIG, "channels", "more than %d channels", CHANNEL_COUNT_MAX);
        goto done;
    }
    if ((rc = channel_set_empty(&s, err)) < 0 || !s) /* !s: as in read_strv */
        goto done;
    s->items = calloc(json_object_size(chans) + 1, sizeof *s->items);
    if (!s->items) {
        rc = err_set(err, CHIME_ENOMEM, NULL, "out of memory");
        goto done;
    }
    json_object_foreach(chans, key, m) {
        rc = read_channel(key, m, &d, base_dir, &s->items[s->n], err);
        s->n++;
        if (rc < 0)
            goto done;
    }
    qsort(s->items, s->n, sizeof *s->items, by_name);
    if ((m = json_object_get(doc, "daemon")) && (rc = read_daemon(m, s, err)) < 0)
        goto done;
    *ret = s;
    s = NULL;
done:
    channel_set_free(s);
    json_decref(doc);
    return rc;
}

int channel_set_load(const char *path, struct channel_set **ret, struct err *err)
{
    char *text = NULL, *dir = NULL, *slash;
    size_t len = 0, cap = 0;
    FILE *f = fopen(path, "re");
    int rc;

    if (!f)
        return err_set(err, errno == ENOENT ? CHIME_ENOTFOUND : CHIME_EIO, "channels",
                       "cannot read '%.200s': %s", path, strerror(errno));
    for (;;) {
        size_t n;

        if (len == cap) {
            char *more = cap > CHANNEL_FILE_MAX ? NULL : realloc(text, cap = cap ? 2 * cap : 8192);

            if (!more) {
                fclose(f);
                free(text);
                return err_set(err, CHIME_ETOOBIG, "channels", "'%.200s' is larger than 1M",
                               path);
            }
            text = more;
        }
        n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    dir = strdup(path);
    slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *slash = '\0';
    rc = channel_set_parse(text, len, slash ? dir : NULL, ret, err);
    if (rc < 0 && err) {
        size_t used = strnlen(err->msg, sizeof err->msg - 1);

        /* "in FILE" after the message: the field says where in it */
        snprintf(err->msg + used, sizeof err->msg - used, " (in %.120s)", path);
        if (!err->field[0])
            snprintf(err->field, sizeof err->field, "channels");
    }
    free(text);
    free(dir);
    return rc;
}

/* ---- jobs ---- */

static const char *const event_members[JOB_ON_COUNT] = {
#define X(id, name, ...) [JOB_ON_##id] = "on_" name,
    STORE_JOB_EVENTS(X)
#undef X
};

int channel_set_check_job(const struct channel_set *s, const struct job *j, struct err *err)
{
    if (!j->body)
        return 0;
    for (int ev = 0; ev < JOB_ON_COUNT; ev++) {
        char **names = j->body->notify[ev];

        for (size_t i = 0; names && names[i]; i++) {
            const struct channel *c = channel_set_find(s, names[i]);
            char path[PATH_LEN], q[80];
            bool allowed = !c || !c->namespaces;

            snprintf(path, sizeof path, "notify.%s[%zu]", event_members[ev], i);
            for (size_t k = 0; c && c->namespaces && k < c->n_namespaces; k++)
                allowed = allowed || !strcmp(c->namespaces[k], j->ns);
            if (!c && channel_set_count(s) == 0)
                return err_set(err, CHIME_EINVAL, path, "'%s' is not a channel: none are"
                               " defined (chime serve --channels FILE)",
                               err_quote(names[i], strlen(names[i]), q, sizeof q));
            if (!c)
                return err_set(err, CHIME_EINVAL, path, "'%s' is not a channel (GET"
                               " /api/v1/channels lists them)",
                               err_quote(names[i], strlen(names[i]), q, sizeof q));
            if (!allowed)
                /* as unknown: a namespace does not learn of others' channels */
                return err_set(err, CHIME_EINVAL, path, "'%s' is not a channel of namespace"
                               " '%s'", err_quote(names[i], strlen(names[i]), q, sizeof q),
                               j->ns);
        }
    }
    return 0;
}
