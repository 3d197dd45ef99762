/* ratelimit.c: failed authentications per client address (ratelimit.h).
 *
 * A slot keeps one number per address: tat_us, the instant its bucket is
 * empty again (the "theoretical arrival time" of GCRA). A failure moves
 * it INTERVAL_US later (from now when it was already past); the address
 * is blocked while tat_us - now is more than (BURST - 1) intervals, that
 * is once BURST failures have come faster than the bucket drains. A slot
 * whose tat_us has passed holds nothing and is free. */
#include "api/ratelimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "../banned.h"

#define ADDR_KEY_MAX 17 /* family and an IPv4 address, or an IPv6 /64 */
#define PROBES       8  /* slots looked at per address */

struct slot {
    unsigned char key[ADDR_KEY_MAX];
    size_t key_len; /* 0: never used */
    int64_t tat_us;
};

struct ratelimit {
    pthread_mutex_t lock;
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    unsigned n;
    unsigned burst;
    int64_t interval_us;
    struct slot slots[];
};

struct ratelimit *ratelimit_new(unsigned slots, unsigned burst, int64_t interval_us)
{
    struct ratelimit *r;

    if (slots < PROBES || burst < 1 || interval_us < 1 || sodium_init() < 0)
        return NULL;
    r = calloc(1, sizeof *r + (size_t)slots * sizeof r->slots[0]);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    crypto_shorthash_keygen(r->hash_key);
    r->n = slots;
    r->burst = burst;
    r->interval_us = interval_us;
    return r;
}

void ratelimit_free(struct ratelimit *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ADDR's key: its family and address, an IPv6 one cut to its /64. */
static size_t addr_key(const struct sockaddr *addr, unsigned char *key)
{
    if (addr && addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)addr;

        key[0] = 4;
        memcpy(key + 1, &a->sin_addr, 4);
        return 5;
    }
    if (addr && addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)addr;

        key[0] = 6;
        memcpy(key + 1, &a->sin6_addr, 8);
        return 9;
    }
    key[0] = 0; /* no address (a Unix socket): one bucket for all */
    return 1;
}

/* ADDR's slot; with TAKE, a free or the least full one is taken for it.
 * Under the lock. NULL when ADDR has none and TAKE is false. */
static struct slot *slot_find(struct ratelimit *r, const unsigned char *key, size_t len,
                              int64_t now_us, bool take)
{
    unsigned char h[crypto_shorthash_BYTES];
    struct slot *best = NULL;
    uint64_t start;

    crypto_shorthash(h, key, len, r->hash_key);
    memcpy(&start, h, sizeof start);
    for (unsigned i = 0; i < PROBES; i++) {
        struct slot *s = &r->slots[(start + i) % r->n];

        if (s->key_len == len && !memcmp(s->key, key, len))
            return s;
        if (!best || s->tat_us < best->tat_us)
            best = s;
    }
    if (!take)
        return NULL;
    /* a free slot (its bucket is empty), else the emptiest is forgotten */
    memcpy(best->key, key, len);
    best->key_len = len;
    if (best->tat_us > now_us)
        best->tat_us = now_us;
    best->tat_us = now_us;
    return best;
}

bool ratelimit_blocked(struct ratelimit *r, const struct sockaddr *addr, int64_t now_us,
                       int64_t *ret_retry_s)
{
    unsigned char key[ADDR_KEY_MAX];
    size_t len = addr_key(addr, key);
    int64_t allow = (int64_t)(r->burst - 1) * r->interval_us, wait_us = 0;
    struct slot *s;

    pthread_mutex_lock(&r->lock);
    s = slot_find(r, key, len, now_us, false);
    if (s && s->tat_us - now_us > allow)
        wait_us = s->tat_us - now_us - allow;
    pthread_mutex_unlock(&r->lock);
    if (wait_us > 0 && ret_retry_s)
        *ret_retry_s = (wait_us + 999999) / 1000000;
    return wait_us > 0;
}

void ratelimit_fail(struct ratelimit *r, const struct sockaddr *addr, int64_t now_us)
{
    unsigned char key[ADDR_KEY_MAX];
    size_t len = addr_key(addr, key);
    struct slot *s;

    pthread_mutex_lock(&r->lock);
    s = slot_find(r, key, len, now_us, true);
    if (s->tat_us < now_us)
        s->tat_us = now_us;
    s->tat_us += r->interval_us;
    pthread_mutex_unlock(&r->lock);
}
