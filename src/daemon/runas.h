/* runas.h: which user a namespace's jobs run as when the daemon is root,
 * as the daemon's operator configured it, never the job document
 * (docs/security.md): `--uid-range LO-HI` (each namespace gets a uid of
 * its own from the range, kept in the store), `--run-as NS=USER[:GROUP]`
 * (a namespace runs as an existing user), `--root-namespaces NS,...` (the
 * explicit exception: those run as root). Immutable after runas_new(),
 * safe to share between threads; the caller owns it (runas_free()). */
#ifndef CHIME_RUNAS_H
#define CHIME_RUNAS_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct exec_identity;
struct runas;

#define RUNAS_DEFAULT_RANGE "61184-65519" /* systemd's DynamicUser range */
#define RUNAS_RANGE_MIN     1000          /* below: the system's own users */
#define RUNAS_ID_MAX        INT64_C(2147483646)
#define RUNAS_ENTRIES_MAX   1024 /* --run-as and --root-namespaces entries, each */

enum runas_kind {
    RUNAS_ALLOCATED, /* a uid of the range, from store_ns_user_claim() */
    RUNAS_MAPPED,    /* --run-as */
    RUNAS_ROOT,      /* --root-namespaces */
};

/* RANGE "LO-HI" (NULL: RUNAS_DEFAULT_RANGE), RUN_AS "NS=USER[:GROUP]"
 * entries joined by ',' (NULL: none), ROOT "NS,..." (NULL: none). Users and
 * groups are names or numbers, looked up now: an unknown one, root, a uid
 * inside the range, two namespaces on one uid, a namespace named twice or
 * in both lists are errors naming the option. Returns an owned runas. */
int runas_new(const char *range, const char *run_as, const char *root, struct runas **ret,
              struct err *err);
void runas_free(struct runas *r);

/* What NS runs as; RUNAS_MAPPED fills *RET. */
enum runas_kind runas_find(const struct runas *r, const char *ns, struct exec_identity *ret);
/* The range, and the uids in it that are someone else's (the system's users
 * and groups, sorted): a namespace never gets one. */
void runas_range(const struct runas *r, int64_t *ret_lo, int64_t *ret_hi);
const int64_t *runas_avoid(const struct runas *r, size_t *ret_n);
/* The identity of an allocated UID: its own group, no other. */
void runas_allocated(int64_t uid, struct exec_identity *ret);

#endif
