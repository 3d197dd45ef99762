/* crontab_cmd.c: `chime import-crontab FILE`, crontab.c's jobs into the
 * daemon.
 *
 * All or nothing, as crontab(1) installs a file: when any line cannot be
 * converted, nothing is sent and every bad line is told (exit 2). Otherwise
 * the import goes in two passes. The first only reads and checks: each
 * job's current document (to tell new, changed and unchanged jobs apart)
 * and, for the new and changed ones, the daemon's own validation of the
 * document (POST /api/v1/preview), so that a document the daemon refuses
 * stops the import before anything is written. The second writes: POST for
 * a new job (which fails rather than overwrite one created meanwhile), PUT
 * with If-Match for a changed one (which fails rather than overwrite an
 * edit made meanwhile). An unchanged job is not written at all, so
 * importing the same file again changes nothing, not even a version. A
 * job paused by hand stays paused. Only the daemon failing between two
 * writes can leave an import half done; the report says which jobs were
 * written, and running the import again finishes it. */
#include "cli/cli.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/client.h"
#include "cli/cmdline.h"
#include "cli/crontab.h"
#include "cli/jobs.h"
#include "job/job.h"
#include "util/err.h"
#include "../banned.h"

#define CMD "import-crontab"

/* What became of one job. */
enum fate {
    FATE_PENDING,       /* not written (yet) */
    FATE_NEW,           /* first pass: the daemon has no such job */
    FATE_CHANGED,       /* first pass: it has another document */
    FATE_CREATED,
    FATE_UPDATED,
    FATE_UNCHANGED,
    FATE_FAILED,        /* the daemon refused it or failed */
};

static const char *const fate_names[] = {
    [FATE_PENDING] = "not imported", [FATE_NEW] = "not imported",
    [FATE_CHANGED] = "not imported", [FATE_CREATED] = "created",
    [FATE_UPDATED] = "updated",      [FATE_UNCHANGED] = "unchanged",
    [FATE_FAILED] = "failed",
};

struct plan {
    enum fate fate;
    char *text;             /* the canonical document to send, compact */
    char version[24];       /* FATE_CHANGED: the version it replaces */
    char why[300];          /* FATE_FAILED: the daemon's answer */
    bool refused;           /* the daemon refused the document as invalid */
};

struct run {
    const struct crontab *c;
    struct plan *plans;     /* one per entry; used for jobs */
    const char *source;
    const char *ns;
    enum crontab_format format;
    bool dry_run, json;
    bool wrote;             /* some job was created or updated */
    bool complete;          /* every job is in the daemon */
};

/* ---- the report ---- */

static const char *kind_names[] = {
    [CRONTAB_JOB] = "job", [CRONTAB_ENV] = "env", [CRONTAB_SKIPPED] = "skipped",
    [CRONTAB_ERROR] = "error",
};

static json_t *report_json(const struct run *r)
{
    json_t *lines = json_array(), *out;
    size_t n = crontab_count(r->c), counts[FATE_FAILED + 1] = { 0 };

    for (size_t i = 0; i < n; i++) {
        const struct crontab_entry *e = crontab_entry(r->c, i);
        const struct plan *p = &r->plans[i];
        json_t *l = json_pack("{s:I, s:s}", "line", (json_int_t)e->line, "kind",
                              kind_names[e->kind]);

        if (!l)
            continue;
        if (e->kind == CRONTAB_JOB) {
            char id[CLI_JOB_ID_MAX];

            snprintf(id, sizeof id, "%s/%s", r->ns, e->name);
            json_object_set_new(l, "job", json_string(id));
            json_object_set_new(l, "schedule", json_string(e->schedule));
            json_object_set_new(l, "user", e->user ? json_string(e->user) : json_null());
            json_object_set_new(l, "note", e->what ? json_string(e->what) : json_null());
            if (r->dry_run) {
                json_object_set_new(l, "status", json_string("converted"));
                json_object_set(l, "document", e->doc);
            } else {
                json_object_set_new(l, "status", json_string(fate_names[p->fate]));
                if (p->fate == FATE_FAILED)
                    json_object_set_new(l, "reason", json_string(p->why));
            }
            counts[p->fate]++;
        } else {
            json_object_set_new(l, e->kind == CRONTAB_ENV ? "setting" : "reason",
                                json_string(e->what ? e->what : ""));
        }
        json_array_append_new(lines, l);
    }
    out = json_pack("{s:s, s:s, s:s, s:b, s:b, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "file",
                    r->source, "format", r->format == CRONTAB_SYSTEM ? "system" : "user",
                    "namespace", r->ns, "dry_run", r->dry_run, "imported", r->complete, "lines",
                    lines, "summary", "jobs", (json_int_t)crontab_tally(r->c, CRONTAB_JOB),
                    "created", (json_int_t)counts[FATE_CREATED], "updated",
                    (json_int_t)counts[FATE_UPDATED], "unchanged",
                    (json_int_t)counts[FATE_UNCHANGED], "skipped",
                    (json_int_t)crontab_tally(r->c, CRONTAB_SKIPPED), "errors",
                    (json_int_t)crontab_tally(r->c, CRONTAB_ERROR));
    return out;
}

