/* nodenotify.c: the daemon's side of notifications: the engine's events
 * (and the daemon's own, "stuck") handed to the notifier, the channels
 * file found and re-read, and job saves checked against the channels.
 *
 * On the loop an event costs one small JSON text and one submitted store
 * op: the outbox rows are written by the store thread (in the group
 * commit of the run's own update) and delivered by the notifier's
 * threads, so a slow or dead endpoint never reaches the scheduler.
 *
 * Each event carries a key that names it: "<event>:<run id>" (a run ends
 * once, and a replay after a restart brings the same key: the outbox
 * records it once). "disabled" has no run of its own: it is keyed by the
 * failure that caused it, which the engine notifies just before.
 *
 * The daemon's own events (error_rate, error_rate_ok) have no job and no
 * run: they go to the channels file's "daemon" list, keyed by the host
 * and the instant the error rate crossed its threshold, so each crossing
 * is recorded once (nodewatch.c sees each crossing once). */
#include "daemon/node_int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "notify/channel.h"
#include "notify/notify.h"
#include "notify/payload.h"
#include "sched/health.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "../banned.h"

int node_notify_open(struct node *n, const char *data_dir, struct err *err)
{
    struct notify_options o = { 0 };
    char path[PATH_MAX];

    o.store = n->store;
    o.metrics = node_watch_metrics(n);
    o.keep_for_us = n->opt.keep_for_us;
    if (n->opt.channels) {
        o.channels_path = n->opt.channels;
    } else if (node_path_join(path, sizeof path, data_dir, "channels.json")
               && access(path, F_OK) == 0) {
        o.channels_path = path;
    }
    if (notify_new(&o, &n->notify, err) < 0)
        return -err->code;
    if (o.channels_path) {
        struct channel_set *s = notify_channels(n->notify);

        log_info("notification channels: %zu from %s (%zu hear the daemon's own events)",
                 channel_set_count(s), o.channels_path, channel_set_daemon_count(s));
        channel_set_free(s);
    }
    return 0;
}

int node_notify_run(struct node *n, struct err *err)
{
    return n->notify ? notify_start(n->notify, err) : 0;
}

void node_notify_stop(struct node *n)
{
    notify_stop(n->notify);
}

void node_notify_free(struct node *n)
{
    notify_free(n->notify);
    n->notify = NULL;
}

void node_notify_reload(struct node *n)
{
    struct err err = { 0 };
    struct channel_set *s;

    if (!n->notify)
        return;
    if (notify_reload(n->notify, &err) < 0) {
        log_error("notification channels not reloaded (the old ones stay): %s%s%s", err.field,
                  err.field[0] ? ": " : "", err.msg);
        return;
    }
    s = notify_channels(n->notify);
    log_info("notification channels reloaded: %zu (%zu hear the daemon's own events)",
             channel_set_count(s), channel_set_daemon_count(s));
    channel_set_free(s);
}

int node_notify_check(struct node *n, const struct job *j, struct err *err)
{
    return n->notify ? notify_check_job(n->notify, j, err) : 0;
}

void node_notify(void *ctx, const struct job *j, const struct sched_run *r,
                 enum job_notify_event ev)
{
    const struct hostrun *h = r ? r->user : NULL;

    /* into the outbox, unless the run's job version is known
     * to name no channel for EV: the outbox would add nothing */
    if (!h || !h->notify_known || (h->notify_events & (1u << ev)))
        node_notify_event(ctx, j, r, ev);
    if (ev == JOB_ON_SUCCESS)
        return;
    if (r)
        log_info("job %s/%s: %s of run %lld", j->ns, j->name, notify_event_name(ev),
                 (long long)r->id);
    else
        log_info("job %s/%s: %s", j->ns, j->name, notify_event_name(ev));
}

void node_notify_event(struct node *n, const struct job *j, const struct sched_run *r,
                       enum job_notify_event ev)
{
    struct payload_event e = { 0 };
    char key[STORE_TEXT_MAX + 1];
    int64_t version = 0;

    e.event = notify_event_name(ev);
    e.ns = j->ns;
    e.name = j->name;
    e.exit_code = -1;
    e.occurred_us = node_now_us(n);
    e.node = n->host;
    if (r && r->id > 0) {
        e.run_id = r->id;
        e.attempt = r->attempt;
        e.state = store_run_state_name(r->state);
        e.reason = store_reason_name(r->reason);
        e.fire_us = r->fire_us;
        e.started_us = r->started_us;
        e.finished_us = r->finished_us ? r->finished_us
                                       : (ev == JOB_ON_STUCK ? 0 : e.occurred_us);
        e.exit_code = r->exit_code;
        e.signal = r->signal;
        e.error = r->error;
        version = r->job_version;
        snprintf(key, sizeof key, "%s:%lld", e.event, (long long)r->id);
        if (ev == JOB_ON_FAILURE) {
            n->notify_failed_job = j;
            n->notify_failed_run = r->id;
            n->notify_failed_version = r->job_version;
        }
    } else if (ev == JOB_ON_DISABLED && j == n->notify_failed_job && n->notify_failed_run) {
        /* the failure just notified paused the job: the same run's key */
        snprintf(key, sizeof key, "%s:%lld", e.event, (long long)n->notify_failed_run);
        version = n->notify_failed_version;
        n->notify_failed_job = NULL;
    } else {
        snprintf(key, sizeof key, "%s:%s/%s:%lld", e.event, j->ns, j->name,
                 (long long)e.occurred_us);
    }
    n->io->notify_event(n, &e, version, key);
}

void node_notify_error_rate(struct node *n, const struct health_config *c, bool high,
                            uint32_t failed, uint32_t total, int64_t now_us)
{
    struct payload_rate rate = { health_status_name(high ? HEALTH_DEGRADED : HEALTH_OK), failed,
                                 total, c->error_window_us, c->error_rate, c->error_min_runs };
    struct payload_event e = { 0 };
    char key[STORE_TEXT_MAX + 1];

    if (!n->notify)
        return;
    e.event = notify_daemon_event_name(high ? NOTIFY_ERROR_RATE : NOTIFY_ERROR_RATE_OK);
    e.exit_code = -1;
    e.occurred_us = now_us;
    e.node = n->host;
    e.rate = &rate;
    snprintf(key, sizeof key, "%s:%s:%lld", e.event, n->host, (long long)now_us);
    notify_daemon_event(n->notify, &e, key);
}
