/* Document readers (see docs.h). A message's reactions are an array of
 * {e: emoji, u: user} in the order they were added; the record carries
 * them as {"👍":["u_2","u_5"]}, built with jansson (which escapes). */
#include "docs.h"

#include <jansson.h>
#include <stdlib.h>

/* The reactions array as JSON in the arena; NULL when there are none. */
static int reactions(struct op *op, const bson_t *doc, const char **out)
{
	bson_iter_t it, arr;
	*out = NULL;
	if (!bson_iter_init_find(&it, doc, "reactions") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return PARLEY_OK;
	json_t *obj = NULL;
	int rc = PARLEY_ENOMEM;
	while (bson_iter_next(&arr)) {
		bson_iter_t r;
		const char *emoji = NULL, *user = NULL;
		if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &r))
			continue;
		while (bson_iter_next(&r)) {
			if (BSON_ITER_HOLDS_UTF8(&r) && !strcmp(bson_iter_key(&r), "e"))
				emoji = bson_iter_utf8(&r, NULL);
			else if (BSON_ITER_HOLDS_UTF8(&r) && !strcmp(bson_iter_key(&r), "u"))
				user = bson_iter_utf8(&r, NULL);
		}
		if (!emoji || !user)
			continue;
		if (!obj && !(obj = json_object()))
			goto out;
		json_t *list = json_object_get(obj, emoji);
		if (!list) {
			if (!(list = json_array()) || json_object_set_new(obj, emoji, list) != 0)
				goto out;
		}
		if (json_array_append_new(list, json_string(user)) != 0)
			goto out;
	}
	rc = PARLEY_OK;
	if (obj) {
		char *text = json_dumps(obj, JSON_COMPACT);
		if (!text || !(*out = op_strdup(op, text)))
			rc = PARLEY_ENOMEM;
		free(text);
	}
out:
	json_decref(obj);
	return rc;
}

int docs_message(struct op *op, const bson_t *doc)
{
	parley_message *m = op_add_message(op);
	if (!m)
		return PARLEY_ENOMEM;
	m->id = mdb_str(op, doc, "id");
	m->room_id = mdb_str(op, doc, "room");
	m->seq = mdb_int(doc, "seq");
	m->user_id = mdb_str(op, doc, "user");
	m->text = mdb_str(op, doc, "text");
	m->ts = mdb_int(doc, "ts");
	m->client_id = mdb_str(op, doc, "client_id");
	m->reply_to = mdb_str(op, doc, "reply_to");
	m->mentions_json = mdb_str(op, doc, "mentions_json");
	m->attachments_json = mdb_str(op, doc, "attachments_json");
	m->edited_ts = mdb_int(doc, "edited_ts");
	m->deleted = mdb_int(doc, "deleted") != 0;
	if (reactions(op, doc, &m->reactions_json) != PARLEY_OK)
		return PARLEY_ENOMEM;
	if (!m->id || !m->room_id || !m->user_id)
		return PARLEY_ENOMEM;
	parley_thread_info *t = op_add_thread(op, m->id); /* threads.c */
	if (!t)
		return PARLEY_ENOMEM;
	t->thread_id = mdb_str(op, doc, "thread");
	t->also_room = mdb_int(doc, "also_room") != 0;
	t->replies = mdb_int(doc, "replies");
	t->last_reply_ts = mdb_int(doc, "last_reply_ts");
	return PARLEY_OK;
}

int docs_room(struct op *op, const bson_t *doc)
{
	parley_room *r = op_add_room(op);
	if (!r)
		return PARLEY_ENOMEM;
	r->id = mdb_str(op, doc, "id");
	r->name = mdb_str(op, doc, "name");
	r->kind = mdb_str(op, doc, "kind");
	r->topic = mdb_str(op, doc, "topic");
	r->created_by = mdb_str(op, doc, "created_by");
	r->created_ts = mdb_int(doc, "created_ts");
	r->last_seq = mdb_int(doc, "last_seq");
	return r->id && r->name ? PARLEY_OK : PARLEY_ENOMEM;
}

