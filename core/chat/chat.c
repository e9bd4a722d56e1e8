/* The chat layer's sessions: the WebSocket application (open, text,
 * closed), request dispatch, authentication with resume, presence, the
 * broadcast helpers, and start-up (rooms, members and users loaded from the
 * store; the public room `general` created on the first start).
 *
 * Everything here runs on the loop thread. Asynchronous store and auth
 * calls carry the connection id, never a client pointer: a session that
 * closed meanwhile is not found and the result is dropped. */
#include "chat/cluster_shared.h"
#include "chat/chat.h"

#include <stdlib.h>
#include <string.h>

#include "host/auth.h"
#include "chat/chat_internal.h"
#include "chat/chat_retention.h"
#include "chat/chat_room_admin.h"
#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "base/serving_state.h"
#include "chat/chat_bot_post.h"
#include "chat/chat_directory.h"
#include "chat/chat_internal.h"
#include "chat/chat_notify.h"
#include "chat/chat_pins.h"
#include "chat/mention_counts.h"
#include "chat/presence.h"
#include "chat/chat_threads.h"
#include "chat/cluster_bus.h"
#include "chat/command_reply.h"
#include "chat/rate.h"
#include "host/auth.h"
#include "host/hooks.h"
#include "host/plugin_host.h"

#define CHAT_LOG_CTX 160
/* An auth frame's token: room for an identity provider's JWT (auth_jwt
 * takes up to 8 KiB and refuses longer ones itself, with its own message). */
#define CHAT_TOKEN_MAX       16384
#define CHAT_START_ERROR_LEN 384

/* Set when the server starts stopping: leaving users are not announced
 * offline (every socket is closing). */
static int stopping;

static struct {
	void (*start_done)(int ok);
	int started;
	char start_error[CHAT_START_ERROR_LEN]; /* why the last load failed */
} chat;

/* ---------------------------------------------------------------- */
/* Sending                                                            */
/* ---------------------------------------------------------------- */

void chat_send_json(client *cl, json_t *frame)
{
	if (!frame)
		return;
	size_t len;
	char *s = proto_dump(frame, &len);
	json_decref(frame);
	if (!s)
		return;
	ws_send_text(cl->c, s, len);
	free(s);
}

void chat_reply_error(client *cl, json_t *rid, int rc, const char *message)
{
	if (rc == PARLEY_EINVAL)
		metric_add(core_metrics.bad_requests, 1);
	/* A built-in command's request failed: the send that typed it hears. */
	json_t *send_rid = NULL;
	int command = command_reply_failed(cl, rid, &send_rid);
	json_t *e = proto_error(command ? send_rid : rid, proto_error_code(rc), message);
	json_decref(send_rid);
	int64_t retry = proto_error_retry_ms(rc);
	if (e && retry > 0)
		json_object_set_new(e, "retry_after_ms", json_integer(retry));
	chat_send_json(cl, e);
}

void chat_reply_ok(client *cl, json_t *rid)
{
	json_t *ack;
	if (command_reply_ack(cl, rid, &ack)) {
		chat_send_json(cl, ack);
		return;
	}
	json_t *ok = json_pack("{s:s}", "type", "ok");
	if (ok && rid)
		json_object_set(ok, "rid", rid);
	chat_send_json(cl, ok);
}

static void hold_frame(struct resume_room *rr, sbuf *frame, int64_t seq)
{
	struct held_frame *h = malloc(sizeof *h);
	if (!h)
		return;
	h->next = NULL;
	h->frame = sbuf_ref(frame);
	h->seq = seq;
	if (rr->held_tail)
		rr->held_tail->next = h;
	else
		rr->held = h;
	rr->held_tail = h;
}

void chat_deliver(sub *s, sbuf *frame, int64_t seq)
{
	client *cl = s->client;
	if (seq > 0) {
		for (struct resume_room *rr = cl->resuming; rr; rr = rr->next) {
			if (rr->room == s->room) {
				hold_frame(rr, frame, seq);
				return;
			}
		}
		/* The resume's replay may have sent it already. */
		if (seq <= s->delivered_seq)
			return;
		s->delivered_seq = seq;
	}
	ws_send_frame(cl->c, frame);
}

sub *chat_sub_of(client *cl, const room *r)
{
	for (sub *s = cl->subs; s; s = s->cnext)
		if (s->room == r)
			return s;
	return NULL;
}

size_t chat_broadcast(room *r, sbuf *frame, int64_t seq, const user_rec *skip_user)
{
	size_t n = 0;
	for (sub *s = r->subs; s; s = s->rnext) {
		if (skip_user && s->client->user == skip_user)
			continue;
		chat_deliver(s, frame, seq);
		n++;
	}
	return n;
}

sbuf *chat_frame(json_t *ev)
{
	if (!ev)
		return NULL;
	size_t len;
	char *s = proto_dump(ev, &len);
	json_decref(ev);
	if (!s)
		return NULL;
	sbuf *frame = ws_frame_text(s, len);
	free(s);
	return frame;
}

