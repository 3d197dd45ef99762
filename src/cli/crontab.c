/* crontab.c: crontab(5) text into chime job documents.
 *
 * Every rule follows what cronie (and Vixie cron, whose parser it keeps)
 * does with the same bytes, so that an imported job runs what cron would
 * have run, when cron would have run it:
 *
 * - A line is tried as an environment setting first (cronie's load_env
 *   state machine, in crontab_env.c), then as a job.
 * - The five time fields are read by cron's rules and written as an
 *   expression chime reads the same way (crontab_field.c).
 * - A command that starts with '-' is cronie's options: "-n " (mail only
 *   on failure) is stripped and dropped, as chime sends no mail; any
 *   other is an error, as in cronie.
 * - A last line without its newline is skipped: cronie's parser reads a
 *   line up to its newline and drops one that reaches the end of the file.
 * - '%' splits the command from its standard input exactly as cronie's
 *   do_command.c does, including the newline it adds at the end. chime
 *   runs jobs with standard input from /dev/null, so a job with input runs
 *   /bin/sh -c 'printf %s "$1" | exec "$0" -c "$2"' SHELL INPUT COMMAND:
 *   the command gets the same bytes through a pipe, as under cron, and
 *   neither the input nor the command is quoted or re-read by a shell on
 *   the way.
 * - Environment settings apply to the job lines below them, as in cron;
 *   SHELL and PATH have cron's defaults (/bin/sh, /usr/bin:/bin).
 * - Jobs keep cron's policies: overlapping runs allowed, no catch-up of
 *   fires missed while the daemon was down. */
#include "cli/crontab_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/crontab_field.h"
#include "job/job.h"
#include "time/tz.h"
#include "util/err.h"
#include "util/utf8.h"
#include "../banned.h"

#define NAME_WORD_MAX   30      /* bytes of the command's part */
#define NAME_WORDS_SEEN 16      /* words of the command looked at for one */
#define DESCRIPTION_MAX 1024    /* job.c's ceiling */
#define LABEL_MAX       256     /* bytes of a label value */
#define MAX_INSTANCES   1000    /* job.c's ceiling: cron has none */
#define CRON_SHELL      "/bin/sh"
#define CRON_PATH       "/usr/bin:/bin" /* cronie's _PATH_DEFPATH */

/* ---- the result ---- */

struct crontab {
    struct crontab_entry *e;
    size_t n, cap;
};

size_t crontab_count(const struct crontab *c)
{
    return c ? c->n : 0;
}

const struct crontab_entry *crontab_entry(const struct crontab *c, size_t i)
{
    return c && i < c->n ? &c->e[i] : NULL;
}

size_t crontab_tally(const struct crontab *c, enum crontab_kind kind)
{
    size_t k = 0;

    for (size_t i = 0; c && i < c->n; i++)
        k += c->e[i].kind == kind;
    return k;
}

void crontab_free(struct crontab *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].what);
        free(c->e[i].name);
        free(c->e[i].schedule);
        free(c->e[i].user);
        json_decref(c->e[i].doc);
    }
    free(c->e);
    free(c);
}

enum crontab_format crontab_format_of(const char *path)
{
    const char *d = "/etc/cron.d/";

    if (!path)
        return CRONTAB_USER;
    if (!strcmp(path, "/etc/crontab"))
        return CRONTAB_SYSTEM;
    if (!strncmp(path, d, strlen(d)) && path[strlen(d)] && !strchr(path + strlen(d), '/'))
        return CRONTAB_SYSTEM;
    return CRONTAB_USER;
}

/* ---- small helpers ---- */

/* The length of the longest valid UTF-8 prefix of S (N bytes). */
static size_t utf8_prefix(const char *s, size_t n)
{
    size_t i = 0, k;

    while (i < n && (k = utf8_len(s + i, n - i)) > 0)
        i += k;
    return i;
}

