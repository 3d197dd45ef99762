/* sqlite_backup.c: an online copy of the database (store_backup).
 *
 * SQLite's backup API copies pages from a source connection to a
 * destination one, a few at a time. A copy that spans several steps
 * restarts whenever another connection writes the source between two
 * steps, and a busy daemon writes every few milliseconds: the copy might
 * never end. So the source connection (a connection of its own, never one
 * of the store's) first opens a read transaction, and the steps run
 * inside it: they all read the same snapshot, and the copy is the
 * database as of that moment. In WAL mode a reader holds up no writer, so
 * the store's thread commits on while the copy is made; the only cost is
 * that the WAL cannot be checkpointed past the snapshot until the copy
 * ends.
 *
 * The copy is switched to rollback-journal mode before it is closed, so
 * it is one self-contained file (no -wal or -shm beside it), and it is
 * fsynced: when this returns, the backup is on disk. */
#include "store/sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/backend.h"
#include "../banned.h"

#define BACKUP_STEP_PAGES 256    /* pages copied per step (1 MiB of 4 KiB pages) */
#define BACKUP_BUSY_TRIES 1000   /* a step that finds the source busy waits 5 ms, this often */
#define BACKUP_BUSY_MS    5

static int fail(sqlite3 *db, int rc, const char *what, struct err *err)
{
    return err_set(err, CHIME_EIO, "", "backup: %s: %s", what,
                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* Copies SRC's snapshot into DST in steps. */
static int copy(sqlite3 *src, sqlite3 *dst, struct err *err)
{
    sqlite3_backup *bk = sqlite3_backup_init(dst, "main", src, "main");
    int rc, busy = 0;

    if (!bk)
        return fail(dst, SQLITE_ERROR, "start", err);
    for (;;) {
        rc = sqlite3_backup_step(bk, BACKUP_STEP_PAGES);
        if (rc == SQLITE_DONE)
            break;
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy < BACKUP_BUSY_TRIES) {
            sqlite3_sleep(BACKUP_BUSY_MS);
            continue;
        }
        if (rc != SQLITE_OK) {
            sqlite3_backup_finish(bk);
            return fail(dst, rc, "copying pages", err);
        }
    }
    rc = sqlite3_backup_finish(bk);
    return rc == SQLITE_OK ? 0 : fail(dst, rc, "finishing", err);
}

static int exec(sqlite3 *db, const char *sql, const char *what, struct err *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : fail(db, rc, what, err);
}

/* Copies the database at SRC_PATH (as of one read snapshot) into a new
 * file DEST, made self-contained (rollback-journal mode) and synced; DEST
 * is removed again on failure. */
static int copy_file(const char *src_path, const char *dest, struct err *err)
{
    sqlite3 *src = NULL, *dst = NULL;
    int rc, fd;

    rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = fail(src, rc, "opening the database", err);
        goto done;
    }
    sqlite3_busy_timeout(src, 5000);
    /* the snapshot every step reads */
    if ((rc = exec(src, "BEGIN; SELECT count(*) FROM sqlite_master;", "reading", err)) < 0)
        goto done;
    rc = sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        rc = fail(dst, rc, "creating the copy", err);
        goto done;
    }
    if ((rc = copy(src, dst, err)) < 0)
        goto done;
    (void)sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
    if ((rc = exec(dst, "PRAGMA journal_mode=DELETE", "making the copy self-contained", err)) < 0)
        goto done;
    rc = sqlite3_close(dst);
    dst = NULL;
    if (rc != SQLITE_OK) {
        rc = err_set(err, CHIME_EIO, "", "backup: closing the copy: %s", sqlite3_errstr(rc));
        goto done;
    }
    fd = open(dest, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        rc = err_set(err, CHIME_EIO, "", "backup: syncing the copy: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        goto done;
    }
    close(fd);
    rc = 0;
done:
    if (dst)
        sqlite3_close(dst);
    if (src)
        sqlite3_close(src);
    if (rc < 0) {
        char journal[4200];

        unlink(dest);
        if ((size_t)snprintf(journal, sizeof journal, "%s-journal", dest) < sizeof journal)
            unlink(journal);
    }
    return rc;
}

int sqlite_backup(void *h, const char *dest, struct err *err)
{
    struct sqlite_store *b = h;
    const char *path = sqlite3_db_filename(b->writer.db, "main");
    struct stat sb;

    if (!path || !*path)
        return err_set(err, CHIME_EIO, "", "backup: the database has no file to copy");
    if (stat(dest, &sb) == 0 && (!S_ISREG(sb.st_mode) || sb.st_size > 0))
        return err_set(err, CHIME_EINVAL, "path", "backup: the destination exists");
    return copy_file(path, dest, err);
}

