/* nodeload.c: the daemon's state from disk: the jobs in the store (with
 * the newest fire each handled, for catch-up), the runs the store has as
 * unfinished (re-attached to their holders), and the jobs directory.
 *
 * Jobs are scheduled from their plans (the store's columns, see
 * jobplan.c), read in one scan, so a start-up parses no document; only a
 * job whose plan is missing or stale is parsed from its document, and its
 * plan is written then (docs/sched.md). */
#include "daemon/node_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "exec/exec.h"
#include "job/jobsave.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "../banned.h"

/* Start-up: what node_load_jobs() counts. */
struct load {
    struct node *n;
    int64_t now;
    int from_plans, from_docs, bad;
};

/* The job of E from its document: the one in E, or (when E's plan turned
 * out unusable) the one read by id and version. */
static int job_of_doc(struct node *n, const struct store_job_entry *e, struct job **ret,
                      struct err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (e->doc)
        return job_parse(e->doc, e->doc_len, e->ns, ret, err);
    rc = store_job_doc(n->store, e->id, e->version, &text, &len, err);
    if (rc >= 0)
        rc = job_parse(text, len, e->ns, ret, err);
    free(text);
    return rc;
}

/* Schedules a job read from the store, with the newest fire it handled
 * and the instant its version was written (fires the daemon was down for
 * count from there, the first ones of a job that never fired included):
 * from its plan when the store has the current version's, else from its
 * document (whose plan the engine then hands to op_job_put, which writes
 * it for the next start). */
static int load_job(void *ctx, const struct store_job_entry *e)
{
    struct load *l = ctx;
    struct job *j = NULL;
    struct err err = { 0 };
    bool planned = e->plan && job_from_plan(e->plan, e->ns, e->name, &j, &err) == 0;

    if (!planned && job_of_doc(l->n, e, &j, &err) < 0) {
        log_error("job %s/%s version %lld in the store is invalid (%s: %s): not scheduled",
                  e->ns, e->name, (long long)e->version, err.field, err.msg);
        l->bad++;
        return 0;
    }
    j->paused = e->paused;
    if (sched_job_put(l->n->sched, j, e->id, e->version,
                      e->last_fire_us == STORE_NULL ? INT64_MIN : e->last_fire_us, e->version_us,
                      l->now, &err) < 0) {
        log_error("job %s/%s: %s", e->ns, e->name, err.msg);
        l->bad++;
        return 0;
    }
    if (planned)
        l->from_plans++;
    else
        l->from_docs++;
    return 0;
}

int node_load_jobs(struct node *n, struct err *err)
{
    struct load l = { n, node_now_us(n), 0, 0, 0 };
    int rc;

    n->loading = true;
    rc = store_job_scan(n->store, load_job, &l, err);
    node_plans_flush(n);
    n->loading = false;
    if (rc < 0)
        return rc;
    log_info("%d jobs scheduled (%d from their documents, whose plans are now stored)",
             l.from_plans + l.from_docs, l.from_docs);
    return 0;
}

/* ---- the jobs directory ---- */

#define JOBS_DIR_AUTHOR "jobs-dir"
#define JOBS_DIR_FILE_MAX ((size_t)1024 * 1024)

