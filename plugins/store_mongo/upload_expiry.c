/* Upload retention (issue 17): uploads_expire, as store_sqlite's. The
 * oldest attached uploads before a time are marked expired in their
 * message's attachment list (no "url", "expired": true) and detached, so
 * the core removes their objects and then their records. */
#include "upload_expiry.h"

#include <string.h>

#include <jansson.h>

#include "docs.h"

/* The message's attachment entry for upload_id loses its url and is
 * marked expired; the other entries and an unparsable list stay as they
 * are (store_sqlite skips lists that are not valid JSON too). */
static int mark_expired(struct dbconn *c, struct op *op, const char *message_id,
                        const char *upload_id)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(message_id));
	bson_t *opts = BCON_NEW("projection", "{", "attachments_json", BCON_INT32(1), "}");
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, "messages", q, opts, &doc);
	bson_destroy(opts);
	if (rc == PARLEY_ENOTFOUND) { /* gone meanwhile: nothing to mark */
		op->res.rc = PARLEY_OK;
		op->error[0] = '\0';
	}
	if (rc < 0) {
		bson_destroy(q);
		return rc == PARLEY_ENOTFOUND ? PARLEY_OK : rc;
	}
	const char *text = mdb_str(op, doc, "attachments_json");
	bson_destroy(doc);
	json_t *list = text ? json_loads(text, 0, NULL) : NULL;
	char *out = NULL;
	if (json_is_array(list)) {
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e)
		{
			const char *id = json_string_value(json_object_get(e, "id"));
			if (json_is_object(e) && id && strcmp(id, upload_id) == 0) {
				json_object_del(e, "url");
				json_object_set_new(e, "expired", json_true());
			}
		}
		out = json_dumps(list, JSON_COMPACT);
	}
	json_decref(list);
	if (!out) {
		bson_destroy(q);
		return PARLEY_OK;
	}
	bson_t *u = BCON_NEW("$set", "{", "attachments_json", BCON_UTF8(out), "}");
	free(out);
	rc = mdb_update(c, op, "messages", q, u, 0, 0, NULL);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

int upload_expiry_run(struct dbconn *c, struct op *op)
{
	int limit = op->args.unattached.limit;
	bson_t *q = BCON_NEW("message", "{", "$ne", BCON_NULL, "}", "created_ts", "{", "$lt",
	                     BCON_INT64(op->args.unattached.before_ts), "}");
	/* One more than asked: whether more are due. */
	bson_t *opts = BCON_NEW("sort", "{", "created_ts", BCON_INT32(1), "n", BCON_INT32(1), "}",
	                        "limit", BCON_INT64(limit + 1));
	int rc = mdb_each(c, op, "uploads", q, opts, docs_upload);
	bson_destroy(q);
	bson_destroy(opts);
	if (rc < 0)
		return rc;
	if (op->n_uploads > (size_t)limit) {
		op->n_uploads = (size_t)limit;
		op->res.more = 1;
	}
	for (size_t i = 0; i < op->n_uploads; i++) {
		parley_upload *up = &op->uploads[i];
		if ((rc = mark_expired(c, op, up->message_id, up->id)) < 0)
			return rc;
		bson_t *by_id = BCON_NEW("id", BCON_UTF8(up->id));
		bson_t *u = BCON_NEW("$set", "{", "room", BCON_NULL, "message", BCON_NULL, "}");
		rc = mdb_update(c, op, "uploads", by_id, u, 0, 0, NULL);
		bson_destroy(by_id);
		bson_destroy(u);
		if (rc < 0)
			return rc;
		up->room_id = NULL;
		up->message_id = NULL;
	}
	return PARLEY_OK;
}

int upload_expiry_call(void *self, int64_t before_ts, int limit, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "uploads_expire", upload_expiry_run, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (limit < 1 || limit > UPLOAD_EXPIRY_MAX)
		return bad_args(op);
	op->args.unattached.before_ts = before_ts;
	op->args.unattached.limit = limit;
	return submit(op, NULL);
}
