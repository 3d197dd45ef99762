/* ratelimit_test.c: failed authentications per address, on a clock the
 * test drives. */
#include "api/ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

#define SA(x) ((const struct sockaddr *)(const void *)&(x))

static void test_ratelimit_blocks_after_burst_failures_and_lets_go_as_it_drains(void **state)
{
    struct ratelimit *r = ratelimit_new(64, 3, 10 * SEC);
    struct sockaddr_in a = v4("192.0.2.1");
    int64_t now = 1000 * SEC, retry = 0;

    (void)state;
    assert_non_null(r);
    for (int i = 0; i < 3; i++) {
        assert_false(ratelimit_blocked(r, SA(a), now, &retry));
        ratelimit_fail(r, SA(a), now);
    }
    assert_true(ratelimit_blocked(r, SA(a), now, &retry));
    assert_int_equal(retry, 10);
    /* drained by one after an interval */
    assert_true(ratelimit_blocked(r, SA(a), now + 9 * SEC, &retry));
    assert_int_equal(retry, 1);
    assert_false(ratelimit_blocked(r, SA(a), now + 10 * SEC, &retry));
    /* one more failure then blocks again */
    ratelimit_fail(r, SA(a), now + 10 * SEC);
    assert_true(ratelimit_blocked(r, SA(a), now + 10 * SEC, NULL));
    /* and after three intervals of nothing, three failures are allowed again */
    now += 40 * SEC;
    for (int i = 0; i < 3; i++) {
        assert_false(ratelimit_blocked(r, SA(a), now, NULL));
        ratelimit_fail(r, SA(a), now);
    }
    assert_true(ratelimit_blocked(r, SA(a), now, NULL));
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
    ratelimit_fail(r, SA(a), now);
    assert_true(ratelimit_blocked(r, SA(a), now, NULL));
    assert_false(ratelimit_blocked(r, SA(b), now, NULL));
    ratelimit_fail(r, SA(c), now);
    assert_true(ratelimit_blocked(r, SA(c), now, NULL));
    assert_true(ratelimit_blocked(r, SA(d), now, NULL)); /* the same /64 */
    assert_false(ratelimit_blocked(r, SA(e), now, NULL));
    ratelimit_free(r);
}

static void test_ratelimit_table_stays_bounded_under_many_addresses(void **state)
{
    struct ratelimit *r = ratelimit_new(16, 2, 60 * SEC);
    struct sockaddr_in a = v4("198.51.100.7");
    int64_t now = SEC;

    (void)state;
    /* a flood of other addresses cannot grow the table; it may only make
     * the table forget addresses, never crash or block the innocent */
    for (uint32_t i = 0; i < 10000; i++) {
        struct sockaddr_in x = {.sin_family = AF_INET};

        x.sin_addr.s_addr = htonl(0x0a000000u + i);
        ratelimit_fail(r, SA(x), now);
    }
    assert_false(ratelimit_blocked(r, SA(a), now, NULL));
    ratelimit_fail(r, SA(a), now);
    ratelimit_fail(r, SA(a), now);
    assert_true(ratelimit_blocked(r, SA(a), now, NULL));
    assert_null(ratelimit_new(4, 1, SEC)); /* fewer slots than probes */
    ratelimit_free(r);
    ratelimit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelimit_blocks_after_burst_failures_and_lets_go_as_it_drains),
        cmocka_unit_test(test_ratelimit_counts_each_address_apart_and_ipv6_by_64),
        cmocka_unit_test(test_ratelimit_table_stays_bounded_under_many_addresses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
