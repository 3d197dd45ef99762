/* deliver.c: one attempt over the wire with libcurl (see deliver.h).
 *
 * Hostile or broken endpoints are the normal case here: one that hangs
 * meets the connect and total timeouts; one that redirects is answered
 * with "not followed" (following could loop, or lead a signed body to a
 * host the operator never named); one that answers without end is cut
 * after DELIVER_READ_MAX bytes. What is retried: answers that say "later"
 * (5xx, 408, 425, 429) and failures of the network; what is not: answers
 * that say "never" (other 4xx, 3xx, a mail server's 5xx). */
#include "notify/deliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "notify/channel.h"
#include "notify/payload.h"
#include "store/store.h"
#include "util/err.h"
#include "../banned.h"

#ifndef CHIME_VERSION
#define CHIME_VERSION "0.1.0"
#endif

void deliver_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The answer, up to DELIVER_READ_MAX bytes. */
struct answer {
    char data[DELIVER_READ_MAX + 1];
    size_t len;
    bool cut;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n, room = DELIVER_READ_MAX - a->len;

    if (len > room) {
        memcpy(a->data + a->len, p, room);
        a->len += room;
        a->cut = true;
        return 0;               /* enough: the transfer ends here (CURLE_WRITE_ERROR) */
    }
    memcpy(a->data + a->len, p, len);
    a->len += len;
    return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const volatile bool *stop = arg;

    (void)dt, (void)dn, (void)ut, (void)un;
    return stop && *stop;
}

/* The mail's bytes, handed to curl's upload. */
struct upload {
    const char *data;
    size_t len, off;
};

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t len = size * n;

    if (len > u->len - u->off)
        len = u->len - u->off;
    memcpy(p, u->data + u->off, len);
    u->off += len;
    return len;
}

/* The first bytes of an answer, printable, for an error message. */
static void snippet(const struct answer *a, char *buf, size_t len)
{
    size_t k = 0;

    for (size_t i = 0; i < a->len && i < 200 && k + 1 < len; i++)
        buf[k++] = (a->data[i] >= 0x20 && a->data[i] < 0x7f) ? a->data[i] : ' ';
    buf[k] = '\0';
}

static void set_common(CURL *h, const struct channel *c, const volatile bool *stop,
                       char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_us / 1000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->timeout_us / 1000));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)stop);
}

/* A failure of curl itself (no answer to judge). */
static void curl_failed(CURLcode rc, const char *errbuf, const struct channel *c,
                        struct deliver_result *res)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        res->outcome = DELIVER_RETRY;
        snprintf(res->error, sizeof res->error, "timed out (connect %lld ms, total %lld ms): %s",
                 (long long)(c->connect_timeout_us / 1000), (long long)(c->timeout_us / 1000),
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_LOGIN_DENIED:
        res->outcome = DELIVER_REFUSED;
        break;
    default:
        res->outcome = DELIVER_RETRY;
        break;
    }
    snprintf(res->error, sizeof res->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* Judges an HTTP answer. */
static void http_answer(CURL *h, long status, const struct answer *a, struct deliver_result *res)
{
    char text[256];

    res->status = status;
    snippet(a, text, sizeof text);
    if (status >= 200 && status < 300) {
        res->outcome = DELIVER_OK;
        res->error[0] = '\0';
    } else if (status >= 300 && status < 400) {
        char *location = NULL;

        curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location);
        res->outcome = DELIVER_REFUSED;
        snprintf(res->error, sizeof res->error, "HTTP %ld: a redirect%s%.200s, not followed",
                 status, location ? " to " : "", location ? location : "");
    } else {
        res->outcome = status == 408 || status == 425 || status == 429 || status >= 500
                           ? DELIVER_RETRY
                           : DELIVER_REFUSED;
        snprintf(res->error, sizeof res->error, "HTTP %ld%s%s", status, text[0] ? ": " : "",
                 text);
    }
}