/* An owned copy of N bytes of S. */
static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* An owned copy of S (N bytes) cut to at most MAX bytes on a character
 * boundary, with each byte that is not UTF-8 replaced by '?', so that it
 * can go into a JSON string. */
static char *dup_text(const char *s, size_t n, size_t max)
{
    char *p = malloc((n < max ? n : max) + 1);
    size_t i = 0, k = 0;

    if (!p)
        return NULL;
    while (i < n) {
        size_t c = utf8_len(s + i, n - i);

        if (k + (c ? c : 1) > max)
            break;
        if (c) {
            memcpy(p + k, s + i, c);
            k += c;
            i += c;
        } else {
            p[k++] = '?';
            i++;
        }
    }
    p[k] = '\0';
    return p;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- one line ---- */

/* What a job line says, while it is read. */
struct job_line {
    const char *fields[CRONTAB_FIELDS];    /* into the line */
    size_t field_len[CRONTAB_FIELDS];
    const char *macro;              /* "@daily" or NULL */
    char *schedule;                 /* owned */
    char *user;                     /* owned; system format */
    char *command;                  /* owned: the part before the first '%' */
    char *input;                    /* owned: standard input, NULL when none */
    size_t input_len;
    char note[1280];
};

int crontab_add(struct crontab_ctx *x, size_t line, enum crontab_kind kind, const char *what,
                struct crontab_entry **ret, struct err *err)
{
    struct crontab *c = x->out;
    struct crontab_entry *e;

    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        struct crontab_entry *more = realloc(c->e, cap * sizeof *more);

        if (!more)
            return err_set(err, CHIME_ENOMEM, "", "out of memory");
        c->e = more;
        c->cap = cap;
    }
    e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    e->line = line;
    e->kind = kind;
    if (what && !(e->what = strdup(what)))
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    c->n++;
    if (ret)
        *ret = e;
    return 0;
}

/* An error entry from a struct err: "FIELD: MESSAGE". */
int crontab_add_error(struct crontab_ctx *x, size_t line, const struct err *why, struct err *err)
{
    char what[sizeof why->field + sizeof why->msg + 4];

    if (why->field[0])
        snprintf(what, sizeof what, "%s: %s", why->field, why->msg);
    else
        snprintf(what, sizeof what, "%s", why->msg);
    return crontab_add(x, line, CRONTAB_ERROR, what, NULL, err);
}

static const char *const macro_names[] = {
    "@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
};

/* Splits the command at its first unescaped '%' as cronie's do_command()
 * does: "\%" is a '%' (the backslash goes), any other backslash stays and
 * escapes the next character; after the first '%', every '%' is a
 * newline, "\%" a '%', other backslashes stay, and a newline ends the
 * input when it does not end with one already. */
static int split_input(const char *s, size_t n, struct job_line *j)
{
    char *cmd = malloc(n + 1), *in = NULL;
    size_t k = 0, i;
    bool escaped = false, need_newline = false;

    if (!cmd)
        return -1;
    for (i = 0; i < n; i++) {
        char ch = s[i];

        if (escaped) {
            if (ch == '%')
                k--;            /* the backslash before it */
            cmd[k++] = ch;
            escaped = false;
            continue;
        }
        if (ch == '%')
            break;
        cmd[k++] = ch;
        escaped = ch == '\\';
    }
    cmd[k] = '\0';
    j->command = cmd;
    if (i >= n || i + 1 == n)
        return 0;       /* no '%', or nothing after it: an empty input, as /dev/null */
    if (!(in = malloc(2 * (n - i) + 2)))
        return -1;
    k = 0;
    escaped = false;
    for (i++; i < n; i++) {
        char ch = s[i];

        if (escaped) {
            if (ch != '%')
                in[k++] = '\\';
        } else if (ch == '%') {
            ch = '\n';
        }
        if (!(escaped = ch == '\\')) {
            in[k++] = ch;
            need_newline = ch != '\n';
        }
    }
    if (escaped)
        in[k++] = '\\';
    if (need_newline)
        in[k++] = '\n';
    in[k] = '\0';
    j->input = in;
    j->input_len = k;
    return 0;
}

