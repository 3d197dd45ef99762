/* output.c: GET /api/v1/runs/{id}/output: a run's captured output as
 * text, a byte range of it, or followed live as Server-Sent Events.
 *
 * Plain text is exec_output_read()'s rendering of the run's output file
 * (DATA_DIR/runs/<id>.out), and Range counts bytes of that text.
 *
 * A follower reads the file as the holder writes it, one whole chunk at
 * a time, and sends each as an event whose id is the file offset after
 * it (a client reconnecting with Last-Event-ID goes on from there). When
 * there is nothing new it suspends its connection, and the follow thread
 * resumes every suspended follower each API_FOLLOW_TICK_US to look again:
 * a follower never holds a server thread while it waits. The run's state
 * is read at each look; once the run has ended, the rest of the file is
 * sent and an "end" event carries the run. A follow also ends after
 * API_FOLLOW_MAX_US, or API_FOLLOW_IDLE_US without output, or when the
 * server stops, with a "close" event instead: the run goes on, and the
 * client reconnects with Last-Event-ID. */
#include "api/api_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "exec/holder.h"
#include "exec/output.h"
#include "store/store.h"
#include "../banned.h"

#define MAGIC_LEN        (sizeof EXEC_OUTPUT_MAGIC - 1)
#define FOLLOW_READ_STEP ((size_t)64 * 1024)       /* file bytes read per look */
#define FOLLOW_RAW_MAX   ((size_t)8 * 1024 * 1024) /* the largest chunk a follower takes */
#define FOLLOW_OUT_STEP  ((size_t)256 * 1024)      /* event bytes made per look */
#define FOLLOW_EVENT_MAX ((size_t)64 * 1024)       /* bytes of output in one event */
#define FOLLOW_BLOCK     ((size_t)32 * 1024)       /* what libmicrohttpd asks for at once */
#define FOLLOW_LOOKS     4                         /* looks per call before yielding */

/* What "stream" may ask for. */
static const struct {
    const char *name;
    unsigned streams;
} stream_names[] = {
    {"stdout", EXEC_STDOUT},
    {"stderr", EXEC_STDERR},
    {"both", EXEC_STDOUT | EXEC_STDERR},
};

struct api_follow {
    struct api *api;
    struct MHD_Connection *conn;
    int64_t run_id;
    unsigned streams;
    char path[PATH_MAX];
    int fd;       /* -1 until the file is there */
    uint64_t pos; /* file offset of raw[MAGIC_LEN] */
    char *raw;    /* the magic, then file bytes from pos not yet sent */
    size_t raw_len, raw_cap;
    char *out; /* event text not yet sent */
    size_t out_len, out_off, out_cap;
    int64_t begin_us, last_output_us, last_sent_us;
    bool eof;       /* the last read found no more bytes */
    bool need_data; /* raw holds no whole chunk: read more */
    bool done;      /* the end event is in out */
    /* the chunk the parser stopped at, while its events are being made */
    bool chunk_open;
    int chunk_stream;  /* enum exec_stream, 0: a drop marker */
    size_t chunk_off;  /* of its payload in raw */
    size_t chunk_len;  /* of its payload */
    size_t chunk_at;   /* payload bytes sent */
    size_t chunk_used; /* what the parser said: magic + the chunk */
    int64_t chunk_dropped;
    struct api_follow *next; /* in api->suspended */
};

/* ---- plain text and ranges ---- */

static int output_path(const struct api *a, int64_t run_id, char *buf, size_t len, struct err *err)
{
    /* the daemon's layout (src/daemon/node.c, node_run_output) */
    int n = snprintf(buf, len, "%s/runs/%" PRId64 ".out", a->data_dir, run_id);

    if (n < 0 || (size_t)n >= len)
        return err_set(err, CHIME_ETOOBIG, "", "the run output's path is too long");
    return 0;
}

/* A run that started has an output file (its holder makes it before it
 * starts the job): one that is not there was lost (deleted by hand, or a
 * restore of a backup without it), and saying nothing would pass that off
 * as a run that printed nothing. */
