/* Pinned messages (see pins.h). pin_set changes the message only when it
 * is live and not already so (one conditional update); when nothing
 * matched, a second look tells "already so" (value 0) from "no such live
 * message" (ENOTFOUND), as store_sqlite answers. */
#include "pins.h"

#include <string.h>

#include "docs.h"
#include "ids.h"
#include "mdb.h"
#include "store.h"

static const char MESSAGES[] = "messages";

static int pins_set(struct dbconn *c, struct op *op)
{
	const char *room = op->args.pin.room, *message = op->args.pin.message;
	bson_t *q =
	    BCON_NEW("id", BCON_UTF8(message), "room", BCON_UTF8(room), "deleted", BCON_INT32(0),
	             "pin_ts", "{", "$exists", BCON_BOOL(!op->args.pin.on), "}");
	bson_t *u = bson_new(), set;
	if (op->args.pin.on) {
		/* pin_user: who pinned, or null (store_sqlite's NULL user). */
		BSON_APPEND_DOCUMENT_BEGIN(u, "$set", &set);
		BSON_APPEND_INT64(&set, "pin_ts", op->args.pin.ts);
		mdb_append_str(&set, "pin_user", op->args.pin.user);
	} else {
		BSON_APPEND_DOCUMENT_BEGIN(u, "$unset", &set);
		BSON_APPEND_UTF8(&set, "pin_ts", "");
		BSON_APPEND_UTF8(&set, "pin_user", "");
	}
	bson_append_document_end(u, &set);
	int64_t matched = 0;
	int rc = mdb_update(c, op, MESSAGES, q, u, 0, 0, &matched);
	bson_destroy(q);
	bson_destroy(u);
	if (rc < 0)
		return rc;
	if (matched > 0) {
		op->res.value = 1;
		return PARLEY_OK;
	}
	q = BCON_NEW("id", BCON_UTF8(message), "room", BCON_UTF8(room), "deleted", BCON_INT32(0));
	int live = mdb_exists(c, op, MESSAGES, q);
	bson_destroy(q);
	if (live < 0)
		return live;
	if (!live)
		return op_fail(op, PARLEY_ENOTFOUND, "pin_set: no message %s in %s", message, room);
	op->res.value = 0;
	return PARLEY_OK;
}

static int pins_list(struct dbconn *c, struct op *op)
{
	bson_t *q = bson_new();
	if (op->args.pin.room)
		BSON_APPEND_UTF8(q, "room", op->args.pin.room);
	bson_t sub;
	BSON_APPEND_DOCUMENT_BEGIN(q, "pin_ts", &sub);
	BSON_APPEND_BOOL(&sub, "$exists", true);
	bson_append_document_end(q, &sub);
	BSON_APPEND_INT32(q, "deleted", 0);
	/* Newest pin first, then the newer message (store_sqlite's id DESC). */
	bson_t *opts = BCON_NEW("sort", "{", "pin_ts", BCON_INT32(-1), "n", BCON_INT32(-1), "}");
	int rc = mdb_each(c, op, MESSAGES, q, opts, docs_message);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

int pins_call_set(void *self, const char *room_id, const char *msg_id, const char *user_id, int on,
                  int64_t ts, parley_store_done done, void *ud)
{
	struct store *st = self;
	int64_t n;
	if (!ids_parse(room_id, "r", &n) || !ids_parse(msg_id, "m", &n) ||
	    (user_id && !ids_parse(user_id, "u", &n)))
		return PARLEY_EINVAL;
	struct op *op = store_op_begin(self, "pin_set", pins_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	op->args.pin.room = op_strdup(op, room_id);
	op->args.pin.message = op_strdup(op, msg_id);
	op->args.pin.user = op_strdup(op, user_id);
	op->args.pin.on = on != 0;
	op->args.pin.ts = ts ? ts : st->host->now_ms();
	/* The room's lane: after a delete of the message made before. */
	return store_op_submit(op, room_id);
}

int pins_call_list(void *self, const char *room_id, parley_store_done done, void *ud)
{
	int64_t n;
	if (room_id && !ids_parse(room_id, "r", &n))
		return PARLEY_EINVAL;
	struct op *op = store_op_begin(self, "pins_list", pins_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	op->args.pin.room = op_strdup(op, room_id);
	return store_op_submit(op, room_id);
}
