/* err.c: filling struct err, and the table of error codes. */
#include "util/err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../banned.h"

static const char *const names[CHIME_ECODE_MAX] = {
    [CHIME_OK] = "ok",
    [CHIME_EINVAL] = "invalid",
    [CHIME_ERANGE] = "out-of-range",
    [CHIME_ENOTFOUND] = "not-found",
    [CHIME_ETOOBIG] = "too-big",
    [CHIME_ENEVER] = "never-fires",
    [CHIME_ENOMEM] = "out-of-memory",
    [CHIME_EIO] = "io",
    [CHIME_ECONFLICT] = "conflict",
    [CHIME_ENOSPC] = "disk-full",
};

int err_set(struct err *err, int code, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return -code;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_start(ap, fmt);
    /* clang 14 analyzer false positive: AP is started just above */
    vsnprintf(err->msg, sizeof err->msg, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return -code;
}

const char *err_quote(const char *s, size_t n, char *buf, size_t len)
{
    size_t i, o = 0;

    for (i = 0; i < n && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = c >= 0x20 && c < 0x7f ? 1 : 4;
        bool last = i + 1 == n || s[i + 1] == '\0';

        /* room for this byte and the NUL, or for it, "..." and the NUL */
        if (o + need + (last ? 1 : 4) > len) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (need == 1)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
    }
    buf[o] = '\0';
    return buf;
}

const char *err_name(int code)
{
    if (code < 0)
        code = -code;
    if (code >= CHIME_ECODE_MAX || !names[code])
        return "unknown";
    return names[code];
}
