/* channel_test.c: the channels file: every kind read with its defaults,
 * every kind of bad definition refused naming it, jobs checked against
 * the channels, and the retry schedule. */
#include "notify/channel.h"

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

#include "job/job.h"
#include "util/err.h"
#include "../banned.h"

static struct channel_set *parse_ok(const char *text)
{
    struct channel_set *s = NULL;
    struct err err = { 0 };

    if (channel_set_parse(text, strlen(text), NULL, &s, &err) < 0)
        fail_msg("parse: %s: %s", err.field, err.msg);
    return s;
}

static void test_channel_set_reads_each_kind_with_its_defaults(void **state)
{
    struct channel_set *s = parse_ok(
        "{\"defaults\": {\"timeout\": \"3s\", \"retry\": {\"max_attempts\": 4}},"
        " \"channels\": {"
        "  \"ops\": {\"kind\": \"webhook\", \"url\": \"https://hooks.example.com/x\","
        "           \"secret\": \"s3cret\", \"headers\": {\"X-Team\": \"ops\"},"
        "           \"retry\": {\"backoff\": \"250ms\", \"factor\": 3}},"
        "  \"chat\": {\"kind\": \"slack\", \"url\": \"http://127.0.0.1:9/services/T/B\","
        "            \"timeout\": 2, \"namespaces\": [\"sales\"]},"
        "  \"mail\": {\"kind\": \"email\", \"url\": \"smtp://127.0.0.1:2525\","
        "            \"from\": \"chime@example.com\", \"to\": [\"a@example.com\", \"b@example.com\"],"
        "            \"subject\": \"{job} {event}\", \"starttls\": true}}}");
    const struct channel *c;

    (void)state;
    assert_int_equal(channel_set_count(s), 3);
    assert_string_equal(channel_set_at(s, 0)->name, "chat"); /* by name */
    c = channel_set_find(s, "ops");
    assert_non_null(c);
    assert_int_equal(c->kind, CHANNEL_WEBHOOK);
    assert_int_equal(c->secret_len, 6);
    assert_memory_equal(c->secret, "s3cret", 6);
    assert_int_equal(c->n_headers, 1);
    assert_string_equal(c->headers[0].name, "X-Team");
    assert_int_equal(c->timeout_us, 3000000);           /* the file's default */
    assert_int_equal(c->connect_timeout_us, 5000000);   /* chime's default */
    assert_int_equal(c->retry.max_attempts, 4);
    assert_int_equal(c->retry.backoff_us, 250000);
    assert_true(c->retry.factor == 3.0);
    c = channel_set_find(s, "chat");
    assert_int_equal(c->kind, CHANNEL_SLACK);
    assert_int_equal(c->timeout_us, 2000000);
    assert_int_equal(c->n_namespaces, 1);
    assert_int_equal(c->retry.backoff_us, 10000000);
    c = channel_set_find(s, "mail");
    assert_int_equal(c->kind, CHANNEL_EMAIL);
    assert_int_equal(c->n_to, 2);
    assert_true(c->starttls);
    assert_null(channel_set_find(s, "nope"));
    assert_string_equal(channel_kind_name(CHANNEL_EMAIL), "email");
    /* a reference outlives the first */
    assert_ptr_equal(channel_set_ref(s), s);
    channel_set_free(s);
    assert_non_null(channel_set_find(s, "ops"));
    channel_set_free(s);
    channel_set_free(NULL);
}

