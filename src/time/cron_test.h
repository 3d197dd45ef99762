/* cron_test.h: what cron_test.c and cron_reference_test.c share (tests
 * only): an instant from its ISO text, a zone by name. Functions are
 * static inline so that a file using only some of them compiles cleanly. */
#ifndef CHIME_TIME_CRON_TEST_H
#define CHIME_TIME_CRON_TEST_H

#include "time/cron.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "time/civil.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"

static inline int64_t at(const char *iso, const struct tz *z)
{
    struct err err = { 0 };
    int64_t us = 0;

    if (isotime_parse(iso, z, "test", &us, &err) < 0)
        fail_msg("bad test instant '%s': %s", iso, err.msg);
    return us;
}

static inline const struct tz *zone(const char *name)
{
    const struct tz *z = NULL;
    struct err err = { 0 };

    if (tz_load(name, &z, &err) < 0)
        fail_msg("zone %s: %s", name, err.msg);
    return z;
}

#endif
