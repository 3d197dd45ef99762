/* sqlite_ckpt.c: WAL checkpoints on a thread of their own.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses the
 * threshold (1,000 pages): that commit then copies the pages into the
 * database and fsyncs it, and every run record waiting in the group commit
 * waits with it (tens of milliseconds on a slow disk, at a rate that grows
 * with the firing rate). The writer therefore runs with
 * wal_autocheckpoint = 0, and this thread makes a PASSIVE checkpoint every
 * CKPT_EVERY_MS on its own connection: it copies what no reader still
 * needs without taking the write lock, so commits go on meanwhile, and the
 * writer starts the WAL over once a checkpoint has caught up. */
#include "store/sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <sqlite3.h>

#include "util/err.h"
#include "../banned.h"

#define CKPT_EVERY_MS 200

struct sqlite_ckpt {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stop;
    sqlite3 *db;
    long long passes;  /* checkpoints made, for the tests */
};

static void *ckpt_main(void *arg)
{
    struct sqlite_ckpt *k = arg;
    struct timespec due;

    pthread_mutex_lock(&k->mu);
    clock_gettime(CLOCK_MONOTONIC, &due);
    while (!k->stop) {
        due.tv_nsec += CKPT_EVERY_MS * 1000000L;
        due.tv_sec += due.tv_nsec / 1000000000L;
        due.tv_nsec %= 1000000000L;
        while (!k->stop && pthread_cond_timedwait(&k->cv, &k->mu, &due) != ETIMEDOUT)
            ;
        if (k->stop)
            break;
        pthread_mutex_unlock(&k->mu);
        /* SQLITE_BUSY (another checkpoint, a restart in progress) is fine:
         * the next pass does it */
        sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&k->mu);
        k->passes++;
        clock_gettime(CLOCK_MONOTONIC, &due);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

int sqlite_ckpt_start(const char *path, struct sqlite_ckpt **ret, struct err *err)
{
    struct sqlite_ckpt *k = calloc(1, sizeof *k);
    pthread_condattr_t attr;
    int rc;

    if (!k)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    rc = sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = sqlite_fail(k->db, rc, "open for checkpoints", err);
        sqlite3_close(k->db);
        free(k);
        return rc;
    }
    /* the database file's sync at the end of each checkpoint */
    sqlite3_exec(k->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
    pthread_mutex_init(&k->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&k->thread, NULL, ckpt_main, k) != 0) {
        sqlite3_close(k->db);
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return err_set(err, CHIME_EIO, NULL, "cannot start the checkpoint thread");
    }
    *ret = k;
    return 0;
}

long long sqlite_ckpt_passes(struct sqlite_ckpt *k)
{
    long long n;

    pthread_mutex_lock(&k->mu);
    n = k->passes;
    pthread_mutex_unlock(&k->mu);
    return n;
}

void sqlite_ckpt_stop(struct sqlite_ckpt *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    sqlite3_close(k->db);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}
