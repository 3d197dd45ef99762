/* node.c: the daemon (see node.h): start-up in its order, the loop and
 * its timer, signals and shutdown. What happens to runs is noderun.c's
 * (the engine's ops), the rest is in the node*.c files node_int.h lists.
 *
 * Every engine call happens on the loop thread, and every one is followed
 * by node_tick(), which handles what is due and re-arms the timerfd. Store
 * writes from the loop are submitted (the store thread commits them in
 * batches) and their callbacks come back to the loop; a fire's run is
 * started only in the callback of its insert. */
#include "daemon/node.h"
#include "daemon/node_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "api/api.h"
#include "exec/exec.h"
#include "exec/spawner.h"
#include "job/job.h"
#include "job/jobsecret.h"
#include "notify/notify.h"
#include "sched/sched.h"
#include "store/store.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/secret.h"
#include "util/dirlock.h"
#include "util/err.h"
#include "util/log.h"
#include "../banned.h"

bool node_path_join(char *buf, size_t len, const char *a, const char *b)
{
    int k = snprintf(buf, len, "%s/%s", a, b);

    return k > 0 && (size_t)k < len;
}

/* The timerfd node_tick() arms is due: handle what is due. */
static void on_timer(uv_poll_t *p, int status, int events)
{
    struct node *n = p->data;
    uint64_t expirations;

    (void)status, (void)events;
    (void)!read(n->tfd, &expirations, sizeof expirations);
    node_tick(n);
}

/* ---- signals and shutdown ---- */

static void on_close(uv_handle_t *h)
{
    (void)h;
}

static void close_left(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, on_close);
}

static void finish_shutdown(struct node *n)
{
    uv_timer_stop(&n->grace);
    exec_free(n->exec);         /* holders carry on; the next start re-attaches */
    n->exec = NULL;
    uv_close((uv_handle_t *)&n->timer, on_close);
    uv_close((uv_handle_t *)&n->sig_term, on_close);
    uv_close((uv_handle_t *)&n->sig_int, on_close);
    uv_close((uv_handle_t *)&n->sig_hup, on_close);
    uv_close((uv_handle_t *)&n->wake, on_close);
    uv_close((uv_handle_t *)&n->grace, on_close);
    uv_close((uv_handle_t *)&n->defer, on_close);
    uv_close((uv_handle_t *)&n->prune_timer, on_close);
    uv_close((uv_handle_t *)&n->rewrite_timer, on_close);
    node_watch_close(n);
    n->loop_stopped = true;     /* the store's and the API's handles close in node_run */
}

static void on_grace(uv_timer_t *t)
{
    struct node *n = t->data;
    struct sched_stats st;

    sched_stats(n->sched, &st);
    if (st.running > 0 && uv_now(&n->loop) < (uint64_t)(n->opt.grace_us / 1000) + 1)
        return;
    if (st.running > 0)
        log_info("shutdown: %d runs still running; they go on and are re-attached at the next"
                 " start", st.running);
    finish_shutdown(n);
}

