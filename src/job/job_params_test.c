/* job_params_test.c: tests of a job's params: names the loader, a shell,
 * an interpreter or chime reads are refused, so are oversized params; a
 * trigger's values resolve against the declared params and their
 * patterns, hostile patterns included. The helpers are job_test.h's. */
#include "job/job.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "job/jobdoc.h"
#include "store/store.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "job/job_test.h"
#include "../banned.h"

/* ---- params ---- */

/* A job document of NAME with params PARAMS (a JSON object's text). */
static int parse_params(const char *params, struct job **ret, struct err *err)
{
    char text[4096];

    snprintf(text, sizeof text,
             "{\"name\": \"p\", \"schedule\": {\"manual\": true}, \"shell\": \"true\","
             " \"params\": %s}", params);
    return job_parse(text, strlen(text), NULL, ret, err);
}

/* What the loader, a shell, an interpreter or chime reads is never a
 * param, in any case; names that merely begin alike are. */
static void test_job_refuses_every_forbidden_param_name(void **state)
{
    static const char *const refused[] = {
        "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_", "ld_preload", "BASH_ENV",
        "BASH_FUNC_ls", "ENV", "PATH", "path", "IFS", "SHELLOPTS", "BASHOPTS", "PS1", "PS4",
        "PROMPT_COMMAND", "CDPATH", "GLOBIGNORE", "HOME", "SHELL", "GCONV_PATH",
        "GLIBC_TUNABLES", "MALLOC_CHECK_", "LOCPATH", "NLSPATH", "PYTHONPATH",
        "PYTHONSTARTUP", "PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS", "CLASSPATH", "LUA_INIT", "GIT_SSH_COMMAND", "GIT_CONFIG_COUNT",
        "XDG_CONFIG_HOME", "EDITOR", "PAGER", "LESSOPEN", "OPENSSL_CONF", "https_proxy",
        "HTTP_PROXY", "CHIME_URL", "CHIME_TOKEN", "CHIME_BIN", "chime_x", "DOTNET_STARTUP_HOOKS",
        "MAKEFLAGS", "GOFLAGS", "ZDOTDIR", "FPATH",
    };
    static const char *const allowed[] = {
        "BACKFILL_DAYS", "MODE", "LDAP_HOST", "PATHNAME", "HOMEDIR", "ENVIRONMENT", "IFSX",
        "PS5", "SHELLY", "GOAL", "R", "CHIMES", "NODE", "PYTHO", "_",
    };
    char params[256], field[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct err err = { 0 };
        struct job *j = NULL;

        snprintf(params, sizeof params, "{\"%s\": {\"pattern\": \".*\"}}", refused[i]);
        snprintf(field, sizeof field, "params.%s", refused[i]);
        if (parse_params(params, &j, &err) != -CHIME_EINVAL || strcmp(err.field, field) != 0
            || !strstr(err.msg, "may not be a parameter: "))
            fail_msg("'%s' was not refused: %s: %s", refused[i], err.field, err.msg);
        assert_null(j);
    }
    for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        struct err err = { 0 };
        struct job *j = NULL;

        snprintf(params, sizeof params, "{\"%s\": {\"pattern\": \".*\"}}", allowed[i]);
        if (parse_params(params, &j, &err) < 0)
            fail_msg("'%s' was refused: %s: %s", allowed[i], err.field, err.msg);
        assert_int_equal(j->body->n_params, 1);
        job_free(j);
    }
}

