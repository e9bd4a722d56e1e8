/* SMTP delivery of the queue (smtp mode): each queued file is uploaded
 * through libcurl on the host's shared multi; success deletes the file,
 * failure retries after retry_base·2^(n-1) s, and after `retries` failures
 * the file moves to failed/ with its reason and mail_failed is counted. */
#ifndef EMAIL_OUTBOX_H
#define EMAIL_OUTBOX_H

#include <parley/plugin.h>

#include "config.h"

#define EMAIL_MAX_INFLIGHT 4                 /* SMTP transactions at once */
#define EMAIL_MESSAGE_MAX  (4 * 1024 * 1024) /* bytes of one queued file */

struct outbox;

/* cfg is borrowed for the outbox's life. NULL on ENOMEM. */
struct outbox *outbox_new(const parley_host *host, parley_ctx *ctx, const struct email_config *cfg);
/* Queues the delivery of <spool>/queue/<id>.eml (already durable). */
int outbox_add(struct outbox *ob, const char *id);
/* Adds every file left in the queue (a restart); returns how many. */
int outbox_recover(struct outbox *ob);
/* Stops timers and transfers; the files stay queued for the next start. */
void outbox_free(struct outbox *ob);

#endif