void chat_broadcast_json(room *r, json_t *ev, const user_rec *skip_user)
{
	if (!ev)
		return;
	size_t len;
	char *s = proto_dump(ev, &len);
	const char *type = json_string_value(json_object_get(ev, "type"));
	if (s)
		cluster_publish_room_event(r, type, s, len, skip_user);
	json_decref(ev);
	sbuf *frame = s ? ws_frame_text(s, len) : NULL;
	free(s);
	if (!frame)
		return;
	chat_broadcast(r, frame, 0, skip_user);
	sbuf_unref(frame);
}

void chat_publish_json(room *r, json_t *ev)
{
	if (!ev)
		return;
	size_t len;
	char *s = proto_dump(ev, &len);
	if (s)
		cluster_publish_room_event(r, json_string_value(json_object_get(ev, "type")), s,
		                           len, NULL);
	json_decref(ev);
	free(s);
}

static void send_user_text(user_rec *u, const room *r, const char *s, size_t len,
                           const client *except)
{
	for (client *cl = u->clients; cl; cl = cl->user_next)
		if (cl != except && !(r && !scope_allows(cl->scope, SCOPE_READ, r->id)))
			ws_send_text(cl->c, s, len);
}

void chat_send_user_local(user_rec *u, const room *r, json_t *ev, const client *except)
{
	if (!ev)
		return;
	size_t len;
	char *s = proto_dump(ev, &len);
	json_decref(ev);
	if (s)
		send_user_text(u, r, s, len, except);
	free(s);
}

/* To u's sessions here, then to the other nodes through publish. */
static void send_user_everywhere(user_rec *u, const room *r, json_t *ev, const client *except,
                                 void (*publish)(const user_rec *, const room *, const char *,
                                                 size_t))
{
	if (!ev)
		return;
	size_t len;
	char *s = proto_dump(ev, &len);
	json_decref(ev);
	if (!s)
		return;
	send_user_text(u, r, s, len, except);
	publish(u, r, s, len);
	free(s);
}

void chat_send_user(user_rec *u, const room *r, json_t *ev, const client *except)
{
	send_user_everywhere(u, r, ev, except, cluster_publish_user_event);
}

void chat_send_user_state(user_rec *u, const room *r, json_t *ev, const client *except)
{
	send_user_everywhere(u, r, ev, except, cluster_publish_user_state);
}

void chat_subscribe_user(user_rec *u, room *r)
{
	/* A token that may not read r gets none of its events. */
	for (client *cl = u->clients; cl; cl = cl->user_next)
		if (scope_allows(cl->scope, SCOPE_READ, r->id))
			room_subscribe(r, cl, &cl->subs);
}

void chat_unsubscribe_user(user_rec *u, room *r)
{
	for (client *cl = u->clients; cl; cl = cl->user_next)
		room_unsubscribe(r, cl, &cl->subs);
}

struct ws_op *chat_ws_op_new(client *cl, json_t *req, json_t *rid, room *r)
{
	struct ws_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->conn_id = cl->conn_id;
	op->rid = json_incref(rid);
	op->req = json_incref(req);
	op->user = cl->user;
	if (r && !(op->room_id = strdup(r->id))) {
		chat_ws_op_free(op);
		return NULL;
	}
	return op;
}

void chat_ws_op_free(struct ws_op *op)
{
	json_decref(op->rid);
	json_decref(op->req);
	free(op->room_id);
	free(op);
}

client *chat_ws_op_client(const struct ws_op *op)
{
	conn *c = conn_find(op->conn_id);
	return c && c->proto == CONN_WS ? c->app : NULL;
}

/* ---------------------------------------------------------------- */
/* Store helpers                                                      */
/* ---------------------------------------------------------------- */

const parley_store_vtable *chat_store(void **self)
{
	return plugins_store(self);
}

int chat_store_refused(int rc)
{
	return rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : PARLEY_EUNAVAIL;
}

int64_t chat_max_text(void)
{
	return server_config ? server_config->limits.max_text : CONFIG_MAX_TEXT_DEFAULT;
}

void chat_hook_init(struct chat_hook *h, int event, const user_rec *u, const room *r)
{
	memset(h, 0, sizeof *h);
	h->args.struct_size = sizeof h->args;
	h->args.event = event;
	if (u) {
		users_view(u, &h->user);
		h->args.user = &h->user;
	}
	if (r) {
		room_view(r, &h->room);
		h->args.room = &h->room;
	}
}

int64_t chat_rate_take(user_rec *u, enum rate_action a)
{
	if (!server_config)
		return 0;
	const struct rate_spec *spec = strcmp(u->role, "bot") == 0
	                                   ? &server_config->limits.bot_rates[a]
	                                   : &server_config->limits.rates[a];
	struct rate_spec share;
	return rate_take(&u->rates[a], cluster_rate_share(u, spec, &share), ev_now(loop_ev));
}

void chat_reply_rate_limited(client *cl, json_t *rid, int64_t retry_after_ms)
{
	char message[96];
	snprintf(message, sizeof message, "too many requests: try again in %lld ms",
	         (long long)retry_after_ms);
	json_t *e = proto_error(rid, proto_error_code(PARLEY_ERATELIMIT), message);
	if (e)
		json_object_set_new(e, "retry_after_ms", json_integer(retry_after_ms));
	chat_send_json(cl, e);
}

