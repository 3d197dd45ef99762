/* units_test.c: tests of units.c. Expected values in the tables are worked
 * out by hand (the comments show the arithmetic), not computed by the code
 * under test. */
#include "time/units.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/err.h"
#include "../banned.h"

#define S INT64_C(1000000)      /* one second in microseconds */
#define MS INT64_C(1000)

struct good {
    const char *text;
    int64_t value;
};

struct bad {
    const char *text;
    int code;                   /* CHIME_EINVAL or CHIME_ERANGE */
    const char *says;           /* a part of the message */
};

struct shown {
    int64_t value;
    const char *text;
};

static const struct good good_durations[] = {
    { "90s", 90 * S },
    { "15m", 900 * S },
    { "1h30m", 5400 * S },
    { "2d", 172800 * S },
    { "1w", 604800 * S },
    { "250ms", 250 * MS },
    { "3600", 3600 * S },
    { "0", 0 },
    { "0s", 0 },
    { "0ms", 0 },
    { "007s", 7 * S },
    { "90m", 5400 * S },
    { "1000ms", 1 * S },
    { "1h0m", 3600 * S },
    { "1d12h", 129600 * S },                /* 86400 + 43200 */
    { "1m1ms", 60001 * MS },
    { "1w2d3h4m5s6ms", INT64_C(788645006) * MS },
                                            /* 604800 + 172800 + 10800 + 240 + 5 s */
    { "36600d", INT64_C(3162240000) * S },  /* the maximum: 100 * 366 days */
    { "5228w4d", INT64_C(3162240000) * S }, /* 5228 * 7 + 4 = 36600 days */
    { "3162240000", INT64_C(3162240000) * S },
    { "3162239999s1000ms", INT64_C(3162240000) * S },
};

static const struct bad bad_durations[] = {
    { "", CHIME_EINVAL, "'' is empty" },
    { "ms", CHIME_EINVAL, "'ms' has unit 'ms' without a number" },
    { "s", CHIME_EINVAL, "'s' has unit 's' without a number" },
    { "1h1", CHIME_EINVAL, "'1h1' ends in a number without a unit" },
    { "1hm", CHIME_EINVAL, "'1hm' has unknown unit 'hm'" },
    { "1h1h", CHIME_EINVAL, "'1h1h' repeats unit 'h'" },
    { "1d1d", CHIME_EINVAL, "'1d1d' repeats unit 'd'" },
    { "1h2m1h", CHIME_EINVAL, "'1h2m1h' repeats unit 'h'" },
    { "1m1h", CHIME_EINVAL, "'1m1h' has unit 'h' after 'm'" },
    { "1ms1s", CHIME_EINVAL, "'1ms1s' has unit 's' after 'ms'" },
    { "1s1w", CHIME_EINVAL, "has unit 'w' after 's'" },
    { "1h-5m", CHIME_EINVAL, "'1h-5m' has unexpected '-' at position 3" },
    { "-5m", CHIME_EINVAL, "'-5m' is negative" },
    { "+5m", CHIME_EINVAL, "'+5m' has unexpected '+' at position 1" },
    { " 5m", CHIME_EINVAL, "' 5m' has unexpected ' ' at position 1" },
    { "5m ", CHIME_EINVAL, "'5m ' has unexpected ' ' at position 3" },
    { "5 m", CHIME_EINVAL, "'5 m' has unexpected ' ' at position 2" },
    { "5\tm", CHIME_EINVAL, "'5\\x09m' has unexpected '\\x09' at position 2" },
    { "0x10", CHIME_EINVAL, "'0x10' has unknown unit 'x'" },
    { "1.5h", CHIME_EINVAL, "'1.5h' has a fraction" },
    { "1h30", CHIME_EINVAL, "'1h30' ends in a number without a unit" },
    { "5M", CHIME_EINVAL, "'5M' has unknown unit 'M'" },
    { "1H", CHIME_EINVAL, "unknown unit 'H'" },
    { "5mm", CHIME_EINVAL, "unknown unit 'mm'" },
    { "1y", CHIME_EINVAL, "unknown unit 'y' (use w, d, h, m, s or ms)" },
    { "1us", CHIME_EINVAL, "unknown unit 'us'" },
    { "1hour", CHIME_EINVAL, "unknown unit 'hour'" },
    { "1e3", CHIME_EINVAL, "unknown unit 'e'" },
    { "-0", CHIME_EINVAL, "negative" },
    { "--5m", CHIME_EINVAL, "negative" },
    { "5m\xff", CHIME_EINVAL, "'5m\\xff' has unexpected '\\xff' at position 3" },
    { "\x01", CHIME_EINVAL, "'\\x01' has unexpected '\\x01' at position 1" },
    { "99999999999999999999x", CHIME_EINVAL, "unknown unit 'x'" },
    { "99999999999999999999s", CHIME_ERANGE,
      "'99999999999999999999s' is out of range (at most 36600d)" },
    { "99999999999999999999", CHIME_ERANGE, "out of range" },
    { "9223372036854775807ms", CHIME_ERANGE, "out of range" },
    { "36601d", CHIME_ERANGE, "out of range" },
    { "36600d1ms", CHIME_ERANGE, "out of range" },
    { "3162240001", CHIME_ERANGE, "out of range" },
    { "5229w", CHIME_ERANGE, "out of range" },
    { "5228w4d0h0m0s1ms", CHIME_ERANGE, "out of range" },
    { "9999999w9999999d", CHIME_ERANGE, "out of range" },
};

