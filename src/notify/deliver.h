/* deliver.h: one delivery attempt of one notification, over the wire
 * (libcurl): a webhook or Slack POST, or an email over SMTP.
 *
 * Every attempt is bounded: the channel's connect and total timeouts, no
 * redirect followed (a 3xx is an answer, not a pointer), at most
 * DELIVER_READ_MAX bytes of the answer read, only the schemes of the
 * channel's kind. It blocks for up to the channel's timeout: call it from a
 * deliverer thread, never from the loop. STOP (may be NULL) is polled
 * during the transfer; when it turns true the attempt is abandoned. */
#ifndef CHIME_DELIVER_H
#define CHIME_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

struct channel;
struct store_outbox;

#define DELIVER_READ_MAX 4096   /* bytes of an answer kept (the rest is not read) */

enum deliver_outcome {
    DELIVER_OK,                 /* 2xx, or the mail server took it */
    DELIVER_RETRY,              /* worth another attempt: 5xx, 408, 429, timeouts, refused */
    DELIVER_REFUSED,            /* not worth it: other 4xx, 3xx, a bad address */
    DELIVER_ABANDONED,          /* STOP turned true */
};

struct deliver_result {
    enum deliver_outcome outcome;
    long status;                /* HTTP or SMTP code; 0: none */
    char error[512];            /* why, for the outbox; "" on success */
};

/* Attempt ATTEMPT (from 1) of ROW to channel C. */
void deliver_send(const struct channel *c, const struct store_outbox *row, int64_t attempt,
                  const volatile bool *stop, struct deliver_result *res);

/* curl_global_init(), once, before threads (main or start-up). */
void deliver_global_init(void);

#endif
