/* json.c: the API's JSON: instants, runs, list envelopes, text that may
 * not be UTF-8, parsing with positions, and RFC 7386 merge patches.
 *
 * Everything the API writes is valid JSON, whatever a job printed: bytes
 * that are not UTF-8 become U+FFFD. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "time/isotime.h"
#include "util/utf8.h"
#include "../banned.h"

json_t *api_json_instant(int64_t us)
{
    char buf[ISOTIME_LEN];

    if (us == STORE_NULL || us == INT64_MAX)
        return json_null();
    return json_string(isotime_format_utc(us, buf, sizeof buf));
}

static json_t *number_or_null(int64_t v)
{
    return v == STORE_NULL ? json_null() : json_integer(v);
}

static json_t *string_or_null(const char *s)
{
    return s ? api_json_text(s, strlen(s)) : json_null();
}

json_t *api_json_run(const struct store_run *r)
{
    char job[2 * STORE_NAME_MAX + 2];

    snprintf(job, sizeof job, "%s/%s", r->ns, r->name);
    return json_pack(
        "{s:I, s:s, s:o, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
        "s:o, s:o, s:o, s:o, s:o, s:o}",
        "id", (json_int_t)r->id, "job", job, "job_version", number_or_null(r->job_version),
        "fire_time", api_json_instant(r->fire_us), "reason", store_reason_name(r->reason),
        "attempt", number_or_null(r->attempt), "state", store_run_state_name(r->state), "queued_at",
        api_json_instant(r->queued_us), "started_at", api_json_instant(r->started_us),
        "finished_at", api_json_instant(r->finished_us), "pid", number_or_null(r->pid), "exit_code",
        number_or_null(r->exit_code), "signal", number_or_null(r->signal), "cpu_user_ms",
        number_or_null(r->cpu_user_ms), "cpu_sys_ms", number_or_null(r->cpu_sys_ms), "max_rss_kb",
        number_or_null(r->max_rss_kb), "output_bytes", number_or_null(r->output_bytes), "error",
        string_or_null(r->error), "node", string_or_null(r->node), "triggered_by",
        string_or_null(r->triggered_by));
}

json_t *api_json_list(json_t *items, const char *cursor, int64_t total)
{
    if (!items)
        return NULL;
    return json_pack("{s:o, s:o, s:o}", "items", items, "next_cursor",
                     cursor && *cursor ? json_string(cursor) : json_null(), "total",
                     total >= 0 ? json_integer(total) : json_null());
}

json_t *api_json_text(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0, o = 0, k;
    char *buf;
    json_t *s;

    while (i < len && (k = utf8_len(p + i, len - i)) > 0)
        i += k;
    if (i == len)
        return json_stringn(data, len);
    /* each bad byte becomes the 3 bytes of U+FFFD */
    buf = malloc(len * 3 + 1);
    if (!buf)
        return NULL;
    for (i = 0; i < len;) {
        k = utf8_len(p + i, len - i);
        if (k) {
            memcpy(buf + o, p + i, k);
            o += k;
            i += k;
        } else {
            buf[o++] = (char)0xef; /* U+FFFD in UTF-8 */
            buf[o++] = (char)0xbf;
            buf[o++] = (char)0xbd;
            i++;
        }
    }
    s = json_stringn(buf, o);
    free(buf);
    return s;
}

int api_json_parse(const char *text, size_t len, json_t **ret, struct err *err)
{
    char q[JSON_ERROR_TEXT_LENGTH];
    json_error_t jerr;
    json_t *j;

    /* Duplicate keys are refused as job_parse() refuses them; NUL in
     * strings is let through to be refused by the field that holds it. */
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    /* jansson's text quotes the token near the fault, which in a job
     * document with secrets may be a piece of one: left out there */
    if (!j && memmem(text, len, "\"secret\"", 8))
        return err_set(err, CHIME_EINVAL, "", "invalid JSON at line %d, column %d", jerr.line,
                       jerr.column);
    if (!j)
        return err_set(err, CHIME_EINVAL, "", "invalid JSON at line %d, column %d: %s", jerr.line,
                       jerr.column, err_quote(jerr.text, sizeof jerr.text, q, sizeof q));
    *ret = j;
    return 0;
}

json_t *api_json_merge_patch(json_t *target, const json_t *patch)
{
    const char *key;
    json_t *value;

    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
        if (!target)
            return NULL;
    }
    json_object_foreach((json_t *)patch, key, value)
    {
        if (json_is_null(value)) {
            json_object_del(target, key);
        } else {
            json_t *old = json_object_get(target, key), *merged;

            merged = api_json_merge_patch(json_incref(old), value);
            if (!merged || json_object_set_new(target, key, merged) < 0) {
                json_decref(target);
                return NULL;
            }
        }
    }
    return target;
}
