/* cli.c: what every command shares: telling the user what went wrong, and
 * reading what the user typed (job names, run ids, files) before anything
 * is sent, so bad input is refused here with exit status 2. */
#include "cli/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/cmdline.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "util/name.h"
#include "../banned.h"

void cli_error(const char *cmd, const struct err *err)
{
    if (err->field[0])
        fprintf(stderr, "chime %s: %s: %s\n", cmd, err->field, err->msg);
    else
        fprintf(stderr, "chime %s: %s\n", cmd, err->msg);
}

int cli_bad_args(const char *cmd, const char *what)
{
    fprintf(stderr, "chime %s: %s (see chime %s --help)\n", cmd, what, cmd);
    return 2;
}

int cli_job_id(const char *arg, char ret[CLI_JOB_ID_MAX], struct err *err)
{
    const char *slash = strchr(arg, '/');
    const char *name = slash ? slash + 1 : arg;
    struct err why = {0};
    char q[80];

    if ((slash && name_check(arg, (size_t)(slash - arg), 0, NULL, NULL, &why) < 0)
        || name_check(name, strlen(name), 0, NULL, NULL, &why) < 0)
        return err_set(err, CHIME_EINVAL, "job",
                       "'%s' is not a job name (NAME or NAMESPACE/NAME): %s",
                       err_quote(arg, strlen(arg), q, sizeof q), why.msg);
    snprintf(ret, CLI_JOB_ID_MAX, "%s%s", slash ? "" : "default/", arg);
    return 0;
}

int cli_namespace(const char *arg, struct err *err)
{
    return name_check(arg, strlen(arg), 0, "namespace name", "namespace", err);
}

int cli_run_id(const char *arg, int64_t *ret, struct err *err)
{
    char *end, q[40];
    long long n;

    errno = 0;
    n = strtoll(arg, &end, 10);
    if (end == arg || *end || errno || n < 1 || arg[0] == '+' || arg[0] == ' ')
        return err_set(err, CHIME_EINVAL, "run", "'%s' is not a run id (a whole number from 1)",
                       err_quote(arg, strlen(arg), q, sizeof q));
    *ret = n;
    return 0;
}

