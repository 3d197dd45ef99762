/* ratelimit.h: failed authentications counted per client address, so that
 * a client guessing tokens is slowed down to a few guesses a minute.
 *
 * Each address has a leaky bucket (GCRA): every failure adds one, the
 * bucket drains by one each INTERVAL_US, and an address whose bucket
 * holds BURST is blocked until it drains below that. The table is bounded
 * (SLOTS addresses; when it is full, the address nearest to empty is
 * forgotten), keyed by a random-keyed SipHash of the address so that no
 * client can choose addresses that collide. IPv6 addresses count by /64:
 * one host usually holds a whole /64.
 *
 * Time is passed in (microseconds, any monotonic clock). Thread-safe. */
#ifndef CHIME_API_RATELIMIT_H
#define CHIME_API_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;
struct sockaddr;

/* An owned table, or NULL out of memory. */
struct ratelimit *ratelimit_new(unsigned slots, unsigned burst, int64_t interval_us);
void ratelimit_free(struct ratelimit *r);

/* Whether ADDR is blocked at NOW_US; then *RET_RETRY_S (may be NULL) is
 * the seconds until its next attempt may be checked (at least 1). */
bool ratelimit_blocked(struct ratelimit *r, const struct sockaddr *addr, int64_t now_us,
                       int64_t *ret_retry_s);
/* Counts a failure of ADDR at NOW_US. */
void ratelimit_fail(struct ratelimit *r, const struct sockaddr *addr, int64_t now_us);

#endif
