/* Threads on MongoDB (see threads.h). Every step is a single-document
 * write, as the rest of store_mongo: the reply is appended first
 * (messages_append, with its seq and client_id rules), then the root's
 * count moves ($inc, $max) and the follows are upserted. A crash between
 * them leaves a reply the root does not count yet; the root's count is
 * never ahead of its replies. There is no unique index on
 * (root, user) in schema 2: follows are upserts by that pair, which two
 * nodes writing the same follow at once could double (the list then shows
 * one root twice; it is deduplicated when listed). */
#include "threads.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "docs.h"
#include "ids.h"
#include "lanes.h"
#include "messages.h"
#include "store.h"

static const char MESSAGES[] = "messages";
static const char FOLLOWS[] = "thread_follows";

#define THREADS_LIST_MAX 100
#define HISTORY_MAX      1000

static struct op *begin(void *self, const char *name, op_exec_fn exec, parley_store_done done,
                        void *ud)
{
	struct store *st = self;
	if (st->stopped || !done)
		return NULL;
	return op_new(st, name, exec, done, ud);
}

/* As store_mongo.c's submit: the lane of key, PENDING or an error. */
static int submit(struct op *op, const char *key)
{
	if (!op)
		return PARLEY_EUNAVAIL;
	if (op->oom) {
		op_free(op);
		return PARLEY_ENOMEM;
	}
	struct store *st = op->st;
	__atomic_add_fetch(&st->refs, 1, __ATOMIC_SEQ_CST);
	int rc = lanes_submit(st->lanes, op, key);
	if (rc != PARLEY_OK) {
		__atomic_sub_fetch(&st->refs, 1, __ATOMIC_SEQ_CST);
		op_free(op);
		return rc;
	}
	return PARLEY_PENDING;
}

static int bad_args(struct op *op)
{
	op_free(op);
	return PARLEY_EINVAL;
}

/* The root of a thread in room: ENOTFOUND when absent, of another room
 * (or deleted, when live); EINVAL when it is a reply. *author: its author
 * (arena), may be NULL. */
static int root_check(struct dbconn *c, struct op *op, const char *room, const char *root, int live,
                      const char **author)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(root));
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, MESSAGES, q, NULL, &doc);
	bson_destroy(q);
	if (rc == PARLEY_ENOTFOUND)
		return op_fail(op, rc, "thread: no message %s", root);
	if (rc < 0)
		return rc;
	const char *in = mdb_str(op, doc, "room");
	if (!in || strcmp(in, room) != 0 || (live && mdb_int(doc, "deleted") != 0))
		rc = op_fail(op, PARLEY_ENOTFOUND, "thread: no message %s in the room", root);
	else if (mdb_str(op, doc, "thread"))
		rc = op_fail(op, PARLEY_EINVAL, "thread: %s is a reply itself", root);
	if (author)
		*author = mdb_str(op, doc, "user");
	bson_destroy(doc);
	return rc;
}

