/* dirlock_test.c: one holder at a time, named; free again once closed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/dirlock.h"

static void test_dirlock_one_holder_at_a_time(void **state)
{
    char dir[] = "/tmp/chime-dirlock-XXXXXX", path[64], pid[32];
    struct err err = {0};
    int fd, status;
    pid_t child;

    (void)state;
    assert_non_null(mkdtemp(dir));
    fd = dirlock_take(dir, &err);
    assert_true(fd >= 0);
    /* another process is refused, told who holds it */
    snprintf(pid, sizeof pid, "(pid %ld)", (long)getpid());
    child = fork();
    if (child == 0) {
        struct err e = {0};
        int rc = dirlock_take(dir, &e);

        _exit(rc == -CHIME_ECONFLICT && strstr(e.msg, pid) && !strcmp(e.field, "data-dir") ? 0 : 1);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* let go: the next one gets it */
    close(fd);
    fd = dirlock_take(dir, &err);
    assert_true(fd >= 0);
    close(fd);
    /* a directory that is not there */
    assert_int_equal(dirlock_take("/nonexistent/chime", &err), -CHIME_EIO);
    snprintf(path, sizeof path, "%s/chime.lock", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirlock_one_holder_at_a_time),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
