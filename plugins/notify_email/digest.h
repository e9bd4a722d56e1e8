/* Offline mention and DM digests. The message hook notes every message
 * that mentions someone, or is a DM to someone, who has no connection on
 * this node; the first such note starts a timer of digest_delay seconds
 * for that person. When it fires and they are still offline, one e-mail
 * gathers everything noted since, unless their settings turned digests
 * off, they have no address, or the account is disabled or a bot. Notes
 * from rooms where the person's notification level is "none" (the
 * store's notify_list, read when the timer fires) are left out; with
 * none left, no mail.
 *
 * Pending notes live in memory: a restart drops them (the messages stay
 * unread in the chat, with their mention badges). */
#ifndef EMAIL_DIGEST_H
#define EMAIL_DIGEST_H

#include <parley/plugin.h>

struct digest;

/* Sends one rendered notification; trusted lets *_html variables through
 * unescaped (values the plugin built and escaped itself). */
typedef int (*digest_send_fn)(void *em, const parley_notify_msg *msg, int trusted,
                              parley_notify_done done, void *ud);

struct digest *digest_new(const parley_host *host, parley_ctx *ctx, long delay_s,
                          digest_send_fn send, void *em);
/* Registers the message hook; PARLEY_OK or an error. */
int digest_start(struct digest *d);
void digest_free(struct digest *d);

#endif