static void stop(struct node *n, const char *why)
{
    if (n->stopping)
        return;
    log_info("%s: stopping (no new fires)", why);
    node_refuse_calls(n);
    uv_poll_stop(&n->timer);
    if (n->opt.wait_runs) {
        uv_update_time(&n->loop);
        n->opt.grace_us += (int64_t)uv_now(&n->loop) * 1000;
        uv_timer_start(&n->grace, on_grace, 0, 100);
    } else {
        finish_shutdown(n);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct node *n = s->data;

    if (signum == SIGHUP) {
        node_notify_reload(n);          /* the channels first: jobs are checked against them */
        if (n->opt.jobs_dir)
            node_apply_jobs_dir(n, false);
        node_tick(n);
        return;
    }
    stop(n, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- the daemon ---- */

static int make_dir(const char *path, struct err *err)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return err_set(err, CHIME_EIO, "data-dir", "cannot create '%s': %s", path,
                       strerror(errno));
    return 0;
}

/* The first admin token, on a store without any (api_admin_token). */
static int node_admin_token(struct node *n, const char *dir, struct err *err)
{
    char path[PATH_MAX + 32];
    bool created = false;
    int rc = api_admin_token(n->store, dir, path, sizeof path, &created, err);

    if (rc < 0)
        return rc;
    if (created)
        log_info("made the admin token: its secret is in %s (mode 0600); chime on this machine "
                 "reads it from there, others need CHIME_TOKEN",
                 path);
    else if (access(path, F_OK) == 0)
        log_info("the admin token's secret is in %s", path);
    return 0;
}

static int start(struct node *n, struct err *err)
{
    struct store_options so = { 0 };
    struct api_options ao = { 0 };
    char abs_dir[PATH_MAX], bound[128];
    int rc;

    if (make_dir(n->opt.data_dir, err) < 0 || !realpath(n->opt.data_dir, abs_dir))
        return err->code ? -err->code
                         : err_set(err, CHIME_EIO, "data-dir", "'%s': %s", n->opt.data_dir,
                                   strerror(errno));
    /* one daemon per data directory: a second would double every fire */
    if ((n->lock_fd = dirlock_take(abs_dir, err)) < 0)
        return n->lock_fd;
    if (!node_path_join(n->runs_dir, sizeof n->runs_dir, abs_dir, "runs")
        || !node_path_join(n->work_dir, sizeof n->work_dir, abs_dir, "work"))
        return err_set(err, CHIME_ETOOBIG, "data-dir", "'%s' is too long", abs_dir);
    if (make_dir(n->runs_dir, err) < 0 || make_dir(n->work_dir, err) < 0)
        return -err->code;
    /* the port next, before anything that must be torn down: a port in
     * use ends the start here, with the cause */
    if ((n->listen_fd = api_listen(n->opt.listen, err)) < 0)
        return n->listen_fd;
    node_private_files(abs_dir);
    /* before the spawner: it tries the sandbox in a child of its own */
    rc = node_users_open(n, err);
    if (rc < 0)
        return rc;
    /* the spawner first: forked while this process is small and has no thread */
    rc = exec_spawner_start(NULL, &n->spawner, err);
    if (rc < 0)
        return rc;
    rc = n->opt.timezone ? tz_load(n->opt.timezone, &n->zone, err) : tz_system(&n->zone, err);
    if (rc < 0)
        return rc;
    uv_loop_init(&n->loop);
    n->loop.data = n;
    node_timers_init(n);                            /* before anything writes */
    uv_timer_init(&n->loop, &n->grace);
    n->grace.data = n;
    rc = node_watch_start(n, abs_dir, err);
    if (rc < 0)
        return rc;
    so.path = abs_dir;
    so.loop = &n->loop;
    so.metrics = node_watch_metrics(n);
    rc = store_open(&so, &n->store, err);
    if (rc < 0)
        return rc;
    rc = node_retain_start(n, err);
    if (rc < 0)
        return rc;
    rc = node_secret_open(n, abs_dir, err);     /* before jobs: the jobs directory seals */
    if (rc < 0)
        return rc;
    rc = node_notify_open(n, abs_dir, err);    /* before jobs: saves check their channels */
    if (rc < 0)
        return rc;
    rc = exec_new(&n->loop, n->spawner, &n->exec, err);
    if (rc < 0)
        return rc;
    rc = node_engine_new(n, err);
    if (rc < 0)
        return rc;
    /* the store is the truth: the engine starts from its jobs (from their
     * plans, no document read) and the jobs directory is applied once the
     * API serves, below */
    rc = node_load_jobs(n, err);
    if (rc < 0)
        return rc;
    rc = node_recover_runs(n, err);
    if (rc < 0)
        return rc;
    uv_async_init(&n->loop, &n->wake, node_on_wake);
    n->wake.data = n;
    n->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (n->tfd < 0)
        return err_set(err, CHIME_EIO, NULL, "timerfd: %s", strerror(errno));
    uv_poll_init(&n->loop, &n->timer, n->tfd);
    n->timer.data = n;
    uv_poll_start(&n->timer, UV_READABLE, on_timer);
    uv_signal_init(&n->loop, &n->sig_term);
    uv_signal_init(&n->loop, &n->sig_int);
    uv_signal_init(&n->loop, &n->sig_hup);
    n->sig_term.data = n->sig_int.data = n->sig_hup.data = n;
    uv_signal_start(&n->sig_term, on_signal, SIGTERM);
    uv_signal_start(&n->sig_int, on_signal, SIGINT);
    uv_signal_start(&n->sig_hup, on_signal, SIGHUP);
    ao.listen = n->opt.listen;
    ao.listen_fd = n->listen_fd;
    ao.data_dir = abs_dir;
    ao.store = n->store;
    ao.default_zone = n->zone;
    ao.engine = node_api_engine(n);
    ao.metrics = node_watch_metrics(n);
    ao.health = node_watch_health;
    ao.health_ctx = n->watch;
    ao.metrics_open = n->opt.metrics_open;
    ao.triggers_per_job = (unsigned)n->opt.triggers_per_job;
    ao.triggers_per_token = (unsigned)n->opt.triggers_per_token;
    ao.connections_max = (unsigned)n->opt.api_connections;
    ao.connections_per_ip = (unsigned)n->opt.api_connections_per_address;
    ao.head_timeout_us = n->opt.api_head_timeout_us;
    ao.body_timeout_us = n->opt.api_body_timeout_us;
    ao.secret_key = n->secret_key;
    rc = node_admin_token(n, abs_dir, err);
    if (rc < 0)
        return rc;
    rc = node_notify_run(n, err);               /* the deliverers */
    if (rc < 0)
        return rc;
    ao.notify = n->notify;
    rc = api_start(&ao, bound, sizeof bound, &n->api, err);
    n->listen_fd = -1;                          /* api_start() took it */
    if (rc < 0)
        return rc;
    printf("chime serving on http://%s (data in %s, zone %s)\n", bound, abs_dir,
           tz_name(n->zone));
    fflush(stdout);
    /* The jobs directory is applied while /healthz already answers
     * ("starting"), and before the engine's first tick: the loop has not
     * run yet, so no job fires, and no call the API queues for the engine
     * is handled, until every file changed while the daemon was down has
     * made its version (docs/sched.md). What it added or changed the
     * engine then loads from the store like every other job, after the
     * directory's documents and trees are freed, so a first start ends as
     * lean as a restart (a put replaces the job the engine had). */
    if (n->opt.jobs_dir && node_apply_jobs_dir(n, true) > 0) {
        rc = node_load_jobs(n, err);
        if (rc < 0)
            return rc;
    }
    node_watch_started(n);
    node_tick(n);
    return 0;
}

/* The loop, run one iteration at a time so that the engine lock is let go
 * exactly while the loop waits for events (node_int.h, engine_lk). */
static void run_loop(struct node *n)
{
    int fd = uv_backend_fd(&n->loop);

    while (uv_run(&n->loop, UV_RUN_NOWAIT) && !n->loop_stopped) {
        struct pollfd p = {fd, POLLIN, 0};
        int timeout = uv_backend_timeout(&n->loop);

        pthread_rwlock_unlock(&n->engine_lk);
        poll(&p, 1, timeout);
        pthread_rwlock_wrlock(&n->engine_lk);
    }
}

int node_run(const struct node_options *opt, struct err *err)
{
    static const struct node_options defaults = { "./chime-data", "127.0.0.1:8717", NULL,
                                                   NULL, 64, 0, false };
    struct node *n = calloc(1, sizeof *n);
    pthread_rwlockattr_t lk_attr;
    uint64_t seed = 0;
    int rc;

    if (!n)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    n->opt = *opt;
    n->io = &node_io_real;
    if (!n->opt.data_dir)
        n->opt.data_dir = defaults.data_dir;
    if (!n->opt.listen)
        n->opt.listen = defaults.listen;
    if (!n->opt.max_concurrent)
        n->opt.max_concurrent = defaults.max_concurrent;
    if (!n->opt.keep_runs)
        n->opt.keep_runs = 100;
    if (!n->opt.keep_for_us)
        n->opt.keep_for_us = INT64_C(30) * 86400 * 1000000;
    n->tfd = -1;
    n->lock_fd = -1;
    n->listen_fd = -1;
    pthread_mutex_init(&n->mu, NULL);
    pthread_rwlockattr_init(&lk_attr);
    pthread_rwlockattr_setkind_np(&lk_attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&n->engine_lk, &lk_attr);
    pthread_rwlockattr_destroy(&lk_attr);
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
        seed = (uint64_t)node_wall_us();
    n->rnd = seed | 1;
    gethostname(n->host, sizeof n->host - 1);
    signal(SIGPIPE, SIG_IGN);
    /* what the daemon creates (the database and its journal, keys, tokens,
     * run output, directories) is its own: 0600 and 0700; a job starts
     * from 022 again (child.c) */
    umask(077);
    /* keep the heap: glibc's default trimming gave pages back after every
     * store transaction and faulted them in again on the next one, a tenth
     * of the daemon's CPU at 500 runs/s (bench/README.md) */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    pthread_rwlock_wrlock(&n->engine_lk);
    rc = start(n, err);
    if (rc == 0)
        run_loop(n);
    pthread_rwlock_unlock(&n->engine_lk);
    /* release in reverse, each free(NULL)-safe: the API first (its threads
     * use the store), then the store (its last callbacks still reach the
     * engine, which starts nothing while stopping), then the rest */
    node_refuse_calls(n);
    api_stop(n->api);
    node_notify_stop(n);                    /* deliveries in flight are abandoned */
    node_retain_stop(n);                    /* its step in progress ends first */
    store_close(n->store);
    secret_key_free(n->secret_key);
    node_notify_free(n);                    /* after the store's last callbacks */
    exec_free(n->exec);
    sched_free(n->sched);
    node_watch_close(n);                    /* when start() failed: its timer */
    if (n->loop.data) {
        /* when start() failed part way, or the loop stopped early, the
         * daemon's own handles are still open: every owner above has let go
         * of its own, so what is left is closed here, and this always ends */
        uv_walk(&n->loop, close_left, NULL);
        uv_run(&n->loop, UV_RUN_DEFAULT);   /* the close callbacks */
        uv_loop_close(&n->loop);
    }
    node_watch_free(n);
    exec_spawner_free(n->spawner);
    node_users_free(n);
    if (n->tfd >= 0)
        close(n->tfd);
    if (n->listen_fd >= 0)
        close(n->listen_fd);
    if (n->lock_fd >= 0)
        close(n->lock_fd);              /* last: the store is closed */
    free(n->prune_jobs);
    node_unwritten_free(n);             /* what the store never took */
    node_bodies_free(n);
    free(n);
    if (rc == 0)
        log_info("stopped");
    return rc;
}
