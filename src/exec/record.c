/* record.c: the exit record as JSON, and writing it so that a crash at any
 * point leaves either the whole record or none (format in record.h). */
#include "exec/record.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "exec/exec.h"
#include "util/err.h"
#include "../banned.h"

void exec_record_outcome(struct exec_result *r)
{
    if (r->cancelled)
        r->outcome = EXEC_CANCELLED;
    else if (r->timed_out)
        r->outcome = EXEC_TIMED_OUT;
    else if (r->signal > 0)
        r->outcome = EXEC_SIGNALED;
    else if (r->exit_code >= 0)
        r->outcome = EXEC_EXITED;
    else
        r->outcome = EXEC_FAILED;
}

static json_t *int_or_null(int64_t v, int64_t none)
{
    return v == none ? json_null() : json_integer(v);
}

json_t *exec_record_to_json(const struct exec_result *r)
{
    return json_pack("{s:i, s:s, s:o, s:o, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i,"
                     " s:o}",
                     "version", 1, "outcome", exec_outcome_name(r->outcome), "exit_code",
                     int_or_null(r->exit_code, -1), "signal", int_or_null(r->signal, 0),
                     "timed_out", r->timed_out, "cancelled", r->cancelled, "cpu_user_ms",
                     (json_int_t)r->cpu_user_ms, "cpu_sys_ms", (json_int_t)r->cpu_sys_ms,
                     "max_rss_kb", (json_int_t)r->max_rss_kb, "output_bytes",
                     (json_int_t)r->output_bytes, "started_us", (json_int_t)r->started_us,
                     "finished_us", (json_int_t)r->finished_us, "job_pid", r->job_pid, "holder_pid",
                     r->holder_pid, "error", r->error[0] ? json_string(r->error) : json_null());
}

/* Reads KEY into *RET: absent or null leaves NONE; anything but an integer
 * in [MIN, MAX] is an error. */
static int get_int(const json_t *j, const char *key, int64_t min, int64_t max, int64_t none,
                   int64_t *ret, struct err *err)
{
    json_t *v = json_object_get(j, key);

    *ret = none;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return err_set(err, CHIME_EINVAL, key, "exit record field is not an integer in range");
    *ret = json_integer_value(v);
    return 0;
}

static int get_bool(const json_t *j, const char *key, bool *ret, struct err *err)
{
    json_t *v = json_object_get(j, key);

    *ret = false;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return err_set(err, CHIME_EINVAL, key, "exit record field is not a boolean");
    *ret = json_is_true(v);
    return 0;
}

int exec_record_from_json(const json_t *j, struct exec_result *ret, struct err *err)
{
    struct exec_result r = {0};
    int64_t code, sig, job, holder;
    json_t *e;
    int rc;

    if (!json_is_object(j))
        return err_set(err, CHIME_EINVAL, "", "exit record is not an object");
    if ((rc = get_int(j, "exit_code", 0, 255, -1, &code, err)) < 0
        || (rc = get_int(j, "signal", 1, 64, 0, &sig, err)) < 0
        || (rc = get_bool(j, "timed_out", &r.timed_out, err)) < 0
        || (rc = get_bool(j, "cancelled", &r.cancelled, err)) < 0
        || (rc = get_int(j, "cpu_user_ms", 0, INT64_MAX, 0, &r.cpu_user_ms, err)) < 0
        || (rc = get_int(j, "cpu_sys_ms", 0, INT64_MAX, 0, &r.cpu_sys_ms, err)) < 0
        || (rc = get_int(j, "max_rss_kb", 0, INT64_MAX, 0, &r.max_rss_kb, err)) < 0
        || (rc = get_int(j, "output_bytes", 0, INT64_MAX, 0, &r.output_bytes, err)) < 0
        || (rc = get_int(j, "started_us", 0, INT64_MAX, 0, &r.started_us, err)) < 0
        || (rc = get_int(j, "finished_us", 0, INT64_MAX, 0, &r.finished_us, err)) < 0
        || (rc = get_int(j, "job_pid", 0, INT32_MAX, 0, &job, err)) < 0
        || (rc = get_int(j, "holder_pid", 0, INT32_MAX, 0, &holder, err)) < 0)
        return rc;
    e = json_object_get(j, "error");
    if (e && !json_is_null(e) && !json_is_string(e))
        return err_set(err, CHIME_EINVAL, "error", "exit record field is not a string");
    if (json_is_string(e))
        snprintf(r.error, sizeof r.error, "%s", json_string_value(e));
    r.exit_code = (int)code;
    r.signal = (int)sig;
    r.job_pid = (int)job;
    r.holder_pid = (int)holder;
    exec_record_outcome(&r);
    *ret = r;
    return 0;
}

int exec_record_parse(const char *text, size_t len, struct exec_result *ret, struct err *err)
{
    json_error_t jerr;
    json_t *j;
    int rc;

    if (len > EXEC_OUTPUT_RECORD_MAX)
        return err_set(err, CHIME_ETOOBIG, "", "exit record is larger than %d bytes",
                       EXEC_OUTPUT_RECORD_MAX);
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return err_set(err, CHIME_EINVAL, "", "exit record is not JSON: %s", jerr.text);
    rc = exec_record_from_json(j, ret, err);
    json_decref(j);
    return rc;
}
