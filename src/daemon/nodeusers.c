/* nodeusers.c: whom the daemon's jobs run as (docs/security.md).
 *
 * As root, every namespace runs as a user of its own (runas.h): mapped by
 * the operator, the explicit root exception, or a uid of the range that
 * the store keeps for it. The allocated uids are cached here for the
 * daemon's life: a namespace's first run claims its uid (one write, on
 * the loop, once per namespace), the later ones only look it up. Not
 * root, the daemon cannot switch users: jobs run as it does, as before. */
#include "daemon/node_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/exec.h"
#include "exec/sandbox.h"
#include "daemon/runas.h"
#include "store/store.h"
#include "util/log.h"
#include "util/secret.h"
#include "../banned.h"

struct ns_uid {
    char ns[JOB_NAME_MAX + 1];
    int64_t uid;
};

struct node_users {
    const struct runas *runas;
    struct runas *own; /* the defaults, when the options gave none */
    unsigned sandbox;  /* EXEC_SANDBOX_* the kernel allows */
    struct ns_uid *uids;
    size_t n_uids, cap;
};

int node_users_open(struct node *n, struct err *err)
{
    struct node_users *u;
    char why[256];
    int64_t lo, hi;
    int rc;

    if (geteuid() != 0) {
        log_info("running as uid %d, not root: every job runs as this user, without privilege "
                 "separation (docs/security.md)",
                 (int)geteuid());
        if (n->opt.uid_range || n->opt.run_as || n->opt.root_namespaces)
            log_warn("--uid-range, --run-as and --root-namespaces take effect only as root");
        return 0;
    }
    u = calloc(1, sizeof *u);
    if (!u)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    n->users = u;
    u->runas = n->opt.runas;
    if (!u->runas) {
        rc = runas_new(n->opt.uid_range, n->opt.run_as, n->opt.root_namespaces, &u->own, err);
        if (rc < 0)
            return rc;
        u->runas = u->own;
    }
    u->sandbox = exec_sandbox_probe(why, sizeof why);
    if (why[0])
        log_warn("job sandbox: %s", why);
    runas_range(u->runas, &lo, &hi);
    log_info("running as root: each namespace's jobs run as a user of their own (uids %lld-%lld "
             "unless mapped), without capabilities, with no_new_privs%s%s",
             (long long)lo, (long long)hi,
             (u->sandbox & EXEC_SANDBOX_TMP) ? ", a private /tmp" : "",
             (u->sandbox & EXEC_SANDBOX_PROC) ? " and only their own processes in /proc" : "");
    return 0;
}

static int claim(struct node *n, const char *ns, int64_t *ret_uid, struct err *err)
{
    struct node_users *u = n->users;
    const int64_t *avoid;
    size_t n_avoid, i;
    int64_t lo, hi;
    int rc;

    for (i = 0; i < u->n_uids; i++)
        if (strcmp(u->uids[i].ns, ns) == 0) {
            *ret_uid = u->uids[i].uid;
            return 0;
        }
    runas_range(u->runas, &lo, &hi);
    avoid = runas_avoid(u->runas, &n_avoid);
    rc = store_ns_user_claim(n->store, ns, lo, hi, avoid, n_avoid, ret_uid, err);
    if (rc < 0)
        return rc;
    if (u->n_uids == u->cap) {
        size_t ncap = u->cap ? 2 * u->cap : 16;
        struct ns_uid *v = realloc(u->uids, ncap * sizeof *v);

        if (!v)
            return 0; /* not cached: claimed again next time, same answer */
        u->uids = v;
        u->cap = ncap;
    }
    snprintf(u->uids[u->n_uids].ns, sizeof u->uids[u->n_uids].ns, "%s", ns);
    u->uids[u->n_uids++].uid = *ret_uid;
    log_info("namespace %s: its jobs run as uid %lld", ns, (long long)*ret_uid);
    return 0;
}

int node_users_find(struct node *n, const char *ns, struct exec_spec *spec, struct err *err)
{
    struct node_users *u = n->users;
    int64_t uid;
    int rc;

    memset(&spec->user, 0, sizeof spec->user);
    spec->sandbox = 0;
    if (!u)
        return 0;
    switch (runas_find(u->runas, ns, &spec->user)) {
    case RUNAS_ROOT:
        return 0;
    case RUNAS_MAPPED:
        break;
    case RUNAS_ALLOCATED:
        if ((rc = claim(n, ns, &uid, err)) < 0)
            return rc;
        runas_allocated(uid, &spec->user);
        break;
    }
    spec->sandbox = u->sandbox;
    return 0;
}

void node_users_free(struct node *n)
{
    if (!n->users)
        return;
    runas_free(n->users->own);
    free(n->users->uids);
    free(n->users);
    n->users = NULL;
}

/* Group and other bits off NAME in DIRFD, when it is a file or a
 * directory (never through a symlink), saying so. The secret key is left
 * to its loader, which refuses a key others could read: it may have been
 * read already, and its operator must know (nodesecret.c). */
static void make_private(int dirfd, const char *name, const char *shown)
{
    struct stat st;

    if (strcmp(name, SECRET_KEY_FILE) == 0)
        return;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
        && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) && (st.st_mode & 077)
        && fchmodat(dirfd, name, st.st_mode & 07700, 0) == 0)
        log_info("data directory: %s%s%s was mode %04o, now %04o", shown, shown[0] ? "/" : "",
                 name, (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 07700));
}

static void private_entries(const char *dir, const char *shown, bool files)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0
            && (files || e->d_type == DT_DIR))
            make_private(dirfd(d), e->d_name, shown);
    closedir(d);
}

void node_private_files(const char *dir)
{
    char work[PATH_MAX];

    make_private(AT_FDCWD, dir, "");
    private_entries(dir, "", true);
    /* a namespace's root, before any run of it gives it to its user */
    if (node_path_join(work, sizeof work, dir, "work"))
        private_entries(work, "work", false);
}
