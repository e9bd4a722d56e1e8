/* The send path shared by WebSocket `send`, HTTP POST
 * /api/rooms/{id}/messages, bots and scripts: the rules of send_rules.c
 * (text, mute, commands, hooks) → attachments → store append → ack → one
 * shared frame per broadcast → message hooks. */
#include <stdlib.h>
#include <string.h>

#include "base/loop.h"
#include "base/metrics.h"
#include "chat/chat.h"
#include "chat/chat_attachments.h"
#include "chat/chat_builtins.h"
#include "chat/chat_internal.h"
#include "chat/chat_threads.h"
#include "chat/command_dedup.h"
#include "chat/chat_room_admin.h"
#include "chat/cluster_bus.h"
#include "chat/cluster_order.h"
#include "chat/cluster_shared.h"
#include "chat/mention_all.h"
#include "chat/mutes.h"
#include "chat/send_rules.h"
#include "chat/thread_args.h"
#include "host/hooks.h"
#include "host/plugin_host.h"
#include "net/ws.h"

json_t *chat_message_event(const parley_message *m, int with_client_id)
{
	return chat_message_event_in(m, NULL, with_client_id);
}

json_t *chat_message_event_in(const parley_message *m, const parley_thread_info *t,
                              int with_client_id)
{
	json_t *body = proto_message(m, with_client_id);
	chat_thread_fields(body, t);
	json_t *o = json_pack("{s:s}", "type", "message");
	if (!body || !o || json_object_update(o, body) < 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(body);
	return o;
}

json_t *chat_ack(const char *client_id, const parley_message *m, int duplicate, int command)
{
	json_t *ack = json_pack("{s:s}", "type", "ack");
	if (!ack)
		return NULL;
	if (client_id)
		json_object_set_new(ack, "client_id", json_string(client_id));
	if (command || !m) {
		json_object_set_new(ack, "command", json_true());
		json_object_set_new(ack, "ts", json_integer(loop_now_ms()));
		return ack;
	}
	json_object_set_new(ack, "id", json_string(m->id));
	json_object_set_new(ack, "seq", json_integer(m->seq));
	json_object_set_new(ack, "ts", json_integer(m->ts));
	if (duplicate)
		json_object_set_new(ack, "duplicate", json_true());
	return ack;
}

struct post_op {
	chat_post_done done;
	void *ud;
	user_rec *author;
	char *room_id;
	char *attachments_json; /* attached once the message is stored */
	int depth;
	double t0;
	int no_previews;
	int threaded; /* stored with thread_append */
};

static chat_message_observer *message_observer;

void chat_set_message_observer(chat_message_observer *fn)
{
	message_observer = fn;
}

int chat_room_event(const char *room_id, json_t *ev)
{
	room *r = room_by_id(room_id);
	if (!r) {
		json_decref(ev);
		return -1;
	}
	chat_broadcast_json(r, ev, NULL);
	return 0;
}

/* With a cluster: the author's frame is serialised once, published, and
 * both frames go through the room's ordering (another node's message with
 * the seq before this one may still be on its way). */
static void fan_out_cluster(room *r, const parley_message *m, const parley_thread_info *t,
                            user_rec *author)
{
	json_t *own_ev = chat_message_event_in(m, t, 1);
	size_t len;
	char *own_json = own_ev ? proto_dump(own_ev, &len) : NULL;
	json_decref(own_ev);
	if (!own_json)
		return;
	cluster_publish_message(r, m->seq, author->id, own_json, len);
	sbuf *common = chat_frame(chat_message_event_in(m, t, 0));
	sbuf *own = m->client_id ? ws_frame_text(own_json, len) : NULL;
	free(own_json);
	if (common)
		cluster_order_submit(r, m->seq, common, own, author->id, m->mentions_json);
	if (common)
		sbuf_unref(common);
	if (own)
		sbuf_unref(own);
}

static void fan_out(room *r, const parley_message *m, const parley_thread_info *t, user_rec *author)
{
	if (cluster_bus_active()) {
		fan_out_cluster(r, m, t, author);
		return;
	}
	sbuf *common = chat_frame(chat_message_event_in(m, t, 0));
	sbuf *own = m->client_id ? chat_frame(chat_message_event_in(m, t, 1)) : NULL;
	if (!common)
		goto done;
	size_t n = 0;
	for (sub *s = r->subs; s; s = s->rnext) {
		chat_deliver(s, (own && s->client->user == author) ? own : common, m->seq);
		n++;
	}
	metric_add(core_metrics.deliveries, (double)n);
done:
	if (common)
		sbuf_unref(common);
	if (own)
		sbuf_unref(own);
}

json_t *chat_room_mentions(room *r, const char *text)
{
	json_t *ids = proto_mentions(text);
	for (size_t i = ids ? json_array_size(ids) : 0; i-- > 0;)
		if (!room_member(r, json_string_value(json_array_get(ids, i))))
			json_array_remove(ids, i);
	return ids;
}

void chat_count_mentions(room *r, int64_t seq, const char *mentions_json)
{
	json_t *ids = mentions_json ? json_loads(mentions_json, 0, NULL) : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		member *mb = room_member(r, json_string_value(v));
		if (mb && mb->read_seq < seq)
			mb->mentions++;
	}
	json_decref(ids);
}

