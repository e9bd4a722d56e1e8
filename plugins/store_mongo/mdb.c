/* MongoDB helpers shared by the operation files (see mdb.h). */
#include "mdb.h"

#include <string.h>

#include "health.h"
#include "store.h"

mongoc_collection_t *mdb_coll(struct dbconn *c, const char *name)
{
	return mongoc_client_get_collection(c->client, c->database, name);
}

int mdb_is_duplicate(const bson_error_t *err)
{
	return err->domain != MONGOC_ERROR_STREAM && err->domain != MONGOC_ERROR_SERVER_SELECTION &&
	       (err->code == MDB_DUPLICATE_KEY || err->code == 11001);
}

/* Server codes that mean "not now, maybe elsewhere": not primary, node
 * recovering or shutting down, a write concern that failed or timed out,
 * network trouble reported by the server itself. */
static int transient_code(uint32_t code)
{
	static const uint32_t codes[] = {6,     7,     50,    64,    89,    91,    189, 262, 9001,
	                                 10058, 10107, 11600, 11602, 13435, 13436, 79,  100};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i] == code)
			return 1;
	return 0;
}

int mdb_fail(struct dbconn *c, struct op *op, const bson_error_t *err)
{
	/* First: a write concern error also carries a server code (64, 100)
	 * that would read as transient; the write reached the primary. */
	if (err->domain == MONGOC_ERROR_WRITE_CONCERN)
		return op_fail(op, PARLEY_EUNAVAIL, "%s: write concern not satisfied: %s", op->name,
		               err->message);
	if (err->domain == MONGOC_ERROR_STREAM || err->domain == MONGOC_ERROR_SERVER_SELECTION ||
	    (err->domain == MONGOC_ERROR_CLIENT && err->code == MONGOC_ERROR_CLIENT_AUTHENTICATE) ||
	    strstr(err->message, "not primary") || strstr(err->message, "not master") ||
	    transient_code(err->code)) {
		health_down(c->st->health, err->message);
		return op_fail(op, PARLEY_EUNAVAIL, "%s: database unavailable: %s", op->name,
		               err->message);
	}
	if (mdb_is_duplicate(err))
		return op_fail(op, PARLEY_ECONFLICT, "%s: %s", op->name, err->message);
	return op_fail(op, PARLEY_ERR, "%s: %s", op->name, err->message);
}

const char *mdb_str(struct op *op, const bson_t *doc, const char *key)
{
	bson_iter_t it;
	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return op_strdup(op, bson_iter_utf8(&it, NULL));
}

int64_t mdb_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	if (!bson_iter_init_find(&it, doc, key))
		return 0;
	switch (bson_iter_type(&it)) {
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
	case BSON_TYPE_DOUBLE:
	case BSON_TYPE_BOOL:
		return bson_iter_as_int64(&it);
	default:
		return 0;
	}
}

void mdb_append_str(bson_t *b, const char *key, const char *s)
{
	if (s)
		BSON_APPEND_UTF8(b, key, s);
	else
		BSON_APPEND_NULL(b, key);
}

int64_t mdb_query_int(int64_t v)
{
	const int64_t max = ((int64_t)1 << 53) - 1;
	return v > max ? max : v < -max ? -max : v;
}

int64_t mdb_query_now(int64_t now)
{
	int64_t v = mdb_query_int(now);
	return v == ((int64_t)1 << 53) - 1 ? v - 1 : v;
}

