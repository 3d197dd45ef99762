/* sse_fuzz.c: arbitrary bytes into the CLI's event-stream parser (sse.c).
 *
 * The parser may not crash, leak or invoke undefined behaviour, and the
 * events must not depend on how the bytes were cut: the input is fed
 * whole, then split at a point taken from its first byte, and both runs
 * must see the same events (abort() otherwise). A small ceiling (256
 * bytes) makes the too-big paths reachable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sse.h"
#include "util/err.h"
#include "../src/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct log {
    uint64_t hash;      /* of every event's name, id and data, in order */
    size_t events;
};

static uint64_t mix(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return (h ^ 0xff) * 1099511628211u;
}

static int on_event(void *arg, const char *name, const char *data, size_t len, const char *id)
{
    struct log *l = arg;

    if (data[len] != '\0')
        abort();
    l->hash = mix(mix(mix(l->hash, name, strlen(name)), id, strlen(id)), data, len);
    l->events++;
    return 0;
}

static int feed(const uint8_t *data, size_t size, size_t cut, struct log *l)
{
    struct sse *p = NULL;
    struct err err = { 0 };
    int rc;

    if (sse_new(256, on_event, l, &p, &err) < 0)
        abort();
    rc = sse_feed(p, (const char *)data, cut, &err);
    if (rc == 0)
        rc = sse_feed(p, (const char *)data + cut, size - cut, &err);
    if (rc < 0 && (err.code != -rc || err.msg[0] == '\0'))
        abort();
    sse_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct log whole = { 14695981039346656037u, 0 }, split = whole;
    size_t cut = size ? data[0] % (size + 1) : 0;
    int a = feed(data, size, size, &whole), b = feed(data, size, cut, &split);

    if (a != b || (a == 0 && (whole.hash != split.hash || whole.events != split.events)))
        abort();
    return 0;
}
