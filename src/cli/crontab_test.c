/* crontab_test.c: tests of crontab.c, one rule of crontab(5) (as cronie
 * reads it) after another: line kinds, environment settings, the command,
 * names, lines that cannot be converted. The schedule fields are
 * crontab_schedule_test.c's. A job with standard input is also run, through
 * /bin/sh as the runner would start it, to check the bytes its command
 * reads are the bytes cron would have piped to it. */
#include "cli/crontab.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "job/job.h"
#include "time/cron.h"
#include "util/err.h"
#include "cli/crontab_test.h"
#include "../banned.h"

/* ---- the line kinds ---- */

static void test_crontab_converts_a_user_line_into_a_complete_job(void **state)
{
    struct crontab *c = convert("# nightly\n\n   \t\n0 2 * * * /usr/bin/backup --all\n");
    const struct crontab_entry *e = job_at(c, 4);

    (void)state;
    assert_int_equal(crontab_count(c), 1);
    assert_string_equal(e->name, "backup-backup-4");
    assert_string_equal(e->schedule, "0 2 * * *");
    assert_null(e->user);
    assert_string_equal(str(e->doc, "name"), "backup-backup-4");
    assert_string_equal(str(e->doc, "namespace"), "ops");
    assert_string_equal(str(e->doc, "schedule.cron"), "0 2 * * *");
    assert_null(json_object_get(json_object_get(e->doc, "schedule"), "timezone"));
    assert_int_equal(nargs(e), 3);
    assert_string_equal(arg(e, 0), "/bin/sh");
    assert_string_equal(arg(e, 1), "-c");
    assert_string_equal(arg(e, 2), "/usr/bin/backup --all");
    /* cron's environment defaults, and its policies */
    assert_string_equal(str(e->doc, "env.SHELL"), "/bin/sh");
    assert_string_equal(str(e->doc, "env.PATH"), "/usr/bin:/bin");
    assert_string_equal(str(e->doc, "concurrency"), "allow");
    assert_string_equal(str(e->doc, "misfire.catch_up"), "none");
    assert_string_equal(str(e->doc, "labels.crontab-file"), "/etc/cron.d/backup");
    assert_string_equal(str(e->doc, "description"),
                        "line 4 of /etc/cron.d/backup: 0 2 * * * /usr/bin/backup --all");
    assert_int_equal(crontab_tally(c, CRONTAB_JOB), 1);
    assert_int_equal(crontab_tally(c, CRONTAB_ERROR), 0);
    crontab_free(c);
    crontab_free(NULL);
}

static void test_crontab_reads_the_user_column_of_a_system_crontab(void **state)
{
    struct crontab *c = convert_as("17 * * * * root  cd / && run-parts --report /etc/cron.hourly\n"
                                   "25 6 * * *\twww-data\t/usr/bin/php  /srv/cron.php  \n"
                                   "0 0 * * * root\n"
                                   "0 0 * * * r%t echo\n",
                                   CRONTAB_SYSTEM);
    const struct crontab_entry *e = job_at(c, 1);

    (void)state;
    assert_string_equal(e->user, "root");
    assert_string_equal(arg(e, 2), "cd / && run-parts --report /etc/cron.hourly");
    assert_string_equal(str(e->doc, "labels.crontab-user"), "root");
    /* cron sets them from the user */
    assert_string_equal(str(e->doc, "env.LOGNAME"), "root");
    assert_string_equal(str(e->doc, "env.USER"), "root");
    assert_string_equal(e->name, "backup-run-parts-1");
    e = job_at(c, 2);
    assert_string_equal(e->user, "www-data");
    /* the rest of the line, trailing blanks and all, is the command */
    assert_string_equal(arg(e, 2), "/usr/bin/php  /srv/cron.php  ");
    assert_non_null(strstr(error_at(c, 3), "command: missing"));
    assert_non_null(strstr(error_at(c, 4), "is not a user name"));
    crontab_free(c);
}

static void test_crontab_format_follows_the_path(void **state)
{
    (void)state;
    assert_int_equal(crontab_format_of("/etc/crontab"), CRONTAB_SYSTEM);
    assert_int_equal(crontab_format_of("/etc/cron.d/certbot"), CRONTAB_SYSTEM);
    assert_int_equal(crontab_format_of("/etc/cron.d/"), CRONTAB_USER);
    assert_int_equal(crontab_format_of("/etc/cron.d/a/b"), CRONTAB_USER);
    assert_int_equal(crontab_format_of("/var/spool/cron/crontabs/alice"), CRONTAB_USER);
    assert_int_equal(crontab_format_of("/home/x/etc/crontab"), CRONTAB_USER);
    assert_int_equal(crontab_format_of("-"), CRONTAB_USER);
    assert_int_equal(crontab_format_of(NULL), CRONTAB_USER);
}

