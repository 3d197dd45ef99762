/* crontab_int.h: what the crontab converter's files share (crontab.c:
 * the result, job lines and the loop over lines; crontab_env.c:
 * environment settings). Private to src/cli/crontab*.c. */
#ifndef CHIME_CLI_CRONTAB_INT_H
#define CHIME_CLI_CRONTAB_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli/crontab.h"

struct err;

#define NAME_STEM_MAX   20      /* bytes of the file's part of a job name */

/* The state the lines above a line leave: its environment. */
struct crontab_ctx {
    const struct crontab_opts *o;
    const char *ns;
    const char *source;
    char stem[NAME_STEM_MAX + 1];
    json_t *env;                    /* NAME: value, for the jobs below */
    char shell[CRONTAB_LINE_MAX + 1];
    char zone[256];                 /* CRON_TZ; "" none */
    struct crontab *out;
};

/* cronie tests isspace() in the C locale */
static inline bool crontab_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* crontab.c */

/* A new entry of KIND for LINE saying WHAT (copied; NULL: none), last in
 * x->out; *RET (when not NULL) points at it until the next one. */
int crontab_add(struct crontab_ctx *x, size_t line, enum crontab_kind kind, const char *what,
                struct crontab_entry **ret, struct err *err);
/* An error entry from a struct err: "FIELD: MESSAGE". */
int crontab_add_error(struct crontab_ctx *x, size_t line, const struct err *why, struct err *err);

/* crontab_env.c */

/* Whether LINE (N bytes, from its first non-blank) is NAME=VALUE, as
 * cronie's load_env() reads it: 1 with *RET_NAME and *RET_VALUE owned,
 * 0 when it is not a setting, -1 when out of memory. */
int crontab_env_parse(const char *s, size_t n, char **ret_name, char **ret_value);
/* The setting NAME=VALUE on LINE: into x->env (and x->shell, x->zone), or
 * an entry saying why it is skipped or wrong. */
int crontab_env_line(struct crontab_ctx *x, size_t line, const char *name, const char *value,
                     struct err *err);

#endif
