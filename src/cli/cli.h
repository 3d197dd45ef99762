/* cli.h: the commands of the chime binary, one function each.
 * Each takes main()'s argc/argv from the command name on and returns the
 * process exit status: 0 success, 1 failure, 2 bad usage or input. */
#ifndef CHIME_CLI_H
#define CHIME_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int cli_next(int argc, char **argv);
int cli_serve(int argc, char **argv);    /* chime serve: the daemon */

/* Client commands over the daemon's REST API (docs/cli.md). */
int cli_jobs(int argc, char **argv);     /* chime jobs: the job list */
int cli_job(int argc, char **argv);      /* chime job add|edit|show|rm|pause|resume */
int cli_run(int argc, char **argv);      /* chime run JOB [--wait] */
int cli_runs(int argc, char **argv);     /* chime runs [JOB]: the run history */
int cli_logs(int argc, char **argv);     /* chime logs RUN [--follow] */
int cli_import_crontab(int argc, char **argv); /* chime import-crontab FILE */
int cli_export(int argc, char **argv);   /* chime export: job documents as one file */
int cli_import(int argc, char **argv);   /* chime import FILE: all or nothing */
int cli_apply(int argc, char **argv);    /* chime apply FILE|DIR|-: declarative create/update */
int cli_backup(int argc, char **argv);   /* chime backup PATH: the database, online */
int cli_restore(int argc, char **argv);  /* chime restore BACKUP: a backup put back, offline */
int cli_token(int argc, char **argv);    /* chime token create|list|revoke */
int cli_audit(int argc, char **argv);    /* chime audit: who changed what */
int cli_notifications(int argc, char **argv); /* chime notifications [retry ID]: the outbox */
int cli_channels(int argc, char **argv); /* chime channels: the notification channels */
int cli_dead_letters(int argc, char **argv); /* chime dead-letters [JOB]: failed fires */
int cli_requeue(int argc, char **argv);  /* chime requeue RUN: a dead letter run again */
int cli_cancel(int argc, char **argv);   /* chime cancel RUN: a queued or running run ended */

/* Prints "chime CMD: FIELD: MESSAGE" (or without FIELD) on stderr. */
struct err;
void cli_error(const char *cmd, const struct err *err);

/* ---- what the client commands share ---- */

/* One line for wrong arguments: "chime CMD: WHAT (see chime CMD --help)".
 * Returns 2. */
int cli_bad_args(const char *cmd, const char *what);

struct json_t;

#define CLI_JOB_ID_MAX   130                   /* "namespace/name" and NUL */
#define CLI_FILE_MAX     ((size_t)1 << 20)     /* a job document, bytes */
#define CLI_TIME_LEN     40

/* Reads JOB, "namespace/name" or "name" (namespace "default"), each part
 * [a-z0-9][a-z0-9._-]{0,62}, into RET as "namespace/name"; a bad name is
 * CHIME_EINVAL with field "job". */
int cli_job_id(const char *arg, char ret[CLI_JOB_ID_MAX], struct err *err);
/* Checks a namespace name alone (field "namespace"). */
int cli_namespace(const char *arg, struct err *err);
/* Reads a run id, a whole number from 1 (field "run"). */
int cli_run_id(const char *arg, int64_t *ret, struct err *err);

/* Reads the file at PATH ("-": standard input) whole, at most MAX bytes,
 * into an owned NUL-terminated buffer. Too big is CHIME_ETOOBIG, a missing
 * file CHIME_ENOTFOUND; the field is "file". */
int cli_read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err *err);

/* The API instant ISO (UTC, "...Z") as local time "2026-03-08 03:00:00"
 * in the system's zone, for tables; "-" for NULL; the text itself when it
 * does not parse. Returns BUF (CLI_TIME_LEN bytes). */
const char *cli_time(const char *iso, char *buf, size_t len);
/* Parses an API instant; 0 or -1. */
int cli_time_us(const char *iso, int64_t *ret_us);
/* Microseconds since the epoch, now. */
int64_t cli_now_us(void);

/* The string at KEY of object O, or NULL when absent or not a string. */
const char *cli_json_str(const struct json_t *o, const char *key);
/* Prints J as indented JSON and a newline on stdout; returns the exit
 * status (1 when stdout fails). */
int cli_json_print(const struct json_t *j);

/* `chime CMD RUN [--json]` (cancel, requeue): POSTs to PATH_FMT with the
 * run id (a "%lld" in it), then prints the daemon's answer with --json,
 * else PRINT(id, answer). ABOUT describes RUN in --help. Returns the exit
 * status: a malformed RUN is 2, an error answer 1. */
int cli_run_post(const char *cmd, const char *about, const char *path_fmt, int argc, char **argv,
                 void (*print)(long long id, const struct json_t *answer));

/* ---- the list commands (runs, audit, notifications) ---- */

#define CLI_LIST_MAX 1000 /* the most items the API lists in one page */

/* A time the user typed (ISO 8601; local time without an offset), as the
 * API's UTC form, into BUF (ISOTIME_LEN bytes). */
int cli_user_time(const char *s, const char *field, char *buf, size_t len, struct err *err);
/* S is a --limit: a whole number from 1 to CLI_LIST_MAX. */
int cli_list_limit(const char *s, struct err *err);
/* S is one of NAMES (NULL-ended), else "'S' is not a WHAT (names...)" in
 * field "state". */
int cli_choice(const char *s, const char *const *names, const char *what, struct err *err);

struct cli_list {
    const char *cmd;  /* "runs": for messages */
    const char *path; /* "/api/v1/runs" */
    const char *what; /* "run list": the daemon's answer, for messages */
    const char *noun; /* "runs": "3 of 40 runs shown"; "" for none */
    int (*table)(const struct json_t *items, struct err *err); /* prints a table */
};

/* GET L->path with the query KV (client_path()), then prints the items as
 * L->table, or the whole answer with JSON, and on stderr how many of how
 * many when the list is longer than the page. Returns the exit status. */
int cli_list_show(const struct cli_list *l, const char *const *kv, bool json);

#endif