static void test_crontab_user_lines_read_as_system_lines_need_a_command(void **state)
{
    struct crontab *c = convert_as("0 2 * * * /usr/bin/backup\n", CRONTAB_SYSTEM);

    (void)state;
    assert_non_null(strstr(error_at(c, 1), "is not a user name"));
    crontab_free(c);
}

/* ---- environment settings ---- */

static void test_crontab_env_settings_follow_cronie(void **state)
{
    struct crontab *c = convert("A=1\n"
                                "B = two words  \n"
                                "  C\t=\t'  kept  '\n"
                                "D=\"x y\"   \n"
                                "\"E\"=quoted name\n"
                                "F='it''s'\n"
                                "G=\"unclosed\n"
                                "H=\n"
                                "I=a=b\n"
                                "* * * * * env\n");
    const struct crontab_entry *e = job_at(c, 10);

    (void)state;
    assert_string_equal(str(e->doc, "env.A"), "1");
    assert_string_equal(str(e->doc, "env.B"), "two words");
    assert_string_equal(str(e->doc, "env.C"), "  kept  ");
    assert_string_equal(str(e->doc, "env.D"), "x y");
    assert_string_equal(str(e->doc, "env.E"), "quoted name");
    assert_string_equal(str(e->doc, "env.H"), "");
    assert_string_equal(str(e->doc, "env.I"), "a=b");
    assert_int_equal(at(c, 1)->kind, CRONTAB_ENV);
    assert_string_equal(at(c, 2)->what, "B=two words");
    /* something after the closing quote, or no closing quote: not a
     * setting, so a job line, and not a good one */
    assert_int_equal(at(c, 6)->kind, CRONTAB_ERROR);
    assert_int_equal(at(c, 7)->kind, CRONTAB_ERROR);
    assert_null(json_object_get(json_object_get(e->doc, "env"), "F"));
    crontab_free(c);
}

static void test_crontab_env_applies_to_the_lines_below_only(void **state)
{
    struct crontab *c = convert("* * * * * one\n"
                                "MODE=a\n"
                                "* * * * * two\n"
                                "MODE=b\n"
                                "* * * * * three\n");

    (void)state;
    assert_null(str(job_at(c, 1)->doc, "env.MODE"));
    assert_string_equal(str(job_at(c, 3)->doc, "env.MODE"), "a");
    assert_string_equal(str(job_at(c, 5)->doc, "env.MODE"), "b");
    crontab_free(c);
}

static void test_crontab_shell_runs_the_command(void **state)
{
    struct crontab *c = convert("SHELL=/bin/bash\n"
                                "* * * * * echo $BASH_VERSION\n"
                                "SHELL=bash\n");
    const struct crontab_entry *e = job_at(c, 2);

    (void)state;
    assert_string_equal(arg(e, 0), "/bin/bash");
    assert_string_equal(arg(e, 1), "-c");
    assert_string_equal(arg(e, 2), "echo $BASH_VERSION");
    assert_string_equal(str(e->doc, "env.SHELL"), "/bin/bash");
    assert_non_null(strstr(error_at(c, 3), "not an absolute path"));
    crontab_free(c);
}

static void test_crontab_cron_tz_is_the_schedules_zone(void **state)
{
    struct crontab *c = convert("* * * * * before\n"
                                "CRON_TZ=America/New_York\n"
                                "0 9 * * * after\n"
                                "CRON_TZ=Mars/Olympus_Mons\n"
                                "CRON_TZ=:Europe/Berlin\n"
                                "0 9 * * * berlin\n"
                                "TZ=Asia/Tokyo\n"
                                "0 9 * * * tokyo\n"
                                "CRON_TZ=\n"
                                "0 9 * * * utc\n");

    (void)state;
    assert_null(str(job_at(c, 1)->doc, "schedule.timezone"));
    assert_string_equal(str(job_at(c, 3)->doc, "schedule.timezone"), "America/New_York");
    assert_non_null(strstr(error_at(c, 4), "CRON_TZ"));
    assert_string_equal(str(job_at(c, 6)->doc, "schedule.timezone"), "Europe/Berlin");
    /* TZ is the commands' zone: cron does not read the schedule in it */
    assert_string_equal(str(job_at(c, 8)->doc, "schedule.timezone"), "Europe/Berlin");
    assert_string_equal(str(job_at(c, 8)->doc, "env.TZ"), "Asia/Tokyo");
    assert_non_null(strstr(at(c, 7)->what, "CRON_TZ"));
    /* cronie sets TZ="" for the schedule: UTC */
    assert_string_equal(str(job_at(c, 10)->doc, "schedule.timezone"), "UTC");
    crontab_free(c);
}

