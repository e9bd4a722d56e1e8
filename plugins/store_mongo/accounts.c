/* Users, sessions, invites. Names are unique by their folded copy
 * (name_lc); an invite is spent by one findAndModify whose filter says
 * "unused and not expired", so two nodes racing for one cannot both win. */
#include "accounts.h"

#include "docs.h"
#include "rooms.h"

int accounts_one_user(struct dbconn *c, struct op *op, const bson_t *filter)
{
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, "users", filter, NULL, &doc);
	if (rc == PARLEY_OK && (rc = docs_user(op, doc)) < 0)
		rc = op_fail(op, rc, "%s: out of memory", op->name);
	if (doc)
		bson_destroy(doc);
	return rc;
}

/* 1 when a user other than except_id has the name, 0 not, < 0 error. */
static int name_taken(struct dbconn *c, struct op *op, const char *lc, const char *except_id)
{
	bson_t *q = except_id ? BCON_NEW("name_lc", BCON_UTF8(lc), "id", "{", "$ne",
	                                 BCON_UTF8(except_id), "}")
	                      : BCON_NEW("name_lc", BCON_UTF8(lc));
	int found = mdb_exists(c, op, "users", q);
	bson_destroy(q);
	return found;
}

/* A user must exist (SQLite's foreign keys answer ENOTFOUND too). */
static int need_user(struct dbconn *c, struct op *op, const char *id)
{
	int found = rooms_user_exists(c, op, id);
	if (found < 0)
		return found;
	return found ? PARLEY_OK : op_fail(op, PARLEY_ENOTFOUND, "%s: no user %s", op->name, id);
}

int accounts_user_create(struct dbconn *c, struct op *op)
{
	const parley_user *u = &op->user;
	const char *lc = mdb_fold(op, u->name);
	int rc, taken = name_taken(c, op, lc, NULL);
	if (taken < 0)
		return taken;
	if (taken)
		return op_fail(op, PARLEY_ECONFLICT, "user_create: the name %s is taken", u->name);
	int64_t n;
	if ((rc = mdb_next_id(c, op, "user", &n)) < 0)
		return rc;
	const char *id = op_printf(op, "u_%lld", (long long)n);
	bson_t doc = BSON_INITIALIZER;
	BSON_APPEND_INT64(&doc, "n", n);
	BSON_APPEND_UTF8(&doc, "id", id);
	BSON_APPEND_UTF8(&doc, "name", u->name);
	BSON_APPEND_UTF8(&doc, "name_lc", lc);
	mdb_append_str(&doc, "display_name", u->display_name);
	BSON_APPEND_UTF8(&doc, "role", u->role);
	mdb_append_str(&doc, "email", u->email);
	mdb_append_str(&doc, "email_lc", u->email ? mdb_fold(op, u->email) : NULL);
	mdb_append_str(&doc, "password_hash", u->password_hash);
	BSON_APPEND_INT32(&doc, "disabled", u->disabled ? 1 : 0);
	BSON_APPEND_INT64(&doc, "created_ts", u->created_ts);
	bson_error_t err;
	rc = mdb_insert(c, op, "users", &doc, &err);
	bson_destroy(&doc);
	if (rc < 0)
		return rc;
	parley_user *out = op_add_user(op);
	if (!out)
		return op_fail(op, PARLEY_ENOMEM, "user_create: out of memory");
	*out = *u;
	out->id = id;
	out->disabled = u->disabled ? 1 : 0;
	return PARLEY_OK;
}

int accounts_user_get(struct dbconn *c, struct op *op)
{
	bson_t *q = op->s[0] ? BCON_NEW("id", BCON_UTF8(op->s[0]))
	                     : BCON_NEW("name_lc", BCON_UTF8(mdb_fold(op, op->s[1])));
	int rc = accounts_one_user(c, op, q);
	bson_destroy(q);
	return rc;
}

int accounts_user_update(struct dbconn *c, struct op *op)
{
	const parley_user *u = &op->user;
	int rc;
	if (u->name) {
		int taken = name_taken(c, op, mdb_fold(op, u->name), u->id);
		if (taken < 0)
			return taken;
		if (taken)
			return op_fail(op, PARLEY_ECONFLICT, "user_update: the name %s is taken",
			               u->name);
	}
	bson_t *q = BCON_NEW("id", BCON_UTF8(u->id));
	bson_t upd = BSON_INITIALIZER, set;
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	if (u->name) {
		BSON_APPEND_UTF8(&set, "name", u->name);
		BSON_APPEND_UTF8(&set, "name_lc", mdb_fold(op, u->name));
	}
	if (u->display_name)
		BSON_APPEND_UTF8(&set, "display_name", u->display_name);
	if (u->role)
		BSON_APPEND_UTF8(&set, "role", u->role);
	if (u->email) {
		BSON_APPEND_UTF8(&set, "email", u->email);
		BSON_APPEND_UTF8(&set, "email_lc", mdb_fold(op, u->email));
	}
	if (u->password_hash)
		BSON_APPEND_UTF8(&set, "password_hash", u->password_hash);
	if (op->flag)
		BSON_APPEND_INT32(&set, "disabled", u->disabled ? 1 : 0);
	int empty = bson_count_keys(&set) == 0;
	bson_append_document_end(&upd, &set);
	bson_t *doc = NULL;
	if (empty) {
		rc = accounts_one_user(c, op, q);
	} else {
		rc = mdb_modify(c, op, "users", q, &upd, 0, &doc);
		if (rc == PARLEY_OK && (rc = docs_user(op, doc)) < 0)
			rc = op_fail(op, rc, "user_update: out of memory");
	}
	if (doc)
		bson_destroy(doc);
	bson_destroy(&upd);
	bson_destroy(q);
	return rc;
}

