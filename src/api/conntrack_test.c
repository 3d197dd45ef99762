/* conntrack_test.c: connections, their phases' deadlines and the limits
 * that make room, on a clock the test drives.
 *
 * Each connection is one end of a socket pair: a cut is shutdown(2) of
 * that end, which the test sees as the end of the stream at the other. */
#include "api/conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../banned.h"

#define SEC     INT64_C(1000000)
#define HEAD_US (10 * SEC)
#define BODY_US (30 * SEC)

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};

    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};

    assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return a;
}

/* A tracked connection: the server's end (fd) and the client's (peer). */
struct conn {
    struct conntrack_conn *c;
    int fd, peer;
};

static struct conn conn_open(struct conntrack *t, const void *addr, int64_t now)
{
    struct conn k;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    k.fd = sv[0];
    k.peer = sv[1];
    k.c = conntrack_open(t, k.fd, addr, now);
    assert_non_null(k.c);
    return k;
}

/* Whether K's socket has been shut down: its peer reads the end of the
 * stream rather than waiting for bytes. */
static bool is_cut(const struct conn *k)
{
    char b;
    ssize_t n = recv(k->peer, &b, 1, MSG_DONTWAIT);

    if (n < 0)
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    return n == 0;
}

/* What the server does when the socket ends: forget it, then close it. */
static void conn_close(struct conntrack *t, struct conn *k)
{
    conntrack_close(t, k->c);
    close(k->fd);
    close(k->peer);
    k->c = NULL;
}

/* Through a whole request to the start of its reply. */
static void conn_request(struct conntrack *t, struct conn *k, int64_t now)
{
    conntrack_phase(t, k->c, CONNTRACK_BODY, now);
    conntrack_phase(t, k->c, CONNTRACK_REPLY, now);
}

