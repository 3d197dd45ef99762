/* restore.c: `chime restore BACKUP`, a backup put back in place of the
 * data directory's database, for a daemon that is not running.
 *
 * It takes the data directory's lock (util/dirlock.h), so it refuses while
 * a daemon runs there, and leaves the rest to store_restore_file(): the
 * backup is checked whole before anything changes, the database it
 * replaces is kept beside it, and the copy is whole or absent. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "store/store.h"
#include "util/dirlock.h"
#include "util/err.h"
#include "../banned.h"

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int report(const char *backup, const char *dir, const struct store_restored *r, bool json)
{
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "backup", backup, "data_dir", dir,
                              "schema_version", (json_int_t)r->schema_version, "jobs",
                              (json_int_t)r->jobs, "runs", (json_int_t)r->runs, "set_aside",
                              r->set_aside[0] ? json_string(r->set_aside) : json_null());
        int rc = cli_json_print(o);

        json_decref(o);
        return rc;
    }
    printf("restored %s into %s/chime.db (%lld jobs, %lld runs)\n", backup, dir,
           (long long)r->jobs, (long long)r->runs);
    if (r->set_aside[0])
        printf("the database it replaced is kept as %s\n", r->set_aside);
    printf("start the daemon: chime serve --data-dir %s\n", dir);
    return fflush(stdout) == 0 ? 0 : 1;
}

int cli_restore(int argc, char **argv)
{
    static const char usage[] =
        "usage: chime restore BACKUP [--data-dir DIR] [--json]\n"
        "  BACKUP      a file written by chime backup (checked whole before anything changes)\n"
        "  --data-dir  the daemon's data directory (default $CHIME_DATA_DIR, else ./chime-data);\n"
        "              the daemon must be stopped. Its database is kept as\n"
        "              chime.db.before-restore-SECONDS; keep admin.token and secret.key\n"
        "  --json      {\"backup\", \"data_dir\", \"schema_version\", \"jobs\", \"runs\", \"set_aside\"}\n";
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = getenv("CHIME_DATA_DIR");
    struct store_restored r;
    struct err err = {0};
    struct stat sb;
    bool json = false;
    int ch, lock, rc;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":d:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': dir = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: return cli_bad_option("restore", ch, argv);
        }
    }
    if (optind != argc - 1)
        return cli_bad_args("restore", optind == argc ? "missing BACKUP" : "more than one BACKUP");
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
    rc = store_restore_file(argv[optind], dir, wall_us(), &r, &err);
    close(lock);
    if (rc < 0) {
        cli_error("restore", &err);
        return rc == -CHIME_EINVAL || rc == -CHIME_ERANGE ? 2 : 1;
    }
    return report(argv[optind], dir, &r, json);
}
