/* cmdline.c: options and subcommands read from their tables (cmdline.h).
 *
 * One pass over argv, in order, as getopt_long with permutation would do:
 * an option's value is the rest of its word ("--limit=5", "-n5") or the
 * next word, unless that word is itself an option ("--state --json" is a
 * forgotten value, not a state named "--json"). Every message is one line
 * naming the word at fault, quoted with err_quote() so a hostile argument
 * cannot flood the terminal. */
#include "cli/cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "time/units.h"
#include "util/err.h"
#include "../banned.h"

#define WIDTH 79    /* of the help text */
#define COL_MAX 30  /* the help column, at most; a longer option has its help below */
#define WORD_MAX 64 /* letters of a word compared for "did you mean" */
#define USAGE_OPTIONS_MAX 12 /* more options than this: "[OPTIONS]" in the usage line */

const char *cmdline_nearest(const char *word, size_t wlen, const void *names, size_t n,
                            size_t stride)
{
    size_t d[WORD_MAX + 1], best_d = SIZE_MAX;
    const char *best = NULL;

    if (wlen == 0 || wlen > WORD_MAX)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        const char *name = *(const char *const *)(const void *)((const char *)names + k * stride);
        size_t nlen = name ? strlen(name) : 0;

        if (!name || nlen > WORD_MAX)
            continue;
        /* Levenshtein distance, one row at a time */
        for (size_t j = 0; j <= nlen; j++)
            d[j] = j;
        for (size_t i = 1; i <= wlen; i++) {
            size_t diag = d[0];

            d[0] = i;
            for (size_t j = 1; j <= nlen; j++) {
                size_t up = d[j], sub = diag + (word[i - 1] != name[j - 1]);

                d[j] = sub < up + 1 ? sub : up + 1;
                if (d[j - 1] + 1 < d[j])
                    d[j] = d[j - 1] + 1;
                diag = up;
            }
        }
        /* a typo: at most two edits, and fewer than the name has letters */
        if (d[nlen] <= 2 && d[nlen] < nlen && d[nlen] < best_d) {
            best_d = d[nlen];
            best = name;
        }
    }
    return best;
}

/* "chime CMD: WHAT (see chime CMD --help)", WHAT from FMT. */
__attribute__((format(printf, 2, 3))) static int bad(const struct cmdline_spec *spec,
                                                      const char *fmt, ...)
{
    char what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fprintf(stderr, "chime %s: %s (see chime %s --help)\n", spec->cmd, what, spec->cmd);
    return CMDLINE_BAD;
}

static int set_int(const struct cmdline_opt *o, const char *v, long *field, struct err *err)
{
    char *end, q[48];
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (end == v || *end || errno || n < o->min || n > o->max || v[0] == '+' || v[0] == ' ')
        return err_set(err, CHIME_EINVAL, o->name, "'%s' is not a whole number from %ld to %ld",
                       err_quote(v, strlen(v), q, sizeof q), o->min, o->max);
    *field = n;
    return 0;
}

int cmdline_set(const struct cmdline_opt *o, const char *v, void *opts, struct err *err)
{
    void *field = (char *)opts + o->offset;
    char q[48];

    if (strnlen(v, CMDLINE_VALUE_MAX + 1) > CMDLINE_VALUE_MAX)
        return err_set(err, CHIME_ETOOBIG, o->name, "'%s' is longer than %zu KiB",
                       err_quote(v, 40, q, 40), CMDLINE_VALUE_MAX >> 10);
    switch (o->kind) {
    case CMDLINE_FLAG:
        *(bool *)field = true;
        return 0;
    case CMDLINE_STRING:
        if (o->check && o->check(v, err) < 0) {
            if (err && !err->field[0])
                snprintf(err->field, sizeof err->field, "%s", o->name);
            return -CHIME_EINVAL;
        }
        *(const char **)field = v;
        return 0;
    case CMDLINE_INT:
        return set_int(o, v, field, err);
    case CMDLINE_DURATION:
        return units_duration_parse(v, o->name, field, err);
    case CMDLINE_INSTANT:
        return cli_user_time(v, o->name, field, CMDLINE_INSTANT_LEN, err);
    case CMDLINE_LIST: {
        struct cmdline_list *l = field;
        size_t max = o->max > 0 && o->max < CMDLINE_LIST_MAX ? (size_t)o->max : CMDLINE_LIST_MAX;

        if (l->n >= max)
            return err_set(err, CHIME_ERANGE, o->name, "more than %zu values", max);
        if (o->check && o->check(v, err) < 0)
            return -CHIME_EINVAL;
        l->v[l->n++] = v;
        return 0;
    }
    case CMDLINE_FUNC:
        return o->set(o, v, field, err);
    }
    return 0;
}

