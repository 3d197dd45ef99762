/* job_fuzz.c: arbitrary bytes into job_parse().
 *
 * The parser may not crash, leak or invoke undefined behaviour; a failure
 * must come with its code and a message. A success must survive the round
 * trip: its canonical document must be accepted by job_from_json(), and
 * the job that gives must write the same document again (abort()
 * otherwise, so libFuzzer keeps the input). The bytes go in as they are,
 * without a NUL: job_parse() takes a length. A job with params has its
 * patterns tried on a trigger's values: each param's own pattern text and
 * its default, which must resolve to the default when not given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job/job.h"
#include "util/err.h"
#include "../src/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failure(int rc, const struct err *err)
{
    if (rc >= 0 || err->code != -rc || err->code <= CHIME_OK ||
        err->code >= CHIME_ECODE_MAX || err->msg[0] == '\0')
        abort();
}

static void check_round_trip(const struct job *j)
{
    struct err err = { 0 };
    struct job *back = NULL;
    json_t *a = job_to_json(j), *b;

    if (!a)
        abort();
    if (job_from_json(a, "other-ns", &back, &err) < 0)
        abort();                /* the canonical document was refused */
    b = job_to_json(back);
    if (!b || !json_equal(a, b))
        abort();                /* the round trip changed the document */
    json_decref(a);
    json_decref(b);
    job_free(back);
}

static void check_params(const struct job *j)
{
    const struct job_body *b = j->body;
    const char *values[64];
    struct err err = { 0 };
    json_t *given = json_object();
    int rc;

    if (!given || b->n_params > 64)
        abort();
    if (job_params_resolve(b, NULL, values, &err) < 0)
        abort();                /* the defaults alone always resolve */
    for (size_t i = 0; i < b->n_params; i++)
        if (values[i] != b->params[i].def)
            abort();
    for (size_t i = 0; i < b->n_params; i++)
        json_object_set_new(given, b->params[i].name, json_string(b->params[i].pattern));
    rc = job_params_resolve(b, given, values, &err);
    if (rc < 0)
        check_failure(rc, &err);
    json_decref(given);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err err = { 0 };
    struct job *j = NULL;
    int rc;

    rc = job_parse((const char *)data, size, NULL, &j, &err);
    if (rc < 0) {
        check_failure(rc, &err);
        if (j)
            abort();            /* ret written on failure */
        return 0;
    }
    check_round_trip(j);
    check_params(j);
    job_free(j);
    return 0;
}
