/* log.h: the daemon's log lines on stderr.
 *
 * One line per event, with its instant and level, in one of three formats:
 *   logfmt (default)  ts=2026-11-23T17:40:00.123456Z level=info msg="..."
 *   json              {"ts":"2026-11-23T17:40:00.123456Z","level":"info","msg":"..."}
 *   text              2026-11-23T17:40:00.123456Z info ...   (for people)
 * A JSON line is always valid JSON (control bytes escaped, invalid UTF-8
 * replaced by U+FFFD); a logfmt line always one quoted line.
 *
 * What is logged never contains a job's environment values or a token's
 * secret: callers name jobs, runs and errors, never env (see docs/ops.md).
 * Modules other than the daemon's host and main never log (docs/contributing.md): they
 * return errors. Thread-safe: each line is one write(2). */
#ifndef CHIME_LOG_H
#define CHIME_LOG_H

#include <stdbool.h>

enum log_format { LOG_LOGFMT, LOG_JSON, LOG_TEXT };
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_format(enum log_format f);
/* "logfmt", "json", "text": 0, or -1 for another name. */
int log_format_parse(const char *name, enum log_format *ret);
/* Lines below LEVEL are dropped (default: info). */
void log_set_level(enum log_level level);
/* "debug", "info", "warn", "error": 0, or -1 for another name. */
int log_level_parse(const char *name, enum log_level *ret);
/* The same as log_set_format(TEXT ? LOG_TEXT : LOG_LOGFMT). */
void log_set_text(bool text);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
