/* crontab_test.h: what crontab_test.c and crontab_schedule_test.c share
 * (tests only): converting a crontab's text, finding the entry, job or
 * error of a line, and running a job's command through /bin/sh as the
 * runner would start it. Functions are static inline so that a file using
 * only some of them compiles cleanly. */
#ifndef CHIME_CLI_CRONTAB_TEST_H
#define CHIME_CLI_CRONTAB_TEST_H

#include "cli/crontab.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "job/job.h"
#include "time/cron.h"
#include "util/err.h"

extern char **environ;

static inline struct crontab *convert_as(const char *text, enum crontab_format format)
{
    struct crontab_opts o = { .format = format, .ns = "ops", .source = "/etc/cron.d/backup" };
    struct crontab *c = NULL;
    struct err err = { 0 };

    assert_int_equal(crontab_convert(text, strlen(text), &o, &c, &err), 0);
    assert_non_null(c);
    return c;
}

static inline struct crontab *convert(const char *text)
{
    return convert_as(text, CRONTAB_USER);
}

/* The entry of LINE; fails when there is none. */
static inline const struct crontab_entry *at(const struct crontab *c, size_t line)
{
    for (size_t i = 0; i < crontab_count(c); i++)
        if (crontab_entry(c, i)->line == line)
            return crontab_entry(c, i);
    fail_msg("no entry for line %zu", line);
    return NULL;
}

static inline const struct crontab_entry *job_at(const struct crontab *c, size_t line)
{
    const struct crontab_entry *e = at(c, line);

    if (e->kind != CRONTAB_JOB)
        fail_msg("line %zu is not a job: %s", line, e->what ? e->what : "");
    assert_non_null(e->doc);
    return e;
}

/* The reason an error line gives; fails when the line is not an error. */
static inline const char *error_at(const struct crontab *c, size_t line)
{
    const struct crontab_entry *e = at(c, line);

    if (e->kind != CRONTAB_ERROR)
        fail_msg("line %zu is not an error (kind %d)", line, (int)e->kind);
    return e->what;
}

static inline const char *str(const json_t *doc, const char *path)
{
    json_t *v = (json_t *)doc;
    char buf[128], *p, *save = NULL;

    snprintf(buf, sizeof buf, "%s", path);
    for (p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save))
        v = json_object_get(v, p);
    return json_string_value(v);
}

static inline const char *arg(const struct crontab_entry *e, size_t i)
{
    return json_string_value(json_array_get(json_object_get(e->doc, "command"), i));
}

static inline size_t nargs(const struct crontab_entry *e)
{
    return json_array_size(json_object_get(e->doc, "command"));
}

/* Runs E's command as the runner would (standard input /dev/null, the
 * job's environment) and returns what it wrote to standard output. */
static inline char *run_job(const struct crontab_entry *e, size_t *ret_len)
{
    const json_t *cmd = json_object_get(e->doc, "command"), *env = json_object_get(e->doc, "env");
    char *argv[16] = { 0 }, *envp[64] = { 0 }, *out = malloc(1 << 16);
    posix_spawn_file_actions_t fa;
    const char *key;
    json_t *v;
    size_t i, n = 0;
    ssize_t got;
    int fds[2], status;
    pid_t pid;

    assert_non_null(out);
    json_array_foreach(cmd, i, v) {
        assert_true(i < 15);
        argv[i] = (char *)json_string_value(v);
    }
    json_object_foreach((json_t *)env, key, v) {
        assert_true(n < 63);
        assert_true(asprintf(&envp[n++], "%s=%s", key, json_string_value(v)) > 0);
    }
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    n = 0;
    while ((got = read(fds[0], out + n, (1 << 16) - 1 - n)) > 0)
        n += (size_t)got;
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    out[n] = '\0';
    for (i = 0; envp[i]; i++)
        free(envp[i]);
    *ret_len = n;
    return out;
}

#endif
