/* Row readers and public ids. The reactions JSON is built with jansson,
 * which escapes and checks UTF-8 for us. */
#include "rows.h"

#include <errno.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

int rows_id_parse(const char *s, char prefix, int64_t *out)
{
	if (!s || s[0] != prefix || s[1] != '_' || s[2] < '1' || s[2] > '9')
		return 0;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s + 2, &end, 10);
	if (errno || *end || v <= 0)
		return 0;
	*out = v;
	return 1;
}

const char *rows_id(struct op *op, char prefix, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	return op_printf(op, "%c_%lld", prefix, (long long)sqlite3_column_int64(st, col));
}

static const char *col_text(struct op *op, sqlite3_stmt *st, int col)
{
	return op_strdup(op, (const char *)sqlite3_column_text(st, col));
}

int rows_message(struct op *op, sqlite3_stmt *st)
{
	parley_message *m = op_add_message(op);
	if (!m)
		return PARLEY_ENOMEM;
	m->id = rows_id(op, 'm', st, 0);
	m->room_id = rows_id(op, 'r', st, 1);
	m->seq = sqlite3_column_int64(st, 2);
	m->user_id = rows_id(op, 'u', st, 3);
	m->text = col_text(op, st, 4);
	m->ts = sqlite3_column_int64(st, 5);
	m->client_id = col_text(op, st, 6);
	m->reply_to = col_text(op, st, 7);
	m->mentions_json = col_text(op, st, 8);
	m->attachments_json = col_text(op, st, 9);
	m->edited_ts = sqlite3_column_int64(st, 10);
	m->deleted = sqlite3_column_int(st, 11);
	if (!m->id || !m->room_id || !m->user_id)
		return PARLEY_ENOMEM;
	parley_thread_info *t = op_add_thread(op, m->id);
	if (!t)
		return PARLEY_ENOMEM;
	t->thread_id = rows_id(op, 'm', st, 12);
	t->also_room = sqlite3_column_int(st, 13);
	t->replies = sqlite3_column_int64(st, 14);
	t->last_reply_ts = sqlite3_column_int64(st, 15);
	return PARLEY_OK;
}

int rows_room(struct op *op, sqlite3_stmt *st)
{
	parley_room *r = op_add_room(op);
	if (!r)
		return PARLEY_ENOMEM;
	r->id = rows_id(op, 'r', st, 0);
	r->name = col_text(op, st, 1);
	r->kind = col_text(op, st, 2);
	r->topic = col_text(op, st, 3);
	r->created_by = rows_id(op, 'u', st, 4);
	r->created_ts = sqlite3_column_int64(st, 5);
	r->last_seq = sqlite3_column_int64(st, 6);
	return r->id && r->name ? PARLEY_OK : PARLEY_ENOMEM;
}

int rows_user(struct op *op, sqlite3_stmt *st, int with_hash)
{
	parley_user *u = op_add_user(op);
	if (!u)
		return PARLEY_ENOMEM;
	u->id = rows_id(op, 'u', st, 0);
	u->name = col_text(op, st, 1);
	u->display_name = col_text(op, st, 2);
	u->role = col_text(op, st, 3);
	u->email = col_text(op, st, 4);
	u->password_hash = with_hash ? col_text(op, st, 5) : NULL;
	u->disabled = sqlite3_column_int(st, 6);
	u->created_ts = sqlite3_column_int64(st, 7);
	return u->id && u->name ? PARLEY_OK : PARLEY_ENOMEM;
}

int rows_member(struct op *op, sqlite3_stmt *st)
{
	parley_member *m = op_add_member(op);
	if (!m)
		return PARLEY_ENOMEM;
	m->room_id = rows_id(op, 'r', st, 0);
	m->user_id = rows_id(op, 'u', st, 1);
	m->role = col_text(op, st, 2);
	m->read_seq = sqlite3_column_int64(st, 3);
	return m->room_id && m->user_id ? PARLEY_OK : PARLEY_ENOMEM;
}

void rows_session(struct op *op, sqlite3_stmt *st)
{
	parley_session *s = &op->session_out;
	s->token_hash = col_text(op, st, 0);
	s->user_id = rows_id(op, 'u', st, 1);
	s->created_ts = sqlite3_column_int64(st, 2);
	s->expires_ts = sqlite3_column_int64(st, 3);
	s->scopes = col_text(op, st, 4);
	s->rooms_json = col_text(op, st, 5);
}

static void invite_read(struct op *op, sqlite3_stmt *st, parley_invite *v)
{
	v->token_hash = col_text(op, st, 0);
	v->role = col_text(op, st, 1);
	v->email = col_text(op, st, 2);
	v->created_by = rows_id(op, 'u', st, 3);
	v->created_ts = sqlite3_column_int64(st, 4);
	v->expires_ts = sqlite3_column_int64(st, 5);
	v->used_ts = sqlite3_column_int64(st, 6);
}

void rows_invite(struct op *op, sqlite3_stmt *st)
{
	invite_read(op, st, &op->invite_out);
}