/* Text from the file or the daemon, shown with control bytes escaped. */
static const char *shown(const char *s, char *buf, size_t len)
{
    return err_quote(s, strlen(s), buf, len);
}

static void report_text(const struct run *r)
{
    size_t n = crontab_count(r->c), counts[FATE_FAILED + 1] = { 0 };
    char q[CRONTAB_LINE_MAX + 64], src[200];

    printf("%s: %s format%s, namespace %s\n",
           strcmp(r->source, "-") ? shown(r->source, src, sizeof src) : "standard input",
           r->format == CRONTAB_SYSTEM ? "system" : "user",
           r->format == CRONTAB_SYSTEM ? " (a user column)" : "", r->ns);
    for (size_t i = 0; i < n; i++) {
        const struct crontab_entry *e = crontab_entry(r->c, i);
        const struct plan *p = &r->plans[i];

        printf("line %zu: ", e->line);
        switch (e->kind) {
        case CRONTAB_JOB:
            printf("%s/%s: %s (%s", r->ns, e->name,
                   r->dry_run ? "converted" : fate_names[p->fate], e->schedule);
            if (e->user)
                printf(", user %s", e->user);
            printf(")");
            if (e->what)
                printf("; %s", shown(e->what, q, sizeof q));
            if (p->fate == FATE_FAILED)
                printf(": %s", shown(p->why, q, sizeof q));
            putchar('\n');
            if (r->dry_run) {
                char *doc = json_dumps(e->doc, JSON_INDENT(2));

                if (doc) {
                    for (char *l = doc, *nl; l && *l; l = nl ? nl + 1 : NULL) {
                        nl = strchr(l, '\n');
                        printf("    %.*s\n", (int)(nl ? nl - l : (ptrdiff_t)strlen(l)), l);
                    }
                    free(doc);
                }
            }
            counts[p->fate]++;
            break;
        case CRONTAB_ENV:
            printf("%s\n", shown(e->what, q, sizeof q));
            break;
        case CRONTAB_SKIPPED:
            printf("skipped: %s\n", shown(e->what, q, sizeof q));
            break;
        case CRONTAB_ERROR:
            printf("error: %s\n", shown(e->what, q, sizeof q));
            break;
        }
    }
    if (r->dry_run || crontab_tally(r->c, CRONTAB_ERROR))
        printf("%zu job%s converted (%s)", crontab_tally(r->c, CRONTAB_JOB),
               crontab_tally(r->c, CRONTAB_JOB) == 1 ? "" : "s",
               crontab_tally(r->c, CRONTAB_ERROR) ? "nothing imported" : "dry run: nothing sent");
    else
        printf("%zu job%s: %zu created, %zu updated, %zu unchanged",
               crontab_tally(r->c, CRONTAB_JOB), crontab_tally(r->c, CRONTAB_JOB) == 1 ? "" : "s",
               counts[FATE_CREATED], counts[FATE_UPDATED], counts[FATE_UNCHANGED]);
    printf("; %zu setting%s skipped; %zu error%s\n", crontab_tally(r->c, CRONTAB_SKIPPED),
           crontab_tally(r->c, CRONTAB_SKIPPED) == 1 ? "" : "s",
           crontab_tally(r->c, CRONTAB_ERROR), crontab_tally(r->c, CRONTAB_ERROR) == 1 ? "" : "s");
}

static int report(const struct run *r)
{
    if (r->json) {
        json_t *j = report_json(r);
        int rc = j ? cli_json_print(j) : 1;

        json_decref(j);
        return rc;
    }
    report_text(r);
    return fflush(stdout) ? 1 : 0;
}

