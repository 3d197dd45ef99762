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

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "api/exportdoc.h"
#include "cli/client.h"
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

int cli_export(int argc, char **argv)
{
    static const char usage[] =
        "usage: chime export [--namespace NS] [--include-tokens] [-o FILE]\n"
        "  --namespace NS    only the jobs of namespace NS\n"
        "  --include-tokens  list the API tokens too (name, role, namespaces, expiry; never a\n"
        "                    secret); an import does not make tokens from them\n"
        "  -o FILE           write FILE (replaced whole, atomically) instead of standard output\n";
    static const struct option opts[] = {
        {"namespace", required_argument, NULL, 'n'},
        {"include-tokens", no_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *kv[] = {"namespace", NULL, "tokens", NULL, NULL};
    const char *out = NULL;
    struct client *c = NULL;
    struct err err = {0};
    json_t *doc = NULL;
    char path[400], *text = NULL;
    int ch, rc;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":n:to:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            if (cli_namespace(optarg, &err) < 0) {
                cli_error("export", &err);
                return 2;
            }
            kv[1] = optarg;
            break;
        case 't': kv[3] = "true"; break;
        case 'o': out = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: return cli_bad_option("export", ch, argv);
        }
    }
    if (optind != argc)
        return cli_bad_args("export", "no arguments are taken but options");
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

static int print_plan(const json_t *plan, bool dry_run)
{
    const json_t *items = json_object_get(plan, "items"), *sum = json_object_get(plan, "summary");
    const json_t *it, *w;
    json_int_t other = json_integer_value(json_object_get(plan, "other_namespaces"));
    json_int_t tokens = json_integer_value(json_object_get(plan, "tokens_not_imported"));
    size_t i;

    json_array_foreach(items, i, it) print_item(it, dry_run);
    printf("%s%zu job%s: %lld %s, %lld %s, %lld unchanged, %lld %s\n",
           dry_run ? "dry run, nothing written: " : "", json_array_size(items),
           json_array_size(items) == 1 ? "" : "s",
           (long long)json_integer_value(json_object_get(sum, "create")),
           dry_run ? "to create" : "created",
           (long long)json_integer_value(json_object_get(sum, "change")),
           dry_run ? "to change" : "changed",
           (long long)json_integer_value(json_object_get(sum, "unchanged")),
           (long long)json_integer_value(json_object_get(sum, "remove")),
           dry_run ? "to remove" : "removed");
    if (other > 0)
        fprintf(stderr, "chime import: %lld %s left out\n", (long long)other,
                other == 1 ? "job of another namespace is" : "jobs of other namespaces are");
    if (tokens > 0)
        fprintf(stderr,
                "chime import: the file lists %lld token(s), which are not imported (a token "
                "is made with `chime token create`: its secret is never exported)\n",
                (long long)tokens);
    json_array_foreach(json_object_get(plan, "warnings"), i, w)
    {
        char q[300];

        if (json_is_string(w))
            fprintf(stderr, "chime import: warning: %s\n",
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

int cli_import(int argc, char **argv)
{
    static const char usage[] =
        "usage: chime import FILE|- [--dry-run] [--prune] [--namespace NS] [--json]\n"
        "  FILE            an export file (chime export); - reads standard input\n"
        "  --dry-run       check everything and print the plan; change nothing\n"
        "  --prune         also remove the jobs the file does not have (of NS with\n"
        "                  --namespace, else of every namespace the token sees)\n"
        "  --namespace NS  import only the file's jobs of namespace NS\n"
        "  --json          the daemon's plan as JSON\n"
        "The file is checked whole first, and applied all or nothing.\n";
    static const struct option opts[] = {
        {"dry-run", no_argument, NULL, 'd'},
        {"prune", no_argument, NULL, 'p'},
        {"namespace", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *kv[] = {"dry_run", NULL, "prune", NULL, "namespace", NULL, NULL};
    struct client *c = NULL;
    struct err err = {0};
    json_t *doc = NULL, *plan = NULL;
    json_error_t jerr;
    char path[400], *text = NULL;
    bool json = false, dry_run = false;
    size_t len;
    int ch, rc;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":dpn:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            dry_run = true;
            kv[1] = "true";
            break;
        case 'p': kv[3] = "true"; break;
        case 'n':
            if (cli_namespace(optarg, &err) < 0)
                goto invalid;
            kv[5] = optarg;
            break;
        case 'j': json = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: return cli_bad_option("import", ch, argv);
        }
    }
    if (optind != argc - 1)
        return cli_bad_args("import", optind == argc ? "missing FILE (- for standard input)"
                                                     : "more than one FILE");
    if (cli_read_file(argv[optind], EXPORTDOC_BYTES_MAX, &text, &len, &err) < 0)
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
    rc = json ? cli_json_print(plan) : print_plan(plan, dry_run);
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
