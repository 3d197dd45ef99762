/* notifications.c: the handlers of /api/v1/notifications (the outbox:
 * every event for every channel, with its delivery state) and
 * /api/v1/channels (the channels defined, without their secrets).
 *
 * Reads go straight to the store. A token sees the notifications of the
 * jobs of its namespaces only, and the channels open to one of them; the
 * daemon's own events (no job: "job" is null) only a token of every
 * namespace sees. */
#include "api/api_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "notify/channel.h"
#include "notify/notify.h"
#include "job/job.h"
#include "store/store.h"
#include "time/units.h"
#include "../banned.h"

static json_t *outbox_json(const struct store_outbox *o)
{
    char job[2 * STORE_NAME_MAX + 2];
    json_t *payload = o->payload ? json_loads(o->payload, 0, NULL) : NULL;

    snprintf(job, sizeof job, "%s/%s", o->ns, o->name);
    return json_pack(
        "{s:I, s:s, s:o, s:o, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
        (json_int_t)o->id, "delivery_id", o->delivery_id, "job",
        o->ns[0] ? json_string(job) : json_null(), "run_id",
        o->run_id == STORE_NULL ? json_null() : json_integer(o->run_id), "event", o->event,
        "channel", o->channel, "state", store_outbox_state_name(o->state), "attempts",
        (json_int_t)o->attempts, "created_at", api_json_instant(o->created_us),
        "next_attempt_at",
        o->state == STORE_OUTBOX_PENDING ? api_json_instant(o->due_us) : json_null(),
        "delivered_at", api_json_instant(o->delivered_us), "last_status",
        o->last_status == STORE_NULL ? json_null() : json_integer(o->last_status), "last_error",
        o->last_error ? api_json_text(o->last_error, strlen(o->last_error)) : json_null(),
        "payload", payload ? payload : json_null());
}

int api_notifications_list(struct api_call *c)
{
    struct store_outbox_filter f = {0};
    struct store_outbox_page page = {0};
    const char *job = api_query(c, "job"), *state = api_query(c, "state"),
               *channel = api_query(c, "channel");
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1];
    json_t *items;
    int64_t limit, total;
    size_t i;
    int rc;

    if (job) {
        if ((rc = job_id_parse(job, NULL, ns, name, &c->err)) < 0
            || (rc = api_auth_job(c, ns, name)) < 0)
            return rc;
        f.ns = ns;
        f.name = name;
    }
    f.ns_in = c->token_ns; /* only what the token sees */
    if (state && (rc = store_outbox_state_parse(state, "state", &f.state, &c->err)) < 0)
        return rc;
    f.channel = channel;
    rc = api_query_int(c, "limit", 1, STORE_LIMIT_MAX, STORE_LIMIT_DEFAULT, &limit, &c->err);
    if (rc < 0)
        return rc;
    f.limit = (int)limit;
    f.cursor = api_query(c, "cursor");
    rc = store_outbox_list(c->api->opt.store, &f, &page, &c->err);
    if (rc < 0)
        return rc;
    rc = store_outbox_count(c->api->opt.store, &f, &total, &c->err);
    if (rc < 0)
        goto done;
    items = json_array();
    for (i = 0; items && i < page.n; i++)
        json_array_append_new(items, outbox_json(&page.items[i]));
    rc = api_reply_json(c, 200, api_json_list(items, page.next_cursor, total));
done:
    store_outbox_page_release(&page);
    return rc;
}

/* Does C's token see O? A job's notification when it sees the job's
 * namespace; a daemon event's (no job) only when it sees every namespace,
 * as the list shows them (store_outbox_filter.ns_in). */
static bool outbox_seen(const struct api_call *c, const struct store_outbox *o)
{
    if (!o->ns[0])
        return c->authed && !c->token_ns;
    return api_auth_sees(c, o->ns);
}

/* The notification the path names, if C's token sees it. */
static int path_outbox(struct api_call *c, int64_t *ret_id, struct store_outbox *ret)
{
    int rc = api_param_id(c, 0, "id", ret_id, &c->err);

    if (rc < 0)
        return rc;
    rc = store_outbox_get(c->api->opt.store, *ret_id, ret, &c->err);
    if (rc < 0)
        return rc;
    if (!outbox_seen(c, ret)) {
        store_outbox_release(ret);
        return err_set(&c->err, CHIME_ENOTFOUND, "id", "notification %" PRId64
                       " does not exist", *ret_id);
    }
    return 0;
}