/* Words that say little about what a command does: a job is named after
 * the first word of its command that is none of these (nor the argument
 * some of them take). */
static const struct {
    const char *word;
    int args;                   /* words after it that say little too */
} dull_words[] = {
    { "[", 0 },       { "[[", 0 },      { "cd", 1 },      { "test", 0 },   { "if", 0 },
    { "then", 0 },    { "env", 0 },     { "nice", 0 },    { "ionice", 0 }, { "exec", 0 },
    { "command", 0 }, { "nohup", 0 },   { "timeout", 1 }, { "flock", 1 },  { "sleep", 1 },
    { "sudo", 0 },    { "su", 0 },      { "time", 0 },    { "chronic", 0 }, { "true", 0 },
    { "builtin", 0 }, { "eval", 0 },
};

/* -1 when W (N bytes) is not a dull word, else how many words after it to skip */
static int dull(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof dull_words / sizeof dull_words[0]; i++)
        if (strlen(dull_words[i].word) == n && !memcmp(dull_words[i].word, w, n))
            return dull_words[i].args;
    return -1;
}

/* S (N bytes) as a piece of a job name: lower case, [a-z0-9] kept, runs
 * of anything else one '-', no '-' at either end, at most MAX bytes. */
static size_t name_piece(const char *s, size_t n, char *buf, size_t max)
{
    size_t k = 0;

    for (size_t i = 0; i < n && k < max; i++) {
        char c = (char)tolower((unsigned char)s[i]);

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            buf[k++] = c;
        else if (k > 0 && buf[k - 1] != '-')
            buf[k++] = '-';
    }
    while (k > 0 && buf[k - 1] == '-')
        k--;
    buf[k] = '\0';
    return k;
}

/* Whether any of the bytes in SET occurs in the N bytes at S. */
static bool strpbrk_n(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(set, s[i]))
            return true;
    return false;
}

/* The job's name: STEM-WORD-LINE, WORD from the command. */
static void job_name(const struct crontab_ctx *x, const char *cmd, size_t line, char *buf,
                     size_t len)
{
    char word[NAME_WORD_MAX + 1] = "";
    const char *p = cmd;

    for (int seen = 0, skip = 0; *p && seen < NAME_WORDS_SEEN; seen++) {
        const char *w, *base;
        size_t n;
        int args;

        while (*p && crontab_is_space(*p))
            p++;
        w = p;
        while (*p && !crontab_is_space(*p))
            p++;
        n = (size_t)(p - w);
        if (skip > 0 && n > 0 && w[0] != '-') {
            skip--;
            continue;
        }
        /* options, redirections, assignments, expansions, punctuation */
        if (strchr("-;(){}\"'!#", w[0]) || strpbrk_n(w, n, "<>=$`|&"))
            continue;
        for (base = w + n; base > w && base[-1] != '/'; base--)
            ;
        n = (size_t)(w + n - base);
        if (n > 0 && (args = dull(base, n)) >= 0) {
            skip = args;
            continue;
        }
        if (n == 0 || !name_piece(base, n, word, NAME_WORD_MAX))
            continue;
        if (strspn(word, "0123456789") != strlen(word))
            break;
        word[0] = '\0';    /* a number says nothing */
    }
    if (!word[0])
        snprintf(word, sizeof word, "job");
    snprintf(buf, len, "%s-%s-%zu", x->stem, word, line);
}

