/* jobs_seed.c: fills a data directory with N cron jobs, and measures the
 * daemon's start-up path in process. A helper of bench/memory.py.
 *
 *   jobs_seed seed DIR N [--via-store]
 *       Creates DIR/chime.db (store_open: the daemon's schema and
 *       migrations) and writes jobs job-000001 ... job-N in namespace
 *       "default". Each document is what POST /api/v1/jobs stores: the
 *       request {name, schedule, command} through job_parse(), then
 *       job_to_json() written with JSON_COMPACT (src/api/jobs.c job_save),
 *       and the job's plan columns, which the daemon writes when the job
 *       is put (job_plan_make(), the job_plan op). The rows are written
 *       straight into SQLite with the statements of
 *       src/store/sqlite_schema.c (SQ_JOB_INSERT, SQ_VERSION_INSERT,
 *       SQ_LABELS_INSERT, SQ_JOB_PLAN), 100,000 jobs per transaction,
 *       because store_job_put() commits (and fsyncs) once per job.
 *       --via-store writes each job with store_job_put() and the job_plan
 *       op instead: slow, for checking on a small N that both give the
 *       same rows. --no-plans leaves the plan columns empty: a database as
 *       the previous schema left it, which the daemon's first start
 *       schedules from the documents (and then writes the plans).
 *
 *   jobs_seed probe DIR
 *       Loads DIR's jobs the way the daemon does (src/daemon/nodeload.c
 *       node_load_jobs: store_job_scan(), job_from_plan() or job_parse(),
 *       sched_job_put()) and prints the time of each step and the heap that
 *       stays allocated (mallinfo2), per job.
 *
 * Schedules: "m h * * D" and "m h D * *" with m, h, D varied, every fourth
 * job in a named zone (Europe/Berlin, America/New_York, Asia/Tokyo), the
 * rest in the daemon's default. None fires within a day of the seeding:
 * the weekdays and days of the month of yesterday, today and tomorrow
 * (UTC) are left out, so a measurement is never disturbed by runs.
 *
 * With no arguments it prints its usage and exits 0 (`make bench` runs
 * every bench program bare). */
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "job/job.h"
#include "sched/sched.h"
#include "store/store.h"
#include "time/tz.h"
#include "util/err.h"

#define BATCH 100000

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the jobs ---- */

struct plan {
    int weekdays[7], n_weekdays;   /* allowed days of the week */
    int mdays[31], n_mdays;        /* allowed days of the month, 1-28 */
};

static void plan_init(struct plan *p)
{
    time_t t = time(NULL);
    int bad_wd[3], bad_md[3];

    for (int d = -1; d <= 1; d++) {
        time_t x = t + d * 86400;
        struct tm tm;

        gmtime_r(&x, &tm);
        bad_wd[d + 1] = tm.tm_wday;
        bad_md[d + 1] = tm.tm_mday;
    }
    p->n_weekdays = p->n_mdays = 0;
    for (int w = 0; w < 7; w++)
        if (w != bad_wd[0] && w != bad_wd[1] && w != bad_wd[2])
            p->weekdays[p->n_weekdays++] = w;
    for (int m = 1; m <= 28; m++)
        if (m != bad_md[0] && m != bad_md[1] && m != bad_md[2])
            p->mdays[p->n_mdays++] = m;
}

static const char *const zones[] = { "Europe/Berlin", "America/New_York", "Asia/Tokyo" };

/* The request body of job I (1-based), as a client would POST it. */
static void request(const struct plan *p, long i, char *buf, size_t len)
{
    unsigned long h = (unsigned long)i * 2654435761u;   /* spread the fields */
    int minute = (int)(h % 60), hour = (int)((h / 60) % 24);
    char cron[64], zone[64] = "";

    if (i % 2)
        snprintf(cron, sizeof cron, "%d %d * * %d", minute, hour,
                 p->weekdays[(h / 1440) % (unsigned long)p->n_weekdays]);
    else
        snprintf(cron, sizeof cron, "%d %d %d * *", minute, hour,
                 p->mdays[(h / 1440) % (unsigned long)p->n_mdays]);
    if (i % 4 == 0)
        snprintf(zone, sizeof zone, ",\"timezone\":\"%s\"", zones[(i / 4) % 3]);
    snprintf(buf, len,
             "{\"name\":\"job-%06ld\",\"schedule\":{\"cron\":\"%s\"%s},"
             "\"command\":[\"/bin/true\"]}",
             i, cron, zone);
}

