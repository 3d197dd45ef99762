/* job_errors_test.c: the job documents job.c refuses.
 *
 * Bad documents are a table: each row changes one thing in a valid base
 * document and names the field the error must point at and a part of its
 * message. Then generated documents past every size and count, and
 * documents built in code rather than parsed. The helpers are
 * job_test.h's. */
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

/* ---- bad documents ---- */

/* A row's PATCH is merged into BASE (a null member removes it), unless it
 * starts with '{', '[' or is empty: then it is the whole text. */
struct bad {
    const char *patch;
    const char *field;
    const char *says;
};

static const char bad_base[] =
    "{\"name\": \"job1\", \"schedule\": {\"cron\": \"0 2 * * *\"}, \"command\": [\"/bin/true\"]}";

static const struct bad bad_docs[] = {
    /* the document itself */
    { "", "", "invalid JSON at line 1" },
    { "[]", "", "got an array, want an object" },
    { "\"job\"", "", "invalid JSON" },
    { "{\"name\": \"job1\",", "", "invalid JSON at line 1, column" },
    { "{\"name\": \"job1\"} x", "", "invalid JSON" },
    { "{\"name\": \"a\", \"name\": \"b\"}", "", "duplicate object key" },
    { "{\"name\": \"\xff\"}", "", "invalid JSON" },
    { "{\"name\": \"\xc0\xaf\"}", "", "invalid JSON" },
    { "{\"name\": \"job1\", \"env\": {\"A\\u0000B\": \"1\"}}", "", "NUL byte in object key" },
    { "\"colour\": \"red\"", "colour", "unknown field 'colour'" },
    { "\"pause\": true", "pause", "unknown field 'pause' (did you mean 'paused'?)" },
    /* name and namespace */
    { "\"name\": null", "name", "missing field 'name'" },
    { "\"name\": 5", "name", "got an integer, want a string" },
    { "\"name\": \"\"", "name", "'' is empty" },
    { "\"name\": \"Nightly\"", "name", "'Nightly' starts with 'N'" },
    { "\"name\": \"-x\"", "name", "'-x' starts with '-'" },
    { "\"name\": \"a b\"", "name", "'a b' has ' ' at position 2" },
    { "\"name\": \"a/b\"", "name", "'a/b' has '/' at position 2" },
    { "\"name\": \"a\\u0000b\"", "name", "NUL byte at position 2" },
    { "\"name\": \"a234567890123456789012345678901234567890123456789012345678901234\"", "name",
      "is longer than 63 bytes" },
    { "\"namespace\": \"Sales\"", "namespace", "'Sales' starts with 'S'" },
    { "\"namespace\": [\"a\"]", "namespace", "got an array, want a string" },
    { "\"description\": 1", "description", "got an integer, want a string" },
    { "\"description\": \"a\\u0000b\"", "description", "a NUL byte at position 2 (after 'a')" },
    /* schedule */
    { "\"schedule\": null", "schedule", "missing field 'schedule'" },
    { "\"schedule\": \"0 2 * * *\"", "schedule", "got a string, want an object" },
    { "\"schedule\": {}", "schedule", "no kind of schedule" },
    { "\"schedule\": {\"cron\": \"* * * * *\", \"every\": \"1h\"}", "schedule.every",
      "'cron' and 'every' are both given" },
    { "\"schedule\": {\"manual\": true, \"at\": \"2026-01-01T00:00:00Z\"}", "schedule.at",
      "'manual' and 'at' are both given" },
    { "\"schedule\": {\"cron\": \"* * * * *\", \"jitter\": \"1s\"}", "schedule.jitter",
      "'jitter' goes with 'every', not with 'cron'" },
    { "\"schedule\": {\"at\": \"2026-01-01T00:00:00Z\", \"when\": \"always\"}", "schedule.when",
      "'when' goes with 'after', not with 'at'" },
    { "\"schedule\": {\"cron\": \"* * * * *\", \"tz\": \"UTC\"}", "schedule.tz", "unknown field 'tz'" },
    { "\"schedule\": {\"cron\": \"* * * * *\", \"tz\": \"UTC\"}", "schedule.tz", "'tz'" },
    { "\"schedule\": {\"crn\": \"* * * * *\"}", "schedule.crn",
      "unknown field 'crn' (did you mean 'cron'?)" },
    { "\"schedule\": {\"cron\": 5}", "schedule.cron", "got an integer, want a string" },
    { "\"schedule\": {\"cron\": \"61 * * * *\"}", "schedule.cron", "minute '61' is out of range 0-59" },
    { "\"schedule\": {\"cron\": \"* * * *\"}", "schedule.cron", "has 4 fields, not 5 or 6" },
    { "\"schedule\": {\"cron\": \"0 0 30 2 *\"}", "schedule.cron", "never fires" },
    { "\"schedule\": {\"cron\": \"@daily\", \"timezone\": \"Mars/Olympus\"}", "schedule.timezone",
      "unknown time zone 'Mars/Olympus'" },
    { "\"schedule\": {\"cron\": \"@daily\", \"timezone\": \"../etc/passwd\"}", "schedule.timezone",
      "invalid time zone name" },
    { "\"schedule\": {\"cron\": \"@daily\", \"timezone\": 1}", "schedule.timezone",
      "got an integer, want a string" },
    { "\"schedule\": {\"every\": \"0s\"}", "schedule.every", "'0s' is less than 1s" },
    { "\"schedule\": {\"every\": \"-5m\"}", "schedule.every", "'-5m' is negative" },
    { "\"schedule\": {\"every\": -5}", "schedule.every", "'-5' is negative" },
    { "\"schedule\": {\"every\": 1.5}", "schedule.every", "got a real number, want a duration" },
    { "\"schedule\": {\"every\": \"15m\", \"jitter\": \"15m\"}", "schedule.jitter",
      "'15m' is not less than the period '15m'" },
    { "\"schedule\": {\"every\": \"15m\", \"start\": \"2026-01-01T00:00\"}", "schedule.start",
      "'2026-01-01T00:00' has no UTC offset" },
    { "\"schedule\": {\"every\": \"15m\", \"start\": \"2026-01-01\"}", "schedule.start",
      "has no UTC offset" },
    { "\"schedule\": {\"every\": \"15m\", \"start\": \"yesterday\"}", "schedule.start",
      "is not ISO 8601" },
    { "\"schedule\": {\"at\": \"2026-02-30T00:00:00Z\"}", "schedule.at", "has day 30 out of range" },
    { "\"schedule\": {\"at\": null}", "schedule.at", "got null, want a string" },
    { "\"schedule\": {\"at\": \"0001-01-01T00:00:00+05:00\"}", "schedule.at",
      "is out of range (years 0001-9999 in UTC)" },
    { "\"schedule\": {\"at\": \"9999-12-31T23:59:59-00:01\"}", "schedule.at", "is out of range" },
    { "\"schedule\": {\"after\": []}", "schedule.after", "empty array" },
    { "\"schedule\": {\"after\": \"x\"}", "schedule.after", "got a string, want an array" },
    { "\"schedule\": {\"after\": [\"job1\"]}", "schedule.after[0]", "'default/job1' is this job itself" },
    { "\"schedule\": {\"after\": [\"default/job1\"]}", "schedule.after[0]", "is this job itself" },
    { "\"schedule\": {\"after\": [\"a\", \"default/a\"]}", "schedule.after[1]",
      "'default/a' is listed twice" },
    { "\"schedule\": {\"after\": [\"a/b/c\"]}", "schedule.after[0]", "'b/c' has '/' at position 2" },
    { "\"schedule\": {\"after\": [\"/a\"]}", "schedule.after[0]", "'' is empty" },
    { "\"schedule\": {\"after\": [3]}", "schedule.after[0]", "got an integer, want a string" },
    { "\"schedule\": {\"after\": [\"a\"], \"when\": \"sometimes\"}", "schedule.when",
      "'sometimes' is not one of success, failure or always" },
    { "\"schedule\": {\"manual\": false}", "schedule.manual", "want {\"manual\": true}" },
    { "\"schedule\": {\"manual\": 1}", "schedule.manual", "got an integer, want true" },
    /* command and shell */
    { "\"shell\": \"true\"", "shell", "'shell' and 'command' are both given" },
    { "\"command\": null", "command", "missing field 'command' (an argv array) or 'shell'" },
    { "\"command\": []", "command", "empty array" },
    { "\"command\": \"/bin/true\"", "command", "got a string, want an array of strings" },
    { "\"command\": [\"/bin/echo\", 5]", "command[1]", "got an integer, want a string" },
    { "\"command\": [\"\"]", "command[0]", "'' is empty" },
    { "\"command\": [\"/bin/echo\", \"a\\u0000b\"]", "command[1]", "NUL byte at position 2" },
    { "\"command\": null, \"shell\": \"\"", "shell", "'' is empty" },
    { "\"command\": null, \"shell\": [\"true\"]", "shell", "got an array, want a string" },
    /* workdir */
    { "\"workdir\": \"/etc\"", "workdir", "'/etc' is absolute" },
    { "\"workdir\": \"a/../../b\"", "workdir", "'a/../../b' has a '..' component" },
    { "\"workdir\": \"..\"", "workdir", "has a '..' component" },
    { "\"workdir\": \"a//..\"", "workdir", "has a '..' component" },
    { "\"workdir\": \"\"", "workdir", "'' is empty" },
    { "\"workdir\": \"a\\u0000b\"", "workdir", "NUL byte at position 2" },
    { "\"workdir\": 7", "workdir", "got an integer, want a string" },
    /* env */
    { "\"env\": [\"A=1\"]", "env", "got an array, want an object of strings" },
    { "\"env\": {\"CHIME_JOB\": \"x\"}", "env.CHIME_JOB", "'CHIME_JOB' is reserved" },
    { "\"env\": {\"1A\": \"x\"}", "env.1A", "'1A' is not a variable name" },
    { "\"env\": {\"A-B\": \"x\"}", "env.A-B", "'A-B' is not a variable name" },
    { "\"env\": {\"\": \"x\"}", "env.", "'' is not 1-128 bytes long" },
    { "\"env\": {\"A\": 1}", "env.A", "got an integer, want a string" },
    { "\"env\": {\"A\": \"a\\u0000b\"}", "env.A", "NUL byte at position 2" },
    /* params */
    { "\"params\": []", "params", "got an array, want an object of parameters" },
    { "\"params\": {\"N\": \"^x$\"}", "params.N", "got a string, want an object with a pattern" },
    { "\"params\": {\"N\": {}}", "params.N.pattern", "missing field 'params.N.pattern'" },
    { "\"params\": {\"N\": {\"pattern\": null}}", "params.N.pattern", "missing field" },
    { "\"params\": {\"N\": {\"pattern\": \"x\", \"colour\": 1}}", "params.N.colour",
      "unknown field 'colour'" },
    { "\"params\": {\"N\": {\"pattern\": \"x\", \"defualt\": \"x\"}}", "params.N.defualt",
      "(did you mean 'default'?)" },
    { "\"params\": {\"N\": {\"pattern\": \"(\"}}", "params.N.pattern",
      "'(' is not a POSIX extended regular expression (" },
    { "\"params\": {\"N\": {\"pattern\": \"[a-\"}}", "params.N.pattern",
      "'[a-' is not a POSIX extended regular expression" },
    { "\"params\": {\"N\": {\"pattern\": \"a{2,1}\"}}", "params.N.pattern",
      "is not a POSIX extended regular expression" },
    { "\"params\": {\"N\": {\"pattern\": \"a)|(b\"}}", "params.N.pattern",
      "'a)|(b' has an unmatched ')'" },
    { "\"params\": {\"N\": {\"pattern\": \"\"}}", "params.N.pattern", "'' is empty" },
    { "\"params\": {\"N\": {\"pattern\": 5}}", "params.N.pattern", "got an integer, want a string" },
    { "\"params\": {\"N\": {\"pattern\": \"a\\u0000b\"}}", "params.N.pattern",
      "NUL byte at position 2" },
    { "\"params\": {\"N\": {\"pattern\": \"(a*)\\\\1\"}}", "params.N.pattern",
      "has a back-reference" },
    { "\"params\": {\"N\": {\"pattern\": \"((a{20}){20})\"}}", "params.N.pattern",
      "is too complex: its repeats expand to more than 256 atoms" },
    { "\"params\": {\"N\": {\"pattern\": \"[0-9]{300}\"}}", "params.N.pattern", "is too complex" },
    { "\"params\": {\"N\": {\"pattern\": \"(x{2,}){200,}\"}}", "params.N.pattern", "is too complex" },
    { "\"params\": {\"N\": {\"pattern\": \"((((a*)*)*)*b\"}}", "params.N.pattern",
      "'((((a*)*)*)*b' nests repeats more than 2 deep" },
    { "\"params\": {\"N\": {\"pattern\": \"x|((a|a?)+)+b\"}}", "params.N.pattern",
      "nests repeats more than 2 deep" },
    { "\"params\": {\"N\": {\"pattern\": \"a++++b\"}}", "params.N.pattern",
      "'a++++b' repeats a repeat" },
    { "\"params\": {\"N\": {\"pattern\": \"(a)*{2}\"}}", "params.N.pattern", "repeats a repeat" },
    { "\"params\": {\"N\": {\"pattern\": \"(((((((((((((((((a)))))))))))))))))\"}}",
      "params.N.pattern", "nests groups too deep" },
    { "\"params\": {\"N\": {\"pattern\": \"^[0-9]{1,3}$\", \"default\": \"1234\"}}",
      "params.N.default", "'1234' does not match the pattern '^[0-9]{1,3}$'" },
    { "\"params\": {\"N\": {\"pattern\": \"[0-9]\", \"default\": \"x1\"}}",
      "params.N.default", "'x1' does not match" },
    { "\"params\": {\"N\": {\"pattern\": \"x\", \"default\": 1}}", "params.N.default",
      "got an integer, want a string" },
    { "\"params\": {\"N\": {\"pattern\": \".*\", \"default\": \"a\\u0000b\"}}",
      "params.N.default", "NUL byte at position 2" },
    { "\"params\": {\"N\": {\"pattern\": \".*\", \"description\": 5}}", "params.N.description",
      "got an integer, want a string" },
    { "\"params\": {\"1A\": {\"pattern\": \"x\"}}", "params.1A", "'1A' is not a variable name" },
    { "\"params\": {\"\": {\"pattern\": \"x\"}}", "params.", "'' is not 1-128 bytes long" },
    { "\"params\": {\"CHIME_RUN_ID\": {\"pattern\": \"x\"}}", "params.CHIME_RUN_ID", "is reserved" },
    { "\"params\": {\"BASH_ENV\": {\"pattern\": \"x\"}}", "params.BASH_ENV",
      "'BASH_ENV' may not be a parameter: bash reads it" },
    { "\"env\": {\"N\": \"1\"}, \"params\": {\"N\": {\"pattern\": \"1\"}}", "params.N",
      "'N' is also in env: a variable has one value" },
    /* durations */
    { "\"timeout\": \"1x\"", "timeout", "'1x' has unknown unit 'x'" },
    { "\"timeout\": -1", "timeout", "'-1' is negative" },
    { "\"timeout\": true", "timeout", "got true, want a duration" },
    { "\"timeout\": \"36601d\"", "timeout", "is out of range" },
    { "\"timeout\": 99999999999999", "timeout", "is out of range" },
    { "\"kill_grace\": \"1.5s\"", "kill_grace", "has a fraction" },
    { "\"kill_grace\": {}", "kill_grace", "got an object, want a duration" },
    { "\"stuck_after\": \"500ms\"", "stuck_after", "'500ms' is less than 1s" },
    { "\"stuck_after\": -5", "stuck_after", "'-5' is negative" },
    { "\"stuck_after\": \"soon\"", "stuck_after", "'soon' has unit 'soon' without a number" },
    { "\"stuck_after\": [1]", "stuck_after", "got an array, want a duration" },
    /* retention */
    { "\"retention\": 100", "retention", "got an integer, want an object" },
    { "\"retention\": {\"keep\": 3}", "retention.keep", "unknown field 'keep'" },
    { "\"retention\": {\"runs\": 0}", "retention.runs", "'0' is out of range 1-1000000" },
    { "\"retention\": {\"runs\": \"5\"}", "retention.runs", "got a string, want an integer" },
    { "\"retention\": {\"for\": \"500ms\"}", "retention.for", "'500ms' is less than 1s" },
    { "\"retention\": {\"for\": \"2 weeks\"}", "retention.for", "'2 weeks'" },
    { "\"retention\": {\"output\": \"100\"}", "retention.output", "is less than 1K" },
    { "\"retention\": {\"output\": \"1Q\"}", "retention.output", "'1Q'" },
    { "\"retention\": {\"dead_letters\": -1}", "retention.dead_letters",
      "'-1' is out of range 1-1000000" },
    /* retry */
    { "\"retry\": 3", "retry", "got an integer, want an object" },
    { "\"retry\": {\"max_attemps\": 3}", "retry.max_attemps",
      "unknown field 'max_attemps' (did you mean 'max_attempts'?)" },
    { "\"retry\": {\"max_attempts\": 0}", "retry.max_attempts", "'0' is out of range 1-100" },
    { "\"retry\": {\"max_attempts\": 101}", "retry.max_attempts", "'101' is out of range 1-100" },
    { "\"retry\": {\"max_attempts\": \"3\"}", "retry.max_attempts", "got a string, want an integer" },
    { "\"retry\": {\"max_attempts\": 2.5}", "retry.max_attempts", "got a real number, want an integer" },
    { "\"retry\": {\"factor\": 0.5}", "retry.factor", "'0.5' is out of range 1-10" },
    { "\"retry\": {\"factor\": 10.5}", "retry.factor", "'10.5' is out of range 1-10" },
    { "\"retry\": {\"factor\": \"2\"}", "retry.factor", "got a string, want a number" },
    { "\"retry\": {\"jitter\": 1.5}", "retry.jitter", "'1.5' is out of range 0-1" },
    { "\"retry\": {\"jitter\": -0.1}", "retry.jitter", "'-0.1' is out of range 0-1" },
    { "\"retry\": {\"backoff\": \"2h\"}", "retry.max_backoff", "'1h' is less than the backoff '2h'" },
    { "\"retry\": {\"backoff\": \"1m\", \"max_backoff\": \"30s\"}", "retry.max_backoff",
      "'30s' is less than the backoff '1m'" },
    /* concurrency */
    { "\"concurrency\": \"parallel\"", "concurrency",
      "'parallel' is not one of forbid, allow, queue or replace" },
    { "\"concurrency\": 1", "concurrency", "got an integer, want one of forbid, allow" },
    { "\"max_instances\": 0", "max_instances", "'0' is out of range 1-1000" },
    { "\"max_instances\": 1001", "max_instances", "'1001' is out of range 1-1000" },
    /* misfire */
    { "\"misfire\": []", "misfire", "got an array, want an object" },
    { "\"misfire\": {\"grace\": \"soon\"}", "misfire.grace", "'soon' has unit 'soon' without a number" },
    { "\"misfire\": {\"catch_up\": \"some\"}", "misfire.catch_up",
      "'some' is not one of none, latest or all" },
    { "\"misfire\": {\"max_catch_up\": 0}", "misfire.max_catch_up", "'0' is out of range 1-10000" },
    { "\"misfire\": {\"catchup\": \"all\"}", "misfire.catchup", "did you mean 'catch_up'?" },
    /* priority */
    { "\"priority\": \"urgent\"", "priority", "'urgent' is not one of low, normal, high or critical" },
    { "\"priority\": 101", "priority", "'101' is out of range 0-100" },
    { "\"priority\": -1", "priority", "'-1' is out of range 0-100" },
    { "\"priority\": 5.5", "priority", "got a real number, want one of low, normal" },
    /* limits */
    { "\"limits\": \"1G\"", "limits", "got a string, want an object" },
    { "\"limits\": {\"memory\": \"512Q\"}", "limits.memory", "'512Q' has unknown unit 'Q'" },
    { "\"limits\": {\"memory\": 0}", "limits.memory", "'0' is less than 1M" },
    { "\"limits\": {\"memory\": \"-1M\"}", "limits.memory", "'-1M' is negative" },
    { "\"limits\": {\"memory\": true}", "limits.memory", "got true, want a size" },
    { "\"limits\": {\"cpu_time\": \"500ms\"}", "limits.cpu_time", "'500ms' is less than 1s" },
    { "\"limits\": {\"processes\": 0}", "limits.processes", "'0' is out of range 1-1000000" },
    { "\"limits\": {\"open_files\": 1048577}", "limits.open_files", "'1048577' is out of range 1-1048576" },
    { "\"limits\": {\"output\": \"512\"}", "limits.output", "'512' is less than 1K" },
    { "\"limits\": {\"output\": \"2P\"}", "limits.output", "has unknown unit 'P'" },
    { "\"limits\": {\"swap\": \"1G\"}", "limits.swap", "unknown field 'swap'" },
    /* disable_after_failures */
    { "\"disable_after_failures\": -1", "disable_after_failures", "'-1' is out of range 0-1000" },
    { "\"disable_after_failures\": 1001", "disable_after_failures", "'1001' is out of range 0-1000" },
    { "\"disable_after_failures\": \"5\"", "disable_after_failures", "got a string, want an integer" },
    /* notify */
    { "\"notify\": [\"ops\"]", "notify", "got an array, want an object" },
    { "\"notify\": {\"on_fail\": [\"ops\"]}", "notify.on_fail", "did you mean 'on_failure'?" },
    { "\"notify\": {\"on_failure\": \"ops\"}", "notify.on_failure",
      "got a string, want an array of channel names" },
    { "\"notify\": {\"on_failure\": [\"Ops\"]}", "notify.on_failure[0]", "'Ops' starts with 'O'" },
    { "\"notify\": {\"on_failure\": [\"ops\", \"ops\"]}", "notify.on_failure[1]", "'ops' is listed twice" },
    { "\"notify\": {\"on_stuck\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\","
      "\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}", "notify.on_stuck", "17 channels are more than 16" },
    /* labels */
    { "\"labels\": [\"a\"]", "labels", "got an array, want an object of strings" },
    { "\"labels\": {\"Team\": \"x\"}", "labels.Team", "'Team' starts with 'T'" },
    { "\"labels\": {\"/team\": \"x\"}", "labels./team", "'/team' starts with '/'" },
    { "\"labels\": {\"a b\": \"x\"}", "labels.a b", "has ' ' at position 2 (use a-z, 0-9, '.', '_', '-' or '/')" },
    { "\"labels\": {\"team\": 1}", "labels.team", "got an integer, want a string" },
    /* paused */
    { "\"paused\": \"no\"", "paused", "got a string, want true or false" },
    { "\"paused\": 0", "paused", "got an integer, want true or false" },
};

