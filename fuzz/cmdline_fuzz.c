/* cmdline_fuzz.c: arbitrary command lines into the option-table parser.
 *
 * The input is split at NUL bytes into argv (after the command's name).
 * cmdline_parse() may not crash, read past an argument or invoke undefined
 * behaviour; it returns one of its codes, and on success every positional
 * argument it returns is one of the words given, every INT lies within its
 * row's bounds and a list holds no more values than its row allows (abort()
 * otherwise, so libFuzzer keeps the input). Its messages go to stderr
 * as they would for a user: run with -close_fd_mask=2 to hide them. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmdline.h"
#include "../src/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARGS_MAX 64

struct opts {
    bool flag;
    const char *str;
    long num;
    int64_t dur;
    char at[CMDLINE_INSTANT_LEN];
    struct cmdline_list list;
};

static const struct cmdline_opt rows[] = {
    { "json", 0, CMDLINE_FLAG, offsetof(struct opts, flag), NULL, "a flag" },
    { "output", 'o', CMDLINE_STRING, offsetof(struct opts, str), "FILE", "a string" },
    { "limit", 'n', CMDLINE_INT, offsetof(struct opts, num), "N", "a number", 1, 1000 },
    { "timeout", 0, CMDLINE_DURATION, offsetof(struct opts, dur), "D", "a duration" },
    { "since", 0, CMDLINE_INSTANT, offsetof(struct opts, at), "T", "an instant" },
    { "state", 's', CMDLINE_LIST, offsetof(struct opts, list), "S", "repeatable", 0, 4 },
    { "lim", 0, CMDLINE_FLAG, offsetof(struct opts, flag), NULL, NULL },
};

static const struct cmdline_spec spec = {
    .cmd = "fuzz", .args = "[A...]", .opts = rows, .nopts = sizeof rows / sizeof rows[0],
    .min_args = 0, .max_args = -1, .arg_name = "A",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *words[ARGS_MAX + 1], *argv[ARGS_MAX + 2];
    struct opts o = { 0 };
    int argc = 1, n;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    argv[0] = "fuzz";
    for (size_t i = 0; i <= size && argc <= ARGS_MAX; i += strlen(buf + i) + 1) {
        argv[argc] = buf + i;
        words[argc - 1] = buf + i;
        argc++;
    }
    argv[argc] = NULL;
    n = cmdline_parse(&spec, argc, argv, &o);
    if (n < 0 && n != CMDLINE_HELP && n != CMDLINE_BAD && n != CMDLINE_INVALID)
        abort();
    if (n >= argc)
        abort();
    for (int i = 1; i <= n; i++) {
        bool given = false;

        for (int k = 0; k < argc - 1 && !given; k++)
            given = argv[i] == words[k];
        if (!given)
            abort();
    }
    if (n >= 0 && o.num != 0 && (o.num < 1 || o.num > 1000))
        abort();
    if (o.list.n > 4 || (o.at[0] && !memchr(o.at, '\0', sizeof o.at)))
        abort();
    free(buf);
    return 0;
}