static int user(struct op *op, const bson_t *doc, int with_hash)
{
	parley_user *u = op_add_user(op);
	if (!u)
		return PARLEY_ENOMEM;
	u->id = mdb_str(op, doc, "id");
	u->name = mdb_str(op, doc, "name");
	u->display_name = mdb_str(op, doc, "display_name");
	u->role = mdb_str(op, doc, "role");
	u->email = mdb_str(op, doc, "email");
	u->password_hash = with_hash ? mdb_str(op, doc, "password_hash") : NULL;
	u->disabled = mdb_int(doc, "disabled") != 0;
	u->created_ts = mdb_int(doc, "created_ts");
	return u->id && u->name ? PARLEY_OK : PARLEY_ENOMEM;
}

int docs_user(struct op *op, const bson_t *doc)
{
	return user(op, doc, 1);
}

int docs_user_no_hash(struct op *op, const bson_t *doc)
{
	return user(op, doc, 0);
}

int docs_member(struct op *op, const bson_t *doc)
{
	parley_member *m = op_add_member(op);
	if (!m)
		return PARLEY_ENOMEM;
	m->room_id = mdb_str(op, doc, "room");
	m->user_id = mdb_str(op, doc, "user");
	m->role = mdb_str(op, doc, "role");
	m->read_seq = mdb_int(doc, "read_seq");
	return m->room_id && m->user_id ? PARLEY_OK : PARLEY_ENOMEM;
}

void docs_session(struct op *op, const bson_t *doc)
{
	parley_session *s = &op->session_out;
	s->token_hash = mdb_str(op, doc, "token_hash");
	s->user_id = mdb_str(op, doc, "user");
	s->created_ts = mdb_int(doc, "created_ts");
	s->expires_ts = mdb_int(doc, "expires_ts");
	s->scopes = mdb_str(op, doc, "scopes");
	s->rooms_json = mdb_str(op, doc, "rooms_json");
}

static void invite(struct op *op, const bson_t *doc, parley_invite *v)
{
	v->token_hash = mdb_str(op, doc, "token_hash");
	v->role = mdb_str(op, doc, "role");
	v->email = mdb_str(op, doc, "email");
	v->created_by = mdb_str(op, doc, "created_by");
	v->created_ts = mdb_int(doc, "created_ts");
	v->expires_ts = mdb_int(doc, "expires_ts");
	v->used_ts = mdb_int(doc, "used_ts");
}

void docs_invite(struct op *op, const bson_t *doc)
{
	invite(op, doc, &op->invite_out);
}

int docs_invite_add(struct op *op, const bson_t *doc)
{
	parley_invite *v = op_add_invite(op);
	if (!v)
		return PARLEY_ENOMEM;
	invite(op, doc, v);
	return v->token_hash ? PARLEY_OK : PARLEY_ENOMEM;
}

int docs_audit(struct op *op, const bson_t *doc)
{
	parley_audit *a = op_add_audit(op);
	if (!a)
		return PARLEY_ENOMEM;
	a->id = mdb_int(doc, "id");
	a->ts = mdb_int(doc, "ts");
	a->actor_id = mdb_str(op, doc, "actor");
	a->action = mdb_str(op, doc, "action");
	a->target = mdb_str(op, doc, "target");
	a->detail = mdb_str(op, doc, "detail");
	a->client = mdb_str(op, doc, "client");
	return a->action ? PARLEY_OK : PARLEY_ENOMEM;
}

int docs_upload(struct op *op, const bson_t *doc)
{
	parley_upload *u = op_add_upload(op);
	if (!u)
		return PARLEY_ENOMEM;
	u->id = mdb_str(op, doc, "id");
	u->user_id = mdb_str(op, doc, "user");
	u->name = mdb_str(op, doc, "name");
	u->type = mdb_str(op, doc, "type");
	u->size = mdb_int(doc, "size");
	u->sha256 = mdb_str(op, doc, "sha256");
	u->key = mdb_str(op, doc, "key");
	u->tags = mdb_str(op, doc, "tags");
	u->room_id = mdb_str(op, doc, "room");
	u->message_id = mdb_str(op, doc, "message");
	u->created_ts = mdb_int(doc, "created_ts");
	return u->id && u->user_id && u->name && u->key ? PARLEY_OK : PARLEY_ENOMEM;
}