void chat_store_log(const parley_store_result *res)
{
	if (res->rc < 0)
		log_error("store_error", NULL, "background store write failed: %s (rc %d)",
		          res->error ? res->error : proto_error_code(res->rc), res->rc);
}

/* The memberships in res (only only_user's when set) into the cache. With
 * announce (an account met after start: made by the admin CLI while this
 * node served), the rooms' sessions here are told of each membership the
 * cache lacked, as a join would have, so their member counts are right.
 * With a cluster bus every node does so for its own sessions when it first
 * reads the account (its first sign-in anywhere says "Y"); the cache's
 * absent-to-present step makes it once per node, and joined_told keeps a
 * racing real join's member_joined (from the bus, or finishing here) from
 * telling the same sessions twice. */
static void load_memberships_of(const parley_store_result *res, const char *only_user, int announce)
{
	for (size_t i = 0; i < res->n_members; i++) {
		const parley_member *pm = &res->members[i];
		if (only_user && strcmp(pm->user_id, only_user) != 0)
			continue;
		room *r = room_by_id(pm->room_id);
		user_rec *u = users_by_id(pm->user_id);
		enum room_role role = ROLE_MEMBER;
		room_role_parse(pm->role, &role);
		if (!r || !u)
			continue;
		int fresh = room_member(r, u->id) == NULL;
		member *m = room_add_member(r, u, role, pm->read_seq);
		if (!m || !fresh || !announce)
			continue;
		m->joined_told = 1;
		sbuf *frame = chat_frame(json_pack("{s:s, s:s, s:o}", "type", "member_joined",
		                                   "room", r->id, "user", proto_user(u)));
		if (frame) {
			chat_broadcast(r, frame, 0, u);
			sbuf_unref(frame);
		}
	}
}

user_rec *chat_user_from(const parley_user *pu)
{
	return users_upsert(pu);
}

/* ---------------------------------------------------------------- */
/* Presence                                                           */
/* ---------------------------------------------------------------- */

void chat_req_presence(client *cl, json_t *req, json_t *rid)
{
	const char *status = json_string_value(json_object_get(req, "status"));
	if (!status || (strcmp(status, "away") != 0 && strcmp(status, "online") != 0)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "status: expected away or online");
		return;
	}
	cl->away = !strcmp(status, "away");
	presence_changed(cl->user);
	if (rid)
		chat_reply_ok(cl, rid);
}

/* ---------------------------------------------------------------- */
/* Sessions                                                           */
/* ---------------------------------------------------------------- */

static void *chat_open(conn *c, const struct http_request *req)
{
	client *cl = calloc(1, sizeof *cl);
	if (!cl)
		return NULL;
	cl->c = c;
	cl->conn_id = c->id;
	int from_cookie = 0;
	cl->upgrade_token = auth_request_token(req, &from_cookie);
	return cl; /* ws.c counts the session in parley_ws_sessions */
}

static void detach_user(client *cl)
{
	user_rec *u = cl->user;
	if (!u)
		return;
	for (client **p = &u->clients; *p; p = &(*p)->user_next) {
		if (*p == cl) {
			*p = cl->user_next;
			break;
		}
	}
	u->n_clients--;
	cl->user = NULL;
	if (u->n_clients == 0)
		cluster_user_sessions(u, 0);
	if (!stopping)
		presence_changed(u);
}

static void free_resume(client *cl)
{
	struct resume_room *rr = cl->resuming;
	while (rr) {
		struct resume_room *next = rr->next;
		struct held_frame *h = rr->held;
		while (h) {
			struct held_frame *hn = h->next;
			sbuf_unref(h->frame);
			free(h);
			h = hn;
		}
		free(rr);
		rr = next;
	}
	cl->resuming = NULL;
}

static void chat_closed(conn *c)
{
	client *cl = c->app;
	if (!cl)
		return;
	room_unsubscribe_all(&cl->subs);
	detach_user(cl);
	free_resume(cl);
	command_reply_free_all(cl);
	free(cl->upgrade_token);
	scope_free(cl->scope);
	free(cl);
	c->app = NULL;
}

/* ---------------------------------------------------------------- */
/* Authentication                                                     */
/* ---------------------------------------------------------------- */

struct auth_op {
	struct auth_op *next_parked; /* in parked_auths */
	uint64_t conn_id;
	json_t *rid;
	json_t *resume;
	user_rec *user;
	struct scope *scope;
	char token_hash[TOKEN_HASH_HEX + 1];
};

static void auth_op_free(struct auth_op *op)
{
	json_decref(op->rid);
	json_decref(op->resume);
	scope_free(op->scope);
	free(op);
}

