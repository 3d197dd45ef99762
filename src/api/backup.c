/* backup.c: POST /api/v1/backup, an online backup of the database streamed
 * to the client (`chime backup PATH` writes it where the client runs, so
 * the CLI may be on another machine than the daemon).
 *
 * The copy is made by store_backup() (SQLite's online backup API on a
 * connection of its own, from one read snapshot: consistent while the
 * daemon goes on scheduling, and the store's writer is never held) into a
 * file in the data directory. The file is unlinked as soon as it is open,
 * so nothing is left behind whatever becomes of the transfer, and it is
 * sent from that descriptor. Its SHA-256 goes in a header for the client
 * to check what it received. One backup at a time: a second one asked
 * meanwhile is 409. The database holds everything (token hashes too), so
 * the route is for an admin of every namespace. */
#include "api_int.h"

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

int api_backup(struct api_call *c)
{
    char path[PATH_MAX], hex[2 * crypto_hash_sha256_BYTES + 1], at[ISOTIME_LEN], name[64];
    struct MHD_Response *r;
    struct stat sb;
    int fd = -1, rc;
    size_t k;

    if (pthread_mutex_trylock(&backup_one) != 0)
        return err_set(&c->err, CHIME_ECONFLICT, "", "a backup is being made already: try again "
                                                     "when it is done");
    if ((size_t)snprintf(path, sizeof path, "%s/.backup-XXXXXX", c->api->data_dir) >= sizeof path) {
        rc = err_set(&c->err, CHIME_EIO, "", "backup: the data directory's path is too long");
        goto done;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        rc = err_set(&c->err, CHIME_EIO, "", "backup: cannot make a file in the data directory: %s",
                     strerror(errno));
        goto done;
    }
    close(fd);
    rc = store_backup(c->api->opt.store, path, &c->err);
    if (rc < 0) {
        unlink(path);
        fd = -1;
        goto done;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    unlink(path); /* from here the descriptor alone keeps the copy */
    if (fd < 0 || fstat(fd, &sb) < 0) {
        rc = err_set(&c->err, CHIME_EIO, "", "backup: opening the copy: %s", strerror(errno));
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
    /* chime-backup-20261124T010000Z.db */
    isotime_format_utc(api_now_us(), at, sizeof at);
    k = 0;
    for (const char *p = at; *p && *p != '.' && k + 1 < sizeof name; p++)
        if (*p != '-' && *p != ':')
            name[k++] = *p;
    name[k] = '\0';
    c->response = r;
    c->status = 200;
    c->text_type = "application/vnd.sqlite3";
    api_reply_header(c, "Content-Disposition", "attachment; filename=\"chime-backup-%sZ.db\"",
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
