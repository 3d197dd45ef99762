/* files_fuzz.c: libFuzzer target for what the daemon reads back from disk
 * and from clients beyond JSON documents: a run's output file (the chunk
 * framing), its exit record, and the page cursors of the API's lists.
 * The first byte picks the parser; the rest is its input. Each must give a
 * result or an error, never crash, hang or read past the input, and a
 * cursor that parses must survive its own round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec/exec.h"
#include "exec/output.h"
#include "exec/record.h"
#include "store/backend.h"
#include "store/store.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_chunk(void *arg, int stream, const char *chunk, size_t len, int64_t dropped)
{
    size_t *total = arg;

    (void)stream;
    if (chunk == NULL && len != 0)
        abort();            /* a drop marker carries no bytes */
    if (dropped < 0)
        abort();
    *total += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err err = {0};
    char *s;

    if (size < 1)
        return 0;
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0: {
        size_t used = 0, total = 0;

        char *rec = NULL;
        size_t rec_len = 0;
        int fd;

        if (exec_output_parse(s, size - 1, count_chunk, &total, &used, &err) == 0
            && (used > size - 1 || total > size - 1))
            abort();        /* it can only have seen bytes it was given */
        /* the exit record's finder walks the same chunks through pread */
        fd = memfd_create("output", MFD_CLOEXEC);
        if (fd >= 0 && write(fd, s, size - 1) == (ssize_t)(size - 1)
            && exec_output_record(fd, &rec, &rec_len, &err) == 0 && rec
            && (rec_len > size - 1 || rec[rec_len] != '\0'))
            abort();
        free(rec);
        if (fd >= 0)
            close(fd);
        break;
    }
    case 1: {
        struct exec_result r;

        exec_record_parse(s, size - 1, &r, &err);
        break;
    }
    default: {
        char again[STORE_CURSOR_MAX], ns[STORE_NAME_MAX + 1], name[STORE_NAME_MAX + 1];
        int64_t a, b;

        if (store_cursor_pair_parse(s, &a, &b, &err) == 0) {
            int64_t a2, b2;

            store_cursor_pair(again, a, b);
            if (store_cursor_pair_parse(again, &a2, &b2, &err) < 0 || a2 != a || b2 != b)
                abort();
        }
        if (store_cursor_one_parse(s, &a, &err) == 0) {
            int64_t a2;

            store_cursor_one(again, a);
            if (store_cursor_one_parse(again, &a2, &err) < 0 || a2 != a)
                abort();
        }
        if (store_cursor_names_parse(s, ns, name, &err) == 0) {
            char ns2[STORE_NAME_MAX + 1], name2[STORE_NAME_MAX + 1];

            store_cursor_names(again, ns, name);
            if (store_cursor_names_parse(again, ns2, name2, &err) < 0 || strcmp(ns, ns2) != 0
                || strcmp(name, name2) != 0)
                abort();
        }
    }
    }
    free(s);
    return 0;
}
