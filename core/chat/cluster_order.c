/* Per-room ordering of message deliveries across nodes; see
 * cluster_order.h. */
#include "chat/cluster_order.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/loop.h"
#include "chat/chat_internal.h"

#define REPAIR_BATCH 1000 /* messages per history call */
#define HOLE_TRIES   4    /* waits before a seq missing from the store too is skipped */

struct held_msg {
	struct held_msg *next;
	int64_t seq;
	sbuf *common, *own;
	char *author_id;
	char *mentions_json;
};

struct room_order {
	room *room;
	int64_t delivered;     /* every seq up to this one was delivered here */
	struct held_msg *held; /* sorted by seq, all > delivered */
	size_t n_held;
	ev_timer wait;
	int repairing;
	int store_gap;     /* the store had a later seq but not delivered + 1 */
	int64_t hole_seq;  /* the seq waited for since hole_since */
	double hole_since; /* loop time */
};

static metric *repaired_count;

void cluster_order_init(metric *repaired)
{
	repaired_count = repaired;
}

static void held_free(struct held_msg *h)
{
	sbuf_unref(h->common);
	if (h->own)
		sbuf_unref(h->own);
	free(h->author_id);
	free(h->mentions_json);
	free(h);
}

static void deliver(room *r, int64_t seq, sbuf *common, sbuf *own, const char *author_id,
                    const char *mentions_json)
{
	/* Every node counts every message's mentions once, as it delivers
	 * it: the counts are the same on each, whoever sent it where. */
	chat_count_mentions(r, seq, mentions_json);
	size_t n = 0;
	for (sub *s = r->subs; s; s = s->rnext) {
		int mine = own && author_id && s->client->user &&
		           strcmp(s->client->user->id, author_id) == 0;
		chat_deliver(s, mine ? own : common, seq);
		n++;
	}
	metric_add(core_metrics.deliveries, (double)n);
	if (seq > r->last_seq)
		r->last_seq = seq;
}

static void wait_fire(struct ev_loop *l, ev_timer *w, int revents);

int cluster_order_room(room *r)
{
	if (r->order)
		return 0;
	struct room_order *o = calloc(1, sizeof *o);
	if (!o)
		return -1;
	o->room = r;
	o->delivered = r->last_seq;
	ev_timer_init(&o->wait, wait_fire, CLUSTER_ORDER_WAIT, 0);
	o->wait.data = o;
	r->order = o;
	return 0;
}

/* Delivers the held messages that follow on; arms the wait for a gap. */
static void flush(struct room_order *o)
{
	while (o->held && o->held->seq <= o->delivered + 1) {
		struct held_msg *h = o->held;
		o->held = h->next;
		o->n_held--;
		if (h->seq == o->delivered + 1) {
			deliver(o->room, h->seq, h->common, h->own, h->author_id, h->mentions_json);
			o->delivered = h->seq;
		}
		held_free(h);
	}
	if (o->held && !o->repairing && !ev_is_active(&o->wait))
		ev_timer_start(loop_ev, &o->wait);
	if (!o->held && !o->store_gap)
		ev_timer_stop(loop_ev, &o->wait);
}

static void hold(struct room_order *o, int64_t seq, sbuf *common, sbuf *own, const char *author_id,
                 const char *mentions_json)
{
	if (o->n_held >= CLUSTER_ORDER_PENDING)
		return; /* the store has it: the repair will bring it */
	struct held_msg **p = &o->held;
	while (*p && (*p)->seq < seq)
		p = &(*p)->next;
	if (*p && (*p)->seq == seq)
		return;
	struct held_msg *h = calloc(1, sizeof *h);
	if (!h || (author_id && !(h->author_id = strdup(author_id))) ||
	    (mentions_json && !(h->mentions_json = strdup(mentions_json)))) {
		if (h)
			free(h->author_id);
		free(h);
		return;
	}
	h->seq = seq;
	h->common = sbuf_ref(common);
	h->own = own ? sbuf_ref(own) : NULL;
	h->next = *p;
	*p = h;
	o->n_held++;
}

void cluster_order_submit(room *r, int64_t seq, sbuf *common, sbuf *own, const char *author_id,
                          const char *mentions_json)
{
	if (!r->order && cluster_order_room(r) < 0)
		return;
	struct room_order *o = r->order;
	if (seq <= o->delivered)
		return; /* already delivered (the store's repair was first) */
	if (seq == o->delivered + 1 && !o->repairing) {
		deliver(r, seq, common, own, author_id, mentions_json);
		o->delivered = seq;
		flush(o);
		return;
	}
	hold(o, seq, common, own, author_id, mentions_json);
	flush(o);
}

