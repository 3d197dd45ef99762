/* admin.c: the first admin token. A store without any token (a new data
 * directory, or one from before tokens) gets an admin token named "admin"
 * for every namespace, and its secret goes to DATA_DIR/admin.token, so
 * that the CLI on the same machine finds it and nobody else can read it.
 *
 * The file is created with O_CREAT | O_EXCL and mode 0600 (never
 * world-readable, not even for a moment, whatever the umask), written,
 * fsynced, and only then is the token's hash stored: a crash in between
 * leaves a file whose token does not work and no token, and the next
 * start tries again (a stale file is replaced the same way: a new file
 * beside it, renamed over it). */
#include "api/api_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "api/token.h"
#include "store/store.h"
#include "../banned.h"

#define ADMIN_NAME "admin"

static int file_write(const char *path, const char *tmp, const char *text, struct err *err)
{
    size_t len = strlen(text), off = 0;
    int fd, rc = 0;

    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_set(err, CHIME_EIO, "data-dir", "cannot create '%s': %s", tmp, strerror(errno));
    while (rc == 0 && off < len) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = err_set(err, CHIME_EIO, "data-dir", "cannot write '%s': %s", tmp,
                         strerror(errno));
        else
            off += (size_t)n;
    }
    if (rc == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) < 0))
        rc = err_set(err, CHIME_EIO, "data-dir", "cannot write '%s': %s", tmp, strerror(errno));
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = err_set(err, CHIME_EIO, "data-dir", "cannot rename '%s': %s", tmp, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int api_admin_token(struct store *s, const char *data_dir, char *ret_path, size_t path_len,
                    bool *ret_created, struct err *err)
{
    struct store_token t = {0};
    char secret[TOKEN_TEXT_LEN + 1], tmp[4096];
    int64_t n = 0;
    int rc;

    if ((size_t)snprintf(ret_path, path_len, "%s/admin.token", data_dir) >= path_len
        || (size_t)snprintf(tmp, sizeof tmp, "%s/.admin.token.new", data_dir) >= sizeof tmp)
        return err_set(err, CHIME_ETOOBIG, "data-dir", "'%s' is too long", data_dir);
    *ret_created = false;
    rc = store_token_count(s, &n, err);
    if (rc < 0 || n > 0)
        return rc;
    rc = token_new(secret, t.key, t.hash, err);
    if (rc < 0)
        return rc;
    rc = file_write(ret_path, tmp, secret, err);
    sodium_memzero(secret, sizeof secret);
    if (rc < 0)
        return rc;
    snprintf(t.name, sizeof t.name, ADMIN_NAME);
    snprintf(t.role, sizeof t.role, "%s", token_role_name(TOKEN_ADMIN));
    t.hash_len = TOKEN_HASH_LEN;
    t.created_us = api_now_us();
    t.expires_us = STORE_NULL;
    t.revoked_us = STORE_NULL;
    rc = store_token_insert(s, &t, NULL, err);
    if (rc < 0)
        return rc;
    *ret_created = true;
    return 0;
}