static const struct shown shown_durations[] = {
    { 0, "0s" },
    { 1 * MS, "1ms" },
    { 250 * MS, "250ms" },
    { 1 * S, "1s" },
    { 90 * S, "1m30s" },
    { 5400 * S, "1h30m" },
    { 86400 * S, "1d" },
    { 604800 * S, "1w" },
    { 691200 * S, "1w1d" },                 /* 8 days */
    { 1209600 * S, "2w" },
    { INT64_C(788645006) * MS, "1w2d3h4m5s6ms" },
    { INT64_C(3162240000) * S, "5228w4d" },
    { 3600 * S + 1 * MS, "1h1ms" },
    { 1500, "1ms" },                        /* finer than 1ms is dropped */
    { 999, "0s" },
    { -5400 * S, "-1h30m" },
    { -1, "0s" },
    { INT64_MAX, "15250284w3d4h54s775ms" },  /* 9223372036854775 ms */
    { INT64_MIN, "-15250284w3d4h54s775ms" },
};

static const struct good good_sizes[] = {
    { "0", 0 },
    { "1", 1 },
    { "17", 17 },
    { "1048576", 1048576 },
    { "512K", 524288 },                     /* 512 * 1024 */
    { "4M", 4194304 },                      /* 4 * 1024 * 1024 */
    { "1G", 1073741824 },
    { "2T", INT64_C(2199023255552) },
    { "0K", 0 },
    { "1k", 1024 },
    { "1KB", 1024 },
    { "1kb", 1024 },
    { "1kB", 1024 },
    { "1KiB", 1024 },
    { "1kib", 1024 },
    { "1KIB", 1024 },
    { "3m", 3145728 },
    { "3MiB", 3145728 },
    { "5g", INT64_C(5368709120) },
    { "1tb", INT64_C(1099511627776) },
    { "0001K", 1024 },
    { "1024T", INT64_C(1125899906842624) },  /* the maximum, 2^50 */
    { "1048576G", INT64_C(1125899906842624) },
    { "1125899906842624", INT64_C(1125899906842624) },
};

