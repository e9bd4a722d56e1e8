/* Pins: a room's pinned message ids in a string map keyed by room id. The
 * store is the truth (pin_set, pins_list); this copy serves the room
 * object's `pins` without a store read per room object. */
#include "chat/chat_pins.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strmap.h"
#include "chat/chat_internal.h"
#include "chat/chat_room_admin.h"

struct room_pins {
	char *room_id; /* the map's key */
	char **ids;    /* newest pin first */
	size_t n;
};

static strmap pins; /* room id -> struct room_pins */
static int ready;

static struct room_pins *pins_of(const char *room_id, int create)
{
	if (!ready) {
		strmap_init(&pins, 0);
		ready = 1;
	}
	struct room_pins *p = strmap_get(&pins, room_id);
	if (p || !create)
		return p;
	if (!(p = calloc(1, sizeof *p)) || !(p->room_id = strdup(room_id)) ||
	    !(p->ids = calloc(CHAT_PINS_MAX, sizeof *p->ids)) ||
	    strmap_put(&pins, p->room_id, p) < 0) {
		if (p) {
			free(p->ids);
			free(p->room_id);
		}
		free(p);
		return NULL;
	}
	return p;
}

static int pin_index(const struct room_pins *p, const char *msg_id)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (strcmp(p->ids[i], msg_id) == 0)
			return (int)i;
	return -1;
}

/* Remembers msg_id as r's newest pin (at_end: as its oldest, for loading
 * the store's newest-first list). 0, or -1 when full or out of memory. */
static int remember(const char *room_id, const char *msg_id, int at_end)
{
	struct room_pins *p = pins_of(room_id, 1);
	if (!p)
		return -1;
	if (pin_index(p, msg_id) >= 0)
		return 0;
	if (p->n >= CHAT_PINS_MAX)
		return -1;
	char *id = strdup(msg_id);
	if (!id)
		return -1;
	if (at_end) {
		p->ids[p->n++] = id;
		return 0;
	}
	memmove(p->ids + 1, p->ids, p->n * sizeof *p->ids);
	p->ids[0] = id;
	p->n++;
	return 0;
}

/* Forgets msg_id; 1 if it was pinned. */
static int forget(const char *room_id, const char *msg_id)
{
	struct room_pins *p = pins_of(room_id, 0);
	int i = pin_index(p, msg_id);
	if (i < 0)
		return 0;
	free(p->ids[i]);
	memmove(p->ids + i, p->ids + i + 1, (p->n - (size_t)i - 1) * sizeof *p->ids);
	p->n--;
	return 1;
}

json_t *chat_pins_json(const struct room *r)
{
	json_t *a = json_array();
	struct room_pins *p = pins_of(r->id, 0);
	for (size_t i = 0; a && p && i < p->n; i++)
		json_array_append_new(a, json_string(p->ids[i]));
	return a;
}

void chat_pins_remote(const struct room *r, const char *msg_id, int on)
{
	if (!on)
		forget(r->id, msg_id);
	else if (remember(r->id, msg_id, 0) < 0)
		log_warn("cluster_pin", NULL,
		         "room %s: pin %s from another node not kept (full or no memory)", r->id,
		         msg_id);
}

static void broadcast_pin(room *r, const char *msg_id, int on, const user_rec *by)
{
	json_t *ev =
	    json_pack("{s:s, s:s, s:s, s:b}", "type", "pin", "room", r->id, "id", msg_id, "on", on);
	if (ev && by)
		json_object_set_new(ev, "user", proto_user(by));
	chat_broadcast_json(r, ev, NULL);
}

/* Who may pin in r: its may_pin setting (moderators by default), and in
 * a DM (which has neither) its members. */
static int may_pin(const room *r, const member *m)
{
	return chat_room_may_pin(r, m);
}

static void pin_written(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	room *r = room_by_id(op->room_id);
	const char *msg_id = json_string_value(json_object_get(op->req, "id"));
	int on = json_is_true(json_object_get(op->req, "on"));
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc,
			                 res->rc == PARLEY_ENOTFOUND
			                     ? "no such message"
			                     : "the pin could not be stored");
		chat_ws_op_free(op);
		return;
	}
	if (cl)
		chat_reply_ok(cl, op->rid);
	if (r && msg_id) {
		int changed = on ? (pin_index(pins_of(r->id, 0), msg_id) < 0 &&
		                    remember(r->id, msg_id, 0) == 0)
		                 : forget(r->id, msg_id);
		if (changed)
			broadcast_pin(r, msg_id, on, op->user);
	}
	chat_ws_op_free(op);
}