/* The canonical document the API stores for job I: owned, free(); the
 * job it was made from into *RET_JOB (owned, job_free()). */
static char *canonical(const struct plan *p, long i, struct job **ret_job, struct err *err)
{
    char req[256];
    struct job *j = NULL;
    json_t *doc;
    char *text;

    request(p, i, req, sizeof req);
    if (job_parse(req, strlen(req), NULL, &j, err) < 0)
        return NULL;
    doc = job_to_json(j);
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        job_free(j);
        err_set(err, CHIME_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    *ret_job = j;
    return text;
}

/* ---- seed ---- */

static int seed_via_store(struct store *s, const struct plan *p, long n, bool plans)
{
    struct err err = { 0 };

    for (long i = 1; i <= n; i++) {
        struct job *j = NULL;
        char name[32], *doc = canonical(p, i, &j, &err), *texts = NULL;
        struct store_op op = { .kind = STORE_OP_JOB_PLAN };
        struct store_job cur;
        int64_t version;
        int rc;

        snprintf(name, sizeof name, "job-%06ld", i);
        rc = doc ? store_job_put(s, "default", name, doc, NULL, STORE_NEW, false, wall_us(),
                                 &version, &err)
                 : -1;
        if (rc == 0 && plans && (rc = store_job_get(s, "default", name, &cur, &err)) == 0) {
            op.job_plan.job_id = cur.id;
            store_job_release(&cur);
            rc = job_plan_make(j, version, &op.job_plan.plan, &texts);
            if (rc == 0 && (rc = store_exec(s, &op)) < 0)
                err = op.err;
            free(texts);
        }
        free(doc);
        job_free(j);
        if (rc < 0) {
            fprintf(stderr, "jobs_seed: job %ld: %s\n", i, err.msg);
            return -1;
        }
    }
    return 0;
}

static int check(sqlite3 *db, int rc, int want, const char *what)
{
    if (rc == want)
        return 0;
    fprintf(stderr, "jobs_seed: %s: %s\n", what, sqlite3_errmsg(db));
    return -1;
}

/* The statements of sqlite_schema.c that a job_put of a new job runs. */
static const char *const sql_job_insert =
    "INSERT INTO jobs (namespace, name, version, created_us, updated_us, paused)"
    " VALUES (?1, ?2, 1, ?3, ?3, ?4) RETURNING id";
static const char *const sql_version_insert =
    "INSERT INTO job_versions (job_id, version, doc, created_us, author)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char *const sql_labels_insert =
    "INSERT INTO job_labels (job_id, key, value)"
    " SELECT ?1, key, value FROM json_each(?2, '$.labels')"
    " WHERE json_type(?2, '$.labels') = 'object' AND type = 'text'";
static const char *const sql_job_plan =
    "UPDATE jobs SET plan_version = ?2, kind = ?3, cron = ?4, timezone = ?5,"
    " every_us = ?6, start_us = ?7, jitter_us = ?8, at_us = ?9, after_jobs = ?10,"
    " after_when = ?11, concurrency = ?12, max_instances = ?13, priority = ?14,"
    " misfire_grace_us = ?15, catch_up = ?16, max_catch_up = ?17,"
    " retry_max_attempts = ?18, retry_backoff_us = ?19, retry_factor = ?20,"
    " retry_max_backoff_us = ?21, retry_jitter = ?22,"
    " disable_after_failures = ?23"
    " WHERE id = ?1 AND version = ?2 AND deleted_us IS NULL";

static void bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == STORE_NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Binds SQ_JOB_PLAN's parameters for job ID (as sqlite_jobs.c does). */
static void bind_plan(sqlite3_stmt *st, int64_t id, const struct store_job_plan *p)
{
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, p->version);
    bind_text(st, 3, p->kind);
    bind_text(st, 4, p->cron);
    bind_text(st, 5, p->zone);
    bind_i64(st, 6, p->every_us);
    bind_i64(st, 7, p->start_us);
    bind_i64(st, 8, p->jitter_us);
    bind_i64(st, 9, p->at_us);
    bind_text(st, 10, p->after);
    bind_text(st, 11, p->when);
    bind_text(st, 12, p->concurrency);
    bind_i64(st, 13, p->max_instances);
    bind_i64(st, 14, p->priority);
    bind_i64(st, 15, p->misfire_grace_us);
    bind_text(st, 16, p->catch_up);
    bind_i64(st, 17, p->max_catch_up);
    bind_i64(st, 18, p->retry_max_attempts);
    bind_i64(st, 19, p->retry_backoff_us);
    sqlite3_bind_double(st, 20, p->retry_factor);
    bind_i64(st, 21, p->retry_max_backoff_us);
    sqlite3_bind_double(st, 22, p->retry_jitter);
    bind_i64(st, 23, p->disable_after_failures);
}