/* Upserts a follow; with seq > 0 its read mark moves forward to seq. */
static int follow(struct dbconn *c, struct op *op, const char *room, const char *root,
                  const char *user, int64_t seq)
{
	bson_t *q = BCON_NEW("root", BCON_UTF8(root), "user", BCON_UTF8(user));
	bson_t *u = seq > 0 ? BCON_NEW("$max", "{", "read_seq", BCON_INT64(seq), "}",
	                               "$setOnInsert", "{", "room", BCON_UTF8(room), "}")
	                    : BCON_NEW("$setOnInsert", "{", "room", BCON_UTF8(room), "read_seq",
	                               BCON_INT64(0), "}");
	int rc = mdb_update(c, op, FOLLOWS, q, u, 0, 1, NULL);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

static int exec_append(struct dbconn *c, struct op *op)
{
	const char *root = op->args.append.thread, *root_author = NULL;
	int rc = root_check(c, op, op->msg.room_id, root, 1, &root_author);
	if (rc < 0)
		return rc;
	if ((rc = messages_append(c, op)) < 0 || op->res.duplicate)
		return rc;
	const parley_message reply = op->msgs[0];
	bson_t *q = BCON_NEW("id", BCON_UTF8(root));
	bson_t *u = BCON_NEW("$inc", "{", "replies", BCON_INT64(1), "}", "$max", "{",
	                     "last_reply_ts", BCON_INT64(reply.ts), "}");
	bson_t *doc = NULL;
	rc = mdb_modify(c, op, MESSAGES, q, u, 0, &doc);
	bson_destroy(q);
	bson_destroy(u);
	if (rc == PARLEY_OK && (rc = docs_message(op, doc)) < 0)
		rc = op_fail(op, rc, "thread_append: out of memory");
	if (doc)
		bson_destroy(doc);
	if (rc < 0)
		return rc;
	if ((rc = follow(c, op, reply.room_id, root, reply.user_id, reply.seq)) < 0)
		return rc;
	return root_author ? follow(c, op, reply.room_id, root, root_author, 0) : PARLEY_OK;
}

int mongo_thread_append(void *self, const parley_message *m, const char *thread_id, int also_room,
                        parley_store_done done, void *ud)
{
	struct op *op = begin(self, "thread_append", exec_append, done, ud);
	int64_t n;
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!m || !ids_parse(m->room_id, "r", &op->args.append.room_n) ||
	    !ids_parse(m->user_id, "u", &n) || !ids_parse(thread_id, "m", &n))
		return bad_args(op);
	op->args.append.thread = op_strdup(op, thread_id);
	op->args.append.also_room = also_room != 0;
	op->msg.room_id = op_strdup(op, m->room_id);
	op->msg.user_id = op_strdup(op, m->user_id);
	op->msg.text = op_strdup(op, m->text);
	op->msg.client_id = op_strdup(op, m->client_id);
	op->msg.reply_to = op_strdup(op, m->reply_to);
	op->msg.mentions_json = op_strdup(op, m->mentions_json);
	op->msg.attachments_json = op_strdup(op, m->attachments_json);
	op->msg.ts = m->ts ? m->ts : ((struct store *)self)->host->now_ms();
	if (op_reserve_messages(op, 2) != 0)
		op->oom = 1;
	return submit(op, m->room_id);
}

static int exec_history(struct dbconn *c, struct op *op)
{
	const char *root = op->args.thread.root;
	int64_t before = op->args.thread.before, after = op->args.thread.after;
	int limit = op->args.thread.limit;
	int rc = root_check(c, op, op->args.thread.room, root, 0, NULL);
	if (rc < 0)
		return rc;
	bson_t *q;
	int newest_first = 1;
	if (before > 0) {
		q = BCON_NEW("thread", BCON_UTF8(root), "seq", "{", "$lt", BCON_INT64(before), "}");
	} else if (after >= 0) {
		q = BCON_NEW("thread", BCON_UTF8(root), "seq", "{", "$gt", BCON_INT64(after), "}");
		newest_first = 0;
	} else {
		q = BCON_NEW("thread", BCON_UTF8(root));
	}
	bson_t *opts = BCON_NEW("sort", "{", "seq", BCON_INT32(newest_first ? -1 : 1), "}", "limit",
	                        BCON_INT64(limit + 1));
	rc = mdb_each(c, op, MESSAGES, q, opts, docs_message);
	bson_destroy(q);
	bson_destroy(opts);
	if (rc < 0)
		return rc;
	if (op->n_msgs > (size_t)limit) {
		op->n_msgs = (size_t)limit;
		op->res.more = 1;
	}
	if (before <= 0 && after < 0) {
		for (size_t i = 0, j = op->n_msgs; i + 1 < j; i++, j--) {
			parley_message t = op->msgs[i];
			op->msgs[i] = op->msgs[j - 1];
			op->msgs[j - 1] = t;
		}
	}
	return PARLEY_OK;
}

int mongo_thread_history(void *self, const char *room_id, const char *root_id, int64_t before,
                         int64_t after, int limit, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "thread_history", exec_history, done, ud);
	int64_t n;
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!ids_parse(room_id, "r", &n) || !ids_parse(root_id, "m", &n) || limit < 1 ||
	    limit > HISTORY_MAX || before < 0)
		return bad_args(op);
	op->args.thread.room = op_strdup(op, room_id);
	op->args.thread.root = op_strdup(op, root_id);
	op->args.thread.before = before;
	op->args.thread.after = before > 0 ? -1 : after;
	op->args.thread.limit = limit;
	return submit(op, room_id);
}

