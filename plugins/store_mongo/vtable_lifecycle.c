/* The data lifecycle's vtable calls (appended members): each checks and
 * copies its arguments into an op and queues it, as store_mongo.c's do. */
#include <string.h>

#include "dump.h"
#include "ids.h"
#include "lifecycle.h"
#include "records.h"
#include "store.h"
#include "vtable.h"

static int is_id(const char *s, const char *prefix)
{
	int64_t n;
	return ids_parse(s, prefix, &n);
}

int vtable_snapshot(void *self, const char *path, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "snapshot", dump_write, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!path || !*path)
		return bad_args(op);
	op->args.snapshot.path = op_strdup(op, path);
	/* A whole-store read: on its own thread, so no room's calls wait. */
	return submit_long(op);
}

int vtable_prune(void *self, const char *room_id, int64_t before_ts, int limit, int dry_run,
                 parley_store_done done, void *ud)
{
	struct op *op = begin(self, "prune", lifecycle_prune, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!ids_parse(room_id, "r", &op->args.prune.room_n) || limit < 1 ||
	    limit > LIFECYCLE_PRUNE_MAX)
		return bad_args(op);
	op->args.prune.room = op_strdup(op, room_id);
	op->args.prune.before_ts = before_ts;
	op->args.prune.limit = limit;
	op->args.prune.dry_run = dry_run != 0;
	/* The room's lane: after the appends and edits made before it. */
	return submit(op, room_id);
}

int vtable_room_retention_set(void *self, const char *room_id, int64_t retention_ms,
                              parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_retention_set", lifecycle_retention_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(room_id, "r") || retention_ms < 0)
		return bad_args(op);
	op->args.retention.room = op_strdup(op, room_id);
	op->args.retention.ms = retention_ms;
	return submit(op, room_id);
}

int vtable_room_retention_get(void *self, const char *room_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_retention_get", lifecycle_retention_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(room_id, "r"))
		return bad_args(op);
	op->args.retention.room = op_strdup(op, room_id);
	return submit(op, room_id);
}

int vtable_edits_list(void *self, const char *room_id, const char *msg_id, parley_store_done done,
                      void *ud)
{
	struct op *op = begin(self, "edits_list", lifecycle_edits_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(room_id, "r") || !is_id(msg_id, "m"))
		return bad_args(op);
	op->args.message.room = op_strdup(op, room_id);
	op->args.message.message = op_strdup(op, msg_id);
	return submit(op, room_id);
}

int vtable_records_read(void *self, const char *kind, int64_t after, int limit,
                        parley_store_done done, void *ud)
{
	struct op *op = begin(self, "records_read", records_read, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!kind || !records_kind_known(kind) || after < 0 || limit < 1 ||
	    limit > RECORDS_LIMIT_MAX)
		return bad_args(op);
	op->args.records.kind = op_strdup(op, kind);
	op->args.records.after = after;
	op->args.records.limit = limit;
	return submit(op, NULL);
}

int vtable_records_write(void *self, const char *kind, const char *records_json,
                         parley_store_done done, void *ud)
{
	struct op *op = begin(self, "records_write", records_write, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!kind || !records_kind_known(kind) || !records_json || records_json[0] != '[')
		return bad_args(op);
	op->args.records.kind = op_strdup(op, kind);
	op->args.records.json = op_strdup(op, records_json);
	return submit(op, NULL);
}
