/* ratelimit_test.c: events per key (addresses, token ids), on a clock
 * the test drives. */
#include "api/ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "../banned.h"

#define SEC INT64_C(1000000)

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};

    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};

    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static int64_t wait_addr(struct ratelimit *r, const void *sa, int64_t now)
{
    unsigned char k[RATELIMIT_ADDR_KEY_MAX];

    return ratelimit_wait(r, k, ratelimit_addr_key(sa, k), now);
}

static void add_addr(struct ratelimit *r, const void *sa, int64_t now)
{
    unsigned char k[RATELIMIT_ADDR_KEY_MAX];

    ratelimit_add(r, k, ratelimit_addr_key(sa, k), now);
}

#define KEY(s) (s), strlen(s)

static void test_ratelimit_refuses_past_burst_and_lets_go_as_it_drains(void **state)
{
    struct ratelimit *r = ratelimit_new(64, 3, 10 * SEC);
    int64_t now = 1000 * SEC;

    (void)state;
    assert_non_null(r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ratelimit_wait(r, KEY("t:abc"), now), 0);
        ratelimit_add(r, KEY("t:abc"), now);
    }
    assert_int_equal(ratelimit_wait(r, KEY("t:abc"), now), 10);
    /* drained by one after an interval */
    assert_int_equal(ratelimit_wait(r, KEY("t:abc"), now + 9 * SEC), 1);
    assert_int_equal(ratelimit_wait(r, KEY("t:abc"), now + 10 * SEC), 0);
    /* one more then refuses again */
    ratelimit_add(r, KEY("t:abc"), now + 10 * SEC);
    assert_int_equal(ratelimit_wait(r, KEY("t:abc"), now + 10 * SEC), 10);
    /* another key, even one sharing a prefix, has a bucket of its own */
    assert_int_equal(ratelimit_wait(r, KEY("t:ab"), now), 0);
    assert_int_equal(ratelimit_wait(r, KEY("t:abcd"), now), 0);
    /* and after three intervals of nothing, three are allowed again */
    now += 40 * SEC;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ratelimit_wait(r, KEY("t:abc"), now), 0);
        ratelimit_add(r, KEY("t:abc"), now);
    }
    assert_true(ratelimit_wait(r, KEY("t:abc"), now) > 0);
    ratelimit_free(r);
}

static void test_ratelimit_refused_events_are_not_counted_so_hammering_never_locks_out(
    void **state)
{
    struct ratelimit *r = ratelimit_new(64, 2, 5 * SEC);
    int64_t now = 7 * SEC;
    int allowed = 0;

    (void)state;
    /* 1,000 attempts a second for a minute: the caller counts only the
     * ones let through, as auth.c and the trigger limits do */
    for (int64_t t = now; t < now + 60 * SEC; t += SEC / 1000)
        if (ratelimit_wait(r, KEY("a"), t) == 0) {
            ratelimit_add(r, KEY("a"), t);
            allowed++;
        }
    /* the burst, then one per interval */
    assert_int_equal(allowed, 2 + 11);
    /* and the wait never grew past one interval */
    assert_true(ratelimit_wait(r, KEY("a"), now + 60 * SEC) <= 5);
    ratelimit_free(r);
}

static void test_ratelimit_counts_each_address_apart_and_ipv6_by_64(void **state)
{
    struct ratelimit *r = ratelimit_new(64, 1, 60 * SEC);
    struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
    struct sockaddr_in6 c = v6("2001:db8::1"), d = v6("2001:db8::ffff:2"),
                        e = v6("2001:db8:0:1::1");
    int64_t now = 5 * SEC;

    (void)state;
    add_addr(r, &a, now);
    assert_true(wait_addr(r, &a, now) > 0);
    assert_int_equal(wait_addr(r, &b, now), 0);
    add_addr(r, &c, now);
    assert_true(wait_addr(r, &c, now) > 0);
    assert_true(wait_addr(r, &d, now) > 0); /* the same /64 */
    assert_int_equal(wait_addr(r, &e, now), 0);
    /* no address (a Unix socket): one key for all */
    add_addr(r, NULL, now);
    assert_true(wait_addr(r, NULL, now) > 0);
    ratelimit_free(r);
}

static void test_ratelimit_table_stays_bounded_under_a_flood_of_keys(void **state)
{
    struct ratelimit *r = ratelimit_new(16, 2, 60 * SEC);
    int64_t now = SEC;
    char key[64];

    (void)state;
    /* a key past its limit... */
    ratelimit_add(r, KEY("t:guessed"), now);
    ratelimit_add(r, KEY("t:guessed"), now);
    ratelimit_add(r, KEY("t:guessed"), now);
    /* ...then 100,000 other keys (addresses, token ids of any length) in a
     * table of 16 slots: nothing grows, the innocent are not refused, and
     * the emptiest slots are forgotten first, so the key that failed most
     * is still held */
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "t:%d%.*s", i, i % 40, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

        ratelimit_add(r, key, (size_t)n, now);
    }
    assert_true(ratelimit_wait(r, KEY("t:guessed"), now) > 0);
    assert_int_equal(ratelimit_wait(r, KEY("t:innocent"), now), 0);
    ratelimit_add(r, KEY("t:innocent"), now);
    assert_int_equal(ratelimit_wait(r, KEY("t:innocent"), now), 0);
    ratelimit_add(r, KEY("t:innocent"), now);
    assert_true(ratelimit_wait(r, KEY("t:innocent"), now) > 0);
    assert_null(ratelimit_new(4, 1, SEC)); /* fewer slots than probes */
    assert_null(ratelimit_new(16, 0, SEC));
    assert_null(ratelimit_new(16, 1, 0));
    ratelimit_free(r);
    ratelimit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelimit_refuses_past_burst_and_lets_go_as_it_drains),
        cmocka_unit_test(test_ratelimit_refused_events_are_not_counted_so_hammering_never_locks_out),
        cmocka_unit_test(test_ratelimit_counts_each_address_apart_and_ipv6_by_64),
        cmocka_unit_test(test_ratelimit_table_stays_bounded_under_a_flood_of_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
