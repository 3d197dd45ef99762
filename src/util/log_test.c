/* log_test.c: log lines in their three formats, levels, and the escaping
 * that keeps a JSON line valid JSON whatever the message holds. */
#include "util/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../banned.h"

/* Runs FN with stderr into a pipe and returns what it wrote. */
static const char *capture(void (*fn)(void))
{
    static char buf[8192];
    int p[2], saved = dup(2);
    ssize_t n;

    assert_int_equal(pipe(p), 0);
    dup2(p[1], 2);
    fn();
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void say_hostile(void)
{
    log_info("job %s: \"quoted\" \\ tab\there\nnewline \x01 bad\xff utf8 caf\xc3\xa9", "ns/a");
}

static void say_levels(void)
{
    log_debug("hidden");
    log_info("shown info");
    log_warn("shown warn");
    log_error("shown error");
}

static void test_log_json_lines_are_valid_json(void **state)
{
    const char *out;
    json_error_t e;
    json_t *j;

    (void)state;
    log_set_format(LOG_JSON);
    out = capture(say_hostile);
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out)); /* one line */
    j = json_loads(out, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "job ns/a: \"quoted\" \\ tab\there\nnewline \x01 bad\xef\xbf\xbd utf8 "
                        "caf\xc3\xa9");
    assert_non_null(json_string_value(json_object_get(j, "ts")));
    json_decref(j);
    log_set_format(LOG_LOGFMT);
}

static void test_log_logfmt_quotes_one_line(void **state)
{
    const char *out;

    (void)state;
    log_set_format(LOG_LOGFMT);
    out = capture(say_hostile);
    assert_non_null(strstr(out, " level=info msg=\"job ns/a: \\\"quoted\\\" \\\\ tab\\x09here"
                                "\\x0anewline \\x01 bad\\xff utf8 caf\xc3\xa9\"\n"));
    assert_int_equal(strncmp(out, "ts=", 3), 0);
}

static void test_log_levels_filter_and_name_lines(void **state)
{
    enum log_level lv;
    enum log_format f;
    const char *out;

    (void)state;
    log_set_format(LOG_TEXT);
    out = capture(say_levels);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, " info shown info\n"));
    assert_non_null(strstr(out, " warn shown warn\n"));
    assert_non_null(strstr(out, " error shown error\n"));
    log_set_level(LOG_ERROR);
    out = capture(say_levels);
    assert_null(strstr(out, "shown info"));
    assert_non_null(strstr(out, "shown error"));
    log_set_level(LOG_INFO);
    assert_int_equal(log_level_parse("warn", &lv), 0);
    assert_int_equal(lv, LOG_WARN);
    assert_int_equal(log_level_parse("loud", &lv), -1);
    assert_int_equal(log_format_parse("json", &f), 0);
    assert_int_equal(f, LOG_JSON);
    assert_int_equal(log_format_parse("xml", &f), -1);
    log_set_format(LOG_LOGFMT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_json_lines_are_valid_json),
        cmocka_unit_test(test_log_logfmt_quotes_one_line),
        cmocka_unit_test(test_log_levels_filter_and_name_lines),
    };

    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
