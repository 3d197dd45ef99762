/* runas_fuzz.c: arbitrary text into the job-user options (runas_new()).
 *
 * The input is up to three NUL-separated parts: --uid-range, --run-as and
 * --root-namespaces. The parser may not crash or leak; a failure must come
 * with its code, a message and one of the three options as its field; a
 * success must give a range within bounds and never map a namespace to
 * root (abort() otherwise, so libFuzzer keeps the input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "daemon/runas.h"
#include "util/err.h"
#include "../src/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3), *part[3];
    struct runas *r = NULL;
    struct exec_identity id;
    struct err err = {0};
    int64_t lo, hi;
    size_t i, k = 1;
    int rc;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    part[0] = buf;
    for (i = 0; i < size && k < 3; i++)
        if (buf[i] == '\0')
            part[k++] = buf + i + 1;
    while (k < 3)
        part[k++] = NULL;
    rc = runas_new(part[0][0] ? part[0] : NULL, part[1], part[2], &r, &err);
    if (rc < 0) {
        if (err.code != -rc || !err.msg[0]
            || (strcmp(err.field, "uid-range") != 0 && strcmp(err.field, "run-as") != 0
                && strcmp(err.field, "root-namespaces") != 0))
            abort();
    } else {
        runas_range(r, &lo, &hi);
        if (lo < RUNAS_RANGE_MIN || hi < lo || hi > RUNAS_ID_MAX)
            abort();
        if (part[1] && strchr(part[1], '=')) {
            char ns[64] = "";
            size_t n = strcspn(part[1], "=");

            memcpy(ns, part[1], n < sizeof ns - 1 ? n : sizeof ns - 1);
            if (runas_find(r, ns, &id) == RUNAS_MAPPED && (id.uid <= 0 || id.gid <= 0))
                abort();
        }
        runas_free(r);
    }
    free(buf);
    return 0;
}
