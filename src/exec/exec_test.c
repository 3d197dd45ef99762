/* exec_test.c: tests of exec.c and spawner.c with real processes on a real
 * libuv loop: what a run reports, the job's command and environment, and a
 * daemon that goes away and comes back (re-attach, lost holders). What the
 * holder enforces (timeouts, limits, output cap, workdir) is holder_test.c. */
#include "exec/exec.h"

#include "exec/fixture_test.h"
#include "exec/sandbox.h"
#include "exec/spawner.h"
#include "../banned.h"

/* ---- what a run reports ---- */

struct marks {
    int out, err;
};

static int count_marks(void *arg, int stream, const char *data, size_t len, int64_t dropped)
{
    struct marks *m = arg;

    (void)data, (void)len, (void)dropped;
    if (stream == EXEC_STDOUT)
        m->out++;
    if (stream == EXEC_STDERR)
        m->err++;
    return 0;
}

/* Whether the output file PATH ends with its exit record. */
static bool has_record(const void *path)
{
    char *rec = NULL;
    size_t len;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0)
        exec_output_record(fd, &rec, &len, NULL);
    if (fd >= 0)
        close(fd);
    free(rec);
    return rec != NULL;
}

static void test_exec_reports_the_exit_code_and_both_streams_marked(void **state)
{
    struct fixture f;
    struct marks m = {0};
    char path[PATH_MAX + 16], raw[4096];
    size_t used;
    ssize_t n;
    int fd;

    (void)state;
    fixture_init(&f);
    f.spec.shell = "echo out; echo err >&2; exit 3";
    run_to_end(&f);
    assert_true(f.s.started);
    assert_true(f.s.st.job_pid > 0 && f.s.st.holder_pid > 0);
    assert_int_equal(f.s.res.outcome, EXEC_EXITED);
    assert_int_equal(f.s.res.exit_code, 3);
    assert_int_equal(f.s.res.signal, 0);
    assert_string_equal(f.s.res.error, "");
    assert_int_equal(f.s.res.output_bytes, 8);
    assert_int_equal(f.s.res.job_pid, f.s.st.job_pid);
    assert_true(f.s.res.started_us > 0 && f.s.res.finished_us >= f.s.res.started_us);
    assert_true(f.s.res.cpu_user_ms >= 0 && f.s.res.max_rss_kb > 0);
    assert_output(&f, EXEC_STDOUT, "out\n");
    assert_output(&f, EXEC_STDERR, "err\n");
    snprintf(path, sizeof path, "%s", f.output);
    fd = open(path, O_RDONLY);
    n = read(fd, raw, sizeof raw);
    close(fd);
    assert_int_equal(exec_output_parse(raw, (size_t)n, count_marks, &m, &used, NULL), 0);
    assert_int_equal(used, (size_t)n);
    assert_true(m.out >= 1 && m.err == 1);
    fixture_release(&f);
}

static void test_exec_runs_argv_without_a_shell_and_a_shell_string_with_one(void **state)
{
    char *const argv[] = {(char *)"printf", (char *)"%s|", (char *)"a b", (char *)"$HOME", NULL};
    struct fixture f;

    (void)state;
    fixture_init(&f);
    f.spec.argv = argv;
    run_to_end(&f);
    assert_int_equal(f.s.res.exit_code, 0);
    assert_output(&f, EXEC_STDOUT, "a b|$HOME|"); /* found in PATH, nothing expanded */
    fixture_release(&f);

    fixture_init(&f);
    f.spec.shell = "echo $((1 + 2)) \"$0\"";
    run_to_end(&f);
    assert_output(&f, EXEC_STDOUT, "3 sh\n");
    fixture_release(&f);
}

static void test_exec_environment_is_only_what_the_caller_gives(void **state)
{
    char *const argv[] = {(char *)"/usr/bin/env", NULL};
    char *env[] = {(char *)"FOO=bar baz", (char *)"CHIME_RUN_ID=7", NULL};
    struct fixture f;

    (void)state;
    /* the test process has CHIME_TEST_SECRET and HOME; the job must not */
    assert_non_null(getenv("CHIME_TEST_SECRET"));
    fixture_init(&f);
    f.spec.argv = argv;
    f.spec.env = env;
    run_to_end(&f);
    assert_output(&f, EXEC_STDOUT,
                  "FOO=bar baz\nCHIME_RUN_ID=7\nPATH=/usr/local/bin:/usr/bin:/bin\n");
    fixture_release(&f);
}

