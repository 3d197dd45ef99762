/* sse.h: a Server-Sent Events parser (the WHATWG "text/event-stream"
 * format), fed bytes as they arrive in chunks of any size.
 *
 * Lines end in CRLF, LF or CR (a CR at the end of one chunk and an LF at
 * the start of the next are one line end). "data:" lines of one event are
 * joined with LF; a blank line dispatches the event; "event:" names it
 * ("message" when unnamed); "id:" sets the last event id, which outlives
 * the event; lines starting with ':' are comments (keep-alives); "retry:"
 * and unknown fields are ignored; one leading space of a value is dropped;
 * a UTF-8 BOM at the very start is skipped. An event whose lines add up to
 * more than MAX bytes is CHIME_ETOOBIG: a stream cannot make us buffer
 * without bound. */
#ifndef CHIME_CLI_SSE_H
#define CHIME_CLI_SSE_H

#include <stddef.h>

struct err;
struct sse;

/* Gets each event; DATA is NUL-terminated (LEN excludes the NUL) and
 * borrowed until the callback returns; ID is "" when none was given.
 * Returns 0 to go on; anything else stops sse_feed(), which returns it. */
typedef int sse_event_cb(void *arg, const char *name, const char *data, size_t len,
                         const char *id);

/* Returns an owned parser calling CB with ARG for each event. */
int sse_new(size_t max, sse_event_cb *cb, void *arg, struct sse **ret, struct err *err);

/* Parses LEN bytes of DATA. Returns 0, what a callback returned, or a
 * negative error; after a nonzero return the parser must not be fed again. */
int sse_feed(struct sse *p, const char *data, size_t len, struct err *err);

/* The last event id seen ("" when none): for Last-Event-ID on reconnect. */
const char *sse_last_id(const struct sse *p);

void sse_free(struct sse *p);

#endif
