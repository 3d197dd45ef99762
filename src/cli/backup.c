/* backup.c: `chime backup PATH`, an online backup of the daemon's database
 * and run output files, one tar archive (store/bundle.h) written where the
 * command runs (the daemon streams it: POST /api/v1/backup).
 *
 * The copy goes to a new file next to PATH, is checked (the SHA-256 the
 * daemon computed, then the archive read whole as a restore reads it),
 * synced, and only then renamed to PATH, so PATH is either the whole
 * backup or not there: never a torn one. An existing PATH is kept unless
 * --force says to replace it. Started runs whose output file the daemon
 * did not have are named on stderr. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/client.h"
#include "cli/cmdline.h"
#include "store/bundle.h"
#include "util/err.h"
#include "../banned.h"

/* The SHA-256 of FD as hex. */
static int check_copy(int fd, uint64_t len, char hex[2 * crypto_hash_sha256_BYTES + 1],
                      struct err *err)
{
    crypto_hash_sha256_state st;
    unsigned char buf[65536], out[crypto_hash_sha256_BYTES];
    uint64_t off = 0;

    if (len < 512)
        return err_set(err, CHIME_EIO, "", "the daemon sent %" PRIu64 " bytes: not a backup",
                       len);
    crypto_hash_sha256_init(&st);
    while (off < len) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_set(err, CHIME_EIO, "file", "reading the copy back failed: %s",
                           n < 0 ? strerror(errno) : "it is shorter than written");
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        off += (uint64_t)n;
    }
    crypto_hash_sha256_final(&st, out);
    sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, out, sizeof out);
    return 0;
}

/* Syncs the directory of PATH, so that the rename is durable too. */
static void sync_dir(const char *path)
{
    char copy[PATH_MAX];
    int fd;

    snprintf(copy, sizeof copy, "%s", path);
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

struct backup_opts {
    bool force, json;
};

int cli_backup(int argc, char **argv)
{
    static const struct cmdline_opt rows[] = {
        { "force", 0, CMDLINE_FLAG, offsetof(struct backup_opts, force), NULL,
          "replace PATH when it exists" },
        { "json", 0, CMDLINE_FLAG, offsetof(struct backup_opts, json), NULL,
          "{\"path\", \"bytes\", \"sha256\", \"outputs\", \"missing_outputs\"} when done" },
    };
    static const struct cmdline_spec spec = {
        "backup", "PATH",
        "  PATH     where to write the backup, on this machine: a tar archive of the database,\n"
        "           consistent as of one moment while the daemon runs, and the output files\n"
        "           of its runs (to restore: stop the daemon, chime restore PATH)\n",
        rows, sizeof rows / sizeof rows[0], NULL, 1, 1, "PATH",
    };
    struct backup_opts opt = { 0 };
    char tmp[PATH_MAX], want[2 * crypto_hash_sha256_BYTES + 8], got[2 * crypto_hash_sha256_BYTES + 1];
    struct client *c = NULL;
    struct err err = {0};
    struct bundle_info info;
    struct stat sb;
    const char *path;
    bool made = false;
    uint64_t bytes = 0;
    int rc, fd = -1;

    if ((rc = cmdline_parse(&spec, argc, argv, &opt)) < 0)
        return cmdline_exit(rc);
    path = argv[1];
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        err_set(&err, CHIME_EINVAL, "PATH", "%s is a directory: name the file to write", path);
        cli_error("backup", &err);
        return 2;
    }
    if (!opt.force && stat(path, &sb) == 0) {
        err_set(&err, CHIME_EINVAL, "PATH", "%s exists (--force replaces it)", path);
        cli_error("backup", &err);
        return 2;
    }
    if (sodium_init() < 0) {
        err_set(&err, CHIME_EIO, "", "libsodium could not start");
        cli_error("backup", &err);
        return 1;
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.partial-XXXXXX", path) >= sizeof tmp) {
        err_set(&err, CHIME_EINVAL, "PATH", "the path is too long");
        cli_error("backup", &err);
        return 2;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        err_set(&err, CHIME_EINVAL, "PATH", "cannot write next to %s: %s", path, strerror(errno));
        cli_error("backup", &err);
        return 2;
    }
    made = true;
    if (client_new(&c, &err) < 0) {
        rc = client_fail(NULL, "backup", &err);
        goto done;
    }
    rc = client_download(c, "POST", "/api/v1/backup", fd, "X-Chime-Sha256", want, sizeof want,
                         &bytes, &err);
    if (rc < 0) {
        rc = client_fail(c, "backup", &err);
        goto done;
    }
    if (check_copy(fd, bytes, got, &err) < 0 || (want[0] && strcmp(want, got) != 0)) {
        if (!err.code)
            err_set(&err, CHIME_EIO, "", "the copy received does not have the SHA-256 the daemon "
                                         "sent: the transfer was damaged");
        rc = client_fail(c, "backup", &err);
        goto done;
    }
    if (bundle_read(tmp, NULL, &info, &err) < 0) {
        rc = client_fail(c, "backup", &err);
        goto done;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        err_set(&err, CHIME_EIO, "file", "writing %s failed: %s", tmp, strerror(errno));
        rc = client_fail(c, "backup", &err);
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        err_set(&err, CHIME_EIO, "PATH", "cannot put the backup at %s: %s", path, strerror(errno));
        rc = client_fail(c, "backup", &err);
        goto done;
    }
    made = false;
    sync_dir(path);
    if (info.missing) {
        char ids[BUNDLE_MISSING_SHOWN * 24] = "";
        size_t k = 0;

        for (int64_t i = 0; i < info.missing && i < BUNDLE_MISSING_SHOWN; i++)
            k += (size_t)snprintf(ids + k, sizeof ids - k, "%s%" PRId64, i ? ", " : "",
                                  info.missing_ids[i]);
        fprintf(stderr, "chime backup: %" PRId64 " started run%s without an output file in the "
                        "daemon's data directory: %s%s (the backup names them)\n",
                info.missing, info.missing == 1 ? "" : "s", ids,
                info.missing > BUNDLE_MISSING_SHOWN ? ", ..." : "");
    }
    if (opt.json) {
        json_t *o = json_pack("{s:s, s:I, s:s, s:I, s:I}", "path", path, "bytes",
                              (json_int_t)bytes, "sha256", got, "outputs",
                              (json_int_t)info.outputs, "missing_outputs",
                              (json_int_t)info.missing);

        rc = cli_json_print(o);
        json_decref(o);
    } else {
        printf("backed up to %s (%" PRIu64 " bytes, sha256 %s): the database and %" PRId64
               " run output file%s\n",
               path, bytes, got, info.outputs, info.outputs == 1 ? "" : "s");
        rc = fflush(stdout) == 0 ? 0 : 1;
    }
done:
    if (fd >= 0)
        close(fd);
    if (made)
        unlink(tmp);
    client_free(c);
    return rc;
}