static const struct bad bad_sizes[] = {
    { "", CHIME_EINVAL, "'' is empty" },
    { "-1", CHIME_EINVAL, "'-1' is negative" },
    { "-1K", CHIME_EINVAL, "'-1K' is negative" },
    { "+1K", CHIME_EINVAL, "unexpected '+' at position 1" },
    { "1.5G", CHIME_EINVAL, "'1.5G' has a fraction" },
    { ".5G", CHIME_EINVAL, "unexpected '.' at position 1" },
    { "K", CHIME_EINVAL, "'K' has unit 'K' without a number" },
    { "KB", CHIME_EINVAL, "has unit 'KB' without a number" },
    { "1B", CHIME_EINVAL, "'1B' has unknown unit 'B' (use K, M, G or T, or none for bytes)" },
    { "1P", CHIME_EINVAL, "unknown unit 'P'" },
    { "1Ki", CHIME_EINVAL, "unknown unit 'Ki'" },
    { "1KBB", CHIME_EINVAL, "unknown unit 'KBB'" },
    { "1iB", CHIME_EINVAL, "unknown unit 'iB'" },
    { "1KM", CHIME_EINVAL, "unknown unit 'KM'" },
    { "1Kb5", CHIME_EINVAL, "unexpected '5' at position 4" },
    { "0x10", CHIME_EINVAL, "'0x10' has unknown unit 'x'" },
    { " 1K", CHIME_EINVAL, "unexpected ' ' at position 1" },
    { "1K ", CHIME_EINVAL, "unexpected ' ' at position 3" },
    { "1 K", CHIME_EINVAL, "unexpected ' ' at position 2" },
    { "1e9", CHIME_EINVAL, "unknown unit 'e'" },
    { "1,024", CHIME_EINVAL, "unexpected ',' at position 2" },
    { "99999999999999999999B", CHIME_EINVAL, "unknown unit 'B'" },
    { "1125899906842625", CHIME_ERANGE,
      "'1125899906842625' is out of range (at most 1024T)" },
    { "1025T", CHIME_ERANGE, "out of range" },
    { "1048577G", CHIME_ERANGE, "out of range" },
    { "9007199254740992K", CHIME_ERANGE, "out of range" },  /* 2^53 K: 2^63 */
    { "99999999999999999999", CHIME_ERANGE, "out of range" },
    { "99999999999999999999K", CHIME_ERANGE, "out of range" },
};

static const struct shown shown_sizes[] = {
    { 0, "0" },
    { 1, "1" },
    { 17, "17" },
    { 1023, "1023" },
    { 1024, "1K" },
    { 1025, "1025" },
    { 1572864, "1536K" },                   /* 1.5 * 1024 * 1024 */
    { 4194304, "4M" },
    { 1073741824, "1G" },
    { INT64_C(3221225472), "3G" },
    { INT64_C(2199023255552), "2T" },
    { INT64_C(1125899906842624), "1024T" },
    { INT64_C(1099511628800), "1073741825K" },  /* 2^40 + 2^10 */
    { -5, "-5" },
    { -1024, "-1024" },
};