/* The row named by the N bytes at NAME: the exact one, else the only one
 * it is a prefix of. *RET_HELP: it names --help. *RET_AMBIGUOUS: a prefix
 * of more than one. */
static const struct cmdline_opt *find_long(const struct cmdline_spec *spec, const char *name,
                                           size_t n, bool *ret_help, int *ret_matches)
{
    const struct cmdline_opt *found = NULL;
    int matches = 0;

    *ret_help = false;
    for (size_t i = 0; i < spec->nopts; i++) {
        const struct cmdline_opt *o = &spec->opts[i];

        if (strlen(o->name) == n && !strncmp(o->name, name, n)) {
            *ret_matches = 1;
            return o;
        }
        if (n > 0 && !strncmp(o->name, name, n)) {
            found = o;
            matches++;
        }
    }
    if (n > 0 && n <= 4 && !strncmp("help", name, n)) {
        if (n == 4 || matches == 0) {
            *ret_help = true;
            *ret_matches = 1;
            return NULL;
        }
        matches++;
    }
    *ret_matches = matches;
    return matches == 1 ? found : NULL;
}

static const struct cmdline_opt *find_short(const struct cmdline_spec *spec, char c)
{
    for (size_t i = 0; i < spec->nopts; i++)
        if (spec->opts[i].letter == c)
            return &spec->opts[i];
    return NULL;
}

/* "--json", "-j": a word that is an option, not a value ("-", "-1" are values) */
static bool is_option(const char *w)
{
    return w[0] == '-' && (w[1] == '-' || (w[1] >= 'a' && w[1] <= 'z')
                           || (w[1] >= 'A' && w[1] <= 'Z'));
}

static int unknown(const struct cmdline_spec *spec, const char *word, const char *name,
                   size_t n)
{
    const char *near = cmdline_nearest(name, n, spec->opts, spec->nopts, sizeof *spec->opts);
    char q[64];

    err_quote(word, strlen(word), q, sizeof q);
    if (near)
        return bad(spec, "unknown option '%s': did you mean '--%s'?", q, near);
    return bad(spec, "unknown option '%s'", q);
}

