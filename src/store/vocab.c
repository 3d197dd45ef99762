/* vocab.c: names and parsers generated from vocab.h's tables. */
#include "store/vocab.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "../banned.h"

/* index 0 is "none": the tables' rows start at 1 */
static const char *const state_names[STORE_RUN_STATE_END] = {
#define X(id, name, ...) [STORE_RUN_##id] = name,
    STORE_RUN_STATES(X)
#undef X
};

static const bool state_final[STORE_RUN_STATE_END] = {
#define X(id, name, final, ...) [STORE_RUN_##id] = final,
    STORE_RUN_STATES(X)
#undef X
};

static const int state_exit[STORE_RUN_STATE_END] = {
#define X(id, name, final, exit) [STORE_RUN_##id] = exit,
    STORE_RUN_STATES(X)
#undef X
};

static const char *const reason_names[STORE_REASON_END] = {
#define X(id, name) [STORE_REASON_##id] = name,
    STORE_REASONS(X)
#undef X
};

int vocab_find(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (names[i] && !strcmp(names[i], name))
            return i;
    return -1;
}

const char *vocab_join(const char *const *names, int n, const char *sep, char *buf, size_t len)
{
    size_t at = 0;

    if (len)
        buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (!names[i])
            continue;
        at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s", at ? sep : "", names[i]);
        if (at >= len)
            break;
    }
    return buf;
}

const char *store_run_state_name(enum store_run_state st)
{
    if ((int)st <= 0 || st >= STORE_RUN_STATE_END)
        return "unknown";
    return state_names[st];
}

const char *store_reason_name(enum store_reason r)
{
    if ((int)r <= 0 || r >= STORE_REASON_END)
        return "unknown";
    return reason_names[r];
}

static int name_parse(const char *const *names, int end, const char *name, const char *field,
                      const char *what, int *ret, struct err *err)
{
    char q[64];
    int i = vocab_find(names, end, name);

    if (i > 0) {
        *ret = i;
        return 0;
    }
    return err_set(err, CHIME_EINVAL, field, "'%s' is not a run %s",
                   name ? err_quote(name, 40, q, sizeof q) : "", what);
}

int store_run_state_parse(const char *name, const char *field, enum store_run_state *ret,
                          struct err *err)
{
    int v = 0;
    int rc = name_parse(state_names, STORE_RUN_STATE_END, name, field, "state", &v, err);

    if (rc == 0)
        *ret = (enum store_run_state)v;
    return rc;
}

int store_reason_parse(const char *name, const char *field, enum store_reason *ret, struct err *err)
{
    int v = 0;
    int rc = name_parse(reason_names, STORE_REASON_END, name, field, "reason", &v, err);

    if (rc == 0)
        *ret = (enum store_reason)v;
    return rc;
}

bool store_run_state_finished(enum store_run_state st)
{
    return (int)st > 0 && st < STORE_RUN_STATE_END && state_final[st];
}

int store_run_state_exit(enum store_run_state st)
{
    return (int)st > 0 && st < STORE_RUN_STATE_END ? state_exit[st] : 1;
}
