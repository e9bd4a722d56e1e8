/* The throttle's counts in the store (counter_add), so failures made on
 * every node of a cluster count together: a failure is counted in this
 * node's table and in the store, whose total (every node's) then raises
 * the table; a login first reads the store's counts of its account and
 * address into the table. Network keys (pressure) stay per node. Without
 * counter_add (an older store) the table counts alone, as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_local.h"

#define PREFIX "auth:"

static int shared_store(struct al *al, const parley_store_vtable **st, void **self)
{
	/* The admin CLI is no network client: its refusals count nowhere. */
	if (al->host->is_admin_command(al->ctx))
		return 0;
	*st = al_store(al, self);
	return PARLEY_HAS(parley_store_vtable, *st, counter_add);
}

static void counter_name(const char *key, char *out, size_t size)
{
	snprintf(out, size, PREFIX "%s", key);
}

/* A count or a reset on its way to the store. It holds the plugin's
 * shared state, not a request: the store may answer after fini (its
 * queue drains then), when the state says the plugin is gone. */
struct shared_call {
	struct al_shared *sh;
	char key[THROTTLE_KEY_MAX + 1];
};

struct al_shared {
	struct al *al; /* NULL after fini */
	int refs;      /* the plugin's, and one per call on its way */
};

static struct al_shared *shared_of(struct al *al)
{
	if (!al->shared && (al->shared = calloc(1, sizeof *al->shared))) {
		al->shared->al = al;
		al->shared->refs = 1;
	}
	return al->shared;
}

static void shared_unref(struct al_shared *sh)
{
	if (--sh->refs == 0)
		free(sh);
}

void al_shared_fini(struct al *al)
{
	if (!al->shared)
		return;
	al->shared->al = NULL;
	shared_unref(al->shared);
	al->shared = NULL;
}

static void fail_counted(void *ud, const parley_store_result *res)
{
	struct shared_call *call = ud;
	struct al *al = call->sh->al;

	if (al) {
		al->shared_in_flight--;
		al->shared_gen++;
		if (res->rc == PARLEY_OK)
			throttle_observe(al->throttle, call->key, res->value, al->host->now_ms());
		else
			al->host->log(al->ctx, PARLEY_LOG_WARN, "throttle_store_failed",
			              "%s: %s (counted on this node only)", call->key,
			              res->error ? res->error : "store error");
	}
	shared_unref(call->sh);
	free(call);
}

static void reset_done(void *ud, const parley_store_result *res)
{
	struct shared_call *call = ud;
	(void)res; /* a counter left behind only ends its window */
	shared_unref(call->sh);
	free(call);
}

/* Sends delta (0 with window 0: a reset) for key; 1 when on its way. */
static int shared_send(struct al *al, const char *key, int64_t delta, int64_t window_ms,
                       int64_t now, parley_store_done done)
{
	const parley_store_vtable *st;
	void *self;
	char name[AL_SHARED_NAME_MAX];
	struct al_shared *sh;
	struct shared_call *call;

	if (!shared_store(al, &st, &self) || !(sh = shared_of(al)) ||
	    !(call = calloc(1, sizeof *call)))
		return 0;
	call->sh = sh;
	snprintf(call->key, sizeof call->key, "%s", key);
	counter_name(key, name, sizeof name);
	if (st->counter_add(self, name, delta, window_ms, now, done, call) != PARLEY_PENDING) {
		free(call);
		return 0;
	}
	sh->refs++;
	return 1;
}

int al_shared_fail(struct al *al, const char *key, int64_t now)
{
	int counted = throttle_fail(al->throttle, key, now);
	if (shared_send(al, key, 1, al->cfg.window_s * 1000, now, fail_counted)) {
		al->shared_in_flight++;
		al->shared_gen++;
	}
	return counted;
}

void al_shared_reset(struct al *al, const char *key)
{
	throttle_reset(al->throttle, key);
	shared_send(al, key, 0, 0, al->host->now_ms(), reset_done);
}

static void refresh_next(struct al_req *req);

static void refresh_seen(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;

	const char *key = req->shared_keys[req->shared_next - 1];
	/* The store's count is the cluster's: a lower one there (a login
	 * succeeded on another node, or the window ended) lowers this node's
	 * too, unless this node's own failures are still on their way there
	 * or were counted while the read was under way: the read may come
	 * from a snapshot older than that count (store_sqlite reads on its
	 * pool, beside the writer), and would undo it. A store that cannot
	 * answer leaves this node's own count in force. */
	if (res->rc == PARLEY_OK && al->shared_in_flight == 0 && al->shared_gen == req->shared_gen)
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
		req->shared_gen = al->shared_gen;
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
