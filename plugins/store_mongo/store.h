/* The plugin's state, shared by its files. The loop thread owns it, except
 * what lanes.c and health.c guard with their own locks. */
#ifndef STORE_MONGO_STORE_H
#define STORE_MONGO_STORE_H

#include <stdint.h>

#include <parley/plugin.h>

struct lanes;
struct health;
struct op;
struct dbconn;
struct _mongoc_client_pool_t;
struct _mongoc_uri_t;

struct store_config {
	const char *uri; /* the config's string, valid while the config is */
	const char *database;
	const char *write_concern; /* "majority" or a number of nodes */
	int journal;
	int pool_max;
	int timeout_s;
	int hole_after_s; /* a seq empty this long is an abandoned hole */
};

struct store {
	const parley_host *host;
	parley_ctx *ctx;
	struct store_config cfg;
	char *database; /* copies: the config's strings live until fini only */
	struct _mongoc_uri_t *uri;
	struct _mongoc_client_pool_t *pool;
	struct lanes *lanes;
	struct health *health;
	/* One for init, one per operation not yet finished: the state outlives
	 * fini while completions are still on their way back to the loop. */
	int refs;
	int calls; /* queued on a lane, done() not run yet (lanes.c, calls.c) */
	int stopped;
	char why[256]; /* ready()'s answer */
	parley_metric *m_ops, *m_unavailable;
};

/* Loop thread, for vtable calls in other files (search.c, pins.c,
 * notify.c): a fresh op for exec, or NULL when stopping (the call answers
 * EUNAVAIL); then queues it on the lane of key (NULL: lane 0) and returns
 * PENDING, or an error after freeing it (ENOMEM when an argument copy
 * failed). */
struct op *store_op_begin(void *self, const char *name,
                          int (*exec)(struct dbconn *c, struct op *op), parley_store_done done,
                          void *ud);
int store_op_submit(struct op *op, const char *key);

/* Loop thread: drops one reference; the last frees the store. */
void store_unref(struct store *st);

/* Any thread: logs through the loop (host->log is loop-only): the line is
 * copied and posted. */
void store_log(struct store *st, int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
