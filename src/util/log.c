/* log.c: log lines (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "time/isotime.h"
#include "../banned.h"

static bool text_format;

void log_set_text(bool text)
{
    text_format = text;
}

static void emit(const char *level, const char *fmt, va_list ap)
{
    char msg[1024], line[1400], ts[ISOTIME_LEN];
    struct timespec now;
    size_t o = 0;
    int len;

    clock_gettime(CLOCK_REALTIME, &now);
    isotime_format_utc((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000, ts, sizeof ts);
    vsnprintf(msg, sizeof msg, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    if (text_format) {
        len = snprintf(line, sizeof line, "%s %s %s\n", ts, level, msg);
    } else {
        /* logfmt: quote the message, escaping quotes, backslashes, controls */
        len = snprintf(line, sizeof line, "ts=%s level=%s msg=\"", ts, level);
        o = len > 0 ? (size_t)len : 0;
        for (const char *p = msg; *p && o + 6 < sizeof line; p++) {
            unsigned char c = (unsigned char)*p;

            if (c == '"' || c == '\\') {
                line[o++] = '\\';
                line[o++] = (char)c;
            } else if (c < 0x20) {
                o += (size_t)snprintf(line + o, sizeof line - o, "\\x%02x", c);
            } else {
                line[o++] = (char)c;
            }
        }
        line[o++] = '"';
        line[o++] = '\n';
        len = (int)o;
    }
    if (len > 0)
        (void)!write(2, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit("info", fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit("error", fmt, ap);
    va_end(ap);
}
