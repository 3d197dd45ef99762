/* secret.c: the key file and crypto_secretbox (see secret.h).
 *
 * The key file is made with O_EXCL and mode 0600 in the same open() call,
 * so it is never readable by others, not even for an instant (the umask
 * can only take bits away), and two daemons starting at once cannot both
 * make one: the loser reads the winner's. */
#include "util/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/err.h"
#include "../banned.h"

#define NONCE_BYTES crypto_secretbox_NONCEBYTES
#define MAC_BYTES   crypto_secretbox_MACBYTES
#define B64         sodium_base64_VARIANT_ORIGINAL
#define TAG_BYTES   8

struct secret_key {
    unsigned char k[crypto_secretbox_KEYBYTES];
};

_Static_assert(SECRET_KEY_BYTES == crypto_secretbox_KEYBYTES, "the key file holds one key");

static int key_new(const unsigned char *bytes, struct secret_key **ret, struct err *err)
{
    struct secret_key *k;

    if (sodium_init() < 0)
        return err_set(err, CHIME_EIO, "", "libsodium does not initialise");
    k = sodium_malloc(sizeof *k);
    if (!k)
        return err_set(err, CHIME_ENOMEM, "", "out of memory for the secret key");
    memcpy(k->k, bytes, sizeof k->k);
    sodium_mprotect_readonly(k);
    *ret = k;
    return 0;
}

int secret_key_from_bytes(const unsigned char *bytes, size_t len, struct secret_key **ret,
                          struct err *err)
{
    if (len != SECRET_KEY_BYTES)
        return err_set(err, CHIME_EINVAL, "", "a key of %zu bytes, want %d", len,
                       SECRET_KEY_BYTES);
    return key_new(bytes, ret, err);
}

void secret_key_free(struct secret_key *k)
{
    if (k)
        sodium_free(k); /* wipes it */
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Makes the key file: 0 made, 1 it exists already (another process made
 * it meanwhile, or it was there), or an error. */
static int key_create(const char *path, struct err *err)
{
    unsigned char bytes[SECRET_KEY_BYTES];
    char dir[4096];
    const char *slash;
    int fd, e;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return 1;
    if (fd < 0)
        return err_set(err, CHIME_EIO, "", "cannot make the key file %s: %s", path,
                       strerror(errno));
    randombytes_buf(bytes, sizeof bytes);
    if (write_all(fd, bytes, sizeof bytes) < 0 || fsync(fd) < 0) {
        e = errno;
        sodium_memzero(bytes, sizeof bytes);
        close(fd);
        unlink(path); /* a short key file would refuse every later start */
        return err_set(err, CHIME_EIO, "", "cannot write the key file %s: %s", path,
                       strerror(e ? e : EIO));
    }
    sodium_memzero(bytes, sizeof bytes);
    close(fd);
    /* the directory entry too: a key lost in a crash loses every secret */
    slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == path ? 1 : slash - path) : 1,
             slash ? path : ".");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return 0;
}

int secret_key_load(const char *path, bool create, struct secret_key **ret, bool *ret_created,
                    struct err *err)
{
    unsigned char bytes[SECRET_KEY_BYTES + 1];
    bool created = false;
    struct stat st;
    ssize_t got;
    int fd, rc;

    if (create) {
        rc = key_create(path, err);
        if (rc < 0)
            return rc;
        created = rc == 0;
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, errno == ENOENT ? CHIME_ENOTFOUND : CHIME_EIO, "",
                       "cannot read the key file %s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, CHIME_EINVAL, "", "the key file %s is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return err_set(err, CHIME_EINVAL, "",
                       "the key file %s has mode %04o: others may read it (chmod 600 it)", path,
                       (unsigned)(st.st_mode & 07777));
    }
    do
        got = read(fd, bytes, sizeof bytes);
    while (got < 0 && errno == EINTR);
    close(fd);
    if (got != SECRET_KEY_BYTES) {
        sodium_memzero(bytes, sizeof bytes);
        if (got < 0)
            return err_set(err, CHIME_EIO, "", "cannot read the key file %s: %s", path,
                           strerror(errno));
        return err_set(err, CHIME_EINVAL, "", "the key file %s has %s%zd bytes, want %d", path,
                       got > SECRET_KEY_BYTES ? "more than " : "", got > SECRET_KEY_BYTES
                       ? (ssize_t)SECRET_KEY_BYTES : got, SECRET_KEY_BYTES);
    }
    rc = key_new(bytes, ret, err);
    sodium_memzero(bytes, sizeof bytes);
    if (rc == 0 && ret_created)
        *ret_created = created;
    return rc;
}