static void test_crontab_skips_mail_settings_and_says_why(void **state)
{
    struct crontab *c = convert("MAILTO=ops@example.com\n"
                                "MAILTO=\"\"\n"
                                "MAILFROM=cron@example.com\n"
                                "RANDOM_DELAY=10\n"
                                "* * * * * true\n");
    const struct crontab_entry *e = job_at(c, 5);

    (void)state;
    assert_int_equal(at(c, 1)->kind, CRONTAB_SKIPPED);
    assert_non_null(strstr(at(c, 1)->what, "no mail"));
    assert_non_null(strstr(at(c, 1)->what, "ops@example.com"));
    assert_int_equal(at(c, 2)->kind, CRONTAB_SKIPPED);
    assert_int_equal(at(c, 3)->kind, CRONTAB_SKIPPED);
    assert_int_equal(at(c, 4)->kind, CRONTAB_SKIPPED);
    assert_int_equal(crontab_tally(c, CRONTAB_SKIPPED), 4);
    assert_null(str(e->doc, "env.MAILTO"));
    assert_null(str(e->doc, "env.RANDOM_DELAY"));
    crontab_free(c);
}

static void test_crontab_refuses_env_names_chime_cannot_set(void **state)
{
    struct crontab *c = convert("MY-VAR=1\nCHIME_JOB=x\n\"A B\"=c\nGOOD_1=ok\n");

    (void)state;
    assert_non_null(strstr(error_at(c, 1), "cannot be a chime environment variable"));
    assert_non_null(strstr(error_at(c, 2), "CHIME_"));
    assert_non_null(strstr(error_at(c, 3), "cannot be a chime environment variable"));
    assert_int_equal(at(c, 4)->kind, CRONTAB_ENV);
    crontab_free(c);
}

/* ---- the command ---- */

static void test_crontab_percent_splits_command_and_input(void **state)
{
    struct crontab *c = convert("0 22 * * 1-5 mail -s \"It's 10pm\" joe"
                                "%Joe,%%Where are your kids?%\n"
                                "* * * * * cat%no newline at the end\n"
                                "* * * * * date +\\%Y-\\%m%in\\%put\n"
                                "* * * * * printf '\\\\'%a\\b\n"
                                "* * * * * nothing%\n"
                                "* * * * * a\\\\%b\n");
    const struct crontab_entry *e = job_at(c, 1);

    (void)state;
    assert_int_equal(nargs(e), 6);
    assert_string_equal(arg(e, 0), "/bin/sh");
    assert_string_equal(arg(e, 3), "/bin/sh");
    assert_string_equal(arg(e, 4), "Joe,\n\nWhere are your kids?\n");
    assert_string_equal(arg(e, 5), "mail -s \"It's 10pm\" joe");
    /* cronie ends the input with a newline */
    assert_string_equal(arg(job_at(c, 2), 4), "no newline at the end\n");
    /* "\%" is a '%' in the command and in the input */
    assert_string_equal(arg(job_at(c, 3), 5), "date +%Y-%m");
    assert_string_equal(arg(job_at(c, 3), 4), "in%put\n");
    /* other backslashes stay */
    assert_string_equal(arg(job_at(c, 4), 5), "printf '\\\\'");
    assert_string_equal(arg(job_at(c, 4), 4), "a\\b\n");
    /* an empty input is no input */
    assert_int_equal(nargs(job_at(c, 5)), 3);
    assert_string_equal(arg(job_at(c, 5), 2), "nothing");
    /* a backslash escapes a backslash, and the '%' after them splits */
    assert_string_equal(arg(job_at(c, 6), 5), "a\\\\");
    assert_string_equal(arg(job_at(c, 6), 4), "b\n");
    crontab_free(c);
}

