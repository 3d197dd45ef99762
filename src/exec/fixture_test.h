/* fixture_test.h: what exec_test.c and holder_test.c share (tests only).
 *
 * Nothing here sleeps to synchronise: the loop runs until the awaited
 * callback has come or a deadline passes (then the test fails), and the few
 * waits for something outside the loop (a file appearing, a process gone)
 * poll it against a deadline. Jobs that must wait for the test poll a file
 * the test creates ($GO); jobs report pids through a file ($PIDS).
 *
 * Each test binary has its own temporary tree and spawner, made by
 * fixture_setup() before any thread or loop exists. Functions are static
 * inline so that a file using only some of them compiles cleanly. */
#ifndef CHIME_EXEC_FIXTURE_TEST_H
#define CHIME_EXEC_FIXTURE_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <uv.h>

#include "exec/exec.h"
#include "exec/output.h"
#include "exec/spawner.h"
#include "util/err.h"

#define DEADLINE_MS 20000 /* for anything a test waits on */

static struct exec_spawner *spawner;
static char base[64];  /* the test's temporary directory */
static char root[128]; /* the workdir root: base/root */
static int64_t next_run_id = 1;

struct seen {
    bool started;
    bool ended;
    struct exec_status st;
    struct exec_result res;
    int64_t ended_ms; /* monotonic */
    bool cancel_on_start;
};

static inline int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void on_started(struct exec_run *run, const struct exec_status *st, void *data)
{
    struct seen *s = data;

    assert_false(s->started);
    s->started = true;
    s->st = *st;
    if (s->cancel_on_start)
        exec_cancel(run);
}

static inline void on_exit_cb(struct exec_run *run, const struct exec_result *res, void *data)
{
    struct seen *s = data;

    (void)run;
    assert_false(s->ended);
    s->ended = true;
    s->res = *res;
    s->ended_ms = now_ms();
}