static void test_exec_a_missing_command_exits_127_saying_why(void **state)
{
    char *const argv[] = {(char *)"/nonexistent/cmd", NULL};
    char *const bare[] = {(char *)"no-such-command-anywhere", NULL};
    struct fixture f;

    (void)state;
    fixture_init(&f);
    f.spec.argv = argv;
    run_to_end(&f);
    assert_int_equal(f.s.res.outcome, EXEC_EXITED);
    assert_int_equal(f.s.res.exit_code, 127);
    assert_string_equal(f.s.res.error, "exec '/nonexistent/cmd': No such file or directory");
    fixture_release(&f);

    fixture_init(&f);
    f.spec.argv = bare;
    run_to_end(&f);
    assert_int_equal(f.s.res.exit_code, 127);
    assert_non_null(strstr(f.s.res.error, "No such file"));
    fixture_release(&f);
}

/* ---- daemon restarts and lost holders ---- */

static void test_exec_reattach_after_the_daemon_goes_away_finds_the_real_exit(void **state)
{
    struct exec_spawner_options opt = {.cgroup = "", .keep_stderr = true};
    struct exec_spawner *second = NULL;
    struct seen again = {0};
    struct exec_callbacks cb = {on_started, on_exit_cb, &again};
    struct exec_run *run;
    struct fixture f;
    char record[PATH_MAX + 16];

    (void)state;
    /* the daemon goes while the run goes on; the new one follows it live.
     * Its spawner is forked after libuv set up its fork handlers: they must
     * not reach the spawner's own forks (exec_child_fork) */
    fixture_init(&f);
    f.spec.shell = "while [ ! -e \"$GO\" ]; do sleep 0.01; done; echo done; exit 7";
    f.spec.timeout_us = 60 * INT64_C(1000000); /* a failed test leaves no job behind */
    start(&f);
    loop_until(&f.loop, &f.s.started);
    assert_int_equal(exec_spawner_start(&opt, &second, NULL), 0);
    restart(&f, second);
    assert_int_equal(exec_attach(f.e, f.output, &cb, &run, NULL), 0);
    loop_until(&f.loop, &again.started);
    assert_int_equal(again.st.job_pid, f.s.st.job_pid);
    assert_int_equal(again.st.run_id, f.spec.run_id);
    touch(f.go);
    loop_until(&f.loop, &again.ended);
    assert_false(f.s.ended);
    assert_int_equal(again.res.outcome, EXEC_EXITED);
    assert_int_equal(again.res.exit_code, 7);
    assert_output(&f, EXEC_STDOUT, "done\n");
    fixture_release(&f);

    /* the run ends while no daemon listens; the record tells (and the
     * second spawner starts runs as well as the first) */
    memset(&again, 0, sizeof again);
    fixture_init(&f);
    restart(&f, second);
    f.spec.shell = "while [ ! -e \"$GO\" ]; do sleep 0.01; done; exit 7";
    f.spec.timeout_us = 60 * INT64_C(1000000);
    start(&f);
    loop_until(&f.loop, &f.s.started);
    restart(&f, second);
    touch(f.go);
    snprintf(record, sizeof record, "%s", f.output);
    assert_true(wait_for(has_record, record));
    assert_int_equal(exec_attach(f.e, f.output, &cb, &run, NULL), 0);
    loop_until(&f.loop, &again.ended);
    assert_false(again.started);
    assert_int_equal(again.res.outcome, EXEC_EXITED);
    assert_int_equal(again.res.exit_code, 7);
    assert_int_equal(again.res.job_pid, f.s.st.job_pid);
    fixture_release(&f);
    exec_spawner_free(second);
}

