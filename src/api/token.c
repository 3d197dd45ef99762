/* token.c: API tokens' secrets, hashes, roles and namespaces (token.h).
 *
 * Nothing here logs or keeps a secret: a secret lives in the caller's
 * buffer, and messages about a malformed one never quote it. */
#include "api/token.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "store/store.h"
#include "util/err.h"
#include "../banned.h"

static const char *const role_names[TOKEN_ROLE_END] = {
#define X(id, name) [TOKEN_##id] = name,
    STORE_ROLES(X)
#undef X
};

int token_init(struct err *err)
{
    if (sodium_init() < 0)
        return err_set(err, CHIME_EIO, "", "libsodium could not start");
    return 0;
}

int token_new(char *text, char *id, unsigned char *hash, struct err *err)
{
    unsigned char idb[TOKEN_ID_LEN / 2], secret[TOKEN_SECRET_BYTES];
    char b64[sodium_base64_ENCODED_LEN(TOKEN_SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    int rc;

    if ((rc = token_init(err)) < 0)
        return rc;
    randombytes_buf(idb, sizeof idb);
    randombytes_buf(secret, sizeof secret);
    sodium_bin2hex(id, TOKEN_ID_LEN + 1, idb, sizeof idb);
    sodium_bin2base64(b64, sizeof b64, secret, sizeof secret,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof secret);
    snprintf(text, TOKEN_TEXT_LEN + 1, TOKEN_PREFIX "%s_%s", id, b64);
    sodium_memzero(b64, sizeof b64);
    token_hash(text, strlen(text), hash);
    return 0;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
        || c == '_';
}

int token_parse(const char *text, size_t len, char *id, struct err *err)
{
    const size_t p = sizeof TOKEN_PREFIX - 1;
    size_t i;

    if (len != TOKEN_TEXT_LEN || memcmp(text, TOKEN_PREFIX, p) != 0 || text[p + TOKEN_ID_LEN] != '_')
        return err_set(err, CHIME_EINVAL, "Authorization", "the token is not a chime token");
    for (i = 0; i < TOKEN_ID_LEN; i++)
        if (!is_hex(text[p + i]))
            return err_set(err, CHIME_EINVAL, "Authorization", "the token is not a chime token");
    for (i = p + TOKEN_ID_LEN + 1; i < len; i++)
        if (!is_b64url(text[i]))
            return err_set(err, CHIME_EINVAL, "Authorization", "the token is not a chime token");
    memcpy(id, text + p, TOKEN_ID_LEN);
    id[TOKEN_ID_LEN] = '\0';
    return 0;
}

void token_hash(const char *text, size_t len, unsigned char *hash)
{
    crypto_generichash(hash, TOKEN_HASH_LEN, (const unsigned char *)text, len, NULL, 0);
}

bool token_verify(const char *text, size_t len, const unsigned char *stored, size_t stored_len)
{
    unsigned char h[TOKEN_HASH_LEN];
    bool ok;

    if (stored_len != TOKEN_HASH_LEN)
        return false;
    token_hash(text, len, h);
    ok = sodium_memcmp(h, stored, TOKEN_HASH_LEN) == 0;
    sodium_memzero(h, sizeof h);
    return ok;
}

const char *token_role_name(enum token_role r)
{
    return (int)r > TOKEN_ROLE_NONE && r < TOKEN_ROLE_END ? role_names[r] : "none";
}

int token_role_parse(const char *name, const char *field, enum token_role *ret, struct err *err)
{
    char q[48], all[64];
    int r = vocab_find(role_names, TOKEN_ROLE_END, name);

    if (r > TOKEN_ROLE_NONE) {
        *ret = (enum token_role)r;
        return 0;
    }
    return err_set(err, CHIME_EINVAL, field, "'%s' is not a role (%s)",
                   name ? err_quote(name, strlen(name), q, sizeof q) : "",
                   vocab_join(role_names, TOKEN_ROLE_END, ", ", all, sizeof all));
}

bool token_sees(const char *ns_json, const char *ns)
{
    json_t *a, *v;
    size_t i;
    bool found = false;

    if (!ns_json)
        return true;
    a = json_loads(ns_json, 0, NULL);
    json_array_foreach(a, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), ns))
    {
        found = true;
        break;
    }
    json_decref(a);
    return found;
}

bool token_live(int64_t expires_us, int64_t revoked_us, int64_t now_us, const char **ret_why)
{
    const char *why = NULL;

    if (revoked_us != STORE_NULL)
        why = "revoked";
    else if (expires_us != STORE_NULL && now_us >= expires_us)
        why = "expired";
    if (why && ret_why)
        *ret_why = why;
    return !why;
}