static void read_stored(void *ud, const parley_store_result *res)
{
	(void)ud;
	chat_store_log(res);
}

static void appended(void *ud, const parley_store_result *res)
{
	struct post_op *op = ud;
	if (res->rc != PARLEY_OK || !res->n_messages) {
		op->done(op->ud, res->rc < 0 ? res->rc : PARLEY_ERR,
		         res->error ? res->error : "the message could not be stored", NULL, 0, 0);
		goto out;
	}
	const parley_message *m = &res->messages[0];
	if (res->duplicate) {
		op->done(op->ud, PARLEY_OK, NULL, m, 1, 0);
		goto out;
	}
	room *r = room_by_id(m->room_id);
	metric_add(core_metrics.messages, 1);
	metric_observe(core_metrics.send_ack_seconds, ev_now(loop_ev) - op->t0);
	op->done(op->ud, PARLEY_OK, NULL, m, 0, 0);
	if (op->attachments_json)
		chat_attachments_attach(op->attachments_json, op->author->id, m->room_id, m->id);
	if (r) {
		if (m->seq > r->last_seq)
			r->last_seq = m->seq;
		/* Writing in a room means having read it. */
		member *mine = room_member(r, op->author->id);
		if (mine && mine->read_seq < m->seq) {
			mine->read_seq = m->seq;
			mine->mentions = 0;
			void *self;
			const parley_store_vtable *st = chat_store(&self);
			st->read_set(self, r->id, op->author->id, m->seq, read_stored, NULL);
			cluster_read_publish(r, op->author, m->seq, 1);
		}
		/* With a cluster, counted where each node delivers it (in order). */
		if (!cluster_bus_active())
			chat_count_mentions(r, m->seq, m->mentions_json);
		fan_out(r, m, chat_thread_info(res, 0), op->author);
		if (op->threaded)
			chat_thread_replied(r, m, res->n_messages > 1 ? &res->messages[1] : NULL,
			                    chat_thread_info(res, 1));
		struct chat_hook h;
		chat_hook_init(&h, PARLEY_HOOK_MESSAGE, op->author, r);
		h.args.message = m;
		h.args.depth = op->depth;
		const parley_thread_info *ti = chat_thread_info(res, 0);
		h.args.thread = ti ? ti->thread_id : NULL;
		h.args.also_room = ti ? ti->also_room : 0;
		hooks_run(&h.args, NULL, NULL);
		if (message_observer)
			message_observer(m, !op->no_previews);
	}
out:
	free(op->room_id);
	free(op->attachments_json);
	free(op);
}