static json_t *ready_frame(client *cl, json_t *rid)
{
	const struct config *cfg = server_config;
	user_rec *u = cl->user;
	json_t *rooms = json_array();
	for (size_t i = 0; i < u->n_memberships; i++)
		if (!scope_hides_room(cl->scope, u->memberships[i]->room->id))
			json_array_append_new(rooms, proto_room(u->memberships[i]->room, u));
	json_t *f =
	    json_pack("{s:s, s:{s:s, s:s, s:s, s:s}, s:o, s:{s:s, s:s, s:{s:I, s:I, s:I}}}", "type",
	              "ready", "user", "id", u->id, "name", u->name, "display_name",
	              u->display_name, "role", u->role, "rooms", rooms, "server", "version",
	              PARLEY_VERSION, "name", cfg && cfg->server_name ? cfg->server_name : "parley",
	              "limits", "max_text", (json_int_t)chat_max_text(), "max_frame",
	              (json_int_t)(cfg ? cfg->limits.max_frame : 65536), "max_upload",
	              (json_int_t)(cfg ? cfg->limits.max_upload : 0));
	if (f)
		json_object_set_new(f, "presence", presence_of_peers(u));
	if (f && rid)
		json_object_set(f, "rid", rid);
	return f;
}

static void finish_auth(struct auth_op *op)
{
	conn *c = conn_find(op->conn_id);
	client *cl = c ? c->app : NULL;
	if (!cl) {
		auth_op_free(op);
		return;
	}
	cl->authing = 0;
	user_rec *u = op->user;
	cl->user = u;
	cl->user_next = u->clients;
	u->clients = cl;
	u->n_clients++;
	ws_set_authenticated(c);
	cl->scope = op->scope;
	op->scope = NULL;
	memcpy(cl->token_hash, op->token_hash, sizeof cl->token_hash);
	/* A token that may not read gets no room's events. */
	for (size_t i = 0; i < u->n_memberships; i++)
		if (scope_allows(cl->scope, SCOPE_READ, u->memberships[i]->room->id))
			room_subscribe(u->memberships[i]->room, cl, &cl->subs);
	log_info("ws_auth", NULL, "conn %llu authenticated as %s (%s)",
	         (unsigned long long)cl->conn_id, u->name, u->id);
	chat_send_json(cl, ready_frame(cl, op->rid));
	if (u->n_clients == 1)
		cluster_user_sessions(u, 1);
	presence_changed(u);
	if (op->resume && json_is_object(op->resume))
		chat_resume(cl, op->resume);
	auth_op_free(op);
}

/* Sign-ins of accounts whose #general join is still being stored (an
 * account made by this very sign-in): their ready frame waits for it, so
 * it lists #general whichever store call comes back first. */
static struct auth_op *parked_auths;

static void park_auth(struct auth_op *op)
{
	op->next_parked = parked_auths;
	parked_auths = op;
}

static void unpark_auths_of(const user_rec *u)
{
	struct auth_op **pp = &parked_auths;
	while (*pp) {
		struct auth_op *op = *pp;
		if (op->user == u) {
			*pp = op->next_parked;
			finish_auth(op);
		} else {
			pp = &op->next_parked;
		}
	}
}

static void free_parked_auths(void)
{
	while (parked_auths) {
		struct auth_op *op = parked_auths;
		parked_auths = op->next_parked;
		auth_op_free(op);
	}
}

/* chat_user_load's steps: the account, then its memberships. */
static void user_load_members(void *ud, const parley_store_result *res)
{
	char *user_id = ud;
	if (res->rc == PARLEY_OK) {
		load_memberships_of(res, user_id, 1);
		user_rec *u = users_by_id(user_id);
		if (u) {
			u->memberships_loaded = 1;
			/* Online on another node before this one knew them. */
			presence_remote_changed(u);
		}
	}
	free(user_id);
}

static void user_load_account(void *ud, const parley_store_result *res)
{
	char *user_id = ud;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (res->rc != PARLEY_OK || !res->n_users || !chat_user_from(&res->users[0]) ||
	    st->members_list(self, NULL, user_load_members, user_id) != PARLEY_PENDING)
		free(user_id);
}

void chat_user_load(const char *user_id)
{
	user_rec *known = users_by_id(user_id);
	if (known && known->memberships_loaded)
		return;
	char *id = strdup(user_id);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!id)
		return;
	/* Known only as a room's new member (a bus join): its other rooms,
	 * e.g. the #general the CLI put it in, are read now. */
	int rc = known ? st->members_list(self, NULL, user_load_members, id)
	               : st->user_get(self, id, NULL, user_load_account, id);
	if (rc != PARLEY_PENDING)
		free(id);
}

/* chat_user_find's steps: by id, else by name, then the memberships. */
struct user_find {
	char *who;
	int by_name;
	char *found_id;
	chat_user_found done;
	void *ud;
};

static void user_find_end(struct user_find *f, user_rec *u)
{
	f->done(f->ud, u);
	free(f->found_id);
	free(f->who);
	free(f);
}

static void user_find_members(void *ud, const parley_store_result *res)
{
	struct user_find *f = ud;
	user_rec *u = users_by_id(f->found_id);
	if (res->rc == PARLEY_OK && u) {
		load_memberships_of(res, u->id, 1);
		u->memberships_loaded = 1;
	}
	user_find_end(f, res->rc == PARLEY_OK ? u : NULL);
}

static void user_find_account(void *ud, const parley_store_result *res);

/* Asks the store by id, else (or when a store refuses it as an id) by
 * name. 1 when an answer is on its way. */