/* ---- the daemon ---- */

/* First pass for job entry E: what the daemon holds, and whether it takes
 * the new document. */
static int plan_job(struct client *cl, const struct run *r, const struct crontab_entry *e,
                    struct plan *p, struct err *err)
{
    char path[200];
    struct job *j = NULL;
    json_t *canon = NULL, *view = NULL, *v;
    int rc;

    rc = job_from_json(e->doc, r->ns, &j, err);
    if (rc < 0)
        return rc;
    canon = job_to_json(j);
    job_free(j);
    if (!canon)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    snprintf(path, sizeof path, "/api/v1/jobs/%s/%s", r->ns, e->name);
    rc = client_json(cl, "GET", path, NULL, NULL, &view, err);
    if (rc == -CHIME_ENOTFOUND) {
        p->fate = FATE_NEW;
    } else if (rc < 0) {
        goto done;
    } else if (!json_is_object(view)) {
        rc = err_set(err, CHIME_EIO, "", "the daemon's answer for %s is not a job", path);
        goto done;
    } else {
        v = json_object_get(view, "version");
        if (json_is_integer(v))
            snprintf(p->version, sizeof p->version, "%lld", (long long)json_integer_value(v));
        /* a job paused by hand stays paused */
        json_object_set(canon, "paused", json_is_true(json_object_get(view, "paused"))
                                             ? json_true() : json_false());
        jobs_strip_view(view);
        p->fate = json_equal(canon, view) ? FATE_UNCHANGED : FATE_CHANGED;
    }
    if (!(p->text = json_dumps(canon, JSON_COMPACT))) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    rc = 0;
    if (p->fate != FATE_UNCHANGED) {
        rc = client_json(cl, "POST", "/api/v1/preview?count=1", p->text, NULL, NULL, err);
        /* the daemon's own check said no (an unknown zone there is a 404) */
        if (rc == -CHIME_EINVAL || rc == -CHIME_ENOTFOUND || rc == -CHIME_ETOOBIG)
            p->refused = true;
    }
done:
    json_decref(view);
    json_decref(canon);
    return rc;
}

static int write_job(struct client *cl, const struct run *r, const struct crontab_entry *e,
                     struct plan *p, struct err *err)
{
    char path[200];
    int rc;

    if (p->fate == FATE_UNCHANGED)
        return 0;
    if (p->fate == FATE_NEW) {
        rc = client_json(cl, "POST", "/api/v1/jobs", p->text, NULL, NULL, err);
        p->fate = rc < 0 ? FATE_FAILED : FATE_CREATED;
    } else {
        snprintf(path, sizeof path, "/api/v1/jobs/%s/%s", r->ns, e->name);
        rc = client_json(cl, "PUT", path, p->text, p->version[0] ? p->version : NULL, NULL, err);
        p->fate = rc < 0 ? FATE_FAILED : FATE_UPDATED;
    }
    return rc;
}

/* Both passes; returns the exit status. */
static int import(struct run *r)
{
    struct client *cl = NULL;
    struct err err = { 0 };
    size_t n = crontab_count(r->c), i;
    int rc, status;

    if (client_new(&cl, &err) < 0) {
        cli_error(CMD, &err);
        return 2;
    }
    for (i = 0; i < n; i++) {
        const struct crontab_entry *e = crontab_entry(r->c, i);

        if (e->kind == CRONTAB_JOB && plan_job(cl, r, e, &r->plans[i], &err) < 0)
            goto failed;
    }
    for (i = 0; i < n; i++) {
        const struct crontab_entry *e = crontab_entry(r->c, i);

        if (e->kind != CRONTAB_JOB)
            continue;
        rc = write_job(cl, r, e, &r->plans[i], &err);
        if (r->plans[i].fate == FATE_CREATED || r->plans[i].fate == FATE_UPDATED)
            r->wrote = true;
        if (rc < 0)
            goto failed;
    }
    r->complete = true;
    client_free(cl);
    return report(r);
failed:
    /* the line it happened at tells what it was about */
    {
        const struct crontab_entry *e = crontab_entry(r->c, i);
        struct plan *p = &r->plans[i];
        char why[sizeof err.field + sizeof err.msg + 4];

        if (err.field[0])
            snprintf(why, sizeof why, "%s: %s", err.field, err.msg);
        else
            snprintf(why, sizeof why, "%s", err.msg);
        p->fate = FATE_FAILED;
        snprintf(p->why, sizeof p->why, "%s", why);
        if (p->refused) {
            cli_error(CMD, &err);
            status = 2;
        } else {
            status = client_fail(cl, CMD, &err);
        }
        report(r);
        if (r->wrote)
            fprintf(stderr,
                    "chime " CMD ": the import stopped at line %zu (%s/%s); the jobs before it "
                    "were written: import the file again to finish\n",
                    e->line, r->ns, e->name);
        else
            fprintf(stderr, "chime " CMD ": line %zu (%s/%s): nothing was imported\n", e->line,
                    r->ns, e->name);
    }
    client_free(cl);
    return status;
}