int rows_invite_add(struct op *op, sqlite3_stmt *st)
{
	parley_invite *v = op_add_invite(op);
	if (!v)
		return PARLEY_ENOMEM;
	invite_read(op, st, v);
	return v->token_hash ? PARLEY_OK : PARLEY_ENOMEM;
}

int rows_audit(struct op *op, sqlite3_stmt *st)
{
	parley_audit *a = op_add_audit(op);
	if (!a)
		return PARLEY_ENOMEM;
	a->id = sqlite3_column_int64(st, 0);
	a->ts = sqlite3_column_int64(st, 1);
	a->actor_id = rows_id(op, 'u', st, 2);
	a->action = col_text(op, st, 3);
	a->target = col_text(op, st, 4);
	a->detail = col_text(op, st, 5);
	a->client = col_text(op, st, 6);
	return a->action ? PARLEY_OK : PARLEY_ENOMEM;
}

static const char SQL_REACTIONS[] =
    "SELECT emoji, user FROM reactions WHERE message = ? ORDER BY rowid";

/* One message's reactions as JSON in the arena, or NULL when it has none. */
static int reactions_one(struct dbconn *c, struct op *op, int64_t msg_key, const char **out)
{
	int rc = PARLEY_OK;
	json_t *obj = NULL;
	char *text = NULL;
	sqlite3_stmt *st = db_stmt(c, SQL_REACTIONS);
	if (!st)
		return op_fail(op, PARLEY_ERR, "reactions: %s", sqlite3_errmsg(c->db));
	db_bind_int(st, 1, msg_key);
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *emoji = (const char *)sqlite3_column_text(st, 0);
		char user[32];
		snprintf(user, sizeof user, "u_%lld", (long long)sqlite3_column_int64(st, 1));
		if (!obj && !(obj = json_object()))
			goto nomem;
		json_t *list = json_object_get(obj, emoji);
		if (!list) {
			list = json_array();
			if (!list || json_object_set_new(obj, emoji, list) != 0)
				goto nomem;
		}
		if (json_array_append_new(list, json_string(user)) != 0)
			goto nomem;
	}
	if (src != SQLITE_DONE) {
		rc = op_fail(op, db_rc(src), "reactions: %s", sqlite3_errmsg(c->db));
		goto out;
	}
	*out = NULL;
	if (obj) {
		text = json_dumps(obj, JSON_COMPACT);
		if (!text || !(*out = op_strdup(op, text)))
			goto nomem;
	}
	goto out;
nomem:
	rc = op_fail(op, PARLEY_ENOMEM, "reactions: out of memory");
out:
	sqlite3_reset(st);
	free(text);
	json_decref(obj);
	return rc;
}

int rows_reactions(struct dbconn *c, struct op *op, size_t first)
{
	for (size_t i = first; i < op->n_msgs; i++) {
		int64_t key;
		if (!rows_id_parse(op->msgs[i].id, 'm', &key))
			return op_fail(op, PARLEY_ERR, "bad message id");
		int rc = reactions_one(c, op, key, &op->msgs[i].reactions_json);
		if (rc < 0)
			return rc;
	}
	return PARLEY_OK;
}

int rows_one(struct dbconn *c, struct op *op, sqlite3_stmt *st)
{
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		return PARLEY_OK;
	if (src == SQLITE_DONE)
		return op_fail(op, PARLEY_ENOTFOUND, "%s: not found", op->name);
	return op_fail(op, db_rc(src), "%s: %s", op->name, sqlite3_errmsg(c->db));
}

int rows_json_text(struct dbconn *c, struct op *op, sqlite3_stmt *st)
{
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK) {
		const unsigned char *text = sqlite3_column_text(st, 0);
		op->res.text = op_strdup(op, text ? (const char *)text : "[]");
		if (!op->res.text)
			rc = PARLEY_ENOMEM;
	}
	sqlite3_reset(st);
	return rc;
}

sqlite3_stmt *rows_stmt(struct dbconn *c, struct op *op, const char *sql)
{
	sqlite3_stmt *st = db_stmt(c, sql);
	if (!st)
		op_fail(op, PARLEY_ERR, "%s: %s", op->name, sqlite3_errmsg(c->db));
	return st;
}

int rows_error(struct dbconn *c, struct op *op, int sqlite_rc)
{
	return op_fail(op, db_rc(sqlite_rc), "%s: %s", op->name, sqlite3_errmsg(c->db));
}

int rows_done(struct dbconn *c, struct op *op, sqlite3_stmt *st)
{
	int src = sqlite3_step(st);
	sqlite3_reset(st);
	return src == SQLITE_DONE ? PARLEY_OK : rows_error(c, op, src);
}

int rows_all(struct dbconn *c, struct op *op, sqlite3_stmt *st,
             int (*read)(struct op *op, sqlite3_stmt *st))
{
	int src, rc = PARLEY_OK;
	while (rc == PARLEY_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = read(op, st);
	sqlite3_reset(st);
	if (rc < 0)
		return op_fail(op, rc, "%s: out of memory", op->name);
	return src == SQLITE_DONE ? PARLEY_OK : rows_error(c, op, src);
}
