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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <malloc.h>

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

/* Reads PATH (at most JOBS_DIR_FILE_MAX bytes) into an owned string;
 * its stat into ST: one open, fstat and read of its size and a byte
 * more (a short read is its end), without stdio's buffer. */
static char *read_file(const char *path, struct stat *st, size_t *ret_len, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    size_t len = 0, cap;
    ssize_t got = 1;

    if (fd < 0 || fstat(fd, st) < 0) {
        err_set(err, CHIME_EIO, "file", "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    /* room for the size it has, and a byte more to see it grew past it */
    cap = st->st_size >= 0 && (size_t)st->st_size < JOBS_DIR_FILE_MAX ? (size_t)st->st_size + 1
                                                                       : JOBS_DIR_FILE_MAX + 1;
    for (;;) {
        if (!buf || len == cap) {
            /* it grew since the stat: room up to the limit, and a byte more */
            size_t want = buf ? JOBS_DIR_FILE_MAX + 1 : cap;
            char *more = buf && cap > JOBS_DIR_FILE_MAX ? NULL : realloc(buf, want + 1);

            if (!more)
                break;
            buf = more;
            cap = want;
        }
        got = read(fd, buf + len, cap - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        /* a regular file reads short only at its end: no read of 0 more */
        if (len < cap) {
            got = 0;
            break;
        }
    }
    close(fd);
    if (got < 0) {
        free(buf);
        err_set(err, CHIME_EIO, "file", "cannot read: %s", strerror(errno));
        return NULL;
    }
    if (len > JOBS_DIR_FILE_MAX) {
        free(buf);
        err_set(err, CHIME_ETOOBIG, "file", "larger than %zu bytes", JOBS_DIR_FILE_MAX);
        return NULL;
    }
    if (!buf || got > 0) {
        free(buf);
        err_set(err, CHIME_ENOMEM, "file", "out of memory reading it");
        return NULL;
    }
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* What the jobs directory's index (DATA_DIR/jobs-dir.index) keeps of a
 * file: its stat when it was read, and the job version it left. */
struct dirfile {
    char *name;                  /* the file's, in the directory (owned) */
    uint64_t ino;
    int64_t size, mtime_ns, ctime_ns;
    int64_t version;             /* of its job, as the file left it */
    unsigned seen;               /* of the directory's jobs: SEEN_* (dir_read()) */
    char id[ID_LEN];
};

#define SEEN_SKIPPED 1u          /* a file skipped (unchanged()) names the job */
#define SEEN_READ 2u             /* a file read names the job */

struct dirfiles {
    struct dirfile *v;
    size_t n, cap;
    bool borrow;                 /* the names are others' (not copied, not freed) */
};

static void dirfiles_free(struct dirfiles *d)
{
    bool borrow = d->borrow;

    for (size_t i = 0; !borrow && i < d->n; i++)
        free(d->v[i].name);
    free(d->v);
    *d = (struct dirfiles){ .borrow = borrow };
}

/* Appends a copy of F (its name copied unless D borrows names; a NULL
 * name stays NULL); -1 out of memory. */
static int dirfiles_add(struct dirfiles *d, const struct dirfile *f)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 256;
        struct dirfile *more = realloc(d->v, cap * sizeof *more);

        if (!more)
            return -1;
        d->v = more;
        d->cap = cap;
    }
    d->v[d->n] = *f;
    if (!d->borrow && f->name && !(d->v[d->n].name = strdup(f->name)))
        return -1;
    d->n++;
    return 0;
}

static int64_t ns_of(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void dirfile_stat(struct dirfile *f, const struct stat *st)
{
    f->ino = (uint64_t)st->st_ino;
    f->size = (int64_t)st->st_size;
    f->mtime_ns = ns_of(st->st_mtim);
    f->ctime_ns = ns_of(st->st_ctim);
}

/* A dirfiles' entries by name or by id: open addressing over their
 * positions + 1 (0: empty), at most half full, so a restart's lookups are
 * a hash and a compare each, and nothing is sorted. */
struct dirhash {
    uint32_t *slot;
    size_t mask;
    bool by_id;
};

static uint64_t text_hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);    /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static const char *dirfile_key(const struct dirfile *f, bool by_id)
{
    return by_id ? f->id : f->name;
}

/* Indexes D (whose entries must not move while H is used); false out of
 * memory, and H then finds nothing. */
static bool dirhash_build(struct dirhash *h, const struct dirfiles *d, bool by_id)
{
    size_t cap = 16;

    while (cap < 2 * d->n)
        cap *= 2;
    *h = (struct dirhash){ .mask = cap - 1, .by_id = by_id };
    if (d->n >= UINT32_MAX || !(h->slot = calloc(cap, sizeof *h->slot)))
        return false;
    for (size_t i = 0; i < d->n; i++) {
        size_t k = text_hash(dirfile_key(&d->v[i], by_id)) & h->mask;

        while (h->slot[k])
            k = (k + 1) & h->mask;
        h->slot[k] = (uint32_t)i + 1;
    }
    return true;
}

/* D's first entry whose name (or id) is KEY, or NULL. */
static struct dirfile *dirhash_find(const struct dirhash *h, const struct dirfiles *d,
                                    const char *key)
{
    if (!h->slot)
        return NULL;
    for (size_t k = text_hash(key) & h->mask; h->slot[k]; k = (k + 1) & h->mask) {
        struct dirfile *f = &d->v[h->slot[k] - 1];

        if (strcmp(dirfile_key(f, h->by_id), key) == 0)
            return f;
    }
    return NULL;
}

static void dirhash_free(struct dirhash *h)
{
    free(h->slot);
    *h = (struct dirhash){ 0 };
}

#define INDEX_HEAD "chime jobs-dir index 1 "
_Static_assert(ID_LEN == 128, "index_load() reads an id with %127s");

static void index_path(const struct node *n, char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "%s/jobs-dir.index%s", n->opt.data_dir, suffix);
}

/* The index as the last apply of this directory left it. A missing, foreign or damaged one is empty (or ends at the damage):
 * the files it does not vouch for are read. */
static void index_load(const struct node *n, struct dirfiles *d)
{
    char path[PATH_MAX], line[PATH_MAX + 512];
    FILE *f;

    index_path(n, path, sizeof path, "");
    if (!(f = fopen(path, "r")))
        return;
    if (!fgets(line, sizeof line, f) || strncmp(line, INDEX_HEAD, sizeof INDEX_HEAD - 1) != 0
        || strcspn(line + sizeof INDEX_HEAD - 1, "\n") != strlen(n->opt.jobs_dir)
        || strncmp(line + sizeof INDEX_HEAD - 1, n->opt.jobs_dir, strlen(n->opt.jobs_dir)) != 0) {
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        struct dirfile e = { 0 };
        unsigned long long ino;
        long long size, mt, ct, version;
        int at = 0;
        size_t len = strlen(line);

        if (len == 0 || line[len - 1] != '\n')
            break;
        line[len - 1] = '\0';
        if (sscanf(line, "%llu %lld %lld %lld %lld %127s %n", &ino, &size, &mt, &ct, &version,
                   e.id, &at) != 6 || at == 0 || !line[at] || version <= 0)
            break;
        e.ino = ino;
        e.size = size;
        e.mtime_ns = mt;
        e.ctime_ns = ct;
        e.version = version;
        e.name = line + at;
        if (dirfiles_add(d, &e) < 0)
            break;
    }
    fclose(f);
}

/* Writes D as the index (a new file renamed over the old one). A failure
 * only costs the next apply its skipping. */
static void index_save(const struct node *n, const struct dirfiles *d)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    FILE *f;
    bool ok;

    index_path(n, path, sizeof path, "");
    index_path(n, tmp, sizeof tmp, ".new");
    if (!(f = fopen(tmp, "w"))) {
        log_error("jobs directory: cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    fprintf(f, INDEX_HEAD "%s\n", n->opt.jobs_dir);
    for (size_t i = 0; i < d->n; i++)
        fprintf(f, "%llu %lld %lld %lld %lld %s %s\n", (unsigned long long)d->v[i].ino,
                (long long)d->v[i].size, (long long)d->v[i].mtime_ns, (long long)d->v[i].ctime_ns,
                (long long)d->v[i].version, d->v[i].id, d->v[i].name);
    ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        log_error("jobs directory: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
}

/* One of the directory's jobs: its id and version (no file name). */
static int dir_job(void *ctx, const struct store_job_head *h)
{
    struct dirfile e = { .version = h->version };
    size_t a = strlen(h->ns), b = strlen(h->name);

    if (a + 1 + b >= sizeof e.id)
        return 0;       /* no id of the directory's is this long */
    memcpy(e.id, h->ns, a);
    e.id[a] = '/';
    memcpy(e.id + a + 1, h->name, b + 1);
    return dirfiles_add(ctx, &e) < 0 ? -CHIME_ENOMEM : 0;
}

/* The jobs the directory saved (their current version's author is the
 * jobs directory): "ns/name version", in the store's order; one listing
 * without documents. False when the store could not say. */
static bool dir_jobs(struct node *n, struct dirfiles *ret)
{
    if (store_job_heads(n->store, JOBS_DIR_AUTHOR, dir_job, ret, NULL) < 0) {
        dirfiles_free(ret);
        return false;
    }
    return true;
}

/* Whether file F (named NAME, with stat ST) is the one the index has,
 * whose job is still at the version it left: then it is not read again.
 *
 * The rule: the file's inode, size, mtime and ctime (in ns) are the ones
 * recorded, and the recorded ones were at least JOBS_DIR_SETTLED_NS older
 * than the start of the apply that read the file (index_entry()). Any
 * write to a file changes its ctime, and one made after that apply began
 * gets a later ctime than the recorded one, whatever the filesystem's
 * timestamp granularity (up to 2 s), so an edited file is always read
 * again, a same-size edit within the same clock tick included; a file
 * written too recently to tell is simply read again next time (its
 * document then compares unchanged, and makes no version). */
#define JOBS_DIR_SETTLED_NS ((int64_t)2 * 1000000000)

struct dirapply;
static const struct dirfile *unchanged(struct dirapply *a, const char *name,
                                       const struct stat *st);

/* A file read in this apply: what the batch item carries. */
struct readfile {
    struct dirfile f;   /* name points into path */
    char path[];
};

/* The index entry of item IT (read from a file at the apply that began at
 * START_NS), into D, when the file's job is as the file says and the
 * file's stat is settled (unchanged() above). */
static void index_entry(struct dirfiles *d, const struct jobsave_item *it, int64_t start_ns)
{
    struct readfile *rf = it->data;
    struct dirfile e;

    if (!rf || it->failed || it->engine_failed || it->act == JOBSAVE_REMOVE
        || strchr(rf->f.name, '\n') || strchr(it->id, ' ')
        || rf->f.mtime_ns > start_ns - JOBS_DIR_SETTLED_NS
        || rf->f.ctime_ns > start_ns - JOBS_DIR_SETTLED_NS)
        return;
    e = rf->f;
    e.version = it->act == JOBSAVE_UNCHANGED ? it->cur_version : it->version;
    snprintf(e.id, sizeof e.id, "%s", it->id);
    if (e.version > 0)
        (void)dirfiles_add(d, &e);
}

/* What one apply gathers. */
struct dirapply {
    struct jobsave *b;
    struct dirfiles idx, owned, next; /* the index read; the directory's jobs; the new index */
    struct dirhash idx_names, owned_ids;
    bool have_owned;
    bool twice;                       /* a job named by a file skipped and a file read */
    int bad, skipped;
};

/* Marks the directory's job ID (if it is one) as named by a file, HOW
 * (SEEN_*): the ones no file names are removed. */
static void seen(struct dirapply *a, const char *id, unsigned how)
{
    struct dirfile *o = dirhash_find(&a->owned_ids, &a->owned, id);

    if (!o)
        return;
    if (o->seen & ~how & (SEEN_SKIPPED | SEEN_READ))
        a->twice = true;
    o->seen |= how;
}

static const struct dirfile *unchanged(struct dirapply *a, const char *name,
                                       const struct stat *st)
{
    const struct dirfile *e = dirhash_find(&a->idx_names, &a->idx, name), *o;
    struct dirfile now;

    if (!e)
        return NULL;
    dirfile_stat(&now, st);
    if (now.ino != e->ino || now.size != e->size || now.mtime_ns != e->mtime_ns
        || now.ctime_ns != e->ctime_ns)
        return NULL;
    o = dirhash_find(&a->owned_ids, &a->owned, e->id);
    return o && o->version == e->version ? e : NULL;
}

/* Reads the directory into A: the files the index vouches for are
 * skipped (FULL: none is), the others parsed into the batch. Returns
 * false when a file read names the job of a file skipped, which only a
 * full read tells right (one of them is refused as changed twice). */
static bool dir_read(struct node *n, DIR *d, struct dirapply *a, bool full)
{
    struct dirent *e;
    struct err err = { 0 };
    int dfd = dirfd(d);

    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name), dl = strlen(n->opt.jobs_dir), len;
        const struct dirfile *same;
        struct readfile *rf;
        struct stat st;
        struct job *j = NULL;
        char *text;

        if (nl < 6 || strcmp(e->d_name + nl - 5, ".json") != 0 || e->d_name[0] == '.')
            continue;
        /* a stat relative to the directory, and nothing allocated, for a
         * file skipped */
        if (!full && a->have_owned && a->idx.n && fstatat(dfd, e->d_name, &st, 0) == 0
            && (same = unchanged(a, e->d_name, &st))) {
            seen(a, same->id, SEEN_SKIPPED);
            if (dirfiles_add(&a->next, same) < 0) {
                log_error("jobs directory: %s: out of memory", e->d_name);
                a->bad++;
            }
            a->skipped++;
            continue;
        }
        if (!(rf = malloc(sizeof *rf + dl + nl + 2))) {
            log_error("jobs directory: %s: out of memory", e->d_name);
            a->bad++;
            continue;
        }
        snprintf(rf->path, dl + nl + 2, "%s/%s", n->opt.jobs_dir, e->d_name);
        rf->f = (struct dirfile){ .name = rf->path + dl + 1 };
        text = read_file(rf->path, &st, &len, &err);
        if (!text || job_parse(text, len, "default", &j, &err) < 0) {
            log_error("jobs directory: %s: %s%s%s", rf->path, err.field,
                      err.field[0] ? ": " : "", err.msg);
            free(text);
            free(rf);
            a->bad++;
            continue;
        }
        free(text);
        dirfile_stat(&rf->f, &st);
        job_id(j, rf->f.id, sizeof rf->f.id);
        seen(a, rf->f.id, SEEN_READ);
        if (jobsave_put(a->b, j, 0, true, rf, &err) < 0) {
            free(rf);
            a->bad++;
        }
    }
    return !a->twice;
}

static void dirapply_free(struct dirapply *a)
{
    if (a->b)
        for (size_t i = 0; i < jobsave_count(a->b); i++)
            free(jobsave_item(a->b, i)->data);
    jobsave_free(a->b);
    dirfiles_free(&a->idx);
    dirfiles_free(&a->owned);
    dirfiles_free(&a->next);
    dirhash_free(&a->idx_names);
    dirhash_free(&a->owned_ids);
    *a = (struct dirapply){ 0 };
}

/* Applies every *.json file of the jobs directory, as one save
 * (jobsave.h, each file on its own): new and changed jobs are saved (a
 * new version only when the document changed) and scheduled; jobs saved
 * from the directory earlier whose file is gone are removed. A bad file
 * is reported with its path and field and changes nothing; while a file
 * cannot be read as a job (it may be a saved job's), nothing is removed.
 * A job that exists keeps its paused state: pause and resume are the
 * operator's, not the file's. A file unchanged since the last apply, whose
 * job is still the version it made, is not read (unchanged() tells the
 * rule): a restart with a large directory costs a stat per file and one
 * listing of the directory's jobs without documents (dir_jobs()). With
 * STORE_ONLY the engine is told only of the jobs removed; returns how
 * many jobs were added or changed (for the caller to load). */
int node_apply_jobs_dir(struct node *n, bool store_only)
{
    struct jobsave_options so = { .store = n->store, .check = node_check_channels, .ctx = n,
                                  .secret_key = n->secret_key, .author = JOBS_DIR_AUTHOR,
                                  .flags = JOBSAVE_EACH, .now_us = node_now_us(n) };
    struct dirapply a = { 0 };
    struct timespec start;
    struct err err = { 0 };
    int added = 0, changed = 0, removed = 0, bad, skipped;
    bool saved = false;

    clock_gettime(CLOCK_REALTIME, &start);
    for (int pass = 0; pass < 2; pass++) {
        DIR *d = opendir(n->opt.jobs_dir);
        bool ok;

        if (!d) {
            log_error("jobs directory %s: %s", n->opt.jobs_dir, strerror(errno));
            return 0;
        }
        if (jobsave_new(&so, &a.b, &err) < 0) {
            closedir(d);
            log_error("jobs directory %s: %s", n->opt.jobs_dir, err.msg);
            return 0;
        }
        a.next.borrow = true;   /* its names are the index's and the files' read */
        a.have_owned = dir_jobs(n, &a.owned) && dirhash_build(&a.owned_ids, &a.owned, true);
        index_load(n, &a.idx);
        (void)dirhash_build(&a.idx_names, &a.idx, false); /* out of memory: every file is read */
        ok = dir_read(n, d, &a, pass > 0);
        closedir(d);
        if (ok)
            break;
        dirapply_free(&a);
    }
    /* removals: the directory's jobs whose file is gone */
    for (size_t i = 0; !a.bad && a.have_owned && i < a.owned.n; i++) {
        char *key = a.owned.v[i].id, ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];

        if (!a.owned.v[i].seen && job_id_parse(key, NULL, ns, name, NULL) == 0)
            jobsave_remove(a.b, ns, name, NULL, NULL);
    }
    if (jobsave_check(a.b, &err) < 0 || jobsave_write(a.b, &err) < 0) {
        log_error("jobs directory %s: %s", n->opt.jobs_dir, err.msg);
    } else {
        if (!store_only)
            node_jobs_apply(n, a.b);
        saved = true;
    }
    for (size_t i = 0; i < jobsave_count(a.b); i++) {
        struct jobsave_item *it = jobsave_item(a.b, i);
        const struct readfile *rf = it->data;
        const char *where = rf ? rf->path : it->id;

        if (it->failed) {
            log_error("jobs directory: %s: %s%s%s", where, it->err.field,
                      it->err.field[0] ? ": " : "", it->err.msg);
            a.bad++;
            continue;
        }
        if (it->engine_failed)
            log_error("jobs directory: %s: %s", where, it->err.msg);
        if (it->act == JOBSAVE_REMOVE) {
            if (store_only && saved)
                (void)sched_job_remove(n->sched, it->id, NULL);
            log_info("jobs directory: removed %s", it->id);
            removed++;
        } else if (it->act == JOBSAVE_CREATE || it->act == JOBSAVE_CHANGE) {
            log_info("jobs directory: %s %s (version %lld)",
                     it->act == JOBSAVE_CREATE ? "added" : "changed", it->id,
                     (long long)it->version);
            added += it->act == JOBSAVE_CREATE;
            changed += it->act == JOBSAVE_CHANGE;
        }
        if (saved)
            index_entry(&a.next, it, ns_of(start));
    }
    if (saved)
        index_save(n, &a.next);
    bad = a.bad;
    skipped = a.skipped;
    dirapply_free(&a);
    malloc_trim(0); /* a large directory's documents and trees are gone: give their pages back */
    /* last: the line says the apply has ended (tests and bench/ wait for it) */
    log_info("jobs directory %s: %d added, %d changed, %d removed, %d bad, %d unchanged files "
             "not read", n->opt.jobs_dir, added, changed, removed, bad, skipped);
    return added + changed;
}