/* BASE with PATCH merged in, as text for job_parse(). Owned by the caller. */
static char *patched(const char *patch)
{
    char *wrapped, *text;
    json_t *base, *p;
    json_error_t jerr;
    const char *key;
    json_t *v;
    size_t len;

    if (patch[0] == '\0' || patch[0] == '{' || patch[0] == '[' ||
        (patch[0] == '"' && strchr(patch, ':') == NULL))
        return strdup(patch);
    len = strlen(patch) + 3;
    wrapped = malloc(len);
    snprintf(wrapped, len, "{%s}", patch);
    base = json_loads(bad_base, 0, NULL);
    p = json_loads(wrapped, JSON_ALLOW_NUL, &jerr);
    if (!p)
        fail_msg("bad test patch '%s': %s", patch, jerr.text);
    json_object_foreach(p, key, v) {
        if (json_is_null(v))
            json_object_del(base, key);
        else
            json_object_set(base, key, v);
    }
    text = json_dumps(base, 0);
    json_decref(p);
    json_decref(base);
    free(wrapped);
    return text;
}

static void test_job_rejects_bad_documents_naming_the_field(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
        const struct bad *b = &bad_docs[i];
        char *text = patched(b->patch);
        struct err err = { 0 };
        struct job *j = (struct job *)&err;     /* must stay as it is */
        int rc = job_parse(text, strlen(text), NULL, &j, &err);

        if (rc >= 0 || rc != -err.code || strcmp(err.field, b->field) != 0 ||
            !strstr(err.msg, b->says) || j != (struct job *)&err)
            fail_msg("row %zu: %s\n  got rc %d field '%s' msg '%s'\n  want field '%s' msg '...%s...'",
                     i, text, rc, err.field, err.msg, b->field, b->says);
        /* a message has no capital letter (except in quoted values) and no full stop */
        assert_false(err.msg[0] >= 'A' && err.msg[0] <= 'Z');
        assert_int_not_equal(err.msg[strlen(err.msg) - 1], '.');
        free(text);
    }
    assert_true(i >= 60);
}