static int output_present(struct api_call *c, int64_t run_id)
{
    char path[PATH_MAX];
    int rc = output_path(c->api, run_id, path, sizeof path, &c->err);

    if (rc < 0)
        return rc;
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return err_set(&c->err, CHIME_ENOTFOUND, "", "the output of run %" PRId64 " is missing: "
                       "it ran, but the daemon has no file runs/%" PRId64 ".out", run_id, run_id);
    return 0;
}

/* A Range header against LEN bytes: 1 and the inclusive span for one
 * satisfiable range, 0 to serve everything (no header, a malformed one,
 * or several ranges), -1 when nothing of LEN is asked for. */
static int range_parse(const char *h, size_t len, size_t *from, size_t *to)
{
    unsigned long long a, b;
    char *end;

    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    h += 6;
    if (*h == '-') { /* the last B bytes */
        if (h[1] < '0' || h[1] > '9')
            return 0;
        errno = 0;
        b = strtoull(h + 1, &end, 10);
        if (*end || errno)
            return 0;
        if (b == 0 || len == 0)
            return -1;
        *from = b >= len ? 0 : len - (size_t)b;
        *to = len - 1;
        return 1;
    }
    if (*h < '0' || *h > '9')
        return 0;
    errno = 0;
    a = strtoull(h, &end, 10);
    if (*end != '-' || errno)
        return 0;
    b = ULLONG_MAX;
    if (end[1]) {
        if (end[1] < '0' || end[1] > '9')
            return 0;
        b = strtoull(end + 1, &end, 10);
        if (*end || errno || b < a)
            return 0;
    }
    if (a >= len)
        return -1;
    *from = (size_t)a;
    *to = b >= len ? len - 1 : (size_t)b;
    return 1;
}

static int reply_plain(struct api_call *c, int64_t run_id, unsigned streams)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0, from, to;
    int rc;

    rc = output_path(c->api, run_id, path, sizeof path, &c->err);
    if (rc < 0)
        return rc;
    rc = exec_output_read(path, streams, &text, &len, &c->err);
    if (rc == -CHIME_ENOTFOUND) {
        /* not started: no output yet */
        text = calloc(1, 1);
        len = 0;
        rc = text ? 0 : err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
    }
    if (rc < 0)
        return rc;
    api_reply_header(c, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    switch (range_parse(api_header(c, MHD_HTTP_HEADER_RANGE), len, &from, &to)) {
    case 1:
        memmove(text, text + from, to - from + 1);
        api_reply_header(c, MHD_HTTP_HEADER_CONTENT_RANGE, "bytes %zu-%zu/%zu", from, to, len);
        return api_reply_text(c, 206, text, to - from + 1, "text/plain; charset=utf-8");
    case -1:
        free(text);
        api_reply_header(c, MHD_HTTP_HEADER_CONTENT_RANGE, "bytes */%zu", len);
        return err_set(&c->err, API_ERANGE_NOT_SATISFIABLE, "Range", "the output has %zu bytes",
                       len);
    default: return api_reply_text(c, 200, text, len, "text/plain; charset=utf-8");
    }
}

/* ---- following ---- */

/* Appends LEN bytes to the follower's events. */
static int out_put(struct api_follow *f, const char *data, size_t len)
{
    if (f->out_off == f->out_len)
        f->out_off = f->out_len = 0;
    if (f->out_len + len > f->out_cap) {
        size_t cap = f->out_cap ? f->out_cap : 4096;
        char *b;

        while (cap < f->out_len + len)
            cap *= 2;
        /* a look stops making events past FOLLOW_OUT_STEP; one event of
         * FOLLOW_EVENT_MAX bytes, all line ends, grows 7 times */
        if (cap > 2 * (FOLLOW_OUT_STEP + 8 * FOLLOW_EVENT_MAX))
            return -CHIME_ETOOBIG;
        b = realloc(f->out, cap);
        if (!b)
            return -CHIME_ENOMEM;
        f->out = b;
        f->out_cap = cap;
    }
    memcpy(f->out + f->out_len, data, len);
    f->out_len += len;
    return 0;
}