void chat_req_pin(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *msg_id;
	int on = 1;
	member *m;
	if (proto_get_str(req, "id", 1, PROTO_MAX_ID, &msg_id, err, sizeof err) < 0 ||
	    proto_get_bool(req, "on", 0, &on, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, pin_set)) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "this server's store cannot keep pins");
		return;
	}
	const char *why;
	if (chat_room_may_write(r, cl->user, 0, &why) != PARLEY_OK) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN, why);
		return;
	}
	if (!may_pin(r, m)) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
		                 "only moderators and owners may pin messages in this room");
		return;
	}
	struct room_pins *p = pins_of(r->id, 0);
	if (on && pin_index(p, msg_id) < 0 && p && p->n >= CHAT_PINS_MAX) {
		chat_reply_error(cl, rid, PARLEY_ETOOLARGE,
		                 "this room has 100 pinned messages already");
		return;
	}
	/* The reply's "on" is the request's, defaulted: kept on the op. */
	json_object_set_new(req, "on", json_boolean(on));
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	int rc = st->pin_set(self, r->id, msg_id, cl->user->id, on, 0, pin_written, op);
	if (rc != PARLEY_PENDING) {
		chat_reply_error(cl, rid, chat_store_refused(rc),
		                 rc == PARLEY_EINVAL ? "no such message" : "store unavailable");
		chat_ws_op_free(op);
	}
}

static void pins_listed(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	if (!cl) {
		chat_ws_op_free(op);
		return;
	}
	if (res->rc != PARLEY_OK) {
		chat_reply_error(cl, op->rid, res->rc, "the pins could not be read");
		chat_ws_op_free(op);
		return;
	}
	json_t *f = chat_history_reply(res, op->room_id, cl->user, 0);
	if (!f) {
		chat_reply_error(cl, op->rid, PARLEY_ENOMEM, "out of memory");
		chat_ws_op_free(op);
		return;
	}
	json_object_del(f, "more");
	json_object_set_new(f, "type", json_string("pins"));
	if (op->rid)
		json_object_set(f, "rid", op->rid);
	chat_send_json(cl, f);
	chat_ws_op_free(op);
}

void chat_req_pins(client *cl, json_t *req, json_t *rid)
{
	member *m;
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, pins_list)) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "this server's store cannot keep pins");
		return;
	}
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	int rc = st->pins_list(self, r->id, pins_listed, op);
	if (rc != PARLEY_PENDING) {
		chat_reply_error(cl, rid, chat_store_refused(rc), "store unavailable");
		chat_ws_op_free(op);
	}
}

struct load {
	void (*next)(void);
	void (*fail)(int ok);
};

static void pins_loaded(void *ud, const parley_store_result *res)
{
	struct load *l = ud;
	void (*next)(void) = l->next;
	void (*fail)(int) = l->fail;
	free(l);
	if (res->rc != PARLEY_OK) {
		log_error("chat_start", NULL, "cannot load pins: %s",
		          res->error ? res->error : proto_error_code(res->rc));
		fail(0);
		return;
	}
	/* Newest pin first, so each room's list is appended in order. */
	for (size_t i = 0; i < res->n_messages; i++)
		if (remember(res->messages[i].room_id, res->messages[i].id, 1) < 0)
			log_warn("chat_start", NULL,
			         "room %s: pin %s not loaded (full or no memory)",
			         res->messages[i].room_id, res->messages[i].id);
	next();
}

void chat_pins_load(void (*next)(void), void (*fail)(int ok))
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, pins_list)) {
		next();
		return;
	}
	struct load *l = malloc(sizeof *l);
	if (!l) {
		fail(0);
		return;
	}
	l->next = next;
	l->fail = fail;
	if (st->pins_list(self, NULL, pins_loaded, l) != PARLEY_PENDING) {
		free(l);
		fail(0);
	}
}

void chat_pins_deleted(room *r, const char *msg_id, const user_rec *by)
{
	if (r && msg_id && forget(r->id, msg_id))
		broadcast_pin(r, msg_id, 0, by);
}

static void pins_reread(void *ud, const parley_store_result *res)
{
	char *room_id = ud;
	room *r = room_by_id(room_id);
	struct room_pins *p = pins_of(room_id, 0);
	if (res->rc != PARLEY_OK) {
		log_warn("retention", NULL, "room %s: pins not re-read after expiry: %s", room_id,
		         res->error ? res->error : proto_error_code(res->rc));
	} else if (r && p) {
		/* Backwards: forget() moves the later ids down. */
		for (size_t i = p->n; i-- > 0;) {
			int kept = 0;
			for (size_t k = 0; k < res->n_messages && !kept; k++)
				kept = strcmp(res->messages[k].id, p->ids[i]) == 0;
			if (kept)
				continue;
			char *gone = strdup(p->ids[i]);
			if (gone && forget(room_id, gone))
				broadcast_pin(r, gone, 0, NULL);
			free(gone);
		}
	}
	free(room_id);
}

void chat_pins_pruned(room *r)
{
	struct room_pins *p = r ? pins_of(r->id, 0) : NULL;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!p || !p->n || !PARLEY_HAS(parley_store_vtable, st, pins_list))
		return;
	char *room_id = strdup(r->id);
	if (!room_id)
		return;
	if (st->pins_list(self, room_id, pins_reread, room_id) != PARLEY_PENDING) {
		log_warn("retention", NULL, "room %s: pins not re-read after expiry", room_id);
		free(room_id);
	}
}

void chat_pins_fini(void)
{
	if (!ready)
		return;
	size_t pos = 0;
	const char *key;
	struct room_pins *p;
	while ((p = strmap_next(&pins, &pos, &key))) {
		for (size_t i = 0; i < p->n; i++)
			free(p->ids[i]);
		free(p->ids);
		free(p->room_id);
		free(p);
	}
	strmap_free(&pins);
	ready = 0;
}
