/* ratelimit.h: events counted per key in a fixed-size table, so that a
 * client is slowed down to a steady rate: failed authentications per
 * client address and per presented token id, manual triggers per job and
 * per token.
 *
 * Each key has a leaky bucket (GCRA): every event counted adds one, the
 * bucket drains by one each INTERVAL_US, and a key whose bucket holds
 * BURST is over its limit until it drains below that. An event refused
 * for being over the limit is not counted, so a client hammering away is
 * let through at the drain rate, never locked out for longer.
 *
 * Memory is fixed at ratelimit_new(): SLOTS slots of 16 bytes, whatever
 * the number of keys. A slot holds a random-keyed SipHash of its key
 * (no client can choose keys that collide, or learn the hash); a new key
 * takes a free slot among the few its hash points at, else the one
 * nearest to empty is forgotten. A flood of keys may thus make the table
 * forget a key early, never grow.
 *
 * IPv6 addresses count by /64 (ratelimit_addr_key): one host usually
 * holds a whole /64.
 *
 * Time is passed in (microseconds, any monotonic clock). Thread-safe. */
#ifndef CHIME_API_RATELIMIT_H
#define CHIME_API_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;
struct sockaddr;

#define RATELIMIT_ADDR_KEY_MAX 9 /* family and an IPv4 address, or an IPv6 /64 */

/* An owned table, or NULL out of memory or when SLOTS is below 8, BURST
 * below 1 or INTERVAL_US below 1. */
struct ratelimit *ratelimit_new(unsigned slots, unsigned burst, int64_t interval_us);
void ratelimit_free(struct ratelimit *r);

/* 0 when the LEN bytes of KEY are within their limit at NOW_US, else the
 * seconds until one more event would be (at least 1). */
int64_t ratelimit_wait(struct ratelimit *r, const void *key, size_t len, int64_t now_us);
/* Counts one event of KEY at NOW_US. */
void ratelimit_add(struct ratelimit *r, const void *key, size_t len, int64_t now_us);

/* ADDR's key into KEY (RATELIMIT_ADDR_KEY_MAX bytes): its family and
 * address, an IPv6 one cut to its /64; one key for all without an
 * address (a Unix socket). Returns its length. */
size_t ratelimit_addr_key(const struct sockaddr *addr, unsigned char *key);

#endif
