/* jsondiff.c: field-by-field differences of two JSON documents (see
 * jsondiff.h for what a change is and why arrays are whole values).
 *
 * The walk keeps the current path twice, as text for people and as a JSON
 * pointer, in two growing buffers that each level extends and then cuts
 * back, so no path is built more than once. Keys are visited in byte
 * order (the union of both objects' keys, sorted), which makes the output
 * independent of the order members were written in. */
#include "util/jsondiff.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/err.h"
#include "../banned.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII | JSON_SORT_KEYS)

/* A growing string. */
struct text {
    char *s;
    size_t len, cap;
};

struct walk {
    json_t *out;
    struct text path;    /* "schedule.cron" */
    struct text pointer; /* "/schedule/cron" */
};

static bool text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        char *p;

        while (cap < t->len + n + 1)
            cap *= 2;
        p = realloc(t->s, cap);
        if (!p)
            return false;
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
    return true;
}

/* Whether KEY can stand bare in a path: [A-Za-z_][A-Za-z0-9_-]*. */
static bool key_is_plain(const char *key, size_t n)
{
    if (n == 0 || !((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= 'A' && key[0] <= 'Z')
                    || key[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = key[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Appends KEY to both paths. */
static bool path_push(struct walk *w, const char *key, size_t n)
{
    if (key_is_plain(key, n)) {
        if ((w->path.len && !text_add(&w->path, ".", 1)) || !text_add(&w->path, key, n))
            return false;
    } else {
        json_t *k = json_stringn(key, n);
        char *q = k ? json_dumps(k, DUMP_FLAGS) : NULL;
        bool ok = q && text_add(&w->path, "[", 1) && text_add(&w->path, q, strlen(q))
                  && text_add(&w->path, "]", 1);

        free(q);
        json_decref(k);
        if (!ok)
            return false;
    }
    /* RFC 6901: '~' is "~0" and '/' is "~1" */
    if (!text_add(&w->pointer, "/", 1))
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *piece = key[i] == '~' ? "~0" : key[i] == '/' ? "~1" : NULL;

        if (!(piece ? text_add(&w->pointer, piece, 2) : text_add(&w->pointer, key + i, 1)))
            return false;
    }
    return true;
}

static bool add_change(struct walk *w, const char *op, const json_t *from, const json_t *to)
{
    json_t *c = json_pack("{s:s, s:s%, s:s%}", "op", op, "path", w->path.s ? w->path.s : "",
                          w->path.len, "pointer", w->pointer.s ? w->pointer.s : "",
                          w->pointer.len);

    if (!c)
        return false;
    if ((from && json_object_set(c, "from", (json_t *)from) < 0)
        || (to && json_object_set(c, "to", (json_t *)to) < 0)
        || json_array_append_new(w->out, c) < 0) {
        json_decref(c);
        return false;
    }
    return true;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool walk(struct walk *w, const json_t *from, const json_t *to);

/* Both are objects: member by member, keys sorted. */
static bool walk_object(struct walk *w, const json_t *from, const json_t *to)
{
    size_t n = json_object_size(from) + json_object_size(to), k = 0, i;
    const char **keys = n ? malloc(n * sizeof *keys) : NULL;
    const char *key;
    json_t *v;
    bool ok = true;

    if (n == 0)
        return true;    /* two empty objects (and no qsort of a NULL array) */
    if (!keys)
        return false;
    json_object_foreach((json_t *)from, key, v) keys[k++] = key;
    json_object_foreach((json_t *)to, key, v) if (!json_object_get(from, key)) keys[k++] = key;
    qsort(keys, k, sizeof *keys, key_cmp);
    for (i = 0; ok && i < k; i++) {
        size_t plen = w->path.len, qlen = w->pointer.len;
        const json_t *a = json_object_get(from, keys[i]), *b = json_object_get(to, keys[i]);

        if (a && b && json_equal((json_t *)a, (json_t *)b))
            continue;
        ok = path_push(w, keys[i], strlen(keys[i]));
        if (ok)
            ok = !a ? add_change(w, "added", NULL, b)
               : !b ? add_change(w, "removed", a, NULL)
                    : walk(w, a, b);
        w->path.len = plen;
        w->pointer.len = qlen;
        if (w->path.s)
            w->path.s[plen] = '\0';
        if (w->pointer.s)
            w->pointer.s[qlen] = '\0';
    }
    free(keys);
    return ok;
}

static bool walk(struct walk *w, const json_t *from, const json_t *to)
{
    if (json_equal((json_t *)from, (json_t *)to))
        return true;
    if (json_is_object(from) && json_is_object(to))
        return walk_object(w, from, to);
    return add_change(w, "changed", from, to);
}

int jsondiff_compute(const json_t *from, const json_t *to, json_t **ret, struct err *err)
{
    struct walk w = {.out = json_array()};
    bool ok;

    if (!from || !to) {
        json_decref(w.out);
        return err_set(err, CHIME_EINVAL, "", "nothing to compare");
    }
    ok = w.out && walk(&w, from, to);
    free(w.path.s);
    free(w.pointer.s);
    if (!ok) {
        json_decref(w.out);
        return err_set(err, CHIME_ENOMEM, "", "out of memory comparing documents");
    }
    *ret = w.out;
    return 0;
}

char *jsondiff_line(const json_t *change)
{
    const char *op = json_string_value(json_object_get(change, "op"));
    const char *path = json_string_value(json_object_get(change, "path"));
    const json_t *from = json_object_get(change, "from"), *to = json_object_get(change, "to");
    char *a = NULL, *b = NULL, *line = NULL, *safe = NULL;
    int n = -1;

    if (!op || !path)
        return NULL;
    if (!*path)
        path = "(the document)";
    /* a path from elsewhere (a daemon's answer) must not drive a terminal */
    if (!(safe = strdup(path)))
        return NULL;
    for (char *p = safe; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    path = safe;
    if (from && !(a = json_dumps(from, DUMP_FLAGS)))
        goto done;
    if (to && !(b = json_dumps(to, DUMP_FLAGS)))
        goto done;
    if (!strcmp(op, "changed") && a && b)
        n = asprintf(&line, "~ %s: %s -> %s", path, a, b);
    else if (!strcmp(op, "added") && b)
        n = asprintf(&line, "+ %s: %s", path, b);
    else if (!strcmp(op, "removed") && a)
        n = asprintf(&line, "- %s: %s", path, a);
    if (n < 0)
        line = NULL;
done:
    free(safe);
    free(a);
    free(b);
    return line;
}
