/* jobsecret.h: secret env values of a job document.
 *
 * An env value is a string, or a secret in one of three forms:
 *
 *     {"secret": "s3cr3t"}                           given: what a client writes
 *     {"secret": {"v": 1, "box": "<base64>"}}        sealed: what the store keeps
 *     {"secret": {"redacted": "3fa9c2d1e0b4a7f6"}}   redacted: what the API shows
 *
 * job_from_json() reads all three (struct job_kv's kind says which), so a
 * view can be edited and written back. Before a document is stored,
 * job_doc_seal() turns it into sealed form only: a given value is sealed
 * (or keeps the box it already has when it is the same value), a redacted
 * one takes the box of the job's current version whose tag it shows, a
 * sealed one must open. Every reply that holds a document passes it through
 * job_doc_redact(). A run opens its sealed values with job_env_open().
 *
 * The tag of a redacted value is a hash of the sealed text (secret_tag()):
 * it changes when the secret is set again, so diffs show that a secret
 * changed, and says nothing about the value. No message here quotes a
 * secret's value. */
#ifndef CHIME_JOBSECRET_H
#define CHIME_JOBSECRET_H

#include <stddef.h>

struct err;
struct job_body;
struct job_kv;
struct secret_key;
typedef struct json_t json_t;

#define JOB_SECRET_FORMAT   1                       /* "v" of a sealed value */
#define JOB_SECRET_UNSEALED "new"                   /* the tag of a value not sealed yet */
#define JOB_SECRET_BOX_MAX  ((size_t)64 * 1024)     /* bytes of a sealed value's text */

/* Reads the object V, an env value at PATH ("env.API_KEY"), as a secret
 * into KV's kind and value (owned); the key is the caller's. A given value
 * is at most MAX bytes. Errors name the member ("env.API_KEY.secret.v")
 * and never quote a value. */
int job_env_secret_read(const json_t *v, const char *path, size_t max, struct job_kv *kv,
                        struct err *err);
/* KV's value as the document writes it; a new reference, NULL when out of
 * memory. */
json_t *job_env_secret_write(const struct job_kv *kv);

/* Replaces every secret of DOC's "env" by its redacted form, in place.
 * Tolerates any document (what is not a secret is left alone). 0, or -1
 * when out of memory. */
int job_doc_redact(json_t *doc);

/* Puts every secret of DOC's "env" in sealed form, in place, under KEY
 * (NULL: the daemon has none, and a document with secrets is refused).
 * CURRENT (may be NULL) is the job's stored document now: a given value
 * equal to its secret of the same name keeps that box (so writing a job
 * back unchanged makes no new version), and a redacted value must show the
 * tag of its box. Errors name the member. */
int job_doc_seal(json_t *doc, const json_t *current, const struct secret_key *key,
                 struct err *err);

/* B's env with every secret opened under KEY: *RET_ENV (B->n_env entries)
 * and *RET_SECRETS (the secret values, NULL-terminated, pointing into
 * *RET_ENV), both released with job_env_release(). A sealed value that
 * does not open, or a redacted one, is an error naming it. */
int job_env_open(const struct job_body *b, const struct secret_key *key,
                 struct job_kv **ret_env, char ***ret_secrets, struct err *err);
void job_env_release(struct job_kv *env, size_t n, char **secrets);

#endif