const char *mdb_fold(struct op *op, const char *s)
{
	char *p = op_strdup(op, s);
	for (char *q = p; q && *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return p;
}

int mdb_modify(struct dbconn *c, struct op *op, const char *coll, const bson_t *query,
               const bson_t *update, int upsert, bson_t **doc)
{
	mongoc_collection_t *col = mdb_coll(c, coll);
	mongoc_find_and_modify_opts_t *o = mongoc_find_and_modify_opts_new();
	mongoc_find_and_modify_opts_set_update(o, update);
	mongoc_find_and_modify_opts_set_flags(
	    o, MONGOC_FIND_AND_MODIFY_RETURN_NEW |
	           (upsert ? MONGOC_FIND_AND_MODIFY_UPSERT : MONGOC_FIND_AND_MODIFY_NONE));
	bson_t reply;
	bson_error_t err;
	int rc = PARLEY_OK;
	*doc = NULL;
	if (!mongoc_collection_find_and_modify_with_opts(col, query, o, &reply, &err)) {
		rc = mdb_fail(c, op, &err);
	} else {
		bson_iter_t it;
		if (bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
			uint32_t len;
			const uint8_t *data;
			bson_iter_document(&it, &len, &data);
			*doc = bson_new_from_data(data, len);
		}
		if (!*doc)
			rc = op_fail(op, PARLEY_ENOTFOUND, "%s: not found", op->name);
	}
	bson_destroy(&reply);
	mongoc_find_and_modify_opts_destroy(o);
	mongoc_collection_destroy(col);
	return rc;
}

int mdb_next_id(struct dbconn *c, struct op *op, const char *counter, int64_t *out)
{
	bson_t *q = BCON_NEW("name", BCON_UTF8(counter));
	bson_t *u = BCON_NEW("$inc", "{", "n", BCON_INT64(1), "}");
	bson_t *doc = NULL;
	int rc = mdb_modify(c, op, "counters", q, u, 1, &doc);
	/* Two first upserts racing on a real server: one gets a duplicate key
	 * from the unique index on name; the document exists now. */
	if (rc == PARLEY_ECONFLICT)
		rc = mdb_modify(c, op, "counters", q, u, 1, &doc);
	if (rc == PARLEY_OK)
		*out = mdb_int(doc, "n");
	if (doc)
		bson_destroy(doc);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

int mdb_find_one(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter,
                 const bson_t *opts, bson_t **doc)
{
	mongoc_collection_t *col = mdb_coll(c, coll);
	bson_t o = BSON_INITIALIZER;
	if (opts)
		bson_copy_to_excluding_noinit(opts, &o, "limit", NULL);
	BSON_APPEND_INT64(&o, "limit", 1);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, &o, NULL);
	const bson_t *d;
	bson_error_t err;
	int rc;
	*doc = NULL;
	if (mongoc_cursor_next(cur, &d)) {
		*doc = bson_copy(d);
		rc = PARLEY_OK;
	} else if (mongoc_cursor_error(cur, &err)) {
		rc = mdb_fail(c, op, &err);
	} else {
		rc = op_fail(op, PARLEY_ENOTFOUND, "%s: not found", op->name);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&o);
	mongoc_collection_destroy(col);
	return rc;
}

int mdb_exists(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter)
{
	bson_t *doc = NULL;
	bson_t *proj = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
	int rc = mdb_find_one(c, op, coll, filter, proj, &doc);
	bson_destroy(proj);
	if (doc)
		bson_destroy(doc);
	if (rc == PARLEY_ENOTFOUND) {
		op->res.rc = PARLEY_OK;
		op->error[0] = '\0';
		return 0;
	}
	return rc == PARLEY_OK ? 1 : rc;
}

int mdb_insert(struct dbconn *c, struct op *op, const char *coll, const bson_t *doc,
               bson_error_t *err)
{
	mongoc_collection_t *col = mdb_coll(c, coll);
	int ok = mongoc_collection_insert_one(col, doc, NULL, NULL, err);
	mongoc_collection_destroy(col);
	return ok ? PARLEY_OK : mdb_fail(c, op, err);
}

int mdb_insert_unique(struct dbconn *c, struct op *op, const char *coll, const bson_t *unique,
                      const bson_t *doc)
{
	int found = mdb_exists(c, op, coll, unique);
	if (found < 0)
		return found;
	if (found)
		return op_fail(op, PARLEY_ECONFLICT, "%s: already exists", op->name);
	bson_error_t err;
	return mdb_insert(c, op, coll, doc, &err);
}

int mdb_each(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter,
             const bson_t *opts, int (*fn)(struct op *op, const bson_t *doc))
{
	mongoc_collection_t *col = mdb_coll(c, coll);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, opts, NULL);
	const bson_t *d;
	bson_error_t err;
	int rc = PARLEY_OK;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &d))
		if ((rc = fn(op, d)) < 0)
			rc = op_fail(op, rc, "%s: out of memory", op->name);
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &err))
		rc = mdb_fail(c, op, &err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	return rc;
}

int mdb_delete(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter, int many,
               int64_t *n)
{
	mongoc_collection_t *col = mdb_coll(c, coll);
	bson_t reply;
	bson_error_t err;
	int ok = many ? mongoc_collection_delete_many(col, filter, NULL, &reply, &err)
	              : mongoc_collection_delete_one(col, filter, NULL, &reply, &err);
	int rc = ok ? PARLEY_OK : mdb_fail(c, op, &err);
	if (ok && n)
		*n = mdb_int(&reply, "deletedCount");
	bson_destroy(&reply);
	mongoc_collection_destroy(col);
	return rc;
}

int mdb_update(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter,
               const bson_t *update, int many, int upsert, int64_t *matched)
{
	mongoc_collection_t *col = mdb_coll(c, coll);
	bson_t reply;
	bson_error_t err;
	bson_t *opts = upsert ? BCON_NEW("upsert", BCON_BOOL(true)) : NULL;
	int ok = many ? mongoc_collection_update_many(col, filter, update, opts, &reply, &err)
	              : mongoc_collection_update_one(col, filter, update, opts, &reply, &err);
	int rc = ok ? PARLEY_OK : mdb_fail(c, op, &err);
	if (ok && matched)
		*matched = mdb_int(&reply, "matchedCount");
	bson_destroy(&reply);
	if (opts)
		bson_destroy(opts);
	mongoc_collection_destroy(col);
	return rc;
}