static void send_http(const struct channel *c, const struct store_outbox *row, int64_t attempt,
                      const volatile bool *stop, struct deliver_result *res)
{
    char errbuf[CURL_ERROR_SIZE] = "", line[512], sig[PAYLOAD_SIGNATURE_LEN];
    struct curl_slist *hdrs = NULL;
    struct answer *a = calloc(1, sizeof *a);
    struct err err = { 0 };
    char *body = NULL;
    size_t len = 0;
    CURL *h = NULL;
    CURLcode rc;
    long status = 0;
    int made;

    if (!a) {
        res->outcome = DELIVER_RETRY;
        snprintf(res->error, sizeof res->error, "out of memory");
        return;
    }
    made = c->kind == CHANNEL_SLACK
               ? payload_slack(row->payload, row->delivery_id, &body, &len, &err)
               : payload_webhook(row->payload, row->delivery_id, c->name, &body, &len, &err);
    if (made < 0) {
        res->outcome = DELIVER_REFUSED;
        snprintf(res->error, sizeof res->error, "%s", err.msg);
        goto done;
    }
    if (!(h = curl_easy_init())) {
        res->outcome = DELIVER_RETRY;
        snprintf(res->error, sizeof res->error, "cannot start a transfer");
        goto done;
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    snprintf(line, sizeof line, "X-Chime-Delivery: %s", row->delivery_id);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "X-Chime-Event: %s", row->event);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "X-Chime-Attempt: %lld", (long long)attempt);
    hdrs = curl_slist_append(hdrs, line);
    if (c->secret) {
        payload_sign(c->secret, c->secret_len, body, len, sig);
        snprintf(line, sizeof line, "X-Chime-Signature: %s", sig);
        hdrs = curl_slist_append(hdrs, line);
    }
    for (size_t i = 0; i < c->n_headers; i++) {
        snprintf(line, sizeof line, "%s: %s", c->headers[i].name, c->headers[i].value);
        hdrs = curl_slist_append(hdrs, line);
    }
    set_common(h, c, stop, errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "chime/" CHIME_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_ABORTED_BY_CALLBACK && stop && *stop) {
        res->outcome = DELIVER_ABANDONED;
        snprintf(res->error, sizeof res->error, "the daemon is stopping");
    } else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && a->cut && status > 0)) {
        http_answer(h, status, a, res);
    } else {
        curl_failed(rc, errbuf, c, res);
        res->status = status;
    }
done:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(body);
    free(a);
}

static void send_mail(const struct channel *c, const struct store_outbox *row,
                      const volatile bool *stop, struct deliver_result *res)
{
    char errbuf[CURL_ERROR_SIZE] = "", addr[600];
    struct curl_slist *rcpt = NULL;
    struct upload u = { 0 };
    struct err err = { 0 };
    char *msg = NULL;
    size_t len = 0;
    CURL *h = NULL;
    CURLcode rc;
    long status = 0;

    if (payload_email(row->payload, row->delivery_id, c, row->updated_us, &msg, &len, &err) < 0) {
        res->outcome = DELIVER_REFUSED;
        snprintf(res->error, sizeof res->error, "%s", err.msg);
        return;
    }
    if (!(h = curl_easy_init())) {
        res->outcome = DELIVER_RETRY;
        snprintf(res->error, sizeof res->error, "cannot start a transfer");
        free(msg);
        return;
    }
    for (size_t i = 0; i < c->n_to; i++) {
        snprintf(addr, sizeof addr, "<%s>", c->to[i]);
        rcpt = curl_slist_append(rcpt, addr);
    }
    u.data = msg;
    u.len = len;
    set_common(h, c, stop, errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    snprintf(addr, sizeof addr, "<%s>", c->from);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    if (!strncasecmp(c->url, "smtp:", 5))
        curl_easy_setopt(h, CURLOPT_USE_SSL, c->starttls ? (long)CURLUSESSL_ALL
                                                         : (long)CURLUSESSL_TRY);
    if (c->username) {
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
    }
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    res->status = status;
    if (rc == CURLE_OK) {
        res->outcome = DELIVER_OK;
    } else if (rc == CURLE_ABORTED_BY_CALLBACK && stop && *stop) {
        res->outcome = DELIVER_ABANDONED;
        snprintf(res->error, sizeof res->error, "the daemon is stopping");
    } else {
        curl_failed(rc, errbuf, c, res);
        /* the server said no for good (550 no such mailbox, 554): do not insist */
        if (status >= 500 && status < 600 && res->outcome == DELIVER_RETRY)
            res->outcome = DELIVER_REFUSED;
        if (status) {
            size_t n = strlen(res->error);

            snprintf(res->error + n, sizeof res->error - n, " (SMTP %ld)", status);
        }
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    free(msg);
}

void deliver_send(const struct channel *c, const struct store_outbox *row, int64_t attempt,
                  const volatile bool *stop, struct deliver_result *res)
{
    memset(res, 0, sizeof *res);
    if (c->kind == CHANNEL_EMAIL)
        send_mail(c, row, stop, res);
    else
        send_http(c, row, attempt, stop, res);
}
