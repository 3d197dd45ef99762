/* follow.h: a run's output as it is written, until the run ends.
 *
 * The daemon streams GET /api/v1/runs/{id}/output as Server-Sent Events
 * (src/api/output.c; docs/cli.md, "The output stream"): "stdout" events
 * ("output" and unnamed ones too) carry bytes for standard output,
 * "stderr" events bytes for standard error, "dropped" the count of bytes
 * the output cap dropped, "end" the run as JSON once it has ended, and
 * "close" says the daemon ended the follow early (its time limit): the
 * follower reconnects with Last-Event-ID and goes on. Where no stream
 * comes (a proxy that buffers, a daemon without it) or it keeps breaking
 * before "end", the follower polls the run and fetches the output past
 * what it has printed (Range), backing off from 0.1 s to 2 s. */
#ifndef CHIME_CLI_FOLLOW_H
#define CHIME_CLI_FOLLOW_H

#include <stdint.h>

struct client;
struct err;
struct json_t;

/* Copies run RUN_ID's output to stdout and stderr until the run ends, for
 * at most TIMEOUT_US (0: no limit; past it CHIME_ERANGE with field
 * "timeout"). Returns the ended run as owned JSON in *RET_RUN. */
int follow_run(struct client *c, int64_t run_id, int64_t timeout_us, struct json_t **ret_run,
               struct err *err);

/* Whether STATE (a run's "state") is one a run does not leave. */
int follow_state_final(const char *state);

/* The exit status `chime run --wait` ends with for the ended run RUN: its
 * exit code; 128 + its signal; 124 when it timed out (as timeout(1)); 1
 * for any other failure; 0 when it succeeded. */
int follow_exit_status(const struct json_t *run);

#endif