/* The schedule of a job line, into J->schedule; J->note tells of a '~' pick. */
static int job_schedule(struct job_line *j, const char *line, size_t n, struct err *err)
{
    char expr[CRONTAB_LINE_MAX + 64], picks[1024];
    size_t used = strlen(j->note);
    int rc;

    if (j->macro) {
        /* cron's macros are chime's, meaning for meaning */
        return (j->schedule = strdup(j->macro)) ? 0
                                                : err_set(err, CHIME_ENOMEM, "", "out of memory");
    }
    rc = crontab_field_schedule(j->fields, j->field_len, line, n, expr, sizeof expr, picks,
                                sizeof picks, err);
    if (rc < 0)
        return rc;
    if (picks[0])
        snprintf(j->note + used, sizeof j->note - used, "%s%s", used ? "; " : "", picks);
    return (j->schedule = strdup(expr)) ? 0 : err_set(err, CHIME_ENOMEM, "", "out of memory");
}

/* A user name in the user column: what useradd would take. */
static int user_check(const char *s, size_t n, struct err *err)
{
    char q[64];

    err_quote(s, n, q, sizeof q);
    if (n > 64)
        return err_set(err, CHIME_EINVAL, "user", "'%s' is longer than 64 bytes", q);
    if (utf8_prefix(s, n) != n)
        return err_set(err, CHIME_EINVAL, "user", "'%s' is not UTF-8", q);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!(isalnum(c) || c == '_' || c == '.' || c == '@' || c >= 0x80
              || (i > 0 && c == '-') || (i == n - 1 && i > 0 && c == '$')))
            return err_set(err, CHIME_EINVAL, "user",
                           "'%s' is not a user name (a user crontab? see --user)", q);
    }
    return 0;
}

/* The job document of J at LINE (TEXT, N bytes, the whole line). */
static int job_doc(struct crontab_ctx *x, struct job_line *j, size_t line, const char *text,
                   size_t n, const char *name, json_t **ret, struct err *err)
{
    char *desc = NULL, *file = NULL, head[96];
    json_t *doc = NULL, *cmd, *env, *labels, *sched;
    struct job *parsed = NULL;
    const char *shell = x->shell;
    int rc = -CHIME_ENOMEM;

    while (n > 0 && crontab_is_space(text[n - 1]))
        n--;
    while (n > 0 && is_blank(*text)) {
        text++;
        n--;
    }
    file = dup_text(x->source, strlen(x->source), LABEL_MAX);
    snprintf(head, sizeof head, "line %zu of ", line);
    if (!file)
        goto done;
    {
        char *d = NULL;
        int dn = asprintf(&d, "%s%s: %.*s", head, file, (int)n, text);

        if (dn < 0)
            goto done;
        desc = dup_text(d, (size_t)dn, DESCRIPTION_MAX);
        free(d);
        if (!desc)
            goto done;
    }
    if (j->input)
        cmd = json_pack("[s, s, s, s, s, s]", CRON_SHELL, "-c",
                        "printf '%s' \"$1\" | exec \"$0\" -c \"$2\"", shell, j->input,
                        j->command);
    else
        cmd = json_pack("[s, s, s]", shell, "-c", j->command);
    env = json_deep_copy(x->env);
    if (env && j->user) {
        /* cron sets these from the user whose job it is, over the crontab's */
        json_object_set_new(env, "LOGNAME", json_string(j->user));
        json_object_set_new(env, "USER", json_string(j->user));
    }
    labels = json_pack("{s:s}", "crontab-file", file);
    if (labels && j->user)
        json_object_set_new(labels, "crontab-user", json_string(j->user));
    sched = json_pack("{s:s}", "cron", j->schedule);
    if (sched && x->zone[0])
        json_object_set_new(sched, "timezone", json_string(x->zone));
    if (!cmd || !env || !labels || !sched) {
        json_decref(cmd);
        json_decref(env);
        json_decref(labels);
        json_decref(sched);
        goto done;
    }
    /* cron's policies: a fire starts even while the last run goes on, and
     * fires missed while the daemon was down are not made up */
    doc = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:i, s:{s:s}}", "name", name,
                    "namespace", x->ns, "description", desc, "schedule", sched, "command", cmd,
                    "env", env, "labels", labels, "concurrency", "allow", "max_instances",
                    MAX_INSTANCES, "misfire", "catch_up", "none");
    if (!doc)
        goto done;
    /* the whole document, as the daemon will check it */
    rc = job_from_json(doc, x->ns, &parsed, err);
    if (rc < 0)
        goto done;
    *ret = doc;
    doc = NULL;
    rc = 0;
