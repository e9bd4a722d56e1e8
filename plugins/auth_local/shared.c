/* The throttle's counts in the store (counter_add), so failures made on
 * every node of a cluster count together: a failure is counted in this
 * node's table and in the store, whose total (every node's) then raises
 * the table; a login first reads the store's counts of its account and
 * address into the table. Network keys (pressure) stay per node. Without
 * counter_add (an older store) the table counts alone, as before. */
#include <stdio.h>
#include <string.h>

#include "auth_local.h"

#define PREFIX "auth:"

static int shared_store(struct al *al, const parley_store_vtable **st, void **self)
{
	*st = al_store(al, self);
	return PARLEY_HAS(parley_store_vtable, *st, counter_add);
}

static void counter_name(const char *key, char *out, size_t size)
{
	snprintf(out, size, PREFIX "%s", key);
}

static void fail_counted(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;

	al->shared_in_flight--;
	if (res->rc == PARLEY_OK)
		throttle_observe(al->throttle, req->name, res->value, al->host->now_ms());
	else
		al->host->log(al->ctx, PARLEY_LOG_WARN, "throttle_store_failed",
		              "%s: %s (counted on this node only)", req->name,
		              res->error ? res->error : "store error");
	req_finish(req, PARLEY_OK, NULL);
}

int al_shared_fail(struct al *al, const char *key, int64_t now)
{
	const parley_store_vtable *st;
	void *self;
	char name[AL_SHARED_NAME_MAX];

	int counted = throttle_fail(al->throttle, key, now);
	if (!shared_store(al, &st, &self))
		return counted;
	struct al_req *req = req_new(al, NULL, NULL);
	if (!req)
		return counted;
	if (req_dup(req, &req->name, key) != PARLEY_OK) {
		req_free(req);
		return counted;
	}
	counter_name(key, name, sizeof name);
	if (st->counter_add(self, name, 1, al->cfg.window_s * 1000, now, fail_counted, req) !=
	    PARLEY_PENDING)
		req_free(req);
	else
		al->shared_in_flight++;
	return counted;
}

static void reset_done(void *ud, const parley_store_result *res)
{
	(void)res; /* a counter left behind only ends its window */
	req_finish(ud, PARLEY_OK, NULL);
}

void al_shared_reset(struct al *al, const char *key)
{
	const parley_store_vtable *st;
	void *self;
	char name[AL_SHARED_NAME_MAX];

	throttle_reset(al->throttle, key);
	if (!shared_store(al, &st, &self))
		return;
	struct al_req *req = req_new(al, NULL, NULL);
	if (!req)
		return;
	counter_name(key, name, sizeof name);
	if (st->counter_add(self, name, 0, 0, al->host->now_ms(), reset_done, req) !=
	    PARLEY_PENDING)
		req_free(req);
}

static void refresh_next(struct al_req *req);

static void refresh_seen(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;

	const char *key = req->shared_keys[req->shared_next - 1];
	/* The store's count is the cluster's: a lower one there (a login
	 * succeeded on another node, or the window ended) lowers this node's
	 * too, unless this node's own failures are still on their way there.
	 * A store that cannot answer leaves this node's own count in force. */
	if (res->rc == PARLEY_OK && al->shared_in_flight == 0)
		throttle_sync(al->throttle, key, res->value, al->host->now_ms());
	else if (res->rc == PARLEY_OK)
		throttle_observe(al->throttle, key, res->value, al->host->now_ms());
	refresh_next(req);
}

static void refresh_next(struct al_req *req)
{
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	char name[AL_SHARED_NAME_MAX];

	while (req->shared_next < AL_SHARED_KEYS && req->shared_keys[req->shared_next][0] &&
	       shared_store(al, &st, &self)) {
		counter_name(req->shared_keys[req->shared_next++], name, sizeof name);
		if (st->counter_add(self, name, 0, al->cfg.window_s * 1000, al->host->now_ms(),
		                    refresh_seen, req) == PARLEY_PENDING)
			return;
	}
	req->shared_then(req);
}

int al_shared_refresh(struct al_req *req, const char *key1, const char *key2,
                      void (*then)(struct al_req *req))
{
	const parley_store_vtable *st;
	void *self;

	if (!shared_store(req->al, &st, &self))
		return 0;
	snprintf(req->shared_keys[0], sizeof req->shared_keys[0], "%s", key1 ? key1 : "");
	snprintf(req->shared_keys[1], sizeof req->shared_keys[1], "%s", key2 ? key2 : "");
	req->shared_next = 0;
	req->shared_then = then;
	refresh_next(req);
	return 1;
}
