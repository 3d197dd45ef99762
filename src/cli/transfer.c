/* transfer.c: `chime export` and `chime import`, job definitions out of
 * the daemon into one JSON file and back (src/api/exportdoc.h has the
 * file's format).
 *
 * The file is written one job to a line, so that it reads and diffs well
 * under version control, and replaced atomically (a new file renamed over
 * the old one) when -o names it. An import sends the whole file to the
 * daemon, which checks it all and applies it all or nothing in one
 * transaction (POST /api/v1/import); here it is only read, bounded, and
 * checked for JSON syntax so that a typo is told with its line before
 * anything is sent. The daemon's plan is printed job by job, with the
 * fields each change touches. */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "api/exportdoc.h"
#include "cli/client.h"
#include "cli/cmdline.h"
#include "util/err.h"
#include "util/jsondiff.h"
#include "../banned.h"

/* ---- chime export ---- */

/* The export file's text: the envelope, then one job (or token) a line. */
static char *export_text(const json_t *doc)
{
    const char *const parts[] = {"jobs", "tokens"};
    char *head = NULL, *out = NULL;
    size_t len = 0, cap = 0;
    FILE *f = open_memstream(&out, &cap);
    bool ok = f != NULL;

    if (!ok)
        return NULL;
    fprintf(f, "{\"chime_export\": %lld, \"exported_at\": ",
            (long long)json_integer_value(json_object_get(doc, "chime_export")));
    head = json_dumps(json_object_get(doc, "exported_at"), JSON_ENCODE_ANY);
    fputs(head ? head : "null", f);
    free(head);
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        const json_t *a = json_object_get(doc, parts[p]), *v;
        size_t i;

        if (!json_is_array(a))
            continue;
        fprintf(f, ",\n \"%s\": [", parts[p]);
        json_array_foreach(a, i, v)
        {
            char *line = json_dumps(v, JSON_COMPACT);

            ok = ok && line;
            fprintf(f, "%s\n  %s", i ? "," : "", line ? line : "null");
            free(line);
        }
        fputs(json_array_size(a) ? "\n ]" : "]", f);
    }
    fputs("}\n", f);
    if (fclose(f) != 0 || !ok) {
        free(out);
        return NULL;
    }
    (void)len;
    return out;
}

