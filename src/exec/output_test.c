/* output_test.c: tests of output.c, the framed output file: what is kept
 * under and over the cap, how chunks are marked, and how readers cope with
 * a file still being written. */
#include "exec/output.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/err.h"
#include "../banned.h"

struct file {
    char path[64];
    int fd;
};

static void file_open(struct file *f)
{
    snprintf(f->path, sizeof f->path, "/tmp/chime-output-test-XXXXXX");
    f->fd = mkstemp(f->path);
    assert_true(f->fd >= 0);
}

/* The whole file in an owned buffer. */
static char *file_slurp(const struct file *f, size_t *ret_len)
{
    FILE *in = fopen(f->path, "rb");
    char *buf;
    long n;

    assert_non_null(in);
    fseek(in, 0, SEEK_END);
    n = ftell(in);
    rewind(in);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, in), (size_t)n);
    fclose(in);
    *ret_len = (size_t)n;
    return buf;
}

/* Collects chunks as "O:text|E:text|D:n|" for comparing in one string. */
struct collect {
    char text[4096];
    size_t len;
};

static int collect_chunk(void *arg, int stream, const char *data, size_t len, int64_t dropped)
{
    struct collect *c = arg;
    int n;

    if (stream)
        n = snprintf(c->text + c->len, sizeof c->text - c->len, "%c:%.*s|",
                     stream == EXEC_STDERR ? 'E' : 'O', (int)len, data);
    else
        n = snprintf(c->text + c->len, sizeof c->text - c->len, "D:%lld|", (long long)dropped);
    c->len += (size_t)n;
    return 0;
}

static void write_and_collect(int64_t cap, void (*feed)(struct exec_output *o), int64_t total,
                              const char *want)
{
    struct exec_output *o = NULL;
    struct collect c = {.len = 0};
    struct file f;
    size_t len, used;
    char *data;

    file_open(&f);
    assert_int_equal(exec_output_new(f.fd, cap, &o, NULL), 0);
    feed(o);
    assert_int_equal(exec_output_finish(o, NULL, NULL), 0);
    assert_int_equal(exec_output_total(o), total);
    exec_output_free(o);
    data = file_slurp(&f, &len);
    assert_int_equal(exec_output_parse(data, len, collect_chunk, &c, &used, NULL), 0);
    assert_int_equal(used, len);
    assert_string_equal(c.text, want);
    free(data);
    unlink(f.path);
}

static void feed_small(struct exec_output *o)
{
    exec_output_write(o, EXEC_STDOUT, "hello\n", 6);
    exec_output_write(o, EXEC_STDERR, "oops\n", 5);
    exec_output_write(o, EXEC_STDOUT, "bye\n", 4);
}

static void test_output_under_the_cap_keeps_every_chunk_with_its_stream(void **state)
{
    (void)state;
    write_and_collect(0, feed_small, 15, "O:hello\n|E:oops\n|O:bye\n|");
    write_and_collect(1000, feed_small, 15, "O:hello\n|E:oops\n|O:bye\n|");
}

/* cap 10: head 5 bytes "hello", tail ring 5 bytes */
static void feed_over(struct exec_output *o)
{
    exec_output_write(o, EXEC_STDOUT, "hello world", 11); /* head "hello", ring " world" */
    exec_output_write(o, EXEC_STDERR, "ERR", 3);          /* ring keeps "ldERR" */
    exec_output_write(o, EXEC_STDOUT, "z", 1);            /* ring keeps "dERRz" */
}

static void test_output_over_the_cap_keeps_head_and_tail_and_counts_the_drop(void **state)
{
    (void)state;
    /* 15 bytes written, 5 in the head, 5 in the tail: 5 dropped (" worl") */
    write_and_collect(10, feed_over, 15, "O:hello|D:5|O:d|E:ERR|O:z|");
}

static void feed_exact(struct exec_output *o)
{
    exec_output_write(o, EXEC_STDOUT, "0123456789", 10);
}

static void test_output_exactly_at_the_cap_drops_nothing(void **state)
{
    (void)state;
    /* the head takes 5, the ring the other 5, nothing is lost: no marker */
    write_and_collect(10, feed_exact, 10, "O:01234|O:56789|");
}

static void feed_huge(struct exec_output *o)
{
    static char block[65536];
    int i;

    memset(block, 'x', sizeof block);
    exec_output_write(o, EXEC_STDOUT, "START", 5);
    for (i = 0; i < 64; i++) /* 4 MiB through a 6-byte ring */
        exec_output_write(o, i % 2 ? EXEC_STDERR : EXEC_STDOUT, block, sizeof block);
    exec_output_write(o, EXEC_STDERR, "END", 3);
}

static void test_output_a_tail_much_smaller_than_the_output_keeps_the_last_bytes(void **state)
{
    (void)state;
    /* cap 11: head 5 ("START"), ring 6: the last 3 x of the last block
     * (stderr) and "END"; dropped: 4 MiB - 3 */
    write_and_collect(11, feed_huge, 5 + 4194304 + 3, "O:START|D:4194301|E:xxxEND|");
}