void chat_send_fini(void)
{
	command_dedup_fini();
}

static void post_resolved(const struct chat_post *p, char *attachments_json, chat_post_done done,
                          void *ud);

/* A send waiting for its attachments: copies of what it said. */
struct post_wait {
	user_rec *author;
	char *room_id, *text, *client_id, *reply_to, *thread;
	int also_room;
	int depth;
	double t0;
	int no_command, strict_commands;
	int no_previews;
	int command_seen;
	int thread_checked;
	json_t *attachments; /* while the cluster's command count or the thread is asked */
	chat_post_done done;
	void *ud;
};

static void post_wait_free(struct post_wait *w)
{
	json_decref(w->attachments);
	free(w->room_id);
	free(w->text);
	free(w->client_id);
	free(w->reply_to);
	free(w->thread);
	free(w);
}

/* The post a waiting one becomes once its answer came (without its
 * attachments: each continuation hands them on its own way). */
static struct chat_post post_of_wait(const struct post_wait *w, room *r)
{
	return (struct chat_post){.author = w->author,
	                          .room = r,
	                          .text = w->text,
	                          .client_id = w->client_id,
	                          .reply_to = w->reply_to,
	                          .depth = w->depth,
	                          .t0 = w->t0,
	                          .no_command = w->no_command,
	                          .strict_commands = w->strict_commands,
	                          .no_previews = w->no_previews,
	                          .thread = w->thread,
	                          .also_room = w->also_room,
	                          .command_seen = w->command_seen,
	                          .thread_checked = w->thread_checked};
}

/* The room of a waiting send once its answer (rc, why) came; NULL after
 * the sender was told the error (the answer's, or the room is gone). */
static room *post_wait_room(struct post_wait *w, int rc, const char *why)
{
	room *r = room_by_id(w->room_id);
	if (rc == PARLEY_OK && !r) {
		rc = PARLEY_ENOTFOUND;
		why = "the room is gone";
	}
	if (rc != PARLEY_OK) {
		w->done(w->ud, rc, why, NULL, 0, 0);
		return NULL;
	}
	return r;
}

static void attachments_resolved(void *ud, int rc, const char *why, char *json)
{
	struct post_wait *w = ud;
	room *r = post_wait_room(w, rc, why);
	if (r) {
		struct chat_post p = post_of_wait(w, r);
		post_resolved(&p, json, w->done, w->ud);
	}
	free(json);
	post_wait_free(w);
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*oom = 1;
	return d;
}

/* Copies of what a send said, while the store is asked something. */
static struct post_wait *post_wait_new(const struct chat_post *p, chat_post_done done, void *ud)
{
	struct post_wait *w = calloc(1, sizeof *w);
	int oom = !w;
	if (w) {
		w->author = p->author;
		w->room_id = dup_or_null(p->room->id, &oom);
		w->text = dup_or_null(p->text, &oom);
		w->client_id = dup_or_null(p->client_id, &oom);
		w->reply_to = dup_or_null(p->reply_to, &oom);
		w->thread = dup_or_null(p->thread, &oom);
		w->also_room = p->also_room;
		w->depth = p->depth;
		w->t0 = p->t0;
		w->no_command = p->no_command;
		w->strict_commands = p->strict_commands;
		w->no_previews = p->no_previews;
		w->command_seen = p->command_seen;
		w->thread_checked = p->thread_checked;
		w->done = done;
		w->ud = ud;
	}
	if (oom && w) {
		post_wait_free(w);
		w = NULL;
	}
	return w;
}

