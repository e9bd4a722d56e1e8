/* Upload records (see uploads.h); ids "up_<n>" from a counter. */
#include "uploads.h"

#include "docs.h"
#include "rooms.h"

static const char UPLOADS[] = "uploads";

static int one(struct dbconn *c, struct op *op, bson_t *doc)
{
	int rc = docs_upload(op, doc);
	bson_destroy(doc);
	return rc < 0 ? op_fail(op, rc, "%s: out of memory", op->name) : PARLEY_OK;
}

int uploads_create(struct dbconn *c, struct op *op)
{
	const parley_upload *u = &op->upload;
	int found = rooms_user_exists(c, op, u->user_id);
	if (found < 0)
		return found;
	if (!found)
		return op_fail(op, PARLEY_ENOTFOUND, "upload_create: no user %s", u->user_id);
	int64_t n;
	int rc = mdb_next_id(c, op, "upload", &n);
	if (rc < 0)
		return rc;
	const char *id = op_printf(op, "up_%lld", (long long)n);
	bson_t *unique = BCON_NEW("key", BCON_UTF8(u->key));
	bson_t doc = BSON_INITIALIZER;
	BSON_APPEND_INT64(&doc, "n", n);
	BSON_APPEND_UTF8(&doc, "id", id);
	BSON_APPEND_UTF8(&doc, "user", u->user_id);
	BSON_APPEND_UTF8(&doc, "name", u->name);
	BSON_APPEND_UTF8(&doc, "type", u->type);
	BSON_APPEND_INT64(&doc, "size", u->size);
	BSON_APPEND_UTF8(&doc, "sha256", u->sha256);
	BSON_APPEND_UTF8(&doc, "key", u->key);
	mdb_append_str(&doc, "tags", u->tags);
	/* Kept when given (a copy of another store's records). */
	mdb_append_str(&doc, "room", u->room_id);
	mdb_append_str(&doc, "message", u->message_id);
	BSON_APPEND_INT64(&doc, "created_ts", u->created_ts);
	rc = mdb_insert_unique(c, op, UPLOADS, unique, &doc);
	bson_t *copy = rc == PARLEY_OK ? bson_copy(&doc) : NULL;
	bson_destroy(unique);
	bson_destroy(&doc);
	return copy ? one(c, op, copy) : rc;
}

int uploads_get(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(op->s[0]));
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, UPLOADS, q, NULL, &doc);
	bson_destroy(q);
	return rc < 0 ? rc : one(c, op, doc);
}

int uploads_attach(struct dbconn *c, struct op *op)
{
	bson_t *q =
	    BCON_NEW("id", BCON_UTF8(op->s[0]), "user", BCON_UTF8(op->s[1]), "message", BCON_NULL);
	bson_t *u = bson_new(), set;
	BSON_APPEND_DOCUMENT_BEGIN(u, "$set", &set);
	BSON_APPEND_UTF8(&set, "room", op->s[2]);
	mdb_append_str(&set, "message", op->s[3]);
	bson_append_document_end(u, &set);
	bson_t *doc = NULL;
	int rc = mdb_modify(c, op, UPLOADS, q, u, 0, &doc);
	bson_destroy(q);
	bson_destroy(u);
	return rc < 0 ? rc : one(c, op, doc);
}

int uploads_delete(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(op->s[0]));
	int rc = mdb_delete(c, op, UPLOADS, q, 0, NULL);
	bson_destroy(q);
	return rc;
}

int uploads_unattached(struct dbconn *c, struct op *op)
{
	bson_t *q =
	    BCON_NEW("message", BCON_NULL, "created_ts", "{", "$lt", BCON_INT64(op->n[0]), "}");
	bson_t *opts =
	    BCON_NEW("sort", "{", "created_ts", BCON_INT32(1), "}", "limit", BCON_INT64(op->flag));
	int rc = mdb_each(c, op, UPLOADS, q, opts, docs_upload);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

/* Sums sizes on the client: the same on every server, no aggregation. */
static int add_size(struct op *op, const bson_t *doc)
{
	op->res.value += mdb_int(doc, "size");
	return PARLEY_OK;
}

int uploads_usage(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("user", BCON_UTF8(op->s[0]), "created_ts", "{", "$gte",
	                     BCON_INT64(op->n[1]), "}");
	bson_t *opts = BCON_NEW("projection", "{", "size", BCON_INT32(1), "}");
	op->res.value = 0;
	int rc = mdb_each(c, op, UPLOADS, q, opts, add_size);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}
