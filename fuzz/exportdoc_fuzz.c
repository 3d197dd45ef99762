/* exportdoc_fuzz.c: libFuzzer target for the export file reader
 * (exportdoc_parse) and the diff of what it reads (jsondiff).
 * Any bytes: the parse returns a file or errors, never crashes; a file
 * that parses diffs against itself with no change, and every change of
 * its first job against its last formats as a line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/exportdoc.h"
#include "util/err.h"
#include "util/jsondiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct exportdoc *d = NULL;
    json_t *errors = NULL, *changes = NULL, *c;
    struct err err = {0};
    size_t i;

    if (size > (1 << 20))
        return 0;
    if (exportdoc_parse((const char *)data, size, size % 2 ? "default" : NULL, &d, &errors, &err)
        < 0) {
        if (!errors && err.code != CHIME_ENOMEM)
            abort(); /* a refused file always says why */
        json_decref(errors);
        return 0;
    }
    if (d->n_jobs > 0) {
        json_t *first = job_to_json(d->jobs[0].job), *last = job_to_json(d->jobs[d->n_jobs - 1].job);

        if (!first || !last)
            abort();
        if (jsondiff_compute(first, first, &changes, &err) < 0 || json_array_size(changes) != 0)
            abort();
        json_decref(changes);
        changes = NULL;
        if (jsondiff_compute(first, last, &changes, &err) == 0) {
            json_array_foreach(changes, i, c)
            {
                char *line = jsondiff_line(c);

                if (!line)
                    abort();
                free(line);
            }
        }
        json_decref(changes);
        json_decref(first);
        json_decref(last);
    }
    exportdoc_free(d);
    return 0;
}