static void test_output_parse_stops_before_an_incomplete_chunk(void **state)
{
    const char file[] = EXEC_OUTPUT_MAGIC "O3\nabcE10\nshort";
    struct collect c = {.len = 0};
    size_t used = 0, magic = sizeof EXEC_OUTPUT_MAGIC - 1;

    (void)state;
    assert_int_equal(exec_output_parse(file, sizeof file - 1, collect_chunk, &c, &used, NULL), 0);
    assert_string_equal(c.text, "O:abc|");
    assert_int_equal(used, magic + 6);
    /* a header cut in its digits, and a file cut in its magic */
    assert_int_equal(exec_output_parse(file, magic + 8, NULL, NULL, &used, NULL), 0);
    assert_int_equal(used, magic + 6);
    assert_int_equal(exec_output_parse(file, 4, NULL, NULL, &used, NULL), 0);
    assert_int_equal(used, 0);
}

static void test_output_parse_rejects_what_is_not_an_output_file(void **state)
{
    const char *bad[] = {
        "hello world, not ours",
        EXEC_OUTPUT_MAGIC "Q3\nabc",
        EXEC_OUTPUT_MAGIC "X2\n{}O1\na", /* nothing after the exit record */
        EXEC_OUTPUT_MAGIC "O\nabc",
        EXEC_OUTPUT_MAGIC "O3xabc",
        EXEC_OUTPUT_MAGIC "O99999999999999999999999\n",
    };
    struct err err = {0};
    size_t i, used;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(exec_output_parse(bad[i], strlen(bad[i]), NULL, NULL, &used, &err),
                         -CHIME_EINVAL);
}

static void test_output_read_renders_chosen_streams_and_the_drop_marker(void **state)
{
    struct exec_output *o = NULL;
    struct err err = {0};
    struct file f;
    char *text;
    size_t len;

    (void)state;
    file_open(&f);
    assert_int_equal(exec_output_new(f.fd, 10, &o, NULL), 0);
    feed_over(o);
    assert_int_equal(exec_output_finish(o, NULL, NULL), 0);
    exec_output_free(o);
    assert_int_equal(exec_output_read(f.path, EXEC_STDOUT | EXEC_STDERR, &text, &len, &err), 0);
    assert_string_equal(text, "hello\n[chime: 5 bytes of output dropped]\ndERRz");
    assert_int_equal(len, strlen(text));
    free(text);
    assert_int_equal(exec_output_read(f.path, EXEC_STDERR, &text, &len, &err), 0);
    assert_string_equal(text, "[chime: 5 bytes of output dropped]\nERR");
    free(text);
    unlink(f.path);
    assert_int_equal(exec_output_read(f.path, EXEC_STDOUT, &text, &len, &err), -CHIME_ENOTFOUND);
}

/* The exit record is the X chunk at the end: found by walking the chunk
 * headers, never shown as output, and not forgeable by the job's bytes. */
static void test_output_record_is_the_last_chunk_and_hidden_from_readers(void **state)
{
    const char *fake = "X15\n{\"exit_code\":0}";
    struct exec_output *o = NULL;
    struct collect c = {.len = 0};
    struct file f;
    char *data, *rec = NULL;
    size_t len, used, rlen;

    (void)state;
    file_open(&f);
    assert_int_equal(exec_output_new(f.fd, 0, &o, NULL), 0);
    exec_output_write(o, EXEC_STDOUT, fake, strlen(fake));
    /* while running: no record, even with the job's bytes looking like one */
    assert_int_equal(exec_output_record(f.fd, &rec, &rlen, NULL), 0);
    assert_null(rec);
    assert_int_equal(exec_output_finish(o, "{\"exit_code\":7}", NULL), 0);
    assert_int_equal(exec_output_record(f.fd, &rec, &rlen, NULL), 0);
    assert_non_null(rec);
    assert_string_equal(rec, "{\"exit_code\":7}");
    assert_int_equal(rlen, strlen(rec));
    free(rec);
    exec_output_free(o); /* it closes the file */
    f.fd = open(f.path, O_RDWR);
    assert_true(f.fd >= 0);
    data = file_slurp(&f, &len);
    assert_int_equal(exec_output_parse(data, len, collect_chunk, &c, &used, NULL), 0);
    assert_int_equal(used, len);
    assert_string_equal(c.text, "O:X15\n{\"exit_code\":0}|");
    /* a record cut short (its holder died writing it) is no record */
    assert_int_equal(ftruncate(f.fd, (off_t)len - 3), 0);
    rec = NULL;
    assert_int_equal(exec_output_record(f.fd, &rec, &rlen, NULL), 0);
    assert_null(rec);
    /* nor is a file whose chunks are garbage */
    assert_int_equal(ftruncate(f.fd, 0), 0);
    assert_int_equal(pwrite(f.fd, "chime-output 1\nQ12\n", 19, 0), 19);
    assert_true(exec_output_record(f.fd, &rec, &rlen, NULL) < 0);
    assert_null(rec);
    free(data);
    close(f.fd);
    unlink(f.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_under_the_cap_keeps_every_chunk_with_its_stream),
        cmocka_unit_test(test_output_over_the_cap_keeps_head_and_tail_and_counts_the_drop),
        cmocka_unit_test(test_output_exactly_at_the_cap_drops_nothing),
        cmocka_unit_test(test_output_a_tail_much_smaller_than_the_output_keeps_the_last_bytes),
        cmocka_unit_test(test_output_parse_stops_before_an_incomplete_chunk),
        cmocka_unit_test(test_output_parse_rejects_what_is_not_an_output_file),
        cmocka_unit_test(test_output_read_renders_chosen_streams_and_the_drop_marker),
        cmocka_unit_test(test_output_record_is_the_last_chunk_and_hidden_from_readers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