static int user_find_ask(struct user_find *f)
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!f->by_name) {
		if (st->user_get(self, f->who, NULL, user_find_account, f) == PARLEY_PENDING)
			return 1;
		f->by_name = 1;
	}
	return st->user_get(self, NULL, f->who, user_find_account, f) == PARLEY_PENDING;
}

static void user_find_account(void *ud, const parley_store_result *res)
{
	struct user_find *f = ud;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!f->by_name && (res->rc != PARLEY_OK || !res->n_users)) {
		f->by_name = 1;
		if (!user_find_ask(f))
			user_find_end(f, NULL);
		return;
	}
	user_rec *u = res->rc == PARLEY_OK && res->n_users ? chat_user_from(&res->users[0]) : NULL;
	if (!u || u->memberships_loaded) {
		user_find_end(f, u);
		return;
	}
	if (!(f->found_id = strdup(u->id))) {
		user_find_end(f, NULL);
		return;
	}
	if (st->members_list(self, NULL, user_find_members, f) != PARLEY_PENDING)
		user_find_end(f, NULL);
}

int chat_user_find(const char *id_or_name, chat_user_found done, void *ud)
{
	const char *who = id_or_name[0] == '@' ? id_or_name + 1 : id_or_name;
	user_rec *u = users_by_id(who);
	if (!u)
		u = users_by_name(who);
	if (u) {
		done(ud, u);
		return PARLEY_OK;
	}
	struct user_find *f = calloc(1, sizeof *f);
	if (!f || !(f->who = strdup(who))) {
		free(f);
		return PARLEY_ENOMEM;
	}
	f->done = done;
	f->ud = ud;
	if (!user_find_ask(f)) {
		free(f->who);
		free(f);
		return PARLEY_EUNAVAIL;
	}
	return PARLEY_OK;
}

static void members_reloaded(void *ud, const parley_store_result *res)
{
	struct auth_op *op = ud;
	if (res->rc == PARLEY_OK) {
		load_memberships_of(res, op->user->id, 1);
		op->user->memberships_loaded = 1;
	}
	finish_auth(op);
}

static void auth_done(void *ud, const parley_auth_result *res)
{
	struct auth_op *op = ud;
	conn *c = conn_find(op->conn_id);
	client *cl = c ? c->app : NULL;
	if (!cl) {
		auth_op_free(op);
		return;
	}
	if (res->rc != PARLEY_OK || !res->user) {
		cl->authing = 0;
		int rc =
		    res->rc == PARLEY_OK || res->rc == PARLEY_PASS ? PARLEY_EUNAUTHORIZED : res->rc;
		chat_reply_error(cl, op->rid, rc,
		                 res->message ? res->message : "invalid or expired token");
		auth_op_free(op);
		return;
	}
	if (res->user->disabled) {
		cl->authing = 0;
		chat_reply_error(cl, op->rid, PARLEY_EFORBIDDEN, "account disabled");
		auth_op_free(op);
		return;
	}
	int bad_scope = 0;
	op->scope = scope_parse(res->scopes, res->rooms_json, &bad_scope);
	if (bad_scope)
		log_warn("ws_auth", NULL, "conn %llu: a token with malformed scopes may do nothing",
		         (unsigned long long)op->conn_id);
	op->user = chat_user_from(res->user);
	if (!op->user) {
		cl->authing = 0;
		chat_reply_error(cl, op->rid, PARLEY_ENOMEM, "out of memory");
		auth_op_free(op);
		return;
	}
	if (op->user->joins_pending) {
		park_auth(op);
		return;
	}
	if (!op->user->memberships_loaded) {
		/* An account met after start (made by the admin CLI, found in the
		 * directory): its memberships were written by another process or
		 * before we knew it; read them once. The other nodes of a cluster
		 * read them too on this "Y", each telling its own sessions. */
		cluster_user_known(op->user);
		void *self;
		const parley_store_vtable *st = chat_store(&self);
		if (st && st->members_list(self, NULL, members_reloaded, op) == PARLEY_PENDING)
			return;
	}
	finish_auth(op);
}

