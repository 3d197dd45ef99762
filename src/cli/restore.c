/* restore.c: `chime restore BACKUP`, a backup put back in place of the
 * data directory's database and run output files, for a daemon that is
 * not running.
 *
 * It takes the data directory's lock (util/dirlock.h), so it refuses while
 * a daemon runs there. The archive (store/bundle.h) is read whole into a
 * staging directory of the data directory, every member checked, before
 * anything else changes; a refused one leaves the data directory as it
 * was. Then store_restore_file() checks the database and puts it in place
 * (the one it replaces kept beside it), and the runs directory is swapped
 * for the archive's (the old one kept as runs.before-restore-SECONDS).
 * A bare database file (a backup of chime before output files were part
 * of one) is still put back, the runs directory left as it is. */
#include "cli/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cmdline.h"
#include "store/bundle.h"
#include "store/store.h"
#include "util/dirlock.h"
#include "util/err.h"
#include "../banned.h"

#define SQLITE_MAGIC "SQLite format 3"

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct restored {
    struct store_restored db;
    bool bundle;                /* an archive, not a bare database */
    struct bundle_info info;
    char runs_aside[4300];      /* where the runs directory it replaced went; "" for none */
};

static int report(const char *backup, const char *dir, const struct restored *x, bool json)
{
    const struct store_restored *r = &x->db;

    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:I}", "backup", backup,
                              "data_dir", dir, "schema_version", (json_int_t)r->schema_version,
                              "jobs", (json_int_t)r->jobs, "runs", (json_int_t)r->runs,
                              "set_aside",
                              r->set_aside[0] ? json_string(r->set_aside) : json_null(),
                              "outputs", x->bundle ? json_integer(x->info.outputs) : json_null(),
                              "runs_set_aside",
                              x->runs_aside[0] ? json_string(x->runs_aside) : json_null(),
                              "missing_outputs", (json_int_t)x->info.missing);
        int rc = cli_json_print(o);

        json_decref(o);
        return rc;
    }
    printf("restored %s into %s/chime.db (%lld jobs, %lld runs)\n", backup, dir,
           (long long)r->jobs, (long long)r->runs);
    if (r->set_aside[0])
        printf("the database it replaced is kept as %s\n", r->set_aside);
    if (x->bundle)
        printf("%lld run output files restored into %s/runs\n", (long long)x->info.outputs, dir);
    else
        printf("the backup is a bare database: the runs directory is left as it was\n");
    if (x->runs_aside[0])
        printf("the runs directory it replaced is kept as %s\n", x->runs_aside);
    if (x->info.missing)
        printf("%lld started runs had no output file when the backup was made\n",
               (long long)x->info.missing);
    printf("start the daemon: chime serve --data-dir %s\n", dir);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Whether the file at PATH starts as an SQLite database does. */
static bool bare_database(const char *path)
{
    char head[16] = "";
    FILE *f = fopen(path, "rb");

    if (!f)
        return false;
    if (fread(head, 1, sizeof head, f) != sizeof head)
        head[0] = '\0';
    fclose(f);
    return memcmp(head, SQLITE_MAGIC, sizeof head) == 0;
}

/* Puts the backup BACKUP in place in DIR (whose lock the caller holds). */
static int restore(const char *backup, const char *dir, int64_t now_us, struct restored *x,
                   struct err *err)
{
    char stage[4096], db[4200], runs[4200], staged_runs[4200];
    struct stat sb;
    int rc;