static void test_exec_a_holder_killed_mid_run_is_lost(void **state)
{
    char *const argv[] = {(char *)"sleep", (char *)"1000", NULL};
    struct fixture f;
    struct seen again = {0};
    struct exec_callbacks cb = {on_started, on_exit_cb, &again};
    struct exec_run *run;

    (void)state;
    fixture_init(&f);
    f.spec.argv = argv;
    start(&f);
    loop_until(&f.loop, &f.s.started);
    assert_int_equal(kill(f.s.st.holder_pid, SIGKILL), 0);
    loop_until(&f.loop, &f.s.ended);
    assert_int_equal(f.s.res.outcome, EXEC_LOST);
    assert_int_equal(f.s.res.lost, EXEC_LOST_HOLDER); /* not "the machine went down" */
    /* PR_SET_PDEATHSIG: the job does not run on unsupervised */
    assert_true(wait_for(process_gone, &f.s.st.job_pid));
    assert_int_equal(exec_attach(f.e, f.output, &cb, &run, NULL), 0);
    loop_until(&f.loop, &again.ended);
    assert_int_equal(again.res.outcome, EXEC_LOST);
    assert_int_equal(again.res.lost, EXEC_LOST_HOLDER);
    /* the same output last written before this boot: the machine went down */
    {
        const struct timespec old[2] = {{1000, 0}, {1000, 0}};

        assert_int_equal(utimensat(AT_FDCWD, f.output, old, 0), 0);
    }
    memset(&again, 0, sizeof again);
    assert_int_equal(exec_attach(f.e, f.output, &cb, &run, NULL), 0);
    loop_until(&f.loop, &again.ended);
    assert_int_equal(again.res.outcome, EXEC_LOST);
    assert_int_equal(again.res.lost, EXEC_LOST_MACHINE);
    fixture_release(&f);

    /* a run directory that never was */
    memset(&again, 0, sizeof again);
    fixture_init(&f);
    assert_int_equal(exec_attach(f.e, f.output, &cb, &run, NULL), 0);
    loop_until(&f.loop, &again.ended);
    assert_int_equal(again.res.outcome, EXEC_LOST);
    fixture_release(&f);
}

/* restarts of a spawner that keeps dying wait longer each time, up to the
 * most; one that lived long is restarted at once (times injected) */
static void test_exec_spawner_backoff_doubles_for_one_that_dies_young_and_resets(void **state)
{
    int64_t delay = 0, last = 0;

    (void)state;
    assert_int_equal(exec_spawner_backoff(&delay, 0), EXEC_SPAWNER_BACKOFF_MIN_US);
    assert_int_equal(exec_spawner_backoff(&delay, 1000), 2 * EXEC_SPAWNER_BACKOFF_MIN_US);
    assert_int_equal(exec_spawner_backoff(&delay, 1000), 4 * EXEC_SPAWNER_BACKOFF_MIN_US);
    for (int i = 0; i < 40; i++) {
        int64_t d = exec_spawner_backoff(&delay, EXEC_SPAWNER_STABLE_US - 1);

        assert_true(d >= last && d <= EXEC_SPAWNER_BACKOFF_MAX_US);
        last = d;
    }
    assert_int_equal(last, EXEC_SPAWNER_BACKOFF_MAX_US);
    /* it lived a minute: at once, and the next young death starts over */
    assert_int_equal(exec_spawner_backoff(&delay, EXEC_SPAWNER_STABLE_US), 0);
    assert_int_equal(exec_spawner_backoff(&delay, 5), EXEC_SPAWNER_BACKOFF_MIN_US);
}

/* a start asked for while the spawner is dead waits for the next one and
 * runs: it does not fail with "the spawner is gone" */
static void test_exec_a_start_while_the_spawner_is_dead_waits_and_runs(void **state)
{
    char *const argv[] = {(char *)"true", NULL};
    struct fixture f;

    (void)state;
    fixture_init(&f);
    kill(exec_spawner_pid(spawner), SIGKILL);
    f.spec.argv = argv;
    start(&f);
    loop_until(&f.loop, &f.s.ended);
    assert_int_equal(f.s.res.outcome, EXEC_EXITED);
    assert_int_equal(f.s.res.exit_code, 0);
    assert_null(exec_down(f.e));
    fixture_release(&f);
}

static void test_exec_a_used_output_file_is_refused_and_left_alone(void **state)
{
    struct fixture f;
    char dir[PATH_MAX];

    (void)state;
    fixture_init(&f);
    f.spec.shell = "echo first";
    run_to_end(&f);
    snprintf(dir, sizeof dir, "%s", f.output);
    fixture_release(&f);

    fixture_init(&f);
    snprintf(f.output, sizeof f.output, "%s", dir);
    f.spec.shell = "echo second";
    run_to_end(&f);
    assert_int_equal(f.s.res.outcome, EXEC_FAILED);
    assert_non_null(strstr(f.s.res.error, "already used"));
    assert_output(&f, EXEC_STDOUT, "first\n");
    fixture_release(&f);
}

/* ---- last: the spawner, and nothing left behind ---- */