static void req_auth(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *token = NULL;
	if (cl->user) {
		chat_reply_error(cl, rid, PARLEY_ECONFLICT, "already authenticated");
		return;
	}
	if (cl->authing) {
		chat_reply_error(cl, rid, PARLEY_ECONFLICT, "authentication in progress");
		return;
	}
	if (proto_get_str(req, "token", 0, CHAT_TOKEN_MAX, &token, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	json_t *resume = json_object_get(req, "resume");
	if (resume && !json_is_object(resume) && !json_is_null(resume)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "resume: expected an object");
		return;
	}
	if (!token)
		token = cl->upgrade_token;
	if (!token) {
		chat_reply_error(cl, rid, PARLEY_EUNAUTHORIZED,
		                 "token: missing (no token, bearer header or session cookie)");
		return;
	}
	struct auth_op *op = calloc(1, sizeof *op);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	op->conn_id = cl->conn_id;
	op->rid = json_incref(rid);
	op->resume = json_incref(resume);
	cl->authing = 1;
	token_hash_hex(token, op->token_hash);
	int rc = auth_token(token, auth_done, op);
	if (rc != PARLEY_PENDING && rc != PARLEY_OK) {
		cl->authing = 0;
		chat_reply_error(cl, rid, rc, "authentication unavailable");
		auth_op_free(op);
	}
}

/* ---------------------------------------------------------------- */
/* Dispatch                                                           */
/* ---------------------------------------------------------------- */

typedef void (*req_fn)(client *cl, json_t *req, json_t *rid);

/* Each request with the scope a bot token needs for it, and the per-user
 * rate limit it counts against (RATE_ACTIONS: none). */
static const struct {
	const char *type;
	req_fn fn;
	unsigned scope;
	enum rate_action rate;
} handlers[] = {
    {"send", chat_req_send, SCOPE_POST, RATE_SEND},
    {"edit", chat_req_edit, SCOPE_POST, RATE_ACTIONS},
    {"delete", chat_req_delete, SCOPE_POST, RATE_ACTIONS},
    {"react", chat_req_react, SCOPE_REACT, RATE_REACT},
    {"history", chat_req_history, SCOPE_READ, RATE_ACTIONS},
    {"rooms", chat_req_rooms, SCOPE_READ, RATE_ACTIONS},
    {"create_room", chat_req_create_room, SCOPE_POST, RATE_CREATE_ROOM},
    {"join", chat_req_join, SCOPE_READ, RATE_JOIN},
    {"leave", chat_req_leave, SCOPE_READ, RATE_ACTIONS},
    {"invite", chat_req_invite, SCOPE_MODERATE, RATE_ACTIONS},
    {"kick", chat_req_kick, SCOPE_MODERATE, RATE_ACTIONS},
    {"topic", chat_req_topic, SCOPE_MODERATE, RATE_ACTIONS},
    {"dm", chat_req_dm, SCOPE_POST, RATE_ACTIONS},
    {"members", chat_req_members, SCOPE_READ, RATE_ACTIONS},
    {"typing", chat_req_typing, SCOPE_POST, RATE_ACTIONS},
    {"read", chat_req_read, SCOPE_READ, RATE_ACTIONS},
    {"edits", chat_req_edits, SCOPE_MODERATE, RATE_ACTIONS},
    {"room_retention", chat_req_room_retention, SCOPE_MODERATE, RATE_ACTIONS},
    {"pin", chat_req_pin, SCOPE_MODERATE, RATE_ACTIONS},
    {"pins", chat_req_pins, SCOPE_READ, RATE_ACTIONS},
    {"notify", chat_req_notify, SCOPE_READ, RATE_ACTIONS},
    {"search", chat_req_search, SCOPE_READ, RATE_ACTIONS},
    {"presence", chat_req_presence, SCOPE_READ, RATE_ACTIONS},
    {"users", chat_req_users, SCOPE_READ, RATE_ACTIONS},
    {"threads", chat_req_threads, SCOPE_READ, RATE_ACTIONS},
    {"thread_follow", chat_req_thread_follow, SCOPE_READ, RATE_ACTIONS},
    {"thread_read", chat_req_thread_read, SCOPE_READ, RATE_ACTIONS},
    {"room_settings", chat_req_room_settings, SCOPE_MODERATE, RATE_ACTIONS},
    {"delete_room", chat_req_delete_room, SCOPE_MODERATE, RATE_ACTIONS},
    {"member_role", chat_req_member_role, SCOPE_MODERATE, RATE_ACTIONS},
};

/* A scoped token's request outside its scope or rooms: refused before it
 * reaches the handler. A room outside its list is as unknown to it as a
 * private room is to a non-member. */
static int scope_refused(client *cl, json_t *req, json_t *rid, unsigned action)
{
	if (!cl->scope)
		return 0;
	json_t *room_v = json_object_get(req, "room");
	const char *room_id = json_is_string(room_v) ? json_string_value(room_v) : NULL;
	if (scope_hides_room(cl->scope, room_id)) {
		chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "no such room");
		return 1;
	}
	if (!scope_allows(cl->scope, action, NULL)) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN, "outside the token's scope");
		return 1;
	}
	return 0;
}

/* Before the chat state is loaded (the store not answering yet): every
 * frame but ping is refused with `unavailable` and when to try again. */
static void reply_not_serving(client *cl, json_t *rid, const char *why)
{
	char message[SERVING_WHY_LEN + 64];
	snprintf(message, sizeof message, "the server is not serving yet: %s", why);
	json_t *e = proto_error(rid, proto_error_code(PARLEY_EUNAVAIL), message);
	if (e)
		json_object_set_new(e, "retry_after_ms", json_integer(serving_state_retry_ms()));
	chat_send_json(cl, e);
}