static const struct {
    const char *text, *field, *msg;
} bad[] = {
    { "[]", "channels", "must be an object" },
    { "{\"channels\": {}, \"extra\": 1}", "", "unknown member 'extra'" },
    { "{\"channels\": {\"a\": {\"kind\": \"pager\", \"url\": \"https://x\"}}}", "channels.a.kind",
      "unknown kind 'pager' (webhook, slack or email)" },
    { "{\"channels\": {\"a\": {\"url\": \"https://x\"}}}", "channels.a.kind", "kind is missing" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\"}}}", "channels.a.url", "url is missing" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"ftp://x/y\"}}}", "channels.a.url",
      "'ftp://x/y' is not a http:// or https:// url (a webhook channel)" },
    { "{\"channels\": {\"a\": {\"kind\": \"slack\", \"url\": \"smtp://x\"}}}", "channels.a.url",
      "is not a http:// or https:// url" },
    { "{\"channels\": {\"a\": {\"kind\": \"email\", \"url\": \"https://x\", \"from\": \"a@b\","
      " \"to\": [\"c@d\"]}}}", "channels.a.url", "is not a smtp:// or smtps:// url" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"not a url\"}}}",
      "channels.a.url", "is not a url" },
    { "{\"channels\": {\"Ops\": {\"kind\": \"webhook\", \"url\": \"https://x\"}}}",
      "channels.Ops", "'Ops' is not a channel name" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"https://x\", \"to\": []}}}",
      "channels.a.to", "to is not a member of a webhook channel" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"https://x\", \"sekret\": 1}}}",
      "channels.a.sekret", "unknown member 'sekret'" },
    { "{\"channels\": {\"a\": {\"kind\": \"email\", \"url\": \"smtp://x\", \"to\": [\"c@d\"]}}}",
      "channels.a.from", "from is missing" },
    { "{\"channels\": {\"a\": {\"kind\": \"email\", \"url\": \"smtp://x\", \"from\": \"a@b\"}}}",
      "channels.a.to", "to is missing" },
    { "{\"channels\": {\"a\": {\"kind\": \"email\", \"url\": \"smtp://x\", \"from\": \"a@b\","
      " \"to\": [\"nobody\"]}}}", "channels.a.to", "'nobody' is not a mail address" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"https://x\","
      " \"headers\": {\"X-Chime-Signature\": \"forged\"}}}}", "channels.a.headers",
      "'X-Chime-Signature' is not a header a channel may set" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"https://x\","
      " \"headers\": {\"X-A\": \"b\\r\\nX-Evil: 1\"}}}}", "channels.a.headers",
      "holds a line break" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"https://x\","
      " \"timeout\": \"0s\"}}}", "channels.a.timeout", "must be more than 0" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"https://x\","
      " \"retry\": {\"max_attempts\": 0}}}}", "channels.a.retry.max_attempts",
      "max_attempts must be a whole number from 1 to 100" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"https://x\","
      " \"secret_file\": \"/nonexistent/secret\"}}}", "channels.a.secret_file",
      "cannot read '/nonexistent/secret'" },
    { "{\"channels\": {\"a\": {\"kind\": \"webhook\", \"url\": \"https://x\"},"
      " \"a\": {\"kind\": \"webhook\", \"url\": \"https://y\"}}}", "", "duplicate object key" },
    { "{\"defaults\": {\"retries\": 3}, \"channels\": {}}", "defaults.retries",
      "unknown member 'retries'" },
};

static void test_channel_set_refuses_bad_definitions_naming_them(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct channel_set *s = NULL;
        struct err err = { 0 };
        int rc = channel_set_parse(bad[i].text, strlen(bad[i].text), NULL, &s, &err);

        if (rc >= 0 || strcmp(err.field, bad[i].field) != 0 || !strstr(err.msg, bad[i].msg))
            fail_msg("case %zu (%s): rc %d field '%s' msg '%s'", i, bad[i].text, rc, err.field,
                     err.msg);
        assert_null(s);
    }
}

static void test_channel_set_reads_secrets_from_files_beside_it(void **state)
{
    char dir[] = "/tmp/chime-channel-XXXXXX", path[128], secret[128];
    struct channel_set *s = NULL;
    struct err err = { 0 };
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(secret, sizeof secret, "%s/hook.secret", dir);
    f = fopen(secret, "w");
    fputs("from-a-file\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/channels.json", dir);
    f = fopen(path, "w");
    fputs("{\"channels\": {\"h\": {\"kind\": \"webhook\", \"url\": \"http://127.0.0.1/\","
          " \"secret_file\": \"hook.secret\"}}}", f);
    fclose(f);
    assert_int_equal(channel_set_load(path, &s, &err), 0);
    assert_int_equal(channel_set_find(s, "h")->secret_len, 11);
    assert_memory_equal(channel_set_find(s, "h")->secret, "from-a-file", 11);
    channel_set_free(s);
    unlink(secret);
    unlink(path);
    assert_int_equal(channel_set_load(path, &s, &err), -CHIME_ENOTFOUND);
    /* a FIFO (no writer: a blocking open would hang) and a device are refused */
    assert_int_equal(mkfifo(secret, 0600), 0);
    for (int i = 0; i < 2; i++) {
        char text[256];

        snprintf(text, sizeof text,
                 "{\"channels\": {\"h\": {\"kind\": \"webhook\", \"url\": \"http://x/\","
                 " \"secret_file\": \"%s\"}}}", i ? "/dev/zero" : secret);
        assert_int_equal(channel_set_parse(text, strlen(text), NULL, &s, &err), -CHIME_EINVAL);
        assert_string_equal(err.field, "channels.h.secret_file");
        assert_non_null(strstr(err.msg, "is not a regular file"));
    }
    unlink(secret);
    rmdir(dir);
}

#define TWO_CHANNELS                                                                               \
    "\"channels\": {\"ops-hook\": {\"kind\": \"webhook\", \"url\": \"https://x\"},"              \
    " \"ops-mail\": {\"kind\": \"email\", \"url\": \"smtp://x\", \"from\": \"a@b\","              \
    " \"to\": [\"c@d\"]}}"