static void test_job_refuses_oversized_params(void **state)
{
    char *big = malloc(8192), *p;
    struct err err = { 0 };
    struct job *j = NULL;
    int i;

    (void)state;
    /* 65 params */
    p = big + snprintf(big, 8192, "{");
    for (i = 0; i < 65; i++)
        p += snprintf(p, (size_t)(big + 8192 - p), "%s\"P%d\": {\"pattern\": \"x\"}",
                      i ? ", " : "", i);
    snprintf(p, (size_t)(big + 8192 - p), "}");
    assert_int_equal(parse_params(big, &j, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params");
    assert_non_null(strstr(err.msg, "65 parameters are more than 64"));
    /* a pattern of 257 bytes */
    snprintf(big, 8192, "{\"N\": {\"pattern\": \"%0257d\"}}", 0);
    assert_int_equal(parse_params(big, &j, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params.N.pattern");
    assert_non_null(strstr(err.msg, "is longer than 256 bytes"));
    /* a default of 1025 bytes, though it matches */
    snprintf(big, 8192, "{\"N\": {\"pattern\": \"[0-9]*\", \"default\": \"%01025d\"}}", 0);
    assert_int_equal(parse_params(big, &j, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params.N.default");
    assert_non_null(strstr(err.msg, "is longer than 1024 bytes"));
    /* a description of 1025 bytes */
    snprintf(big, 8192, "{\"N\": {\"pattern\": \"x\", \"description\": \"%01025d\"}}", 0);
    assert_int_equal(parse_params(big, &j, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params.N.description");
    /* at the bounds: accepted */
    snprintf(big, 8192, "{\"N\": {\"pattern\": \"[0-9]{1,200}\", \"default\": \"%0200d\","
             " \"description\": \"%01024d\"}}", 0, 0);
    if (parse_params(big, &j, &err) < 0)
        fail_msg("refused: %s: %s", err.field, err.msg);
    assert_int_equal(strlen(j->body->params[0].def), 200);
    job_free(j);
    free(big);
}

/* A trigger's values: only declared params, each matching as a whole;
 * the defaults fill the rest. */
static void test_job_params_resolve_takes_declared_values_and_defaults(void **state)
{
    static const struct { const char *given; const char *field, *says; } bad[] = {
        { "{\"C\": \"1\"}", "params.C", "'C' is not a parameter of this job" },
        { "{\"LD_PRELOAD\": \"/x.so\"}", "params.LD_PRELOAD",
          "'LD_PRELOAD' may never be set by a trigger: the dynamic loader" },
        { "{\"BASH_ENV\": \"/x\"}", "params.BASH_ENV", "may never be set by a trigger" },
        { "{\"CHIME_TOKEN\": \"x\"}", "params.CHIME_TOKEN", "may never be set by a trigger" },
        { "{\"A\": \"1a\"}", "params.A", "'1a' does not match the pattern '[0-9]+'" },
        { "{\"A\": \"a1\"}", "params.A", "does not match" },
        { "{\"A\": \"\"}", "params.A", "does not match" },
        { "{\"A\": \"1\\n2\"}", "params.A", "does not match" },
        { "{\"B\": \"xy\"}", "params.B", "'xy' does not match the pattern 'x|y'" },
        { "{\"A\": 1}", "params.A", "got an integer, want a string" },
        { "{\"A\": null}", "params.A", "got null, want a string" },
        { "{\"A\": \"1\\u00002\"}", "params.A", "NUL byte at position 2" },
        { "[\"A=1\"]", "params", "got an array, want an object of strings" },
    };
    struct job *j = NULL;
    struct err err = { 0 };
    const char *v[2];
    char long_value[1025];
    json_t *given;
    size_t i;

    (void)state;
    assert_int_equal(parse_params("{\"B\": {\"pattern\": \"x|y\"},"
                                  " \"A\": {\"pattern\": \"[0-9]+\", \"default\": \"1\"}}",
                                  &j, &err), 0);
    assert_string_equal(j->body->params[0].name, "A");     /* sorted */
    assert_int_equal(job_params_resolve(j->body, NULL, v, &err), 0);
    assert_string_equal(v[0], "1");
    assert_null(v[1]);
    given = json_loads("{\"B\": \"y\"}", 0, NULL);
    assert_int_equal(job_params_resolve(j->body, given, v, &err), 0);
    assert_string_equal(v[0], "1");
    assert_string_equal(v[1], "y");
    json_decref(given);
    given = json_loads("{\"A\": \"0042\", \"B\": \"x\"}", 0, NULL);
    assert_int_equal(job_params_resolve(j->body, given, v, &err), 0);
    assert_string_equal(v[0], "0042");
    assert_string_equal(v[1], "x");
    json_decref(given);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        given = json_loads(bad[i].given, JSON_ALLOW_NUL, NULL);
        assert_non_null(given);
        memset(&err, 0, sizeof err);
        if (job_params_resolve(j->body, given, v, &err) != -CHIME_EINVAL
            || strcmp(err.field, bad[i].field) != 0 || !strstr(err.msg, bad[i].says))
            fail_msg("%s: got %s: %s", bad[i].given, err.field, err.msg);
        json_decref(given);
    }
    /* a value past 1024 bytes, though it would match */
    memset(long_value, '1', sizeof long_value);
    given = json_pack("{s:s#}", "A", long_value, (int)sizeof long_value);
    assert_int_equal(job_params_resolve(j->body, given, v, &err), -CHIME_ETOOBIG);
    assert_string_equal(err.field, "params.A");
    json_decref(given);
    job_free(j);
}

/* Patterns that backtracking engines take exponential time over: glibc
 * answers them over the longest value allowed, and does not match. */
static void test_job_params_match_hostile_values(void **state)
{
    static const char *const patterns[] = {
        "(a|aa)*b", "(a*)*b", "(a+)+b", "(.*a){20}b", "(a|a?)+b", "(a?){100}a{100}b",
        "([a-z]*,?)*b", "((a*)(a*))*b", "(a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*)*b",
    };
    char doc[512], value[1025];
    size_t i;

    (void)state;
    memset(value, 'a', 1024);
    value[1024] = '\0';
    for (i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        struct job *j = NULL;
        struct err err = { 0 };
        const char *v[1];
        json_t *given = json_pack("{s:s}", "N", value);

        snprintf(doc, sizeof doc, "{\"N\": {\"pattern\": \"%s\"}}", patterns[i]);
        if (parse_params(doc, &j, &err) < 0)
            fail_msg("%s refused: %s", patterns[i], err.msg);
        assert_int_equal(job_params_resolve(j->body, given, v, &err), -CHIME_EINVAL);
        assert_non_null(strstr(err.msg, "does not match"));
        json_decref(given);
        job_free(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_refuses_every_forbidden_param_name),
        cmocka_unit_test(test_job_refuses_oversized_params),
        cmocka_unit_test(test_job_params_resolve_takes_declared_values_and_defaults),
        cmocka_unit_test(test_job_params_match_hostile_values),
    };

    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