done:
    if (rc == -CHIME_ENOMEM)
        err_set(err, CHIME_ENOMEM, "", "out of memory");
    job_free(parsed);
    json_decref(doc);
    free(desc);
    free(file);
    return rc;
}

/* A line that is not blank, a comment or a setting: a job, or an error. */
static int job_line(struct crontab_ctx *x, size_t line, const char *text, size_t n, struct err *err)
{
    const char *p = text, *end = text + n, *tok;
    struct job_line j = { 0 };
    struct err why = { 0 };
    struct crontab_entry *e;
    char name[JOB_NAME_MAX + 1], q[64];
    json_t *doc = NULL;
    size_t skip;
    int rc = 0, nf = 0;

    while (p < end && is_blank(*p))
        p++;
    if (end > p && end[-1] == '\r') {
        err_set(&why, CHIME_EINVAL, "line",
                "ends with a carriage return: the file has DOS line endings, and cron would run "
                "it as part of the command (convert it with dos2unix)");
        goto bad;
    }
    if ((skip = utf8_prefix(p, (size_t)(end - p))) != (size_t)(end - p)) {
        err_set(&why, CHIME_EINVAL, "line", "is not UTF-8 (at column %zu)",
                (size_t)(p - text) + skip + 1);
        goto bad;
    }
    if (*p == '-') {
        /* cronie: no syslog line for this job */
        p++;
        snprintf(j.note, sizeof j.note, "the '-' before the line (no syslog line) is dropped");
    }
    if (p < end && *p == '@') {
        tok = p;
        while (p < end && !is_blank(*p))
            p++;
        for (size_t i = 0; i < sizeof macro_names / sizeof macro_names[0]; i++)
            if (strlen(macro_names[i]) == (size_t)(p - tok)
                && !memcmp(macro_names[i], tok, (size_t)(p - tok)))
                j.macro = macro_names[i];
        if (!j.macro) {
            err_set(&why, CHIME_EINVAL, "schedule",
                    "'%s' is not a cron macro (@reboot @yearly @annually @monthly @weekly "
                    "@daily @midnight @hourly)",
                    err_quote(tok, (size_t)(p - tok), q, sizeof q));
            goto bad;
        }
        if (!strcmp(j.macro, "@reboot"))
            snprintf(j.note + strlen(j.note), sizeof j.note - strlen(j.note), "%s%s",
                     j.note[0] ? "; " : "", "@reboot runs when the chime daemon starts");
    } else {
        for (nf = 0; nf < CRONTAB_FIELDS; nf++) {
            while (p < end && is_blank(*p))
                p++;
            if (p == end)
                break;
            j.fields[nf] = p;
            while (p < end && !is_blank(*p))
                p++;
            j.field_len[nf] = (size_t)(p - j.fields[nf]);
        }
        if (nf < CRONTAB_FIELDS) {
            err_set(&why, CHIME_EINVAL, "line",
                    "has %d field%s: want 5 time fields, %sa command, or NAME=VALUE", nf,
                    nf == 1 ? "" : "s", x->o->format == CRONTAB_SYSTEM ? "a user, " : "");
            goto bad;
        }
    }
    while (p < end && is_blank(*p))
        p++;
    if (p < end && *p == '*') {
        err_set(&why, CHIME_EINVAL, x->o->format == CRONTAB_SYSTEM ? "user" : "command",
                "starts with '*': cron has 5 time fields, not 6 (and no seconds)");
        goto bad;
    }
    if (x->o->format == CRONTAB_SYSTEM) {
        tok = p;
        while (p < end && !is_blank(*p))
            p++;
        if (p == tok) {
            err_set(&why, CHIME_EINVAL, "user",
                    "missing: a line of a system crontab has a user before the command "
                    "(or use --user)");
            goto bad;
        }
        if (user_check(tok, (size_t)(p - tok), &why) < 0)
            goto bad;
        if (!(j.user = dup_n(tok, (size_t)(p - tok))))
            goto nomem;
        while (p < end && is_blank(*p))
            p++;
    }
    if (p == end) {
        err_set(&why, CHIME_EINVAL, "command", "missing: nothing after the %s",
                x->o->format == CRONTAB_SYSTEM ? "user" : "time fields");
        goto bad;
    }
    /* cronie reads a command that starts with '-' as its options: "-n"
     * and a blank (mail the output only when the command fails), once */
    for (bool mail_on_error = false; *p == '-';) {
        if (p + 1 == end || p[1] != 'n' || mail_on_error) {
            tok = p;
            while (p < end && !is_blank(*p))
                p++;
            err_set(&why, CHIME_EINVAL, "command",
                    "'%s' is not a cron option: cron reads a command that starts with '-' as "
                    "options, and knows '-n' once",
                    err_quote(tok, (size_t)(p - tok), q, sizeof q));
            goto bad;
        }
        if (p + 2 == end || !is_blank(p[2])) {
            err_set(&why, CHIME_EINVAL, "command", "'-n' is not followed by a blank");
            goto bad;
        }
        mail_on_error = true;
        for (p += 2; p < end && is_blank(*p); p++)
            ;
        if (p == end) {
            err_set(&why, CHIME_EINVAL, "command", "missing: nothing after '-n'");
            goto bad;
        }
        snprintf(j.note + strlen(j.note), sizeof j.note - strlen(j.note), "%s%s",
                 j.note[0] ? "; " : "",
                 "the '-n' option (mail only when the command fails) is dropped: chime sends "
                 "no mail, and keeps every run's output");
    }
    if (split_input(p, (size_t)(end - p), &j) < 0)
        goto nomem;
    if ((rc = job_schedule(&j, text, n, &why)) < 0) {
        if (rc == -CHIME_ENOMEM)
            goto nomem;
        goto bad;
    }
    job_name(x, j.command, line, name, sizeof name);
    if ((rc = job_doc(x, &j, line, text, n, name, &doc, &why)) < 0) {
        if (rc == -CHIME_ENOMEM)
            goto nomem;
        goto bad;
    }
    if ((rc = crontab_add(x, line, CRONTAB_JOB, j.note[0] ? j.note : NULL, &e, err)) < 0)
        goto done;
    e->doc = doc;
    doc = NULL;
    if (!(e->name = strdup(name)))
        goto nomem;
    e->schedule = j.schedule;
    e->user = j.user;
    j.schedule = j.user = NULL;
    rc = 0;
    goto done;
bad:
    rc = crontab_add_error(x, line, &why, err);
    goto done;
nomem:
    rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
done:
    json_decref(doc);
    free(j.schedule);
    free(j.user);
    free(j.command);
    free(j.input);
    return rc;
}