static void test_exec_spawner_ignores_sigterm_and_leaves_no_zombies(void **state)
{
    pid_t sp = exec_spawner_pid(spawner);
    struct fixture f;

    (void)state;
    /* a stray SIGTERM: the spawner lives as long as the daemon's socket */
    assert_int_equal(kill(sp, SIGTERM), 0);
    fixture_init(&f);
    f.spec.shell = "exit 4";
    run_to_end(&f);
    assert_int_equal(f.s.res.exit_code, 4);
    fixture_release(&f);
    exec_spawner_free(spawner);
    spawner = NULL;
    assert_no_zombie_children();
    assert_int_equal(kill(sp, 0), -1); /* the spawner was reaped */
}

static void test_exec_a_job_with_a_user_runs_as_it_without_privileges(void **state)
{
    struct fixture f;
    char why[256], want[256], *out;
    unsigned sandbox;

    (void)state;
    if (geteuid() != 0)
        skip(); /* only root switches users */
    sandbox = exec_sandbox_probe(why, sizeof why);
    fixture_init(&f);
    f.spec.shell = "id -u; id -g; id -G; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status;"
                   " ls -A /tmp | wc -l; stat -c %u:%a .";
    f.spec.user.uid = 61999;
    f.spec.user.gid = 61998;
    f.spec.sandbox = sandbox;
    run_to_end(&f);
    assert_int_equal(f.s.res.exit_code, 0);
    snprintf(want, sizeof want, "%s%s",
             "61999\n61998\n61998\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"
             "NoNewPrivs:\t1\n",
             /* an empty /tmp of its own, where the kernel allows one */
             (sandbox & EXEC_SANDBOX_TMP) ? "0\n61999:700\n" : "");
    out = output_of(&f, EXEC_STDOUT);
    assert_non_null(out);
    assert_memory_equal(out, want, strlen(want));
    free(out);
    fixture_release(&f);
}

static void test_exec_a_malformed_user_is_refused(void **state)
{
    struct exec_callbacks cb = {on_started, on_exit_cb, NULL};
    struct exec_run *run = NULL;
    struct err err = {0};
    struct fixture f;

    (void)state;
    fixture_init(&f);
    cb.data = &f.s;
    f.spec.shell = "true";
    f.spec.user.gid = 5; /* groups without a uid */
    assert_true(exec_start(f.e, &f.spec, &cb, &run, &err) < 0);
    assert_string_equal(err.field, "user");
    f.spec.user.uid = INT64_C(4294967295);
    assert_true(exec_start(f.e, &f.spec, &cb, &run, &err) < 0);
    assert_string_equal(err.field, "user.uid");
    f.spec.user.uid = 7;
    f.spec.user.gid = 0;
    assert_true(exec_start(f.e, &f.spec, &cb, &run, &err) < 0);
    assert_string_equal(err.field, "user.gid");
    f.spec.user.gid = 7;
    f.spec.user.n_groups = EXEC_GROUPS_MAX + 1;
    assert_true(exec_start(f.e, &f.spec, &cb, &run, &err) < 0);
    assert_string_equal(err.field, "user.groups");
    f.spec.user.n_groups = 0;
    f.spec.sandbox = 64;
    assert_true(exec_start(f.e, &f.spec, &cb, &run, &err) < 0);
    assert_string_equal(err.field, "sandbox");
    fixture_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_reports_the_exit_code_and_both_streams_marked),
        cmocka_unit_test(test_exec_runs_argv_without_a_shell_and_a_shell_string_with_one),
        cmocka_unit_test(test_exec_environment_is_only_what_the_caller_gives),
        cmocka_unit_test(test_exec_a_missing_command_exits_127_saying_why),
        cmocka_unit_test(test_exec_reattach_after_the_daemon_goes_away_finds_the_real_exit),
        cmocka_unit_test(test_exec_a_holder_killed_mid_run_is_lost),
        cmocka_unit_test(test_exec_spawner_backoff_doubles_for_one_that_dies_young_and_resets),
        cmocka_unit_test(test_exec_a_start_while_the_spawner_is_dead_waits_and_runs),
        cmocka_unit_test(test_exec_a_used_output_file_is_refused_and_left_alone),
        cmocka_unit_test(test_exec_a_job_with_a_user_runs_as_it_without_privileges),
        cmocka_unit_test(test_exec_a_malformed_user_is_refused),
        /* last: it stops the spawner */
        cmocka_unit_test(test_exec_spawner_ignores_sigterm_and_leaves_no_zombies),
    };

    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