static int seed_direct(const char *dir, const struct plan *p, long n, bool plans)
{
    char path[4096];
    sqlite3 *db = NULL;
    sqlite3_stmt *job = NULL, *ver = NULL, *lab = NULL, *pl = NULL;
    struct err err = { 0 };
    int rc = -1;

    snprintf(path, sizeof path, "%s/chime.db", dir);
    if (check(db, sqlite3_open(path, &db), SQLITE_OK, "open") < 0
        || check(db, sqlite3_exec(db, "PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;"
                                      " PRAGMA cache_size = -262144",
                                  NULL, NULL, NULL),
                 SQLITE_OK, "pragma") < 0
        || check(db, sqlite3_prepare_v2(db, sql_job_insert, -1, &job, NULL), SQLITE_OK,
                 "prepare") < 0
        || check(db, sqlite3_prepare_v2(db, sql_version_insert, -1, &ver, NULL), SQLITE_OK,
                 "prepare") < 0
        || check(db, sqlite3_prepare_v2(db, sql_labels_insert, -1, &lab, NULL), SQLITE_OK,
                 "prepare") < 0
        || check(db, sqlite3_prepare_v2(db, sql_job_plan, -1, &pl, NULL), SQLITE_OK,
                 "prepare") < 0)
        goto done;
    for (long i = 1; i <= n; i++) {
        char name[32], *doc, *texts = NULL;
        struct store_job_plan plan;
        struct job *j = NULL;
        int64_t now = wall_us(), id;

        if ((i - 1) % BATCH == 0
            && check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK,
                     "begin") < 0)
            goto done;
        if (!(doc = canonical(p, i, &j, &err))) {
            fprintf(stderr, "jobs_seed: job %ld: %s\n", i, err.msg);
            goto done;
        }
        snprintf(name, sizeof name, "job-%06ld", i);
        sqlite3_bind_text(job, 1, "default", -1, SQLITE_STATIC);
        sqlite3_bind_text(job, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(job, 3, now);
        sqlite3_bind_int64(job, 4, 0);
        if (check(db, sqlite3_step(job), SQLITE_ROW, "insert job") < 0) {
            free(doc);
            job_free(j);
            goto done;
        }
        id = sqlite3_column_int64(job, 0);
        sqlite3_reset(job);
        sqlite3_bind_int64(ver, 1, id);
        sqlite3_bind_int64(ver, 2, 1);
        sqlite3_bind_text(ver, 3, doc, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ver, 4, now);
        sqlite3_bind_null(ver, 5);
        sqlite3_bind_int64(lab, 1, id);
        sqlite3_bind_text(lab, 2, doc, -1, SQLITE_TRANSIENT);
        free(doc);
        if (check(db, sqlite3_step(ver), SQLITE_DONE, "insert version") < 0
            || check(db, sqlite3_step(lab), SQLITE_DONE, "insert labels") < 0) {
            job_free(j);
            goto done;
        }
        sqlite3_reset(ver);
        sqlite3_reset(lab);
        if (plans) {
            if (job_plan_make(j, 1, &plan, &texts) < 0) {
                fprintf(stderr, "jobs_seed: job %ld: no plan\n", i);
                job_free(j);
                goto done;
            }
            bind_plan(pl, id, &plan);
            free(texts);
            if (check(db, sqlite3_step(pl), SQLITE_DONE, "write plan") < 0
                || check(db, sqlite3_changes(db), 1, "write plan") < 0) {
                job_free(j);
                goto done;
            }
            sqlite3_reset(pl);
        }
        job_free(j);
        if ((i % BATCH == 0 || i == n)
            && check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK, "commit") < 0)
            goto done;
    }
    if (check(db, sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
              SQLITE_OK, "checkpoint") < 0)
        goto done;
    rc = 0;