/* The code says what kind of fault it is. */
static void test_job_errors_carry_the_right_code(void **state)
{
    static const struct { const char *patch; int code; } rows[] = {
        { "\"retry\": {\"max_attempts\": 0}", CHIME_ERANGE },
        { "\"retry\": {\"max_attempts\": \"3\"}", CHIME_EINVAL },
        { "\"schedule\": {\"cron\": \"0 0 30 2 *\"}", CHIME_ENEVER },
        { "\"schedule\": {\"cron\": \"@daily\", \"timezone\": \"Mars/Olympus\"}", CHIME_ENOTFOUND },
        { "\"notify\": {\"on_stuck\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\","
          "\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}", CHIME_ETOOBIG },
        { "\"colour\": 1", CHIME_EINVAL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *text = patched(rows[i].patch);
        struct err err = { 0 };
        struct job *j = NULL;

        assert_int_equal(job_parse(text, strlen(text), NULL, &j, &err), -rows[i].code);
        assert_null(j);
        free(text);
    }
}

/* ---- generated bad documents: sizes and counts ---- */

/* Fills BUF with N copies of the C string UNIT joined by SEP. */
static char *repeat(const char *unit, const char *sep, size_t n)
{
    size_t ul = strlen(unit), sl = strlen(sep), len = n * (ul + sl) + 1, o = 0, i;
    char *buf = malloc(len);

    for (i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(buf + o, sep, sl);
            o += sl;
        }
        memcpy(buf + o, unit, ul);
        o += ul;
    }
    buf[o] = '\0';
    return buf;
}

