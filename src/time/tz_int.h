/* tz_int.h: what tz.c (TZif files and the answers a zone gives) and
 * tzcache.c (zones found by name, path or $TZ, cached for the process)
 * share. Private to src/time/tz*.c. */
#ifndef CHIME_TIME_TZ_INT_H
#define CHIME_TIME_TZ_INT_H

#include <stddef.h>

struct err;
struct tz;

#define TZ_FILE_MAX (1 << 20)       /* bytes; real zones are under 4 KiB */
#define QUOTE_LEN 80                /* a quoted name in a message, with NUL */

/* Copies S for a message: printable ASCII as is, other bytes as \xNN, cut
 * with "..." when it does not fit in SIZE (at least 8). */
const char *tz_quote(const char *s, char *buf, size_t size);
/* CHIME_EINVAL: zone NAME is not valid TZif, because WHY. */
int tz_bad(struct err *err, const char *name, const char *why);
/* CHIME_ENOMEM while loading a zone. */
int tz_no_memory(struct err *err);
/* A zone NAME made of the POSIX rule SPEC alone (a $TZ that names no
 * file): glibc applies the rule at every instant. *RET is owned. */
int tz_rule_zone(const char *name, const char *spec, struct tz **ret, struct err *err);

#endif
