/* Real mode: one ev_timer per timer. Fake mode: a list sorted by due time
 * (then creation order), fired by sclock_advance. */
#include "lua/script_clock.h"

#include <ev.h>
#include <math.h>
#include <stdlib.h>

#include "base/loop.h"

struct sclock_timer {
	ev_timer w; /* real mode */
	int64_t due_ms;
	uint64_t order;
	void (*cb)(void *arg);
	void *arg;
	struct sclock_timer *next; /* fake mode list */
};

static int fake;
static int64_t fake_now;
static uint64_t next_order;
static struct sclock_timer *fake_list;

int64_t sclock_now_ms(void)
{
	return fake ? fake_now : (int64_t)loop_now_ms();
}

int sclock_is_fake(void)
{
	return fake;
}

void sclock_use_fake(int64_t start_ms)
{
	fake = 1;
	fake_now = start_ms;
}

void sclock_reset(void)
{
	fake = 0;
	while (fake_list) {
		struct sclock_timer *t = fake_list;
		fake_list = t->next;
		free(t);
	}
}

static void real_fired(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	struct sclock_timer *t = (struct sclock_timer *)w;
	void (*cb)(void *) = t->cb;
	void *arg = t->arg;
	free(t);
	cb(arg);
}

struct sclock_timer *sclock_start(double after_s, void (*cb)(void *arg), void *arg)
{
	struct sclock_timer *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	if (!(after_s >= 0) || !isfinite(after_s))
		after_s = 0;
	t->cb = cb;
	t->arg = arg;
	t->order = next_order++;
	if (!fake) {
		ev_timer_init(&t->w, real_fired, after_s, 0);
		ev_timer_start(loop_ev, &t->w);
		return t;
	}
	t->due_ms = fake_now + (int64_t)llround(after_s * 1000.0);
	struct sclock_timer **pp = &fake_list;
	while (*pp && ((*pp)->due_ms < t->due_ms ||
	               ((*pp)->due_ms == t->due_ms && (*pp)->order < t->order)))
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	return t;
}

void sclock_stop(struct sclock_timer *t)
{
	if (!t)
		return;
	if (!fake) {
		ev_timer_stop(loop_ev, &t->w);
		free(t);
		return;
	}
	for (struct sclock_timer **pp = &fake_list; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
}

void sclock_advance(double seconds, void (*settle)(void))
{
	if (!fake || !(seconds >= 0))
		return;
	int64_t until = fake_now + (int64_t)llround(seconds * 1000.0);
	while (fake_list && fake_list->due_ms <= until) {
		struct sclock_timer *t = fake_list;
		fake_list = t->next;
		if (t->due_ms > fake_now)
			fake_now = t->due_ms;
		void (*cb)(void *) = t->cb;
		void *arg = t->arg;
		free(t);
		cb(arg);
		if (settle)
			settle();
	}
	fake_now = until;
}
