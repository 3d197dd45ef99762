/* cli.c: what every command shares: telling the user what went wrong. */
#include "cli/cli.h"

#include <stdio.h>

#include "util/err.h"
#include "../banned.h"

void cli_error(const char *cmd, const struct err *err)
{
    if (err->field[0])
        fprintf(stderr, "chime %s: %s: %s\n", cmd, err->field, err->msg);
    else
        fprintf(stderr, "chime %s: %s\n", cmd, err->msg);
}
