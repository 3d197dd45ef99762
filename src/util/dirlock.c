/* dirlock.c: the data directory's lock (see dirlock.h). */
#include "util/dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../banned.h"

int dirlock_take(const char *dir, struct err *err)
{
    char path[PATH_MAX], pid[32] = "";
    ssize_t n;
    int fd;

    if ((size_t)snprintf(path, sizeof path, "%s/chime.lock", dir) >= sizeof path)
        return err_set(err, CHIME_ETOOBIG, "data-dir", "'%s' is too long", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_set(err, CHIME_EIO, "data-dir", "cannot open '%s': %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;

        n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            return err_set(err, CHIME_ECONFLICT, "data-dir",
                           "'%s' is in use by another chime (pid %s)", dir, pid[0] ? pid : "?");
        return err_set(err, CHIME_EIO, "data-dir", "cannot lock '%s': %s", path, strerror(e));
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* the pid is for the message only: the lock holds without it */
    if (ftruncate(fd, 0) == 0)
        (void)pwrite(fd, pid, (size_t)n, 0);
    return fd;
}