int cmdline_parse(const struct cmdline_spec *spec, int argc, char **argv, void *opts)
{
    unsigned char seen[CMDLINE_ROWS_MAX] = { 0 };
    struct err err = { 0 };
    int npos = 0;
    bool options = true;

    for (int i = 1; i < argc; i++) {
        char *w = argv[i], q[64];
        const struct cmdline_opt *o = NULL;
        const char *v = NULL, *shown = w;
        char letter[3] = "-?";

        if (!options || w[0] != '-' || w[1] == '\0') {
            argv[1 + npos++] = w;
            continue;
        }
        if (!strcmp(w, "--")) {
            options = false;
            continue;
        }
        if (w[1] == '-') {
            const char *eq = strchr(w + 2, '=');
            size_t n = eq ? (size_t)(eq - (w + 2)) : strlen(w + 2);
            bool help;
            int matches;

            o = find_long(spec, w + 2, n, &help, &matches);
            if (help && !eq) {
                cmdline_usage(spec, stdout);
                return CMDLINE_HELP;
            }
            if (matches > 1)
                return bad(spec, "ambiguous option '%s' (it begins more than one)",
                           err_quote(w, n + 2, q, sizeof q));
            if (!o)
                return unknown(spec, w, w + 2, n);
            if (o->kind == CMDLINE_FLAG && eq)
                return bad(spec, "--%s takes no value", o->name);
            if (eq)
                v = eq + 1;
        } else {
            /* -abc: flags, the last of which may take a value (-o FILE, -oFILE) */
            for (char *p = w + 1; *p; p++) {
                if (*p == 'h' && !find_short(spec, 'h')) {
                    cmdline_usage(spec, stdout);
                    return CMDLINE_HELP;
                }
                if (!(o = find_short(spec, *p))) {
                    letter[1] = *p;
                    /* "-json" is likely "--json" */
                    if (strlen(w) > 2)
                        return unknown(spec, w, w + 1, strlen(w + 1));
                    return unknown(spec, err_quote(letter, 2, q, sizeof q), "", 0);
                }
                letter[1] = *p;
                shown = letter;
                if (o->kind != CMDLINE_FLAG) {
                    if (p[1])
                        v = p + 1;
                    break;
                }
                seen[o - spec->opts] = 1;
                cmdline_set(o, "", opts, &err);
            }
            if (o->kind == CMDLINE_FLAG)
                continue;
        }
        if (o->kind == CMDLINE_FLAG) {
            seen[o - spec->opts] = 1;
            cmdline_set(o, "", opts, &err);
            continue;
        }
        if (!v) {
            if (i + 1 == argc)
                return bad(spec, "%s needs a value", w[1] == '-' ? w : shown);
            if (is_option(argv[i + 1]))
                return bad(spec, "%s needs a value, not the option '%s' (--%s=VALUE for a value "
                           "that begins with '-')", w[1] == '-' ? w : shown,
                           err_quote(argv[i + 1], strlen(argv[i + 1]), q, sizeof q), o->name);
            v = argv[++i];
        }
        if (seen[o - spec->opts] && o->kind != CMDLINE_LIST && !o->repeatable)
            return bad(spec, "--%s is given more than once", o->name);
        seen[o - spec->opts] = 1;
        if (cmdline_set(o, v, opts, &err) < 0) {
            cli_error(spec->cmd, &err);
            return CMDLINE_INVALID;
        }
    }
    for (size_t k = 0; k < spec->nopts; k++)
        if (spec->opts[k].required && !seen[k])
            return bad(spec, "--%s is needed", spec->opts[k].name);
    if (spec->max_args >= 0) {
        if (npos < spec->min_args)
            return bad(spec, "missing %s", spec->arg_name);
        if (npos > spec->max_args) {
            char q[64];

            if (spec->max_args == 0)
                return bad(spec, "unexpected argument '%s'",
                           err_quote(argv[1], strlen(argv[1]), q, sizeof q));
            return bad(spec, "more than one %s", spec->arg_name);
        }
    }
    return npos;
}