/* Writes TEXT to PATH through a new file renamed over it. */
static int write_atomically(const char *path, const char *text, struct err *err)
{
    char tmp[PATH_MAX];
    size_t len = strlen(text), off = 0;
    int fd;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.partial-XXXXXX", path) >= sizeof tmp)
        return err_set(err, CHIME_EINVAL, "file", "the path is too long");
    fd = mkstemp(tmp);
    if (fd < 0)
        return err_set(err, CHIME_EIO, "file", "cannot write next to %s: %s", path,
                       strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (off < len || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;

        if (off < len)
            close(fd);
        unlink(tmp);
        return err_set(err, CHIME_EIO, "file", "writing %s failed: %s", path, strerror(e));
    }
    return 0;
}

struct export_opts {
    const char *ns, *out;
    bool tokens;
};

static const struct cmdline_opt export_rows[] = {
    { "namespace", 0, CMDLINE_STRING, offsetof(struct export_opts, ns), "NS",
      "only the jobs of namespace NS", .check = cli_namespace },
    { "include-tokens", 0, CMDLINE_FLAG, offsetof(struct export_opts, tokens), NULL,
      "list the API tokens too (name, role, namespaces, expiry; never a secret); an import does "
      "not make tokens from them" },
    { "output", 'o', CMDLINE_STRING, offsetof(struct export_opts, out), "FILE",
      "write FILE (replaced whole, atomically) instead of standard output" },
};

int cli_export(int argc, char **argv)
{
    static const struct cmdline_spec spec = {
        "export", NULL, NULL, export_rows, sizeof export_rows / sizeof export_rows[0], NULL, 0, 0,
        NULL,
    };
    struct export_opts o = { 0 };
    const char *kv[] = {"namespace", NULL, "tokens", NULL, NULL};
    const char *out;
    struct client *c = NULL;
    struct err err = {0};
    json_t *doc = NULL;
    char path[400], *text = NULL;
    int rc = cmdline_parse(&spec, argc, argv, &o);

    if (rc < 0)
        return cmdline_exit(rc);
    kv[1] = o.ns;
    kv[3] = o.tokens ? "true" : NULL;
    out = o.out;
    if (client_path(path, sizeof path, "/api/v1/export", kv, &err) < 0
        || client_new(&c, &err) < 0) {
        rc = client_fail(c, "export", &err);
        goto done;
    }
    if (client_json(c, "GET", path, NULL, NULL, &doc, &err) < 0
        || !json_is_array(json_object_get(doc, "jobs"))) {
        if (!err.code)
            err_set(&err, CHIME_EIO, "", "the daemon's answer is not an export");
        rc = client_fail(c, "export", &err);
        goto done;
    }
    text = export_text(doc);
    if (!text) {
        err_set(&err, CHIME_ENOMEM, "", "out of memory");
        rc = client_fail(NULL, "export", &err);
        goto done;
    }
    if (out && strcmp(out, "-") != 0) {
        if (write_atomically(out, text, &err) < 0) {
            cli_error("export", &err);
            rc = 1;
            goto done;
        }
        size_t n = json_array_size(json_object_get(doc, "jobs"));

        fprintf(stderr, "exported %zu job%s%s to %s\n", n, n == 1 ? "" : "s",
                json_is_array(json_object_get(doc, "tokens")) ? " and the tokens" : "", out);
        rc = 0;
    } else {
        rc = fputs(text, stdout) < 0 || fflush(stdout) != 0 ? 1 : 0;
    }
done:
    free(text);
    json_decref(doc);
    client_free(c);
    return rc;
}

/* ---- chime import ---- */

static void print_item(const json_t *it, bool dry_run)
{
    const char *job = cli_json_str(it, "job"), *act = cli_json_str(it, "action");
    const json_t *v = json_object_get(it, "version"), *nv = json_object_get(it, "new_version");
    const json_t *changes = json_object_get(it, "changes"), *ch;
    char ver[64] = "";
    size_t i;

    if (!job || !act)
        return;
    if (json_is_integer(v) && json_is_integer(nv) && json_integer_value(v) != json_integer_value(nv))
        snprintf(ver, sizeof ver, " (version %lld -> %lld)", (long long)json_integer_value(v),
                 (long long)json_integer_value(nv));
    else if (json_is_integer(v))
        snprintf(ver, sizeof ver, " (version %lld)", (long long)json_integer_value(v));
    else if (json_is_integer(nv))
        snprintf(ver, sizeof ver, " (version %lld)", (long long)json_integer_value(nv));
    (void)dry_run;
    printf("%-9s  %s%s\n", act, job, ver);
    json_array_foreach(changes, i, ch)
    {
        char *line = jsondiff_line(ch);

        if (line)
            printf("    %s\n", line);
        free(line);
    }
}

/* The plan as CMD ("import", "apply") tells it; REMOVALS: with the count
 * of removals (an apply never removes). */
static int print_plan(const json_t *plan, bool dry_run, const char *cmd, bool removals)
{
    const json_t *items = json_object_get(plan, "items"), *sum = json_object_get(plan, "summary");
    const json_t *it, *w;
    json_int_t other = json_integer_value(json_object_get(plan, "other_namespaces"));
    json_int_t tokens = json_integer_value(json_object_get(plan, "tokens_not_imported"));
    size_t i;

    json_array_foreach(items, i, it) print_item(it, dry_run);
    printf("%s%zu job%s: %lld %s, %lld %s, %lld unchanged", dry_run ? "dry run, nothing written: " : "",
           json_array_size(items), json_array_size(items) == 1 ? "" : "s",
           (long long)json_integer_value(json_object_get(sum, "create")),
           dry_run ? "to create" : "created",
           (long long)json_integer_value(json_object_get(sum, "change")),
           dry_run ? "to change" : "changed",
           (long long)json_integer_value(json_object_get(sum, "unchanged")));
    if (removals)
        printf(", %lld %s", (long long)json_integer_value(json_object_get(sum, "remove")),
               dry_run ? "to remove" : "removed");
    putchar('\n');
    if (other > 0)
        fprintf(stderr, "chime %s: %lld %s left out\n", cmd, (long long)other,
                other == 1 ? "job of another namespace is" : "jobs of other namespaces are");
    if (tokens > 0)
        fprintf(stderr,
                "chime %s: the file lists %lld token(s), which are not imported (a token "
                "is made with `chime token create`: its secret is never exported)\n",
                cmd, (long long)tokens);
    json_array_foreach(json_object_get(plan, "warnings"), i, w)
    {
        char q[300];

        if (json_is_string(w))
            fprintf(stderr, "chime %s: warning: %s\n", cmd,
                    err_quote(json_string_value(w), json_string_length(w), q, sizeof q));
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Every error of a refused file, one line each; the first is the one
 * client_fail() tells, so it is not told twice. */
static void print_errors(const struct client *c)
{
    const json_t *errors = json_object_get(client_problem(c), "errors"), *e;
    size_t i;

    json_array_foreach(errors, i, e)
    {
        const char *field = cli_json_str(e, "field"), *detail = cli_json_str(e, "detail");
        char qf[80], qd[300];

        if (i == 0 || !detail)
            continue;
        fprintf(stderr, "chime import: %s%s%s\n", field && *field ? err_quote(field, 200, qf, sizeof qf) : "",
                field && *field ? ": " : "", err_quote(detail, strlen(detail), qd, sizeof qd));
    }
}

/* The options of chime import and chime apply. */
struct transfer_opts {
    const char *ns;
    bool dry_run, prune, json;
};

int cli_import(int argc, char **argv)
{
    static const struct cmdline_opt rows[] = {
        { "dry-run", 0, CMDLINE_FLAG, offsetof(struct transfer_opts, dry_run), NULL,
          "check everything and print the plan; change nothing" },
        { "prune", 0, CMDLINE_FLAG, offsetof(struct transfer_opts, prune), NULL,
          "also remove the jobs the file does not have (of NS with --namespace, else of every "
          "namespace the token sees)" },
        { "namespace", 0, CMDLINE_STRING, offsetof(struct transfer_opts, ns), "NS",
          "import only the file's jobs of namespace NS", .check = cli_namespace },
        { "json", 0, CMDLINE_FLAG, offsetof(struct transfer_opts, json), NULL,
          "the daemon's plan as JSON" },
    };
    static const struct cmdline_spec spec = {
        "import", "FILE|-", "  FILE  an export file (chime export); - reads standard input\n",
        rows, sizeof rows / sizeof rows[0],
        "The file is checked whole first, and applied all or nothing.\n", 1, 1,
        "FILE (- for standard input)",
    };
    struct transfer_opts o = { 0 };
    const char *kv[] = {"dry_run", NULL, "prune", NULL, "namespace", NULL, NULL};
    struct client *c = NULL;
    struct err err = {0};
    json_t *doc = NULL, *plan = NULL;
    json_error_t jerr;
    char path[400], *text = NULL;
    bool json, dry_run;
    size_t len;
    int rc = cmdline_parse(&spec, argc, argv, &o);

    if (rc < 0)
        return cmdline_exit(rc);
    json = o.json;
    dry_run = o.dry_run;
    kv[1] = o.dry_run ? "true" : NULL;
    kv[3] = o.prune ? "true" : NULL;
    kv[5] = o.ns;
    if (cli_read_file(argv[1], EXPORTDOC_BYTES_MAX, &text, &len, &err) < 0)
        goto invalid;
    /* a look first: a file that is no JSON at all is told here, with its line */
    if (memchr(text, '\0', len)) {
        err_set(&err, CHIME_EINVAL, "file", "a NUL byte: this is not a JSON export file");
        goto invalid;
    }
    doc = json_loadb(text, len, 0, &jerr);
    if (!doc) {
        err_set(&err, CHIME_EINVAL, "file", "not JSON: line %d, column %d: %s", jerr.line,
                jerr.column, jerr.text);
        goto invalid;
    }
    if (client_path(path, sizeof path, "/api/v1/import", kv, &err) < 0
        || client_new(&c, &err) < 0)
        goto invalid;
    if (client_json(c, "POST", path, text, NULL, &plan, &err) < 0
        || !json_is_array(json_object_get(plan, "items"))) {
        if (!err.code)
            err_set(&err, CHIME_EIO, "", "the daemon's answer is not a plan");
        rc = client_fail(c, "import", &err);
        print_errors(c);
        if (rc != 0 && !dry_run)
            fputs("chime import: nothing was imported\n", stderr);
        goto done;
    }
    rc = json ? cli_json_print(plan) : print_plan(plan, dry_run, "import", true);
    goto done;
invalid:
    cli_error("import", &err);
    rc = 2;
done:
    free(text);
    json_decref(doc);
    json_decref(plan);
    client_free(c);
    return rc;
}

/* ---- chime apply ----
 *
 * Job documents as people keep them (a file, a directory of NAME.json
 * files, standard input) go to the daemon as one import file without
 * --prune: the import's plan (create, change with the fields, unchanged),
 * its checks of everything before anything, and its all-or-nothing
 * transaction serve apply as they serve import. The daemon compares the
 * canonical documents, so applying the same documents again is all
 * "unchanged" and makes no version; a document without "paused" leaves
 * the job paused or running as it is. Errors name the file a document
 * came from rather than its place in the import. */

#define APPLY_WHERE_MAX 300

/* The job documents an apply sends, and where each came from. */
struct apply {
    json_t *jobs;   /* the documents, in order */
    char **where;   /* per document: "jobs/a.json", "all.json[2]", "standard input" */
    size_t n, cap;
    size_t bytes;   /* of every file read */
    size_t errors;  /* told so far */
};

static void apply_error(struct apply *a, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void apply_error(struct apply *a, const char *where, const char *fmt, ...)
{
    char msg[400], q[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    fprintf(stderr, "chime apply: %s: %s\n", err_quote(where, strlen(where), q, sizeof q), msg);
    a->errors++;
}

/* Appends DOC (taken) read from WHERE; -1 when out of memory. */
static int apply_add(struct apply *a, json_t *doc, const char *where)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        char **more = realloc(a->where, cap * sizeof *more);

        if (!more) {
            json_decref(doc);
            return -1;
        }
        a->where = more;
        a->cap = cap;
    }
    if (!(a->where[a->n] = strdup(where)) || json_array_append_new(a->jobs, doc) < 0) {
        free(a->where[a->n]);
        return -1;
    }
    a->n++;
    return 0;
}

/* Reads the file at PATH ("-": standard input), called WHERE: one job
 * document, or an array of them. Errors are told and counted; -1 only
 * when out of memory. */
static int apply_read(struct apply *a, const char *path, const char *where)
{
    struct err err = {0};
    json_error_t jerr;
    json_t *doc, *v;
    char *text = NULL, at[APPLY_WHERE_MAX + 32];
    size_t len, i;
    int rc = 0;

    if (cli_read_file(path, EXPORTDOC_BYTES_MAX, &text, &len, &err) < 0) {
        fprintf(stderr, "chime apply: %s\n", err.msg);
        a->errors++;
        return err.code == CHIME_ENOMEM ? -1 : 0;
    }
    a->bytes += len;
    if (memchr(text, '\0', len)) {
        apply_error(a, where, "a NUL byte: not a JSON job document");
    } else if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr))) {
        apply_error(a, where, "not JSON: line %d, column %d: %s", jerr.line, jerr.column,
                    jerr.text);
    } else if (json_is_object(doc)) {
        rc = apply_add(a, doc, where);
    } else if (json_is_array(doc)) {
        json_array_foreach(doc, i, v)
        {
            snprintf(at, sizeof at, "%s[%zu]", where, i);
            if (!json_is_object(v))
                apply_error(a, at, "not a job document (a JSON object)");
            else if ((rc = apply_add(a, json_incref(v), at)) < 0)
                break;
        }
        json_decref(doc);
    } else {
        apply_error(a, where, "not a job document: a JSON object, or an array of them");
        json_decref(doc);
    }
    free(text);
    return rc;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Reads every *.json file of directory DIR, in name order; anything else
 * in it is an error (a stray file is more likely a mistake than not). */
static int apply_dir(struct apply *a, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, path[PATH_MAX];
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d) {
        apply_error(a, dir, "cannot read the directory: %s", strerror(errno));
        return 0;
    }
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == EXPORTDOC_JOBS_MAX) {
            apply_error(a, dir, "more than %d files", EXPORTDOC_JOBS_MAX);
            break;
        }
        if (n == cap) {
            char **more = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *more);

            if (!more) {
                rc = -1;
                break;
            }
            names = more;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t len = strlen(names[i]);
        struct stat st;

        if ((size_t)snprintf(path, sizeof path, "%s%s%s", dir,
                             dir[strlen(dir) - 1] == '/' ? "" : "/", names[i])
            >= sizeof path) {
            apply_error(a, names[i], "the path is too long");
            continue;
        }
        if (len <= 5 || strcmp(names[i] + len - 5, ".json") != 0 || stat(path, &st) < 0
            || !S_ISREG(st.st_mode)) {
            apply_error(a, path, "not a *.json file: a directory to apply holds job documents "
                                 "(NAME.json) and nothing else");
            continue;
        }
        rc = apply_read(a, path, path);
        if (a->bytes > EXPORTDOC_BYTES_MAX) {
            apply_error(a, dir, "its files are larger than %zu MiB together",
                        EXPORTDOC_BYTES_MAX >> 20);
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* A refused apply: every error of the daemon's problem document, each
 * named by the file its document came from. Returns 0 when there was
 * none to tell (client_fail() tells the error then). */
static int apply_told(const struct apply *a, const struct client *c)
{
    const json_t *errors = json_object_get(client_problem(c), "errors"), *e;
    size_t i, told = 0;

    json_array_foreach(errors, i, e)
    {
        const json_t *idx = json_object_get(e, "index");
        const char *field = cli_json_str(e, "field"), *detail = cli_json_str(e, "detail");
        const char *where = "the documents";
        char qf[80], qd[300], qw[300];

        if (!detail)
            continue;
        if (json_is_integer(idx) && (size_t)json_integer_value(idx) < a->n) {
            where = a->where[json_integer_value(idx)];
            /* "jobs[3].schedule.cron": the file is named instead */
            if (field && !strncmp(field, "jobs[", 5))
                field = strchr(field, ']') ? strchr(field, ']') + 1 : field;
            if (field && *field == '.')
                field++;
        }
        fprintf(stderr, "chime apply: %s: %s%s%s\n", err_quote(where, strlen(where), qw, sizeof qw),
                field && *field ? err_quote(field, strlen(field), qf, sizeof qf) : "",
                field && *field ? ": " : "", err_quote(detail, strlen(detail), qd, sizeof qd));
        told++;
    }
    return told > 0;
}

int cli_apply(int argc, char **argv)
{
    static const struct cmdline_opt rows[] = {
        { "dry-run", 0, CMDLINE_FLAG, offsetof(struct transfer_opts, dry_run), NULL,
          "check everything and print the plan; change nothing" },
        { "json", 0, CMDLINE_FLAG, offsetof(struct transfer_opts, json), NULL,
          "the daemon's plan as JSON" },
    };
    static const struct cmdline_spec spec = {
        "apply", "FILE|DIR|-",
        "  FILE  one job document (as chime job add takes), or a JSON array of them\n"
        "  DIR   every NAME.json file in it, one job document each (nothing else may be there)\n"
        "  -     standard input: one job document or an array of them\n",
        rows, sizeof rows / sizeof rows[0],
        "Creates the jobs that do not exist and changes the ones that differ; the rest\n"
        "are unchanged (applying again changes nothing). It never removes a job.\n"
        "Everything is checked first, and applied all or nothing.\n",
        1, 1, "FILE, DIR or - (standard input)",
    };
    struct transfer_opts o = { 0 };
    const char *kv[] = {"dry_run", NULL, NULL};
    struct apply a = {.jobs = json_array()};
    struct client *c = NULL;
    struct err err = {0};
    json_t *body = NULL, *plan = NULL;
    char path[64], *text = NULL;
    bool json, dry_run;
    struct stat st;
    int rc = cmdline_parse(&spec, argc, argv, &o);

    if (rc < 0) {
        json_decref(a.jobs);
        return cmdline_exit(rc);
    }
    json = o.json;
    dry_run = o.dry_run;
    kv[1] = o.dry_run ? "true" : NULL;
    if (!a.jobs) {
        rc = 1;
        goto nomem;
    }
    /* everything read and checked before anything is sent */
    if (strcmp(argv[1], "-") != 0 && stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode))
        rc = apply_dir(&a, argv[1]);
    else
        rc = apply_read(&a, argv[1], strcmp(argv[1], "-") ? argv[1] : "standard input");
    if (rc < 0)
        goto nomem;
    if (a.errors) {
        fputs("chime apply: nothing was applied\n", stderr);
        rc = 2;
        goto done;
    }
    body = json_pack("{s:i, s:O}", "chime_export", EXPORTDOC_FORMAT, "jobs", a.jobs);
    if (!body || !(text = json_dumps(body, JSON_COMPACT)))
        goto nomem;
    if (strlen(text) > EXPORTDOC_BYTES_MAX) {
        fprintf(stderr, "chime apply: the documents are larger than %zu MiB together; "
                        "nothing was applied\n", EXPORTDOC_BYTES_MAX >> 20);
        rc = 2;
        goto done;
    }
    if (client_path(path, sizeof path, "/api/v1/import", kv, &err) < 0
        || client_new(&c, &err) < 0) {
        rc = client_fail(c, "apply", &err);
        goto done;
    }
    if (client_json(c, "POST", path, text, NULL, &plan, &err) < 0
        || !json_is_array(json_object_get(plan, "items"))) {
        if (!err.code)
            err_set(&err, CHIME_EIO, "", "the daemon's answer is not a plan");
        if (apply_told(&a, c))
            rc = err.code == CHIME_EINVAL || err.code == CHIME_ETOOBIG || err.code == CHIME_ERANGE
                     ? 2 : 1;
        else
            rc = client_fail(c, "apply", &err);
        if (!dry_run)
            fputs("chime apply: nothing was applied\n", stderr);
        goto done;
    }
    rc = json ? cli_json_print(plan) : print_plan(plan, dry_run, "apply", false);
    goto done;
nomem:
    fputs("chime apply: out of memory\n", stderr);
    rc = 1;
done:
    for (size_t i = 0; i < a.n; i++)
        free(a.where[i]);
    free(a.where);
    free(text);
    json_decref(a.jobs);
    json_decref(body);
    json_decref(plan);
    client_free(c);
    return rc;
}
