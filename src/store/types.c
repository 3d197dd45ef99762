/* types.c: the store's values: clearing and releasing what reads return,
 * and page cursors (the names of run states and reasons: vocab.c). */
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/err.h"
#include "../banned.h"

/* ---- values ---- */

void store_run_init(struct store_run *r)
{
    memset(r, 0, sizeof *r);
    r->started_us = STORE_NULL;
    r->finished_us = STORE_NULL;
    r->pid = STORE_NULL;
    r->holder_pid = STORE_NULL;
    r->exit_code = STORE_NULL;
    r->signal = STORE_NULL;
    r->cpu_user_ms = STORE_NULL;
    r->cpu_sys_ms = STORE_NULL;
    r->max_rss_kb = STORE_NULL;
    r->output_bytes = STORE_NULL;
}

void store_run_release(struct store_run *r)
{
    if (!r)
        return;
    free(r->error);
    free(r->node);
    free(r->triggered_by);
    store_run_init(r);
}

void store_token_release(struct store_token *t)
{
    if (!t)
        return;
    free(t->namespaces);
    free(t->created_by);
    memset(t, 0, sizeof *t);
}

void store_token_page_release(struct store_token_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        store_token_release(&p->items[i]);
    free(p->items);
    memset(p, 0, sizeof *p);
}

void store_audit_init(struct store_audit *a)
{
    memset(a, 0, sizeof *a);
    a->run_id = STORE_NULL;
    a->version_before = STORE_NULL;
    a->version_after = STORE_NULL;
}

void store_audit_release(struct store_audit *a)
{
    if (!a)
        return;
    free(a->token);
    free(a->address);
    free(a->method);
    free(a->route);
    free(a->target);
    store_audit_init(a);
}

void store_audit_page_release(struct store_audit_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        store_audit_release(&p->items[i]);
    free(p->items);
    memset(p, 0, sizeof *p);
}

void store_job_release(struct store_job *j)
{
    if (!j)
        return;
    free(j->doc);
    free(j->author);
    memset(j, 0, sizeof *j);
}

void store_job_page_release(struct store_job_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        store_job_release(&p->items[i]);
    free(p->items);
    memset(p, 0, sizeof *p);
}

void store_version_page_release(struct store_version_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].author);
    free(p->items);
    memset(p, 0, sizeof *p);
}

void store_run_page_release(struct store_run_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        store_run_release(&p->items[i]);
    free(p->items);
    memset(p, 0, sizeof *p);
}

void store_dead_page_release(struct store_dead_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].reason);
    free(p->items);
    memset(p, 0, sizeof *p);
}

size_t store_text_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);

    if (n <= max)
        return n;
    /* back off over continuation bytes (10xxxxxx) to a sequence's start */
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

