/* api_int.h: what the files of the API share, and nothing else includes
 * (the tests read the route table through api_routes()).
 *
 * One HTTP request is one struct api_call. server.c makes it, reads the
 * body into it under body_max, finds its route in the table of routes.c
 * and calls the route's handler on the server thread that owns the
 * connection. A handler either fills the reply (api_reply_json() and
 * friends) and returns 0, or returns a negative chime code with c->err
 * filled, and server.c answers with a problem document. Handlers never
 * touch libmicrohttpd but for the output follower (output.c), whose
 * streamed response needs the connection. */
#ifndef CHIME_API_INT_H
#define CHIME_API_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api.h"
#include "util/err.h"

struct conntrack;
struct conntrack_conn;

struct MHD_Connection;
struct MHD_Daemon;
struct MHD_Response;
struct store_audit;
struct store_job;
struct jobsave;
struct store_op;
struct store_run;
struct ratelimit;
struct metric_family;
struct api_follow;

/* Problems that only HTTP has, numbered after the chime codes so one
 * table (call.c) maps every code to its type and status. */
enum {
    API_EMETHOD = CHIME_ECODE_MAX, /* 405: a known path, another method */
    API_EMEDIA,                    /* 415: a body that is not JSON */
    API_ERANGE_NOT_SATISFIABLE,    /* 416: a Range past the end */
    API_EUNAUTHORIZED,             /* 401: no token, or not a valid one */
    API_EFORBIDDEN,                /* 403: the token's role cannot do this */
    API_ETOO_MANY,                 /* 429: past a rate limit (failed authentications,
                                      triggers); the handler sets Retry-After */
    API_ECODE_END
};

#define API_PATH_PARAMS      4   /* "{x}" segments of a route, at most */
#define API_PATH_MAX         512 /* bytes of a request path we route */
#define API_HEADERS_MAX      6   /* reply headers a handler adds */
#define API_HEADER_VALUE_MAX 256

#define API_FOLLOW_TICK_US (100 * 1000)              /* how often a follower looks again */
#define API_FOLLOW_MAX_US  (INT64_C(3600) * 1000000) /* a follow ends after an hour */
#define API_FOLLOW_IDLE_US (INT64_C(600) * 1000000)  /* ...or ten minutes without output */
#define API_FOLLOW_PING_US                                                                         \
    (INT64_C(15) * 1000000) /* a comment line, to notice gone clients                              \
                             * (or half the idle limit, if shorter) */

/* The running server. Options are copied with their defaults filled in. */
struct api {
    struct api_options opt;
    char *data_dir; /* owned copy of opt.data_dir */
    struct MHD_Daemon *mhd;
    char *openapi; /* the OpenAPI document, built once */
    size_t openapi_len;
    /* Job writes (store, then engine) are made one at a time, so the
     * engine learns of versions in the order the store wrote them. */
    pthread_mutex_t write_lock;
    /* Followers of live output waiting for their next look (output.c). */
    pthread_mutex_t follow_lock;
    pthread_cond_t follow_cond;
    pthread_t follow_thread;
    int64_t follow_ping_us; /* a quiet follow sends a comment this often */
    bool follow_init;       /* follow_lock and follow_cond exist */
    bool follow_running;
    bool stopping;                /* under follow_lock */
    struct api_follow *suspended; /* under follow_lock */
    struct ratelimit *auth_fails; /* failed authentications by address and token id (auth.c) */
    struct ratelimit *trigger_jobs;   /* manual triggers by job (jobs.c) */
    struct ratelimit *trigger_tokens; /* manual triggers by token id (jobs.c) */
    struct metric_family *requests; /* chime_api_requests_total; NULL: not counted */
    /* Open connections and their deadlines (conntrack.h), swept by
     * sweep_thread every API_SWEEP_US until sweep_stop. */
    struct conntrack *conns;
    pthread_mutex_t sweep_lock;
    pthread_cond_t sweep_cond; /* on CLOCK_MONOTONIC */
    pthread_t sweep_thread;
    bool sweep_running;
    bool sweep_stop; /* under sweep_lock */
};

struct api_call;
typedef int api_handler(struct api_call *c);

/* Who may call a route (auth.c). A row that says nothing is admin-only,
 * so a new route is closed until its row opens it. */
