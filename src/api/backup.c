/* backup.c: POST /api/v1/backup, an online backup of the database and the
 * run output files, as one tar archive (store/bundle.h) streamed to the
 * client (`chime backup PATH` writes it where the client runs, so the CLI
 * may be on another machine than the daemon).
 *
 * The database and the output files must agree: every run of the copy
 * that started has its output file in the archive, or is listed as
 * missing. Output files of finished runs never change, but retention
 * deletes runs with their files at any moment, and new runs start. So,
 * in a staging directory in the data directory (one file system): first
 * every output file is hard-linked (cheap, and a link keeps a file that
 * retention unlinks afterwards); then the database is copied by
 * store_backup() (SQLite's online backup API from one read snapshot:
 * consistent while the daemon goes on scheduling); then the output files
 * of runs of the copy that started after the first step are linked too.
 * A run of the copy whose file is in none of those was without one
 * before the copy was made: it is missing, and the manifest says so. A
 * running run's output goes in as long as it is when it is read.
 *
 * The archive is written to a file in the staging directory, unlinked as
 * soon as it is open (nothing is left behind whatever becomes of the
 * transfer), and sent from that descriptor; the staging links go before
 * the answer does. Its SHA-256 goes in a header for the client to check
 * what it received. One backup at a time: a second one asked meanwhile is
 * 409. The database holds everything (token hashes too), so the route is
 * for an admin of every namespace. */
#include "api/api_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "store/bundle.h"
#include "store/store.h"
#include "time/isotime.h"
#include "../banned.h"

static pthread_mutex_t backup_one = PTHREAD_MUTEX_INITIALIZER;

/* The SHA-256 of the LEN bytes of FD, as hex, into HEX. */
static int file_sha256(int fd, uint64_t len, char hex[2 * crypto_hash_sha256_BYTES + 1],
                       struct err *err)
{
    crypto_hash_sha256_state st;
    unsigned char buf[65536], out[crypto_hash_sha256_BYTES];
    uint64_t off = 0;

    crypto_hash_sha256_init(&st);
    while (off < len) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_set(err, CHIME_EIO, "", "backup: reading the copy: %s",
                           n < 0 ? strerror(errno) : "it is shorter than it was");
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        off += (uint64_t)n;
    }
    crypto_hash_sha256_final(&st, out);
    sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, out, sizeof out);
    return 0;
}

/* Hard-links RUNS/NAME into STAGE/NAME; a file that is not there is no error. */
static int link_output(const char *runs, const char *stage, const char *name, struct err *err)
{
    char from[PATH_MAX], to[PATH_MAX];

    if ((size_t)snprintf(from, sizeof from, "%s/%s", runs, name) >= sizeof from
        || (size_t)snprintf(to, sizeof to, "%s/%s", stage, name) >= sizeof to)
        return err_set(err, CHIME_EIO, "", "backup: the data directory's path is too long");
    if (link(from, to) < 0 && errno != ENOENT && errno != EEXIST)
        return err_set(err, CHIME_EIO, "", "backup: cannot link %s: %s", from, strerror(errno));
    return 0;
}

/* Links every output file of RUNS into STAGE. */
static int link_outputs(const char *runs, const char *stage, struct err *err)
{
    DIR *d = opendir(runs);
    struct dirent *de;
    int rc = 0;

    if (!d)
        return errno == ENOENT ? 0
                               : err_set(err, CHIME_EIO, "", "backup: cannot read %s: %s", runs,
                                         strerror(errno));
    while (rc == 0 && (de = readdir(d)) != NULL)
        if (bundle_out_id(de->d_name))
            rc = link_output(runs, stage, de->d_name, err);
    closedir(d);
    return rc;
}

/* Makes the archive in a staging directory of the data directory: an
 * unlinked file, open at *RET_FD. */
