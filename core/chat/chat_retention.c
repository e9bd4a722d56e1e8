/* Retention in the running server (see chat_retention.h).
 *
 * The job: every retention.interval seconds, take the store lease
 * "retention" (holder: this process), then run one prune pass
 * (host/prune_run.c) and tell each room's online members once per batch
 * with {"type":"pruned","room","before_seq"}. Another node holding the
 * lease makes this one skip the tick. The lease is renewed during long
 * passes and released on a clean stop; after a crash it lapses after
 * retention.lease seconds. Progress is the store's per-room pruned mark,
 * so a pass cut short by a restart resumes where it stopped. */
#include "chat/chat_retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/duration.h"
#include "chat/chat_internal.h"
#include "chat/chat_pins.h"
#include "host/prune_run.h"

#define LEASE_NAME "retention"
#define HOLDER_MAX 128

static struct {
	ev_timer timer;
	int started;
	int leasing; /* a lease call in flight */
	char holder[HOLDER_MAX];
	long long lease_ms; /* when the lease was last taken or renewed */
	int holding;
} job;

static int64_t lease_ttl_ms(void)
{
	return (int64_t)(server_config->retention.lease * 1000);
}

static void lease_renewed(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc != PARLEY_OK)
		log_warn("retention", NULL, "lease renewal failed: %s",
		         res->error ? res->error : proto_error_code(res->rc));
}

/* During a long pass: renew once a third of the lease has gone. */
static void lease_keep(void)
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	long long now = loop_now_ms();
	if (!job.holding || now - job.lease_ms < lease_ttl_ms() / 3)
		return;
	job.lease_ms = now;
	st->lease(self, LEASE_NAME, job.holder, lease_ttl_ms(), now, lease_renewed, NULL);
}

static void pruned_batch(void *ud, const char *room_id, const char *room_name, int64_t before_seq,
                         int64_t n)
{
	(void)ud;
	(void)room_name;
	room *r = room_by_id(room_id);
	if (r) {
		json_t *ev = json_pack("{s:s, s:s, s:I}", "type", "pruned", "room", room_id,
		                       "before_seq", (json_int_t)before_seq);
		chat_broadcast_json(r, ev, NULL);
		/* Expiring a pinned message unpins it, as deleting does. */
		chat_pins_pruned(r);
	}
	log_info("retention", NULL, "pruned %lld messages in %s (before seq %lld)", (long long)n,
	         room_id, (long long)before_seq);
	lease_keep();
}

static void pass_done(void *ud, int rc, const char *error, const struct prune_totals *t)
{
	(void)ud;
	if (rc != PARLEY_OK)
		log_warn("retention", NULL, "pass stopped: %s",
		         error ? error : proto_error_code(rc));
	else if (t->messages || t->expired)
		log_info("retention", NULL,
		         "pass done: %lld messages in %lld rooms, %lld files expired, %lld files "
		         "removed, %lld kept",
		         (long long)t->messages, (long long)t->rooms, (long long)t->expired,
		         (long long)t->uploads, (long long)t->failed);
}

static void leased(void *ud, const parley_store_result *res)
{
	(void)ud;
	job.leasing = 0;
	if (!job.started)
		return;
	if (res->rc == PARLEY_ECONFLICT) {
		job.holding = 0; /* another node runs it */
		return;
	}
	if (res->rc != PARLEY_OK) {
		log_warn("retention", NULL, "lease failed: %s",
		         res->error ? res->error : proto_error_code(res->rc));
		return;
	}
	job.holding = 1;
	job.lease_ms = loop_now_ms();
	struct prune_opts o = {.now_ms = loop_now_ms(),
	                       .retention_ms = server_config->retention.messages * 1000,
	                       .uploads_retention_ms = server_config->retention.uploads * 1000,
	                       .batch = (int)server_config->retention.batch,
	                       .on_batch = pruned_batch,
	                       .on_done = pass_done};
	int rc = prune_run_start(&o);
	if (rc != PARLEY_OK && rc != PARLEY_ECONFLICT)
		log_warn("retention", NULL, "cannot start a pass: %s", proto_error_code(rc));
}

