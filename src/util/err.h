/* err.h: the error every fallible function reports.
 *
 * A failing function fills a struct err (code, the field at fault, one
 * line of message) and returns the negative code, so a failure is one line:
 *
 *     return err_set(err, CHIME_ERANGE, "hour", "'%ld' is out of range 0-23", v);
 *
 * Messages name what is wrong first, quote the value, have no capital
 * letter and no full stop. Modules never print; callers decide who is told. */
#ifndef CHIME_ERR_H
#define CHIME_ERR_H

#include <stddef.h>

enum chime_code {
    CHIME_OK = 0,
    CHIME_EINVAL,       /* malformed input */
    CHIME_ERANGE,       /* well-formed but out of range */
    CHIME_ENOTFOUND,    /* no such thing (zone, job, run) */
    CHIME_ETOOBIG,      /* input or buffer past its ceiling */
    CHIME_ENEVER,       /* a schedule that can never fire */
    CHIME_ENOMEM,
    CHIME_EIO,
    CHIME_ECONFLICT,    /* the state is not what the write expected (version, run state) */
    CHIME_ENOSPC,       /* the disk is full: nothing was written */
    CHIME_ECODE_MAX
};

struct err {
    int code;           /* enum chime_code; CHIME_OK when unset */
    char field[32];     /* the input field at fault, "" when none */
    char msg[256];
};

/* Fills *err (which may be NULL) and returns -code. */
int err_set(struct err *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copies at most N bytes of S (stopping at a NUL) into BUF for a message:
 * printable ASCII as is, other bytes as \xNN, cut with "..." when they do
 * not fit, so a hostile value can neither flood a message nor put control
 * bytes or broken UTF-8 into it. LEN is at least 8. Returns BUF. */
const char *err_quote(const char *s, size_t n, char *buf, size_t len);

/* A short stable name for a code ("invalid", "not-found"), for problem types. */
const char *err_name(int code);

#endif