static void post_attachments(const struct chat_post *p, chat_post_done done, void *ud)
{
	if (!p->attachments || json_array_size(p->attachments) == 0) {
		post_resolved(p, NULL, done, ud);
		return;
	}
	if (!plugins_uploads(&(void *){NULL})) {
		done(
		    ud, PARLEY_EINVAL,
		    "attachments: no uploads provider is configured (add uploads_local to plugins)",
		    NULL, 0, 0);
		return;
	}
	/* The uploads are looked up first (async): keep copies meanwhile. */
	struct post_wait *w = post_wait_new(p, done, ud);
	if (!w) {
		done(ud, PARLEY_ENOMEM, "out of memory", NULL, 0, 0);
		return;
	}
	chat_attachments_resolve(p->author->id, p->room->id, p->client_id, p->attachments,
	                         attachments_resolved, w);
}

/* The cluster's count of this command's client_id: above 1, it ran
 * before (a resend after a reconnect, maybe to another node). */
static void command_counted(void *ud, const parley_store_result *res)
{
	struct post_wait *w = ud;
	room *r = post_wait_room(w, PARLEY_OK, NULL);
	if (r) {
		/* A store that cannot answer: the node's own memory decides. */
		struct chat_post p = post_of_wait(w, r);
		p.attachments = w->attachments;
		p.command_seen = res->rc == PARLEY_OK && res->value > 1;
		post_attachments(&p, w->done, w->ud);
	}
	post_wait_free(w);
}

/* With a cluster, a command with a client_id is counted in the store
 * first: a resend reaching another node after a reconnect is not run
 * twice. 1 when the count was asked (the send goes on in its answer). */
static int count_command_in_cluster(const struct chat_post *p, chat_post_done done, void *ud)
{
	if (!cluster_bus_active() || !p->client_id || p->command_seen ||
	    send_rule_route(p->text, p->no_command, 0) != SEND_TRY_COMMAND)
		return 0;
	struct post_wait *w = post_wait_new(p, done, ud);
	if (!w)
		return 0;
	w->attachments = json_incref(p->attachments);
	if (!command_dedup_ask(p->author->id, p->client_id, command_counted, w)) {
		post_wait_free(w);
		return 0;
	}
	return 1;
}

/* A command typed in a thread: the thread is looked up first, since the
 * command runs (and answers there) before anything is stored. */
static void command_thread_checked(void *ud, int rc, const char *why)
{
	struct post_wait *w = ud;
	room *r = post_wait_room(w, rc, why);
	if (r) {
		struct chat_post p = post_of_wait(w, r);
		p.attachments = w->attachments;
		p.thread_checked = 1;
		chat_post_message(&p, w->done, w->ud);
	}
	post_wait_free(w);
}

static int check_command_thread(const struct chat_post *p, chat_post_done done, void *ud)
{
	if (!p->thread || p->thread_checked ||
	    send_rule_route(p->text, p->no_command,
	                    p->command_seen || command_dedup_seen(p->author->id, p->client_id)) !=
	        SEND_TRY_COMMAND)
		return 0;
	struct post_wait *w = post_wait_new(p, done, ud);
	if (!w) {
		done(ud, PARLEY_ENOMEM, "out of memory", NULL, 0, 0);
		return 1;
	}
	w->attachments = json_incref(p->attachments);
	chat_thread_root_check(p->room->id, p->thread, command_thread_checked, w);
	return 1;
}

void chat_post_message(const struct chat_post *p, chat_post_done done, void *ud)
{
	const char *why = NULL;
	if (p->thread && !chat_threads_stored()) {
		done(ud, PARLEY_EUNAVAIL, "this server's store cannot keep threads", NULL, 0, 0);
		return;
	}
	int rc = send_rule_text(p->text, 0, chat_max_text(), &why);
	if (rc == PARLEY_OK)
		rc = chat_room_may_write(p->room, p->author, 1, &why);
	if (rc != PARLEY_OK) {
		done(ud, rc, why, NULL, 0, 0);
		return;
	}
	char why_muted[128];
	rc = send_rule_mute(mutes_until(p->author->id, p->room->id, mutes_now_ms()), why_muted,
	                    sizeof why_muted);
	if (rc != PARLEY_OK) {
		done(ud, rc, why_muted, NULL, 0, 0);
		return;
	}
	if (!check_command_thread(p, done, ud) && !count_command_in_cluster(p, done, ud))
		post_attachments(p, done, ud);
}