static void tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (job.leasing || prune_run_active())
		return;
	if (st->lease(self, LEASE_NAME, job.holder, lease_ttl_ms(), loop_now_ms(), leased, NULL) ==
	    PARLEY_PENDING)
		job.leasing = 1;
}

void chat_retention_start(void)
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!server_config || !PARLEY_HAS(parley_store_vtable, st, prune) ||
	    !PARLEY_HAS(parley_store_vtable, st, lease)) {
		if (server_config && server_config->retention.messages)
			log_warn("retention", NULL,
			         "the store cannot prune: messages are kept despite retention");
		return;
	}
	char host[64] = "host";
	gethostname(host, sizeof host - 1);
	snprintf(job.holder, sizeof job.holder, "%s:%ld", host, (long)getpid());
	/* The first pass soon after start: a server restarted more often than
	 * the interval still prunes. */
	double every = server_config->retention.interval;
	ev_timer_init(&job.timer, tick, every < 5 ? every : 5, every);
	ev_timer_start(loop_ev, &job.timer);
	ev_unref(loop_ev); /* the timer alone does not keep the loop alive */
	job.started = 1;
}

static void lease_released(void *ud, const parley_store_result *res)
{
	(void)ud;
	(void)res;
}

void chat_retention_stop(void)
{
	if (!job.started)
		return;
	job.started = 0;
	prune_run_cancel();
	ev_ref(loop_ev);
	ev_timer_stop(loop_ev, &job.timer);
	if (job.holding) {
		void *self;
		const parley_store_vtable *st = chat_store(&self);
		st->lease(self, LEASE_NAME, job.holder, 0, loop_now_ms(), lease_released, NULL);
		job.holding = 0;
	}
}

/* ---------------------------------------------------------------- */
/* Requests                                                           */
/* ---------------------------------------------------------------- */

/* A request waiting for the store. */
struct ret_op {
	uint64_t conn_id;
	json_t *rid;
	char *room_id, *msg_id;
};

static struct ret_op *ret_op_new(client *cl, json_t *rid, const char *room_id, const char *msg_id)
{
	struct ret_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->conn_id = cl->conn_id;
	op->rid = json_incref(rid);
	op->room_id = strdup(room_id);
	op->msg_id = msg_id ? strdup(msg_id) : NULL;
	if (!op->room_id || (msg_id && !op->msg_id)) {
		free(op->room_id);
		free(op->msg_id);
		json_decref(op->rid);
		free(op);
		return NULL;
	}
	return op;
}

static client *ret_op_client(const struct ret_op *op)
{
	conn *c = conn_find(op->conn_id);
	return c && c->proto == CONN_WS ? c->app : NULL;
}

static void ret_op_free(struct ret_op *op)
{
	json_decref(op->rid);
	free(op->room_id);
	free(op->msg_id);
	free(op);
}

/* Owner or moderator of r (need_owner: owner only), or an admin (in any
 * room but a DM they are not in: a DM has no moderators to stand in for).
 * Replies the error and returns NULL otherwise. */
static room *req_room_as(client *cl, json_t *req, json_t *rid, int need_owner)
{
	char err[PROTO_ERR_LEN];
	const char *room_id;
	if (proto_get_str(req, "room", 1, PROTO_MAX_ID, &room_id, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return NULL;
	}
	room *r = room_by_id(room_id);
	if (!r) {
		chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "no such room");
		return NULL;
	}
	member *m;
	int rc = chat_check_member(r, cl->user, &m);
	if (strcmp(cl->user->role, "admin") == 0 && (rc == PARLEY_OK || strcmp(r->kind, "dm") != 0))
		return r;
	if (rc != PARLEY_OK) {
		chat_reply_member_error(cl, rid, rc);
		return NULL;
	}
	if (m->role < (need_owner ? ROLE_OWNER : ROLE_MODERATOR)) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
		                 need_owner ? "only the room's owner or an admin may do this"
		                            : "only the room's owner, moderators and admins may "
		                              "read edit history");
		return NULL;
	}
	return r;
}

