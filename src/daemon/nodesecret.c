/* nodesecret.c: the daemon's secret key (DATA_DIR/secret.key), loaded or
 * made at start-up, and checked against the store.
 *
 * Start-up refuses, with a message that says what to do, a key file that
 * cannot be read, has the wrong size or mode, is missing while the store
 * holds sealed secrets, or does not open a sealed secret of the newest
 * job versions (the wrong file: another daemon's, or an old one). The
 * search is bounded (KEY_CHECK_VERSIONS) so that a start reads no more
 * than that of a large store; only a missing key file, a rare start, reads
 * every version. docs/secrets.md tells the whole story. */
#include "daemon/node_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "job/jobsecret.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/secret.h"
#include "../banned.h"

#define SEALED_NEEDLE      "\"box\":\""    /* only a sealed secret has a "box" member */
#define KEY_CHECK_VERSIONS 10000

/* The first sealed value of DOC's env: its box text, or NULL. */
static const char *first_box(const json_t *doc, size_t *ret_len)
{
    json_t *env = json_object_get(doc, "env"), *v;
    const char *name;

    json_object_foreach(env, name, v) {
        json_t *box = json_object_get(json_object_get(v, "secret"), "box");

        if (json_is_string(box)) {
            *ret_len = json_string_length(box);
            return json_string_value(box);
        }
    }
    return NULL;
}

/* Does KEY open the sealed secrets of the newest versions? */
static int check_key(struct node *n, const struct secret_key *key, const char *path,
                     struct err *err)
{
    char *text = NULL, *plain = NULL;
    size_t len = 0, box_len = 0, plain_len = 0;
    const char *box;
    json_t *doc;
    int rc;

    rc = store_job_doc_find(n->store, SEALED_NEEDLE, KEY_CHECK_VERSIONS, &text, &len, err);
    if (rc < 0 || !text)
        return rc;
    doc = json_loadb(text, len, 0, NULL);
    free(text);
    box = doc ? first_box(doc, &box_len) : NULL;
    rc = box ? secret_open(key, box, box_len, &plain, &plain_len, NULL) : 0;
    secret_plain_free(plain, plain_len);
    json_decref(doc);
    if (rc < 0)
        return err_set(err, CHIME_EINVAL, "", "the key file %s does not open the job secrets "
                       "in the store (they were sealed under another key file): put back the "
                       "key file of this database", path);
    return 0;
}

int node_secret_open(struct node *n, const char *data_dir, struct err *err)
{
    char path[PATH_MAX], *text = NULL;
    struct secret_key *key = NULL;
    bool created = false;
    int rc;

    if (!node_path_join(path, sizeof path, data_dir, SECRET_KEY_FILE))
        return err_set(err, CHIME_ETOOBIG, "data-dir", "'%s' is too long", data_dir);
    rc = secret_key_load(path, false, &key, NULL, err);
    if (rc == -CHIME_ENOTFOUND) {
        /* no key: only a store without sealed secrets may get a new one */
        rc = store_job_doc_find(n->store, SEALED_NEEDLE, 0, &text, NULL, err);
        if (rc < 0)
            return rc;
        if (text) {
            free(text);
            return err_set(err, CHIME_ENOTFOUND, "", "the key file %s is missing, and the store "
                           "holds job secrets sealed with it: put back the key file of this "
                           "database (a new key cannot open them)", path);
        }
        rc = secret_key_load(path, true, &key, &created, err);
    }
    if (rc < 0)
        return rc;
    if ((rc = check_key(n, key, path, err)) < 0) {
        secret_key_free(key);
        return rc;
    }
    if (created)
        log_info("made the secret key %s (mode 0600): job secrets are sealed with it; back it "
                 "up apart from the database, which is no use for secrets without it", path);
    n->secret_key = key;
    return 0;
}