/* Writes TEXT from column AT, wrapped at WIDTH, later lines from column INDENT. */
static void wrap(FILE *f, const char *text, size_t at, size_t indent)
{
    while (*text) {
        size_t room = at < WIDTH ? WIDTH - at : 0, n = strlen(text);

        if (n > room) {
            /* the last space that fits; a word longer than the room goes whole */
            size_t cut = room;

            while (cut > 0 && text[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = strcspn(text, " ");
            n = cut;
        }
        /* '\1' is a space the line is not broken at ("[--limit N]") */
        for (size_t k = 0; k < n; k++)
            fputc(text[k] == '\1' ? ' ' : text[k], f);
        fputc('\n', f);
        text += n;
        while (*text == ' ')
            text++;
        if (*text)
            fprintf(f, "%*s", (int)indent, "");
        at = indent;
    }
}

void cmdline_usage(const struct cmdline_spec *spec, FILE *f)
{
    char line[4096], flag[96];
    size_t n, col = 0;
    bool letters = false;
    size_t shown = 0;

    for (size_t i = 0; i < spec->nopts; i++)
        shown += spec->opts[i].help != NULL;
    n = (size_t)snprintf(line, sizeof line, "chime %s%s%s%s", spec->cmd, spec->args ? " " : "",
                         spec->args ? spec->args : "", shown > USAGE_OPTIONS_MAX ? " [OPTIONS]" : "");
    for (size_t i = 0; i < spec->nopts; i++) {
        const struct cmdline_opt *o = &spec->opts[i];
        size_t w;

        if (!o->help)
            continue;
        if (shown > USAGE_OPTIONS_MAX) {
            /* too many for one line: --help lists them below */
        } else if (n < sizeof line)
            n += (size_t)snprintf(line + n, sizeof line - n, " %s--%s%s%s%s%s", o->required ? "" : "[",
                                  o->name, o->arg ? "\1" : "", o->arg ? o->arg : "",
                                  o->required ? "" : "]", o->kind == CMDLINE_LIST ? "..." : "");
        letters |= o->letter != 0;
        w = strlen(o->name) + 2 + (o->arg ? strlen(o->arg) + 1 : 0);
        if (w > col)
            col = w;
    }
    fputs("usage: ", f);
    wrap(f, line, 7, 8 + strlen(spec->cmd) + 6);
    if (spec->about)
        fputs(spec->about, f);
    col += 2 + (letters ? 4 : 0) + 2;
    if (col > COL_MAX)
        col = COL_MAX;
    for (size_t i = 0; i < spec->nopts; i++) {
        const struct cmdline_opt *o = &spec->opts[i];
        char help[1024];
        size_t w;

        if (!o->help)
            continue;
        if (letters && o->letter)
            w = (size_t)snprintf(flag, sizeof flag, "  -%c, --%s%s%s", o->letter, o->name,
                                 o->arg ? " " : "", o->arg ? o->arg : "");
        else
            w = (size_t)snprintf(flag, sizeof flag, "  %s--%s%s%s", letters ? "    " : "",
                                 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        if (o->env) {
            /* one line each, the variable last: tools read these lines */
            fprintf(f, "%-*s %s [%s]\n", (int)col - 1, flag, o->help, o->env);
            continue;
        }
        snprintf(help, sizeof help, "%s", o->help);
        if (w + 1 > col) {
            fprintf(f, "%s\n%*s", flag, (int)col, "");
        } else {
            fprintf(f, "%-*s", (int)col, flag);
        }
        wrap(f, help, col, col);
    }
    if (spec->notes)
        fputs(spec->notes, f);
}

/* ---- subcommands ---- */

void cmdline_cmds_usage(const struct cmdline_cmds *t, FILE *f)
{
    if (t->head)
        fputs(t->head, f);
    for (size_t i = 0; i < t->n; i++)
        fprintf(f, "  %s %s%s%s\n      %s\n", t->prefix, t->rows[i].name, t->rows[i].args[0] ? " " : "",
                t->rows[i].args, t->rows[i].help);
    if (t->foot)
        fputs(t->foot, f);
}

int cmdline_dispatch(const struct cmdline_cmds *t, int argc, char **argv)
{
    const char *what = strchr(t->prefix, ' ') ? "subcommand" : "command", *near;
    char q[64];

    if (argc < 2) {
        fprintf(stderr, "%s: missing %s (see %s --help)\n", t->prefix,
                strchr(t->prefix, ' ') ? "SUBCOMMAND" : "COMMAND", t->prefix);
        return 2;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cmdline_cmds_usage(t, stdout);
        return 0;
    }
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(argv[1], t->rows[i].name))
            return t->rows[i].run(argc - 1, argv + 1);
    err_quote(argv[1], strlen(argv[1]), q, sizeof q);
    near = cmdline_nearest(argv[1], strlen(argv[1]), t->rows, t->n, sizeof *t->rows);
    if (near)
        fprintf(stderr, "%s: unknown %s '%s': did you mean '%s'? (see %s --help)\n", t->prefix,
                what, q, near, t->prefix);
    else
        fprintf(stderr, "%s: unknown %s '%s' (see %s --help)\n", t->prefix, what, q, t->prefix);
    return 2;
}