static void test_crontab_input_reaches_the_command_byte_for_byte(void **state)
{
    struct crontab *c = convert("SHELL=/bin/bash\n"
                                "* * * * * cat; echo \"[$0]\"%line one%%  indented\\%%tab\there\\\n"
                                "* * * * * od -An -c | tr -s ' '%a\\\\%b\n");
    size_t len;
    char *out;

    (void)state;
    out = run_job(job_at(c, 2), &len);
    assert_string_equal(out, "line one\n\n  indented%\ntab\there\\\n[/bin/bash]\n");
    free(out);
    /* "\\%" in the input: a backslash, then '%' kept literally */
    out = run_job(job_at(c, 3), &len);
    assert_string_equal(out, " a \\ % b \\n\n");
    free(out);
    crontab_free(c);
}

/* ---- names ---- */

static void test_crontab_names_are_valid_unique_and_stable(void **state)
{
    const char *text = "* * * * * /usr/local/bin/Sync_Files.SH --now\n"
                       "* * * * * cd /srv && ./deploy.sh\n"
                       "* * * * * test -x /usr/sbin/anacron || run-parts /etc/cron.daily\n"
                       "* * * * * FOO=1 sleep 30; timeout 60 nice -n 5 rsync -a x y\n"
                       "* * * * * >/dev/null 2>&1\n"
                       "* * * * * /usr/local/bin/Sync_Files.SH --now\n";
    struct crontab *c = convert(text), *again = convert(text);

    (void)state;
    assert_string_equal(job_at(c, 1)->name, "backup-sync-files-sh-1");
    assert_string_equal(job_at(c, 2)->name, "backup-deploy-sh-2");
    assert_string_equal(job_at(c, 3)->name, "backup-anacron-3");
    assert_string_equal(job_at(c, 4)->name, "backup-rsync-4");
    assert_string_equal(job_at(c, 5)->name, "backup-job-5");
    assert_string_equal(job_at(c, 6)->name, "backup-sync-files-sh-6");
    for (size_t line = 1; line <= 6; line++)
        assert_true(json_equal(job_at(c, line)->doc, job_at(again, line)->doc));
    crontab_free(c);
    crontab_free(again);
}

static void test_crontab_names_come_from_the_source(void **state)
{
    struct crontab_opts o = { .format = CRONTAB_USER };
    struct crontab *c = NULL;
    struct err err = { 0 };
    char name[200];
    const char *text = "* * * * * x\n";

    (void)state;
    assert_int_equal(crontab_convert(text, strlen(text), &o, &c, &err), 0);
    assert_string_equal(job_at(c, 1)->name, "stdin-x-1");
    assert_string_equal(str(job_at(c, 1)->doc, "namespace"), "default");
    crontab_free(c);
    o.source = "/tmp/___.txt";
    assert_int_equal(crontab_convert(text, strlen(text), &o, &c, &err), 0);
    assert_string_equal(job_at(c, 1)->name, "txt-x-1");
    crontab_free(c);
    o.source = "/tmp/\xff\xfe";
    assert_int_equal(crontab_convert(text, strlen(text), &o, &c, &err), 0);
    assert_string_equal(job_at(c, 1)->name, "crontab-x-1");
    assert_string_equal(str(job_at(c, 1)->doc, "labels.crontab-file"), "/tmp/??");
    crontab_free(c);
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    o.source = name;
    assert_int_equal(crontab_convert(text, strlen(text), &o, &c, &err), 0);
    assert_int_equal(strlen(job_at(c, 1)->name), 20 + strlen("-x-1"));
    crontab_free(c);
    o.ns = "Bad NS";
    assert_int_equal(crontab_convert(text, strlen(text), &o, &c, &err), -CHIME_EINVAL);
    assert_string_equal(err.field, "namespace");
}

/* ---- lines that cannot be converted ---- */