static int exec_follow(struct dbconn *c, struct op *op)
{
	const char *room = op->args.thread.room, *root = op->args.thread.root,
	           *user = op->args.thread.user;
	int rc = root_check(c, op, room, root, 0, NULL);
	if (rc < 0)
		return rc;
	bson_t *uq = BCON_NEW("id", BCON_UTF8(user));
	int found = mdb_exists(c, op, "users", uq);
	bson_destroy(uq);
	if (found < 0)
		return found;
	if (!found)
		return op_fail(op, PARLEY_ENOTFOUND, "thread_follow: no user %s", user);
	bson_t *q = BCON_NEW("root", BCON_UTF8(root), "user", BCON_UTF8(user));
	int64_t had = 0;
	if (!op->args.thread.on) {
		rc = mdb_delete(c, op, FOLLOWS, q, 1, &had);
		op->res.value = had > 0;
	} else if ((found = mdb_exists(c, op, FOLLOWS, q)) < 0) {
		rc = found;
	} else if (!found && (rc = follow(c, op, room, root, user, 0)) == PARLEY_OK) {
		op->res.value = 1;
	}
	bson_destroy(q);
	return rc;
}

int mongo_thread_follow(void *self, const char *room_id, const char *root_id, const char *user_id,
                        int on, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "thread_follow", exec_follow, done, ud);
	int64_t n;
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!ids_parse(room_id, "r", &n) || !ids_parse(root_id, "m", &n) ||
	    !ids_parse(user_id, "u", &n))
		return bad_args(op);
	op->args.thread.room = op_strdup(op, room_id);
	op->args.thread.root = op_strdup(op, root_id);
	op->args.thread.user = op_strdup(op, user_id);
	op->args.thread.on = on != 0;
	return submit(op, room_id);
}

static int exec_read(struct dbconn *c, struct op *op)
{
	const char *root = op->args.thread.root, *user = op->args.thread.user;
	int rc = root_check(c, op, op->args.thread.room, root, 0, NULL);
	if (rc < 0)
		return rc;
	bson_t *q = BCON_NEW("root", BCON_UTF8(root), "user", BCON_UTF8(user));
	bson_t *u = BCON_NEW("$max", "{", "read_seq", BCON_INT64(op->args.thread.seq), "}");
	bson_t *doc = NULL;
	rc = mdb_modify(c, op, FOLLOWS, q, u, 0, &doc);
	bson_destroy(q);
	bson_destroy(u);
	if (rc == PARLEY_OK)
		op->res.value = mdb_int(doc, "read_seq");
	else if (rc == PARLEY_ENOTFOUND)
		op_fail(op, rc, "thread_read: not following the thread");
	if (doc)
		bson_destroy(doc);
	return rc;
}

int mongo_thread_read(void *self, const char *room_id, const char *root_id, const char *user_id,
                      int64_t seq, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "thread_read", exec_read, done, ud);
	int64_t n;
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!ids_parse(room_id, "r", &n) || !ids_parse(root_id, "m", &n) ||
	    !ids_parse(user_id, "u", &n) || seq < 0)
		return bad_args(op);
	op->args.thread.room = op_strdup(op, room_id);
	op->args.thread.root = op_strdup(op, root_id);
	op->args.thread.user = op_strdup(op, user_id);
	op->args.thread.seq = seq;
	return submit(op, room_id);
}

/* One followed thread, gathered before sorting. */
struct followed {
	const char *root;
	int64_t read_seq;
};

struct gather {
	struct followed *v;
	size_t n, cap;
	struct op *op;
};

static __thread struct gather *gathering; /* this lane thread's list, during mdb_each */

static int gather_follow(struct op *op, const bson_t *doc)
{
	struct gather *g = gathering;
	const char *root = mdb_str(op, doc, "root");
	if (!root)
		return PARLEY_ENOMEM;
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->v[i].root, root))
			return PARLEY_OK; /* a follow written twice at once */
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct followed *v = realloc(g->v, cap * sizeof *v);
		if (!v)
			return PARLEY_ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n].root = root;
	g->v[g->n].read_seq = mdb_int(doc, "read_seq");
	g->n++;
	return PARLEY_OK;
}

/* The latest reply first, then the newest root (the larger number). */
static int newer(const parley_message *a, const parley_thread_info *ta, const parley_message *b,
                 const parley_thread_info *tb)
{
	if (ta->last_reply_ts != tb->last_reply_ts)
		return ta->last_reply_ts > tb->last_reply_ts;
	int64_t na = 0, nb = 0;
	ids_parse(a->id, "m", &na);
	ids_parse(b->id, "m", &nb);
	return na > nb;
}