int store_backup_runs(const char *backup, struct store_backup_run **ret, size_t *ret_n,
                      struct err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct store_backup_run *v = NULL, *grown;
    size_t n = 0, cap = 0;
    int rc = sqlite3_open_v2(backup, &db, SQLITE_OPEN_READONLY, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT id, started_us IS NOT NULL FROM runs ORDER BY id", -1,
                                &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            grown = realloc(v, cap * sizeof *v);
            if (!grown) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = grown;
        }
        v[n].id = sqlite3_column_int64(st, 0);
        v[n++].started = sqlite3_column_int(st, 1) != 0;
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_DONE) {
        *ret = v;
        *ret_n = n;
        v = NULL;
        rc = 0;
    } else {
        rc = err_set(err, rc == SQLITE_NOMEM ? CHIME_ENOMEM : CHIME_EINVAL, "BACKUP",
                     "not a chime database (runs: %s)", db ? sqlite3_errmsg(db) : "no memory");
    }
    free(v);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* ---- restore ---- */

/* One integer from SQL on DB into *RET; CHIME_EINVAL naming WHAT. */
static int one_int(sqlite3 *db, const char *sql, const char *what, int64_t *ret, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *ret = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc == 0 ? 0
                   : err_set(err, CHIME_EINVAL, "BACKUP", "not a chime database (%s: %s)", what,
                             sqlite3_errmsg(db));
}

/* Whether the file at PATH is a chime database this chime opens: SQLite,
 * integrity_check ok, chime's schema at a version it knows. */
static int check_backup(const char *path, struct store_restored *r, struct err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    const unsigned char *verdict = NULL;
    int last = sqlite_migrations[sqlite_n_migrations - 1].version;

    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        verdict = sqlite3_column_text(st, 0);
    if (!verdict || strcmp((const char *)verdict, "ok") != 0)
        rc = err_set(err, CHIME_EINVAL, "BACKUP", "not a sound SQLite database: %.200s",
                     verdict ? (const char *)verdict : sqlite3_errmsg(db));
    else if ((rc = one_int(db, "SELECT max(version) FROM schema_version", "schema_version",
                           &r->schema_version, err)) == 0
             && (rc = one_int(db, "SELECT count(*) FROM jobs WHERE deleted_us IS NULL", "jobs",
                              &r->jobs, err)) == 0
             && (rc = one_int(db, "SELECT count(*) FROM runs", "runs", &r->runs, err)) == 0
             && r->schema_version > last)
        rc = err_set(err, CHIME_ERANGE, "BACKUP",
                     "its schema version %lld is newer than this chime's %d: upgrade chime",
                     (long long)r->schema_version, last);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* Moves DB (and its WAL, its last commits, which must never meet another
 * database: SQLite would replay it onto one) aside to ASIDE; its shared
 * memory index goes. Nothing moved on failure. */
static int move_aside(const char *db, const char *aside, struct err *err)
{
    char wal[4200], wal_aside[4300], shm[4200];
    bool had_wal;

    snprintf(wal, sizeof wal, "%s-wal", db);
    snprintf(wal_aside, sizeof wal_aside, "%s-wal", aside);
    snprintf(shm, sizeof shm, "%s-shm", db);
    had_wal = access(wal, F_OK) == 0;
    if (had_wal && rename(wal, wal_aside) < 0)
        return err_set(err, CHIME_EIO, "", "cannot move '%s' aside: %s", wal, strerror(errno));
    if (rename(db, aside) < 0) {
        int rc = err_set(err, CHIME_EIO, "", "cannot move '%s' aside: %s", db, strerror(errno));

        if (had_wal)
            rename(wal_aside, wal);
        return rc;
    }
    unlink(shm);
    return 0;
}

int store_restore_file(const char *backup, const char *data_dir, int64_t now_us,
                       struct store_restored *r, struct err *err)
{
    char db[4096], tmp[4200], aside[4200];
    struct stat sb;
    int rc, dfd;

    memset(r, 0, sizeof *r);
    if (stat(backup, &sb) < 0 || !S_ISREG(sb.st_mode))
        return err_set(err, CHIME_EINVAL, "BACKUP", "'%.200s' is not a file", backup);
    if ((size_t)snprintf(db, sizeof db, "%s/chime.db", data_dir) >= sizeof db)
        return err_set(err, CHIME_ETOOBIG, "data-dir", "'%.200s' is too long", data_dir);
    if ((rc = check_backup(backup, r, err)) < 0)
        return rc;
    snprintf(tmp, sizeof tmp, "%s.restoring", db);
    unlink(tmp);
    if ((rc = copy_file(backup, tmp, err)) < 0)
        return rc;
    /* the database it replaces is kept, with its WAL */
    if (stat(db, &sb) == 0) {
        snprintf(aside, sizeof aside, "%s.before-restore-%lld", db, (long long)(now_us / 1000000));
        if ((rc = move_aside(db, aside, err)) < 0) {
            unlink(tmp);
            return rc;
        }
        snprintf(r->set_aside, sizeof r->set_aside, "%s", aside);
    }
    if (rename(tmp, db) < 0) {
        rc = err_set(err, CHIME_EIO, "", "cannot put the copy in place: %s", strerror(errno));
        unlink(tmp);
        return rc;
    }
    dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