static void test_channel_set_reads_the_channels_of_daemon_events(void **state)
{
    struct channel_set *s = parse_ok("{\"daemon\": [\"ops-mail\", \"ops-hook\"], " TWO_CHANNELS "}");
    struct channel_set *none = parse_ok("{" TWO_CHANNELS "}");
    struct channel_set *empty = parse_ok("{" TWO_CHANNELS ", \"daemon\": []}");

    (void)state;
    /* in the file's order, pointing at the channels themselves */
    assert_int_equal(channel_set_daemon_count(s), 2);
    assert_ptr_equal(channel_set_daemon_at(s, 0), channel_set_find(s, "ops-mail"));
    assert_ptr_equal(channel_set_daemon_at(s, 1), channel_set_find(s, "ops-hook"));
    assert_null(channel_set_daemon_at(s, 2));
    assert_int_equal(channel_set_daemon_count(none), 0);
    assert_null(channel_set_daemon_at(none, 0));
    assert_int_equal(channel_set_daemon_count(empty), 0);
    assert_int_equal(channel_set_daemon_count(NULL), 0);
    channel_set_free(s);
    channel_set_free(none);
    channel_set_free(empty);
}

static const struct {
    const char *text, *field, *msg;
} bad_daemon[] = {
    { "{\"daemon\": \"ops-hook\", " TWO_CHANNELS "}", "daemon",
      "daemon must be an array of channel names" },
    { "{\"daemon\": {\"ops-hook\": true}, " TWO_CHANNELS "}", "daemon", "must be an array" },
    { "{\"daemon\": [\"ops-hook\", 7], " TWO_CHANNELS "}", "daemon[1]",
      "daemon[1] must be a channel name (a string)" },
    { "{\"daemon\": [null], " TWO_CHANNELS "}", "daemon[0]", "must be a channel name" },
    { "{\"daemon\": [\"ops-hook\", \"pager\"], " TWO_CHANNELS "}", "daemon[1]",
      "'pager' is not a channel of this file" },
    { "{\"daemon\": [\"ops-hook\", \"ops-hook\"], " TWO_CHANNELS "}", "daemon[1]",
      "'ops-hook' is listed twice" },
    /* hostile names: quoted, never matched by a prefix, never a path */
    { "{\"daemon\": [\"ops-hook\\u0000x\"], " TWO_CHANNELS "}", "", "\\u0000 is not allowed" },
    { "{\"daemon\": [\"ops-hook\\r\\nX-Evil: 1\"], " TWO_CHANNELS "}", "daemon[0]",
      "is not a channel of this file" },
    { "{\"daemon\": [\"../ops-hook\"], " TWO_CHANNELS "}", "daemon[0]",
      "'../ops-hook' is not a channel" },
    { "{\"daemon\": [\"OPS-HOOK\"], " TWO_CHANNELS "}", "daemon[0]",
      "'OPS-HOOK' is not a channel" },
    { "{\"daemon\": [\"ops-hook-and-a-name-longer-than-sixty-three-bytes-which-no-channel-has\"], "
      TWO_CHANNELS "}", "daemon[0]", "is not a channel" },
    /* none defined at all */
    { "{\"daemon\": [\"ops-hook\"], \"channels\": {}}", "daemon[0]",
      "'ops-hook' is not a channel" },
    { "{\"daemon\": [\"ops-hook\"], \"daemons\": [], " TWO_CHANNELS "}", "",
      "unknown member 'daemons' (channels, defaults, daemon)" },
};

static void test_channel_set_refuses_a_bad_daemon_list_naming_it(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_daemon / sizeof bad_daemon[0]; i++) {
        struct channel_set *s = NULL;
        struct err err = { 0 };
        const char *text = bad_daemon[i].text;
        int rc = channel_set_parse(text, strlen(text), NULL, &s, &err);

        if (rc >= 0 || strcmp(err.field, bad_daemon[i].field) != 0
            || !strstr(err.msg, bad_daemon[i].msg))
            fail_msg("case %zu (%s): rc %d field '%s' msg '%s'", i, text, rc, err.field, err.msg);
        assert_null(s);
    }
}

static void test_channel_set_load_names_the_file_of_a_bad_daemon_list(void **state)
{
    char dir[] = "/tmp/chime-channel-XXXXXX", path[128];
    struct channel_set *s = NULL;
    struct err err = { 0 };
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/channels.json", dir);
    f = fopen(path, "w");
    fputs("{\"daemon\": [\"pager\"], " TWO_CHANNELS "}", f);
    fclose(f);
    assert_int_equal(channel_set_load(path, &s, &err), -CHIME_EINVAL);
    assert_null(s);
    assert_string_equal(err.field, "daemon[0]");
    assert_non_null(strstr(err.msg, "'pager' is not a channel of this file"));
    assert_non_null(strstr(err.msg, path));
    unlink(path);
    rmdir(dir);
}