/* Reads PATH (at most JOBS_DIR_FILE_MAX bytes) into an owned string. */
static char *read_file(const char *path, size_t *ret_len, struct err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len;

    if (!f) {
        err_set(err, CHIME_EIO, "file", "cannot open: %s", strerror(errno));
        return NULL;
    }
    buf = malloc(JOBS_DIR_FILE_MAX + 1);
    len = buf ? fread(buf, 1, JOBS_DIR_FILE_MAX + 1, f) : 0;
    fclose(f);
    if (!buf || len > JOBS_DIR_FILE_MAX) {
        free(buf);
        err_set(err, CHIME_ETOOBIG, "file", "larger than %zu bytes", JOBS_DIR_FILE_MAX);
        return NULL;
    }
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removals: jobs saved from the directory earlier whose file is gone
 * (IDS, N sorted, are the files' jobs). */
static void jobs_dir_removals(struct node *n, struct jobsave *b, char **ids, size_t nids)
{
    struct store_job_filter f = { 0 };
    struct store_job_page page;
    char cursor[STORE_CURSOR_MAX] = "";

    f.limit = STORE_LIMIT_MAX;
    do {
        f.cursor = cursor;
        if (store_job_list(n->store, &f, &page, NULL) < 0)
            return;
        for (size_t i = 0; i < page.n; i++) {
            const struct store_job *sj = &page.items[i];
            char id[ID_LEN], *key = id;

            if (!sj->author || strcmp(sj->author, JOBS_DIR_AUTHOR) != 0)
                continue;
            snprintf(id, sizeof id, "%s/%s", sj->ns, sj->name);
            if (!bsearch(&key, ids, nids, sizeof *ids, by_text))
                jobsave_remove(b, sj->ns, sj->name, NULL, NULL);
        }
        snprintf(cursor, sizeof cursor, "%s", page.next_cursor);
        store_job_page_release(&page);
    } while (cursor[0]);
}

/* Applies every *.json file of the jobs directory, as one save
 * (jobsave.h, each file on its own): new and changed jobs are saved (a
 * new version only when the document changed) and scheduled; jobs saved
 * from the directory earlier whose file is gone are removed. A bad file
 * is reported with its path and field and changes nothing; while a file
 * cannot be read as a job (it may be a saved job's), nothing is removed.
 * A job that exists keeps its paused state: pause and resume are the
 * operator's, not the file's. */
void node_apply_jobs_dir(struct node *n)
{
    struct jobsave_options so = { .store = n->store, .check = node_check_channels, .ctx = n,
                                  .secret_key = n->secret_key, .author = JOBS_DIR_AUTHOR,
                                  .flags = JOBSAVE_EACH, .now_us = node_now_us(n) };
    DIR *d = opendir(n->opt.jobs_dir);
    struct jobsave *b = NULL;
    struct dirent *e;
    struct err err = { 0 };
    char **ids = NULL;
    size_t nids = 0, count;
    int added = 0, changed = 0, removed = 0, bad = 0;

    if (!d) {
        log_error("jobs directory %s: %s", n->opt.jobs_dir, strerror(errno));
        return;
    }
    if (jobsave_new(&so, &b, &err) < 0) {
        closedir(d);
        log_error("jobs directory %s: %s", n->opt.jobs_dir, err.msg);
        return;
    }
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name), len;
        char path[PATH_MAX], *text, *where, **more;
        struct job *j = NULL;

        if (nl < 6 || strcmp(e->d_name + nl - 5, ".json") != 0 || e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", n->opt.jobs_dir, e->d_name);
        text = read_file(path, &len, &err);
        if (!text || job_parse(text, len, "default", &j, &err) < 0) {
            log_error("jobs directory: %s: %s%s%s", path, err.field, err.field[0] ? ": " : "",
                      err.msg);
            free(text);
            bad++;
            continue;
        }
        free(text);
        more = realloc(ids, (nids + 1) * sizeof *ids);
        where = strdup(path);
        if (!more || !where || !(more[nids] = malloc(ID_LEN))) {
            ids = more ? more : ids;
            free(where);
            job_free(j);
            log_error("jobs directory: %s: out of memory", path);
            bad++;
            continue;
        }
        ids = more;
        job_id(j, ids[nids++], ID_LEN);
        if (jobsave_put(b, j, 0, true, where, &err) < 0) {
            free(where);
            bad++;
        }
    }
    closedir(d);
    count = jobsave_count(b);
    qsort(ids, nids, sizeof *ids, by_text);
    if (!bad)
        jobs_dir_removals(n, b, ids, nids);
    if (jobsave_check(b, &err) < 0 || jobsave_write(b, &err) < 0)
        log_error("jobs directory %s: %s", n->opt.jobs_dir, err.msg);
    else
        node_jobs_apply(n, b);
    for (size_t i = 0; i < jobsave_count(b); i++) {
        struct jobsave_item *it = jobsave_item(b, i);
        const char *where = it->data ? it->data : it->id;

        if (it->failed) {
            log_error("jobs directory: %s: %s%s%s", where, it->err.field,
                      it->err.field[0] ? ": " : "", it->err.msg);
            bad++;
            continue;
        }
        if (it->engine_failed)
            log_error("jobs directory: %s: %s", where, it->err.msg);
        if (it->act == JOBSAVE_REMOVE) {
            log_info("jobs directory: removed %s", it->id);
            removed++;
        } else if (it->act == JOBSAVE_CREATE || it->act == JOBSAVE_CHANGE) {
            log_info("jobs directory: %s %s (version %lld)",
                     it->act == JOBSAVE_CREATE ? "added" : "changed", it->id,
                     (long long)it->version);
            added += it->act == JOBSAVE_CREATE;
            changed += it->act == JOBSAVE_CHANGE;
        }
    }
    for (size_t i = 0; i < count; i++)
        free(jobsave_item(b, i)->data);
    for (size_t k = 0; k < nids; k++)
        free(ids[k]);
    free(ids);
    jobsave_free(b);
    log_info("jobs directory %s: %d added, %d changed, %d removed, %d bad", n->opt.jobs_dir,
             added, changed, removed, bad);
}
