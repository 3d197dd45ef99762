/* record_test.c: tests of record.c: the exit record's JSON both ways, the
 * outcome worked out from its fields, and the atomic write. */
#include "exec/record.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "exec/exec.h"
#include "util/err.h"
#include "../banned.h"

static void test_record_round_trips_through_json(void **state)
{
    struct exec_result r = {
        .exit_code = -1,
        .signal = 9,
        .timed_out = true,
        .cpu_user_ms = 1234,
        .cpu_sys_ms = 56,
        .max_rss_kb = 4096,
        .output_bytes = INT64_C(67108874),
        .started_us = INT64_C(1764000000000001),
        .finished_us = INT64_C(1764000003000002),
        .job_pid = 4242,
        .holder_pid = 4241,
        .error = "output file write failed: x",
    };
    struct exec_result back;
    json_t *j;

    (void)state;
    exec_record_outcome(&r);
    assert_int_equal(r.outcome, EXEC_TIMED_OUT);
    j = exec_record_to_json(&r);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "timed-out");
    assert_true(json_is_null(json_object_get(j, "exit_code")));
    assert_int_equal(exec_record_from_json(j, &back, NULL), 0);
    assert_memory_equal(&back, &r, sizeof r);
    json_decref(j);
}

static void test_record_outcome_prefers_cancel_then_timeout_then_signal(void **state)
{
    const struct {
        int code, sig;
        bool timed_out, cancelled;
        enum exec_outcome want;
    } rows[] = {
        {0, 0, false, false, EXEC_EXITED},     {3, 0, false, false, EXEC_EXITED},
        {-1, 15, false, false, EXEC_SIGNALED}, {-1, 9, true, false, EXEC_TIMED_OUT},
        {0, 0, true, false, EXEC_TIMED_OUT}, /* exited on its own after SIGTERM */
        {-1, 15, true, true, EXEC_CANCELLED},  {-1, 0, false, false, EXEC_FAILED},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct exec_result r = {.exit_code = rows[i].code,
                                .signal = rows[i].sig,
                                .timed_out = rows[i].timed_out,
                                .cancelled = rows[i].cancelled};

        exec_record_outcome(&r);
        assert_int_equal(r.outcome, rows[i].want);
    }
}

static void test_record_parse_rejects_wrong_types_naming_the_field(void **state)
{
    const struct {
        const char *text, *field;
    } bad[] = {
        {"{\"exit_code\": \"0\"}", "exit_code"},
        {"{\"exit_code\": 256}", "exit_code"},
        {"{\"signal\": 0}", "signal"},
        {"{\"timed_out\": 1}", "timed_out"},
        {"{\"error\": 5}", "error"},
        {"[]", ""},
        {"{", ""},
    };
    struct exec_result r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct err err = {0};

        assert_int_equal(exec_record_parse(bad[i].text, strlen(bad[i].text), &r, &err),
                         -CHIME_EINVAL);
        assert_string_equal(err.field, bad[i].field);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trips_through_json),
        cmocka_unit_test(test_record_outcome_prefers_cancel_then_timeout_then_signal),
        cmocka_unit_test(test_record_parse_rejects_wrong_types_naming_the_field),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