static void chat_text(conn *c, const char *data, size_t len)
{
	client *cl = c->app;
	if (!cl)
		return;
	struct proto_frame f;
	char err[PROTO_ERR_LEN];
	if (proto_decode(data, len, &f, err, sizeof err) < 0) {
		chat_reply_error(cl, f.rid, PARLEY_EINVAL, err);
		proto_frame_free(&f);
		return;
	}
	char why[SERVING_WHY_LEN];
	if (strcmp(f.type, "ping") != 0 && !serving_state_is_ready(why, sizeof why)) {
		reply_not_serving(cl, f.rid, why);
		proto_frame_free(&f);
		return;
	}
	if (strcmp(f.type, "auth") == 0) {
		req_auth(cl, f.root, f.rid);
		proto_frame_free(&f);
		return;
	}
	if (strcmp(f.type, "ping") == 0) {
		json_t *pong = json_pack("{s:s}", "type", "pong");
		if (pong && f.rid)
			json_object_set(pong, "rid", f.rid);
		chat_send_json(cl, pong);
		proto_frame_free(&f);
		return;
	}
	req_fn fn = NULL;
	unsigned need = 0;
	enum rate_action rate = RATE_ACTIONS;
	for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
		if (strcmp(handlers[i].type, f.type) == 0) {
			fn = handlers[i].fn;
			need = handlers[i].scope;
			rate = handlers[i].rate;
		}
	int64_t wait_ms = 0;
	if (!fn) {
		snprintf(err, sizeof err, "type: unknown frame type \"%.40s\"", f.type);
		chat_reply_error(cl, f.rid, PARLEY_EINVAL, err);
	} else if (!cl->user) {
		chat_reply_error(cl, f.rid, PARLEY_EUNAUTHORIZED, "authenticate first");
	} else if (scope_refused(cl, f.root, f.rid, need)) {
		/* replied */
	} else if (rate != RATE_ACTIONS && (wait_ms = chat_rate_take(cl->user, rate)) > 0) {
		chat_reply_rate_limited(cl, f.rid, wait_ms);
	} else {
		fn(cl, f.root, f.rid);
	}
	proto_frame_free(&f);
}

const struct ws_app chat_ws_app = {
    .open = chat_open,
    .text = chat_text,
    .closed = chat_closed,
};

/* ---------------------------------------------------------------- */
/* Users made elsewhere                                               */
/* ---------------------------------------------------------------- */

/* A new account's #general join is stored (or failed: the account is
 * still usable, it joins by hand): its waiting sign-ins go on. */
static void general_joined(void *ud, int rc, const char *message)
{
	char *id = ud;
	user_rec *u = users_by_id(id);
	if (rc != PARLEY_OK)
		log_warn("room_join_failed", NULL, "new account %s not added to %s: %s", id,
		         CHAT_GENERAL, message ? message : chat_error_code(rc));
	free(id);
	if (u && u->joins_pending && --u->joins_pending == 0)
		unpark_auths_of(u);
}

void chat_user_created(const parley_user *pu)
{
	user_rec *u = chat_user_from(pu);
	if (!u)
		return;
	u->memberships_loaded = 1; /* made here: it has none but what we add */
	room *general = room_by_name(CHAT_GENERAL);
	char *id = general && !room_member(general, u->id) ? strdup(u->id) : NULL;
	if (id) {
		u->joins_pending++;
		chat_add_member(general, u, ROLE_MEMBER, general_joined, id);
	}
	struct chat_hook h;
	chat_hook_init(&h, PARLEY_HOOK_USER_CREATED, NULL, NULL);
	h.args.user = pu;
	hooks_run(&h.args, NULL, NULL);
}

struct revoke_args {
	const char *user_id;   /* NULL: anyone's */
	const char *only_hash; /* the one session whose connections go; may be NULL */
	const char *keep_hash; /* a session whose connections stay; may be NULL */
};

static void revoke_one(conn *c, void *arg)
{
	const struct revoke_args *r = arg;
	client *cl = c->proto == CONN_WS ? c->app : NULL;
	if (!cl || !cl->user || (r->user_id && strcmp(cl->user->id, r->user_id) != 0))
		return;
	if ((r->only_hash && strcmp(cl->token_hash, r->only_hash) != 0) ||
	    (r->keep_hash && strcmp(cl->token_hash, r->keep_hash) == 0))
		return;
	ws_close(c, WS_CLOSE_UNAUTHORIZED, "session ended");
}

void chat_user_revoked_local(const char *user_id)
{
	user_rec *u = users_by_id(user_id);
	struct revoke_args r = {.user_id = user_id};
	if (u)
		u->disabled = 1;
	conn_foreach(revoke_one, &r);
}

void chat_user_revoked(const char *user_id)
{
	chat_user_revoked_local(user_id);
	cluster_publish_sessions("revoked", user_id, NULL);
}

void chat_user_sessions_revoked_local(const char *user_id, const char *keep_hash)
{
	struct revoke_args r = {.user_id = user_id, .keep_hash = keep_hash};
	conn_foreach(revoke_one, &r);
}

void chat_user_sessions_revoked(const char *user_id, const char *keep_token)
{
	char keep[TOKEN_HASH_HEX + 1];
	if (keep_token)
		token_hash_hex(keep_token, keep);
	chat_user_sessions_revoked_local(user_id, keep_token ? keep : NULL);
	cluster_publish_sessions("sessions", user_id, keep_token ? keep : NULL);
}

void chat_sessions_end_local(const char *user_id, const char *token_hash)
{
	struct revoke_args r = {.user_id = user_id, .only_hash = token_hash};
	conn_foreach(revoke_one, &r);
}

void chat_sessions_end(const char *user_id, const char *token_hash)
{
	chat_sessions_end_local(user_id, token_hash);
	cluster_publish_sessions("end", user_id, token_hash);
}