enum api_access {
    API_ADMIN = 0,    /* an admin token */
    API_VIEWER,       /* any token */
    API_OPERATOR,     /* an operator or admin token */
    API_ROOT,         /* an admin token of every namespace: tokens */
    API_PUBLIC,       /* no token: /healthz */
    API_SCRAPE,       /* any token, or none with metrics_open: /metrics */
};

enum api_body {
    API_BODY_NONE,     /* a body is read and ignored */
    API_BODY_OPTIONAL, /* JSON, may be empty */
    API_BODY_REQUIRED, /* JSON */
};

/* A query parameter of a route: dispatch refuses any other, the OpenAPI
 * document lists them. TYPE is an OpenAPI type; FORMAT may be NULL. */
struct api_param {
    const char *name;
    const char *type;
    const char *format;
    const char *doc;
};

/* One row of the route table. PATH is a template whose "{x}" segments
 * match one non-empty segment each, handed to the handler in order. */
struct api_route {
    const char *method;
    const char *path;
    api_handler *fn;
    const char *summary;
    const struct api_param *query; /* ends with a NULL name; NULL: none */
    enum api_body body;
    const char *body_schema;  /* a components/schemas name; NULL: none */
    unsigned status;          /* on success */
    const char *reply_schema; /* NULL: no body, or a non-JSON one */
    const char *reply_type;   /* NULL: application/json */
    bool events;              /* also text/event-stream (Accept) */
    enum api_access access;   /* who may call it; see above */
    bool no_audit;            /* a POST that changes nothing (the preview) */
    size_t body_max;          /* bytes of body; 0: the server's body_max */
    /* for the OpenAPI document (openapi.c) */
    const char *op;           /* its operationId: unique, camelCase */
    unsigned status_too;      /* another status its reply may carry (same body); 0: none */
    const char *conflict;     /* what its 409 means; NULL: it gives none */
    const char *forbidden;    /* what its 403 means where its role alone would give none */
    const char *not_found;    /* what its 404 means where neither path nor query names a job */
    bool etag;                /* its reply carries ETag (the job's version) */
    bool location;            /* its reply carries Location (what it made) */
    bool ranges;              /* it takes Range (416 past the end) */
};

struct api_header {
    const char *name; /* static */
    char value[API_HEADER_VALUE_MAX];
};

struct api_call {
    struct api *api;
    struct MHD_Connection *conn;
    struct conntrack_conn *tracked; /* its connection's deadlines; NULL: untracked */
    bool started;                   /* on_request has seen its head */
    bool uri_nul;                   /* its raw URI holds a %00 */
    size_t uri_len;                 /* its raw URI's bytes up to any NUL */
    const struct api_route *route; /* NULL until routed */
    char method[16];
    char path[API_PATH_MAX]; /* split at '/' into params */
    const char *params[API_PATH_PARAMS];
    size_t n_params;
    /* the body, at most api->opt.body_max bytes */
    char *body;
    size_t body_len, body_cap;
    uint64_t received; /* bytes of body seen, kept or not */
    bool failed;       /* refused before its end: c->err says why */
    struct err err;
    /* the reply */
    unsigned status;
    json_t *json; /* owned */
    char *text;   /* owned, malloc'd */
    size_t text_len;
    const char *text_type;
    struct MHD_Response *response; /* owned; a streamed reply */
    json_t *warnings; /* owned: a job save's warnings, for its reply (jobs.c) */
    struct api_header headers[API_HEADERS_MAX];
    size_t n_headers;
    int64_t problem_run_id; /* a problem reply names this run ("run_id"); 0: none */
    /* who asks (auth.c), set once the request is authenticated */
    char address[64];   /* the client's address, for logs and the audit */
    bool authed;
    int role;           /* enum token_role */
    char token[64];     /* the token's name */
    char token_id[24];  /* its public id */
    char *token_ns;     /* owned: a JSON array of its namespaces; NULL: all */
    /* what the audit entry says about the request (auth.c); handlers
     * fill in the job and its versions */
    struct {
        char ns[64], name[64]; /* the job; "" when none */
        int64_t run_id;        /* 0: none */
        int64_t before, after; /* versions; 0: none */
        bool done;             /* written with the change already */
    } audit;
};

/* ---- routes.c ---- */

/* The route table, N rows. */
const struct api_route *api_routes(size_t *n);
/* The route for METHOD and PATH (split into C's params), or NULL with
 * c->err: CHIME_ENOTFOUND for an unknown path, API_EMETHOD for a known
 * one (then ALLOW lists its methods, ", " between). */