static int exec_list(struct dbconn *c, struct op *op)
{
	const char *user = op->args.thread.user;
	json_t *rooms = json_loads(op->args.thread.rooms_json, 0, NULL);
	if (!json_is_array(rooms)) {
		json_decref(rooms);
		return op_fail(op, PARLEY_EINVAL, "threads_list: rooms is not a JSON array");
	}
	bson_t *q = bson_new(), in, arr;
	BSON_APPEND_UTF8(q, "user", user);
	BSON_APPEND_DOCUMENT_BEGIN(q, "room", &in);
	BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
	size_t i;
	json_t *v;
	char key[24];
	json_array_foreach(rooms, i, v)
	{
		snprintf(key, sizeof key, "%zu", i);
		if (json_is_string(v))
			BSON_APPEND_UTF8(&arr, key, json_string_value(v));
	}
	bson_append_array_end(&in, &arr);
	bson_append_document_end(q, &in);
	json_decref(rooms);
	struct gather g = {.op = op};
	gathering = &g;
	int rc = mdb_each(c, op, FOLLOWS, q, NULL, gather_follow);
	gathering = NULL;
	bson_destroy(q);
	/* Each root with its unread count. */
	for (size_t k = 0; rc == PARLEY_OK && k < g.n; k++) {
		bson_t *rq = BCON_NEW("id", BCON_UTF8(g.v[k].root));
		bson_t *doc = NULL;
		int frc = mdb_find_one(c, op, MESSAGES, rq, NULL, &doc);
		bson_destroy(rq);
		if (frc == PARLEY_ENOTFOUND) {
			op->res.rc = PARLEY_OK;
			op->error[0] = '\0';
			continue;
		}
		if (frc < 0 || (frc = docs_message(op, doc)) < 0) {
			rc = frc;
			if (doc)
				bson_destroy(doc);
			break;
		}
		bson_destroy(doc);
		parley_thread_info *t = &op->thr[op->n_thr - 1].info;
		t->following = 1;
		t->read_seq = g.v[k].read_seq;
		mongoc_collection_t *col = mdb_coll(c, MESSAGES);
		bson_t *uq = BCON_NEW("thread", BCON_UTF8(g.v[k].root), "seq", "{", "$gt",
		                      BCON_INT64(g.v[k].read_seq), "}", "user", "{", "$ne",
		                      BCON_UTF8(user), "}", "deleted", BCON_INT32(0));
		bson_error_t e;
		int64_t unread = mongoc_collection_count_documents(col, uq, NULL, NULL, NULL, &e);
		bson_destroy(uq);
		mongoc_collection_destroy(col);
		if (unread < 0) {
			rc = mdb_fail(c, op, &e);
			break;
		}
		t->unread = unread;
	}
	free(g.v);
	if (rc < 0)
		return rc;
	/* Sort (insertion: a person follows tens of threads, not thousands),
	 * keeping op->thr's pairs with their messages by id. */
	for (size_t a = 1; a < op->n_msgs; a++)
		for (size_t b = a; b > 0; b--) {
			parley_thread_info *tb = NULL, *tp = NULL;
			for (size_t k = 0; k < op->n_thr; k++) {
				if (op->thr[k].message_id == op->msgs[b].id)
					tb = &op->thr[k].info;
				if (op->thr[k].message_id == op->msgs[b - 1].id)
					tp = &op->thr[k].info;
			}
			if (!tb || !tp || !newer(&op->msgs[b], tb, &op->msgs[b - 1], tp))
				break;
			parley_message m = op->msgs[b];
			op->msgs[b] = op->msgs[b - 1];
			op->msgs[b - 1] = m;
		}
	/* Page: after the root `after`, then limit. */
	size_t from = 0;
	if (op->args.thread.root) {
		for (size_t k = 0; k < op->n_msgs; k++)
			if (!strcmp(op->msgs[k].id, op->args.thread.root)) {
				from = k + 1;
				break;
			}
	}
	size_t left = op->n_msgs - from, limit = (size_t)op->args.thread.limit;
	if (from > 0 && left > 0)
		memmove(op->msgs, op->msgs + from, left * sizeof *op->msgs);
	op->n_msgs = left > limit ? limit : left;
	op->res.more = left > limit;
	return PARLEY_OK;
}

int mongo_threads_list(void *self, const char *user_id, const char *room_ids_json,
                       const char *after, int limit, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "threads_list", exec_list, done, ud);
	int64_t n;
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!ids_parse(user_id, "u", &n) || !room_ids_json ||
	    (after && !ids_parse(after, "m", &n)) || limit < 1 || limit > THREADS_LIST_MAX)
		return bad_args(op);
	op->args.thread.user = op_strdup(op, user_id);
	op->args.thread.rooms_json = op_strdup(op, room_ids_json);
	op->args.thread.root = op_strdup(op, after);
	op->args.thread.limit = limit;
	return submit(op, user_id);
}