/* A fixed xorshift64* sequence, so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static void check_good(const struct good *rows, size_t n,
                       int (*parse)(const char *, const char *, int64_t *,
                                    struct err *))
{
    size_t i;

    for (i = 0; i < n; i++) {
        struct err err = { 0 };
        int64_t v = -42;
        int rc = parse(rows[i].text, "f", &v, &err);

        if (rc != 0)
            fail_msg("'%s' failed: %s", rows[i].text, err.msg);
        if (v != rows[i].value)
            fail_msg("'%s' gave %" PRId64 ", expected %" PRId64,
                     rows[i].text, v, rows[i].value);
    }
}

static void check_bad(const struct bad *rows, size_t n,
                      int (*parse)(const char *, const char *, int64_t *,
                                   struct err *))
{
    size_t i;

    for (i = 0; i < n; i++) {
        struct err err = { 0 };
        int64_t v = -42;
        int rc = parse(rows[i].text, "timeout", &v, &err);

        if (rc != -rows[i].code || err.code != rows[i].code)
            fail_msg("'%s' gave %d (%s), expected %d", rows[i].text, rc,
                     err.msg, -rows[i].code);
        if (!strstr(err.msg, rows[i].says))
            fail_msg("'%s' said \"%s\", expected it to say \"%s\"",
                     rows[i].text, err.msg, rows[i].says);
        if (strcmp(err.field, "timeout") != 0)
            fail_msg("'%s' named field '%s'", rows[i].text, err.field);
        if (v != -42)
            fail_msg("'%s' wrote its result on failure", rows[i].text);
    }
}

static void check_shown(const struct shown *rows, size_t n,
                        char *(*format)(int64_t, char *, size_t))
{
    size_t i;

    for (i = 0; i < n; i++) {
        char buf[32];

        if (format(rows[i].value, buf, sizeof buf) != buf)
            fail_msg("%" PRId64 " did not return its buffer", rows[i].value);
        if (strcmp(buf, rows[i].text) != 0)
            fail_msg("%" PRId64 " gave '%s', expected '%s'", rows[i].value,
                     buf, rows[i].text);
    }
}

static void test_duration_parses_every_unit_and_combination(void **state)
{
    (void)state;
    check_good(good_durations,
               sizeof good_durations / sizeof good_durations[0],
               units_duration_parse);
}

static void test_duration_rejects_garbage_and_excess_naming_the_field(void **state)
{
    (void)state;
    check_bad(bad_durations, sizeof bad_durations / sizeof bad_durations[0],
              units_duration_parse);
}

static void test_duration_null_is_empty(void **state)
{
    struct err err = { 0 };
    int64_t v;

    (void)state;
    assert_int_equal(units_duration_parse(NULL, "timeout", &v, &err),
                     -CHIME_EINVAL);
    assert_int_equal(units_duration_parse("5m", "timeout", &v, NULL), 0);
    assert_int_equal(units_duration_parse("5x", "timeout", &v, NULL),
                     -CHIME_EINVAL);
}

/* Fills BUF with N copies of C followed by TAIL. */
static char *repeat(char c, size_t n, const char *tail)
{
    size_t t = strlen(tail);
    char *s = malloc(n + t + 1);

    assert_non_null(s);
    memset(s, c, n);
    memcpy(s + n, tail, t + 1);
    return s;
}

static void test_duration_survives_very_long_digit_strings(void **state)
{
    struct err err = { 0 };
    int64_t v = 0;
    char *s;

    (void)state;
    s = repeat('9', 100000, "s");
    assert_int_equal(units_duration_parse(s, "f", &v, &err), -CHIME_ERANGE);
    assert_true(strlen(err.msg) < sizeof err.msg - 1);
    assert_non_null(strstr(err.msg, "...' is out of range"));
    free(s);

    s = repeat('9', 100000, "");
    assert_int_equal(units_duration_parse(s, "f", &v, &err), -CHIME_ERANGE);
    free(s);

    s = repeat('9', 100000, "q");
    assert_int_equal(units_duration_parse(s, "f", &v, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "unknown unit 'q'"));
    free(s);

    s = repeat('0', 100000, "1h");              /* long, but only 1h */
    assert_int_equal(units_duration_parse(s, "f", &v, &err), 0);
    assert_int_equal(v, 3600 * S);
    free(s);

    s = repeat('x', 100000, "");
    assert_int_equal(units_duration_parse(s, "f", &v, &err), -CHIME_EINVAL);
    assert_true(strlen(err.msg) < sizeof err.msg - 1);
    free(s);

    s = repeat('h', 100000, "");
    s[0] = '1';
    assert_int_equal(units_duration_parse(s, "f", &v, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "unknown unit 'hhhhhhhhhh"));
    assert_non_null(strstr(err.msg, "...' (use"));
    free(s);
}

static void test_duration_formats_largest_units_first(void **state)
{
    (void)state;
    check_shown(shown_durations,
                sizeof shown_durations / sizeof shown_durations[0],
                units_duration_format);
}

static void test_duration_format_cuts_at_a_small_buffer(void **state)
{
    char buf[8];

    (void)state;
    memset(buf, 'z', sizeof buf);
    units_duration_format(INT64_C(788645006) * MS, buf, 5);
    assert_string_equal(buf, "1w2d");
    assert_int_equal(buf[5], 'z');
    units_duration_format(INT64_C(788645006) * MS, buf, 1);
    assert_string_equal(buf, "");
    buf[0] = 'z';
    units_duration_format(0, buf, 0);
    assert_int_equal(buf[0], 'z');
}