static void test_crontab_reports_broken_lines_with_their_number(void **state)
{
    char text[16384];
    size_t k;
    struct crontab *c;
    struct crontab_opts o = { .format = CRONTAB_USER };
    struct err err = { 0 };

    (void)state;
    k = (size_t)snprintf(text, sizeof text,
                         "* * * *\n"                    /* 1: too few fields */
                         "* * * * * * six\n"            /* 2: a seconds field */
                         "* * * * * dos\r\n"            /* 3: a DOS line */
                         "* * * * * caf\xc3 x\n"        /* 4: not UTF-8 */
                         "* * * * * a\n"                /* 5: fine */
                         "-* * * * * quiet\n"           /* 6: fine, the '-' dropped */
                         "hello world\n"                /* 7 */
                         "* * * * * nul");              /* 8: a NUL follows */
    text[k++] = '\0';
    k += (size_t)snprintf(text + k, sizeof text - k, "x\n#");
    memset(text + k, 'c', 5000);                        /* 9: a long comment is fine */
    k += 5000;
    k += (size_t)snprintf(text + k, sizeof text - k, "\n* * * * * ");
    memset(text + k, 'l', 4090);                        /* 10: too long */
    k += 4090;
    k += (size_t)snprintf(text + k, sizeof text - k, "\n* * * * * last");   /* 11: no newline */
    assert_int_equal(crontab_convert(text, k, &o, &c, &err), 0);
    assert_non_null(strstr(error_at(c, 1), "has 4 fields"));
    assert_non_null(strstr(error_at(c, 2), "not 6"));
    assert_non_null(strstr(error_at(c, 3), "DOS line endings"));
    assert_non_null(strstr(error_at(c, 4), "not UTF-8 (at column 14)"));
    (void)job_at(c, 5);
    assert_non_null(strstr(job_at(c, 6)->what, "'-'"));
    assert_string_equal(arg(job_at(c, 6), 2), "quiet");
    assert_non_null(strstr(error_at(c, 7), "has 2 fields"));
    assert_non_null(strstr(error_at(c, 8), "NUL byte at column 14"));
    assert_non_null(strstr(error_at(c, 10), "more than 4096"));
    assert_int_equal(at(c, 11)->kind, CRONTAB_SKIPPED);     /* cron ignores it too */
    assert_non_null(strstr(at(c, 11)->what, "no newline at its end"));
    assert_int_equal(crontab_tally(c, CRONTAB_ERROR), 7);
    assert_int_equal(crontab_count(c), 10);
    crontab_free(c);
}

static void test_crontab_refuses_files_past_their_ceilings(void **state)
{
    struct crontab_opts o = { .format = CRONTAB_USER };
    struct crontab *c = NULL;
    struct err err = { 0 };
    size_t n = (CRONTAB_JOBS_MAX + 1) * 12, k = 0;
    char *text = malloc(CRONTAB_TEXT_MAX + 1);

    (void)state;
    assert_non_null(text);
    memset(text, '\n', CRONTAB_TEXT_MAX + 1);
    assert_int_equal(crontab_convert(text, CRONTAB_TEXT_MAX + 1, &o, &c, &err), -CHIME_ETOOBIG);
    assert_null(c);
    /* only newlines: nothing */
    assert_int_equal(crontab_convert(text, CRONTAB_TEXT_MAX, &o, &c, &err), 0);
    assert_int_equal(crontab_count(c), 0);
    crontab_free(c);
    c = NULL;
    while (k + 12 <= n)
        k += (size_t)snprintf(text + k, 13, "* * * * * x\n");
    assert_int_equal(crontab_convert(text, k, &o, &c, &err), -CHIME_ETOOBIG);
    assert_non_null(strstr(err.msg, "more than 1000 jobs"));
    assert_null(c);
    k = 0;
    for (int i = 0; i <= CRONTAB_ERRORS_MAX; i++)
        k += (size_t)snprintf(text + k, 8, "bad x\n");
    assert_int_equal(crontab_convert(text, k, &o, &c, &err), -CHIME_ETOOBIG);
    assert_non_null(strstr(err.msg, "is it a crontab"));
    free(text);
}

static void test_crontab_every_document_is_a_valid_job(void **state)
{
    struct crontab *c = convert("SHELL=/bin/bash\nCRON_TZ=Europe/Berlin\nX=\"a b\"\n"
                                "*/5 * * * * a%b\n@weekly b\n0 0 1 * mon c\n");

    (void)state;
    for (size_t i = 0; i < crontab_count(c); i++) {
        const struct crontab_entry *e = crontab_entry(c, i);
        struct job *j = NULL;
        struct err err = { 0 };

        if (e->kind != CRONTAB_JOB)
            continue;
        assert_int_equal(job_from_json(e->doc, "other", &j, &err), 0);
        assert_string_equal(j->ns, "ops");
        assert_string_equal(j->name, e->name);
        job_free(j);
    }
    assert_null(crontab_entry(c, 99));
    crontab_free(c);
}

