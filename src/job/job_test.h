/* job_test.h: what the job document's tests share (tests only): the
 * round trip from_json(to_json(j)) every parsed document must survive, a
 * parse that must succeed, an instant from its ISO text, the example of
 * docs/design.md (marked unused: not every file reads it). Functions are
 * static inline so that a file using only some of them compiles cleanly. */
#ifndef CHIME_JOB_JOB_TEST_H
#define CHIME_JOB_JOB_TEST_H

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

#define S INT64_C(1000000)

/* ---- helpers ---- */

/* to_json, from_json, to_json again: the two documents must be equal. */
static inline void round_trip(const struct job *j)
{
    struct err err = { 0 };
    struct job *back = NULL;
    json_t *a = job_to_json(j), *b;

    assert_non_null(a);
    if (job_from_json(a, "unused", &back, &err) < 0) {
        char *text = json_dumps(a, JSON_INDENT(2));

        fail_msg("canonical document refused: %s: %s\n%s", err.field, err.msg, text);
    }
    b = job_to_json(back);
    assert_non_null(b);
    if (!json_equal(a, b)) {
        char *ta = json_dumps(a, JSON_SORT_KEYS), *tb = json_dumps(b, JSON_SORT_KEYS);

        fail_msg("round trip changed the document:\n%s\n%s", ta, tb);
    }
    json_decref(a);
    json_decref(b);
    job_free(back);
}

static inline struct job *parse_ok(const char *text)
{
    struct err err = { 0 };
    struct job *j = NULL;

    if (job_parse(text, strlen(text), NULL, &j, &err) < 0)
        fail_msg("refused: %s: %s\n%s", err.field, err.msg, text);
    round_trip(j);
    return j;
}

static inline int64_t at(const char *iso)
{
    struct err err = { 0 };
    int64_t us = 0;

    if (isotime_parse(iso, NULL, "test", &us, &err) < 0)
        fail_msg("bad test instant '%s': %s", iso, err.msg);
    return us;
}

static const char design_example[] __attribute__((unused)) =
    "{\n"
    "  \"name\": \"nightly-import\",\n"
    "  \"namespace\": \"sales-team-1\",\n"
    "  \"description\": \"Import the partner CSV files\",\n"
    "  \"schedule\": { \"cron\": \"0 2 * * *\", \"timezone\": \"Europe/Berlin\" },\n"
    "  \"command\": [\"/usr/bin/python3\", \"import.py\", \"--all\"],\n"
    "  \"workdir\": \"inputs\",\n"
    "  \"env\": { \"MODE\": \"full\" },\n"
    "  \"params\": { \"BACKFILL_DAYS\": { \"pattern\": \"^[0-9]{1,3}$\", \"default\": \"1\" } },\n"
    "  \"timeout\": \"1h\",\n"
    "  \"kill_grace\": \"30s\",\n"
    "  \"retry\": { \"max_attempts\": 4, \"backoff\": \"30s\", \"factor\": 2, \"max_backoff\": \"30m\", \"jitter\": 0.2 },\n"
    "  \"concurrency\": \"forbid\",\n"
    "  \"max_instances\": 1,\n"
    "  \"misfire\": { \"grace\": \"1h\", \"catch_up\": \"latest\" },\n"
    "  \"priority\": \"normal\",\n"
    "  \"limits\": { \"memory\": \"512M\", \"cpu_time\": \"20m\", \"processes\": 64, \"output\": \"4M\" },\n"
    "  \"disable_after_failures\": 5,\n"
    "  \"notify\": { \"on_failure\": [\"ops\"], \"on_recovery\": [\"ops\"] },\n"
    "  \"labels\": { \"team\": \"sales\" },\n"
    "  \"paused\": false\n"
    "}\n";

#endif
