/* redact.c: the output's secret filter (see redact.h).
 *
 * A feed appends the new bytes to the ones held back (PEND), runs every
 * secret's automaton over the new bytes only, and marks each match's span
 * (a difference array: +1 at its start, -1 past its end, so overlapping
 * matches cost one step each). The automaton states say how long the
 * longest unfinished match is: that many bytes at the end stay held, with
 * their marks; everything before them is final, since no match found
 * later can start before them. A covered run becomes one marker, also when
 * it goes on across feeds (LAST_COVERED). */
#include "exec/redact.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "../banned.h"

struct pattern {
    char *s;
    size_t len;
    size_t *fail;   /* fail[i]: the longest proper prefix of s[0..i] that ends it */
    size_t state;   /* bytes of s matched at the end of what was fed */
};

struct exec_redact {
    struct pattern *p;
    size_t n;
    size_t hold_max;        /* longest secret - 1 */
    char *buf;              /* held bytes, then the feed's new ones */
    unsigned char *mask;    /* per byte of buf: covered by a match */
    int32_t *diff;          /* per byte of buf, and one past */
    size_t len, cap;        /* of buf, mask and diff */
    char *out;              /* the filtered bytes of one feed */
    size_t out_len, out_cap;
    bool last_covered;      /* the last byte emitted was part of a marker's run */
    bool failed;            /* out of memory once: markers only from then on */
};

static void pattern_fail(struct pattern *p)
{
    size_t k = 0;

    p->fail[0] = 0;
    for (size_t i = 1; i < p->len; i++) {
        while (k > 0 && p->s[i] != p->s[k])
            k = p->fail[k - 1];
        if (p->s[i] == p->s[k])
            k++;
        p->fail[i] = k;
    }
}

int exec_redact_new(const char *const *secrets, const size_t *lens, size_t n,
                    struct exec_redact **ret, struct err *err)
{
    struct exec_redact *r = calloc(1, sizeof *r);

    if (!r || !(r->p = calloc(n ? n : 1, sizeof *r->p)))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        struct pattern *p = &r->p[r->n];

        if (lens[i] == 0)
            continue;
        p->len = lens[i];
        p->s = malloc(p->len);
        p->fail = malloc(p->len * sizeof *p->fail);
        r->n++;
        if (!p->s || !p->fail)
            goto nomem;
        memcpy(p->s, secrets[i], p->len);
        pattern_fail(p);
        if (p->len - 1 > r->hold_max)
            r->hold_max = p->len - 1;
    }
    *ret = r;
    return 0;
nomem:
    exec_redact_free(r);
    return err_set(err, CHIME_ENOMEM, "", "out of memory for the output's secret filter");
}

void exec_redact_free(struct exec_redact *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (r->p[i].s)
            memset(r->p[i].s, 0, r->p[i].len);
        free(r->p[i].s);
        free(r->p[i].fail);
    }
    free(r->p);
    if (r->buf)
        memset(r->buf, 0, r->cap);
    free(r->buf);
    free(r->mask);
    free(r->diff);
    if (r->out)
        memset(r->out, 0, r->out_cap);
    free(r->out);
    free(r);
}

size_t exec_redact_hold_max(const struct exec_redact *r)
{
    return r->hold_max;
}

static bool grow(struct exec_redact *r, size_t need)
{
    size_t cap = r->cap ? r->cap : 4096;
    char *b;
    unsigned char *m;
    int32_t *d;

    if (need <= r->cap)
        return true;
    while (cap < need)
        cap *= 2;
    if (!(b = realloc(r->buf, cap)))
        return false;
    r->buf = b;
    if (!(m = realloc(r->mask, cap)))
        return false;
    r->mask = m;
    if (!(d = realloc(r->diff, (cap + 1) * sizeof *d)))
        return false;
    r->diff = d;
    r->cap = cap;
    return true;
}

static bool out_put(struct exec_redact *r, const char *data, size_t len)
{
    if (r->out_len + len > r->out_cap) {
        size_t cap = r->out_cap ? r->out_cap : 4096;
        char *o;

        while (cap < r->out_len + len)
            cap *= 2;
        if (!(o = realloc(r->out, cap)))
            return false;
        r->out = o;
        r->out_cap = cap;
    }
    memcpy(r->out + r->out_len, data, len);
    r->out_len += len;
    return true;
}

/* Emits the first N bytes of buf by their marks, and keeps the rest. */
static void emit_upto(struct exec_redact *r, size_t n, exec_redact_emit *emit, void *arg)
{
    size_t i = 0;
    bool ok = true;

    r->out_len = 0;
    while (ok && i < n) {
        size_t k = i;

        if (r->mask[i]) {
            while (k < n && r->mask[k])
                k++;
            if (!r->last_covered)
                ok = out_put(r, EXEC_REDACT_MARKER, sizeof EXEC_REDACT_MARKER - 1);
            r->last_covered = true;
        } else {
            while (k < n && !r->mask[k])
                k++;
            ok = out_put(r, r->buf + i, k - i);
            r->last_covered = false;
        }
        i = k;
    }
    if (!ok) {
        /* no memory for the filtered copy: say that much, never the bytes */
        r->failed = true;
        emit(arg, EXEC_REDACT_MARKER, sizeof EXEC_REDACT_MARKER - 1);
    } else if (r->out_len) {
        emit(arg, r->out, r->out_len);
    }
    memmove(r->buf, r->buf + n, r->len - n);
    memmove(r->mask, r->mask + n, r->len - n);
    r->len -= n;
}

int exec_redact_feed(struct exec_redact *r, const char *data, size_t len, exec_redact_emit *emit,
                     void *arg)
{
    size_t old = r->len, hold = 0;
    int32_t run = 0;

    if (len == 0)
        return 0;
    if (r->failed || !grow(r, old + len)) {
        r->failed = true;
        r->len = 0;
        for (size_t i = 0; i < r->n; i++)
            r->p[i].state = 0;
        emit(arg, EXEC_REDACT_MARKER, sizeof EXEC_REDACT_MARKER - 1);
        return -CHIME_ENOMEM;
    }
    memcpy(r->buf + old, data, len);
    memset(r->mask + old, 0, len);
    memset(r->diff, 0, (old + len + 1) * sizeof *r->diff);
    r->len = old + len;
    for (size_t k = 0; k < r->n; k++) {
        struct pattern *p = &r->p[k];
        size_t q = p->state;

        for (size_t i = old; i < r->len; i++) {
            char c = r->buf[i];

            while (q > 0 && p->s[q] != c)
                q = p->fail[q - 1];
            if (p->s[q] == c)
                q++;
            if (q == p->len) {
                /* a match ends at i: it started within buf (see the top) */
                r->diff[i + 1 - p->len]++;
                r->diff[i + 1]--;
                q = p->fail[q - 1];
            }
        }
        p->state = q;
        if (q > hold)
            hold = q;
    }
    for (size_t i = 0; i < r->len; i++) {
        run += r->diff[i];
        if (run > 0)
            r->mask[i] = 1;
    }
    emit_upto(r, r->len - hold, emit, arg);
    return 0;
}

void exec_redact_flush(struct exec_redact *r, exec_redact_emit *emit, void *arg)
{
    for (size_t i = 0; i < r->n; i++)
        r->p[i].state = 0;
    if (r->len)
        emit_upto(r, r->len, emit, arg);
}
