/* token.h: API tokens: their secrets, the hashes the store keeps of them,
 * and what a token may do (its role and its namespaces).
 *
 * A secret reads "chime_" ID "_" SECRET: ID is 16 hex digits (8 random
 * bytes) that name the token without being secret, so the store finds
 * its row by it (the log may show it); SECRET is 43 base64url characters
 * of 32 random bytes from libsodium. The store keeps only BLAKE2b-256 of
 * the whole text (crypto_generichash). A fast hash is the right one for
 * 256 random bits: a slow password hash defends guessable secrets, and
 * nobody can guess these; it would only slow every request down.
 * Checking compares the hashes in constant time (sodium_memcmp).
 *
 * Pure functions; thread-safe once token_init() has returned. */
#ifndef CHIME_API_TOKEN_H
#define CHIME_API_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/vocab.h"

struct err;

#define TOKEN_PREFIX       "chime_"
#define TOKEN_ID_LEN       16 /* hex digits of the public id */
#define TOKEN_SECRET_BYTES 32
#define TOKEN_SECRET_LEN   43 /* base64url, no padding */
#define TOKEN_TEXT_LEN     (6 + TOKEN_ID_LEN + 1 + TOKEN_SECRET_LEN)
#define TOKEN_HASH_LEN     32

/* Roles, weakest first: each can do what the ones before it can (the
 * table and what each may do: store/vocab.h). 0 is none. */
enum token_role {
    TOKEN_ROLE_NONE,
#define X(id, ...) TOKEN_##id,
    STORE_ROLES(X)
#undef X
    TOKEN_ROLE_END
};

/* Starts libsodium (once; any thread). CHIME_EIO when it cannot. */
int token_init(struct err *err);

/* A new secret into TEXT (TOKEN_TEXT_LEN + 1 bytes), its public id into
 * ID (TOKEN_ID_LEN + 1) and its hash into HASH. */
int token_new(char *text, char *id, unsigned char *hash, struct err *err);

/* Checks that the LEN bytes of TEXT have a token's shape and copies its
 * public id into ID (TOKEN_ID_LEN + 1 bytes). CHIME_EINVAL otherwise; the
 * message never quotes the text. */
int token_parse(const char *text, size_t len, char *id, struct err *err);

/* HASH (TOKEN_HASH_LEN bytes) of the LEN bytes of TEXT. */
void token_hash(const char *text, size_t len, unsigned char *hash);

/* Whether TEXT hashes to STORED (STORED_LEN bytes), compared in constant
 * time. */
bool token_verify(const char *text, size_t len, const unsigned char *stored, size_t stored_len);

const char *token_role_name(enum token_role r);
/* CHIME_EINVAL naming FIELD (and the roles) for a name not in the table. */
int token_role_parse(const char *name, const char *field, enum token_role *ret, struct err *err);

/* Whether a token of namespaces NS_JSON (a JSON array of names; NULL:
 * every namespace) sees namespace NS. A malformed list sees nothing. */
bool token_sees(const char *ns_json, const char *ns);

/* Whether a token expiring at EXPIRES_US and revoked at REVOKED_US
 * (STORE_NULL: never) is valid at NOW_US; otherwise *RET_WHY (may be
 * NULL) says "expired" or "revoked". */
bool token_live(int64_t expires_us, int64_t revoked_us, int64_t now_us, const char **ret_why);

#endif
