/* client.h: the CLI's HTTP client for the daemon's REST API (libcurl).
 *
 * The daemon is found at --url, else $CHIME_URL (default
 * http://127.0.0.1:8717), and every request carries a bearer token: --token
 * or --token-file's, else $CHIME_TOKEN when it is set, else
 * the admin token the daemon wrote to DATA_DIR/admin.token (DATA_DIR is
 * $CHIME_DATA_DIR, else ./chime-data) when that file can be read, else
 * none.
 * Every call is bounded: 10 s to connect, 120 s for a whole request (none
 * for a stream, which the caller bounds), 64 MiB of answer. A failure is
 * one struct err: an application/problem+json answer becomes its "field"
 * and "detail"; a daemon that cannot be reached says so and where.
 *
 * One client serves one command at a time and is not shared between
 * threads. The caller owns it and releases it with client_free(). */
#ifndef CHIME_CLI_CLIENT_H
#define CHIME_CLI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct err;
struct json_t;

#define CLIENT_DEFAULT_URL "http://127.0.0.1:8717"
#define CLIENT_BODY_MAX    ((size_t)64 << 20) /* bytes of one answer */

/* Takes the global options out of main()'s ARGV, before the command or
 * after it (up to a "--"): --url URL, --token TOKEN, --token-file FILE
 * (its first line is the token), each also as --opt=VALUE. They win over
 * CHIME_URL and CHIME_TOKEN for every client_new() after. After `audit`,
 * --token is audit's own filter and is left in place. The rest of ARGV is
 * kept in order and *ARGC updated. Returns 0, or the exit status 2 after
 * telling what is wrong (a missing value, --token and --token-file both). */
int client_options(int *argc, char **argv);

/* Reads --url, else CHIME_URL, and --token or --token-file, else
 * CHIME_TOKEN. A malformed URL is CHIME_EINVAL with field "--url" or
 * "CHIME_URL"; a token file that cannot be read, with "--token-file".
 * Returns an owned client. */
int client_new(struct client **ret, struct err *err);
void client_free(struct client *c);

/* The base URL requests go to, without a trailing '/'. */
const char *client_url(const struct client *c);

/* Sends METHOD PATH ("/api/v1/jobs") with BODY (JSON text, borrowed, or
 * NULL) and, when IF_MATCH is not NULL, an If-Match header. A 2xx answer
 * with a body is parsed into *RET (owned; NULL for an empty body, and RET
 * may be NULL when the caller wants none). */
int client_json(struct client *c, const char *method, const char *path, const char *body,
                const char *if_match, struct json_t **ret, struct err *err);

/* GETs the text at PATH from byte FROM on (a Range request; a daemon that
 * ignores Range is handled too). Returns an owned NUL-terminated buffer. */
int client_text(struct client *c, const char *path, int64_t from, char **ret,
                size_t *ret_len, struct err *err);

/* A Server-Sent Events stream. ON_EVENT gets each event (NAME is "message"
 * when the server gave none; ID is the last id seen, "" when none); ON_TEXT
 * gets the body of a 200 answer that is not text/event-stream (a daemon or
 * proxy that does not stream). Either returns 0 to go on, 1 to stop the
 * transfer (not an error), or a negative code after filling the err it
 * keeps in ARG. */
struct client_stream {
    int (*on_event)(void *arg, const char *name, const char *data, size_t len,
                    const char *id);
    int (*on_text)(void *arg, const char *data, size_t len);
    void *arg;
};

/* GETs PATH with Accept: text/event-stream (and Last-Event-ID when
 * LAST_ID is not NULL), for at most TIMEOUT_MS (0: no limit), and feeds
 * the answer to S. Returns 0 once a 200 answer has ended by any means (the
 * server closed it, the connection broke, the time ran out, a callback
 * stopped it): the caller knows from its callbacks whether it saw the end.
 * An answer other than 200 and a failure to connect are errors. */
int client_stream(struct client *c, const char *path, const char *last_id, long timeout_ms,
                  const struct client_stream *s, struct err *err);

/* Writes BASE ("/api/v1/runs") and the query of KV, a NULL-terminated
 * list of key, value pairs (a NULL value leaves its key out), each value
 * percent-encoded, into BUF of LEN bytes. Too long is CHIME_ETOOBIG. */
int client_path(char *buf, size_t len, const char *base, const char *const *kv,
                struct err *err);

/* Tells the user about ERR, which a call on C (NULL: none was made)
 * returned: "chime CMD: FIELD: MESSAGE", or "chime: MESSAGE" when the
 * daemon could not be reached at all. Returns the exit status: 2 when the
 * daemon refused the input as invalid (HTTP 400, 413, 422) or when C is
 * NULL (client_new() refused the environment), else 1. */
int client_fail(const struct client *c, const char *cmd, const struct err *err);

/* The problem document (application/problem+json) of the last answer,
 * borrowed until the next request; NULL when it had none. For the
 * members past field and detail, such as an import's "errors". */
const struct json_t *client_problem(const struct client *c);

/* Sends METHOD PATH without a body and writes a 2xx answer's body to FD
 * as it arrives: no size limit, no overall time limit (ten silent minutes
 * end it). The value of the answer's header HEADER (may be NULL) goes to
 * VALUE (VALUE_LEN bytes; "" when absent). *RET_BYTES is how many bytes
 * were written. An error answer is an error as client_json's are; a
 * failure to write FD is CHIME_EIO with field "file". */
int client_download(struct client *c, const char *method, const char *path, int fd,
                    const char *header, char *value, size_t value_len, uint64_t *ret_bytes,
                    struct err *err);

#endif
