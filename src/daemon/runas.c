/* runas.c: parsing the operator's job-user options (runas.h).
 *
 * Everything is resolved once, at start-up: names become ids here, so a
 * run never looks up a user on the loop, and a user that disappears later
 * keeps its ids. The range's avoid list is read from the system's user
 * and group databases at the same time: a uid someone has is never
 * handed to a namespace (systemd's DynamicUser checks the same). */
#include "daemon/runas.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "job/jobdoc.h"
#include "job/job.h"
#include "util/err.h"
#include "util/name.h"
#include "../banned.h"

#define LIST_MAX 65536 /* bytes of one option's value */

struct mapping {
    char ns[JOB_NAME_MAX + 1];
    struct exec_identity id;
};

struct runas {
    int64_t lo, hi;
    struct mapping *map;
    size_t n_map;
    char (*root)[JOB_NAME_MAX + 1];
    size_t n_root;
    int64_t *avoid;
    size_t n_avoid;
};

/* A decimal id in 0..RUNAS_ID_MAX, all of S[0..LEN); -1 otherwise. */
static int64_t parse_id(const char *s, size_t len)
{
    int64_t v = 0;

    if (len == 0 || len > 10)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= RUNAS_ID_MAX ? v : -1;
}

static int parse_range(const char *s, struct runas *r, struct err *err)
{
    const char *dash = strchr(s, '-');
    char q[64];

    err_quote(s, SIZE_MAX, q, sizeof q);
    r->lo = dash ? parse_id(s, (size_t)(dash - s)) : -1;
    r->hi = dash ? parse_id(dash + 1, strlen(dash + 1)) : -1;
    if (r->lo < 0 || r->hi < 0)
        return err_set(err, CHIME_EINVAL, "uid-range", "'%s' is not LO-HI (two uids)", q);
    if (r->lo < RUNAS_RANGE_MIN || r->hi < r->lo)
        return err_set(err, CHIME_ERANGE, "uid-range",
                       "'%s' is not a range from %d up (the system's users are below)", q,
                       RUNAS_RANGE_MIN);
    return 0;
}

static int check_ns(const char *s, size_t len, const char *field, struct err *err)
{
    return name_check(s, len, 0, NULL, field, err);
}

/* Whether NS was named already, by either option. */
static bool named(const struct runas *r, const char *ns)
{
    for (size_t i = 0; i < r->n_map; i++)
        if (strcmp(r->map[i].ns, ns) == 0)
            return true;
    for (size_t i = 0; i < r->n_root; i++)
        if (strcmp(r->root[i], ns) == 0)
            return true;
    return false;
}

/* The entries of a ',' list: their count, or -1 past RUNAS_ENTRIES_MAX. */
static long count_entries(const char *s)
{
    long n = 1;

    for (; *s; s++)
        if (*s == ',' && ++n > RUNAS_ENTRIES_MAX)
            return -1;
    return n;
}

static int check_list(const char *s, const char *field, long *ret_n, struct err *err)
{
    if (strlen(s) > LIST_MAX)
        return err_set(err, CHIME_ETOOBIG, field, "is longer than %d bytes", LIST_MAX);
    *ret_n = count_entries(s);
    if (*ret_n < 0)
        return err_set(err, CHIME_ETOOBIG, field, "has more than %d entries", RUNAS_ENTRIES_MAX);
    return 0;
}

static int parse_root(const char *s, struct runas *r, struct err *err)
{
    long n;
    int rc = check_list(s, "root-namespaces", &n, err);

    if (rc < 0)
        return rc;
    r->root = calloc((size_t)n, sizeof *r->root);
    if (!r->root)
        return err_set(err, CHIME_ENOMEM, "root-namespaces", "out of memory");
    while (*s) {
        size_t len = strcspn(s, ",");

        if ((rc = check_ns(s, len, "root-namespaces", err)) < 0)
            return rc;
        memcpy(r->root[r->n_root], s, len);
        if (named(r, r->root[r->n_root])) {
            char q[80];

            return err_set(err, CHIME_EINVAL, "root-namespaces", "'%s' is named twice",
                           err_quote(s, len, q, sizeof q));
        }
        r->n_root++;
        s += len;
        if (*s == ',' && !*++s)
            return err_set(err, CHIME_EINVAL, "root-namespaces", "ends with ','");
    }
    return 0;
}

