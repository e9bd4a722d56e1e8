/* parley.every and keyed parley.timer once per cluster: each tick asks the
 * store for the timer's
 * lease (holder: this process) and runs the function only when this node
 * holds it. The holder renews it at every tick, for two intervals and a
 * margin, so it keeps the timer while it lives and ticks; the others'
 * ticks find it held and skip. A holder that stops lets it lapse, and the
 * next tick of another node takes it over. A one-shot timer with a key
 * (parley.timer(secs, fn, {once = key})) takes a lease named by the key
 * for a day: every node that scheduled it fires it, one runs it. Event
 * handlers need none of this: they run where the event happened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "host/plugin_host.h"
#include "lua/script_internal.h"

#define LEASE_MARGIN_MS 5000
#define HOLDER_MAX      128
/* A one-shot's lease outlives every node's copy of the timer (they fire
 * within the clock skew of each other), so no second node takes it. */
#define ONCE_TTL_MS (24 * 3600 * 1000LL)

struct timer_lease_call {
	struct script_timer *st; /* NULL once the timer is gone */
	void (*run)(struct script_timer *st);
	void (*skip)(struct script_timer *st); /* not run here (may be NULL) */
};

static char holder[HOLDER_MAX];

static const char *this_node(void)
{
	if (!holder[0]) {
		char host[64] = "host";
		gethostname(host, sizeof host - 1);
		host[sizeof host - 1] = '\0';
		snprintf(holder, sizeof holder, "%s:%ld", host, (long)getpid());
	}
	return holder;
}

void timer_lease_name(struct script *s, struct script_timer *st)
{
	snprintf(st->lease, sizeof st->lease, "script:%s:every:%lldms:%u", s->spec.name,
	         (long long)(st->repeat * 1000), ++s->n_every);
}

int timer_lease_once_name(struct script *s, struct script_timer *st, const char *key)
{
	int n = snprintf(st->lease, sizeof st->lease, "script:%s:once:%s", s->spec.name, key);
	if (n < 0 || (size_t)n >= sizeof st->lease) {
		st->lease[0] = '\0';
		return -1;
	}
	return 0;
}

static void leased(void *ud, const parley_store_result *res)
{
	struct timer_lease_call *call = ud;
	struct script_timer *st = call->st;
	void (*run)(struct script_timer *) = call->run;
	void (*skip)(struct script_timer *) = call->skip;
	free(call);
	if (!st)
		return;
	st->leasing = NULL;
	if (res->rc == PARLEY_OK && !st->s->disabled && !st->s->retired) {
		run(st);
		return;
	}
	if (res->rc != PARLEY_OK && res->rc != PARLEY_ECONFLICT)
		/* Not run: on a store that cannot answer, every node would. */
		log_warn("script_timer_lease", NULL, "script %s: %s: tick skipped",
		         st->s->spec.name, res->error ? res->error : "store error");
	if (skip)
		skip(st);
}

int timer_lease_run(struct script_timer *st, void (*run)(struct script_timer *st),
                    void (*skip)(struct script_timer *st))
{
	void *self;
	const parley_store_vtable *vt = plugins_store(&self);
	if (!st->lease[0] || sclock_is_fake() || !PARLEY_HAS(parley_store_vtable, vt, lease))
		return 0;
	if (st->leasing) /* the store has not answered the last tick yet */
		return 1;
	struct timer_lease_call *call = calloc(1, sizeof *call);
	if (!call)
		return 1;
	*call = (struct timer_lease_call){.st = st, .run = run, .skip = skip};
	int64_t ttl = st->repeat > 0 ? (int64_t)(st->repeat * 2000) + LEASE_MARGIN_MS : ONCE_TTL_MS;
	st->leasing = call;
	if (vt->lease(self, st->lease, this_node(), ttl, 0, leased, call) != PARLEY_PENDING) {
		st->leasing = NULL;
		free(call);
	}
	return 1;
}

void timer_lease_forget(struct script_timer *st)
{
	if (st->leasing)
		st->leasing->st = NULL;
	st->leasing = NULL;
}
