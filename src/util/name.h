/* name.h: the one grammar of chime's names: namespaces, job names,
 * channel names, the Unix users of namespaces and label keys.
 *
 * [a-z0-9][a-z0-9._-]{0,62}: lower-case ASCII letters and digits first,
 * then also '.', '_' and '-'. So a name is safe as a file name, a URL
 * segment and a command-line argument: no NUL, no byte past ASCII, no
 * '/', never "." or "..", never a leading '-'. */
#ifndef CHIME_UTIL_NAME_H
#define CHIME_UTIL_NAME_H

#include <stddef.h>

struct err;

#define NAME_LEN_MAX 63 /* bytes */
#define NAME_GRAMMAR "[a-z0-9][a-z0-9._-]{0,62}"

enum name_flags {
    NAME_SLASH = 1, /* '/' after the first byte too (label keys such as "app/tier") */
};

/* 0 when the LEN bytes at S are a name; otherwise why not, in ERR under
 * FIELD: CHIME_ETOOBIG past NAME_LEN_MAX bytes, CHIME_EINVAL for the rest.
 * The message quotes S and says what to use instead:
 *   "'a b' has ' ' at position 2 (use a-z, 0-9, '.', '_', '-')".
 * With WHAT ("channel name"), it says what S is not first:
 *   "'Ops' is not a channel name: it starts with 'O' (start with a-z or 0-9)". */
int name_check(const char *s, size_t len, int flags, const char *what, const char *field,
               struct err *err);

#endif
