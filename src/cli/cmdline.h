/* cmdline.h: what the user typed after a command's name, read from tables.
 *
 * A command declares its options as rows (long name, short letter, kind,
 * where the value goes, help) and its subcommands as rows (name, entry,
 * arguments, one line of help). Parsing, the usage line, --help and every
 * message about a bad option or an unknown subcommand come from the rows,
 * so no command writes its own option loop or usage text.
 *
 * Values are stored at OFFSET in the command's own options struct, which
 * the caller zeroes and fills with its defaults first. Strings are borrowed
 * from argv. Options may come before, between or after the positional
 * arguments; "--" ends the options. A long option may be shortened to any
 * prefix no other row shares. */
#ifndef CHIME_CLI_CMDLINE_H
#define CHIME_CLI_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct err;

#define CMDLINE_VALUE_MAX  ((size_t)64 << 10) /* bytes of one option's value */
#define CMDLINE_LIST_MAX   64                 /* values one repeatable option holds */
#define CMDLINE_ROWS_MAX   64                 /* option rows of one command */
#define CMDLINE_INSTANT_LEN 40                /* an instant as the API writes it, and NUL */

enum cmdline_kind {
    CMDLINE_FLAG,     /* bool; given twice is allowed */
    CMDLINE_STRING,   /* const char *, checked by CHECK when set */
    CMDLINE_INT,      /* long, a whole number from MIN to MAX */
    CMDLINE_DURATION, /* int64_t microseconds: "90s", "15m", "2h" */
    CMDLINE_INSTANT,  /* char[CMDLINE_INSTANT_LEN]: ISO 8601, local time without an
                       * offset, stored as the API's UTC form */
    CMDLINE_LIST,     /* struct cmdline_list: repeatable, each value checked by CHECK;
                       * at most MAX values (0: CMDLINE_LIST_MAX) */
    CMDLINE_FUNC,     /* SET reads the value into the field itself */
};

/* The values of a CMDLINE_LIST option, in the order given. */
struct cmdline_list {
    const char *v[CMDLINE_LIST_MAX];
    size_t n;
};

struct cmdline_opt {
    const char *name;       /* "limit": --limit; also the field of its errors */
    char letter;            /* 'o': -o as well; 0 for none */
    enum cmdline_kind kind;
    size_t offset;          /* of the value in the command's options struct */
    const char *arg;        /* "N" in the usage; NULL for a flag */
    const char *help;       /* NULL: an old spelling, accepted and not shown */
    long min, max;          /* INT: the bounds; LIST: the most values */
    bool required;          /* the command cannot go without it */
    bool repeatable;        /* FUNC: may be given more than once (LIST always may) */
    /* STRING, LIST: refuses a bad value with CHIME_EINVAL (may be NULL) */
    int (*check)(const char *v, struct err *err);
    /* FUNC: reads V into FIELD, or fills ERR */
    int (*set)(const struct cmdline_opt *o, const char *v, void *field, struct err *err);
    const char *env;        /* shown as "[CHIME_X]" after the help; read by the caller */
};

struct cmdline_spec {
    const char *cmd;        /* "runs", "job show": "chime runs: ..." */
    const char *args;       /* "[JOB]": the positional arguments in the usage line */
    const char *about;      /* lines after the usage line: the arguments described */
    const struct cmdline_opt *opts;
    size_t nopts;
    const char *notes;      /* lines after the options (may be NULL) */
    int min_args, max_args; /* positional arguments; max_args -1: the command counts */
    const char *arg_name;   /* "JOB": "missing JOB", "more than one JOB" */
};

#define CMDLINE_HELP  (-1) /* --help was printed on stdout: exit 0 */
#define CMDLINE_BAD   (-2) /* one line on stderr said what is malformed: exit 2 */
#define CMDLINE_INVALID (-3) /* one line on stderr said which value is refused: exit 2 */

/* Reads ARGV (ARGV[0] is the command's name) by SPEC into OPTS. The
 * positional arguments are moved, in order, to ARGV[1..]; returns how many
 * there are, or CMDLINE_HELP, CMDLINE_BAD or CMDLINE_INVALID. A value that is itself an
 * option ("--state --json") is refused unless written "--state=--json". */
int cmdline_parse(const struct cmdline_spec *spec, int argc, char **argv, void *opts);

/* The exit status for a negative cmdline_parse() result: 0 after --help, else 2. */
static inline int cmdline_exit(int n)
{
    return n == CMDLINE_HELP ? 0 : 2;
}

/* Reads V into the field of O in OPTS as cmdline_parse() does (for an
 * environment variable standing for an option). */
int cmdline_set(const struct cmdline_opt *o, const char *v, void *opts, struct err *err);

/* Writes SPEC's usage: the usage line, ABOUT, one line per shown option, NOTES. */
void cmdline_usage(const struct cmdline_spec *spec, FILE *f);

/* ---- subcommands ---- */

struct cmdline_cmd {
    const char *name;
    int (*run)(int argc, char **argv); /* takes ARGV from the subcommand's name on */
    const char *args;                  /* "JOB [--json]" */
    const char *help;                  /* one line */
};

struct cmdline_cmds {
    const char *prefix;     /* "chime job"; "chime" for the binary's own table */
    const char *head;       /* the text above the rows (may be NULL) */
    const struct cmdline_cmd *rows;
    size_t n;
    const char *foot;       /* the text below (may be NULL) */
};

/* Runs the row of T named ARGV[1] with ARGV + 1. "help", "--help" and "-h"
 * print the list on stdout (0); none at all is one line on stderr (2); an
 * unknown name is one line with the nearest row's name (2). */
int cmdline_dispatch(const struct cmdline_cmds *t, int argc, char **argv);
void cmdline_cmds_usage(const struct cmdline_cmds *t, FILE *f);

/* The row name nearest to WORD by edit distance, if near enough to be a
 * typo of it; else NULL. NAMES has N entries, each STRIDE bytes apart,
 * starting with a const char *. */
const char *cmdline_nearest(const char *word, size_t wlen, const void *names, size_t n,
                            size_t stride);

#endif
