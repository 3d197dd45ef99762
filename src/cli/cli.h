/* cli.h: the commands of the chime binary, one function each.
 * Each takes main()'s argc/argv from the command name on and returns the
 * process exit status: 0 success, 1 failure, 2 bad usage or input. */
#ifndef CHIME_CLI_H
#define CHIME_CLI_H

int cli_next(int argc, char **argv);

/* Prints "chime CMD: FIELD: MESSAGE" (or without FIELD) on stderr. */
struct err;
void cli_error(const char *cmd, const struct err *err);

#endif
