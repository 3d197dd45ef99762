/* spawn_baseline.c: the floor for bench/throughput.py. How many runs of
 * /bin/true a second a bare loop manages: posix_spawn() + waitpid(), with
 * IN_FLIGHT children alive at once (as `chime serve --max-concurrent 8`),
 * for SECONDS seconds; stdin/stdout/stderr on /dev/null. No recording, no
 * holder, no supervision: what chime's per-run work is compared against.
 *
 *     build/bench/spawn_baseline [SECONDS [IN_FLIGHT [COMMAND]]]
 *                                         (default 3 s, 8, /bin/true)
 *
 * Prints the machine it ran on. Not a test: figures go to bench/README.md. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "machine.h"

extern char **environ;

static const char *command = "/bin/true";

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int spawn_one(posix_spawn_file_actions_t *fa, pid_t *pid)
{
    char *argv[] = { (char *)command, NULL };
    int rc = posix_spawn(pid, command, fa, NULL, argv, environ);

    if (rc != 0) {
        fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    int in_flight = argc > 2 ? atoi(argv[2]) : 8;
    posix_spawn_file_actions_t fa;
    long done = 0, failed = 0;
    int live = 0, status;
    double t0, stop, t1;
    pid_t pid;

    if (argc > 3)
        command = argv[3];
    if (seconds <= 0 || seconds > 60 || in_flight < 1 || in_flight > 1024) {
        fprintf(stderr, "usage: spawn_baseline [SECONDS (0-60] [IN_FLIGHT (1-1024) [COMMAND]]]\n");
        return 2;
    }
    print_machine();
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    t0 = now_s();
    stop = t0 + seconds;
    for (; live < in_flight; live++)
        if (spawn_one(&fa, &pid) < 0)
            return 1;
    while (live > 0) {
        pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            perror("waitpid");
            return 1;
        }
        live--;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            done++;
        else
            failed++;
        if (now_s() < stop) {
            if (spawn_one(&fa, &pid) < 0)
                return 1;
            live++;
        }
    }
    t1 = now_s();
    posix_spawn_file_actions_destroy(&fa);
    printf("posix_spawn(%s) + waitpid, %d in flight, %.1f s: %ld runs (%ld failed), "
           "%.0f runs/s\n", command, in_flight, t1 - t0, done, failed, (double)done / (t1 - t0));
    return failed != 0;
}