int api_notification_show(struct api_call *c)
{
    struct store_outbox o;
    int64_t id;
    int rc = path_outbox(c, &id, &o);

    if (rc < 0)
        return rc;
    rc = api_reply_json(c, 200, outbox_json(&o));
    store_outbox_release(&o);
    return rc;
}

/* A failed notification is sent again: pending, due now, attempts from 0,
 * the same delivery id (a receiver that had it can tell). */
int api_notification_retry(struct api_call *c)
{
    struct store_op op = {.kind = STORE_OP_OUTBOX_REQUEUE};
    struct store_outbox o;
    int64_t id;
    int rc = path_outbox(c, &id, &o);

    if (rc < 0)
        return rc;
    api_audit_job(c, o.ns, o.name);
    store_outbox_release(&o);
    op.outbox_requeue.id = id;
    op.outbox_requeue.now_us = api_now_us();
    if (store_exec(c->api->opt.store, &op) < 0) {
        c->err = op.err;
        return -op.err.code;
    }
    if (c->api->opt.notify)
        notify_kick(c->api->opt.notify);
    rc = store_outbox_get(c->api->opt.store, id, &o, &c->err);
    if (rc < 0)
        return rc;
    rc = api_reply_json(c, 202, outbox_json(&o));
    store_outbox_release(&o);
    return rc;
}

/* ---- channels ---- */

/* The URL without what may be secret (user, password, query, fragment):
 * "https://hooks.example.com/path". */
static json_t *url_shown(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, buf[1024];
    json_t *j;

    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        return json_string("(unreadable)");
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    /* a Slack webhook's path is its secret: only whether there is one */
    snprintf(buf, sizeof buf, "%s://%s%s%s%s", scheme ? scheme : "", host ? host : "",
             port ? ":" : "", port ? port : "", path && strlen(path) > 1 ? "/..." : "");
    j = api_json_text(buf, strlen(buf));
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return j;
}

static json_t *channel_json(const struct channel *ch)
{
    char t[32], ct[32], b[32], mb[32];
    json_t *ns = ch->namespaces ? json_array() : json_null(), *j;

    for (size_t i = 0; ch->namespaces && i < ch->n_namespaces; i++)
        json_array_append_new(ns, json_string(ch->namespaces[i]));
    j = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:{s:i, s:s, s:f, s:s, s:f}}", "name", ch->name,
                  "kind", channel_kind_name(ch->kind), "target", url_shown(ch->url),
                  "namespaces", ns, "timeout", units_duration_format(ch->timeout_us, t, sizeof t),
                  "connect_timeout",
                  units_duration_format(ch->connect_timeout_us, ct, sizeof ct), "retry",
                  "max_attempts", ch->retry.max_attempts, "backoff",
                  units_duration_format(ch->retry.backoff_us, b, sizeof b), "factor",
                  ch->retry.factor, "max_backoff",
                  units_duration_format(ch->retry.max_backoff_us, mb, sizeof mb), "jitter",
                  ch->retry.jitter);
    if (j && ch->kind == CHANNEL_WEBHOOK)
        json_object_set_new(j, "signed", json_boolean(ch->secret != NULL));
    if (j && ch->kind == CHANNEL_EMAIL) {
        json_t *to = json_array();

        for (size_t i = 0; i < ch->n_to; i++)
            json_array_append_new(to, json_string(ch->to[i]));
        json_object_set_new(j, "from", json_string(ch->from));
        json_object_set_new(j, "to", to);
    }
    return j;
}

/* Whether a job of a namespace C's token sees may use CH. */
static bool channel_seen(const struct api_call *c, const struct channel *ch)
{
    if (!ch->namespaces)
        return true;
    for (size_t i = 0; i < ch->n_namespaces; i++)
        if (api_auth_sees(c, ch->namespaces[i]))
            return true;
    return false;
}

int api_channels_list(struct api_call *c)
{
    struct channel_set *s = c->api->opt.notify ? notify_channels(c->api->opt.notify) : NULL;
    json_t *items = json_array();
    int64_t n = 0;

    for (size_t i = 0; items && i < channel_set_count(s); i++) {
        const struct channel *ch = channel_set_at(s, i);

        if (channel_seen(c, ch)) {
            json_array_append_new(items, channel_json(ch));
            n++;
        }
    }
    channel_set_free(s);
    return api_reply_json(c, 200, api_json_list(items, NULL, n));
}