static void test_crontab_n_option_is_cronies(void **state)
{
    struct crontab *c = convert("0 0 * * * -n echo hi\n"
                                "0 0 * * * -n\t cat%in\n"
                                "0 0 * * * -n -n echo twice\n"
                                "0 0 * * * -x echo\n"
                                "0 0 * * * -n\n"
                                "0 0 * * * -nfoo\n"
                                "0 0 * * * -n   \n"
                                "0 0 * * * - n echo\n"
                                "0 0 * * * echo -n x\n");
    struct crontab *sys = convert_as("0 0 * * * root -n echo hi\n", CRONTAB_SYSTEM);

    (void)state;
    assert_string_equal(arg(job_at(c, 1), 2), "echo hi");
    assert_non_null(strstr(job_at(c, 1)->what, "'-n' option"));
    assert_string_equal(arg(job_at(c, 2), 5), "cat");       /* with input: the pipe form */
    assert_string_equal(arg(job_at(c, 2), 4), "in\n");
    assert_non_null(strstr(error_at(c, 3), "'-n' is not a cron option"));
    assert_non_null(strstr(error_at(c, 4), "'-x' is not a cron option"));
    assert_non_null(strstr(error_at(c, 5), "'-n' is not followed by a blank"));
    assert_non_null(strstr(error_at(c, 6), "not followed by a blank"));
    assert_non_null(strstr(error_at(c, 7), "nothing after '-n'"));
    assert_non_null(strstr(error_at(c, 8), "'-' is not a cron option"));
    assert_string_equal(arg(job_at(c, 9), 2), "echo -n x");   /* only before the command */
    assert_string_equal(arg(job_at(sys, 1), 2), "echo hi");
    crontab_free(c);
    crontab_free(sys);
}

static void test_crontab_ignores_a_last_line_without_newline(void **state)
{
    struct crontab *job = convert("0 0 * * * a\n0 0 * * * b");
    struct crontab *env = convert("0 0 * * * a\nFOO=bar");
    struct crontab *comment = convert("0 0 * * * a\n# the end");
    struct crontab *blank = convert("0 0 * * * a\n   ");
    struct crontab *bad = convert("0 0 * * * a\n99 0 * * * b");

    (void)state;
    assert_int_equal(at(job, 2)->kind, CRONTAB_SKIPPED);
    assert_non_null(strstr(at(job, 2)->what, "the last line has no newline at its end"));
    assert_int_equal(crontab_tally(job, CRONTAB_JOB), 1);
    assert_int_equal(at(env, 2)->kind, CRONTAB_SKIPPED);        /* cronie's load_env too */
    assert_int_equal(crontab_count(comment), 1);
    assert_int_equal(crontab_count(blank), 1);
    assert_int_equal(at(bad, 2)->kind, CRONTAB_SKIPPED);        /* not an error: never read */
    crontab_free(job);
    crontab_free(env);
    crontab_free(comment);
    crontab_free(blank);
    crontab_free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crontab_converts_a_user_line_into_a_complete_job),
        cmocka_unit_test(test_crontab_reads_the_user_column_of_a_system_crontab),
        cmocka_unit_test(test_crontab_format_follows_the_path),
        cmocka_unit_test(test_crontab_user_lines_read_as_system_lines_need_a_command),
        cmocka_unit_test(test_crontab_env_settings_follow_cronie),
        cmocka_unit_test(test_crontab_env_applies_to_the_lines_below_only),
        cmocka_unit_test(test_crontab_shell_runs_the_command),
        cmocka_unit_test(test_crontab_cron_tz_is_the_schedules_zone),
        cmocka_unit_test(test_crontab_skips_mail_settings_and_says_why),
        cmocka_unit_test(test_crontab_refuses_env_names_chime_cannot_set),
        cmocka_unit_test(test_crontab_percent_splits_command_and_input),
        cmocka_unit_test(test_crontab_input_reaches_the_command_byte_for_byte),
        cmocka_unit_test(test_crontab_names_are_valid_unique_and_stable),
        cmocka_unit_test(test_crontab_names_come_from_the_source),
        cmocka_unit_test(test_crontab_reports_broken_lines_with_their_number),
        cmocka_unit_test(test_crontab_refuses_files_past_their_ceilings),
        cmocka_unit_test(test_crontab_every_document_is_a_valid_job),
        cmocka_unit_test(test_crontab_n_option_is_cronies),
        cmocka_unit_test(test_crontab_ignores_a_last_line_without_newline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