done:
    sqlite3_finalize(job);
    sqlite3_finalize(ver);
    sqlite3_finalize(lab);
    sqlite3_finalize(pl);
    sqlite3_close(db);
    return rc;
}

static int cmd_seed(const char *dir, long n, bool via_store, bool plans)
{
    struct store_options so = { 0 };
    struct store *s = NULL;
    struct err err = { 0 };
    struct plan p;
    double t0 = now_s();
    int rc;

    plan_init(&p);
    so.path = dir;
    if (store_open(&so, &s, &err) < 0) {
        fprintf(stderr, "jobs_seed: %s: %s\n", dir, err.msg);
        return 1;
    }
    if (via_store) {
        rc = seed_via_store(s, &p, n, plans);
        store_close(s);
    } else {
        store_close(s);
        rc = seed_direct(dir, &p, n, plans);
    }
    if (rc < 0)
        return 1;
    printf("seeded %ld jobs in %.2f s\n", n, now_s() - t0);
    return 0;
}

/* ---- probe ---- */

static void op_nothing(void *ctx, struct sched_run *r) { (void)ctx, (void)r; }
static void op_update(void *ctx, const struct sched_run *r) { (void)ctx, (void)r; }
static uint64_t op_random(void *ctx) { (void)ctx; return 4; }

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* What the probe's scan callback measures. */
struct probe {
    struct sched *s;
    int64_t now;
    long count, from_docs;
    double t_make, t_put;
    int failed;
};

