/* notify.c: the notifier (see notify.h): events into the outbox, and the
 * deliverer threads.
 *
 * A deliverer reads the earliest due instant (a read connection, no
 * lock), sleeps until then or until kicked, claims the row due first (a
 * write of its own: the claim is a lease counted as an attempt), sends it
 * and writes the outcome fenced by the claim. Several deliverers work at
 * once, so one endpoint that hangs until its timeout holds one thread,
 * not the others' deliveries. */
#include "notify/notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "notify/channel.h"
#include "notify/deliver.h"
#include "notify/payload.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/metrics.h"
#include "../banned.h"

#define DELIVERERS_DEFAULT 4
#define DELIVERERS_MAX     32
#define IDLE_MAX_US        (INT64_C(5) * 1000000)      /* look again at least this often */
#define ERROR_PAUSE_US     (INT64_C(1) * 1000000)      /* after a store error */
#define LEASE_US           (INT64_C(900) * 1000000)    /* a claim outlives any attempt */
#define PRUNE_EVERY_US     (INT64_C(3600) * 1000000)
#define KEEP_FOR_DEFAULT   (INT64_C(30) * 86400 * 1000000)

struct notify {
    struct notify_options opt;
    char *channels_path;        /* owned copy */
    pthread_mutex_t mu;         /* guards channels, gen, stopping, stats */
    pthread_cond_t cv;
    struct channel_set *channels;
    uint64_t gen;               /* kicks */
    volatile bool stopping;     /* also read by transfers in flight */
    bool started;
    int64_t next_prune_us;      /* deliverer 0's */
    struct notify_stats stats;
    pthread_t *threads;
    int n_threads;
};

static const char *const event_names[JOB_ON_COUNT] = {
#define X(id, name, ...) [JOB_ON_##id] = name,
    STORE_JOB_EVENTS(X)
#undef X
};

static const char *const daemon_event_names[NOTIFY_DAEMON_COUNT] = {
#define X(id, name, ...) [NOTIFY_##id] = name,
    STORE_DAEMON_EVENTS(X)
#undef X
};

const char *notify_event_name(enum job_notify_event ev)
{
    return (int)ev >= 0 && ev < JOB_ON_COUNT ? event_names[ev] : "unknown";
}

