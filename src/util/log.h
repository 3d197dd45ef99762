/* log.h: the daemon's log lines on stderr.
 *
 * One line per event, logfmt: `ts=2026-11-23T17:40:00.123456Z level=info
 * msg="..."`, or plain `2026-11-23T17:40:00Z info ...` for people
 * (log_set_text). Modules other than the daemon's host and main never log
 * (STYLE.md): they return errors. Thread-safe: each line is one write(2). */
#ifndef CHIME_LOG_H
#define CHIME_LOG_H

#include <stdbool.h>

void log_set_text(bool text);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