static void expect_refusal(const char *text, size_t len, int code, const char *field,
                           const char *says)
{
    struct err err = { 0 };
    struct job *j = NULL;
    int rc = job_parse(text, len, NULL, &j, &err);

    if (rc != -code || strcmp(err.field, field) != 0 || !strstr(err.msg, says))
        fail_msg("got rc %d field '%s' msg '%s', want rc %d field '%s' msg '...%s...'", rc,
                 err.field, err.msg, -code, field, says);
    assert_null(j);
}

/* DOC with "%s" in it, filled with N copies of UNIT joined by SEP. */
static void expect_refusal_of(const char *doc, const char *unit, const char *sep, size_t n,
                              int code, const char *field, const char *says)
{
    char *fill = repeat(unit, sep, n);
    size_t len = strlen(doc) + strlen(fill) + 1;
    char *text = malloc(len);

    snprintf(text, len, doc, fill);
    expect_refusal(text, strlen(text), code, field, says);
    free(text);
    free(fill);
}

#define DOC(members) "{\"name\": \"big\", \"schedule\": {\"manual\": true}, " members "}"

static void test_job_refuses_oversized_parts(void **state)
{
    (void)state;
    expect_refusal_of(DOC("\"command\": [\"x\"], \"description\": \"%s\""), "a", "", 1025,
                      CHIME_ETOOBIG, "description", "is longer than 1024 bytes");
    expect_refusal_of(DOC("\"command\": [%s]"), "\"x\"", ",", 257,
                      CHIME_ETOOBIG, "command", "257 arguments are more than 256");
    expect_refusal_of(DOC("\"command\": [\"x\", \"%s\"]"), "a", "", 4097,
                      CHIME_ETOOBIG, "command[1]", "is longer than 4096 bytes");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"workdir\": \"%s\""), "a", "", 1025,
                      CHIME_ETOOBIG, "workdir", "is longer than 1024 bytes");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"env\": {\"A\": \"%s\"}"), "a", "", 32769,
                      CHIME_ETOOBIG, "env.A", "is longer than 32768 bytes");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"env\": {\"%s\": \"1\"}"), "A", "", 129,
                      CHIME_EINVAL, "env.AAAAAAAAAAAAAAAAAAAAAAAAAAA", "is not 1-128 bytes long");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"labels\": {\"a\": \"%s\"}"), "v", "", 257,
                      CHIME_ETOOBIG, "labels.a", "is longer than 256 bytes");
    expect_refusal_of(DOC("\"command\": [\"x\"], \"labels\": {\"%s\": \"\"}"), "k", "", 64,
                      CHIME_ETOOBIG, "labels.kkkkkkkkkkkkkkkkkkkkkkkk", "is longer than 63 bytes");
    expect_refusal_of("{\"name\": \"x\", \"shell\": \"true\", \"schedule\": {\"after\": [%s]}}",
                      "\"a\"", ",", 65, CHIME_ETOOBIG, "schedule.after", "65 jobs are more than 64");
}

