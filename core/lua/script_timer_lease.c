/* parley.every once per cluster: each tick asks the store for the timer's
 * lease (holder: this process) and runs the function only when this node
 * holds it. The holder renews it at every tick, for two intervals and a
 * margin, so it keeps the timer while it lives and ticks; the others'
 * ticks find it held and skip. A holder that stops lets it lapse, and the
 * next tick of another node takes it over. Event handlers need none of
 * this: they run where the event happened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "host/plugin_host.h"
#include "lua/script_internal.h"

#define LEASE_MARGIN_MS 5000
#define HOLDER_MAX      128

struct timer_lease_call {
	struct script_timer *st; /* NULL once the timer is gone */
	void (*run)(struct script_timer *st);
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

static void leased(void *ud, const parley_store_result *res)
{
	struct timer_lease_call *call = ud;
	struct script_timer *st = call->st;
	void (*run)(struct script_timer *) = call->run;
	free(call);
	if (!st)
		return;
	st->leasing = NULL;
	if (res->rc == PARLEY_OK) {
		if (!st->s->disabled && !st->s->retired)
			run(st);
	} else if (res->rc != PARLEY_ECONFLICT) {
		/* Not run: on a store that cannot answer, every node would. */
		log_warn("script_timer_lease", NULL, "script %s: %s: tick skipped",
		         st->s->spec.name, res->error ? res->error : "store error");
	}
}

int timer_lease_run(struct script_timer *st, void (*run)(struct script_timer *st))
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
	*call = (struct timer_lease_call){.st = st, .run = run};
	int64_t ttl = (int64_t)(st->repeat * 2000) + LEASE_MARGIN_MS;
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