void store_name_copy(char *dst, const char *s, size_t len)
{
    if (len > STORE_NAME_MAX)
        len = STORE_NAME_MAX;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* ---- cursors ---- */

static int bad_cursor(const char *c, struct err *err)
{
    char q[64];

    return err_set(err, CHIME_EINVAL, "cursor", "'%s' is not a cursor of this list",
                   err_quote(c, strlen(c), q, sizeof q));
}

/* A decimal int64 at *P, moving *P past it. */
static bool cursor_number(const char **p, int64_t *ret)
{
    char *end;
    long long v;

    if (!(**p == '-' || (**p >= '0' && **p <= '9')))
        return false;
    errno = 0;
    v = strtoll(*p, &end, 10);
    if (errno != 0 || end == *p)
        return false;
    *p = end;
    *ret = v;
    return true;
}

void store_cursor_pair(char *buf, int64_t a, int64_t b)
{
    snprintf(buf, STORE_CURSOR_MAX, "%" PRId64 ".%" PRId64, a, b);
}

int store_cursor_pair_parse(const char *c, int64_t *ret_a, int64_t *ret_b, struct err *err)
{
    const char *p = c;
    int64_t a, b;

    if (!cursor_number(&p, &a) || *p++ != '.' || !cursor_number(&p, &b) || *p)
        return bad_cursor(c, err);
    *ret_a = a;
    *ret_b = b;
    return 0;
}

void store_cursor_one(char *buf, int64_t a)
{
    snprintf(buf, STORE_CURSOR_MAX, "%" PRId64, a);
}

int store_cursor_one_parse(const char *c, int64_t *ret, struct err *err)
{
    const char *p = c;
    int64_t a;

    if (!cursor_number(&p, &a) || *p)
        return bad_cursor(c, err);
    *ret = a;
    return 0;
}

static char *hex_put(char *o, const char *s)
{
    static const char digits[] = "0123456789abcdef";

    for (; *s; s++) {
        *o++ = digits[(unsigned char)*s >> 4];
        *o++ = digits[(unsigned char)*s & 15];
    }
    return o;
}

void store_cursor_names(char *buf, const char *ns, const char *name)
{
    /* 2 * 2 * STORE_NAME_MAX + 2 bytes fit in STORE_CURSOR_MAX */
    char *o = hex_put(buf, ns);

    *o++ = '.';
    o = hex_put(o, name);
    *o = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes hex at *P up to STOP into DST (a name); false if malformed. */
static bool hex_get(const char **p, char stop, char *dst)
{
    size_t n = 0;

    while (**p != stop) {
        int hi = hex_digit((*p)[0]), lo = hi < 0 ? -1 : hex_digit((*p)[1]);

        if (lo < 0 || n == STORE_NAME_MAX || (hi | lo) == 0)
            return false;
        dst[n++] = (char)(hi << 4 | lo);
        *p += 2;
    }
    dst[n] = '\0';
    return n > 0;
}

int store_cursor_names_parse(const char *c, char *ns, char *name, struct err *err)
{
    const char *p = c;

    if (!hex_get(&p, '.', ns) || *p++ != '.' || !hex_get(&p, '\0', name))
        return bad_cursor(c, err);
    return 0;
}

int store_key_parse(enum store_key_kind kind, const char *cursor, int64_t first,
                    struct store_key *ret, struct err *err)
{
    struct store_key k = {.n = {first, first}};
    int rc = 0;

    if (cursor && *cursor) {
        switch (kind) {
        case STORE_KEY_ONE:
            rc = store_cursor_one_parse(cursor, &k.n[0], err);
            break;
        case STORE_KEY_PAIR:
            rc = store_cursor_pair_parse(cursor, &k.n[0], &k.n[1], err);
            break;
        case STORE_KEY_NAMES:
            rc = store_cursor_names_parse(cursor, k.s[0], k.s[1], err);
            break;
        }
    }
    if (rc == 0)
        *ret = k;
    return rc;
}

void store_key_cursor(enum store_key_kind kind, const struct store_key *k, char *buf)
{
    switch (kind) {
    case STORE_KEY_ONE:
        store_cursor_one(buf, k->n[0]);
        break;
    case STORE_KEY_PAIR:
        store_cursor_pair(buf, k->n[0], k->n[1]);
        break;
    case STORE_KEY_NAMES:
        store_cursor_names(buf, k->s[0], k->s[1]);
        break;
    }
}

/* ---- the outbox ---- */

static const char *const outbox_state_names[STORE_OUTBOX_STATE_END] = {
    [STORE_OUTBOX_PENDING] = "pending",
    [STORE_OUTBOX_DELIVERING] = "delivering",
    [STORE_OUTBOX_DELIVERED] = "delivered",
    [STORE_OUTBOX_FAILED] = "failed",
};

const char *store_outbox_state_name(enum store_outbox_state st)
{
    if ((int)st <= 0 || st >= STORE_OUTBOX_STATE_END)
        return "unknown";
    return outbox_state_names[st];
}

int store_outbox_state_parse(const char *name, const char *field, enum store_outbox_state *ret,
                             struct err *err)
{
    char q[64];

    for (int i = 1; name && i < STORE_OUTBOX_STATE_END; i++) {
        if (strcmp(outbox_state_names[i], name) == 0) {
            *ret = (enum store_outbox_state)i;
            return 0;
        }
    }
    return err_set(err, CHIME_EINVAL, field,
                   "'%s' is not a notification state (pending delivering delivered failed)",
                   name ? err_quote(name, 40, q, sizeof q) : "");
}

void store_outbox_release(struct store_outbox *o)
{
    if (!o)
        return;
    free(o->payload);
    free(o->last_error);
    memset(o, 0, sizeof *o);
}

void store_outbox_page_release(struct store_outbox_page *p)
{
    for (size_t i = 0; p && i < p->n; i++)
        store_outbox_release(&p->items[i]);
    if (p) {
        free(p->items);
        memset(p, 0, sizeof *p);
    }
}
