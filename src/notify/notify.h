/* notify.h: the notifier: jobs' events into the store's outbox, and
 * deliverer threads that take due rows out of it (docs/notify.md).
 *
 * Recording an event never blocks its caller: notify_event() builds the
 * event's JSON and submits one store op (the store thread writes a row per
 * channel the job lists, in the same group commit as the run's update),
 * so the engine's loop only queues. Delivery happens on the notifier's
 * own threads (never the loop): each claims the row due first (a lease,
 * counted as an attempt), sends it with libcurl under the channel's
 * timeouts, and records the outcome: delivered, pending again after a
 * backoff with jitter, or failed once the attempts are spent or the
 * endpoint refused for good. At start-up rows left "delivering" by a
 * previous process are due again, so every event is delivered at least
 * once on the wire (with the same delivery id every time) and marked
 * delivered exactly once in the outbox.
 *
 * Thread-safe after notify_start(): events from the loop, checks and
 * reloads from the API's threads. */
#ifndef CHIME_NOTIFY_H
#define CHIME_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job/job.h"

struct channel_set;
struct err;
struct job;
struct metrics;
struct notify;
struct payload_event;
struct store;

struct notify_options {
    struct store *store;        /* borrowed; opened with a loop (events are submitted) */
    const char *channels_path;  /* the channels file, re-read by notify_reload(); NULL: none */
    struct metrics *metrics;    /* borrowed; NULL: nothing counted */
    int deliverers;             /* threads; 0: 4 */
    int64_t keep_for_us;        /* delivered and failed rows older than this go; 0: 30 days */
};

/* Counters since start, for health and metrics. */
struct notify_stats {
    uint64_t recorded;          /* outbox rows written (an event × a channel) */
    uint64_t attempts;          /* delivery attempts finished */
    uint64_t delivered;
    uint64_t retried;           /* attempts that failed and will be tried again */
    uint64_t failed;            /* notifications given up */
    uint64_t record_errors;     /* events the store could not record */
};

/* Loads the channels file (an error names what is wrong in it and nothing
 * is started). Returns an owned notifier that delivers nothing until
 * notify_start(). */
int notify_new(const struct notify_options *opt, struct notify **ret, struct err *err);
/* Makes rows a previous process left "delivering" due now, then starts
 * the deliverers. Blocks on the store (start-up, not a running loop). */
int notify_start(struct notify *nt, struct err *err);
/* Abandons attempts in flight (their rows are due again at the next
 * start) and joins the deliverers. Events may still be recorded. */
void notify_stop(struct notify *nt);
/* Frees NT; call it after store_close() (whose last callbacks may still
 * reach it). NULL does nothing. */
void notify_free(struct notify *nt);

/* Records event E for every channel the job's version JOB_VERSION (0: the
 * current one) lists for it. KEY identifies the event (the same event
 * recorded twice makes one row per channel). Any thread; never blocks. */
void notify_event(struct notify *nt, const struct payload_event *e, int64_t job_version,
                  const char *key);
/* Records the daemon's own event E (no job, no run: E->ns and E->name
 * NULL, E->rate set) for every channel of the channels file's "daemon"
 * list; nothing when it lists none. KEY identifies the event, as above.
 * Any thread; never blocks. */
void notify_daemon_event(struct notify *nt, const struct payload_event *e, const char *key);
/* Wakes the deliverers (rows may be due). */
void notify_kick(struct notify *nt);

/* Re-reads the channels file; on an error the channels in use stay. */
int notify_reload(struct notify *nt, struct err *err);
/* The channels in use: a new reference (channel_set_free()). */
struct channel_set *notify_channels(struct notify *nt);
/* Does every channel J names exist and may J's namespace use it? */
int notify_check_job(struct notify *nt, const struct job *j, struct err *err);

void notify_stats(struct notify *nt, struct notify_stats *ret);

/* "failure", "success", ... as the document names events without "on_". */
const char *notify_event_name(enum job_notify_event ev);

/* The daemon's own events (store/vocab.h's table): no job names them; the channels file's
 * "daemon" list hears them (notify_daemon_event()). */
enum notify_daemon_event {
#define X(id, ...) NOTIFY_##id,
    STORE_DAEMON_EVENTS(X)
#undef X
    NOTIFY_DAEMON_COUNT
};
/* "error_rate", "error_rate_ok". */
const char *notify_daemon_event_name(enum notify_daemon_event ev);

#endif
