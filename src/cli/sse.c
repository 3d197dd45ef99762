/* sse.c: the text/event-stream parser. Bytes collect in a line buffer
 * until a line end; each complete line is applied to the event being
 * built. The line and the event's data share one ceiling (MAX), so the
 * memory a stream can claim is about 2 * MAX whatever it sends. */
#include "cli/sse.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "../banned.h"

#define SSE_NAME_MAX 64     /* event names and ids past this are cut */

struct sse {
    sse_event_cb *cb;
    void *arg;
    size_t max;             /* bytes of one line, and of one event's data */
    char *line;             /* the line being read, MAX + 1 bytes */
    size_t line_len;
    char *data;             /* the event's data so far, MAX + 1 bytes */
    size_t data_len;
    bool has_data;          /* a "data" field was seen (it may be empty) */
    char name[SSE_NAME_MAX];
    char id[SSE_NAME_MAX];
    bool after_cr;          /* the last byte was a CR: an LF next is part of it */
    bool started;           /* past the optional BOM */
};

int sse_new(size_t max, sse_event_cb *cb, void *arg, struct sse **ret, struct err *err)
{
    struct sse *p = calloc(1, sizeof *p);

    if (!p || !(p->line = malloc(max + 1)) || !(p->data = malloc(max + 1))) {
        sse_free(p);
        return err_set(err, CHIME_ENOMEM, "", "out of memory for an event stream");
    }
    p->cb = cb;
    p->arg = arg;
    p->max = max;
    *ret = p;
    return 0;
}

void sse_free(struct sse *p)
{
    if (!p)
        return;
    free(p->line);
    free(p->data);
    free(p);
}

const char *sse_last_id(const struct sse *p)
{
    return p->id;
}

static void copy_cut(char *dst, size_t len, const char *src, size_t n)
{
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int dispatch(struct sse *p)
{
    int rc;

    if (!p->has_data) {
        p->name[0] = '\0';
        return 0;
    }
    /* every data line added an LF; the spec drops the last one */
    if (p->data_len > 0)
        p->data_len--;
    p->data[p->data_len] = '\0';
    rc = p->cb(p->arg, p->name[0] ? p->name : "message", p->data, p->data_len, p->id);
    p->data_len = 0;
    p->has_data = false;
    p->name[0] = '\0';
    return rc;
}

static int apply_line(struct sse *p, struct err *err)
{
    const char *line = p->line, *colon, *value;
    size_t n = p->line_len, flen, vlen;

    if (n == 0)
        return dispatch(p);
    if (line[0] == ':')
        return 0;
    colon = memchr(line, ':', n);
    flen = colon ? (size_t)(colon - line) : n;
    value = colon ? colon + 1 : line + n;
    vlen = (size_t)(line + n - value);
    if (vlen > 0 && value[0] == ' ') {
        value++;
        vlen--;
    }
    if (flen == 4 && !memcmp(line, "data", 4)) {
        if (p->data_len + vlen + 1 > p->max)
            return err_set(err, CHIME_ETOOBIG, "",
                           "an event of the stream is larger than %zu bytes", p->max);
        memcpy(p->data + p->data_len, value, vlen);
        p->data_len += vlen;
        p->data[p->data_len++] = '\n';
        p->has_data = true;
    } else if (flen == 5 && !memcmp(line, "event", 5)) {
        copy_cut(p->name, sizeof p->name, value, vlen);
    } else if (flen == 2 && !memcmp(line, "id", 2)) {
        if (!memchr(value, '\0', vlen))
            copy_cut(p->id, sizeof p->id, value, vlen);
    }
    return 0;
}

int sse_feed(struct sse *p, const char *data, size_t len, struct err *err)
{
    size_t i = 0;
    int rc;

    if (!p->started) {
        /* the BOM may itself arrive split: wait until three bytes decide */
        static const char bom[3] = "\xef\xbb\xbf";
        size_t have = p->line_len, take = len < 3 - have ? len : 3 - have;

        memcpy(p->line + have, data, take);
        p->line_len += take;
        i = take;
        if (p->line_len < 3 && !memcmp(p->line, bom, p->line_len))
            return 0;
        p->started = true;
        if (!memcmp(p->line, bom, 3) && p->line_len == 3) {
            p->line_len = 0;
        } else {
            /* not a BOM: replay those bytes as ordinary input */
            char head[3];
            size_t n = p->line_len;

            memcpy(head, p->line, n);
            p->line_len = 0;
            rc = sse_feed(p, head, n, err);
            if (rc)
                return rc;
        }
    }
    for (; i < len; i++) {
        char ch = data[i];

        if (ch == '\n' && p->after_cr) {
            p->after_cr = false;
            continue;
        }
        p->after_cr = ch == '\r';
        if (ch == '\n' || ch == '\r') {
            rc = apply_line(p, err);
            p->line_len = 0;
            if (rc)
                return rc;
            continue;
        }
        if (p->line_len >= p->max)
            return err_set(err, CHIME_ETOOBIG, "", "a line of the stream is longer than %zu bytes",
                           p->max);
        p->line[p->line_len++] = ch;
    }
    return 0;
}