static void user_revoked_op(const char *user_id)
{
	chat_user_revoked(user_id);
}

/* ---------------------------------------------------------------- */
/* Start-up                                                           */
/* ---------------------------------------------------------------- */

static void start_finished(int ok)
{
	if (ok && cluster_bus_start() < 0)
		ok = 0;
	chat.started = ok;
	if (!ok && !chat.start_error[0])
		snprintf(chat.start_error, sizeof chat.start_error,
		         "cannot load the chat state (pins or notification levels) from the store");
	if (chat.start_done)
		chat.start_done(ok);
}

/* Logs a failed start-up load and reports the start failed; 1 if so. */
static int load_failed(const parley_store_result *res, const char *what)
{
	if (res->rc == PARLEY_OK)
		return 0;
	const char *why = res->error ? res->error : proto_error_code(res->rc);
	log_error("chat_start", NULL, "cannot load %s: %s", what, why);
	snprintf(chat.start_error, sizeof chat.start_error, "cannot load %s: %s", what, why);
	start_finished(0);
	return 1;
}

static void general_created(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc != PARLEY_OK || !res->n_rooms) {
		const char *why = res->error ? res->error : proto_error_code(res->rc);
		log_error("chat_start", NULL, "cannot create the room %s: %s", CHAT_GENERAL, why);
		snprintf(chat.start_error, sizeof chat.start_error, "cannot create the room %s: %s",
		         CHAT_GENERAL, why);
		start_finished(0);
		return;
	}
	room *g = room_upsert(&res->rooms[0]);
	if (!g) {
		start_finished(0);
		return;
	}
	log_info("room_created", NULL, "created the public room %s (%s)", g->name, g->id);
	start_finished(1);
}

static void ensure_general(void)
{
	if (room_by_name(CHAT_GENERAL)) {
		start_finished(1);
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	parley_room pr = {
	    .name = CHAT_GENERAL, .kind = "public", .topic = "", .created_ts = loop_now_ms()};
	if (st->room_create(self, &pr, NULL, general_created, NULL) != PARLEY_PENDING)
		start_finished(0);
}

static void load_room_settings(void)
{
	chat_room_settings_load(ensure_general, start_finished);
}

static void load_notify_levels(void)
{
	chat_notify_load(load_room_settings, start_finished);
}

static void load_pins(void)
{
	chat_pins_load(load_notify_levels, start_finished);
}

static void members_loaded(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (load_failed(res, "members"))
		return;
	load_memberships_of(res, NULL, 0);
	chat_mentions_load(load_pins);
}

static void rooms_loaded(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (load_failed(res, "rooms"))
		return;
	for (size_t i = 0; i < res->n_rooms; i++)
		room_upsert(&res->rooms[i]);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->members_list(self, NULL, members_loaded, NULL) != PARLEY_PENDING)
		start_finished(0);
}

static void users_loaded(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (load_failed(res, "users"))
		return;
	for (size_t i = 0; i < res->n_users; i++) {
		user_rec *u = users_upsert(&res->users[i]);
		if (u)
			u->memberships_loaded = 1; /* members_loaded reads them all next */
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->rooms_list(self, rooms_loaded, NULL) != PARLEY_PENDING)
		start_finished(0);
}

static int user_online_op(const char *user_id)
{
	user_rec *u = users_by_id(user_id);
	return u && u->n_clients > 0;
}

static const struct plugin_core_ops core_ops = {
    .send_message = chat_bot_send,
    .command = chat_command_register,
    .command_reply = chat_command_reply,
    .user_created = chat_user_created,
    .user_revoked = user_revoked_op,
    .user_online = user_online_op,
};

int chat_start(void (*done)(int ok))
{
	chat.start_done = done;
	chat.start_error[0] = '\0';
	users_init();
	rooms_init();
	plugins_set_core_ops(&core_ops);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!st) {
		log_error("chat_start", NULL, "no store provider");
		return -1;
	}
	if (st->users_list(self, users_loaded, NULL) != PARLEY_PENDING)
		return -1;
	return 0;
}

int chat_start_again(void)
{
	/* What the failed attempt loaded goes: the next one loads it all. */
	chat_pins_fini();
	chat_notify_fini();
	rooms_fini();
	users_fini();
	return chat_start(chat.start_done);
}

const char *chat_start_error(void)
{
	return chat.start_error[0] ? chat.start_error : "cannot load the chat state from the store";
}

static void shutdown_one(conn *c, void *arg)
{
	(void)arg;
	if (c->proto == CONN_WS)
		ws_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
}

void chat_shutdown(void)
{
	stopping = 1;
	conn_foreach(shutdown_one, NULL);
}

void chat_fini(void)
{
	free_parked_auths();
	chat_commands_fini();
	chat_send_fini();
	chat_pins_fini();
	chat_notify_fini();
	cluster_bus_fini();
	rooms_fini();
	users_fini();
}

const char *chat_error_code(int rc)
{
	return proto_error_code(rc);
}

int chat_error_status(int rc)
{
	return proto_error_status(rc);
}

int64_t chat_error_retry_ms(int rc)
{
	return proto_error_retry_ms(rc);
}
