/* channels_fuzz.c: libFuzzer target for the channels file reader
 * (channel_set_parse). Any bytes: the parse returns a set or an error that
 * says why, never crashes; in a set every channel is found by its name,
 * and every channel of the "daemon" list is one of the set's.
 * Files it names are looked up under a directory that does not exist
 * (an absolute name is read as given, at most 4 KiB, never a FIFO). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/channel.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct channel_set *s = NULL;
    struct err err = {0};

    if (size > (1 << 20))
        return 0;
    if (channel_set_parse((const char *)data, size, "/nonexistent/chime-fuzz", &s, &err) < 0) {
        if (!err.msg[0])
            abort(); /* a refused file always says why */
        return 0;
    }
    for (size_t i = 0; i < channel_set_count(s); i++) {
        const struct channel *c = channel_set_at(s, i);

        if (channel_set_find(s, c->name) != c)
            abort();
    }
    for (size_t i = 0; i < channel_set_daemon_count(s); i++)
        if (!channel_set_find(s, channel_set_daemon_at(s, i)->name))
            abort();
    channel_set_free(s);
    return 0;
}
