/* ratelimit.c: events per key in a fixed-size table (ratelimit.h).
 *
 * A slot keeps two numbers: the key's hash, and tat_us, the instant its
 * bucket is empty again (the "theoretical arrival time" of GCRA). An
 * event moves tat_us INTERVAL_US later (from now when it was already
 * past); the key is over its limit while tat_us - now is more than
 * (BURST - 1) intervals, that is once BURST events have come faster than
 * the bucket drains. A slot whose tat_us has passed holds nothing and is
 * free. A key is looked for in PROBES slots from where its hash points;
 * the whole hash (64 bits, keyed) tells keys apart, so keys of any length
 * cost one slot each. */
#include "api/ratelimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "../banned.h"

#define PROBES 8 /* slots looked at per key */

struct slot {
    uint64_t hash; /* 0: never used */
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

size_t ratelimit_addr_key(const struct sockaddr *addr, unsigned char *key)
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
    key[0] = 0;
    return 1;
}

/* KEY's slot; with TAKE, a free or the emptiest one is taken for it.
 * Under the lock. NULL when KEY has none and TAKE is false. */
static struct slot *slot_find(struct ratelimit *r, const void *key, size_t len, int64_t now_us,
                              bool take)
{
    unsigned char h[crypto_shorthash_BYTES];
    struct slot *best = NULL;
    uint64_t hash;

    crypto_shorthash(h, key, len, r->hash_key);
    memcpy(&hash, h, sizeof hash);
    hash |= 1; /* never 0, the unused slot's */
    for (unsigned i = 0; i < PROBES; i++) {
        struct slot *s = &r->slots[(hash + i) % r->n];

        if (s->hash == hash)
            return s;
        if (!best || s->tat_us < best->tat_us)
            best = s;
    }
    if (!take)
        return NULL;
    /* a free slot (its bucket is empty), else the emptiest is forgotten */
    best->hash = hash;
    best->tat_us = now_us;
    return best;
}

int64_t ratelimit_wait(struct ratelimit *r, const void *key, size_t len, int64_t now_us)
{
    int64_t allow = (int64_t)(r->burst - 1) * r->interval_us, wait_us = 0;
    struct slot *s;

    pthread_mutex_lock(&r->lock);
    s = slot_find(r, key, len, now_us, false);
    if (s && s->tat_us - now_us > allow)
        wait_us = s->tat_us - now_us - allow;
    pthread_mutex_unlock(&r->lock);
    return wait_us > 0 ? (wait_us + 999999) / 1000000 : 0;
}

void ratelimit_add(struct ratelimit *r, const void *key, size_t len, int64_t now_us)
{
    struct slot *s;

    pthread_mutex_lock(&r->lock);
    s = slot_find(r, key, len, now_us, true);
    if (s->tat_us < now_us)
        s->tat_us = now_us;
    s->tat_us += r->interval_us;
    pthread_mutex_unlock(&r->lock);
}