int api_route_find(struct api_call *c, char *allow, size_t allow_len);
/* openapi.c: builds the OpenAPI document from the table (and the job
 * document's schema from job_fields()) into *RET (owned). */
/* The fixed schemas of the OpenAPI document, as JSON text (openapi_schemas.c). */
extern const char api_openapi_schemas[];
int api_openapi_build(char **ret, size_t *ret_len, struct err *err);

/* ---- call.c: replies and requests ---- */

/* The reply: STATUS with J (taken; NULL means out of memory). */
int api_reply_json(struct api_call *c, unsigned status, json_t *j);
/* The reply: STATUS with TEXT (taken, malloc'd) of TYPE (static). */
int api_reply_text(struct api_call *c, unsigned status, char *text, size_t len, const char *type);
/* Adds a reply header; NAME is static. Quietly drops past API_HEADERS_MAX. */
void api_reply_header(struct api_call *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The reply: the problem document for c->err (an unknown code as EIO). */
void api_reply_problem(struct api_call *c);
/* A request header or query parameter; NULL when absent. */
const char *api_header(const struct api_call *c, const char *name);
const char *api_query(const struct api_call *c, const char *name);
/* Query parameter NAME as an integer in LO..HI; DEF when absent. */
int api_query_int(const struct api_call *c, const char *name, int64_t lo, int64_t hi, int64_t def,
                  int64_t *ret, struct err *err);
/* Query parameter NAME as an ISO 8601 instant; DEF when absent. */
int api_query_instant(const struct api_call *c, const char *name, int64_t def, int64_t *ret,
                      struct err *err);
/* The page of a list filtered by time: "since" and "until" (instants, 0
 * when absent; until after since) and "limit" (1-STORE_LIMIT_MAX). */
int api_query_page(const struct api_call *c, int64_t *since_us, int64_t *until_us, int *limit,
                   struct err *err);
/* The body as a JSON object (a new reference); NULL in *RET when the body
 * is empty and the route's body is optional. */
int api_body_object(const struct api_call *c, json_t **ret, struct err *err);
/* Microseconds since the epoch, now. */
int64_t api_now_us(void);

/* ---- json.c: the API's JSON ---- */

/* An instant as ISO 8601 UTC with microseconds; null for STORE_NULL,
 * INT64_MAX and INT64_MIN. */
json_t *api_json_instant(int64_t us);
/* A run as docs/design.md shows it. */
json_t *api_json_run(const struct store_run *r);
/* {"items": ITEMS (taken), "next_cursor": CURSOR or null, "total": TOTAL
 * or null when negative}. */
json_t *api_json_list(json_t *items, const char *cursor, int64_t total);
/* A JSON string of LEN bytes of DATA, invalid UTF-8 replaced by U+FFFD. */
json_t *api_json_text(const char *data, size_t len);
/* Parses LEN bytes of TEXT; malformed JSON is CHIME_EINVAL naming the
 * line and column. */
int api_json_parse(const char *text, size_t len, json_t **ret, struct err *err);
/* RFC 7386: applies merge patch PATCH (borrowed) to TARGET (taken) and
 * returns the result (owned), or NULL out of memory. */
json_t *api_json_merge_patch(json_t *target, const json_t *patch);

/* ---- jobs.c, runs.c, output.c: the handlers ---- */

int api_health(struct api_call *c);
int api_openapi(struct api_call *c);
int api_jobs_list(struct api_call *c);
int api_job_create(struct api_call *c);
int api_job_show(struct api_call *c);
int api_job_replace(struct api_call *c);
int api_job_patch(struct api_call *c);
int api_job_delete(struct api_call *c);
int api_job_pause(struct api_call *c);
int api_job_resume(struct api_call *c);
int api_job_trigger(struct api_call *c);
int api_job_next(struct api_call *c);
int api_job_versions(struct api_call *c);
int api_job_version(struct api_call *c);
/* versions.c, transfer.c, backup.c */
int api_job_diff(struct api_call *c);
int api_job_rollback(struct api_call *c);
int api_export(struct api_call *c);
int api_import(struct api_call *c);
int api_backup(struct api_call *c);
/* What jobs.c shares with the other handlers of jobs: the job a path
 * names, the version If-Match names (0: none), a save of J (taken) as
 * the job's next version (validated by the engine, audited; EXPECT as
 * store_job_put's), and the reply with a job's view. */
int api_job_path(const struct api_call *c, char *ns, char *name, char *id, struct err *err);
int api_job_if_match(const struct api_call *c, int64_t *ret, struct err *err);
int api_job_save(struct api_call *c, struct job *j, int64_t expect);
/* A new batch of saves by C (jobsave.h): its namespaces, its name as the
 * author, and AUDIT (filled here, with TARGET's TARGET_LEN bytes; both
 * must outlive the batch) as every change's audit entry, STATUS_CREATED
 * that of a job created. */
int api_save_new(struct api_call *c, unsigned status_created, struct store_audit *audit,
                 char *target, size_t target_len, struct jobsave **ret);
/* What a save of J warns of, as a JSON array of strings (owned; empty
 * when nothing): the one place every save and the preview take their
 * warnings from. LAST_FIRE_US: the job's newest fire handled (INT64_MIN:
 * none or a new job). */
json_t *api_job_warnings(const struct api_call *c, const struct job *j, int64_t last_fire_us);
int api_job_reply(struct api_call *c, unsigned status, const char *ns, const char *name);
int api_preview(struct api_call *c);
int api_runs_list(struct api_call *c);
int api_run_show(struct api_call *c);
int api_run_cancel(struct api_call *c);
int api_run_output(struct api_call *c);
int api_dead_list(struct api_call *c);
int api_dead_requeue(struct api_call *c);
/* health.c: /healthz and /metrics */
int api_metrics(struct api_call *c);

/* ---- auth.c: tokens, roles, namespaces, the audit log ---- */

/* Authenticates C for its route and checks that its token may call it
 * and sees the job or run the path names (404 when it does not, as for a
 * job that does not exist; 403 when it sees it but its role is too
 * weak). Failed authentications are logged and counted per address; an
 * address with too many gets 429 before its token is even looked at. */
int api_auth_route(struct api_call *c);
/* Authenticates C, when it is not yet, and checks it may do what NEED
 * allows; for routes that decide for themselves (/metrics: API_SCRAPE). */
int api_auth_require(struct api_call *c, enum api_access need);
/* The role A needs, in words ("operator"): what 403 and x-chime-role say. */
const char *api_access_name(enum api_access a);
/* Whether C's token sees namespace NS. */
bool api_auth_sees(const struct api_call *c, const char *ns);
/* 404 (as for a job that does not exist) when C's token does not see NS. */
int api_auth_job(struct api_call *c, const char *ns, const char *name);
/* The name a change by C is recorded under (author, triggered_by). */
const char *api_auth_who(const struct api_call *c);
/* Sets the job the audit entry of C names. */
void api_audit_job(struct api_call *c, const char *ns, const char *name);
/* C's audit entry with STATUS into E; its target is written to TARGET. */
void api_audit_entry(struct api_call *c, struct store_audit *e, unsigned status, char *target,
                     size_t target_len);
/* Runs CHANGE and C's audit entry (with STATUS) in one transaction; the
 * entry is written only when CHANGE succeeds. Returns CHANGE's result,
 * with c->err filled when it failed. */
int api_audit_exec(struct api_call *c, struct store_op *change, unsigned status);
/* Records C's request in the audit log, unless it changes nothing or its
 * entry is written already: called as its answer goes out. */
void api_audit_request(struct api_call *c);
/* Frees what authentication put in C. */
void api_auth_release(struct api_call *c);
int api_tokens_list(struct api_call *c);
int api_token_create(struct api_call *c);
int api_token_revoke(struct api_call *c);
int api_audit_list(struct api_call *c);
/* notifications.c */
int api_notifications_list(struct api_call *c);
int api_notification_show(struct api_call *c);
int api_notification_retry(struct api_call *c);
int api_channels_list(struct api_call *c);

/* A path parameter as a run id (positive), naming FIELD. */
int api_param_id(const struct api_call *c, size_t i, const char *field, int64_t *ret,
                 struct err *err);

/* ---- output.c: the follower's side of the server ---- */

/* Starts and stops the thread that wakes suspended followers; release
 * frees its lock once no connection is left (after the daemon stops). */
int api_follow_start(struct api *a, struct err *err);
void api_follow_stop(struct api *a);
void api_follow_release(struct api *a);

#endif