/* ---- repair from the store ------------------------------------------- */

/* 1 when delivered + 1 has been missing for CLUSTER_ORDER_HOLE s (then it
 * is logged and skipped); next is the first seq present after it. */
static int hole_expired(struct room_order *o, int64_t next)
{
	double now = ev_now(loop_ev);
	if (o->hole_seq != o->delivered + 1) {
		o->hole_seq = o->delivered + 1;
		o->hole_since = now;
		return 0;
	}
	if (now - o->hole_since < CLUSTER_ORDER_HOLE)
		return 0;
	log_warn("cluster_repair", NULL, "room %s: seq %lld to %lld missing for %.0f s: skipped",
	         o->room->id, (long long)o->delivered + 1, (long long)next - 1, CLUSTER_ORDER_HOLE);
	o->hole_seq = 0;
	return 1;
}

struct repair_op {
	char *room_id;
};

static void start_repair(struct room_order *o);

static void repaired(void *ud, const parley_store_result *res)
{
	struct repair_op *op = ud;
	room *r = room_by_id(op->room_id);
	free(op->room_id);
	free(op);
	struct room_order *o = r ? r->order : NULL;
	if (!o)
		return;
	o->repairing = 0;
	if (res->rc != PARLEY_OK) {
		log_warn("cluster_repair", NULL, "room %s: the store did not answer: %s", r->id,
		         res->error ? res->error : "error");
		if (o->held)
			ev_timer_start(loop_ev, &o->wait); /* try again after the wait */
		return;
	}
	o->store_gap = 0;
	size_t i = 0;
	for (; i < res->n_messages; i++) {
		const parley_message *m = &res->messages[i];
		if (m->seq <= o->delivered)
			continue;
		/* An append elsewhere took delivered + 1 and has not committed:
		 * wait for it, unless it stays missing (its node died between
		 * the counter and the insert; the store tombstones it later). */
		if (m->seq > o->delivered + 1 && !hole_expired(o, m->seq))
			break;
		sbuf *common = chat_frame(chat_message_event(m, 0));
		sbuf *own = m->client_id ? chat_frame(chat_message_event(m, 1)) : NULL;
		if (common) {
			deliver(r, m->seq, common, own, m->user_id, m->mentions_json);
			metric_add(repaired_count, 1);
		}
		o->delivered = m->seq;
		if (common)
			sbuf_unref(common);
		if (own)
			sbuf_unref(own);
	}
	if (i < res->n_messages) {
		o->store_gap = 1;
		ev_timer_start(loop_ev, &o->wait);
		return;
	}
	if (res->more) {
		start_repair(o);
		return;
	}
	/* The store has nothing after `delivered` yet a held message is
	 * further on: the same wait, then the same skip. */
	if (o->held && o->held->seq > o->delivered + 1 && hole_expired(o, o->held->seq))
		o->delivered = o->held->seq - 1;
	flush(o);
}

static void start_repair(struct room_order *o)
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	struct repair_op *op = calloc(1, sizeof *op);
	if (!op || !(op->room_id = strdup(o->room->id))) {
		free(op);
		return;
	}
	ev_timer_stop(loop_ev, &o->wait);
	o->repairing = 1;
	if (st->history(self, o->room->id, 0, o->delivered, REPAIR_BATCH, repaired, op) !=
	    PARLEY_PENDING) {
		o->repairing = 0;
		free(op->room_id);
		free(op);
	}
}

static void wait_fire(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	struct room_order *o = w->data;
	if (!o->repairing && (o->store_gap || (o->held && o->held->seq > o->delivered + 1)))
		start_repair(o);
}

void cluster_order_repair(room *r)
{
	if (!r->order && cluster_order_room(r) < 0)
		return;
	if (!r->order->repairing)
		start_repair(r->order);
}

void cluster_order_forget(room *r)
{
	struct room_order *o = r->order;
	if (!o)
		return;
	ev_timer_stop(loop_ev, &o->wait);
	while (o->held) {
		struct held_msg *h = o->held;
		o->held = h->next;
		held_free(h);
	}
	free(o);
	r->order = NULL;
}

void cluster_order_fini(void)
{
	size_t pos = 0;
	for (room *r; (r = rooms_next(&pos));)
		cluster_order_forget(r);
}