/* The send once its attachments (JSON text or NULL) are known. */
static void post_resolved(const struct chat_post *p, char *attachments_json, chat_post_done done,
                          void *ud)
{
	const char *why = NULL;
	int rc;
	switch (
	    send_rule_route(p->text, p->no_command,
	                    p->command_seen || command_dedup_seen(p->author->id, p->client_id))) {
	case SEND_REPEATED:
		done(ud, PARLEY_OK, NULL, NULL, 1, 1);
		return;
	case SEND_TRY_COMMAND:
		if (chat_command_try(p->author, p->room, p->text, p->depth, p->thread,
		                     p->also_room)) {
			command_dedup_ran(p->author->id, p->client_id);
			done(ud, PARLEY_OK, NULL, NULL, 0, 1);
			return;
		}
		if (p->strict_commands) {
			/* A typo'd command must not reach the room as a message. */
			done(ud, PARLEY_EINVAL,
			     "unknown command: /help lists the commands (start with // to post a "
			     "slash)",
			     NULL, 0, 0);
			return;
		}
		break;
	case SEND_STORE:
		break;
	}
	room *r = p->room;
	parley_message msg = {.room_id = r->id,
	                      .user_id = p->author->id,
	                      .text = p->text,
	                      .client_id = p->client_id,
	                      .reply_to = p->reply_to,
	                      .attachments_json = attachments_json,
	                      .ts = loop_now_ms()};
	struct chat_hook h;
	chat_hook_init(&h, PARLEY_HOOK_BEFORE_MESSAGE, p->author, r);
	h.args.message = &msg;
	h.args.depth = p->depth;
	h.args.thread = p->thread;
	h.args.also_room = p->also_room;
	const char *deny = NULL, *rewritten = NULL, *text = p->text;
	rc = hooks_run(&h.args, &deny, &rewritten);
	rc = send_rule_hooks(rc, deny, rewritten, chat_max_text(), &text, &why);
	if (rc != PARLEY_OK) {
		done(ud, rc, why, NULL, 0, 0);
		return;
	}
	char *text_copy = NULL;
	if (text != p->text) {
		if (!(text_copy = strdup(text))) {
			done(ud, PARLEY_ENOMEM, "out of memory", NULL, 0, 0);
			return;
		}
		msg.text = text_copy;
	}
	/* @here/@room/@all: checked on the text to be stored, refused whole. */
	const char *all = mention_all_kind(msg.text);
	char why_all[200];
	if (all && mention_all_allowed(r, p->author, all, why_all, sizeof why_all) != PARLEY_OK) {
		done(ud, PARLEY_EFORBIDDEN, why_all, NULL, 0, 0);
		free(text_copy);
		return;
	}
	json_t *mentions = chat_room_mentions(r, msg.text);
	if (all && mentions)
		mention_all_add(mentions, r, p->author, all);
	char *mentions_json = mentions ? proto_dump(mentions, NULL) : NULL;
	json_decref(mentions);
	msg.mentions_json = mentions_json;

	struct post_op *op = calloc(1, sizeof *op);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!op || !(op->room_id = strdup(r->id)) ||
	    (attachments_json && !(op->attachments_json = strdup(attachments_json)))) {
		if (op)
			free(op->room_id);
		free(op);
		done(ud, PARLEY_ENOMEM, "out of memory", NULL, 0, 0);
		goto out;
	}
	op->done = done;
	op->ud = ud;
	op->author = p->author;
	op->depth = p->depth;
	op->t0 = p->t0;
	op->no_previews = p->no_previews;
	op->threaded = p->thread != NULL;
	rc = p->thread ? st->thread_append(self, &msg, p->thread, p->also_room, appended, op)
	               : st->append(self, &msg, appended, op);
	if (rc != PARLEY_PENDING) {
		free(op->room_id);
		free(op->attachments_json);
		free(op);
		done(ud, rc < 0 ? rc : PARLEY_ERR,
		     rc == PARLEY_EINVAL && p->thread ? "thread: not a message id"
		                                      : "the store refused the message",
		     NULL, 0, 0);
	}
