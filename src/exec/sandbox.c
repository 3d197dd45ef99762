/* sandbox.c: the job's side of privilege separation (sandbox.h).
 *
 * Order matters. Everything that needs root comes first, in the new mount
 * namespace: / made private (a mount here must not reach the host's), a
 * tmpfs on /tmp (and on /var/tmp and /dev/shm), a fresh proc on /proc with hidepid=invisible (one per
 * mount since Linux 5.8: the host's /proc keeps its options). Then
 * no_new_privs (no setuid binary gives anything back), the bounding and
 * ambient sets emptied, the groups, gid and uid set with the raw system
 * calls (glibc's wrappers broadcast to threads, which a vfork()ed child
 * must not do), and the permitted and effective sets emptied: setresuid()
 * from root clears them too, this says it for certain. */
#include "exec/sandbox.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include "exec/child.h"
#include "exec/exec.h"
#include "../banned.h"

#define CAP_LAST_GUESS 63 /* when /proc/sys/kernel/cap_last_cap cannot be read */

/* A job's own empty /tmp, and /var/tmp and /dev/shm where the machine has
 * them: no file one job leaves there reaches another. 0 or -errno. */
static int private_tmps(void)
{
    static const char *const dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};

    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (mount("tmpfs", dirs[i], "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0
            && (i == 0 || errno != ENOENT))
            return -errno;
    return 0;
}

static int mounts(unsigned sandbox)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    if ((sandbox & EXEC_SANDBOX_TMP) && private_tmps() < 0)
        return -errno;
    if ((sandbox & EXEC_SANDBOX_PROC)
        && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
               < 0)
        return -errno;
    return 0;
}

static int drop_caps(int cap_last)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    for (int cap = 0; cap <= cap_last; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    return 0;
}

static int set_ids(const struct exec_identity *u)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    gid_t groups[EXEC_GROUPS_MAX];
    int i;

    for (i = 0; i < u->n_groups; i++)
        groups[i] = (gid_t)u->groups[i];
    if (syscall(SYS_setgroups, (size_t)u->n_groups, groups) < 0
        || syscall(SYS_setresgid, (gid_t)u->gid, (gid_t)u->gid, (gid_t)u->gid) < 0
        || syscall(SYS_setresuid, (uid_t)u->uid, (uid_t)u->uid, (uid_t)u->uid) < 0)
        return -errno;
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) < 0)
        return -errno;
    return 0;
}

int exec_sandbox_enter(const struct exec_spec *s, int cap_last, int *ret_step)
{
    int rc;

    if ((rc = mounts(s->sandbox)) < 0) {
        *ret_step = EXEC_SANDBOX_STEP_MOUNTS;
        return rc;
    }
    if ((rc = drop_caps(cap_last)) < 0) {
        *ret_step = EXEC_SANDBOX_STEP_PRIVS;
        return rc;
    }
    if ((rc = set_ids(&s->user)) < 0) {
        *ret_step = EXEC_SANDBOX_STEP_IDS;
        return rc;
    }
    return 0;
}

int exec_sandbox_cap_last(void)
{
    char buf[16] = "";
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC), n = -1;
    long v;
    char *end;

    if (fd >= 0) {
        n = (int)read(fd, buf, sizeof buf - 1);
        close(fd);
    }
    if (n <= 0)
        return CAP_LAST_GUESS;
    buf[n] = '\0';
    v = strtol(buf, &end, 10);
    return end == buf || v < 0 || v > 255 ? CAP_LAST_GUESS : (int)v;
}

unsigned exec_sandbox_probe(char *why, size_t len)
{
    /* errno of each step, from the child: the namespace, /tmp, /proc */
    int res[3] = {0, 0, 0}, pfd[2];
    unsigned bits = 0;
    pid_t pid;

    why[0] = '\0';
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(why, len, "cannot try the mount namespace: pipe: %s", strerror(errno));
        return 0;
    }
    pid = exec_child_fork();
    if (pid == 0) {
        close(pfd[0]);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            res[0] = errno;
        if (!res[0] && private_tmps() < 0)
            res[1] = errno;
        if (!res[0]
            && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
                   < 0)
            res[2] = errno;
        if (write(pfd[1], res, sizeof res) < 0)
            _exit(1);
        _exit(0);
    }
    close(pfd[1]);
    if (pid < 0 || read(pfd[0], res, sizeof res) != (ssize_t)sizeof res) {
        snprintf(why, len, "cannot try the mount namespace: %s",
                 pid < 0 ? strerror(errno) : "the trial process died");
        close(pfd[0]);
        if (pid > 0)
            waitpid(pid, NULL, 0);
        return 0;
    }
    close(pfd[0]);
    waitpid(pid, NULL, 0);
    if (res[0]) {
        snprintf(why, len,
                 "the kernel refuses a mount namespace (%s): jobs share /tmp and see every "
                 "process in /proc",
                 strerror(res[0]));
        return 0;
    }
    if (!res[1])
        bits |= EXEC_SANDBOX_TMP;
    if (!res[2])
        bits |= EXEC_SANDBOX_PROC;
    if (res[1] && res[2])
        snprintf(why, len,
                 "the kernel refuses a tmpfs on /tmp (%s) and proc with hidepid=invisible (%s): "
                 "jobs share /tmp and see every process in /proc",
                 strerror(res[1]), strerror(res[2]));
    else if (res[1])
        snprintf(why, len, "the kernel refuses a tmpfs on /tmp (%s): jobs share /tmp",
                 strerror(res[1]));
    else if (res[2])
        snprintf(why, len,
                 "the kernel refuses proc with hidepid=invisible (%s, Linux 5.8 has it): jobs see "
                 "every process in /proc (not their environment or files)",
                 strerror(res[2]));
    return bits;
}
