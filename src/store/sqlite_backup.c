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

int sqlite_backup(void *h, const char *dest, struct err *err)
{
    struct sqlite_store *b = h;
    const char *path = sqlite3_db_filename(b->writer.db, "main");
    sqlite3 *src = NULL, *dst = NULL;
    struct stat sb;
    int rc, fd;

    if (!path || !*path)
        return err_set(err, CHIME_EIO, "", "backup: the database has no file to copy");
    if (stat(dest, &sb) == 0 && (!S_ISREG(sb.st_mode) || sb.st_size > 0))
        return err_set(err, CHIME_EINVAL, "path", "backup: the destination exists");
    rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL);
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