static void
test_conntrack_cuts_a_connection_past_its_head_deadline_and_not_one_within_it(void **state)
{
    struct conntrack *t = conntrack_new(16, 16, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1");
    int64_t now = 1000 * SEC;
    struct conn early, late;

    (void)state;
    assert_non_null(t);
    early = conn_open(t, &a, now);
    late = conn_open(t, &a, now + 5 * SEC);
    assert_int_equal(conntrack_count(t), 2);
    /* exactly at the deadline is still within it */
    assert_int_equal(conntrack_sweep(t, now + HEAD_US), 0);
    assert_false(is_cut(&early));
    /* one microsecond past it: the early one goes, the late one stays */
    assert_int_equal(conntrack_sweep(t, now + HEAD_US + 1), 1);
    assert_true(is_cut(&early));
    assert_false(is_cut(&late));
    assert_int_equal(conntrack_count(t), 1);
    /* a cut connection is not cut again while the server closes it */
    assert_int_equal(conntrack_sweep(t, now + HEAD_US + 2), 0);
    assert_int_equal(conntrack_sweep(t, now + 5 * SEC + HEAD_US + 1), 1);
    assert_true(is_cut(&late));
    assert_int_equal(conntrack_count(t), 0);
    conn_close(t, &early);
    conn_close(t, &late);
    conntrack_free(t);
}

static void test_conntrack_measures_the_body_deadline_from_the_end_of_the_head(void **state)
{
    struct conntrack *t = conntrack_new(16, 16, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1");
    int64_t now = 1000 * SEC, head_end = now + 8 * SEC;
    struct conn k;

    (void)state;
    k = conn_open(t, &a, now);
    conntrack_phase(t, k.c, CONNTRACK_BODY, head_end);
    /* past the head's deadline counted from the opening: the head has
     * come, so that deadline no longer applies */
    assert_int_equal(conntrack_sweep(t, now + HEAD_US + SEC), 0);
    /* past the body's deadline counted from the opening, within it
     * counted from the head's end */
    assert_int_equal(conntrack_sweep(t, now + BODY_US + SEC), 0);
    assert_int_equal(conntrack_sweep(t, head_end + BODY_US), 0);
    assert_false(is_cut(&k));
    assert_int_equal(conntrack_sweep(t, head_end + BODY_US + 1), 1);
    assert_true(is_cut(&k));
    conn_close(t, &k);
    conntrack_free(t);
}

static void test_conntrack_sets_no_deadline_while_the_reply_is_sent(void **state)
{
    struct conntrack *t = conntrack_new(16, 16, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1");
    int64_t now = 1000 * SEC;
    struct conn k;

    (void)state;
    k = conn_open(t, &a, now);
    conntrack_phase(t, k.c, CONNTRACK_BODY, now + SEC);
    conntrack_phase(t, k.c, CONNTRACK_REPLY, now + 2 * SEC);
    /* a follower of live output, ten hours on */
    assert_int_equal(conntrack_sweep(t, now + 36000 * SEC), 0);
    assert_int_equal(conntrack_sweep(t, INT64_MAX), 0);
    assert_false(is_cut(&k));
    assert_int_equal(conntrack_count(t), 1);
    conn_close(t, &k);
    conntrack_free(t);
}

static void
test_conntrack_restarts_the_head_deadline_of_a_kept_alive_connection_after_its_reply(void **state)
{
    struct conntrack *t = conntrack_new(16, 16, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1");
    int64_t now = 1000 * SEC, reply_end = now + 100 * SEC;
    struct conn k;

    (void)state;
    k = conn_open(t, &a, now);
    conn_request(t, &k, now + SEC);
    conntrack_phase(t, k.c, CONNTRACK_HEAD, reply_end);
    /* long past the first head's deadline, within the second's */
    assert_int_equal(conntrack_sweep(t, reply_end + HEAD_US), 0);
    assert_false(is_cut(&k));
    /* and the second one holds as the first did */
    assert_int_equal(conntrack_sweep(t, reply_end + HEAD_US + 1), 1);
    assert_true(is_cut(&k));
    conn_close(t, &k);
    conntrack_free(t);
}

static void
test_conntrack_makes_room_in_a_full_address_by_cutting_its_connection_that_has_waited_longest_for_its_head(
    void **state)
{
    struct conntrack *t = conntrack_new(100, 3, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
    int64_t now = 1000 * SEC;
    struct conn other, kept, waiting, sending, fresh, other2;

    (void)state;
    /* another address's head has waited longest of all: not a candidate */
    other = conn_open(t, &b, now);
    /* opened first, but waits for its second head only since now + 50s */
    kept = conn_open(t, &a, now + SEC);
    conn_request(t, &kept, now + 2 * SEC);
    conntrack_phase(t, kept.c, CONNTRACK_HEAD, now + 50 * SEC);
    /* waits for its head since now + 10s: the one to go */
    waiting = conn_open(t, &a, now + 10 * SEC);
    /* sending its body: past its head */
    sending = conn_open(t, &a, now + 20 * SEC);
    conntrack_phase(t, sending.c, CONNTRACK_BODY, now + 21 * SEC);
    assert_int_equal(conntrack_count(t), 4);

    fresh = conn_open(t, &a, now + 60 * SEC);
    assert_true(is_cut(&waiting));
    assert_false(is_cut(&kept));
    assert_false(is_cut(&sending));
    assert_false(is_cut(&fresh));
    assert_false(is_cut(&other));
    assert_int_equal(conntrack_count(t), 4);

    /* IPv4 addresses count exactly: the neighbour has one of three */
    other2 = conn_open(t, &b, now + 61 * SEC);
    assert_false(is_cut(&other));
    assert_false(is_cut(&other2));
    assert_false(is_cut(&kept));
    assert_false(is_cut(&fresh));
    assert_int_equal(conntrack_count(t), 5);

    conn_close(t, &other);
    conn_close(t, &kept);
    conn_close(t, &waiting);
    conn_close(t, &sending);
    conn_close(t, &fresh);
    conn_close(t, &other2);
    conntrack_free(t);
}

static void test_conntrack_counts_ipv6_addresses_by_their_64(void **state)
{
    struct conntrack *t = conntrack_new(100, 2, HEAD_US, BODY_US);
    struct sockaddr_in6 a = v6("2001:db8::1"), b = v6("2001:db8::ffff:2"),
                        c = v6("2001:db8::8000:0:0:3"), d = v6("2001:db8:0:1::1");
    int64_t now = 1000 * SEC;
    struct conn ka, kb, kc, kd;

    (void)state;
    ka = conn_open(t, &a, now);
    kb = conn_open(t, &b, now + SEC);
    assert_false(is_cut(&ka));
    assert_false(is_cut(&kb));
    /* a third from the same /64, though another address: the first goes */
    kc = conn_open(t, &c, now + 2 * SEC);
    assert_true(is_cut(&ka));
    assert_false(is_cut(&kb));
    assert_false(is_cut(&kc));
    /* the next /64 is another client */
    kd = conn_open(t, &d, now + 3 * SEC);
    assert_false(is_cut(&kb));
    assert_false(is_cut(&kc));
    assert_false(is_cut(&kd));
    assert_int_equal(conntrack_count(t), 3);
    conn_close(t, &ka);
    conn_close(t, &kb);
    conn_close(t, &kc);
    conn_close(t, &kd);
    conntrack_free(t);
}

static void
test_conntrack_makes_room_under_the_global_limit_by_cutting_the_connection_that_has_waited_longest_for_its_head(
    void **state)
{
    struct conntrack *t = conntrack_new(3, 10, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2"), c = v4("192.0.2.3"),
                       d = v4("192.0.2.4");
    int64_t now = 1000 * SEC;
    struct conn sending, waiting, kept, fresh;

    (void)state;
    /* opened first, but past its head */
    sending = conn_open(t, &a, now);
    conntrack_phase(t, sending.c, CONNTRACK_BODY, now + SEC);
    /* opened second, waits for its second head since now + 8s */
    kept = conn_open(t, &c, now + 2 * SEC);
    conn_request(t, &kept, now + 3 * SEC);
    conntrack_phase(t, kept.c, CONNTRACK_HEAD, now + 8 * SEC);
    /* opened last, waits for its head since now + 5s: the one to go */
    waiting = conn_open(t, &b, now + 5 * SEC);
    assert_int_equal(conntrack_count(t), 3);

    fresh = conn_open(t, &d, now + 9 * SEC);
    assert_true(is_cut(&waiting));
    assert_false(is_cut(&sending));
    assert_false(is_cut(&kept));
    assert_false(is_cut(&fresh));
    assert_int_equal(conntrack_count(t), 3);
    conn_close(t, &sending);
    conn_close(t, &waiting);
    conn_close(t, &kept);
    conn_close(t, &fresh);
    conntrack_free(t);
}

static void
test_conntrack_refuses_a_new_connection_only_when_every_connection_is_past_its_head(void **state)
{
    struct conntrack *t = conntrack_new(2, 1, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2"), c = v4("192.0.2.3"),
                       d = v4("192.0.2.4");
    int64_t now = 1000 * SEC;
    struct conn ka, kb, kc, kd, ka2;

    (void)state;
    ka = conn_open(t, &a, now);
    conntrack_phase(t, ka.c, CONNTRACK_BODY, now + SEC);
    kb = conn_open(t, &b, now + SEC);
    conn_request(t, &kb, now + 2 * SEC);
    /* the server is full and nobody waits for a head: the newcomer goes */
    kc = conn_open(t, &c, now + 3 * SEC);
    assert_true(is_cut(&kc));
    assert_false(is_cut(&ka));
    assert_false(is_cut(&kb));
    assert_int_equal(conntrack_count(t), 2);
    /* the address is full and its one connection sends a body: refused,
     * although another address waits for its head (b, kept alive) */
    conntrack_phase(t, kb.c, CONNTRACK_HEAD, now + 4 * SEC);
    ka2 = conn_open(t, &a, now + 5 * SEC);
    assert_true(is_cut(&ka2));
    assert_false(is_cut(&ka));
    assert_false(is_cut(&kb));
    assert_int_equal(conntrack_count(t), 2);
    /* once one waits for its head again, it makes room */
    kd = conn_open(t, &d, now + 6 * SEC);
    assert_true(is_cut(&kb));
    assert_false(is_cut(&kd));
    assert_false(is_cut(&ka));
    assert_int_equal(conntrack_count(t), 2);
    conn_close(t, &ka);
    conn_close(t, &kb);
    conn_close(t, &kc);
    conn_close(t, &kd);
    conn_close(t, &ka2);
    conntrack_free(t);
}

static void test_conntrack_forgets_a_closed_connection_and_gives_back_its_room(void **state)
{
    struct conntrack *t = conntrack_new(3, 3, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1");
    int64_t now = 1000 * SEC;
    struct conn k[3], extra, refused;

    (void)state;
    for (int i = 0; i < 3; i++) {
        k[i] = conn_open(t, &a, now + i * SEC);
        conn_request(t, &k[i], now + i * SEC);
    }
    /* full, and nobody waits for a head */
    refused = conn_open(t, &a, now + 5 * SEC);
    assert_true(is_cut(&refused));
    assert_int_equal(conntrack_count(t), 3);
    /* a cut connection closing gives back nothing: it held no room */
    conn_close(t, &refused);
    assert_int_equal(conntrack_count(t), 3);
    /* the middle one of the list closes: its room is free */
    conn_close(t, &k[1]);
    assert_int_equal(conntrack_count(t), 2);
    extra = conn_open(t, &a, now + 6 * SEC);
    assert_false(is_cut(&extra));
    assert_false(is_cut(&k[0]));
    assert_false(is_cut(&k[2]));
    assert_int_equal(conntrack_count(t), 3);
    /* the list still holds the others: each one's deadline still counts */
    conntrack_phase(t, k[0].c, CONNTRACK_HEAD, now + 7 * SEC);
    conntrack_phase(t, k[2].c, CONNTRACK_HEAD, now + 8 * SEC);
    assert_int_equal(conntrack_sweep(t, now + 6 * SEC + HEAD_US + 1), 1);
    assert_true(is_cut(&extra));
    assert_int_equal(conntrack_sweep(t, now + 8 * SEC + HEAD_US + 1), 2);
    assert_true(is_cut(&k[0]));
    assert_true(is_cut(&k[2]));
    assert_int_equal(conntrack_count(t), 0);
    /* the first and the last of the list close */
    conn_close(t, &extra);
    conn_close(t, &k[0]);
    conn_close(t, &k[2]);
    assert_int_equal(conntrack_count(t), 0);
    assert_int_equal(conntrack_sweep(t, now + 1000 * SEC), 0);
    conntrack_free(t);
}

static void test_conntrack_stays_within_its_limits_under_a_flood_of_addresses(void **state)
{
    enum { MAX = 64, PER_ADDR = 4, FLOOD = 4096 };
    struct conntrack *t = conntrack_new(MAX, PER_ADDR, HEAD_US, BODY_US);
    struct conntrack_conn **flood = calloc(FLOOD, sizeof *flood);
    struct sockaddr_in good_addr = v4("192.0.2.1");
    int64_t now = 1000 * SEC;
    struct conn good, sink;
    int sv[2];

    (void)state;
    assert_non_null(flood);
    /* a well-behaved client, in the middle of its reply */
    good = conn_open(t, &good_addr, now);
    conn_request(t, &good, now);
    /* the flood shares one socket: what is cut is counted, not watched */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sink.fd = sv[0];
    sink.peer = sv[1];
    for (int i = 0; i < FLOOD; i++) {
        struct sockaddr_in a4 = {.sin_family = AF_INET};
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
        const void *addr;

        /* each a new address, but every fourth from one /64 and every
         * eighth from one IPv4 address */
        if (i % 4 == 0) {
            a6.sin6_addr.s6_addr[0] = 0x20;
            a6.sin6_addr.s6_addr[15] = (unsigned char)i;
            addr = &a6;
        } else if (i % 8 == 1) {
            a4.sin_addr.s_addr = htonl(0xc6336401); /* 198.51.100.1 */
            addr = &a4;
        } else if (i % 2) {
            a6.sin6_addr.s6_addr[0] = 0x20;
            memcpy(&a6.sin6_addr.s6_addr[4], &i, sizeof i);
            addr = &a6;
        } else {
            a4.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
            addr = &a4;
        }
        flood[i] = conntrack_open(t, sink.fd, addr, now + i);
        assert_non_null(flood[i]);
        assert_true(conntrack_count(t) <= MAX);
    }
    assert_int_equal(conntrack_count(t), MAX);
    assert_false(is_cut(&good));
    /* the flood's survivors time out; the reply goes on */
    assert_int_equal(conntrack_sweep(t, now + FLOOD + HEAD_US + 1), MAX - 1);
    assert_int_equal(conntrack_count(t), 1);
    assert_false(is_cut(&good));
    for (int i = 0; i < FLOOD; i++)
        conntrack_close(t, flood[i]);
    assert_int_equal(conntrack_count(t), 1);
    conn_close(t, &good);
    close(sink.fd);
    close(sink.peer);
    free(flood);
    conntrack_free(t);
}

static void test_conntrack_ignores_untracked_handles_and_keeps_a_cut_connection_cut(void **state)
{
    struct conntrack *t = conntrack_new(1, 1, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1");
    int64_t now = 1000 * SEC;
    struct conn k, next, unix1, unix2;

    (void)state;
    assert_null(conntrack_new(0, 1, HEAD_US, BODY_US));
    assert_null(conntrack_new(1, 0, HEAD_US, BODY_US));
    assert_null(conntrack_new(1, 1, 0, BODY_US));
    assert_null(conntrack_new(1, 1, HEAD_US, -1));
    conntrack_free(NULL);

    k = conn_open(t, &a, now);
    /* an untracked connection (the server had no socket context) */
    conntrack_phase(t, NULL, CONNTRACK_BODY, now);
    conntrack_phase(t, NULL, CONNTRACK_HEAD, now + 100 * HEAD_US);
    conntrack_close(t, NULL);
    assert_int_equal(conntrack_count(t), 1);
    assert_false(is_cut(&k));
    assert_int_equal(conntrack_sweep(t, now + HEAD_US), 0);

    /* cut, then the server still reports its phases until it closes it:
     * no phase brings it back, to the count or to a second cut */
    assert_int_equal(conntrack_sweep(t, now + HEAD_US + 1), 1);
    conntrack_phase(t, k.c, CONNTRACK_BODY, now + HEAD_US + 2);
    conntrack_phase(t, k.c, CONNTRACK_HEAD, now + HEAD_US + 3);
    assert_int_equal(conntrack_count(t), 0);
    assert_int_equal(conntrack_sweep(t, now + 10 * HEAD_US), 0);
    next = conn_open(t, &a, now + HEAD_US + 4);
    assert_false(is_cut(&next)); /* the cut one holds no room */
    conn_close(t, &k);
    conn_close(t, &next);

    /* no address (a Unix socket): one key for all */
    unix1 = conn_open(t, NULL, now);
    unix2 = conn_open(t, NULL, now + 1);
    assert_true(is_cut(&unix1));
    assert_false(is_cut(&unix2));
    conn_close(t, &unix1);
    conn_close(t, &unix2);
    conntrack_free(t);
}

static void test_conntrack_neither_cuts_early_nor_fails_when_time_goes_backwards(void **state)
{
    struct conntrack *t = conntrack_new(16, 16, HEAD_US, BODY_US);
    struct sockaddr_in a = v4("192.0.2.1");
    int64_t now = 1000 * SEC;
    struct conn k, far, low;

    (void)state;
    k = conn_open(t, &a, now);
    /* a sweep from before the opening cuts nothing */
    assert_int_equal(conntrack_sweep(t, now - 500 * SEC), 0);
    assert_int_equal(conntrack_sweep(t, INT64_MIN), 0);
    assert_false(is_cut(&k));
    /* a phase stamped before the opening: its deadline counts from that
     * stamp, no later */
    conntrack_phase(t, k.c, CONNTRACK_BODY, now - 100 * SEC);
    assert_int_equal(conntrack_sweep(t, now - 100 * SEC + BODY_US), 0);
    assert_int_equal(conntrack_sweep(t, now - 100 * SEC + BODY_US + 1), 1);
    assert_true(is_cut(&k));

    /* the extremes of the clock neither overflow nor cut wrongly */
    far = conn_open(t, &a, INT64_MAX);
    assert_int_equal(conntrack_sweep(t, INT64_MIN), 0);
    assert_int_equal(conntrack_sweep(t, INT64_MAX), 0);
    assert_false(is_cut(&far));
    low = conn_open(t, &a, INT64_MIN);
    assert_int_equal(conntrack_sweep(t, INT64_MIN + HEAD_US), 0);
    assert_false(is_cut(&low));
    assert_int_equal(conntrack_sweep(t, INT64_MAX), 1);
    assert_true(is_cut(&low));
    assert_false(is_cut(&far));
    conn_close(t, &k);
    conn_close(t, &far);
    conn_close(t, &low);
    conntrack_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_conntrack_cuts_a_connection_past_its_head_deadline_and_not_one_within_it),
        cmocka_unit_test(test_conntrack_measures_the_body_deadline_from_the_end_of_the_head),
        cmocka_unit_test(test_conntrack_sets_no_deadline_while_the_reply_is_sent),
        cmocka_unit_test(
            test_conntrack_restarts_the_head_deadline_of_a_kept_alive_connection_after_its_reply),
        cmocka_unit_test(
            test_conntrack_makes_room_in_a_full_address_by_cutting_its_connection_that_has_waited_longest_for_its_head),
        cmocka_unit_test(test_conntrack_counts_ipv6_addresses_by_their_64),
        cmocka_unit_test(
            test_conntrack_makes_room_under_the_global_limit_by_cutting_the_connection_that_has_waited_longest_for_its_head),
        cmocka_unit_test(
            test_conntrack_refuses_a_new_connection_only_when_every_connection_is_past_its_head),
        cmocka_unit_test(test_conntrack_forgets_a_closed_connection_and_gives_back_its_room),
        cmocka_unit_test(test_conntrack_stays_within_its_limits_under_a_flood_of_addresses),
        cmocka_unit_test(test_conntrack_ignores_untracked_handles_and_keeps_a_cut_connection_cut),
        cmocka_unit_test(test_conntrack_neither_cuts_early_nor_fails_when_time_goes_backwards),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