int secret_seal(const struct secret_key *k, const char *plain, size_t len, char **ret,
                struct err *err)
{
    size_t raw_len = NONCE_BYTES + MAC_BYTES + len, b64_len;
    unsigned char *raw;
    char *text;

    if (len > SIZE_MAX / 2 - NONCE_BYTES - MAC_BYTES)
        return err_set(err, CHIME_ETOOBIG, "", "a secret of %zu bytes is too long", len);
    b64_len = sodium_base64_encoded_len(raw_len, B64);
    raw = malloc(raw_len);
    text = malloc(b64_len);
    if (!raw || !text) {
        free(raw);
        free(text);
        return err_set(err, CHIME_ENOMEM, "", "out of memory sealing a secret");
    }
    randombytes_buf(raw, NONCE_BYTES);
    crypto_secretbox_easy(raw + NONCE_BYTES, (const unsigned char *)plain, len, raw, k->k);
    sodium_bin2base64(text, b64_len, raw, raw_len, B64);
    free(raw);      /* ciphertext only: nothing to wipe */
    *ret = text;
    return 0;
}

/* The bytes of BOX (LEN bytes of base64) in *RET (owned) and *RET_LEN. */
static int box_decode(const char *box, size_t len, unsigned char **ret, size_t *ret_len)
{
    size_t cap = len / 4 * 3 + 3, n = 0;
    unsigned char *raw;
    const char *end;

    if (len == 0 || len > SIZE_MAX / 2)
        return -1;
    raw = malloc(cap);
    if (!raw)
        return -2;
    if (sodium_base642bin(raw, cap, box, len, NULL, &n, &end, B64) != 0 || end != box + len
        || n < NONCE_BYTES + MAC_BYTES) {
        free(raw);
        return -1;
    }
    *ret = raw;
    *ret_len = n;
    return 0;
}

bool secret_box_valid(const char *box, size_t len)
{
    unsigned char *raw;
    size_t n;

    if (box_decode(box, len, &raw, &n) < 0)
        return false;
    free(raw);
    return true;
}

int secret_open(const struct secret_key *k, const char *box, size_t len, char **ret,
                size_t *ret_len, struct err *err)
{
    unsigned char *raw = NULL;
    size_t n = 0, plain_len;
    char *plain;
    int rc = box_decode(box, len, &raw, &n);

    if (rc == -2)
        return err_set(err, CHIME_ENOMEM, "", "out of memory opening a secret");
    if (rc < 0)
        return err_set(err, CHIME_EINVAL, "", "not a sealed secret (base64 of a nonce and a box)");
    plain_len = n - NONCE_BYTES - MAC_BYTES;
    plain = malloc(plain_len + 1);
    if (!plain) {
        free(raw);
        return err_set(err, CHIME_ENOMEM, "", "out of memory opening a secret");
    }
    if (crypto_secretbox_open_easy((unsigned char *)plain, raw + NONCE_BYTES, n - NONCE_BYTES,
                                   raw, k->k) != 0) {
        free(raw);
        secret_plain_free(plain, plain_len + 1);
        return err_set(err, CHIME_ECONFLICT, "",
                       "the sealed secret does not open with this key (it was changed, or "
                       "sealed under another key file)");
    }
    free(raw);
    plain[plain_len] = '\0';
    *ret = plain;
    *ret_len = plain_len;
    return 0;
}

void secret_tag(const char *box, size_t len, char buf[SECRET_TAG_LEN])
{
    unsigned char h[TAG_BYTES];

    crypto_generichash(h, sizeof h, (const unsigned char *)box, len, NULL, 0);
    sodium_bin2hex(buf, SECRET_TAG_LEN, h, sizeof h);
}

void secret_plain_free(char *p, size_t len)
{
    if (!p)
        return;
    sodium_memzero(p, len);
    free(p);
}