/* USER[:GROUP] (LEN bytes at S) into ID. */
static int resolve(const char *s, size_t len, struct exec_identity *id, struct err *err)
{
    char user[256], group[256] = "", q[80];
    const char *colon = memchr(s, ':', len);
    size_t ulen = colon ? (size_t)(colon - s) : len;
    struct passwd pw, *pwp = NULL;
    struct group gr, *grp = NULL;
    char buf[16384];
    gid_t groups[EXEC_GROUPS_MAX + 1];
    int ngroups = EXEC_GROUPS_MAX + 1;

    err_quote(s, len, q, sizeof q);
    if (ulen == 0 || ulen >= sizeof user || (colon && (len - ulen - 1 == 0
                                                       || len - ulen - 1 >= sizeof group)))
        return err_set(err, CHIME_EINVAL, "run-as", "'%s' is not USER or USER:GROUP", q);
    memcpy(user, s, ulen);
    user[ulen] = '\0';
    if (colon) {
        memcpy(group, colon + 1, len - ulen - 1);
        group[len - ulen - 1] = '\0';
    }
    id->uid = parse_id(user, ulen);
    if (id->uid >= 0)
        getpwuid_r((uid_t)id->uid, &pw, buf, sizeof buf, &pwp);
    else if (getpwnam_r(user, &pw, buf, sizeof buf, &pwp) != 0 || !pwp)
        return err_set(err, CHIME_ENOTFOUND, "run-as", "'%s': there is no user '%s'", q, user);
    else
        id->uid = pwp->pw_uid;
    if (id->uid == 0)
        return err_set(err, CHIME_EINVAL, "run-as",
                       "'%s' is root: name the namespace in --root-namespaces instead", q);
    if (id->uid > RUNAS_ID_MAX)
        return err_set(err, CHIME_ERANGE, "run-as", "'%s' has a uid out of range", q);
    if (colon) {
        id->gid = parse_id(group, strlen(group));
        if (id->gid < 0) {
            char gbuf[16384];

            if (getgrnam_r(group, &gr, gbuf, sizeof gbuf, &grp) != 0 || !grp)
                return err_set(err, CHIME_ENOTFOUND, "run-as", "'%s': there is no group '%s'",
                               q, group);
            id->gid = grp->gr_gid;
        }
    } else if (pwp) {
        id->gid = pwp->pw_gid;
    } else {
        return err_set(err, CHIME_EINVAL, "run-as",
                       "'%s': uid %lld has no user entry: give its group too (UID:GID)", q,
                       (long long)id->uid);
    }
    if (id->gid == 0 || id->gid > RUNAS_ID_MAX)
        return err_set(err, CHIME_EINVAL, "run-as", "'%s' has group root or out of range", q);
    /* the user's own groups (an explicit mapping is trusted with them),
     * but never the root group */
    id->n_groups = 0;
    if (!pwp)
        return 0;
    if (getgrouplist(pwp->pw_name, (gid_t)id->gid, groups, &ngroups) < 0)
        return err_set(err, CHIME_ETOOBIG, "run-as", "'%s' is in more than %d groups", q,
                       EXEC_GROUPS_MAX);
    for (int i = 0; i < ngroups; i++) {
        if (groups[i] == 0)
            return err_set(err, CHIME_EINVAL, "run-as", "'%s' is in group root", q);
        if ((int64_t)groups[i] != id->gid && id->n_groups < EXEC_GROUPS_MAX)
            id->groups[id->n_groups++] = groups[i];
    }
    return 0;
}