/* One event: NAME, an id when ID is not negative, and LEN bytes of DATA
 * as its data lines. SSE ends a line at LF, CR or CRLF and joins data
 * lines with LF: each such line end of DATA starts a new data line, so
 * the client gets DATA back with CR and CRLF read as LF. */
static int out_event(struct api_follow *f, const char *name, int64_t id, const char *data,
                     size_t len)
{
    char head[96];
    size_t start = 0, i;
    int n, rc;

    if (id >= 0)
        n = snprintf(head, sizeof head, "event: %s\nid: %" PRId64 "\n", name, id);
    else
        n = snprintf(head, sizeof head, "event: %s\n", name);
    rc = out_put(f, head, (size_t)n);
    for (i = 0; rc == 0 && i <= len; i++) {
        if (i < len && data[i] != '\n' && data[i] != '\r')
            continue;
        if ((rc = out_put(f, "data: ", 6)) == 0 && (rc = out_put(f, data + start, i - start)) == 0)
            rc = out_put(f, "\n", 1);
        if (i + 1 < len && data[i] == '\r' && data[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    return rc == 0 ? out_put(f, "\n", 1) : rc;
}

/* An event whose data is J (taken) as JSON text. */
static int out_event_json(struct api_follow *f, const char *name, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    int rc = text ? out_event(f, name, -1, text, strlen(text)) : -CHIME_ENOMEM;

    json_decref(j);
    free(text);
    return rc;
}

/* The last event. A run that ended gets "end" with the run as its data;
 * a follow that stops first (WHY: time-limit, idle, shutdown, error) gets
 * "close", and the client reconnects with Last-Event-ID to go on. */
static void follow_end(struct api_follow *f, const char *why, const char *detail)
{
    struct store_run r;
    struct err err = {0};

    store_run_init(&r);
    /* past the ceiling even for this, what was queued is sent and the
     * stream ends without it */
    if (!strcmp(why, "finished") && store_run_get(f->api->opt.store, f->run_id, &r, &err) == 0)
        (void)out_event_json(f, "end", api_json_run(&r));
    else
        (void)out_event_json(f, "close", json_pack("{s:s, s:s?}", "reason", why, "detail", detail));
    store_run_release(&r);
    f->done = true;
}

static int on_chunk(void *arg, int stream, const char *data, size_t len, int64_t dropped)
{
    struct api_follow *f = arg;

    f->chunk_stream = stream;
    f->chunk_off = data ? (size_t)(data - f->raw) : 0;
    f->chunk_len = len;
    f->chunk_dropped = dropped;
    return 1; /* one chunk at a time: its end is the event's id */
}

/* The next event of the open chunk: "stdout" or "stderr" with up to
 * FOLLOW_EVENT_MAX of its bytes, or "dropped" with the count. The last
 * event of a chunk has the file offset after it as its id, and closes it. */
static int chunk_event(struct api_follow *f)
{
    const char *name = f->chunk_stream == EXEC_STDERR ? "stderr" : "stdout";
    int64_t end = (int64_t)(f->pos + f->chunk_used - MAGIC_LEN);
    size_t n = f->chunk_len - f->chunk_at;
    char count[24];
    int rc = 0;

    if (n > FOLLOW_EVENT_MAX)
        n = FOLLOW_EVENT_MAX;
    if (f->chunk_stream == 0) {
        n = (size_t)snprintf(count, sizeof count, "%" PRId64, f->chunk_dropped);
        rc = out_event(f, "dropped", end, count, n);
        f->chunk_at = f->chunk_len;
    } else if (!(f->streams & (unsigned)f->chunk_stream)) {
        f->chunk_at = f->chunk_len; /* a stream not asked for */
    } else {
        rc = out_event(f, name, f->chunk_at + n == f->chunk_len ? end : -1,
                       f->raw + f->chunk_off + f->chunk_at, n);
        f->chunk_at += n;
    }
    f->chunk_open = f->chunk_at < f->chunk_len;
    return rc;
}

/* Opens the file once the holder has made it, and checks its header. */
static int follow_open(struct api_follow *f, struct err *err)
{
    char magic[MAGIC_LEN];
    ssize_t n;

    if (f->fd < 0) {
        f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0)
            return errno == ENOENT
                       ? 0
                       : err_set(err, CHIME_EIO, "", "cannot open the output: %s", strerror(errno));
    }
    if (f->raw)
        return 1;
    n = pread(f->fd, magic, MAGIC_LEN, 0);
    if (n < (ssize_t)MAGIC_LEN)
        return 0; /* still being written */
    if (memcmp(magic, EXEC_OUTPUT_MAGIC, MAGIC_LEN) != 0)
        return err_set(err, CHIME_EINVAL, "", "not a chime output file");
    f->raw = malloc(FOLLOW_READ_STEP + MAGIC_LEN);
    if (!f->raw)
        return err_set(err, CHIME_ENOMEM, "", "out of memory following the output");
    f->raw_cap = FOLLOW_READ_STEP + MAGIC_LEN;
    memcpy(f->raw, EXEC_OUTPUT_MAGIC, MAGIC_LEN);
    f->raw_len = MAGIC_LEN;
    if (f->pos < MAGIC_LEN)
        f->pos = MAGIC_LEN;
    return 1;
}

/* Reads what is new in the file when the chunks read so far are all
 * sent, and turns whole chunks into events, up to FOLLOW_OUT_STEP bytes
 * of them (so neither buffer outgrows its ceiling however fast the job
 * writes or however slowly the client reads). */
static int follow_read(struct api_follow *f, struct err *err)
{
    size_t base = 0, used;
    ssize_t n;
    int rc;

    rc = follow_open(f, err);
    if (rc <= 0) {
        f->eof = true;
        return rc;
    }
    f->eof = false;
    if (f->need_data) {
        if (f->raw_cap - f->raw_len < FOLLOW_READ_STEP) {
            size_t cap = f->raw_cap * 2;
            char *b;

            if (cap > FOLLOW_RAW_MAX + MAGIC_LEN)
                return err_set(err, CHIME_ETOOBIG, "",
                               "a chunk of the output is larger than "
                               "%zu bytes: read it without following",
                               FOLLOW_RAW_MAX);
            b = realloc(f->raw, cap);
            if (!b)
                return err_set(err, CHIME_ENOMEM, "", "out of memory following the output");
            f->raw = b;
            f->raw_cap = cap;
        }
        do
            n = pread(f->fd, f->raw + f->raw_len, FOLLOW_READ_STEP,
                      (off_t)(f->pos + f->raw_len - MAGIC_LEN));
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return err_set(err, CHIME_EIO, "", "cannot read the output: %s", strerror(errno));
        f->eof = n == 0;
        f->raw_len += (size_t)n;
    }
    /* raw[base..] always starts with the magic: the bytes of a chunk
     * already sent are overwritten with it, so the parser, which wants a
     * file from its start, takes the rest as one. */
    f->need_data = false;
    while (f->out_len - f->out_off < FOLLOW_OUT_STEP) {
        if (!f->chunk_open) {
            rc = exec_output_parse(f->raw + base, f->raw_len - base, on_chunk, f, &used, err);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                f->need_data = true; /* no whole chunk left */
                break;
            }
            f->chunk_open = true;
            f->chunk_at = 0;
            f->chunk_used = used;
        }
        rc = chunk_event(f);
        if (rc < 0)
            return err_set(err, -rc, "", "cannot queue the output event");
        if (!f->chunk_open) {
            f->pos += f->chunk_used - MAGIC_LEN;
            base += f->chunk_used - MAGIC_LEN;
            memcpy(f->raw + base, EXEC_OUTPUT_MAGIC, MAGIC_LEN);
            f->last_output_us = api_now_us();
        }
    }
    memmove(f->raw, f->raw + base, f->raw_len - base);
    f->raw_len -= base;
    if (f->chunk_open)
        f->chunk_off -= base;
    return 0;
}

/* One look: new output, the run's state, and the bounds. */
static void follow_look(struct api_follow *f)
{
    struct store_run r;
    struct err err = {0};
    int64_t now = api_now_us();
    bool ended;

    store_run_init(&r);
    if (store_run_get(f->api->opt.store, f->run_id, &r, &err) < 0) {
        follow_end(f, "error", err.msg);
        return;
    }
    ended = store_run_state_finished(r.state);
    store_run_release(&r);
    /* The state is read before the file: a run seen ended has its whole
     * output in the file, so reading to its end misses nothing. */
    if (follow_read(f, &err) < 0) {
        follow_end(f, "error", err.msg);
        return;
    }
    if (f->out_len > f->out_off)
        return;
    if (ended && f->eof)
        follow_end(f, "finished", NULL);
    else if (ended)
        return; /* more to read at once */
    else if (now - f->begin_us >= API_FOLLOW_MAX_US)
        follow_end(f, "time-limit", "followed for the longest a follow lasts: reconnect");
    else if (now - f->last_output_us >= API_FOLLOW_IDLE_US)
        follow_end(f, "idle", "no output for a while: reconnect");
    else if (now - f->last_sent_us >= f->api->follow_ping_us && out_put(f, ": ping\n\n", 8) == 0)
        f->last_sent_us = now;
}

/* Parks the follower until the follow thread's next tick; false when the
 * server is stopping. */
static bool follow_suspend(struct api_follow *f)
{
    struct api *a = f->api;
    bool ok;

    pthread_mutex_lock(&a->follow_lock);
    ok = !a->stopping;
    if (ok) {
        MHD_suspend_connection(f->conn);
        f->next = a->suspended;
        a->suspended = f;
    }
    pthread_mutex_unlock(&a->follow_lock);
    return ok;
}

static ssize_t out_take(struct api_follow *f, char *buf, size_t max)
{
    size_t n = f->out_len - f->out_off < max ? f->out_len - f->out_off : max;

    memcpy(buf, f->out + f->out_off, n);
    f->out_off += n;
    f->last_sent_us = api_now_us();
    return (ssize_t)n;
}

/* libmicrohttpd asks for more of the stream. Returning 0 is allowed only
 * with the connection suspended (else it asks again at once). */
static ssize_t on_follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct api_follow *f = cls;
    int looks;

    (void)pos;
    /* a few looks while there is more file to read, then the thread is
     * let go until the next tick */
    for (looks = 0; looks < FOLLOW_LOOKS; looks++) {
        if (f->out_off < f->out_len)
            return out_take(f, buf, max);
        if (f->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        follow_look(f);
        if (f->out_off == f->out_len && !f->done && f->eof)
            break;
    }
    if (f->out_off < f->out_len)
        return out_take(f, buf, max);
    if (f->done)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (follow_suspend(f))
        return 0;
    follow_end(f, "shutdown", "the server is stopping");
    return f->out_off < f->out_len ? out_take(f, buf, max) : MHD_CONTENT_READER_END_OF_STREAM;
}

static void on_follow_free(void *cls)
{
    struct api_follow *f = cls;

    if (f->fd >= 0)
        close(f->fd);
    free(f->raw);
    free(f->out);
    free(f);
}

static int reply_follow(struct api_call *c, int64_t run_id, unsigned streams)
{
    const char *last = api_header(c, "Last-Event-ID");
    struct api_follow *f;
    int rc;

    f = calloc(1, sizeof *f);
    if (!f)
        return err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
    f->api = c->api;
    f->conn = c->conn;
    f->run_id = run_id;
    f->streams = streams;
    f->fd = -1;
    f->need_data = true;
    f->begin_us = f->last_output_us = f->last_sent_us = api_now_us();
    if (last) {
        char *end;
        unsigned long long p;

        errno = 0;
        p = strtoull(last, &end, 10);
        if (!errno && !*end && *last >= '0' && *last <= '9')
            f->pos = p;
    }
    rc = output_path(c->api, run_id, f->path, sizeof f->path, &c->err);
    if (rc < 0) {
        free(f);
        return rc;
    }
    c->response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, FOLLOW_BLOCK, on_follow_read,
                                                    f, on_follow_free);
    if (!c->response) {
        free(f);
        return err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
    }
    c->status = 200;
    api_reply_header(c, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    api_reply_header(c, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return 0;
}

int api_run_output(struct api_call *c)
{
    const char *stream = api_query(c, "stream");
    const char *accept = api_header(c, MHD_HTTP_HEADER_ACCEPT);
    unsigned streams = EXEC_STDOUT | EXEC_STDERR;
    struct store_run r;
    char q[48];
    int64_t id;
    size_t i;
    bool started;
    int rc;

    store_run_init(&r);
    rc = api_param_id(c, 0, "id", &id, &c->err);
    if (rc < 0)
        return rc;
    if (stream) {
        for (i = 0; i < sizeof stream_names / sizeof stream_names[0]; i++)
            if (!strcmp(stream, stream_names[i].name))
                break;
        if (i == sizeof stream_names / sizeof stream_names[0])
            return err_set(&c->err, CHIME_EINVAL, "stream", "'%s' is not stdout, stderr or both",
                           err_quote(stream, 40, q, sizeof q));
        streams = stream_names[i].streams;
    }
    rc = store_run_get(c->api->opt.store, id, &r, &c->err);
    started = rc == 0 && r.started_us != STORE_NULL;
    store_run_release(&r);
    if (rc < 0)
        return rc;
    if (started && (rc = output_present(c, id)) < 0)
        return rc;
    if (accept && strstr(accept, "text/event-stream"))
        return reply_follow(c, id, streams);
    return reply_plain(c, id, streams);
}

/* ---- the follow thread ---- */

static void *follow_main(void *arg)
{
    struct api *a = arg;
    struct timespec at;

    pthread_mutex_lock(&a->follow_lock);
    for (;;) {
        while (a->suspended) {
            struct api_follow *f = a->suspended;

            a->suspended = f->next;
            f->next = NULL;
            MHD_resume_connection(f->conn);
        }
        if (a->stopping)
            break;
        clock_gettime(CLOCK_MONOTONIC, &at);
        at.tv_nsec += (long)API_FOLLOW_TICK_US * 1000;
        if (at.tv_nsec >= 1000000000) {
            at.tv_sec++;
            at.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&a->follow_cond, &a->follow_lock, &at);
    }
    pthread_mutex_unlock(&a->follow_lock);
    return NULL;
}

int api_follow_start(struct api *a, struct err *err)
{
    pthread_condattr_t attr;
    int rc;

    /* a follow that writes nothing must not look idle to the server */
    a->follow_ping_us = (int64_t)a->opt.idle_timeout_s * 1000000 / 2;
    if (a->follow_ping_us > API_FOLLOW_PING_US)
        a->follow_ping_us = API_FOLLOW_PING_US;
    pthread_mutex_init(&a->follow_lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&a->follow_cond, &attr);
    pthread_condattr_destroy(&attr);
    a->follow_init = true;
    rc = pthread_create(&a->follow_thread, NULL, follow_main, a);
    if (rc != 0)
        return err_set(err, CHIME_EIO, "", "cannot start the follow thread: %s", strerror(rc));
    a->follow_running = true;
    return 0;
}

void api_follow_stop(struct api *a)
{
    if (!a->follow_running)
        return;
    /* The thread resumes every suspended follower on its way out; they
     * see stopping and end instead of suspending again. */
    pthread_mutex_lock(&a->follow_lock);
    a->stopping = true;
    pthread_cond_signal(&a->follow_cond);
    pthread_mutex_unlock(&a->follow_lock);
    pthread_join(a->follow_thread, NULL);
    a->follow_running = false;
}

void api_follow_release(struct api *a)
{
    if (!a->follow_init)
        return;
    pthread_cond_destroy(&a->follow_cond);
    pthread_mutex_destroy(&a->follow_lock);
    a->follow_init = false;
}