/* Line LINE, TEXT (N bytes, without its newline; ENDED: it had one). */
static int one_line(struct crontab_ctx *x, size_t line, const char *text, size_t n,
                    bool ended, struct err *err)
{
    const char *p = text, *nul, *end = text + n;
    char *name = NULL, *value = NULL;
    struct err why = { 0 };
    int rc;

    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p == '#')
        return 0;       /* blank, or a comment: of any length, as cron reads them */
    if (!ended)
        /* cronie reads a line only up to its newline: a last line without
         * one is an error to cron, and never runs (crontab -e refuses it) */
        return crontab_add(x, line, CRONTAB_SKIPPED,
                           "the last line has no newline at its end: cron ignores it, and so "
                           "does the import (end it with a newline to import it)",
                           NULL, err);
    if (n > CRONTAB_LINE_MAX) {
        err_set(&why, CHIME_ETOOBIG, "line", "is %zu bytes long, more than %d", n,
                CRONTAB_LINE_MAX);
        return crontab_add_error(x, line, &why, err);
    }
    if ((nul = memchr(text, '\0', n))) {
        err_set(&why, CHIME_EINVAL, "line", "has a NUL byte at column %zu",
                (size_t)(nul - text) + 1);
        return crontab_add_error(x, line, &why, err);
    }
    rc = crontab_env_parse(p, (size_t)(end - p), &name, &value);
    if (rc < 0)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    if (rc == 0)
        return job_line(x, line, text, n, err);
    if (utf8_prefix(p, (size_t)(end - p)) != (size_t)(end - p)) {
        err_set(&why, CHIME_EINVAL, "env", "the setting is not UTF-8");
        rc = crontab_add_error(x, line, &why, err);
    } else {
        rc = crontab_env_line(x, line, name, value, err);
    }
    free(name);
    free(value);
    return rc;
}

