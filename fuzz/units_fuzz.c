/* units_fuzz.c: arbitrary text into the duration and size parsers.
 *
 * Neither parser may crash, read past the NUL or invoke undefined
 * behaviour; a failure must come with its code and a message; a success
 * must lie in range, and its canonical form must parse back to the same
 * value (abort() otherwise, so libFuzzer keeps the input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "time/units.h"
#include "util/err.h"
#include "../src/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failure(int rc, const struct err *err)
{
    if (rc >= 0 || err->code != -rc || err->msg[0] == '\0' ||
        (err->code != CHIME_EINVAL && err->code != CHIME_ERANGE))
        abort();
}

static void check_duration(const char *s)
{
    struct err err = { 0 };
    char buf[32];
    int64_t v, back;
    int rc;

    rc = units_duration_parse(s, "f", &v, &err);
    if (rc != 0) {
        check_failure(rc, &err);
        return;
    }
    if (v < 0 || v > UNITS_DURATION_MAX_US || v % 1000 != 0)
        abort();
    units_duration_format(v, buf, sizeof buf);
    if (units_duration_parse(buf, "f", &back, &err) != 0 || back != v)
        abort();
}

static void check_size(const char *s)
{
    struct err err = { 0 };
    char buf[32];
    int64_t v, back;
    int rc;

    rc = units_size_parse(s, "f", &v, &err);
    if (rc != 0) {
        check_failure(rc, &err);
        return;
    }
    if (v < 0 || v > UNITS_SIZE_MAX)
        abort();
    units_size_format(v, buf, sizeof buf);
    if (units_size_parse(buf, "f", &back, &err) != 0 || back != v)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_duration(s);
    check_size(s);
    free(s);
    return 0;
}
