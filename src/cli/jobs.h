/* jobs.h: what `chime jobs` and the `chime job` subcommands share. */
#ifndef CHIME_CLI_JOBS_H
#define CHIME_CLI_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"
#include "cli/cmdline.h"

struct json_t;

/* A job's schedule in a few words: "0 2 * * * (Europe/Berlin)",
 * "every 15m", "at 2026-12-01 09:00:00", "after a,b (failure)", "manual". */
void jobs_schedule_text(const struct json_t *sched, char *buf, size_t len);

/* "namespace/name" of the job JSON JOB, or FALLBACK when it has no name. */
void jobs_id_text(const struct json_t *job, const char *fallback, char *buf, size_t len);

/* Drops from a job's view (GET) what the daemon computes (version,
 * next_fire, created_at, updated_at, state), leaving its document. */
void jobs_strip_view(struct json_t *doc);

/* Reads "chime job SUB JOB [OPTIONS]" by SPEC (one positional argument)
 * into OPTS and the job's id into ID. Returns 0 to go on, -1 when --help
 * was printed, or the exit status 2 after saying what is wrong. */
int jobs_args(const struct cmdline_spec *spec, int argc, char **argv, void *opts,
              char id[CLI_JOB_ID_MAX]);

/* The --json row of the job subcommands: a bool at offset 0 of their options. */
extern const struct cmdline_opt jobs_json_row[];

/* `chime job edit JOB` (jobedit.c). */
int jobs_edit(int argc, char **argv);

/* `chime job history|diff|rollback` (history.c). */
int jobs_history(int argc, char **argv);
int jobs_diff(int argc, char **argv);
int jobs_rollback(int argc, char **argv);

#endif
