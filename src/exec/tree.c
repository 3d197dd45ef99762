/* tree.c: finding a holder's descendants in /proc and signalling them.
 *
 * A pid read from /proc may die and be reused before it is signalled. The
 * window is a few microseconds, and the direct children of the holder (the
 * usual leftovers, reparented to it) cannot be reused at all until the
 * holder reaps them. */
#include "exec/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../banned.h"

struct proc {
    pid_t pid;
    pid_t ppid;
    ptrdiff_t parent; /* index of the parent in the sorted list; -1: none */
    bool in;          /* a descendant of the ancestor */
};

static pid_t parse_pid(const char *s)
{
    long v = 0;

    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9' && v < 1L << 31)
        v = v * 10 + (*s++ - '0');
    return v < 1L << 31 ? (pid_t)v : -1;
}

/* The parent of PID from /proc/PID/stat: "pid (comm) state ppid ...", where
 * comm may hold spaces and parentheses, so the last ')' ends it. */
static pid_t read_ppid(pid_t pid)
{
    char path[64], buf[512];
    const char *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
        return -1;
    return parse_pid(p + 4);
}

/* Every process in /proc with its parent; NULL when /proc cannot be read. */
static struct proc *list_procs(size_t *ret_n)
{
    struct proc *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *d;
    DIR *dir = opendir("/proc");

    if (!dir)
        return NULL;
    while ((d = readdir(dir))) {
        pid_t pid = parse_pid(d->d_name), ppid;

        if (pid <= 0 || (ppid = read_ppid(pid)) < 0)
            continue;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 256;
            struct proc *w = realloc(v, c * sizeof *w);

            if (!w)
                break;
            v = w;
            cap = c;
        }
        v[n++] = (struct proc){pid, ppid, -1, false};
    }
    closedir(dir);
    *ret_n = n;
    return v ? v : calloc(1, sizeof *v);
}

static int by_pid(const void *a, const void *b)
{
    const struct proc *x = a, *y = b;

    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Appends the children of PID (every thread's, from
 * /proc/PID/task/TID/children) to *V; false when the kernel has no such
 * files (CONFIG_PROC_CHILDREN), so the caller scans all of /proc instead. */
static bool add_children(pid_t pid, pid_t **v, size_t *n, size_t *cap)
{
    char path[64], buf[4096];
    struct dirent *e;
    DIR *tasks;
    bool ok = false;

    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    tasks = opendir(path);
    if (!tasks)
        return true;        /* gone already: no children */
    while ((e = readdir(tasks))) {
        char file[96];
        ssize_t len;
        int fd;

        if (e->d_name[0] == '.')
            continue;
        snprintf(file, sizeof file, "/proc/%d/task/%.16s/children", (int)pid, e->d_name);
        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ok = true;
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[len > 0 ? len : 0] = '\0';
        for (char *p = buf; *p;) {
            char *end;
            long child = strtol(p, &end, 10);

            if (end == p)
                break;
            if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                pid_t *w = realloc(*v, c * sizeof *w);

                if (!w)
                    break;
                *v = w;
                *cap = c;
            }
            (*v)[(*n)++] = (pid_t)child;
            p = end;
        }
    }
    closedir(tasks);
    return ok;
}

/* The descendants of ANCESTOR, found by following children files down
 * from it: it reads only the tree itself, not every process on the
 * machine (a holder does this at the end of every run). Returns -1 when
 * children files are not available. */
static int signal_children(pid_t ancestor, int sig)
{
    pid_t *v = NULL;
    size_t n = 0, cap = 0, i;
    int found = 0;

    if (!add_children(ancestor, &v, &n, &cap)) {
        free(v);
        return -1;
    }
    for (i = 0; i < n && i < 100000; i++)      /* a tree, bounded */
        add_children(v[i], &v, &n, &cap);
    for (i = 0; i < n; i++)
        if (kill(v[i], sig) == 0 || errno == EPERM)
            found++;
    free(v);
    return found;
}

int exec_tree_signal(pid_t ancestor, pid_t pgid, int sig)
{
    struct proc *v;
    size_t n = 0, i;
    bool grew = true;
    int found = 0, children;

    if (pgid > 0 && kill(-pgid, sig) == 0)
        found++;
    children = signal_children(ancestor, sig);
    if (children >= 0)
        return found + children;
    v = list_procs(&n);
    if (!v)
        return found;
    qsort(v, n, sizeof *v, by_pid);
    for (i = 0; i < n; i++) {
        struct proc key = {.pid = v[i].ppid};
        struct proc *parent = bsearch(&key, v, n, sizeof *v, by_pid);

        v[i].parent = parent ? parent - v : -1;
    }
    /* mark descendants generation by generation; a tree is shallow */
    while (grew) {
        grew = false;
        for (i = 0; i < n; i++)
            if (!v[i].in && (v[i].ppid == ancestor || (v[i].parent >= 0 && v[v[i].parent].in))) {
                v[i].in = true;
                grew = true;
            }
    }
    for (i = 0; i < n; i++)
        if (v[i].in && (kill(v[i].pid, sig) == 0 || errno == EPERM))
            found++;
    free(v);
    return found;
}