const char *notify_daemon_event_name(enum notify_daemon_event ev)
{
    return (int)ev >= 0 && ev < NOTIFY_DAEMON_COUNT ? daemon_event_names[ev] : "unknown";
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- life ---- */

int notify_new(const struct notify_options *opt, struct notify **ret, struct err *err)
{
    struct notify *nt = calloc(1, sizeof *nt);
    int rc;

    if (!nt)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    nt->opt = *opt;
    if (!nt->opt.deliverers)
        nt->opt.deliverers = DELIVERERS_DEFAULT;
    if (nt->opt.deliverers < 0 || nt->opt.deliverers > DELIVERERS_MAX)
        nt->opt.deliverers = DELIVERERS_DEFAULT;
    if (!nt->opt.keep_for_us)
        nt->opt.keep_for_us = KEEP_FOR_DEFAULT;
    if (opt->channels_path && !(nt->channels_path = strdup(opt->channels_path))) {
        free(nt);
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    }
    nt->opt.channels_path = nt->channels_path;
    rc = nt->channels_path ? channel_set_load(nt->channels_path, &nt->channels, err)
                           : channel_set_empty(&nt->channels, err);
    if (rc < 0) {
        free(nt->channels_path);
        free(nt);
        return rc;
    }
    pthread_mutex_init(&nt->mu, NULL);
    pthread_cond_init(&nt->cv, NULL);
    deliver_global_init();
    *ret = nt;
    return 0;
}

static void *deliverer_main(void *arg);

struct deliverer {
    struct notify *nt;
    int index;
};

int notify_start(struct notify *nt, struct err *err)
{
    struct store_op op = { .kind = STORE_OP_OUTBOX_REQUEUE };

    op.outbox_requeue.now_us = now_us();
    if (store_exec(nt->opt.store, &op) < 0) {
        if (err)
            *err = op.err;
        return -op.err.code;
    }
    if (op.ret_id > 0)
        log_info("notifications: %lld left being delivered by the last process are due again",
                 (long long)op.ret_id);
    nt->threads = calloc((size_t)nt->opt.deliverers, sizeof *nt->threads);
    if (!nt->threads)
        return err_set(err, CHIME_ENOMEM, NULL, "out of memory");
    for (int i = 0; i < nt->opt.deliverers; i++) {
        struct deliverer *d = malloc(sizeof *d);

        if (d) {
            d->nt = nt;
            d->index = i;
        }
        if (!d || pthread_create(&nt->threads[i], NULL, deliverer_main, d) != 0) {
            free(d);
            notify_stop(nt);
            return err_set(err, CHIME_EIO, NULL, "cannot start the notification deliverers");
        }
        nt->n_threads++;
    }
    nt->started = true;
    return 0;
}

void notify_stop(struct notify *nt)
{
    if (!nt)
        return;
    pthread_mutex_lock(&nt->mu);
    nt->stopping = true;
    pthread_cond_broadcast(&nt->cv);
    pthread_mutex_unlock(&nt->mu);
    for (int i = 0; i < nt->n_threads; i++)
        pthread_join(nt->threads[i], NULL);
    nt->n_threads = 0;
    free(nt->threads);
    nt->threads = NULL;
}

void notify_free(struct notify *nt)
{
    if (!nt)
        return;
    notify_stop(nt);
    channel_set_free(nt->channels);
    pthread_cond_destroy(&nt->cv);
    pthread_mutex_destroy(&nt->mu);
    free(nt->channels_path);
    free(nt);
}

/* ---- channels ---- */

int notify_reload(struct notify *nt, struct err *err)
{
    struct channel_set *fresh = NULL, *old;
    int rc;

    if (!nt->channels_path)
        return 0;
    rc = channel_set_load(nt->channels_path, &fresh, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&nt->mu);
    old = nt->channels;
    nt->channels = fresh;
    pthread_cond_broadcast(&nt->cv);    /* a fixed channel may have rows due */
    pthread_mutex_unlock(&nt->mu);
    channel_set_free(old);
    return 0;
}

struct channel_set *notify_channels(struct notify *nt)
{
    struct channel_set *s;

    pthread_mutex_lock(&nt->mu);
    s = channel_set_ref(nt->channels);
    pthread_mutex_unlock(&nt->mu);
    return s;
}

int notify_check_job(struct notify *nt, const struct job *j, struct err *err)
{
    struct channel_set *s = notify_channels(nt);
    int rc = channel_set_check_job(s, j, err);

    channel_set_free(s);
    return rc;
}

void notify_stats(struct notify *nt, struct notify_stats *ret)
{
    pthread_mutex_lock(&nt->mu);
    *ret = nt->stats;
    pthread_mutex_unlock(&nt->mu);
}

void notify_kick(struct notify *nt)
{
    pthread_mutex_lock(&nt->mu);
    nt->gen++;
    pthread_cond_broadcast(&nt->cv);
    pthread_mutex_unlock(&nt->mu);
}

/* ---- events into the outbox ---- */

struct event_op {
    struct store_op op;
    struct notify *nt;
    char *payload;
    char *channels;             /* a daemon event's: a JSON array of names */
    char ns[STORE_NAME_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    char event[STORE_EVENT_MAX + 1];
    char key[STORE_TEXT_MAX + 1];
};

/* "job NS/NAME" or "the daemon", for log lines: NS "" is a daemon event. */
static const char *owner(const char *ns, const char *name, char *buf, size_t len)
{
    if (!*ns)
        return "the daemon";
    snprintf(buf, len, "job %s/%s", ns, name);
    return buf;
}

static void event_op_free(struct event_op *o)
{
    free(o->payload);
    free(o->channels);
    free(o);
}

static void on_recorded(struct store_op *op)
{
    struct event_op *o = op->data;
    struct notify *nt = o->nt;
    char who[2 * STORE_NAME_MAX + 8];

    pthread_mutex_lock(&nt->mu);
    if (op->rc < 0)
        nt->stats.record_errors++;
    else
        nt->stats.recorded += op->n_ret_ids;
    pthread_mutex_unlock(&nt->mu);
    if (op->rc < 0)
        log_error("notifications of %s (%s) were not recorded: %s",
                  owner(o->ns, o->name, who, sizeof who), o->event, op->err.msg);
    else if (op->n_ret_ids > 0)
        notify_kick(nt);
    free(op->ret_ids);
    event_op_free(o);
}

/* An event op for E with KEY, its JSON made; NULL out of memory. */
static struct event_op *event_op_new(struct notify *nt, const struct payload_event *e,
                                     const char *key)
{
    struct event_op *o = calloc(1, sizeof *o);

    if (!o || !(o->payload = payload_event_json(e))) {
        free(o);
        return NULL;
    }
    o->nt = nt;
    snprintf(o->ns, sizeof o->ns, "%s", e->ns ? e->ns : "");
    snprintf(o->name, sizeof o->name, "%s", e->name ? e->name : "");
    snprintf(o->event, sizeof o->event, "%s", e->event);
    snprintf(o->key, sizeof o->key, "%s", key);
    o->op.kind = STORE_OP_OUTBOX_ADD;
    o->op.data = o;
    o->op.outbox_add.run_id = e->run_id > 0 ? e->run_id : STORE_NULL;
    o->op.outbox_add.event = o->event;
    o->op.outbox_add.key = o->key;
    o->op.outbox_add.payload = o->payload;
    o->op.outbox_add.now_us = e->occurred_us;
    return o;
}

/* Hands O to the store thread (which frees it in on_recorded). */
static void event_op_submit(struct event_op *o)
{
    char who[2 * STORE_NAME_MAX + 8];

    if (store_submit(o->nt->opt.store, &o->op, on_recorded) < 0) {
        log_error("notifications of %s (%s) were not recorded: %s",
                  owner(o->ns, o->name, who, sizeof who), o->event, o->op.err.msg);
        event_op_free(o);
    }
}

void notify_event(struct notify *nt, const struct payload_event *e, int64_t job_version,
                  const char *key)
{
    struct event_op *o = event_op_new(nt, e, key);

    if (!o) {
        log_error("out of memory recording a notification of job %s/%s", e->ns, e->name);
        return;
    }
    o->op.outbox_add.ns = o->ns;
    o->op.outbox_add.name = o->name;
    o->op.outbox_add.job_version = job_version;
    event_op_submit(o);
}

/* The channels file's "daemon" list as a JSON array into *RET (owned;
 * NULL when it lists none); -1 out of memory. */
static int daemon_channels(struct notify *nt, char **ret)
{
    struct channel_set *s = notify_channels(nt);
    size_t n = channel_set_daemon_count(s);
    json_t *a = n ? json_array() : NULL;

    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(channel_set_daemon_at(s, i)->name));
    *ret = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    channel_set_free(s);
    return n && !*ret ? -1 : 0;
}

void notify_daemon_event(struct notify *nt, const struct payload_event *e, const char *key)
{
    struct event_op *o = NULL;
    char *channels = NULL;

    if (daemon_channels(nt, &channels) == 0 && !channels)
        return;                 /* no channel listens: nothing to record */
    if (!channels || !(o = event_op_new(nt, e, key))) {
        log_error("out of memory recording the daemon's %s notification", e->event);
        free(channels);
        return;
    }
    o->channels = channels;
    o->op.outbox_add.channels = channels;
    event_op_submit(o);
}

/* ---- deliverers ---- */

/* Ends the claim of ROW with RES (with CH, NULL when the channel is gone). */
static void finish(struct notify *nt, const struct store_outbox *row, const struct channel *ch,
                   const struct deliver_result *res)
{
    struct store_op op = { .kind = STORE_OP_OUTBOX_DONE };
    char error[600], who[2 * STORE_NAME_MAX + 8];
    uint64_t rnd = 0;

    op.outbox_done.id = row->id;
    op.outbox_done.attempts = row->attempts;
    op.outbox_done.status = res->status ? res->status : STORE_NULL;
    op.outbox_done.now_us = now_us();
    op.outbox_done.due_us = STORE_NULL;
    op.outbox_done.error = res->error[0] ? res->error : NULL;
    switch (res->outcome) {
    case DELIVER_OK:
        op.outbox_done.state = STORE_OUTBOX_DELIVERED;
        break;
    case DELIVER_RETRY:
        if (ch && row->attempts < ch->retry.max_attempts) {
            randombytes_buf(&rnd, sizeof rnd);
            op.outbox_done.state = STORE_OUTBOX_PENDING;
            op.outbox_done.due_us =
                op.outbox_done.now_us + channel_backoff_us(&ch->retry, (int)row->attempts, rnd);
            break;
        }
        snprintf(error, sizeof error, "gave up after %lld attempts: %s",
                 (long long)row->attempts, res->error);
        op.outbox_done.error = error;
        op.outbox_done.state = STORE_OUTBOX_FAILED;
        break;
    default:
        op.outbox_done.state = STORE_OUTBOX_FAILED;
        break;
    }
    if (store_exec(nt->opt.store, &op) < 0) {
        /* a newer claim has it (this one outlived its lease): its result stands */
        log_warn("notification %lld: the outcome of attempt %lld was not recorded: %s",
                 (long long)row->id, (long long)row->attempts, op.err.msg);
        return;
    }
    pthread_mutex_lock(&nt->mu);
    nt->stats.attempts++;
    if (op.outbox_done.state == STORE_OUTBOX_DELIVERED)
        nt->stats.delivered++;
    else if (op.outbox_done.state == STORE_OUTBOX_PENDING)
        nt->stats.retried++;
    else
        nt->stats.failed++;
    pthread_mutex_unlock(&nt->mu);
    metrics_notify_delivery(nt->opt.metrics, ch ? channel_kind_name(ch->kind) : "unknown",
                            res->outcome == DELIVER_OK);
    if (op.outbox_done.state == STORE_OUTBOX_FAILED)
        log_warn("notification %lld (%s of %s to %s) failed: %s", (long long)row->id,
                 row->event, owner(row->ns, row->name, who, sizeof who), row->channel,
                 op.outbox_done.error);
    else if (op.outbox_done.state == STORE_OUTBOX_PENDING)
        log_info("notification %lld (%s of %s to %s): attempt %lld failed (%s), next in"
                 " %lld ms", (long long)row->id, row->event,
                 owner(row->ns, row->name, who, sizeof who), row->channel,
                 (long long)row->attempts, res->error,
                 (long long)((op.outbox_done.due_us - op.outbox_done.now_us) / 1000));
}

/* Delivers ROW, claimed. */
static void deliver_row(struct notify *nt, const struct store_outbox *row)
{
    struct channel_set *set = notify_channels(nt);
    const struct channel *ch = channel_set_find(set, row->channel);
    struct deliver_result res = { 0 };

    if (!ch) {
        res.outcome = DELIVER_REFUSED;
        snprintf(res.error, sizeof res.error, "channel '%s' is not defined (any more)",
                 row->channel);
    } else {
        deliver_send(ch, row, row->attempts, &nt->stopping, &res);
    }
    if (res.outcome != DELIVER_ABANDONED)
        finish(nt, row, ch, &res);
    channel_set_free(set);
}

static void prune(struct notify *nt)
{
    struct store_op op = { .kind = STORE_OP_OUTBOX_PRUNE };
    int64_t total = 0;

    do {
        op.outbox_prune.before_us = now_us() - nt->opt.keep_for_us;
        op.outbox_prune.max = 1000;
        if (store_exec(nt->opt.store, &op) < 0) {
            log_error("pruning notifications failed: %s", op.err.msg);
            return;
        }
        total += op.ret_id;
    } while (op.ret_id == 1000 && !nt->stopping);
    if (total)
        log_info("notifications: %lld old ones removed", (long long)total);
}

/* One look: prunes when it is time (deliverer 0), delivers one due row.
 * Returns whether it delivered; *RET_WAKE is when to look again. */
static bool work(struct notify *nt, int index, int64_t *ret_wake)
{
    struct store_op op = { .kind = STORE_OP_OUTBOX_CLAIM };
    struct store_outbox row = { 0 };
    struct err err = { 0 };
    int64_t now = now_us(), due = INT64_MAX;

    *ret_wake = now + IDLE_MAX_US;
    if (index == 0 && now >= nt->next_prune_us) {
        nt->next_prune_us = now + PRUNE_EVERY_US;
        prune(nt);
    }
    if (store_outbox_next_due(nt->opt.store, &due, &err) < 0) {
        log_error("notifications: reading the outbox failed: %s", err.msg);
        *ret_wake = now + ERROR_PAUSE_US;
        return false;
    }
    if (due > now) {
        if (due < *ret_wake)
            *ret_wake = due;
        return false;
    }
    op.outbox_claim.now_us = now;
    op.outbox_claim.lease_us = LEASE_US;
    op.outbox_claim.ret = &row;
    if (store_exec(nt->opt.store, &op) < 0) {
        log_error("notifications: claiming one failed: %s", op.err.msg);
        store_outbox_release(&row);
        *ret_wake = now + ERROR_PAUSE_US;
        return false;
    }
    if (op.ret_id == 0) {       /* another deliverer took it */
        *ret_wake = now;
        return false;
    }
    deliver_row(nt, &row);
    store_outbox_release(&row);
    return true;
}

static void *deliverer_main(void *arg)
{
    struct deliverer d = *(struct deliverer *)arg;
    struct notify *nt = d.nt;

    free(arg);
    pthread_mutex_lock(&nt->mu);
    while (!nt->stopping) {
        uint64_t seen = nt->gen;
        int64_t wake;
        bool busy;

        pthread_mutex_unlock(&nt->mu);
        busy = work(nt, d.index, &wake);
        pthread_mutex_lock(&nt->mu);
        if (busy || nt->gen != seen || nt->stopping)
            continue;
        if (wake > now_us()) {
            struct timespec ts = { (time_t)(wake / 1000000), (long)(wake % 1000000) * 1000 };

            /* CLOCK_REALTIME, the clock of due instants */
            pthread_cond_timedwait(&nt->cv, &nt->mu, &ts);
        }
    }
    pthread_mutex_unlock(&nt->mu);
    return NULL;
}
