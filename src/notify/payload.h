/* payload.h: what a notification says, in each channel's format.
 *
 * An event is recorded once, as JSON (payload_event_json), when it
 * happens; every attempt of every channel formats the same recorded event,
 * so a webhook body and its signature are the same bytes on every retry.
 * A webhook gets the event with its delivery id and channel added; Slack
 * an incoming-webhook message ({"text": ...}); email an RFC 5322 message
 * with the same readable summary. The signature is HMAC-SHA256 of the
 * body with the channel's secret (libsodium), "sha256=<64 hex digits>".
 * Pure functions: no I/O, any thread. */
#ifndef CHIME_PAYLOAD_H
#define CHIME_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

struct channel;
struct err;

#define PAYLOAD_SIGNATURE_LEN 72 /* "sha256=" + 64 hex digits + NUL */

/* The error rate as /healthz judges it, for the daemon's own events
 * error_rate (over the threshold) and error_rate_ok (back under it). */
struct payload_rate {
    const char *status;         /* the error_rate check's: "degraded" or "ok" */
    uint32_t failed, finished;  /* runs that ran in the window, and those that failed */
    int64_t window_us;
    double threshold;           /* the fraction failed that is too many */
    int min_runs;               /* fewer finished runs are not judged */
};

/* An event as it happens. Strings are borrowed; NULL ones are left out
 * (or null). A daemon event has no job (NS and NAME NULL: "job" is null)
 * and no run, and carries RATE. */
struct payload_event {
    const char *event;          /* "failure", "success", "timeout", "retry", "recovery",
                                   "disabled", "stuck"; the daemon's "error_rate",
                                   "error_rate_ok" */
    const char *ns;             /* NULL: a daemon event */
    const char *name;
    int64_t run_id;             /* 0: no run (disabled without one) */
    int attempt;                /* 0: unknown */
    const char *state;          /* the run's: "failed", "timed_out", "running", ... */
    const char *reason;         /* "schedule", "manual", ... */
    int64_t fire_us, started_us, finished_us; /* 0: unknown */
    int exit_code;              /* -1: none */
    int signal;                 /* 0: none */
    const char *error;
    int64_t occurred_us;
    const char *node;           /* the daemon's host */
    const struct payload_rate *rate; /* error_rate, error_rate_ok; NULL */
};

/* The event as the JSON text the outbox keeps: owned, free(); NULL when
 * out of memory. */
char *payload_event_json(const struct payload_event *e);

/* One readable line about EVENT_JSON ("job ns/a failed: run 42 (attempt
 * 1) exited with code 3"; "error rate on host-a is over its threshold:
 * ..."): owned, free(); NULL when EVENT_JSON is not an event or out of
 * memory. */
char *payload_summary(const char *event_json);

/* The webhook body: the event with "delivery_id", "channel" and
 * "summary"; owned JSON text in *RET (LEN bytes). */
int payload_webhook(const char *event_json, const char *delivery_id, const char *channel,
                    char **ret, size_t *ret_len, struct err *err);
/* A Slack incoming-webhook message: {"text": "<emoji> <summary>"} with
 * the run's details as an attachment's fields. */
int payload_slack(const char *event_json, const char *delivery_id, char **ret, size_t *ret_len,
                  struct err *err);
/* An email to C's recipients: headers (From, To, Subject from C's
 * template, Date of NOW_US, Message-ID and X-Chime-Delivery from the
 * delivery id) and a plain-text body, CRLF line ends. */
int payload_email(const char *event_json, const char *delivery_id, const struct channel *c,
                  int64_t now_us, char **ret, size_t *ret_len, struct err *err);

/* "sha256=" and the hex HMAC-SHA256 of BODY under KEY into OUT. */
void payload_sign(const unsigned char *key, size_t key_len, const void *body, size_t len,
                  char out[PAYLOAD_SIGNATURE_LEN]);

#endif
