/* cgroup.c: one cgroup v2 per run (see cgroup.h).
 *
 * A limit whose controller is not enabled for the parent is left to
 * setrlimit: the file is simply missing, and that is not an error, because
 * the parent's delegation is the administrator's choice, not the job's. */
#include "exec/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "exec/exec.h"
#include "util/err.h"
#include "../banned.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct exec_cgroup {
    int parent_fd; /* the parent directory, for rmdir */
    int fd;        /* the run's directory */
    int procs_fd;  /* its cgroup.procs, open for writing */
    char name[32]; /* "run-<id>" */
    bool made;     /* we created it, so we remove it */
};

static int write_file(int dirfd, const char *name, const char *text)
{
    size_t len = strlen(text);
    int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = write(fd, text, len);
    if (n < 0)
        n = -errno;
    close(fd);
    return n < 0 ? (int)n : (size_t)n == len ? 0 : -EIO;
}

static ssize_t read_file(int dirfd, const char *name, char *buf, size_t len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    buf[0] = '\0';
    if (fd < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    if (n < 0)
        n = -errno;
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static bool is_cgroup2(const char *path)
{
    struct statfs sf;

    return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* The caller's own cgroup v2 directory: the "0::" line of /proc/self/cgroup
 * under the cgroup2 mount point of /proc/self/mountinfo. */
static int own_cgroup(char *buf, size_t len)
{
    char line[4096], rel[PATH_MAX] = "", mnt[PATH_MAX] = "";
    FILE *f = fopen("/proc/self/cgroup", "re");

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) {
            snprintf(rel, sizeof rel, "%s", line + 3);
            rel[strcspn(rel, "\n")] = '\0';
        }
    fclose(f);
    f = fopen("/proc/self/mountinfo", "re");
    if (!rel[0] || !f) {
        if (f)
            fclose(f);
        return -1;
    }
    /* "id parent maj:min root mountpoint options - fstype source ..." */
    while (fgets(line, sizeof line, f)) {
        char *sep = strstr(line, " - cgroup2 ");
        char root[PATH_MAX], point[PATH_MAX];

        if (sep && sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) == 2
            && strcmp(root, "/") == 0) {
            snprintf(mnt, sizeof mnt, "%s", point);
            break;
        }
    }
    fclose(f);
    if (!mnt[0])
        return -1;
    if ((size_t)snprintf(buf, len, "%s%s", mnt, strcmp(rel, "/") ? rel : "") >= len)
        return -1;
    return 0;
}

int exec_cgroup_parent(const char *want, char *buf, size_t len, struct err *err)
{
    char procs[PATH_MAX + 16], q[64];
    bool automatic = want && strcmp(want, "auto") == 0;

    buf[0] = '\0';
    if (!want || !want[0])
        return 0;
    if (automatic) {
        if (own_cgroup(buf, len) < 0) {
            buf[0] = '\0';
            return 0;
        }
    } else if ((size_t)snprintf(buf, len, "%s", want) >= len) {
        buf[0] = '\0';
        return err_set(err, CHIME_ETOOBIG, "cgroup", "path is too long");
    }
    snprintf(procs, sizeof procs, "%s/cgroup.procs", buf);
    if (!is_cgroup2(buf) || access(buf, W_OK) < 0 || access(procs, W_OK) < 0) {
        if (automatic) {
            buf[0] = '\0';
            return 0;
        }
        err_quote(want, SIZE_MAX, q, sizeof q);
        buf[0] = '\0';
        return err_set(err, CHIME_EINVAL, "cgroup", "'%s' is not a writable cgroup v2 directory",
                       q);
    }
    return 0;
}

int exec_cgroup_new(const char *parent, int64_t run_id, const struct exec_limits *limits,
                    struct exec_cgroup **ret, struct err *err)
{
    struct exec_cgroup *cg = calloc(1, sizeof *cg);
    char num[32];
    int rc = 0;

    if (!cg)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    cg->fd = cg->procs_fd = -1;
    snprintf(cg->name, sizeof cg->name, "run-%" PRId64, run_id);
    cg->parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg->parent_fd < 0) {
        rc =
            err_set(err, CHIME_EIO, "cgroup", "cannot open the cgroup parent: %s", strerror(errno));
        goto fail;
    }
    /* let the run's cgroup have what the parent has; each may fail alone */
    write_file(cg->parent_fd, "cgroup.subtree_control", "+memory");
    write_file(cg->parent_fd, "cgroup.subtree_control", "+pids");
    if (mkdirat(cg->parent_fd, cg->name, 0755) < 0) {
        rc = err_set(err, CHIME_EIO, "cgroup", "cannot create cgroup %s: %s", cg->name,
                     strerror(errno));
        goto fail;
    }
    cg->made = true;
    cg->fd = openat(cg->parent_fd, cg->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg->fd >= 0)
        cg->procs_fd = openat(cg->fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (cg->procs_fd < 0) {
        rc = err_set(err, CHIME_EIO, "cgroup", "cannot open cgroup %s: %s", cg->name,
                     strerror(errno));
        goto fail;
    }
    if (limits->memory > 0) {
        snprintf(num, sizeof num, "%" PRId64, limits->memory);
        rc = write_file(cg->fd, "memory.max", num);
        if (rc == 0)
            write_file(cg->fd, "memory.swap.max", "0");
    }
    if (rc == 0 && limits->processes > 0) {
        snprintf(num, sizeof num, "%" PRId64, limits->processes);
        rc = write_file(cg->fd, "pids.max", num);
    }
    if (rc < 0 && rc != -ENOENT) {
        rc = err_set(err, CHIME_EIO, "cgroup", "cannot set the limits of cgroup %s: %s", cg->name,
                     strerror(-rc));
        goto fail;
    }
    *ret = cg;
    return 0;
fail:
    exec_cgroup_free(cg);
    return rc;
}

int exec_cgroup_procs_fd(const struct exec_cgroup *cg)
{
    return cg->procs_fd;
}

int exec_cgroup_join(int procs_fd)
{
    char buf[16];
    size_t i = sizeof buf;
    unsigned pid = (unsigned)getpid();

    /* decimal by hand: nothing that may allocate or lock after fork */
    do {
        buf[--i] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid);
    return write(procs_fd, buf + i, sizeof buf - i) < 0 ? -errno : 0;
}

bool exec_cgroup_populated(const struct exec_cgroup *cg)
{
    char buf[256];

    if (read_file(cg->fd, "cgroup.events", buf, sizeof buf) < 0)
        return false;
    return strstr(buf, "populated 1") != NULL;
}

int exec_cgroup_signal(const struct exec_cgroup *cg, int sig)
{
    char buf[4096], *p, *end;
    int n = 0;

    if (sig == SIGKILL && write_file(cg->fd, "cgroup.kill", "1") == 0)
        return 1;
    /* a cgroup this large is a fork bomb: the first 4 KiB of it first, the
     * rest on the next round */
    if (read_file(cg->fd, "cgroup.procs", buf, sizeof buf) < 0)
        return 0;
    for (p = buf; *p; p = end) {
        long pid = strtol(p, &end, 10);

        if (end == p)
            break;
        if (pid > 0 && kill((pid_t)pid, sig) == 0)
            n++;
        while (*end == '\n')
            end++;
    }
    return n;
}

int64_t exec_cgroup_peak(const struct exec_cgroup *cg)
{
    char buf[64], *end;
    long long v;

    if (read_file(cg->fd, "memory.peak", buf, sizeof buf) <= 0)
        return -1;
    v = strtoll(buf, &end, 10);
    return end == buf || v < 0 ? -1 : (int64_t)v;
}

void exec_cgroup_free(struct exec_cgroup *cg)
{
    if (!cg)
        return;
    if (cg->procs_fd >= 0)
        close(cg->procs_fd);
    if (cg->fd >= 0)
        close(cg->fd);
    /* an empty cgroup goes; one still busy stays for an administrator */
    if (cg->made)
        unlinkat(cg->parent_fd, cg->name, AT_REMOVEDIR);
    if (cg->parent_fd >= 0)
        close(cg->parent_fd);
    free(cg);
}