static void round_trip_duration(int64_t us)
{
    struct err err = { 0 };
    char buf[32];
    int64_t back = -1;

    units_duration_format(us, buf, sizeof buf);
    if (units_duration_parse(buf, "f", &back, &err) != 0)
        fail_msg("%" PRId64 " formatted as '%s', which fails: %s", us, buf,
                 err.msg);
    if (back != us)
        fail_msg("%" PRId64 " formatted as '%s', which parses as %" PRId64,
                 us, buf, back);
}

static void test_duration_round_trips_through_format(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good_durations / sizeof good_durations[0]; i++)
        round_trip_duration(good_durations[i].value);
    for (i = 0; i < 100000; i++) {
        /* whole milliseconds up to the maximum, and small values */
        uint64_t r = rng_next();
        int64_t ms = (int64_t)(r % (uint64_t)(UNITS_DURATION_MAX_US / MS + 1));

        if (i % 2)
            ms %= INT64_C(1) << (r >> 58) % 42;
        round_trip_duration(ms * MS);
    }
    round_trip_duration(UNITS_DURATION_MAX_US);
}

static void test_size_parses_letters_in_any_case_with_b_or_ib(void **state)
{
    (void)state;
    check_good(good_sizes, sizeof good_sizes / sizeof good_sizes[0],
               units_size_parse);
}

static void test_size_rejects_negatives_fractions_and_excess(void **state)
{
    (void)state;
    check_bad(bad_sizes, sizeof bad_sizes / sizeof bad_sizes[0],
              units_size_parse);
}

static void test_size_survives_very_long_digit_strings(void **state)
{
    struct err err = { 0 };
    int64_t v = 0;
    char *s;

    (void)state;
    s = repeat('9', 100000, "T");
    assert_int_equal(units_size_parse(s, "f", &v, &err), -CHIME_ERANGE);
    free(s);
    s = repeat('0', 100000, "4kib");
    assert_int_equal(units_size_parse(s, "f", &v, &err), 0);
    assert_int_equal(v, 4096);
    free(s);
    assert_int_equal(units_size_parse(NULL, "f", &v, &err), -CHIME_EINVAL);
}

static void test_size_formats_the_largest_exact_unit(void **state)
{
    (void)state;
    check_shown(shown_sizes, sizeof shown_sizes / sizeof shown_sizes[0],
                units_size_format);
}

static void round_trip_size(int64_t bytes)
{
    struct err err = { 0 };
    char buf[32];
    int64_t back = -1;

    units_size_format(bytes, buf, sizeof buf);
    if (units_size_parse(buf, "f", &back, &err) != 0)
        fail_msg("%" PRId64 " formatted as '%s', which fails: %s", bytes, buf,
                 err.msg);
    if (back != bytes)
        fail_msg("%" PRId64 " formatted as '%s', which parses as %" PRId64,
                 bytes, buf, back);
}

static void test_size_round_trips_through_format(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good_sizes / sizeof good_sizes[0]; i++)
        round_trip_size(good_sizes[i].value);
    for (i = 0; i < 100000; i++) {
        /* any value, and values that are whole K, M, G or T */
        uint64_t r = rng_next();
        int64_t b = (int64_t)(r % (uint64_t)(UNITS_SIZE_MAX + 1));

        if (i % 2)
            b &= ~((INT64_C(1) << (10 * (1 + r % 4))) - 1);
        round_trip_size(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parses_every_unit_and_combination),
        cmocka_unit_test(test_duration_rejects_garbage_and_excess_naming_the_field),
        cmocka_unit_test(test_duration_null_is_empty),
        cmocka_unit_test(test_duration_survives_very_long_digit_strings),
        cmocka_unit_test(test_duration_formats_largest_units_first),
        cmocka_unit_test(test_duration_format_cuts_at_a_small_buffer),
        cmocka_unit_test(test_duration_round_trips_through_format),
        cmocka_unit_test(test_size_parses_letters_in_any_case_with_b_or_ib),
        cmocka_unit_test(test_size_rejects_negatives_fractions_and_excess),
        cmocka_unit_test(test_size_survives_very_long_digit_strings),
        cmocka_unit_test(test_size_formats_the_largest_exact_unit),
        cmocka_unit_test(test_size_round_trips_through_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