static int make_archive(struct api_call *c, int *ret_fd)
{
    char stage[PATH_MAX], runs[PATH_MAX], stage_runs[PATH_MAX + 16], db[PATH_MAX + 16],
        tar[PATH_MAX + 16];
    struct store_backup_run *rs = NULL;
    struct bundle_info info;
    size_t n = 0;
    int fd = -1, rc;

    if ((size_t)snprintf(stage, sizeof stage, "%s/.backup-XXXXXX", c->api->data_dir)
            >= sizeof stage - 32
        || (size_t)snprintf(runs, sizeof runs, "%s/runs", c->api->data_dir) >= sizeof runs)
        return err_set(&c->err, CHIME_EIO, "", "backup: the data directory's path is too long");
    if (!mkdtemp(stage))
        return err_set(&c->err, CHIME_EIO, "", "backup: cannot make a directory in the data "
                                               "directory: %s", strerror(errno));
    snprintf(stage_runs, sizeof stage_runs, "%s/" BUNDLE_RUNS, stage);
    snprintf(db, sizeof db, "%s/" BUNDLE_DB, stage);
    snprintf(tar, sizeof tar, "%s/backup.tar", stage);
    if (mkdir(stage_runs, 0700) < 0) {
        rc = err_set(&c->err, CHIME_EIO, "", "backup: cannot make %s: %s", stage_runs,
                     strerror(errno));
        goto done;
    }
    if ((rc = link_outputs(runs, stage_runs, &c->err)) < 0
        || (rc = store_backup(c->api->opt.store, db, &c->err)) < 0
        || (rc = store_backup_runs(db, &rs, &n, &c->err)) < 0)
        goto done;
    /* runs of the copy that started after the first links */
    for (size_t i = 0; i < n; i++) {
        char name[32];

        snprintf(name, sizeof name, "%" PRId64 ".out", rs[i].id);
        if (rs[i].started && (rc = link_output(runs, stage_runs, name, &c->err)) < 0)
            goto done;
    }
    fd = open(tar, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = err_set(&c->err, CHIME_EIO, "", "backup: cannot make %s: %s", tar, strerror(errno));
        goto done;
    }
    unlink(tar); /* from here the descriptor alone keeps the archive */
    rc = bundle_write(fd, db, stage_runs, rs, n, api_now_us(), &info, &c->err);
    if (rc < 0)
        goto done;
    *ret_fd = fd;
    fd = -1;
done:
    if (fd >= 0)
        close(fd);
    free(rs);
    bundle_remove(stage);
    return rc;
}

int api_backup(struct api_call *c)
{
    char hex[2 * crypto_hash_sha256_BYTES + 1], at[ISOTIME_LEN], name[64];
    struct MHD_Response *r;
    struct stat sb;
    int fd = -1, rc;
    size_t k;

    if (pthread_mutex_trylock(&backup_one) != 0)
        return err_set(&c->err, CHIME_ECONFLICT, "", "a backup is being made already: try again "
                                                     "when it is done");
    rc = make_archive(c, &fd);
    if (rc < 0)
        goto done;
    if (fstat(fd, &sb) < 0) {
        rc = err_set(&c->err, CHIME_EIO, "", "backup: reading the archive: %s", strerror(errno));
        goto done;
    }
    rc = file_sha256(fd, (uint64_t)sb.st_size, hex, &c->err);
    if (rc < 0)
        goto done;
    r = MHD_create_response_from_fd((size_t)sb.st_size, fd);
    if (!r) {
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    fd = -1; /* the response closes it */
    /* chime-backup-20261124T010000Z.tar */
    isotime_format_utc(api_now_us(), at, sizeof at);
    k = 0;
    for (const char *p = at; *p && *p != '.' && k + 1 < sizeof name; p++)
        if (*p != '-' && *p != ':')
            name[k++] = *p;
    name[k] = '\0';
    c->response = r;
    c->status = 200;
    c->text_type = "application/x-tar";
    api_reply_header(c, "Content-Disposition", "attachment; filename=\"chime-backup-%sZ.tar\"",
                     name);
    api_reply_header(c, "X-Chime-Sha256", "%s", hex);
    api_reply_header(c, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(&backup_one);
    return rc;
}
