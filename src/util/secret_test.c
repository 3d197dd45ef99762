/* secret_test.c: tests of the key file and sealing (secret.c). */
#include "util/secret.h"

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

static struct secret_key *test_key(unsigned char fill)
{
    unsigned char bytes[SECRET_KEY_BYTES];
    struct secret_key *k = NULL;
    struct err err = {0};

    memset(bytes, fill, sizeof bytes);
    assert_int_equal(secret_key_from_bytes(bytes, sizeof bytes, &k, &err), 0);
    return k;
}

static void test_secret_seal_then_open_gives_the_value_back(void **state)
{
    struct secret_key *k = test_key(1);
    const char *values[] = {"s3cr3t", "x", "with\nnewline and \xc3\xa9", ""};
    struct err err = {0};

    (void)state;
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char *box = NULL, *plain = NULL;
        size_t len = 0;

        assert_int_equal(secret_seal(k, values[i], strlen(values[i]), &box, &err), 0);
        if (strlen(values[i]) >= 6)     /* a short one may occur in base64 by chance */
            assert_null(strstr(box, values[i]));
        assert_true(secret_box_valid(box, strlen(box)));
        assert_int_equal(secret_open(k, box, strlen(box), &plain, &len, &err), 0);
        assert_int_equal(len, strlen(values[i]));
        assert_memory_equal(plain, values[i], len);
        assert_int_equal(plain[len], '\0');
        secret_plain_free(plain, len);
        free(box);
    }
    secret_key_free(k);
}

static void test_secret_seals_the_same_value_differently_each_time(void **state)
{
    struct secret_key *k = test_key(2);
    char *a = NULL, *b = NULL, ta[SECRET_TAG_LEN], tb[SECRET_TAG_LEN];
    struct err err = {0};

    (void)state;
    assert_int_equal(secret_seal(k, "same", 4, &a, &err), 0);
    assert_int_equal(secret_seal(k, "same", 4, &b, &err), 0);
    assert_string_not_equal(a, b);
    secret_tag(a, strlen(a), ta);
    secret_tag(b, strlen(b), tb);
    assert_int_equal(strlen(ta), 16);
    assert_string_not_equal(ta, tb);
    free(a);
    free(b);
    secret_key_free(k);
}

static void test_secret_refuses_a_changed_box_at_every_byte(void **state)
{
    struct secret_key *k = test_key(3);
    char *box = NULL, *plain = NULL;
    struct err err = {0};
    size_t len = 0, n;

    (void)state;
    assert_int_equal(secret_seal(k, "tamper-proof", 12, &box, &err), 0);
    n = strlen(box);
    for (size_t i = 0; i + 2 < n; i++) {    /* the last characters may be padding */
        char saved = box[i];
        int rc;

        box[i] = saved == 'A' ? 'B' : 'A';
        rc = secret_open(k, box, n, &plain, &len, &err);
        assert_true(rc == -CHIME_ECONFLICT || rc == -CHIME_EINVAL);
        assert_null(strstr(err.msg, "tamper-proof"));
        box[i] = saved;
    }
    /* cut short, or not base64 at all */
    assert_int_equal(secret_open(k, box, n - 8, &plain, &len, &err), -CHIME_ECONFLICT);
    assert_int_equal(secret_open(k, box, n - 9, &plain, &len, &err), -CHIME_EINVAL);
    assert_int_equal(secret_open(k, "not base64!", 11, &plain, &len, &err), -CHIME_EINVAL);
    assert_false(secret_box_valid("AAAA", 4));
    free(box);
    secret_key_free(k);
}

static void test_secret_does_not_open_under_another_key(void **state)
{
    struct secret_key *k = test_key(4), *other = test_key(5);
    char *box = NULL, *plain = NULL;
    struct err err = {0};
    size_t len = 0;

    (void)state;
    assert_int_equal(secret_seal(k, "mine", 4, &box, &err), 0);
    assert_int_equal(secret_open(other, box, strlen(box), &plain, &len, &err), -CHIME_ECONFLICT);
    assert_non_null(strstr(err.msg, "another key"));
    free(box);
    secret_key_free(k);
    secret_key_free(other);
}

static void test_secret_key_file_is_made_once_with_mode_0600(void **state)
{
    char dir[] = "/tmp/chime-secret-XXXXXX", path[64];
    struct secret_key *a = NULL, *b = NULL;
    struct err err = {0};
    bool created = false;
    char *box = NULL, *plain = NULL;
    size_t len = 0;
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/secret.key", dir);
    umask(0);   /* a wide umask still gives 0600 */
    assert_int_equal(secret_key_load(path, false, &a, NULL, &err), -CHIME_ENOTFOUND);
    assert_int_equal(secret_key_load(path, true, &a, &created, &err), 0);
    assert_true(created);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, SECRET_KEY_BYTES);
    /* made once: the next load reads the same key */
    assert_int_equal(secret_key_load(path, true, &b, &created, &err), 0);
    assert_false(created);
    assert_int_equal(secret_seal(a, "v", 1, &box, &err), 0);
    assert_int_equal(secret_open(b, box, strlen(box), &plain, &len, &err), 0);
    secret_plain_free(plain, len);
    free(box);
    secret_key_free(a);
    secret_key_free(b);
    umask(022);
    unlink(path);
    rmdir(dir);
}

static void test_secret_key_file_faults_are_errors_naming_it(void **state)
{
    char dir[] = "/tmp/chime-secret-XXXXXX", path[64];
    struct secret_key *k = NULL;
    struct err err = {0};
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/secret.key", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("short", f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(secret_key_load(path, true, &k, NULL, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "5 bytes, want 32"));
    assert_non_null(strstr(err.msg, path));
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 40; i++)
        fputc('k', f);
    fclose(f);
    assert_int_equal(secret_key_load(path, false, &k, NULL, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "more than 32 bytes"));
    truncate(path, 32);
    chmod(path, 0640);
    assert_int_equal(secret_key_load(path, false, &k, NULL, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "chmod 600"));
    chmod(path, 0600);
    assert_int_equal(secret_key_load(path, false, &k, NULL, &err), 0);
    secret_key_free(k);
    unlink(path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(secret_key_load(path, false, &k, NULL, &err), -CHIME_EINVAL);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_seal_then_open_gives_the_value_back),
        cmocka_unit_test(test_secret_seals_the_same_value_differently_each_time),
        cmocka_unit_test(test_secret_refuses_a_changed_box_at_every_byte),
        cmocka_unit_test(test_secret_does_not_open_under_another_key),
        cmocka_unit_test(test_secret_key_file_is_made_once_with_mode_0600),
        cmocka_unit_test(test_secret_key_file_faults_are_errors_naming_it),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
