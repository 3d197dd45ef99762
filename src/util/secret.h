/* secret.h: the daemon's secret key, and secrets sealed with it.
 *
 * A job's secret env values are stored sealed: libsodium's crypto_secretbox
 * (XSalsa20-Poly1305) under one 32-byte key that lives in DATA_DIR/secret.key
 * (mode 0600, made on first start). A sealed value is the base64 text of
 * nonce (24 random bytes) followed by the box (MAC and ciphertext), so the
 * same value sealed twice gives two texts, and a text that was changed, cut
 * or sealed under another key does not open. docs/secrets.md has the threat
 * model.
 *
 * A key is immutable once loaded and safe to share between threads; it
 * lives in memory that libsodium guards (sodium_malloc: no swap, guard
 * pages, read-only). Plaintexts returned here are owned by the caller, who
 * wipes and frees them with secret_plain_free(). */
#ifndef CHIME_SECRET_H
#define CHIME_SECRET_H

#include <stdbool.h>
#include <stddef.h>

struct err;
struct secret_key;

#define SECRET_KEY_FILE  "secret.key"
#define SECRET_KEY_BYTES 32
#define SECRET_TAG_LEN   17 /* a sealed value's tag: 16 hex digits and the NUL */

/* Reads the key file at PATH: a regular file of exactly SECRET_KEY_BYTES
 * bytes that neither group nor others may read. When it does not exist and
 * CREATE is set, makes it first (O_EXCL, mode 0600 from its creation on,
 * random bytes, fsynced with its directory) and sets *RET_CREATED (may be
 * NULL). A missing file without CREATE is CHIME_ENOTFOUND; any other fault
 * is CHIME_EIO or CHIME_EINVAL with a message naming the file. Returns an
 * owned key in *RET. */
int secret_key_load(const char *path, bool create, struct secret_key **ret, bool *ret_created,
                    struct err *err);
/* A key of the LEN (SECRET_KEY_BYTES) bytes at BYTES, for tests. */
int secret_key_from_bytes(const unsigned char *bytes, size_t len, struct secret_key **ret,
                          struct err *err);
void secret_key_free(struct secret_key *k);

/* Seals LEN bytes of PLAIN under K: *RET is the owned, NUL-terminated
 * base64 text. */
int secret_seal(const struct secret_key *k, const char *plain, size_t len, char **ret,
                struct err *err);
/* Opens the sealed text BOX (LEN bytes) under K: *RET is the owned
 * plaintext with a NUL after its *RET_LEN bytes. Text that is not base64 of
 * a box is CHIME_EINVAL; a box that does not open (changed, or sealed
 * under another key) is CHIME_ECONFLICT. Messages never hold the plaintext. */
int secret_open(const struct secret_key *k, const char *box, size_t len, char **ret,
                size_t *ret_len, struct err *err);
/* Whether BOX (LEN bytes) has the form of a sealed value (base64 of a
 * nonce and a box); says nothing about the key. */
bool secret_box_valid(const char *box, size_t len);
/* A sealed value's tag: 16 hex digits of a hash of its text, so a view can
 * tell one sealed value from another without showing it. Tells nothing
 * about the plaintext (the text is random for every seal). */
void secret_tag(const char *box, size_t len, char buf[SECRET_TAG_LEN]);
/* Wipes LEN bytes of P and frees it; NULL does nothing. */
void secret_plain_free(char *p, size_t len);

#endif