static struct job *job_of(const char *doc)
{
    struct job *j = NULL;
    struct err err = { 0 };

    if (job_parse(doc, strlen(doc), NULL, &j, &err) < 0)
        fail_msg("job: %s: %s", err.field, err.msg);
    return j;
}

static void test_channel_set_checks_the_channels_a_job_names(void **state)
{
    struct channel_set *s = parse_ok(
        "{\"channels\": {\"ops\": {\"kind\": \"webhook\", \"url\": \"https://x\"},"
        " \"sales-only\": {\"kind\": \"webhook\", \"url\": \"https://y\","
        "  \"namespaces\": [\"sales\"]}}}");
    struct channel_set *none = NULL;
    struct job *good = job_of("{\"name\": \"a\", \"schedule\": {\"manual\": true},"
                              " \"command\": [\"true\"], \"notify\": {\"on_failure\": [\"ops\"]}}");
    struct job *unknown =
        job_of("{\"name\": \"a\", \"schedule\": {\"manual\": true}, \"command\": [\"true\"],"
               " \"notify\": {\"on_failure\": [\"ops\"], \"on_stuck\": [\"ops\", \"pager\"]}}");
    struct job *foreign = job_of(
        "{\"name\": \"a\", \"schedule\": {\"manual\": true}, \"command\": [\"true\"],"
        " \"notify\": {\"on_success\": [\"sales-only\"]}}");
    struct job *sales = job_of(
        "{\"name\": \"a\", \"namespace\": \"sales\", \"schedule\": {\"manual\": true},"
        " \"command\": [\"true\"], \"notify\": {\"on_success\": [\"sales-only\"]}}");
    struct err err = { 0 };

    (void)state;
    assert_int_equal(channel_set_check_job(s, good, &err), 0);
    assert_int_equal(channel_set_check_job(s, sales, &err), 0);
    assert_int_equal(channel_set_check_job(s, unknown, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "notify.on_stuck[1]");
    assert_non_null(strstr(err.msg, "'pager' is not a channel"));
    assert_int_equal(channel_set_check_job(s, foreign, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "notify.on_success[0]");
    assert_non_null(strstr(err.msg, "not a channel of namespace 'default'"));
    assert_int_equal(channel_set_empty(&none, &err), 0);
    assert_int_equal(channel_set_check_job(none, good, &err), -CHIME_EINVAL);
    assert_non_null(strstr(err.msg, "none are defined"));
    job_free(good);
    job_free(unknown);
    job_free(foreign);
    job_free(sales);
    channel_set_free(s);
    channel_set_free(none);
}

static void test_channel_backoff_doubles_up_to_its_ceiling_with_jitter(void **state)
{
    struct channel_retry r = { 10, 1000000, 2.0, 10000000, 0.0 };

    (void)state;
    assert_int_equal(channel_backoff_us(&r, 1, 0), 1000000);
    assert_int_equal(channel_backoff_us(&r, 2, 0), 2000000);
    assert_int_equal(channel_backoff_us(&r, 3, 0), 4000000);
    assert_int_equal(channel_backoff_us(&r, 4, 0), 8000000);
    assert_int_equal(channel_backoff_us(&r, 5, 0), 10000000);
    assert_int_equal(channel_backoff_us(&r, 60, 0), 10000000);
    /* jitter adds up to that fraction of the delay, never takes away */
    r.jitter = 0.5;
    assert_int_equal(channel_backoff_us(&r, 1, 0), 1000000);
    assert_int_equal(channel_backoff_us(&r, 1, UINT64_C(1) << 63), 1250000);
    assert_true(channel_backoff_us(&r, 1, UINT64_MAX) <= 1500000);
    assert_true(channel_backoff_us(&r, 1, UINT64_MAX) > 1499000);
    assert_int_equal(channel_backoff_us(&r, 9, UINT64_C(1) << 63), 12500000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_set_reads_each_kind_with_its_defaults),
        cmocka_unit_test(test_channel_set_refuses_bad_definitions_naming_them),
        cmocka_unit_test(test_channel_set_reads_secrets_from_files_beside_it),
        cmocka_unit_test(test_channel_set_checks_the_channels_a_job_names),
        cmocka_unit_test(test_channel_backoff_doubles_up_to_its_ceiling_with_jitter),
        cmocka_unit_test(test_channel_set_reads_the_channels_of_daemon_events),
        cmocka_unit_test(test_channel_set_refuses_a_bad_daemon_list_naming_it),
        cmocka_unit_test(test_channel_set_load_names_the_file_of_a_bad_daemon_list),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
