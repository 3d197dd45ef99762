/* vocab.h: the vocabularies chime's code, store, API and CLI all speak:
 * run states, run reasons, notification events and token roles.
 *
 * Each is one X-macro table, and every enum, name, parser, count and list
 * in the tree is generated from its rows: adding a state is one row here
 * (plus the code that produces it). A row's name is at once the API's and
 * the CLI's spelling and the text the store keeps in its column, whose
 * CHECK constraint (sqlite_schema.c) vocab_test.c compares with the table.
 * The store is the lowest module that needs them all (its columns), so the
 * tables live here; a module above that owns a vocabulary (the job model's
 * events, the API's roles) generates its enum from the rows, not a copy.
 * This header includes nothing and declares no structs: the engine uses it
 * without the rest of the store.
 *
 * The run states and reasons are one enum each for the store and the
 * engine (sched.h): a run's state goes from the engine to its row as is.
 * They count from 1, so 0 means "none" (a filter on every state). */
#ifndef CHIME_STORE_VOCAB_H
#define CHIME_STORE_VOCAB_H

#include <stdbool.h>
#include <stddef.h>

struct err;

/* Run states: X(ID, NAME, FINAL, EXIT). FINAL: the run has ended. EXIT:
 * the exit status `chime run --wait` ends with (-1: the process's own). */
#define STORE_RUN_STATES(X)                                                                        \
    X(QUEUED, "queued", false, 1)                                                                  \
    X(RUNNING, "running", false, 1)                                                                \
    X(SUCCEEDED, "succeeded", true, 0)                                                             \
    X(FAILED, "failed", true, -1)                                                                  \
    X(TIMED_OUT, "timed_out", true, 124)                                                           \
    X(CANCELLED, "cancelled", true, 1)                                                             \
    X(SKIPPED, "skipped", true, 1)                                                                 \
    X(MISSED, "missed", true, 1)                                                                   \
    X(LOST, "lost", true, 1)

/* Why a run was fired: X(ID, NAME). */
#define STORE_REASONS(X)                                                                           \
    X(SCHEDULE, "schedule")                                                                        \
    X(MANUAL, "manual")                                                                            \
    X(RETRY, "retry")                                                                              \
    X(AFTER, "after")                                                                              \
    X(CATCH_UP, "catch_up")

/* Notification events: X(ID, NAME, EMOJI, COLOR), EMOJI and COLOR being
 * how a Slack message shows it. A job's events (job.h's JOB_ON_*, its
 * document's "on_NAME" lists) come first, then the daemon's own
 * (notify.h's NOTIFY_*, heard by the "daemon" channel list). */
#define STORE_JOB_EVENTS(X)                                                                        \
    X(FAILURE, "failure", ":x:", "#d40e0d")                                                        \
    X(SUCCESS, "success", ":white_check_mark:", "#2eb67d")                                         \
    X(TIMEOUT, "timeout", ":hourglass:", "#d40e0d")                                                \
    X(RETRY, "retry", ":repeat:", "#e8a317")                                                       \
    X(RECOVERY, "recovery", ":large_green_circle:", "#2eb67d")                                     \
    X(DISABLED, "disabled", ":no_entry:", "#d40e0d")                                               \
    X(STUCK, "stuck", ":warning:", "#e8a317")
#define STORE_DAEMON_EVENTS(X)                                                                     \
    X(ERROR_RATE, "error_rate", ":rotating_light:", "#d40e0d")                                     \
    X(ERROR_RATE_OK, "error_rate_ok", ":large_green_circle:", "#2eb67d")
#define STORE_EVENTS(X) STORE_JOB_EVENTS(X) STORE_DAEMON_EVENTS(X)

/* Token roles, weakest first (each can do what the ones before it can):
 * X(ID, NAME). token.h's TOKEN_* count from 1 in this order. */
#define STORE_ROLES(X)                                                                             \
    X(VIEWER, "viewer")     /* read */                                                             \
    X(OPERATOR, "operator") /* read, trigger, pause and resume, cancel, requeue */                 \
    X(ADMIN, "admin")       /* everything: jobs, tokens, the audit log */

enum store_run_state {
    STORE_RUN_STATE_NONE,
#define X(id, ...) STORE_RUN_##id,
    STORE_RUN_STATES(X)
#undef X
    STORE_RUN_STATE_END
};

enum store_reason {
    STORE_REASON_NONE,
#define X(id, ...) STORE_REASON_##id,
    STORE_REASONS(X)
#undef X
    STORE_REASON_END
};

/* "queued", "timed_out", "catch_up": the names in the API, the CLI and the
 * database; "unknown" for a value outside the table. */
const char *store_run_state_name(enum store_run_state st);
const char *store_reason_name(enum store_reason r);
/* CHIME_EINVAL, naming FIELD, for an unknown name (or NULL). */
int store_run_state_parse(const char *name, const char *field, enum store_run_state *ret,
                          struct err *err);
int store_reason_parse(const char *name, const char *field, enum store_reason *ret,
                       struct err *err);
/* Whether a run in ST has ended (the table's FINAL). */
bool store_run_state_finished(enum store_run_state st);
/* The table's EXIT of ST; 1 outside the table. */
int store_run_state_exit(enum store_run_state st);

/* Helpers for a table's generated NAMES[0..N): the index of NAME (-1 when
 * it is none of them, or NULL), and the names joined by SEP into BUF of
 * LEN bytes (cut short if it does not fit), returned. */
int vocab_find(const char *const *names, int n, const char *name);
const char *vocab_join(const char *const *names, int n, const char *sep, char *buf, size_t len);

#endif