static void edits_listed(void *ud, const parley_store_result *res)
{
	struct ret_op *op = ud;
	client *cl = ret_op_client(op);
	if (!cl) {
		ret_op_free(op);
		return;
	}
	if (res->rc != PARLEY_OK) {
		chat_reply_error(cl, op->rid, res->rc,
		                 res->rc == PARLEY_ENOTFOUND ? "no such message" : "store error");
		ret_op_free(op);
		return;
	}
	json_t *versions = json_array();
	for (size_t i = 0; versions && i < res->n_messages; i++) {
		const parley_message *m = &res->messages[i];
		json_t *v = json_pack("{s:s?, s:I}", "text", m->text, "ts", (json_int_t)m->ts);
		if (v && m->deleted)
			json_object_set_new(v, "deleted", json_true());
		json_array_append_new(versions, v);
	}
	json_t *reply = json_pack("{s:s, s:O, s:s, s:s, s:o}", "type", "edits", "rid", op->rid,
	                          "room", op->room_id, "id", op->msg_id, "versions", versions);
	chat_send_json(cl, reply);
	ret_op_free(op);
}

void chat_req_edits(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *id;
	room *r = req_room_as(cl, req, rid, 0);
	if (!r)
		return;
	if (proto_get_str(req, "id", 1, PROTO_MAX_ID, &id, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, edits_list)) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "this store keeps no edit history");
		return;
	}
	struct ret_op *op = ret_op_new(cl, rid, r->id, id);
	if (!op || st->edits_list(self, r->id, id, edits_listed, op) != PARLEY_PENDING) {
		if (op)
			ret_op_free(op);
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
	}
}

static void retention_set(void *ud, const parley_store_result *res)
{
	struct ret_op *op = ud;
	client *cl = ret_op_client(op);
	if (cl && res->rc != PARLEY_OK)
		chat_reply_error(cl, op->rid, res->rc, "cannot set the room's retention");
	else if (cl)
		chat_send_json(cl, json_pack("{s:s, s:O, s:s, s:I}", "type", "ok", "rid", op->rid,
		                             "room", op->room_id, "retention",
		                             (json_int_t)(res->value / 1000)));
	ret_op_free(op);
}

int chat_retention_parse(json_t *v, int64_t *ms, const char **why)
{
	long long secs = -1;
	if (json_is_string(v))
		secs = strcmp(json_string_value(v), "default") == 0
		           ? 0
		           : duration_parse(json_string_value(v));
	else if (json_is_integer(v))
		secs = json_integer_value(v);
	if (secs < 0 || secs > 100LL * 365 * 86400) {
		*why = "retention: a duration (seconds, 90s, 15m, 12h, 30d) or \"default\"";
		return PARLEY_EINVAL;
	}
	int64_t server = server_config ? server_config->retention.messages : 0;
	if (secs > 0 && server > 0 && secs > server) {
		*why =
		    "retention: a room may only keep messages for a shorter time than the server";
		return PARLEY_EINVAL;
	}
	*ms = (int64_t)secs * 1000;
	return PARLEY_OK;
}

/* {"type":"room_retention","room":…,"retention":"30d"|seconds|"default"} */
void chat_req_room_retention(client *cl, json_t *req, json_t *rid)
{
	room *r = req_room_as(cl, req, rid, 1);
	if (!r)
		return;
	int64_t ms;
	const char *why;
	if (chat_retention_parse(json_object_get(req, "retention"), &ms, &why) != PARLEY_OK) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, why);
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, room_retention_set)) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "this store has no per-room retention");
		return;
	}
	struct ret_op *op = ret_op_new(cl, rid, r->id, NULL);
	if (!op || st->room_retention_set(self, r->id, ms, retention_set, op) != PARLEY_PENDING) {
		if (op)
			ret_op_free(op);
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
	}
}