int cli_read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err *err)
{
    bool std = !strcmp(path, "-");
    FILE *f = std ? stdin : fopen(path, "rb");
    char *buf = NULL, q[80];
    size_t len = 0, n;
    int rc;

    err_quote(std ? "standard input" : path, std ? 14 : strlen(path), q, sizeof q);
    if (!f)
        return err_set(err, errno == ENOENT ? CHIME_ENOTFOUND : CHIME_EIO, "file",
                       "cannot open '%s': %s", q, strerror(errno));
    /* one byte more than allowed tells "exactly MAX" from "too big" */
    if (!(buf = malloc(max + 2))) {
        rc = err_set(err, CHIME_ENOMEM, "file", "out of memory for '%s'", q);
        goto done;
    }
    while (len <= max && (n = fread(buf + len, 1, max + 1 - len, f)) > 0)
        len += n;
    if (ferror(f)) {
        rc = err_set(err, CHIME_EIO, "file", "cannot read '%s': %s", q, strerror(errno));
        goto done;
    }
    if (len > max) {
        rc = err_set(err, CHIME_ETOOBIG, "file", "'%s' is larger than %zu %s", q,
                     max % (1 << 20) ? max >> 10 : max >> 20, max % (1 << 20) ? "KiB" : "MiB");
        goto done;
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    if (!std)
        fclose(f);
    return rc;
}

int cli_time_us(const char *iso, int64_t *ret_us)
{
    return iso && isotime_parse(iso, NULL, "time", ret_us, NULL) == 0 ? 0 : -1;
}

int64_t cli_now_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

const char *cli_time(const char *iso, char *buf, size_t len)
{
    static const struct tz *zone;
    char full[ISOTIME_LEN];
    int64_t t;

    if (!iso || !*iso) {
        snprintf(buf, len, "-");
        return buf;
    }
    if (!zone && tz_system(&zone, NULL) < 0)
        zone = NULL;  /* UTC */
    if (cli_time_us(iso, &t) < 0) {
        err_quote(iso, strlen(iso), buf, len);
        return buf;
    }
    /* "2026-03-08T03:00:00-04:00" -> "2026-03-08 03:00:00" */
    isotime_format(t, zone, 0, full, sizeof full);
    snprintf(buf, len, "%.10s %.8s", full, full + 11);
    return buf;
}

const char *cli_json_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

int cli_json_print(const json_t *j)
{
    if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF
        || fflush(stdout) != 0) {
        fprintf(stderr, "chime: cannot write to standard output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

/* ---- the list commands (runs, audit, notifications) ---- */

int cli_user_time(const char *s, const char *field, char *buf, size_t len, struct err *err)
{
    const struct tz *zone = NULL;
    int64_t t;

    if (tz_system(&zone, NULL) < 0)
        zone = NULL;
    if (isotime_parse(s, zone, field, &t, err) < 0)
        return -1;
    isotime_format_utc(t, buf, len);
    return 0;
}

int cli_list_limit(const char *s, struct err *err)
{
    char *end;
    long n = strtol(s, &end, 10);

    if (end == s || *end || n < 1 || n > CLI_LIST_MAX || s[0] == '+' || s[0] == ' ')
        return err_set(err, CHIME_EINVAL, "limit", "'%.40s' is not a whole number from 1 to %d", s,
                       CLI_LIST_MAX);
    return 0;
}

int cli_choice(const char *s, const char *const *names, const char *what, struct err *err)
{
    char q[40], all[256] = "";
    size_t len = 0;

    for (size_t i = 0; names[i]; i++) {
        if (!strcmp(s, names[i]))
            return 0;
        len += (size_t)snprintf(all + len, len < sizeof all ? sizeof all - len : 0, "%s%s",
                                i ? " " : "", names[i]);
    }
    return err_set(err, CHIME_EINVAL, "state", "'%s' is not a %s (%s)",
                   err_quote(s, strlen(s), q, sizeof q), what, all);
}

int cli_list_show(const struct cli_list *l, const char *const *kv, bool json)
{
    struct client *c = NULL;
    struct err err = {0};
    json_t *list = NULL;
    const json_t *items, *total;
    char path[1024];
    int rc;

    if (client_new(&c, &err) < 0 || client_path(path, sizeof path, l->path, kv, &err) < 0
        || client_json(c, "GET", path, NULL, NULL, &list, &err) < 0)
        goto fail;
    if (!json_is_array(items = json_object_get(list, "items"))) {
        err_set(&err, CHIME_EIO, "", "the daemon's %s has no \"items\" array", l->what);
        goto fail;
    }
    if (json) {
        rc = cli_json_print(list);
        goto done;
    }
    if (l->table(items, &err) < 0)
        goto fail;
    rc = fflush(stdout) ? 1 : 0;
    total = json_object_get(list, "total");
    if (json_is_integer(total) && (size_t)json_integer_value(total) > json_array_size(items))
        fprintf(stderr, "chime %s: %zu of %lld%s%s shown (--limit N for more)\n", l->cmd,
                json_array_size(items), (long long)json_integer_value(total),
                l->noun[0] ? " " : "", l->noun);
    else if (!json_is_integer(total) && json_is_string(json_object_get(list, "next_cursor")))
        fprintf(stderr, "chime %s: the first %zu%s%s shown (--limit N for more)\n", l->cmd,
                json_array_size(items), l->noun[0] ? " " : "", l->noun);
    goto done;
fail:
    rc = client_fail(c, l->cmd, &err);
done:
    json_decref(list);
    client_free(c);
    return rc;
}

struct run_post_opts {
    bool json;
};

static const struct cmdline_opt run_post_rows[] = {
    { "json", 0, CMDLINE_FLAG, offsetof(struct run_post_opts, json), NULL,
      "the daemon's answer as JSON" },
};

int cli_run_post(const char *cmd, const char *about, const char *path_fmt, int argc, char **argv,
                 void (*print)(long long id, const json_t *answer))
{
    const struct cmdline_spec spec = {
        cmd, "RUN", about, run_post_rows, sizeof run_post_rows / sizeof run_post_rows[0], NULL,
        1, 1, "RUN",
    };
    struct run_post_opts o = { 0 };
    struct client *c = NULL;
    struct err err = {0};
    json_t *answer = NULL;
    char path[128];
    int64_t id;
    int rc = cmdline_parse(&spec, argc, argv, &o);

    if (rc < 0)
        return cmdline_exit(rc);
    if (cli_run_id(argv[1], &id, &err) < 0) {
        cli_error(cmd, &err);
        return 2;
    }
    snprintf(path, sizeof path, path_fmt, (long long)id);
    if (client_new(&c, &err) < 0 || client_json(c, "POST", path, NULL, NULL, &answer, &err) < 0) {
        rc = client_fail(c, cmd, &err);
        goto done;
    }
    if (o.json) {
        rc = cli_json_print(answer);
        goto done;
    }
    print((long long)id, answer);
    rc = fflush(stdout) ? 1 : 0;
done:
    json_decref(answer);
    client_free(c);
    return rc;
}