    memset(x, 0, sizeof *x);
    if (stat(backup, &sb) < 0 || !S_ISREG(sb.st_mode))
        return err_set(err, CHIME_EINVAL, "BACKUP", "'%.200s' is not a file", backup);
    if (bare_database(backup))
        return store_restore_file(backup, dir, now_us, &x->db, err);
    x->bundle = true;
    if ((size_t)snprintf(stage, sizeof stage, "%s/.restore-XXXXXX", dir) >= sizeof stage)
        return err_set(err, CHIME_ETOOBIG, "data-dir", "'%.200s' is too long", dir);
    if (!mkdtemp(stage))
        return err_set(err, CHIME_EIO, "data-dir", "cannot make a directory in %s: %s", dir,
                       strerror(errno));
    snprintf(db, sizeof db, "%s/" BUNDLE_DB, stage);
    snprintf(staged_runs, sizeof staged_runs, "%s/" BUNDLE_RUNS, stage);
    snprintf(runs, sizeof runs, "%s/" BUNDLE_RUNS, dir);
    /* the archive whole, then the database: until both pass, nothing
     * but the staging directory (removed again) was touched */
    if ((rc = bundle_read(backup, stage, &x->info, err)) < 0)
        goto done;
    /* a name no earlier restore took (two in one second) */
    for (int k = 0; stat(runs, &sb) == 0 && k < 100; k++) {
        snprintf(x->runs_aside, sizeof x->runs_aside, k ? "%s.before-restore-%lld.%d"
                                                         : "%s.before-restore-%lld",
                 runs, (long long)(now_us / 1000000), k);
        if (lstat(x->runs_aside, &sb) < 0 && errno == ENOENT)
            break;
        x->runs_aside[0] = '\0';
    }
    if (stat(runs, &sb) == 0 && !x->runs_aside[0]) {
        rc = err_set(err, CHIME_EIO, "", "cannot find a name to keep %s under", runs);
        goto done;
    }
    if ((rc = store_restore_file(db, dir, now_us, &x->db, err)) < 0)
        goto done;
    if (x->runs_aside[0]) {
        if (rename(runs, x->runs_aside) < 0) {
            rc = err_set(err, CHIME_EIO, "", "the database is restored, but its output files "
                         "are not: cannot move %s aside: %s", runs, strerror(errno));
            x->runs_aside[0] = '\0';
            goto done;
        }
    }
    if (stat(staged_runs, &sb) == 0 && rename(staged_runs, runs) < 0)
        rc = err_set(err, CHIME_EIO, "", "the database is restored, but its output files are "
                     "not: cannot move %s to %s: %s", staged_runs, runs, strerror(errno));
done:
    bundle_remove(stage);
    return rc;
}

struct restore_opts {
    const char *dir;
    bool json;
};

int cli_restore(int argc, char **argv)
{
    static const struct cmdline_opt rows[] = {
        { "data-dir", 0, CMDLINE_STRING, offsetof(struct restore_opts, dir), "DIR",
          "the daemon's data directory (default $CHIME_DATA_DIR, else ./chime-data); the daemon "
          "must be stopped. Its database is kept as chime.db.before-restore-SECONDS, its runs "
          "directory as runs.before-restore-SECONDS; keep admin.token and secret.key" },
        { "json", 0, CMDLINE_FLAG, offsetof(struct restore_opts, json), NULL,
          "{\"backup\", \"data_dir\", \"schema_version\", \"jobs\", \"runs\", \"set_aside\", "
          "\"outputs\", \"runs_set_aside\", \"missing_outputs\"}" },
    };
    static const struct cmdline_spec spec = {
        "restore", "BACKUP",
        "  BACKUP  a file written by chime backup (checked whole before anything changes):\n"
        "          the database and the run output files\n",
        rows, sizeof rows / sizeof rows[0], NULL, 1, 1, "BACKUP",
    };
    struct restore_opts o = { getenv("CHIME_DATA_DIR"), false };
    const char *dir;
    struct restored r;
    struct err err = {0};
    struct stat sb;
    int lock, rc;

    if ((rc = cmdline_parse(&spec, argc, argv, &o)) < 0)
        return cmdline_exit(rc);
    dir = o.dir;
    if (!dir || !*dir)
        dir = "./chime-data";
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        err_set(&err, CHIME_EINVAL, "data-dir", "%s is not a directory", dir);
        cli_error("restore", &err);
        return 2;
    }
    lock = dirlock_take(dir, &err);
    if (lock < 0) {
        if (lock == -CHIME_ECONFLICT)
            snprintf(err.msg + strlen(err.msg), sizeof err.msg - strlen(err.msg),
                     ": stop the daemon first");
        cli_error("restore", &err);
        return 1;
    }
    rc = restore(argv[1], dir, wall_us(), &r, &err);
    close(lock);
    if (rc < 0) {
        cli_error("restore", &err);
        return rc == -CHIME_EINVAL || rc == -CHIME_ERANGE || rc == -CHIME_ETOOBIG ? 2 : 1;
    }
    return report(argv[1], dir, &r, o.json);
}