int accounts_users_list(struct dbconn *c, struct op *op)
{
	bson_t *q = bson_new();
	bson_t *opts = BCON_NEW("sort", "{", "n", BCON_INT32(1), "}");
	int rc = mdb_each(c, op, "users", q, opts, docs_user_no_hash);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

int accounts_session_create(struct dbconn *c, struct op *op)
{
	const parley_session *s = &op->session;
	int rc = need_user(c, op, s->user_id);
	if (rc < 0)
		return rc;
	bson_t *unique = BCON_NEW("token_hash", BCON_UTF8(s->token_hash));
	bson_t doc = BSON_INITIALIZER;
	BSON_APPEND_UTF8(&doc, "token_hash", s->token_hash);
	BSON_APPEND_UTF8(&doc, "user", s->user_id);
	BSON_APPEND_INT64(&doc, "created_ts", s->created_ts);
	BSON_APPEND_INT64(&doc, "expires_ts", s->expires_ts);
	BSON_APPEND_INT64(&doc, "expires_q", mdb_query_int(s->expires_ts));
	mdb_append_str(&doc, "scopes", s->scopes);
	mdb_append_str(&doc, "rooms_json", s->rooms_json);
	rc = mdb_insert_unique(c, op, "sessions", unique, &doc);
	bson_destroy(unique);
	bson_destroy(&doc);
	if (rc == PARLEY_OK)
		op->session_out = *s;
	return rc;
}

int accounts_session_get(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("token_hash", BCON_UTF8(op->s[0]), "expires_q", "{", "$gt",
	                     BCON_INT64(mdb_query_now(op->n[0])), "}");
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, "sessions", q, NULL, &doc);
	bson_destroy(q);
	if (rc < 0)
		return rc;
	docs_session(op, doc);
	bson_destroy(doc);
	if (op->session_out.expires_ts <= op->n[0]) /* the query compared clamped times */
		return op_fail(op, PARLEY_ENOTFOUND, "session_get: expired");
	if (!op->session_out.user_id)
		return op_fail(op, PARLEY_ENOTFOUND, "session_get: session without a user");
	bson_t *uq = BCON_NEW("id", BCON_UTF8(op->session_out.user_id));
	rc = accounts_one_user(c, op, uq);
	bson_destroy(uq);
	return rc;
}

int accounts_session_delete(struct dbconn *c, struct op *op)
{
	bson_t *q;
	if (!op->s[0])
		q = BCON_NEW("user", BCON_UTF8(op->s[1]));
	else if (op->s[1])
		q = BCON_NEW("user", BCON_UTF8(op->s[1]), "token_hash", "{", "$ne",
		             BCON_UTF8(op->s[0]), "}");
	else
		q = BCON_NEW("token_hash", BCON_UTF8(op->s[0]));
	int rc = mdb_delete(c, op, "sessions", q, 1, &op->res.value);
	bson_destroy(q);
	return rc;
}

int accounts_invite_create(struct dbconn *c, struct op *op)
{
	const parley_invite *v = &op->invite;
	int rc;
	if (v->created_by && (rc = need_user(c, op, v->created_by)) < 0)
		return rc;
	bson_t *unique = BCON_NEW("token_hash", BCON_UTF8(v->token_hash));
	bson_t doc = BSON_INITIALIZER;
	BSON_APPEND_UTF8(&doc, "token_hash", v->token_hash);
	BSON_APPEND_UTF8(&doc, "role", v->role);
	mdb_append_str(&doc, "email", v->email);
	mdb_append_str(&doc, "created_by", v->created_by);
	BSON_APPEND_INT64(&doc, "created_ts", v->created_ts);
	BSON_APPEND_INT64(&doc, "expires_ts", v->expires_ts);
	BSON_APPEND_INT64(&doc, "expires_q", mdb_query_int(v->expires_ts));
	BSON_APPEND_INT64(&doc, "used_ts", 0);
	rc = mdb_insert_unique(c, op, "invites", unique, &doc);
	bson_destroy(unique);
	bson_destroy(&doc);
	if (rc == PARLEY_OK) {
		op->invite_out = *v;
		op->invite_out.used_ts = 0;
	}
	return rc;
}

int accounts_invite_use(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("token_hash", BCON_UTF8(op->s[0]), "used_ts", BCON_INT64(0),
	                     "expires_q", "{", "$gt", BCON_INT64(mdb_query_now(op->n[0])), "}");
	bson_t *u = BCON_NEW("$set", "{", "used_ts", BCON_INT64(op->n[0]), "}");
	bson_t *doc = NULL;
	int rc = mdb_modify(c, op, "invites", q, u, 0, &doc);
	if (rc == PARLEY_OK)
		docs_invite(op, doc);
	if (doc)
		bson_destroy(doc);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}