static inline void on_deadline(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Runs LOOP until *FLAG is set; fails the test after DEADLINE_MS. */
static inline void loop_until(uv_loop_t *loop, const bool *flag)
{
    uv_timer_t timer;
    bool expired = false;

    uv_timer_init(loop, &timer);
    timer.data = &expired;
    uv_timer_start(&timer, on_deadline, DEADLINE_MS, 0);
    while (!*flag && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_true(*flag);
}

/* Polls for a condition outside the loop, against the deadline. */
static inline bool wait_for(bool (*cond)(const void *), const void *arg)
{
    int64_t end = now_ms() + DEADLINE_MS;
    struct timespec pause = {0, 5000000L};

    while (!cond(arg)) {
        if (now_ms() > end)
            return false;
        nanosleep(&pause, NULL);
    }
    return true;
}

static inline bool file_exists(const void *path)
{
    return access(path, F_OK) == 0;
}

/* Gone, or a zombie that is not ours to reap. */
static inline bool process_gone(const void *arg)
{
    char path[64], buf[512], *p;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", *(const int *)arg);
    f = fopen(path, "r");
    if (!f)
        return true;
    p = fgets(buf, sizeof buf, f);
    fclose(f);
    p = p ? strrchr(buf, ')') : NULL;
    return p && p[1] == ' ' && p[2] == 'Z';
}

struct fixture {
    uv_loop_t loop;
    struct exec *e;
    char output[PATH_MAX];
    char pids[PATH_MAX]; /* a file where jobs write pids: base/pids-N */
    char go[PATH_MAX];   /* a file jobs wait for: base/go-N */
    char env_pids[PATH_MAX + 8];
    char env_go[PATH_MAX + 8];
    char *env[4];
    struct exec_spec spec;
    struct seen s; /* what the callbacks saw */
};

static inline void fixture_init(struct fixture *f)
{
    int64_t id = next_run_id++;

    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(exec_new(&f->loop, spawner, &f->e, NULL), 0);
    snprintf(f->output, sizeof f->output, "%s/run-%lld.out", base, (long long)id);
    snprintf(f->pids, sizeof f->pids, "%s/pids-%lld", base, (long long)id);
    snprintf(f->go, sizeof f->go, "%s/go-%lld", base, (long long)id);
    snprintf(f->env_pids, sizeof f->env_pids, "PIDS=%s", f->pids);
    snprintf(f->env_go, sizeof f->env_go, "GO=%s", f->go);
    f->env[0] = f->env_pids;
    f->env[1] = f->env_go;
    f->env[2] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
    f->spec.run_id = id;
    f->spec.env = f->env;
    f->spec.workdir_root = root;
    f->spec.kill_grace_us = INT64_C(5000000);
    f->spec.output_max = 1 << 20;
    f->spec.output = f->output;
}

static inline void fixture_release(struct fixture *f)
{
    exec_free(f->e);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* the handles close */
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Starts F's spec, calling back into f->s. */
static inline struct exec_run *start(struct fixture *f)
{
    struct exec_callbacks cb = {on_started, on_exit_cb, &f->s};
    struct exec_run *run = NULL;

    assert_int_equal(exec_start(f->e, &f->spec, &cb, &run, NULL), 0);
    assert_non_null(run);
    return run;
}

static inline void run_to_end(struct fixture *f)
{
    start(f);
    loop_until(&f->loop, &f->s.ended);
}

/* The daemon goes away, holders and all left running; a new one comes up
 * on SP. */
static inline void restart(struct fixture *f, struct exec_spawner *sp)
{
    exec_free(f->e);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(exec_new(&f->loop, sp, &f->e, NULL), 0);
}

static inline void touch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0600);

    assert_true(fd >= 0);
    close(fd);
}

static inline char *output_of(const struct fixture *f, unsigned streams)
{
    char path[PATH_MAX + 16], *text = NULL;
    struct err err = {0};
    size_t len;

    snprintf(path, sizeof path, "%s", f->output);
    assert_int_equal(exec_output_read(path, streams, &text, &len, &err), 0);
    return text;
}

static inline void assert_output(const struct fixture *f, unsigned streams, const char *want)
{
    char *text = output_of(f, streams);

    assert_string_equal(text, want);
    free(text);
}

/* Every pid listed in the file PATH is gone. */
static inline void assert_pids_gone(const char *path)
{
    FILE *in = fopen(path, "r");
    int pid, n = 0;

    assert_non_null(in);
    while (fscanf(in, "%d", &pid) == 1) {
        assert_true(wait_for(process_gone, &pid));
        n++;
    }
    fclose(in);
    assert_true(n > 0);
}

/* No child of the test process is a zombie; call it last, after
 * exec_spawner_free(), whose reaping is part of the claim. */
static inline void assert_no_zombie_children(void)
{
    struct dirent *d;
    DIR *dir = opendir("/proc");
    int zombies = 0;

    assert_non_null(dir);
    while ((d = readdir(dir))) {
        char path[300], buf[512], *p;
        FILE *in;
        int ppid;

        snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
        in = fopen(path, "r");
        if (!in)
            continue;
        p = fgets(buf, sizeof buf, in);
        fclose(in);
        p = p ? strrchr(buf, ')') : NULL;
        if (p && sscanf(p + 4, "%d", &ppid) == 1 && ppid == getpid() && p[2] == 'Z')
            zombies++;
    }
    closedir(dir);
    assert_int_equal(zombies, 0);
}

/* ---- set-up ---- */

static inline int fixture_setup(void **state)
{
    struct exec_spawner_options opt = {.cgroup = "", .keep_stderr = true};
    char path[PATH_MAX + 32];

    (void)state;
    setenv("CHIME_TEST_SECRET", "must not leak", 1);
    snprintf(base, sizeof base, "/tmp/chime-exec-test-XXXXXX");
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
    snprintf(path, sizeof path, "%s/out", root); /* outside: to /tmp */
    if (symlink("/tmp", path) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/sub/up", root); /* outside: to the base */
    if (symlink("../..", path) < 0)
        return -1;
    /* before any thread: the spawner is a fork of this process */
    return exec_spawner_start(&opt, &spawner, NULL) < 0 ? -1 : 0;
}

static inline int fixture_teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    exec_spawner_free(spawner);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
