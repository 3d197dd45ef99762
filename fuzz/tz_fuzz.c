/* tz_fuzz.c: arbitrary bytes into the TZif parser, and what parses into
 * the queries.
 *
 * tz_parse() may not crash, read out of bounds or invoke undefined
 * behaviour; a failure must come with its code, field and message. A zone
 * that parses must answer sanely at instants taken from the input and
 * from the ends of time: a span holds its instant and agrees with its own
 * ends, offsets stay within 25:59:59, and the wall of an instant maps back
 * to a set of instants that includes it, each of which has that wall.
 * abort() otherwise, so libFuzzer keeps the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "time/tz.h"
#include "util/err.h"
#include "../src/banned.h"

#define UTOFF_MAX 93599         /* 25:59:59 */
#define SPANS 4                 /* spans walked from each instant */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const struct tz_info *a, const struct tz_info *b)
{
    return a->utoff_s == b->utoff_s && a->isdst == b->isdst && strcmp(a->abbr, b->abbr) == 0;
}

static void check_wall(const struct tz *z, int64_t wall_s)
{
    struct tz_local l;
    struct tz_info i;
    int64_t w;

    tz_local_to_utc(z, wall_s, &l);
    if (l.first_s > l.last_s)
        abort();
    if (l.kind == TZ_LOCAL_GAP) {
        if (l.first_s != l.last_s)
            abort();
        return;
    }
    if ((l.kind == TZ_LOCAL_UNIQUE) != (l.first_s == l.last_s))
        abort();
    tz_info_at(z, l.first_s, &i);
    if (__builtin_add_overflow(l.first_s, (int64_t)i.utoff_s, &w) || w != wall_s)
        abort();
    tz_info_at(z, l.last_s, &i);
    if (__builtin_add_overflow(l.last_s, (int64_t)i.utoff_s, &w) || w != wall_s)
        abort();
}

static void check_instant(const struct tz *z, int64_t t_s)
{
    struct tz_info i, j;
    struct tz_local l;
    int64_t wall;
    int k;

    for (k = 0; k < SPANS; k++) {
        tz_info_at(z, t_s, &i);
        if (i.start_s > t_s || (i.end_s <= t_s && i.end_s != INT64_MAX))
            abort();
        if (i.utoff_s < -UTOFF_MAX || i.utoff_s > UTOFF_MAX || !i.abbr ||
            strlen(i.abbr) > 255)
            abort();
        tz_info_at(z, i.start_s, &j);
        if (!same(&i, &j) || j.start_s != i.start_s || j.end_s != i.end_s)
            abort();
        if (i.end_s != INT64_MAX) {
            tz_info_at(z, i.end_s - 1, &j);
            if (!same(&i, &j) || j.start_s != i.start_s || j.end_s != i.end_s)
                abort();
        }
        if (!__builtin_add_overflow(t_s, (int64_t)i.utoff_s, &wall)) {
            /* T_S itself has this wall: never a gap, and T_S among them */
            tz_local_to_utc(z, wall, &l);
            if (l.kind == TZ_LOCAL_GAP || t_s < l.first_s || t_s > l.last_s)
                abort();
            check_wall(z, wall);
            check_wall(z, wall < INT64_MAX - 1800 ? wall + 1800 : INT64_MIN);
        }
        if (i.end_s == INT64_MAX)
            break;
        t_s = i.end_s;
    }
}

static int64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    int k;

    for (k = 0; k < 8; k++)
        v = v << 8 | p[k];
    return (int64_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t fixed[] = {
        INT64_MIN, INT64_MIN + 1, -(INT64_C(1) << 59), -INT64_C(67768040609740800),
        -2147483648, -1, 0, 1000000000, 2147483647, 4102444800,
        INT64_C(67768036191676800), INT64_MAX - 1, INT64_MAX,
    };
    struct err err = { 0 };
    struct tz *z = NULL;
    size_t k;
    int rc;

    rc = tz_parse("fuzz", data, size, &z, &err);
    if (rc < 0) {
        if (err.code != -rc || (rc != -CHIME_EINVAL && rc != -CHIME_ENOMEM) ||
            strcmp(err.field, "timezone") != 0 || err.msg[0] == '\0' || z)
            abort();
        return 0;
    }
    if (!z || strcmp(tz_name(z), "fuzz") != 0)
        abort();
    for (k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
        check_instant(z, fixed[k]);
        check_wall(z, fixed[k]);
    }
    /* instants from the input's last bytes: raw, and folded near today */
    for (k = 0; k + 8 <= size && k < 64; k += 8) {
        int64_t t = load64(data + size - 8 - k);

        check_instant(z, t);
        check_wall(z, t);
        check_instant(z, t % (INT64_C(200) * 365 * 86400));
    }
    tz_free(z);
    return 0;
}