int crontab_convert(const char *text, size_t len, const struct crontab_opts *o,
                    struct crontab **ret, struct err *err)
{
    struct crontab_ctx x = { .o = o };
    const char *p = text, *end = text + len, *base;
    size_t line = 0, jobs = 0, errors = 0;
    char ns[JOB_NAME_MAX + 1], nm[JOB_NAME_MAX + 1];
    int rc;

    if (len > CRONTAB_TEXT_MAX)
        return err_set(err, CHIME_ETOOBIG, "file", "is %zu bytes, more than %zu KiB", len,
                       CRONTAB_TEXT_MAX >> 10);
    x.ns = o->ns ? o->ns : "default";
    x.source = o->source ? o->source : "-";
    if (job_id_parse("x", x.ns, ns, nm, err) < 0)
        return err_set(err, CHIME_EINVAL, "namespace", "'%.64s' is not a namespace name", x.ns);
    for (base = x.source + strlen(x.source); base > x.source && base[-1] != '/'; base--)
        ;
    if (!strcmp(x.source, "-"))
        base = "stdin";
    if (!name_piece(base, strlen(base), x.stem, NAME_STEM_MAX))
        snprintf(x.stem, sizeof x.stem, "crontab");
    snprintf(x.shell, sizeof x.shell, "%s", CRON_SHELL);
    x.out = calloc(1, sizeof *x.out);
    x.env = json_pack("{s:s, s:s}", "SHELL", CRON_SHELL, "PATH", CRON_PATH);
    if (!x.out || !x.env) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
        goto fail;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), before = x.out->n;

        line++;
        rc = one_line(&x, line, p, n, nl != NULL, err);
        if (rc < 0)
            goto fail;
        if (x.out->n > before) {
            jobs += x.out->e[before].kind == CRONTAB_JOB;
            errors += x.out->e[before].kind == CRONTAB_ERROR;
        }
        if (jobs > CRONTAB_JOBS_MAX) {
            rc = err_set(err, CHIME_ETOOBIG, "file", "holds more than %d jobs (line %zu)",
                         CRONTAB_JOBS_MAX, line);
            goto fail;
        }
        if (errors > CRONTAB_ERRORS_MAX) {
            rc = err_set(err, CHIME_ETOOBIG, "file",
                         "more than %d lines cannot be converted (line %zu): is it a crontab?",
                         CRONTAB_ERRORS_MAX, line);
            goto fail;
        }
        p = nl ? nl + 1 : end;
    }
    json_decref(x.env);
    *ret = x.out;
    return 0;
fail:
    json_decref(x.env);
    crontab_free(x.out);
    return rc;
}
