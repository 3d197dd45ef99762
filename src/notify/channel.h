/* channel.h: notification channels, defined once by the operator in a
 * channels file (docs/notify.md) and named by jobs' "notify".
 *
 * A channel set is immutable once parsed and shared by reference count:
 * the deliverers hold the set they started an attempt with while a reload
 * (SIGHUP) swaps in a new one. Every definition is checked completely when
 * the file is read; a bad one is an error naming it by its path
 * ("channels.ops.url") and nothing of the file is used. */
#ifndef CHIME_CHANNEL_H
#define CHIME_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct job;

#define CHANNEL_NAME_MAX  63              /* [a-z0-9][a-z0-9._-]{0,62}, like job names */
#define CHANNEL_FILE_MAX  ((size_t)1 << 20)
#define CHANNEL_COUNT_MAX 1000

enum channel_kind { CHANNEL_WEBHOOK, CHANNEL_SLACK, CHANNEL_EMAIL, CHANNEL_KIND_COUNT };

/* How a failed delivery is retried: attempt n waits backoff × factor^(n-1),
 * at most max_backoff, plus up to jitter × that. */
struct channel_retry {
    int max_attempts;           /* total attempts, default 10 */
    int64_t backoff_us;         /* default 10s */
    double factor;              /* default 2 */
    int64_t max_backoff_us;     /* default 1h */
    double jitter;              /* 0-1, default 0.2 */
};

struct channel_header {
    char *name;
    char *value;
};

struct channel {
    char name[CHANNEL_NAME_MAX + 1];
    enum channel_kind kind;
    char *url;                      /* http(s):// for webhook and slack, smtp(s):// for email */
    int64_t timeout_us;             /* a whole attempt; default 10s */
    int64_t connect_timeout_us;     /* default 5s */
    struct channel_retry retry;
    char **namespaces;              /* jobs of these may use it; NULL: every namespace */
    size_t n_namespaces;
    /* webhook */
    unsigned char *secret;          /* HMAC-SHA256 key; NULL: no signature */
    size_t secret_len;
    /* webhook and slack */
    struct channel_header *headers; /* extra request headers */
    size_t n_headers;
    /* email */
    char *from;
    char **to;
    size_t n_to;
    char *subject;                  /* a template: {job} {event} {namespace} {name} {run} */
    char *username;                 /* NULL: no login */
    char *password;
    bool starttls;                  /* smtp://: require STARTTLS (else used when offered) */
};

struct channel_set;

/* Parses a channels file's LEN bytes of TEXT; files it names (secret_file,
 * password_file) are relative to BASE_DIR (NULL: the working directory).
 * Returns an owned set (reference count 1). */
int channel_set_parse(const char *text, size_t len, const char *base_dir,
                      struct channel_set **ret, struct err *err);
/* Reads and parses the file at PATH. A missing file is CHIME_ENOTFOUND. */
int channel_set_load(const char *path, struct channel_set **ret, struct err *err);
/* An empty set (no channel defined). */
int channel_set_empty(struct channel_set **ret, struct err *err);
/* Another reference to S (any thread); returns S. */
struct channel_set *channel_set_ref(struct channel_set *s);
/* Drops a reference; the last frees the set. NULL does nothing. */
void channel_set_free(struct channel_set *s);

size_t channel_set_count(const struct channel_set *s);
/* The Ith channel, in name order. */
const struct channel *channel_set_at(const struct channel_set *s, size_t i);
/* The channel NAME, or NULL. */
const struct channel *channel_set_find(const struct channel_set *s, const char *name);
/* The channels the file's "daemon" member lists, in its order: those that
 * hear the daemon's own events (error_rate, error_rate_ok). */
size_t channel_set_daemon_count(const struct channel_set *s);
const struct channel *channel_set_daemon_at(const struct channel_set *s, size_t i);
/* Does every channel J's "notify" names exist, and may a job of J's
 * namespace use it? CHIME_EINVAL naming the first that does not
 * ("notify.on_failure[0]"). J needs its body; one without passes. */
int channel_set_check_job(const struct channel_set *s, const struct job *j, struct err *err);

/* The delay before attempt ATTEMPT + 1 after attempt ATTEMPT (from 1)
 * failed; RND is a uniform random value (the jitter). */
int64_t channel_backoff_us(const struct channel_retry *r, int attempt, uint64_t rnd);

const char *channel_kind_name(enum channel_kind k);

#endif