out:
	free(mentions_json);
	free(text_copy);
}

static void send_done(void *ud, int rc, const char *message, const parley_message *m, int duplicate,
                      int command)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	if (cl) {
		if (rc != PARLEY_OK) {
			chat_reply_error(cl, op->rid, rc, message);
		} else {
			json_t *ack =
			    chat_ack(json_string_value(json_object_get(op->req, "client_id")), m,
			             duplicate, command);
			if (ack && op->rid)
				json_object_set(ack, "rid", op->rid);
			chat_send_json(cl, ack);
		}
	}
	chat_ws_op_free(op);
}

void chat_req_send(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *text, *client_id = NULL, *reply_to = NULL, *thread = NULL;
	int also_room = 0;
	member *m;
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	if (proto_get_str(req, "text", 1, 0, &text, err, sizeof err) < 0 ||
	    proto_get_str(req, "thread", 0, PROTO_MAX_ID, &thread, err, sizeof err) < 0 ||
	    proto_get_bool(req, "also_room", 0, &also_room, err, sizeof err) < 0 ||
	    proto_get_str(req, "client_id", 0, PROTO_MAX_CLIENT_ID, &client_id, err, sizeof err) <
	        0 ||
	    proto_get_str(req, "reply_to", 0, PROTO_MAX_ID, &reply_to, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	const char *bad = thread_args_error(thread, also_room);
	if (bad) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, bad);
		return;
	}
	json_t *att = json_object_get(req, "attachments");
	if (att && !json_is_array(att) && !json_is_null(att)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "attachments: expected an array");
		return;
	}
	json_t *previews = json_object_get(req, "previews");
	if (previews && !json_is_boolean(previews)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "previews: expected true or false");
		return;
	}
	/* A person's own session: built-in commands, an unknown /word is
	 * refused, and //word posts /word. Bot tokens post /word as text. */
	int person = !cl->scope && strcmp(cl->user->role, "bot") != 0;
	int no_command = 0;
	char *rewritten = NULL;
	if (person && text[0] == '/' && text[1] == '/') {
		text++;
		no_command = 1;
	} else if (person && text[0] == '/') {
		/* /me and /shrug post through chat_post_message, which checks the
		 * room's rules; the others are the requests they stand for, run
		 * once per client_id and answered like a script's command. */
		if (chat_builtin_kind(text) == BUILTIN_KIND_REQUEST) {
			chat_builtin_send(cl, req, rid, r, client_id);
			return;
		}
		switch (chat_builtin_run(cl, rid, r, thread, text, &rewritten)) {
		case BUILTIN_DONE:
			return;
		case BUILTIN_POST:
			text = rewritten;
			no_command = 1;
			break;
		case BUILTIN_NONE:
			break;
		}
	}
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	if (!op) {
		free(rewritten);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	struct chat_post p = {.author = cl->user,
	                      .room = r,
	                      .text = text,
	                      .client_id = client_id,
	                      .reply_to = reply_to,
	                      .attachments = json_is_array(att) ? att : NULL,
	                      .t0 = ev_now(loop_ev),
	                      .no_command = no_command,
	                      .no_previews = json_is_false(previews),
	                      .strict_commands = person,
	                      .thread = thread,
	                      .also_room = also_room};
	chat_post_message(&p, send_done, op);
	free(rewritten);
}

/* edit / delete / react: fetch the message, check, then write. */
