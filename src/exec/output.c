/* output.c: the framed output file of a run (format in output.h).
 *
 * The writer never blocks the job on its own account: a write error is
 * remembered once and later output is counted and dropped. Memory is bounded
 * by the cap: the tail ring holds the last half of it, plus one byte per
 * byte for the stream each came from (allocated only once the head is full). */
#include "exec/output.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "exec/redact.h"
#include "util/err.h"
#include "../banned.h"

struct exec_output {
    int fd;
    int64_t head_max; /* payload bytes kept from the start; INT64_MAX: no cap */
    int64_t head_used;
    int64_t tail_max;           /* bytes of the ring */
    uint64_t ring_in;           /* bytes ever pushed into the ring */
    char *ring;                 /* NULL until the head is full */
    unsigned char *ring_stream; /* enum exec_stream of each ring byte */
    int64_t total;              /* every byte the job wrote */
    int werr;                   /* errno of the first failed write; 0: none */
    /* The secret filters of stdout and stderr (redact.h); NULL: none. The
     * cap counts what they let through, total what the job wrote. */
    struct exec_redact *redact[2];
};

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Writes one chunk of KIND whose payload is A then B (either may be empty);
 * a D chunk has no payload and carries NUMBER. */
static void put_chunk(struct exec_output *o, char kind, const char *a, size_t alen, const char *b,
                      size_t blen, uint64_t number)
{
    char head[32];
    struct iovec iov[3];
    int n = snprintf(head, sizeof head, "%c%" PRIu64 "\n", kind, number);
    int rc, k = 1;

    if (o->werr)
        return;
    iov[0] = (struct iovec){head, (size_t)n};
    if (alen)
        iov[k++] = (struct iovec){(void *)a, alen};
    if (blen)
        iov[k++] = (struct iovec){(void *)b, blen};
    rc = write_all(o->fd, iov, k);
    if (rc < 0)
        o->werr = -rc;
}

int exec_output_new(int fd, int64_t cap, struct exec_output **ret, struct err *err)
{
    struct exec_output *o;

    if (cap < 0) {
        close(fd);
        return err_set(err, CHIME_ERANGE, "limits.output", "'%" PRId64 "' is negative", cap);
    }
    o = calloc(1, sizeof *o);
    if (!o) {
        close(fd);
        return err_set(err, CHIME_ENOMEM, "", "out of memory for the output writer");
    }
    o->fd = fd;
    o->head_max = cap ? cap / 2 : INT64_MAX;
    o->tail_max = cap ? cap - cap / 2 : 0;
    {
        struct iovec iov = {EXEC_OUTPUT_MAGIC, sizeof EXEC_OUTPUT_MAGIC - 1};
        int rc = write_all(fd, &iov, 1);

        if (rc < 0)
            o->werr = -rc;
    }
    if (o->werr) {
        int e = o->werr;

        exec_output_free(o);
        return err_set(err, CHIME_EIO, "", "cannot write the output file: %s", strerror(e));
    }
    *ret = o;
    return 0;
}

static void ring_push(struct exec_output *o, enum exec_stream stream, const char *data, size_t len)
{
    uint64_t tail = (uint64_t)o->tail_max;

    if (tail == 0)
        return;
    if (!o->ring) {
        o->ring = malloc((size_t)tail);
        o->ring_stream = malloc((size_t)tail);
        if (!o->ring || !o->ring_stream) {
            /* no memory for the tail: it is dropped and counted like the rest */
            free(o->ring);
            free(o->ring_stream);
            o->ring = NULL;
            o->ring_stream = NULL;
            o->tail_max = 0;
            o->ring_in += len;
            return;
        }
    }
    if (len > tail) { /* only the last TAIL bytes can survive */
        o->ring_in += len - tail;
        data += len - tail;
        len = (size_t)tail;
    }
    while (len > 0) {
        size_t pos = (size_t)(o->ring_in % tail);
        size_t n = (size_t)tail - pos < len ? (size_t)tail - pos : len;

        memcpy(o->ring + pos, data, n);
        memset(o->ring_stream + pos, stream, n);
        o->ring_in += n;
        data += n;
        len -= n;
    }
}

/* Keeps LEN bytes of STREAM: the head as it comes, then the ring. */
static void keep(struct exec_output *o, enum exec_stream stream, const char *data, size_t len)
{
    size_t head = 0;

    if (o->head_used < o->head_max) {
        int64_t room = o->head_max - o->head_used;

        head = (int64_t)len < room ? len : (size_t)room;
        put_chunk(o, stream == EXEC_STDERR ? 'E' : 'O', data, head, NULL, 0, head);
        o->head_used += (int64_t)head;
    }
    if (head < len)
        ring_push(o, stream, data + head, len - head);
}

struct keep_arg {
    struct exec_output *o;
    enum exec_stream stream;
};

static void on_filtered(void *arg, const char *data, size_t len)
{
    struct keep_arg *k = arg;

    keep(k->o, k->stream, data, len);
}

