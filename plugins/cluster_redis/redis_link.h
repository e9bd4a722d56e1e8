/* One hiredis asynchronous connection on the host's loop (through the
 * host's fd watchers and timers, never the raw loop), with AUTH on
 * connect and reconnect with a doubling backoff (0.1 s to 5 s). */
#ifndef CLUSTER_REDIS_LINK_H
#define CLUSTER_REDIS_LINK_H

#include <hiredis/async.h>
#include <parley/plugin.h>

#include "redis_url.h"

struct redis_link;

struct redis_link_ops {
	/* Connected (AUTH queued first): queue what the connection needs. */
	void (*connected)(void *ud, redisAsyncContext *ac);
	/* The connection was lost or could not be made; a retry is scheduled. */
	void (*lost)(void *ud, const char *why);
};

struct redis_link *redis_link_new(const parley_host *host, parley_ctx *ctx, const char *name,
                                  const struct redis_url *url, const struct redis_link_ops *ops,
                                  void *ud);
/* The live context, or NULL while down. */
redisAsyncContext *redis_link_ctx(struct redis_link *l);
/* Disconnects without reconnecting, and frees. */
void redis_link_free(struct redis_link *l);

#endif
