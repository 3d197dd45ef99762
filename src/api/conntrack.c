/* conntrack.c: open connections and their deadlines (conntrack.h).
 *
 * A doubly linked list under one mutex. Every operation is a walk of at
 * most the server's connection limit (hundreds), each entry a few words:
 * cheaper than the request it guards. A cut entry stays in the list, not
 * counted, until the server closes its socket. */
#include "api/conntrack.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/ratelimit.h"
#include "../banned.h"

struct conntrack_conn {
    struct conntrack_conn *prev, *next;
    int fd;                     /* borrowed */
    enum conntrack_phase phase;
    int64_t since_us;           /* when it entered its phase */
    bool cut;                   /* shut down, waiting for the server to close it */
    unsigned char key[RATELIMIT_ADDR_KEY_MAX];
    size_t key_len;
};

struct conntrack {
    pthread_mutex_t lock;
    struct conntrack_conn *head;
    unsigned live; /* entries not cut */
    unsigned max, per_addr;
    int64_t head_us, body_us;
};

struct conntrack *conntrack_new(unsigned max, unsigned per_addr, int64_t head_us, int64_t body_us)
{
    struct conntrack *t;

    if (!max || !per_addr || head_us <= 0 || body_us <= 0)
        return NULL;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->max = max;
    t->per_addr = per_addr;
    t->head_us = head_us;
    t->body_us = body_us;
    return t;
}

void conntrack_free(struct conntrack *t)
{
    struct conntrack_conn *c, *next;

    if (!t)
        return;
    for (c = t->head; c; c = next) {
        next = c->next;
        free(c);
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Under the lock. */
static void cut(struct conntrack *t, struct conntrack_conn *c)
{
    if (c->cut)
        return;
    c->cut = true;
    t->live--;
    shutdown(c->fd, SHUT_RDWR);
}

static bool same_addr(const struct conntrack_conn *a, const struct conntrack_conn *b)
{
    return a->key_len == b->key_len && !memcmp(a->key, b->key, a->key_len);
}

/* The connection that has waited longest for its head, among those of
 * N's address (BY_ADDR) or all; NULL: none waits for one. Under the lock. */
static struct conntrack_conn *oldest_head(struct conntrack *t, const struct conntrack_conn *n,
                                          bool by_addr)
{
    struct conntrack_conn *c, *best = NULL;

    for (c = t->head; c; c = c->next)
        if (c != n && !c->cut && c->phase == CONNTRACK_HEAD && (!by_addr || same_addr(c, n))
            && (!best || c->since_us < best->since_us))
            best = c;
    return best;
}

struct conntrack_conn *conntrack_open(struct conntrack *t, int fd, const struct sockaddr *addr,
                                      int64_t now_us)
{
    struct conntrack_conn *n = calloc(1, sizeof *n), *c, *victim = NULL;
    unsigned same = 0;

    if (!n) {
        shutdown(fd, SHUT_RDWR);
        return NULL;
    }
    n->fd = fd;
    n->phase = CONNTRACK_HEAD;
    n->since_us = now_us;
    n->key_len = ratelimit_addr_key(addr, n->key);
    pthread_mutex_lock(&t->lock);
    for (c = t->head; c; c = c->next)
        same += !c->cut && same_addr(c, n);
    if (same >= t->per_addr)
        victim = oldest_head(t, n, true);
    else if (t->live >= t->max)
        victim = oldest_head(t, n, false);
    n->next = t->head;
    if (t->head)
        t->head->prev = n;
    t->head = n;
    t->live++;
    if (victim)
        cut(t, victim);
    else if (same >= t->per_addr || t->live > t->max)
        cut(t, n); /* everyone is past their head: no room */
    pthread_mutex_unlock(&t->lock);
    return n;
}

void conntrack_phase(struct conntrack *t, struct conntrack_conn *c, enum conntrack_phase p,
                     int64_t now_us)
{
    if (!c)
        return;
    pthread_mutex_lock(&t->lock);
    c->phase = p;
    c->since_us = now_us;
    pthread_mutex_unlock(&t->lock);
}

void conntrack_close(struct conntrack *t, struct conntrack_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&t->lock);
    if (!c->cut)
        t->live--;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&t->lock);
    free(c);
}

/* Whether more than LIMIT_US has passed from SINCE_US to NOW_US. Any two
 * readings of the clock, however far apart or out of order, compare
 * without overflow: a later one differs from an earlier one by less than
 * 2^64 in unsigned arithmetic, and an earlier one is never past. */
static bool past(int64_t now_us, int64_t since_us, int64_t limit_us)
{
    return now_us > since_us && (uint64_t)now_us - (uint64_t)since_us > (uint64_t)limit_us;
}

unsigned conntrack_sweep(struct conntrack *t, int64_t now_us)
{
    struct conntrack_conn *c;
    unsigned n = 0;

    pthread_mutex_lock(&t->lock);
    for (c = t->head; c; c = c->next) {
        int64_t limit = c->phase == CONNTRACK_HEAD ? t->head_us
                        : c->phase == CONNTRACK_BODY ? t->body_us
                                                     : INT64_MAX;

        if (!c->cut && limit != INT64_MAX && past(now_us, c->since_us, limit)) {
            cut(t, c);
            n++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

unsigned conntrack_count(struct conntrack *t)
{
    unsigned n;

    pthread_mutex_lock(&t->lock);
    n = t->live;
    pthread_mutex_unlock(&t->lock);
    return n;
}