void exec_output_write(struct exec_output *o, enum exec_stream stream, const char *data, size_t len)
{
    struct exec_redact *r = o->redact[stream == EXEC_STDERR];
    struct keep_arg k = {o, stream};

    o->total += (int64_t)len;
    if (r)
        exec_redact_feed(r, data, len, on_filtered, &k);
    else
        keep(o, stream, data, len);
}

int exec_output_redact(struct exec_output *o, const char *const *secrets, struct err *err)
{
    size_t n = 0, *lens;
    int rc = 0;

    while (secrets && secrets[n])
        n++;
    if (n == 0)
        return 0;
    if (!(lens = calloc(n, sizeof *lens)))
        return err_set(err, CHIME_ENOMEM, "", "out of memory for the output's secret filter");
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(secrets[i]);
    for (int s = 0; s < 2 && rc == 0; s++)
        if (!o->redact[s])
            rc = exec_redact_new(secrets, lens, n, &o->redact[s], err);
    free(lens);
    return rc;
}

void exec_output_flush(struct exec_output *o, enum exec_stream stream)
{
    struct exec_redact *r = o->redact[stream == EXEC_STDERR];
    struct keep_arg k = {o, stream};

    if (r)
        exec_redact_flush(r, on_filtered, &k);
}

int exec_output_finish(struct exec_output *o, const char *record, struct err *err)
{
    uint64_t tail = (uint64_t)o->tail_max;
    uint64_t kept, i = 0;

    /* what the filters hold back, before the tail is taken */
    exec_output_flush(o, EXEC_STDOUT);
    exec_output_flush(o, EXEC_STDERR);
    kept = o->ring_in < tail ? o->ring_in : tail;
    if (o->ring_in > kept)
        put_chunk(o, 'D', NULL, 0, NULL, 0, o->ring_in - kept);
    /* the kept tail, oldest byte first, one chunk per run of one stream; a
     * run across the end of the ring is written as its two pieces */
    while (tail > 0 && i < kept) {
        size_t pos = (size_t)((o->ring_in - kept + i) % tail);
        unsigned char s = o->ring_stream[pos];
        size_t n = 1, first;

        while (i + n < kept && o->ring_stream[(pos + n) % tail] == s)
            n++;
        first = (size_t)tail - pos < n ? (size_t)tail - pos : n;
        put_chunk(o, s == EXEC_STDERR ? 'E' : 'O', o->ring + pos, first, o->ring, n - first, n);
        i += n;
    }
    if (record)
        put_chunk(o, 'X', record, strlen(record), NULL, 0, strlen(record));
    if (o->werr) {
        err_set(err, CHIME_EIO, "", "output file write failed: %s", strerror(o->werr));
        return -o->werr;
    }
    return 0;
}

int exec_output_sync(struct exec_output *o)
{
    if (fsync(o->fd) < 0 && errno != EINVAL)
        return -errno;
    return 0;
}

int64_t exec_output_total(const struct exec_output *o)
{
    return o->total;
}

void exec_output_free(struct exec_output *o)
{
    if (!o)
        return;
    if (o->fd >= 0)
        close(o->fd);
    free(o->ring);
    free(o->ring_stream);
    exec_redact_free(o->redact[0]);
    exec_redact_free(o->redact[1]);
    free(o);
}

/* ---- reading ---- */

int exec_output_parse(const char *data, size_t len, exec_output_chunk_cb *cb, void *arg,
                      size_t *ret_used, struct err *err)
{
    size_t magic = sizeof EXEC_OUTPUT_MAGIC - 1;
    size_t at = magic;

    if (len < magic) {
        if (memcmp(data, EXEC_OUTPUT_MAGIC, len) != 0)
            return err_set(err, CHIME_EINVAL, "", "not a chime output file");
        *ret_used = 0;
        return 0;
    }
    if (memcmp(data, EXEC_OUTPUT_MAGIC, magic) != 0)
        return err_set(err, CHIME_EINVAL, "", "not a chime output file");
    while (at < len) {
        char kind = data[at];
        size_t p = at + 1;
        uint64_t n = 0;
        int rc;

        if (kind != 'O' && kind != 'E' && kind != 'D' && kind != 'X')
            return err_set(err, CHIME_EINVAL, "", "bad chunk kind 0x%02x at byte %zu",
                           (unsigned char)kind, at);
        while (p < len && data[p] >= '0' && data[p] <= '9' && p - at <= 19)
            n = n * 10 + (uint64_t)(data[p++] - '0');
        if (p == len)
            break; /* the header is still being written */
        if (data[p] != '\n' || p == at + 1 || n > INT64_MAX)
            return err_set(err, CHIME_EINVAL, "", "bad chunk header at byte %zu", at);
        p++;
        if (kind == 'D') {
            rc = cb ? cb(arg, 0, NULL, 0, (int64_t)n) : 0;
        } else if (kind == 'X') {
            if (n > len - p)
                break;
            rc = 0; /* the exit record: not output, and the last chunk */
            p += (size_t)n;
            if (p < len)
                return err_set(err, CHIME_EINVAL, "", "a chunk after the exit record at byte %zu",
                               p);
        } else {
            if (n > len - p)
                break; /* the payload is still being written */
            rc = cb ? cb(arg, kind == 'E' ? EXEC_STDERR : EXEC_STDOUT, data + p, (size_t)n, 0) : 0;
            p += (size_t)n;
        }
        at = p;
        if (rc) {
            *ret_used = at;
            return rc;
        }
    }
    *ret_used = at;
    return 0;
}

