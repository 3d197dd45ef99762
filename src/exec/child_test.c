/* child_test.c: tests of child.c's workdir resolution, both ways: openat2()
 * with RESOLVE_BENEATH, and the component walk used where the kernel (or a
 * seccomp filter) has no openat2. Both must keep a job inside its root; they
 * differ only on symlinks that stay inside, which the walk refuses too. */
#include "exec/child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/err.h"
#include "../banned.h"

static char base[64]; /* base/root is the root; base itself is outside */
static char root[128];

struct row {
    const char *rel;
    int rc;            /* 0 or a negative CHIME_ code */
    const char *lands; /* where it ends, below the root ("": the root) */
};

typedef int resolve_fn(const char *root, const char *rel, int *ret_fd, struct err *err);

static void check(resolve_fn *resolve, const struct row *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char want[PATH_MAX];
        struct err err = {0};
        struct stat got, at;
        int fd = -1;

        int rc = resolve(root, rows[i].rel, &fd, &err);

        if (rc != rows[i].rc)
            fail_msg("workdir '%s': %d, not %d (%s)", rows[i].rel ? rows[i].rel : "(null)", rc,
                     rows[i].rc, err.msg);
        if (rows[i].rc < 0) {
            assert_int_equal(fd, -1);
            assert_string_equal(err.field, "workdir");
            continue;
        }
        snprintf(want, sizeof want, "%s%s", root, rows[i].lands);
        assert_int_equal(fstat(fd, &got), 0);
        assert_int_equal(stat(want, &at), 0);
        assert_true(got.st_ino == at.st_ino && got.st_dev == at.st_dev);
        close(fd);
    }
}

/* what both resolvers agree on */
static const struct row common[] = {
    {NULL, 0, ""},
    {"", 0, ""},
    {".", 0, ""},
    {"sub", 0, "/sub"},
    {"sub/deeper", 0, "/sub/deeper"},
    {"./sub//deeper/", 0, "/sub/deeper"},
    {"sub/deeper/..", 0, "/sub"},
    {"sub/deeper/../..", 0, ""},
    {"..", -CHIME_EINVAL, NULL},
    {"../root", -CHIME_EINVAL, NULL},
    {"sub/../..", -CHIME_EINVAL, NULL},
    {"sub/deeper/../../..", -CHIME_EINVAL, NULL},
    {"out", -CHIME_EINVAL, NULL}, /* a symlink to / */
    {"out/tmp", -CHIME_EINVAL, NULL},
    {"sub/up", -CHIME_EINVAL, NULL},      /* a symlink to ../.. */
    {"sub/up/root", -CHIME_EINVAL, NULL}, /* ...and back in: still refused */
    {"abs", -CHIME_EINVAL, NULL},         /* a symlink to the root's absolute path */
    {"/etc", -CHIME_EINVAL, NULL},
    {"/", -CHIME_EINVAL, NULL},
    {"missing", -CHIME_ENOTFOUND, NULL},
    {"file", -CHIME_EINVAL, NULL},
};

static void test_child_workdir_open_stays_beneath_the_root(void **state)
{
    const struct row inside[] = {
        {"in", 0, "/sub"}, /* a symlink that stays inside is fine */
        {"in/deeper", 0, "/sub/deeper"},
    };

    (void)state;
    check(exec_child_workdir_open, common, sizeof common / sizeof common[0]);
    check(exec_child_workdir_open, inside, sizeof inside / sizeof inside[0]);
}

static void test_child_workdir_walk_stays_beneath_the_root_and_refuses_symlinks(void **state)
{
    const struct row inside[] = {
        {"in", -CHIME_EINVAL, NULL},
        {"in/deeper", -CHIME_EINVAL, NULL},
    };

    (void)state;
    check(exec_child_workdir_walk, common, sizeof common / sizeof common[0]);
    check(exec_child_workdir_walk, inside, sizeof inside / sizeof inside[0]);
}

static void test_child_workdir_errors_name_the_workdir_and_quote_it(void **state)
{
    struct err err = {0};
    int fd = -1;

    (void)state;
    assert_int_equal(exec_child_workdir_open(root, "sub/../..", &fd, &err), -CHIME_EINVAL);
    assert_string_equal(err.msg, "'sub/../..' leaves the namespace root (through '..', a "
                                 "symlink or an absolute path)");
    assert_int_equal(exec_child_workdir_open(root, "missing", &fd, &err), -CHIME_ENOTFOUND);
    assert_string_equal(err.msg, "'missing' does not exist");
    assert_int_equal(exec_child_workdir_open("/nonexistent-root", "x", &fd, &err), -CHIME_EIO);
    assert_string_equal(err.field, "workdir_root");
}

static int make_tree(void **state)
{
    char path[PATH_MAX];
    int fd;

    (void)state;
    snprintf(base, sizeof base, "/tmp/chime-child-test-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    snprintf(root, sizeof root, "%s/root", base);
    if (mkdir(root, 0755) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/sub", root);
    if (mkdir(path, 0755) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/sub/deeper", root);
    if (mkdir(path, 0755) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/out", root);
    if (symlink("/", path) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/sub/up", root);
    if (symlink("../..", path) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/abs", root);
    if (symlink(root, path) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/in", root);
    if (symlink("sub", path) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/file", root);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int remove_tree(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_workdir_open_stays_beneath_the_root),
        cmocka_unit_test(test_child_workdir_walk_stays_beneath_the_root_and_refuses_symlinks),
        cmocka_unit_test(test_child_workdir_errors_name_the_workdir_and_quote_it),
    };

    return cmocka_run_group_tests(tests, make_tree, remove_tree);
}
