/* Unread mentions loaded at start; see mention_counts.h. */
#include "chat/mention_counts.h"

#include <jansson.h>
#include <stdlib.h>

#include "base/log.h"
#include "chat/chat_internal.h"

struct load {
	void (*next)(void);
};

/* One {"room","user","mentions","seq"} entry; 1 when it applied. */
static int apply(json_t *v)
{
	room *r = room_by_id(json_string_value(json_object_get(v, "room")));
	const char *user_id = json_string_value(json_object_get(v, "user"));
	json_t *n = json_object_get(v, "mentions"), *seq = json_object_get(v, "seq");
	member *mb = r && user_id ? room_member(r, user_id) : NULL;
	if (!mb || !json_is_integer(n) || json_integer_value(n) < 0)
		return 0;
	mb->mentions = json_integer_value(n);
	/* The messages counted are here already: the cluster's ordering starts
	 * after them (cluster_order_room), so none is counted again when the
	 * bus or its repair brings it. */
	if (json_is_integer(seq) && json_integer_value(seq) > r->last_seq)
		r->last_seq = json_integer_value(seq);
	return 1;
}

static void counts_loaded(void *ud, const parley_store_result *res)
{
	struct load *l = ud;
	void (*next)(void) = l->next;
	free(l);
	json_t *list = res->rc == PARLEY_OK && res->text ? json_loads(res->text, 0, NULL) : NULL;
	if (!json_is_array(list)) {
		log_warn("chat_start", NULL, "cannot load unread mentions (counts start at 0): %s",
		         res->rc != PARLEY_OK && res->error ? res->error : "malformed list");
		json_decref(list);
		next();
		return;
	}
	size_t i, applied = 0;
	json_t *v;
	json_array_foreach(list, i, v) applied += (size_t)apply(v);
	log_info("mentions_loaded", NULL, "unread mentions loaded for %zu memberships", applied);
	json_decref(list);
	next();
}

void chat_mentions_load(void (*next)(void))
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	struct load *l =
	    PARLEY_HAS(parley_store_vtable, st, mentions_unread) ? malloc(sizeof *l) : NULL;
	if (!l) {
		next();
		return;
	}
	l->next = next;
	if (st->mentions_unread(self, counts_loaded, l) != PARLEY_PENDING) {
		free(l);
		log_warn("chat_start", NULL, "cannot load unread mentions: the store refused");
		next();
	}
}