/* A job may set any variable but the five chime sets in every run:
 * CHIME_URL for a job that talks to the daemon, say. */
static void test_job_env_may_set_chime_url_but_not_the_run_variables(void **state)
{
    static const char *const run_vars[] = {
        "CHIME_JOB", "CHIME_NAMESPACE", "CHIME_RUN_ID", "CHIME_FIRE_TIME", "CHIME_ATTEMPT",
    };
    struct job *j = parse_ok(
        "{\"name\": \"backup\", \"schedule\": {\"manual\": true}, \"shell\": \"chime backup x\","
        " \"env\": {\"CHIME_URL\": \"http://127.0.0.1:8717\", \"CHIME_TOKEN\": \"t\","
        " \"CHIME_JOBS\": \"1\", \"CHIME\": \"2\"}}");

    (void)state;
    assert_int_equal(j->body->n_env, 4);
    assert_string_equal(j->body->env[3].key, "CHIME_URL");
    job_free(j);
    assert_int_equal(JOB_VAR_COUNT, 5);
    for (size_t i = 0; i < sizeof run_vars / sizeof run_vars[0]; i++) {
        char text[300], field[64], says[80];

        snprintf(text, sizeof text,
                 "{\"name\": \"r\", \"schedule\": {\"manual\": true}, \"shell\": \"true\","
                 " \"env\": {\"%s\": \"x\"}}", run_vars[i]);
        snprintf(field, sizeof field, "env.%s", run_vars[i]);
        snprintf(says, sizeof says, "'%s' is reserved: chime sets it in every run", run_vars[i]);
        expect_refusal(text, strlen(text), CHIME_EINVAL, field, says);
        assert_true(job_env_reserved(run_vars[i], strlen(run_vars[i])));
        assert_string_equal(job_run_var_names[i], run_vars[i]);
    }
    /* a prefix or an extension of a run variable is not one */
    assert_false(job_env_reserved("CHIME_JOB", 8));
    assert_false(job_env_reserved("CHIME_JOBX", 10));
}

