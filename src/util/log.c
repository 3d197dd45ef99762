/* log.c: log lines (see log.h). A line is built in a bounded buffer and
 * written with one write(2), so lines of several threads never mix. */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/utf8.h"
#include "../banned.h"

#define MSG_MAX  1024
#define LINE_MAX_ 1600  /* a message escaped 6 bytes a byte is cut, never overflows */

static _Atomic int format = LOG_LOGFMT;
static _Atomic int min_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"logfmt", "json", "text"};

void log_set_format(enum log_format f)
{
    atomic_store(&format, (int)f);
}

void log_set_text(bool text)
{
    log_set_format(text ? LOG_TEXT : LOG_LOGFMT);
}

void log_set_level(enum log_level level)
{
    atomic_store(&min_level, (int)level);
}

int log_format_parse(const char *name, enum log_format *ret)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (!strcmp(name, format_names[i])) {
            *ret = (enum log_format)i;
            return 0;
        }
    return -1;
}

int log_level_parse(const char *name, enum log_level *ret)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (!strcmp(name, level_names[i])) {
            *ret = (enum log_level)i;
            return 0;
        }
    return -1;
}

/* MSG quoted into LINE at *O: a JSON string when JSON, else logfmt's
 * quoting (backslash, quote, controls as \xNN). Stops short of the end. */
static void put_quoted(char *line, size_t cap, size_t *o, const char *msg, bool json)
{
    const unsigned char *p = (const unsigned char *)msg;
    size_t n = strlen(msg), k = *o;

    line[k++] = '"';
    while (n && k + 8 < cap) {
        size_t len = utf8_len(p, n);

        if (*p == '"' || *p == '\\') {
            line[k++] = '\\';
            line[k++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            k += (size_t)snprintf(line + k, cap - k, json ? "\\u%04x" : "\\x%02x", *p);
        } else if (len == 0 && json) {
            k += (size_t)snprintf(line + k, cap - k, "\\ufffd");
            len = 1;
        } else if (len == 0) {
            k += (size_t)snprintf(line + k, cap - k, "\\x%02x", *p);
            len = 1;
        } else {
            memcpy(line + k, p, len);
            k += len;
        }
        if (len == 0)
            len = 1;
        p += len;
        n -= len;
    }
    line[k++] = '"';
    *o = k;
}

static void emit(enum log_level level, const char *fmt, va_list ap)
{
    char msg[MSG_MAX], line[LINE_MAX_], ts[40];
    struct timespec now;
    struct tm tm;
    int f = atomic_load(&format);
    size_t o;
    int len;

    if ((int)level < atomic_load(&min_level))
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    /* RFC 3339 in UTC with microseconds, as time/isotime.h writes it
     * (util is below time, so it writes its own) */
    gmtime_r(&now.tv_sec, &tm);
    o = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + o, sizeof ts - o, ".%06ldZ", now.tv_nsec / 1000);
    vsnprintf(msg, sizeof msg, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    if (f == LOG_TEXT) {
        len = snprintf(line, sizeof line, "%s %s %s\n", ts, level_names[level], msg);
        if (len < 0)
            return;
        o = (size_t)len < sizeof line ? (size_t)len : sizeof line - 1;
        line[o - 1] = '\n';
    } else {
        len = snprintf(line, sizeof line,
                       f == LOG_JSON ? "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":"
                                     : "ts=%s level=%s msg=",
                       ts, level_names[level]);
        o = len > 0 ? (size_t)len : 0;
        put_quoted(line, sizeof line - 2, &o, msg, f == LOG_JSON);
        if (f == LOG_JSON)
            line[o++] = '}';
        line[o++] = '\n';
    }
    (void)!write(2, line, o);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_DEBUG, fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_INFO, fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_WARN, fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_ERROR, fmt, ap);
    va_end(ap);
}
