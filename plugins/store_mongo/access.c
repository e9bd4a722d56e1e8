/* Access records. A token is spent and an invite revoked by one
 * conditional write, so two nodes racing for one cannot both win; the
 * audit log is append-only (no call deletes from it), ids from a counter. */
#include "access.h"

#include "accounts.h"
#include "docs.h"
#include "rooms.h"

static int need_user(struct dbconn *c, struct op *op, const char *id)
{
	int found = rooms_user_exists(c, op, id);
	if (found < 0)
		return found;
	return found ? PARLEY_OK : op_fail(op, PARLEY_ENOTFOUND, "%s: no user %s", op->name, id);
}

int access_user_by_email(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("email_lc", BCON_UTF8(mdb_fold(op, op->s[0])));
	bson_t *opts = BCON_NEW("sort", "{", "n", BCON_INT32(1), "}");
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, "users", q, opts, &doc);
	if (rc == PARLEY_OK && (rc = docs_user(op, doc)) < 0)
		rc = op_fail(op, rc, "user_by_email: out of memory");
	if (doc)
		bson_destroy(doc);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

int access_token_create(struct dbconn *c, struct op *op)
{
	int rc = need_user(c, op, op->s[2]);
	if (rc < 0)
		return rc;
	bson_t *unique = BCON_NEW("token_hash", BCON_UTF8(op->s[1]));
	bson_t *doc = BCON_NEW("token_hash", BCON_UTF8(op->s[1]), "kind", BCON_UTF8(op->s[0]),
	                       "user", BCON_UTF8(op->s[2]), "created_ts", BCON_INT64(op->n[2]),
	                       "expires_ts", BCON_INT64(op->n[1]), "expires_q",
	                       BCON_INT64(mdb_query_int(op->n[1])), "used_ts", BCON_INT64(0));
	rc = mdb_insert_unique(c, op, "tokens", unique, doc);
	bson_destroy(unique);
	bson_destroy(doc);
	return rc;
}

int access_token_use(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("token_hash", BCON_UTF8(op->s[1]), "kind", BCON_UTF8(op->s[0]),
	                     "used_ts", BCON_INT64(0), "expires_q", "{", "$gt",
	                     BCON_INT64(mdb_query_now(op->n[0])), "}");
	bson_t *u = BCON_NEW("$set", "{", "used_ts", BCON_INT64(op->n[0]), "}");
	bson_t *doc = NULL;
	int rc = mdb_modify(c, op, "tokens", q, u, 0, &doc);
	bson_destroy(q);
	bson_destroy(u);
	if (rc < 0)
		return rc;
	const char *user = mdb_str(op, doc, "user");
	bson_destroy(doc);
	if (!user)
		return op_fail(op, PARLEY_ENOTFOUND, "token_use: token without a user");
	bson_t *uq = BCON_NEW("id", BCON_UTF8(user));
	rc = accounts_one_user(c, op, uq);
	bson_destroy(uq);
	return rc;
}

int access_invites_list(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("used_ts", BCON_INT64(0), "expires_q", "{", "$gt",
	                     BCON_INT64(mdb_query_now(op->n[0])), "}");
	bson_t *opts = BCON_NEW("sort", "{", "created_ts", BCON_INT32(1), "}");
	int rc = mdb_each(c, op, "invites", q, opts, docs_invite_add);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

int access_invite_revoke(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("token_hash", BCON_UTF8(op->s[0]), "used_ts", BCON_INT64(0));
	int64_t n = 0;
	int rc = mdb_delete(c, op, "invites", q, 0, &n);
	bson_destroy(q);
	if (rc == PARLEY_OK && n == 0)
		return op_fail(op, PARLEY_ENOTFOUND, "no unused invite with that id");
	return rc;
}

int access_audit_append(struct dbconn *c, struct op *op)
{
	const parley_audit *a = &op->audit;
	int rc;
	if (a->actor_id && (rc = need_user(c, op, a->actor_id)) < 0)
		return rc;
	int64_t id;
	if ((rc = mdb_next_id(c, op, "audit", &id)) < 0)
		return rc;
	bson_t doc = BSON_INITIALIZER;
	BSON_APPEND_INT64(&doc, "id", id);
	BSON_APPEND_INT64(&doc, "ts", a->ts);
	mdb_append_str(&doc, "actor", a->actor_id);
	BSON_APPEND_UTF8(&doc, "action", a->action);
	mdb_append_str(&doc, "target", a->target);
	mdb_append_str(&doc, "detail", a->detail);
	mdb_append_str(&doc, "client", a->client);
	bson_error_t err;
	rc = mdb_insert(c, op, "audit", &doc, &err);
	bson_destroy(&doc);
	if (rc < 0)
		return rc;
	parley_audit *out = op_add_audit(op);
	if (!out)
		return op_fail(op, PARLEY_ENOMEM, "audit_append: out of memory");
	*out = *a;
	out->id = id;
	return PARLEY_OK;
}

int access_audit_list(struct dbconn *c, struct op *op)
{
	bson_t *q =
	    op->n[0] > 0 ? BCON_NEW("id", "{", "$lt", BCON_INT64(op->n[0]), "}") : bson_new();
	bson_t *opts =
	    BCON_NEW("sort", "{", "id", BCON_INT32(-1), "}", "limit", BCON_INT64(op->n[1] + 1));
	int rc = mdb_each(c, op, "audit", q, opts, docs_audit);
	bson_destroy(q);
	bson_destroy(opts);
	if (rc == PARLEY_OK && (int64_t)op->n_audits > op->n[1]) {
		op->n_audits = (size_t)op->n[1];
		op->res.more = 1;
	}
	return rc;
}

int access_settings_get(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("user", BCON_UTF8(op->s[0]));
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, "settings", q, NULL, &doc);
	bson_destroy(q);
	if (rc == PARLEY_OK) {
		op->res.text = mdb_str(op, doc, "json");
		bson_destroy(doc);
	} else if (rc == PARLEY_ENOTFOUND) { /* never set: no settings, not an error */
		op->res.rc = PARLEY_OK;
		op->error[0] = '\0';
		rc = PARLEY_OK;
	}
	return rc;
}

int access_settings_set(struct dbconn *c, struct op *op)
{
	int rc = need_user(c, op, op->s[0]);
	if (rc < 0)
		return rc;
	bson_t *q = BCON_NEW("user", BCON_UTF8(op->s[0]));
	bson_t *u = BCON_NEW("$set", "{", "json", BCON_UTF8(op->s[1]), "}");
	rc = mdb_update(c, op, "settings", q, u, 0, 1, NULL);
	/* Two first upserts racing on a real server: one duplicate key. */
	if (rc == PARLEY_ECONFLICT)
		rc = mdb_update(c, op, "settings", q, u, 0, 1, NULL);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}