static void test_job_refuses_too_many_env_entries_and_labels(void **state)
{
    char *env = malloc(257 * 16 + 64), *labels = malloc(65 * 16 + 64), *text;
    size_t o = 0, k = 0, i, len;

    (void)state;
    for (i = 0; i < 257; i++)
        o += (size_t)snprintf(env + o, 32, "%s\"V%zu\": \"\"", i ? ", " : "", i);
    for (i = 0; i < 65; i++)
        k += (size_t)snprintf(labels + k, 32, "%s\"l%zu\": \"\"", i ? ", " : "", i);
    len = o + k + 256;
    text = malloc(len);
    snprintf(text, len, DOC("\"command\": [\"x\"], \"env\": {%s}"), env);
    expect_refusal(text, strlen(text), CHIME_ETOOBIG, "env", "257 entries are more than 256");
    snprintf(text, len, DOC("\"command\": [\"x\"], \"labels\": {%s}"), labels);
    expect_refusal(text, strlen(text), CHIME_ETOOBIG, "labels", "65 entries are more than 64");
    free(text);
    free(env);
    free(labels);
}

static void test_job_parse_refuses_an_oversized_document(void **state)
{
    static const char doc[] = DOC("\"command\": [\"x\"]");
    size_t len = (size_t)JOB_DOC_MAX + 1;
    char *text = malloc(len);
    struct err err = { 0 };
    struct job *j = NULL;

    (void)state;
    /* valid JSON, padded with spaces past the limit (no NUL: a length) */
    memset(text, ' ', len);
    memcpy(text, doc, sizeof doc - 1);
    expect_refusal(text, len, CHIME_ETOOBIG, "", "document of 65537 bytes is longer than 65536");
    /* exactly the limit is fine */
    assert_int_equal(job_parse(text, len - 1, NULL, &j, &err), 0);
    job_free(j);
    free(text);
}