int exec_output_record(int fd, char **ret, size_t *ret_len, struct err *err)
{
    size_t magic = sizeof EXEC_OUTPUT_MAGIC - 1;
    uint64_t at = magic;
    char head[32];

    *ret = NULL;
    *ret_len = 0;
    if (pread(fd, head, magic, 0) != (ssize_t)magic || memcmp(head, EXEC_OUTPUT_MAGIC, magic) != 0)
        return err_set(err, CHIME_EINVAL, "", "not a chime output file");
    /* chunk headers only, each payload skipped: the record is the last
     * chunk, behind up to the whole output */
    for (;;) {
        ssize_t got = pread(fd, head, sizeof head, (off_t)at);
        uint64_t n = 0;
        size_t p = 1;

        if (got < 0)
            return err_set(err, CHIME_EIO, "", "cannot read the output: %s", strerror(errno));
        if (got < 2)
            return 0; /* the end: no record (yet) */
        if (head[0] != 'O' && head[0] != 'E' && head[0] != 'D' && head[0] != 'X')
            return err_set(err, CHIME_EINVAL, "", "bad chunk kind at byte %" PRIu64, at);
        while (p < (size_t)got && head[p] >= '0' && head[p] <= '9' && p <= 19)
            n = n * 10 + (uint64_t)(head[p++] - '0');
        if (p == (size_t)got)
            return 0; /* a header cut short: the holder died writing it */
        if (head[p] != '\n' || p == 1 || n > INT64_MAX)
            return err_set(err, CHIME_EINVAL, "", "bad chunk header at byte %" PRIu64, at);
        at += p + 1;
        if (head[0] == 'D')
            continue;
        if (head[0] == 'X') {
            char *text;

            if (n > EXEC_OUTPUT_RECORD_MAX)
                return err_set(err, CHIME_EINVAL, "", "the exit record is too large");
            text = malloc(n + 1);
            if (!text)
                return err_set(err, CHIME_ENOMEM, "", "out of memory");
            got = pread(fd, text, n, (off_t)at);
            if (got != (ssize_t)n) {
                free(text); /* cut short: the holder died writing it */
                return got < 0 ? err_set(err, CHIME_EIO, "", "cannot read the output: %s",
                                         strerror(errno))
                               : 0;
            }
            text[n] = '\0';
            *ret = text;
            *ret_len = n;
            return 0;
        }
        at += n;
    }
}

struct render {
    unsigned streams;
    char *buf;
    size_t len, cap;
    bool failed;
};

static int render_put(struct render *r, const char *data, size_t len)
{
    if (r->len + len + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        char *b;

        while (cap < r->len + len + 1)
            cap *= 2;
        b = realloc(r->buf, cap);
        if (!b) {
            r->failed = true;
            return 1;
        }
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, len);
    r->len += len;
    r->buf[r->len] = '\0';
    return 0;
}

static int render_chunk(void *arg, int stream, const char *data, size_t len, int64_t dropped)
{
    struct render *r = arg;
    char line[80];
    int n;

    if (stream)
        return (r->streams & (unsigned)stream) ? render_put(r, data, len) : 0;
    n = snprintf(line, sizeof line, "%s[chime: %" PRId64 " bytes of output dropped]\n",
                 r->len && r->buf[r->len - 1] != '\n' ? "\n" : "", dropped);
    return render_put(r, line, (size_t)n);
}

int exec_output_read(const char *path, unsigned streams, char **ret, size_t *ret_len,
                     struct err *err)
{
    struct render r = {.streams = streams};
    struct stat st;
    char *data = NULL;
    size_t got = 0, used;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, errno == ENOENT ? CHIME_ENOTFOUND : CHIME_EIO, "",
                       "cannot open output file: %s", strerror(errno));
    if (fstat(fd, &st) < 0 || st.st_size > EXEC_OUTPUT_READ_MAX) {
        rc = err_set(err, CHIME_ETOOBIG, "", "output file is larger than %" PRId64 " bytes",
                     (int64_t)EXEC_OUTPUT_READ_MAX);
        goto done;
    }
    data = malloc((size_t)st.st_size + 1);
    if (!data) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory reading the output file");
        goto done;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(err, CHIME_EIO, "", "cannot read output file: %s", strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (render_put(&r, "", 0)) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory rendering the output");
        goto done;
    }
    rc = exec_output_parse(data, got, render_chunk, &r, &used, err);
    if (rc > 0 || r.failed) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory rendering the output");
        goto done;
    }
    if (rc < 0)
        goto done;
    *ret = r.buf;
    *ret_len = r.len;
    r.buf = NULL;
done:
    free(r.buf);
    free(data);
    close(fd);
    return rc;
}