struct import_opts {
    const char *ns;
    bool user, system, dry_run, json;
};

static const struct cmdline_opt rows[] = {
    { "namespace", 0, CMDLINE_STRING, offsetof(struct import_opts, ns), "NS",
      "the jobs' namespace (default: default)", .check = cli_namespace },
    { "user", 0, CMDLINE_FLAG, offsetof(struct import_opts, user), NULL,
      "read FILE in user format" },
    { "system", 0, CMDLINE_FLAG, offsetof(struct import_opts, system), NULL,
      "read FILE in system format; without either, system format is for /etc/crontab and the "
      "files in /etc/cron.d, user format for the rest" },
    { "dry-run", 0, CMDLINE_FLAG, offsetof(struct import_opts, dry_run), NULL,
      "convert and print the job documents; send nothing" },
    { "json", 0, CMDLINE_FLAG, offsetof(struct import_opts, json), NULL, "the report as JSON" },
};

static const struct cmdline_spec spec = {
    CMD, "FILE|-",
    "  FILE  a crontab: user format (5 time fields, then the command), or system\n"
    "        format (5 time fields, a user, then the command); - reads standard input\n",
    rows, sizeof rows / sizeof rows[0],
    "Exit 0 when every job is in the daemon, 2 when a line cannot be converted (nothing\n"
    "is imported) or FILE is bad, 1 when the daemon failed (see docs/cli.md).\n",
    1, 1, "FILE (- for standard input)",
};

int cli_import_crontab(int argc, char **argv)
{
    struct import_opts o = { .ns = "default" };
    struct run r = { 0 };
    struct crontab_opts co = { 0 };
    struct crontab *c = NULL;
    struct err err = { 0 };
    char *text = NULL, *real = NULL;
    int rc;
    size_t len, errors;

    if ((rc = cmdline_parse(&spec, argc, argv, &o)) < 0)
        return cmdline_exit(rc);
    if (o.user && o.system)
        return cli_bad_args(CMD, "--user and --system together");
    r.ns = o.ns;
    r.dry_run = o.dry_run;
    r.json = o.json;
    if (cli_read_file(argv[1], CRONTAB_TEXT_MAX, &text, &len, &err) < 0) {
        cli_error(CMD, &err);
        return 2;
    }
    /* the real path: "/etc/cron.d/x" however it was named, and the same
     * labels and descriptions on every import of the same file */
    if (strcmp(argv[1], "-") != 0)
        real = realpath(argv[1], NULL);
    r.source = real ? real : argv[1];
    r.format = o.system ? CRONTAB_SYSTEM : o.user ? CRONTAB_USER : crontab_format_of(r.source);
    co.format = r.format;
    co.ns = r.ns;
    co.source = r.source;
    if (crontab_convert(text, len, &co, &c, &err) < 0) {
        cli_error(CMD, &err);
        rc = 2;
        goto done;
    }
    r.c = c;
    if (!(r.plans = calloc(crontab_count(c) + 1, sizeof *r.plans))) {
        fprintf(stderr, "chime " CMD ": out of memory\n");
        rc = 1;
        goto done;
    }
    errors = crontab_tally(c, CRONTAB_ERROR);
    if (errors || r.dry_run) {
        rc = report(&r);
        if (errors) {
            fprintf(stderr, "chime " CMD ": %zu line%s cannot be converted; nothing was %s\n",
                    errors, errors == 1 ? "" : "s", r.dry_run ? "sent (dry run)" : "imported");
            rc = 2;
        }
        goto done;
    }
    rc = import(&r);
done:
    if (r.plans)
        for (size_t i = 0; i < crontab_count(c); i++)
            free(r.plans[i].text);
    free(r.plans);
    crontab_free(c);
    free(real);
    free(text);
    return rc;
}
