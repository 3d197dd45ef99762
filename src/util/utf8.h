/* utf8.h: strict UTF-8, as jansson has it: no overlong forms, no
 * surrogates, nothing past U+10FFFF. One decoder for every place that
 * checks text (job documents, crontab lines, logs, metric labels, API
 * text). */
#ifndef CHIME_UTIL_UTF8_H
#define CHIME_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length (1-4) of the valid UTF-8 character at P, N > 0 bytes left;
 * 0 when the bytes there are not one. */
size_t utf8_len(const void *p, size_t n);
/* Whether the N bytes at S are all valid UTF-8. */
bool utf8_valid(const char *s, size_t n);

#endif
