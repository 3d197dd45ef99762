/* cron_fuzz.c: libFuzzer target for the cron parser and next().
 * Any bytes: parse must return an error or an expression; an expression's
 * next() must return a later instant or CHIME_ENEVER, never hang, and its
 * warnings are whole messages. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "time/cron.h"
#include "time/tz.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const zones[] = { "UTC", "America/New_York", "Australia/Lord_Howe" };
    struct err err = { 0 };
    struct cron c;
    char *s;

    if (size > CRON_MAX_LEN + 8)
        return 0;
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (cron_parse(s, &c, &err) == 0) {
        char warn[CRON_NFIELDS][CRON_WARNING_MAX];
        const struct tz *z;
        int64_t t = (int64_t)(size * 7919 % 4000000000u) * 1000000;
        int n = cron_warnings(s, warn, CRON_NFIELDS);

        if (n < 0 || n > CRON_NFIELDS)
            abort();
        for (int i = 0; i < n; i++)
            if (strnlen(warn[i], CRON_WARNING_MAX) >= CRON_WARNING_MAX
                || strncmp(warn[i], "step ", 5) != 0)
                abort();        /* each warning a whole message */

        if (tz_load(zones[size % 3], &z, NULL) < 0)
            abort();
        for (int i = 0; i < 4; i++) {
            int64_t next;

            if (cron_next(&c, z, t, &next, &err) < 0)
                break;
            if (next <= t)
                abort();        /* next() must move forward */
            t = next;
        }
    } else if (err.msg[0] == '\0' || err.field[0] == '\0') {
        abort();                /* every error names its field and says why */
    }
    free(s);
    return 0;
}
