/* redact.h: a stream filter that replaces every occurrence of some secret
 * values by a marker, for a run's output (output.c keeps one per stream).
 *
 * Bytes are fed as the job writes them, in pieces of any size: a secret
 * split across two reads is still found. The filter holds back only the
 * bytes that could be the start of a secret not yet complete (at most the
 * longest secret's length less one) and lets everything else through at
 * once, so a live follower waits for nothing but such a tail. Where secrets
 * overlap or touch ("abcd" and "cdef" in "abcdef"), the whole covered span
 * becomes one marker: no byte of any secret gets through. Any bytes
 * (binary, NUL) are fine; a secret of one byte redacts every occurrence of
 * that byte, which is noisy but safe.
 *
 * Each secret is matched with its own Knuth-Morris-Pratt automaton, whose
 * state carries over between feeds: the work is linear in the bytes fed
 * times the number of secrets, whatever the input. */
#ifndef CHIME_EXEC_REDACT_H
#define CHIME_EXEC_REDACT_H

#include <stddef.h>

struct err;
struct exec_redact;

#define EXEC_REDACT_MARKER "[redacted]"

/* Receives the filtered bytes: one call per feed or flush, never empty. */
typedef void exec_redact_emit(void *arg, const char *data, size_t len);

/* A filter for the N values SECRETS[i] of LENS[i] bytes (copied; empty ones
 * are ignored). Returns an owned filter. */
int exec_redact_new(const char *const *secrets, const size_t *lens, size_t n,
                    struct exec_redact **ret, struct err *err);
/* Filters LEN bytes of DATA; what can be told already goes to EMIT. 0, or
 * -CHIME_ENOMEM (then the bytes held and fed are emitted as markers only:
 * nothing unfiltered gets out). */
int exec_redact_feed(struct exec_redact *r, const char *data, size_t len, exec_redact_emit *emit,
                     void *arg);
/* The end of the stream: emits what is held back. */
void exec_redact_flush(struct exec_redact *r, exec_redact_emit *emit, void *arg);
/* The longest secret's length less one: the most bytes ever held back. */
size_t exec_redact_hold_max(const struct exec_redact *r);
void exec_redact_free(struct exec_redact *r);

#endif
