/* Rooms an owner can run (issue 18): rename, the settings object (the
 * delete is room_delete.c). A rename keeps unique_name_lc (public rooms
 * and DMs) in step, checked before the write like room_create (the test
 * server does not enforce unique indexes; the partial unique index
 * settles two nodes racing). The settings are the core's JSON text in the
 * room's document. */
#include "room_settings.h"

#include <string.h>

#include "docs.h"

int room_admin_rename(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(op->args.room_admin.room));
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, "rooms", q, NULL, &doc);
	if (rc < 0) {
		bson_destroy(q);
		return rc;
	}
	const char *kind = mdb_str(op, doc, "kind");
	bson_destroy(doc);
	doc = NULL;
	const char *lc = mdb_fold(op, op->args.room_admin.name);
	int unique = kind && strcmp(kind, "private") != 0;
	if (unique) {
		bson_t *taken = BCON_NEW("unique_name_lc", BCON_UTF8(lc), "id", "{", "$ne",
		                         BCON_UTF8(op->args.room_admin.room), "}");
		int found = mdb_exists(c, op, "rooms", taken);
		bson_destroy(taken);
		if (found) {
			bson_destroy(q);
			return found < 0 ? found
			                 : op_fail(op, PARLEY_ECONFLICT,
			                           "room_rename: the name %s is taken",
			                           op->args.room_admin.name);
		}
	}
	bson_t *u = bson_new(), set;
	BSON_APPEND_DOCUMENT_BEGIN(u, "$set", &set);
	BSON_APPEND_UTF8(&set, "name", op->args.room_admin.name);
	BSON_APPEND_UTF8(&set, "name_lc", lc);
	if (unique)
		BSON_APPEND_UTF8(&set, "unique_name_lc", lc);
	bson_append_document_end(u, &set);
	rc = mdb_modify(c, op, "rooms", q, u, 0, &doc);
	if (rc == PARLEY_OK && (rc = docs_room(op, doc)) < 0)
		rc = op_fail(op, rc, "room_rename: out of memory");
	if (doc)
		bson_destroy(doc);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

int room_admin_settings_set(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(op->args.room_admin.room));
	bson_t *u = BCON_NEW("$set", "{", "settings", BCON_UTF8(op->args.room_admin.json), "}");
	int64_t matched = 0;
	int rc = mdb_update(c, op, "rooms", q, u, 0, 0, &matched);
	bson_destroy(q);
	bson_destroy(u);
	if (rc == PARLEY_OK && !matched)
		return op_fail(op, PARLEY_ENOTFOUND, "room_settings_set: no room %s",
		               op->args.room_admin.room);
	return rc;
}

/* Appends {"room":…,"settings":…} of one room to the list being built in
 * op->res.text's stand-in (op->args.room_admin.json, grown in the arena). */
static int add_settings(struct op *op, const bson_t *doc)
{
	const char *id = mdb_str(op, doc, "id");
	const char *settings = mdb_str(op, doc, "settings");
	if (!id || !settings)
		return PARLEY_OK;
	const char *so_far = op->args.room_admin.json;
	const char *next = op_printf(op, "%s%s{\"room\":\"%s\",\"settings\":%s}",
	                             so_far ? so_far : "", so_far ? "," : "", id, settings);
	if (!next)
		return PARLEY_ENOMEM;
	op->args.room_admin.json = next;
	return PARLEY_OK;
}

int room_admin_settings_list(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("settings", "{", "$exists", BCON_BOOL(1), "}");
	bson_t *opts = BCON_NEW("sort", "{", "n", BCON_INT32(1), "}");
	op->args.room_admin.json = NULL;
	int rc = mdb_each(c, op, "rooms", q, opts, add_settings);
	bson_destroy(q);
	bson_destroy(opts);
	if (rc < 0)
		return rc;
	const char *list = op->args.room_admin.json;
	op->res.text = op_printf(op, "[%s]", list ? list : "");
	return op->res.text ? PARLEY_OK
	                    : op_fail(op, PARLEY_ENOMEM, "room_settings_list: out of memory");
}
