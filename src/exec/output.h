/* output.h: a run's output file, written by its holder, read by anyone.
 *
 * stdout and stderr of a job go into one file, interleaved in the order the
 * holder read them, each chunk marked with its stream. The format (see
 * docs/exec.md) is a header line "chime-output 1\n", then chunks:
 *
 *     O<len>\n<len bytes>     bytes the job wrote to stdout
 *     E<len>\n<len bytes>     bytes the job wrote to stderr
 *     D<count>\n              COUNT bytes were dropped here (the output cap)
 *     X<len>\n<len bytes>     the exit record (JSON), last, written once at the end
 *
 * with <len> and <count> in decimal. Past the cap the writer keeps the first
 * half of it as it comes and the last half in a ring, written at the end
 * after one D chunk; the true total is counted either way.
 *
 * A file being written ends in the middle of a chunk now and then: readers
 * stop before an incomplete chunk and say how far they got, so a follower
 * reads again from there. */
#ifndef CHIME_EXEC_OUTPUT_H
#define CHIME_EXEC_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

struct err;

enum exec_stream { EXEC_STDOUT = 1, EXEC_STDERR = 2 };

#define EXEC_OUTPUT_MAGIC    "chime-output 1\n"
#define EXEC_OUTPUT_READ_MAX (INT64_C(1) << 30) /* a reader's ceiling, bytes */

/* ---- writing (the holder) ---- */

struct exec_output;

/* Starts an output file on FD (which it takes), keeping at most CAP bytes of
 * output (0: all of it), and writes the header. Returns an owned writer. */
int exec_output_new(int fd, int64_t cap, struct exec_output **ret, struct err *err);
/* Adds LEN bytes the job wrote to STREAM. A write error (a full disk) is
 * remembered, the bytes are counted and dropped, and later writes are
 * dropped too: the job must never block on its output. */
void exec_output_write(struct exec_output *o, enum exec_stream stream, const char *data,
                       size_t len);
/* Replaces every occurrence of the values SECRETS (NULL-terminated; NULL or
 * empty: none) in both streams by "[redacted]" from now on (redact.h). A
 * secret split across writes is found; up to its length less one byte of
 * a stream is held back until the next write, exec_output_flush() or
 * exec_output_finish(). The cap counts the bytes written to the file, the
 * total what the job wrote. */
int exec_output_redact(struct exec_output *o, const char *const *secrets, struct err *err);
/* The end of STREAM (its pipe closed): writes what its filter holds back. */
void exec_output_flush(struct exec_output *o, enum exec_stream stream);
/* Writes the kept tail after its D chunk, then RECORD (JSON text, or NULL
 * for none) as the X chunk. Returns 0, or the negative errno of the first
 * write error (then ERR says what). Nothing is synced: exec_output_sync(). */
int exec_output_finish(struct exec_output *o, const char *record, struct err *err);
/* fsync()s the file; 0 or -errno. */
int exec_output_sync(struct exec_output *o);
/* Bytes the job wrote on both streams, kept or not. */
int64_t exec_output_total(const struct exec_output *o);
/* Closes the file. */
void exec_output_free(struct exec_output *o);

/* ---- reading ---- */

#define EXEC_OUTPUT_RECORD_MAX 65536 /* bytes of an exit record a reader accepts */

/* The exit record in the output file FD (read with pread, by chunk headers
 * only): *RET (owned, NUL-terminated) and *RET_LEN, or *RET NULL when the
 * file has none, or ends in a cut-short chunk (its holder died writing). */
int exec_output_record(int fd, char **ret, size_t *ret_len, struct err *err);

/* Called per chunk: STREAM is EXEC_STDOUT or EXEC_STDERR with DATA, or 0 for
 * a drop marker with DROPPED bytes (DATA NULL). Nonzero stops the walk. */
typedef int exec_output_chunk_cb(void *arg, int stream, const char *data, size_t len,
                                 int64_t dropped);

/* Walks the chunks in DATA (a whole file or a prefix of one, header
 * included) and sets *RET_USED to the bytes of whole chunks seen; an
 * incomplete chunk at the end is not an error. A bad header or chunk is
 * CHIME_EINVAL. Returns 0 or what CB returned, or a negative error. */
int exec_output_parse(const char *data, size_t len, exec_output_chunk_cb *cb, void *arg,
                      size_t *ret_used, struct err *err);

/* Reads the output file at PATH and renders it as plain text: the bytes of
 * the streams in STREAMS (EXEC_STDOUT | EXEC_STDERR), with each drop marker
 * as a line "[chime: N bytes of output dropped]". Blocks on the file: for
 * API threads and the CLI, not the loop. Returns an owned NUL-terminated
 * buffer in *RET and its length in *RET_LEN. */
int exec_output_read(const char *path, unsigned streams, char **ret, size_t *ret_len,
                     struct err *err);

#endif
