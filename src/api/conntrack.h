/* conntrack.h: the API's open connections, each with the deadline of the
 * part of a request it is in, so that no client can hold a connection by
 * sending slowly and no crowd of them can keep anybody else out.
 *
 * A connection is in one of three phases. HEAD: waiting for a request's
 * head (from its opening, or from the end of its previous reply on a
 * kept-alive connection), which must come whole within head_us. BODY: the
 * head has come, the body must have come within body_us of it. REPLY: the
 * handler runs or the reply is being sent; no deadline here (an idle
 * client is cut by the server's idle timeout, a follower of live output
 * may legitimately stay for hours). A byte a second keeps an idle timeout
 * at bay; it does not move a deadline.
 *
 * Limits keep room for well-behaved clients: when a new connection would
 * put its address over per_addr, or the server over max, the connection
 * of that address (else of anyone) that has waited longest for its head
 * is cut to make room: a slow client can delay its own next turn, never
 * someone who sends a request at once. Only when every connection is past
 * its head is the new one refused. IPv6 addresses count by /64.
 *
 * Cutting is shutdown(2) of the socket: the server sees the end of the
 * stream at once and closes the connection itself, then calls
 * conntrack_close(). The socket stays open until then (the caller
 * guarantees it: libmicrohttpd closes it only after its close notice),
 * so a cut never reaches a reused descriptor.
 *
 * Time is passed in (microseconds, any monotonic clock). Thread-safe. */
#ifndef CHIME_API_CONNTRACK_H
#define CHIME_API_CONNTRACK_H

#include <stdint.h>

struct conntrack;
struct conntrack_conn;
struct sockaddr;

enum conntrack_phase {
    CONNTRACK_HEAD,
    CONNTRACK_BODY,
    CONNTRACK_REPLY,
};

/* An owned table, or NULL out of memory or when a limit is 0. */
struct conntrack *conntrack_new(unsigned max, unsigned per_addr, int64_t head_us,
                                int64_t body_us);
/* Frees T; every connection must have been closed. */
void conntrack_free(struct conntrack *t);

/* Tracks a connection opened at NOW_US on socket FD (borrowed) from ADDR,
 * in its HEAD phase, cutting another to make room (or this one, when none
 * can be cut). Returns its entry for the calls below, or NULL out of
 * memory (FD is then cut). */
struct conntrack_conn *conntrack_open(struct conntrack *t, int fd, const struct sockaddr *addr,
                                      int64_t now_us);
/* C enters phase P at NOW_US. C may be NULL (untracked): nothing. */
void conntrack_phase(struct conntrack *t, struct conntrack_conn *c, enum conntrack_phase p,
                     int64_t now_us);
/* Forgets C (its socket is about to close) and frees it; NULL: nothing. */
void conntrack_close(struct conntrack *t, struct conntrack_conn *c);
/* Cuts every connection past its phase's deadline at NOW_US. Returns how
 * many it cut. */
unsigned conntrack_sweep(struct conntrack *t, int64_t now_us);
/* Connections tracked and not cut. */
unsigned conntrack_count(struct conntrack *t);

#endif