static int probe_job(void *ctx, const struct store_job_entry *e)
{
    struct probe *pr = ctx;
    struct job *j = NULL;
    struct err err = { 0 };
    double a = now_s(), b;
    int rc = e->plan ? job_from_plan(e->plan, e->ns, e->name, &j, &err)
                     : job_parse(e->doc, e->doc_len, e->ns, &j, &err);

    if (rc < 0) {
        fprintf(stderr, "jobs_seed: %s/%s: %s\n", e->ns, e->name, err.msg);
        pr->failed = 1;
        return -1;
    }
    j->paused = e->paused;
    b = now_s();
    pr->t_make += b - a;
    if (sched_job_put(pr->s, j, e->id, e->version,
                      e->last_fire_us == STORE_NULL ? INT64_MIN : e->last_fire_us, e->version_us,
                      pr->now, &err) < 0) {
        fprintf(stderr, "jobs_seed: put: %s\n", err.msg);
        pr->failed = 1;
        return -1;
    }
    pr->t_put += now_s() - b;
    pr->count++;
    pr->from_docs += !e->plan;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* What a run's start adds (src/daemon/node.c run_body): the document of a
 * random job's version read by id (store_job_doc) and parsed. */
static int run_start_reads(struct store *st, long count)
{
    enum { READS = 10000 };
    static double t[READS];
    uint64_t x = 88172645463325252u;
    struct err err = { 0 };

    if (count < 1)
        return 0;
    for (int i = 0; i < READS; i++) {
        struct job *j = NULL;
        char *doc = NULL;
        size_t len = 0;
        double a;

        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        a = now_s();
        if (store_job_doc(st, (int64_t)(x % (uint64_t)count) + 1, 1, &doc, &len, &err) < 0
            || job_parse(doc, len, "default", &j, &err) < 0) {
            fprintf(stderr, "jobs_seed: run start read: %s\n", err.msg);
            free(doc);
            return -1;
        }
        t[i] = (now_s() - a) * 1e6;
        free(doc);
        job_free(j);
    }
    qsort(t, READS, sizeof t[0], cmp_double);
    printf("run start: document    read by id + job_parse, %d random jobs: p50 %.1f us, "
           "p99 %.1f us, max %.1f us\n", READS, t[READS / 2], t[READS * 99 / 100], t[READS - 1]);
    return 0;
}

static int cmd_probe(const char *dir)
{
    struct sched_ops ops = { 0 };
    struct sched_config cfg = { 0 };
    struct store_options so = { 0 };
    struct store *st = NULL;
    struct sched *s = NULL;
    struct err err = { 0 };
    struct probe pr = { 0 };
    double t_all;
    struct mallinfo2 m0, m1, m2;
    long rss0, rss1, count;

    ops.record = op_nothing;
    ops.start = op_nothing;
    ops.cancel = op_nothing;
    ops.update = op_update;
    ops.random = op_random;
    if (tz_load("UTC", &cfg.default_zone, &err) < 0 || sched_new(&ops, &cfg, &s) < 0) {
        fprintf(stderr, "jobs_seed: %s\n", err.msg);
        return 1;
    }
    so.path = dir;
    if (store_open(&so, &st, &err) < 0) {
        fprintf(stderr, "jobs_seed: %s: %s\n", dir, err.msg);
        return 1;
    }
    /* the zones the jobs name, loaded before the baseline (cached for good) */
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        const struct tz *z;

        tz_load(zones[i], &z, NULL);
    }
    malloc_trim(0);
    m0 = mallinfo2();
    rss0 = rss_kib();
    pr.s = s;
    pr.now = wall_us();
    t_all = now_s();
    if (store_job_scan(st, probe_job, &pr, &err) < 0 || pr.failed) {
        fprintf(stderr, "jobs_seed: scan: %s\n", err.msg);
        return 1;
    }
    t_all = now_s() - t_all;
    m1 = mallinfo2();
    rss1 = rss_kib();
    malloc_trim(0);
    m2 = mallinfo2();
    count = pr.count ? pr.count : 1;

    printf("jobs loaded            %ld (%ld from their documents, the rest from plans)\n",
           pr.count, pr.from_docs);
    printf("load total             %.3f s\n", t_all);
    printf("  store_job_scan       %.3f s (%.2f us/job: the read, without the callbacks)\n",
           t_all - pr.t_make - pr.t_put, (t_all - pr.t_make - pr.t_put) * 1e6 / (double)count);
    printf("  job_from_plan/parse  %.3f s (%.2f us/job)\n", pr.t_make,
           pr.t_make * 1e6 / (double)count);
    printf("  sched_job_put        %.3f s (%.2f us/job)\n", pr.t_put,
           pr.t_put * 1e6 / (double)count);
    printf("heap in use (uordblks) +%.1f MiB = %.0f bytes/job\n",
           (double)(m1.uordblks - m0.uordblks) / 1048576.0,
           (double)(m1.uordblks - m0.uordblks) / (double)count);
    printf("heap free in arena     %.1f MiB after load, %.1f MiB after malloc_trim\n",
           (double)m1.fordblks / 1048576.0, (double)m2.fordblks / 1048576.0);
    printf("mmapped blocks         %.1f MiB (%zu)\n", (double)m1.hblkhd / 1048576.0, m1.hblks);
    printf("process RSS            +%.1f MiB = %.0f bytes/job\n", (double)(rss1 - rss0) / 1024.0,
           (double)(rss1 - rss0) * 1024.0 / (double)count);
    printf("sizes                  struct job %zu, struct job_body %zu bytes\n",
           sizeof(struct job), sizeof(struct job_body));
    if (run_start_reads(st, pr.count) < 0)
        return 1;
    store_close(st);
    sched_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "seed") == 0) {
        char *end;
        long n = strtol(argv[3], &end, 10);

        if (*end || n < 0 || n > 999999999) {
            fprintf(stderr, "jobs_seed: bad count '%s'\n", argv[3]);
            return 2;
        }
        bool via_store = false, plans = true;

        for (int i = 4; i < argc; i++) {
            if (strcmp(argv[i], "--via-store") == 0) {
                via_store = true;
            } else if (strcmp(argv[i], "--no-plans") == 0) {
                plans = false;
            } else {
                fprintf(stderr, "jobs_seed: unknown option '%s'\n", argv[i]);
                return 2;
            }
        }
        return cmd_seed(argv[2], n, via_store, plans);
    }
    if (argc == 3 && strcmp(argv[1], "probe") == 0)
        return cmd_probe(argv[2]);
    printf("usage: jobs_seed seed DIR N [--via-store] [--no-plans] | jobs_seed probe DIR\n"
           "a helper of bench/memory.py (python3 bench/memory.py)\n");
    return argc == 1 ? 0 : 2;
}
