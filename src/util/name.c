/* name.c: the grammar of names (name.h). One scan decides, byte by byte,
 * so a NUL or any byte past ASCII inside LEN is refused where it is. */
#include "util/name.h"

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"
#include "../banned.h"

static bool name_byte(char ch, size_t i, int flags)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
        return true;
    return i > 0 && (ch == '.' || ch == '_' || ch == '-' || ((flags & NAME_SLASH) && ch == '/'));
}

int name_check(const char *s, size_t len, int flags, const char *what, const char *field,
               struct err *err)
{
    char q[48], c[8], why[96];
    int code = CHIME_EINVAL;
    size_t i = 0;

    if (len == 0) {
        snprintf(why, sizeof why, "is empty");
    } else if (len > NAME_LEN_MAX) {
        code = CHIME_ETOOBIG;
        snprintf(why, sizeof why, "is longer than %d bytes", NAME_LEN_MAX);
    } else {
        while (i < len && name_byte(s[i], i, flags))
            i++;
        if (i == len)
            return 0;
        err_quote(s + i, 1, c, sizeof c);
        if (s[i] == '\0') /* err_quote() stops at a NUL: say it in words */
            snprintf(why, sizeof why, "has a NUL byte at position %zu", i + 1);
        else if (i == 0)
            snprintf(why, sizeof why, "starts with '%s' (start with a-z or 0-9)", c);
        else
            snprintf(why, sizeof why, "has '%s' at position %zu (use a-z, 0-9, '.', '_', '-'%s)",
                     c, i + 1, (flags & NAME_SLASH) ? " or '/'" : "");
    }
    err_quote(s, len, q, sizeof q);
    if (what)
        return err_set(err, code, field, "'%s' is not a %s: it %s", q, what, why);
    return err_set(err, code, field, "'%s' %s", q, why);
}
