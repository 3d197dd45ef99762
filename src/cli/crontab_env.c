/* crontab_env.c: a crontab's environment settings, as cronie reads them.
 *
 * A line is tried as a setting before it is tried as a job (cronie's
 * load_env() state machine, reproduced here); a setting applies to the job
 * lines below it. Settings that mean something to cron alone (MAILTO,
 * RANDOM_DELAY, ...) are skipped with the reason; SHELL must be an
 * absolute path and CRON_TZ a zone chime knows. */
#include "cli/crontab_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job/job.h"
#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

/* Cronie's load_env(): whether LINE (N bytes, from its first non-blank)
 * is NAME=VALUE, with optional blanks around '=' and either part in
 * matching single or double quotes; an unquoted value loses its trailing
 * white space. Unlike cronie, "NAME=" with nothing after it is an empty
 * value (cronie reads that line as a broken job). NAME and VALUE point
 * into owned buffers the caller frees. */
int crontab_env_parse(const char *s, size_t n, char **ret_name, char **ret_value)
{
    enum { NAMEI, NAME, EQ1, EQ2, VALUEI, VALUE, FINI, ERROR } state = NAMEI;
    char *name, *val, *str;
    size_t i = 0;
    char quote = '\0';
    bool ok;

    if (n > CRONTAB_LINE_MAX)
        return 0;
    name = calloc(1, n + 1);
    val = calloc(1, n + 1);
    str = name;

    if (!name || !val) {
        free(name);
        free(val);
        return -1;
    }
    while (state != ERROR && i < n) {
        switch (state) {
        case NAMEI:
        case VALUEI:
            if (s[i] == '\'' || s[i] == '"')
                quote = s[i++];
            state++;
            if (i == n)
                break;
            /* fall through */
        case NAME:
        case VALUE:
            if (quote) {
                if (s[i] == quote) {
                    state++;
                    i++;
                    break;
                }
                if (state == NAME && s[i] == '=') {
                    state = ERROR;
                    break;
                }
            } else if (state == NAME) {
                if (crontab_is_space(s[i])) {
                    i++;
                    state++;
                    break;
                }
                if (s[i] == '=') {
                    state++;
                    break;
                }
            }
            *str++ = s[i++];
            break;
        case EQ1:
            if (s[i] == '=') {
                state++;
                str = val;
                quote = '\0';
            } else if (!crontab_is_space(s[i])) {
                state = ERROR;
            }
            i++;
            break;
        case EQ2:
        case FINI:
            if (crontab_is_space(s[i]))
                i++;
            else
                state++;
            break;
        default:
            state = ERROR;
            break;
        }
    }
    /* cronie: FINI, or an unquoted value; here also "NAME=" and "NAME = " */
    ok = state == FINI || (state == VALUE && !quote) || state == EQ2
         || (state == VALUEI && !quote);
    if (ok && name[0] == '\0')
        ok = false;
    if (ok && (state == VALUE || state == EQ2 || state == VALUEI)) {
        size_t k = strlen(val);

        while (k > 0 && crontab_is_space(val[k - 1]))
            val[--k] = '\0';
    }
    if (!ok) {
        free(name);
        free(val);
        return 0;
    }
    *ret_name = name;
    *ret_value = val;
    return 1;
}

static bool env_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 128 || job_env_reserved(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalpha((unsigned char)s[i]) || s[i] == '_' || (i && isdigit((unsigned char)s[i])))
            || (unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/* Settings that mean something to cron itself and nothing to chime. */
static const struct {
    const char *name;
    const char *why;
} env_skipped[] = {
    { "MAILTO", "chime sends no mail (yet): a job's output is kept in its run history" },
    { "MAILFROM", "chime sends no mail (yet)" },
    { "CONTENT_TYPE", "chime sends no mail (yet)" },
    { "CONTENT_TRANSFER_ENCODING", "chime sends no mail (yet)" },
    { "RANDOM_DELAY", "chime has no random delay for cron schedules" },
    { "MLS_LEVEL", "chime does not set SELinux contexts" },
    { "LOGNAME", "cron sets LOGNAME to the crontab's user whatever the crontab says" },
    { "USER", "cron sets USER to the crontab's user whatever the crontab says" },
};

int crontab_env_line(struct crontab_ctx *x, size_t line, const char *name, const char *value,
                     struct err *err)
{
    char what[512], qn[64], qv[200];
    struct err why = { 0 };
    const struct tz *z;

    err_quote(name, strlen(name), qn, sizeof qn);
    err_quote(value, strlen(value), qv, sizeof qv);
    for (size_t i = 0; i < sizeof env_skipped / sizeof env_skipped[0]; i++) {
        if (strcmp(name, env_skipped[i].name) != 0)
            continue;
        if (!strcmp(name, "MAILTO") && !*value)
            snprintf(what, sizeof what, "MAILTO=\"\": no mail, and chime sends none");
        else
            snprintf(what, sizeof what, "%s=%s: %s", qn, qv, env_skipped[i].why);
        return crontab_add(x, line, CRONTAB_SKIPPED, what, NULL, err);
    }
    if (!env_name_ok(name)) {
        err_set(&why, CHIME_EINVAL, "env",
                "'%s' cannot be a chime environment variable: want [A-Za-z_][A-Za-z0-9_]*, "
                "not one chime sets in every run (CHIME_JOB, CHIME_RUN_ID, ...)",
                qn);
        return crontab_add_error(x, line, &why, err);
    }
    if (!strcmp(name, "SHELL")) {
        if (value[0] != '/') {
            err_set(&why, CHIME_EINVAL, "SHELL",
                    "'%s' is not an absolute path (cron runs it without searching PATH)", qv);
            return crontab_add_error(x, line, &why, err);
        }
        snprintf(x->shell, sizeof x->shell, "%s", value);
    } else if (!strcmp(name, "CRON_TZ")) {
        /* cronie puts it in TZ for the schedule: "" is UTC there */
        const char *zone = value[0] == ':' ? value + 1 : *value ? value : "UTC";

        if (tz_load(zone, &z, &why) < 0 || strlen(zone) >= sizeof x->zone) {
            if (!why.msg[0])
                err_set(&why, CHIME_EINVAL, "CRON_TZ", "'%s' is too long", qv);
            snprintf(why.field, sizeof why.field, "CRON_TZ");
            return crontab_add_error(x, line, &why, err);
        } else {
            snprintf(x->zone, sizeof x->zone, "%s", zone);
        }
    }
    if (json_object_set_new(x->env, name, json_string(value)) < 0)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    if (!strcmp(name, "TZ"))
        snprintf(what, sizeof what,
                 "TZ=%s: the commands' zone; cron reads the schedule in CRON_TZ's zone", qv);
    else if (!strcmp(name, "CRON_TZ"))
        snprintf(what, sizeof what, "CRON_TZ=%s: the zone of the schedules below", qv);
    else if (!*value || crontab_is_space(value[0]) || crontab_is_space(value[strlen(value) - 1]))
        snprintf(what, sizeof what, "%s=\"%s\"", qn, qv);
    else
        snprintf(what, sizeof what, "%s=%s", qn, qv);
    return crontab_add(x, line, CRONTAB_ENV, what, NULL, err);
}
