/* crontab_fuzz.c: arbitrary bytes into crontab_convert().
 *
 * The first byte picks the format; the rest is the file. The converter
 * may not crash, leak or invoke undefined behaviour, and (abort()
 * otherwise, so libFuzzer keeps the input):
 * - a refusal of the whole file comes with its code and a message;
 * - entries come in line order, each error and skipped line says why;
 * - every job has a valid, unique name, and a document job_from_json()
 *   accepts with that name and the namespace asked for;
 * - the same bytes convert to the same documents again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/crontab.h"
#include "job/job.h"
#include "util/err.h"
#include "../src/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct crontab *c)
{
    size_t n = crontab_count(c), last = 0;

    for (size_t i = 0; i < n; i++) {
        const struct crontab_entry *e = crontab_entry(c, i);
        struct err err = { 0 };
        struct job *j = NULL;

        if (!e || e->line <= last)
            abort();            /* one entry per line, in order */
        last = e->line;
        if (e->kind != CRONTAB_JOB) {
            if (e->doc || e->name || !e->what || (e->kind != CRONTAB_ENV && !e->what[0]))
                abort();
            continue;
        }
        if (!e->doc || !e->name || !e->schedule)
            abort();
        if (job_from_json(e->doc, "elsewhere", &j, &err) < 0)
            abort();            /* a document the daemon would refuse */
        if (strcmp(j->name, e->name) != 0 || strcmp(j->ns, "fuzz") != 0)
            abort();
        job_free(j);
        for (size_t k = 0; k < i; k++) {
            const struct crontab_entry *o = crontab_entry(c, k);

            if (o->kind == CRONTAB_JOB && !strcmp(o->name, e->name))
                abort();        /* two jobs of one name */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct crontab_opts o = { .ns = "fuzz", .source = "/etc/cron.d/fuzz" };
    struct crontab *a = NULL, *b = NULL;
    struct err err = { 0 };
    int rc;

    if (size == 0)
        return 0;
    o.format = data[0] & 1 ? CRONTAB_SYSTEM : CRONTAB_USER;
    rc = crontab_convert((const char *)data + 1, size - 1, &o, &a, &err);
    if (rc < 0) {
        if (a || err.code != -rc || err.msg[0] == '\0')
            abort();
        return 0;
    }
    check(a);
    if (crontab_convert((const char *)data + 1, size - 1, &o, &b, &err) < 0
        || crontab_count(a) != crontab_count(b))
        abort();
    for (size_t i = 0; i < crontab_count(a); i++) {
        const struct crontab_entry *x = crontab_entry(a, i), *y = crontab_entry(b, i);

        if (x->kind != y->kind || (x->doc && !json_equal(x->doc, y->doc)))
            abort();            /* not deterministic */
    }
    crontab_free(a);
    crontab_free(b);
    return 0;
}