static int parse_map(const char *s, struct runas *r, struct err *err)
{
    long n;
    int rc = check_list(s, "run-as", &n, err);

    if (rc < 0)
        return rc;
    r->map = calloc((size_t)n, sizeof *r->map);
    if (!r->map)
        return err_set(err, CHIME_ENOMEM, "run-as", "out of memory");
    while (*s) {
        size_t len = strcspn(s, ","), nslen = strcspn(s, "=,");
        struct mapping *m = &r->map[r->n_map];
        char q[80];

        err_quote(s, len, q, sizeof q);
        if (nslen == len)
            return err_set(err, CHIME_EINVAL, "run-as", "'%s' is not NS=USER[:GROUP]", q);
        if ((rc = check_ns(s, nslen, "run-as", err)) < 0)
            return rc;
        memcpy(m->ns, s, nslen);
        if (named(r, m->ns))
            return err_set(err, CHIME_EINVAL, "run-as", "'%s' names namespace '%s' twice", q,
                           m->ns);
        if ((rc = resolve(s + nslen + 1, len - nslen - 1, &m->id, err)) < 0)
            return rc;
        if (m->id.uid >= r->lo && m->id.uid <= r->hi)
            return err_set(err, CHIME_EINVAL, "run-as",
                           "'%s' has uid %lld, inside --uid-range %lld-%lld", q,
                           (long long)m->id.uid, (long long)r->lo, (long long)r->hi);
        for (size_t i = 0; i < r->n_map; i++)
            if (r->map[i].id.uid == m->id.uid)
                return err_set(err, CHIME_EINVAL, "run-as",
                               "'%s' has uid %lld, as namespace '%s' has: each namespace needs "
                               "a user of its own",
                               q, (long long)m->id.uid, r->map[i].ns);
        r->n_map++;
        s += len;
        if (*s == ',' && !*++s)
            return err_set(err, CHIME_EINVAL, "run-as", "ends with ','");
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int add_avoid(struct runas *r, int64_t id, size_t *cap)
{
    if (id < r->lo || id > r->hi)
        return 0;
    if (r->n_avoid == *cap) {
        size_t ncap = *cap ? 2 * *cap : 64;
        int64_t *v = realloc(r->avoid, ncap * sizeof *v);

        if (!v)
            return -1;
        r->avoid = v;
        *cap = ncap;
    }
    r->avoid[r->n_avoid++] = id;
    return 0;
}

/* The range's ids that the system's users and groups have. */
static int read_avoid(struct runas *r, struct err *err)
{
    struct passwd *pw;
    struct group *gr;
    size_t cap = 0, j = 0;
    int rc = 0;

    setpwent();
    while (rc == 0 && (pw = getpwent()))
        rc = add_avoid(r, pw->pw_uid, &cap);
    endpwent();
    setgrent();
    while (rc == 0 && (gr = getgrent()))
        rc = add_avoid(r, gr->gr_gid, &cap);
    endgrent();
    if (rc < 0)
        return err_set(err, CHIME_ENOMEM, "uid-range", "out of memory");
    if (r->n_avoid)
        qsort(r->avoid, r->n_avoid, sizeof *r->avoid, cmp_i64);
    for (size_t i = 0; i < r->n_avoid; i++)
        if (j == 0 || r->avoid[i] != r->avoid[j - 1])
            r->avoid[j++] = r->avoid[i];
    r->n_avoid = j;
    return 0;
}

int runas_new(const char *range, const char *run_as, const char *root, struct runas **ret,
              struct err *err)
{
    struct runas *r = calloc(1, sizeof *r);
    int rc;

    if (!r)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    if ((rc = parse_range(range ? range : RUNAS_DEFAULT_RANGE, r, err)) < 0
        || (root && (rc = parse_root(root, r, err)) < 0)
        || (run_as && (rc = parse_map(run_as, r, err)) < 0) || (rc = read_avoid(r, err)) < 0) {
        runas_free(r);
        return rc;
    }
    *ret = r;
    return 0;
}

void runas_free(struct runas *r)
{
    if (!r)
        return;
    free(r->map);
    free(r->root);
    free(r->avoid);
    free(r);
}

enum runas_kind runas_find(const struct runas *r, const char *ns, struct exec_identity *ret)
{
    for (size_t i = 0; i < r->n_root; i++)
        if (strcmp(r->root[i], ns) == 0)
            return RUNAS_ROOT;
    for (size_t i = 0; i < r->n_map; i++)
        if (strcmp(r->map[i].ns, ns) == 0) {
            *ret = r->map[i].id;
            return RUNAS_MAPPED;
        }
    return RUNAS_ALLOCATED;
}

void runas_range(const struct runas *r, int64_t *ret_lo, int64_t *ret_hi)
{
    *ret_lo = r->lo;
    *ret_hi = r->hi;
}

const int64_t *runas_avoid(const struct runas *r, size_t *ret_n)
{
    *ret_n = r->n_avoid;
    return r->avoid;
}

void runas_allocated(int64_t uid, struct exec_identity *ret)
{
    memset(ret, 0, sizeof *ret);
    ret->uid = uid;
    ret->gid = uid;
}