static void test_job_parse_refuses_deep_nesting(void **state)
{
    char *open = repeat("[", "", 5000), *close = repeat("]", "", 5000);
    size_t len = 2 * 5000 + 64;
    char *text = malloc(len);

    (void)state;
    snprintf(text, len, "{\"x\": %s%s}", open, close);
    expect_refusal(text, strlen(text), CHIME_EINVAL, "", "maximum parsing depth");
    /* shallower nesting parses, and is refused by field without a walk */
    snprintf(text, len, DOC("\"command\": [\"x\"], \"labels\": %.1000s%.1000s"), open, close);
    expect_refusal(text, strlen(text), CHIME_EINVAL, "labels", "got an array, want an object");
    free(text);
    free(open);
    free(close);
}

/* ---- documents built in code, not parsed ---- */

static void test_job_from_json_checks_strings_built_in_code(void **state)
{
    json_t *doc = json_pack("{s:s, s:{s:b}, s:[s]}", "name", "x", "schedule", "manual", 1,
                            "command", "/bin/true");
    struct err err = { 0 };
    struct job *j = NULL;

    (void)state;
    json_object_set_new(doc, "description", json_stringn_nocheck("a\xff", 2));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "description");
    assert_string_equal(err.msg, "'a\\xff' is not valid UTF-8");
    json_object_set_new(doc, "description", json_stringn_nocheck("\xed\xa0\x80", 3));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "is not valid UTF-8"));
    json_object_set_new(doc, "description", json_stringn("a\0b", 3));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.msg, "a NUL byte at position 2 (after 'a')");
    /* a key with a NUL in it: refused, not read as its first bytes */
    json_object_del(doc, "description");
    json_object_setn_new(doc, "paused\0x", 8, json_true());
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "");
    assert_string_equal(err.msg, "a member name has a NUL byte at position 7 (after 'paused')");
    json_object_deln(doc, "paused\0x", 8);
    json_object_set_new(doc, "retry", json_object());
    json_object_setn_new(json_object_get(doc, "retry"), "factor\0", 7, json_real(2));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "retry");
    json_object_del(doc, "retry");
    json_object_set_new(doc, "env", json_object());
    json_object_setn_new(json_object_get(doc, "env"), "A\0B", 3, json_string("1"));
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "env");
    json_object_del(doc, "env");
    json_object_set_new(doc, "schedule", json_object());
    json_object_setn_new(json_object_get(doc, "schedule"), "manual\0", 7, json_true());
    assert_int_equal(job_from_json(doc, NULL, &j, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "schedule");
    assert_null(j);
    json_decref(doc);
    assert_int_equal(job_from_json(NULL, NULL, &j, &err), -CHIME_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_env_may_set_chime_url_but_not_the_run_variables),
        cmocka_unit_test(test_job_rejects_bad_documents_naming_the_field),
        cmocka_unit_test(test_job_errors_carry_the_right_code),
        cmocka_unit_test(test_job_refuses_oversized_parts),
        cmocka_unit_test(test_job_refuses_too_many_env_entries_and_labels),
        cmocka_unit_test(test_job_parse_refuses_an_oversized_document),
        cmocka_unit_test(test_job_parse_refuses_deep_nesting),
        cmocka_unit_test(test_job_from_json_checks_strings_built_in_code),
    };

    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
