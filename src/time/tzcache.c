/* tzcache.c: where zones come from: a name under $TZDIR (or
 * /usr/share/zoneinfo), a path, $TZ (a file, a name, or a POSIX rule) or
 * /etc/localtime, each read and parsed by tz.c once.
 *
 * Zones loaded by name, path or $TZ live in a global cache for the life of
 * the process. Only the cache takes a mutex; tz_info_at() and
 * tz_local_to_utc() read an immutable zone and never allocate. */
#include "time/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "time/tz_int.h"
#include "util/err.h"
#include "../banned.h"

#define TZ_NAME_MAX 255             /* bytes in a zone name */
#define TZ_CACHE_MAX 4096           /* zones loaded per process */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_LOCALTIME "/etc/localtime"

enum cache_kind {
    CACHE_PATH,                     /* a file: $TZDIR/name, $TZ, /etc/localtime */
    CACHE_RULE,                     /* a POSIX rule in $TZ */
    CACHE_UTC,                      /* the built-in UTC */
};

struct cache_entry {
    enum cache_kind kind;
    char *key;
    struct tz *zone;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[TZ_CACHE_MAX];
static size_t cache_len;

static int unknown(struct err *err, const char *name)
{
    char q[QUOTE_LEN];

    err_set(err, CHIME_ENOTFOUND, "timezone", "unknown time zone '%s'",
            tz_quote(name, q, sizeof q));
    return -CHIME_ENOTFOUND;
}

/* Relative path components of [A-Za-z0-9_+.-], none empty, "." or "..". */
static bool name_valid(const char *name)
{
    size_t len = strnlen(name, TZ_NAME_MAX + 1), i, comp = 0;

    if (len == 0 || len > TZ_NAME_MAX)
        return false;
    for (i = 0; i <= len; i++) {
        char c = name[i];

        if (c == '/' || c == '\0') {
            if (comp == 0 || (comp == 1 && name[i - 1] == '.') ||
                (comp == 2 && name[i - 1] == '.' && name[i - 2] == '.'))
                return false;
            comp = 0;
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                   (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '.' || c == '-') {
            comp++;
        } else {
            return false;
        }
    }
    return true;
}

/* Reads the regular file at PATH, at most TZ_FILE_MAX bytes, into an owned
 * buffer. NAME is for messages. */
static int read_file(const char *path, const char *name, unsigned char **ret,
                     size_t *ret_len, struct err *err)
{
    unsigned char *buf = NULL, *grown;
    size_t len = 0, cap;
    char q[QUOTE_LEN], why[128];
    struct stat st;
    ssize_t got;
    int fd, rc = 0;

    /* O_NONBLOCK: a FIFO in the zone directory must not hang the caller */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENAMETOOLONG)
            return unknown(err, name);
        goto io_error;
    }
    if (fstat(fd, &st) < 0)
        goto io_error;
    if (!S_ISREG(st.st_mode)) {
        rc = unknown(err, name);
        goto done;
    }
    if (st.st_size < 0 || st.st_size > TZ_FILE_MAX) {
        rc = tz_bad(err, name, "larger than 1 MiB");
        goto done;
    }
    cap = (size_t)st.st_size + 1;   /* one more, to see the end */
    for (;;) {
        if (len == cap) {
            if (cap > TZ_FILE_MAX) {
                rc = tz_bad(err, name, "larger than 1 MiB");
                goto done;
            }
            cap = cap * 2 > TZ_FILE_MAX + 1 ? TZ_FILE_MAX + 1 : cap * 2;
            grown = realloc(buf, cap);
            if (!grown) {
                rc = tz_no_memory(err);
                goto done;
            }
            buf = grown;
        }
        if (!buf && !(buf = malloc(cap))) {
            rc = tz_no_memory(err);
            goto done;
        }
        got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto io_error;
        if (got == 0)
            break;
        len += (size_t)got;
    }
    *ret = buf;
    *ret_len = len;
    buf = NULL;
    goto done;

io_error:
    err_set(err, CHIME_EIO, "timezone", "cannot read time zone '%s': %s",
            tz_quote(name, q, sizeof q), strerror_r(errno, why, sizeof why));
    rc = -CHIME_EIO;
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

static int load_file(const char *path, const char *name, struct tz **ret, struct err *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int rc;

    rc = read_file(path, name, &data, &len, err);
    if (rc < 0)
        return rc;
    rc = tz_parse(name, data, len, ret, err);
    free(data);
    return rc;
}

static const struct tz *cache_find(enum cache_kind kind, const char *key)
{
    const struct tz *z = NULL;
    size_t i;

    pthread_mutex_lock(&cache_lock);
    for (i = 0; i < cache_len && !z; i++)
        if (cache[i].kind == kind && strcmp(cache[i].key, key) == 0)
            z = cache[i].zone;
    pthread_mutex_unlock(&cache_lock);
    return z;
}

/* Takes Z and caches it under KEY; when another thread was first, frees Z
 * and returns the cached zone. */
static int cache_add(enum cache_kind kind, const char *key, struct tz *z,
                     const struct tz **ret, struct err *err)
{
    const struct tz *found = NULL;
    char *copy = NULL;
    size_t i;
    int rc = 0;

    pthread_mutex_lock(&cache_lock);
    for (i = 0; i < cache_len && !found; i++)
        if (cache[i].kind == kind && strcmp(cache[i].key, key) == 0)
            found = cache[i].zone;
    if (found) {
        *ret = found;
    } else if (cache_len == TZ_CACHE_MAX) {
        rc = err_set(err, CHIME_ETOOBIG, "timezone", "more than %d time zones loaded",
                     TZ_CACHE_MAX);
    } else if (!(copy = strdup(key))) {
        rc = tz_no_memory(err);
    } else {
        cache[cache_len++] = (struct cache_entry){ kind, copy, z };
        *ret = z;
        z = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    tz_free(z);
    return rc;
}

/* The zone in the file at PATH, called NAME; cached by PATH, so that a
 * name and the absolute path of its file give the same zone. */
static int load_path(const char *path, const char *name, const struct tz **ret,
                     struct err *err)
{
    const struct tz *found = cache_find(CACHE_PATH, path);
    struct tz *z;
    int rc;

    if (found) {
        *ret = found;
        return 0;
    }
    rc = load_file(path, name, &z, err);
    if (rc < 0)
        return rc;
    return cache_add(CACHE_PATH, path, z, ret, err);
}

int tz_load(const char *name, const struct tz **ret, struct err *err)
{
    const char *dir = getenv("TZDIR");
    char path[PATH_MAX], q[QUOTE_LEN];
    int n;

    if (!name_valid(name))
        return err_set(err, CHIME_EINVAL, "timezone", "invalid time zone name '%s'",
                       tz_quote(name, q, sizeof q));
    if (!dir || !*dir)
        dir = TZ_DEFAULT_DIR;
    n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return err_set(err, CHIME_EINVAL, "timezone", "path of time zone '%s' is too long",
                       tz_quote(name, q, sizeof q));
    return load_path(path, name, ret, err);
}

/* "/usr/share/zoneinfo/Europe/Berlin" is called "Europe/Berlin". */
static const char *name_of_path(const char *path, const char *fallback)
{
    const char *p = path, *name = NULL;

    while ((p = strstr(p, "zoneinfo/")) != NULL) {
        p += strlen("zoneinfo/");
        name = p;
    }
    return name && *name ? name : fallback;
}

static int load_utc(const struct tz **ret, struct err *err)
{
    const struct tz *found = cache_find(CACHE_UTC, "UTC");
    struct tz *z;
    int rc;

    if (found) {
        *ret = found;
        return 0;
    }
    rc = tz_rule_zone("UTC", "UTC0", &z, err);
    if (rc < 0)
        return rc;
    return cache_add(CACHE_UTC, "UTC", z, ret, err);
}

/* $TZ without a leading '/': a zone name, else, as glibc falls back to, a
 * POSIX rule used at every instant ("<+03>-3", "EST5EDT,M3.2.0,M11.1.0"). */
static int load_tz_env(const char *tz, const struct tz **ret, struct err *err)
{
    const struct tz *found;
    struct tz *z;
    int rc;

    if (name_valid(tz)) {
        rc = tz_load(tz, ret, err);
        if (rc != -CHIME_ENOTFOUND)
            return rc;
    }
    found = cache_find(CACHE_RULE, tz);
    if (found) {
        *ret = found;
        return 0;
    }
    rc = tz_rule_zone(tz, tz, &z, err);
    if (rc < 0)
        return name_valid(tz) ? unknown(err, tz) : rc;
    return cache_add(CACHE_RULE, tz, z, ret, err);
}

int tz_system(const struct tz **ret, struct err *err)
{
    const char *tz = getenv("TZ");
    char target[PATH_MAX];
    ssize_t n;
    int rc;

    if (tz) {
        if (*tz == ':')
            tz++;
        if (*tz == '\0')            /* glibc: TZ="" is UTC */
            return load_utc(ret, err);
        if (*tz == '/')
            return load_path(tz, name_of_path(tz, tz), ret, err);
        return load_tz_env(tz, ret, err);
    }
    n = readlink(TZ_LOCALTIME, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    rc = load_path(TZ_LOCALTIME, name_of_path(target, "localtime"), ret, err);
    if (rc == -CHIME_ENOTFOUND)     /* no /etc/localtime: UTC, as glibc */
        return load_utc(ret, err);
    return rc;
}
