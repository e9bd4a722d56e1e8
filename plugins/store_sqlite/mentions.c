/* Unread mentions (see mentions.h). One statement, so one snapshot of
 * members and messages. Each room's messages are read once, from the
 * lowest read mark of its members (the UNIQUE (room, seq) index gives the
 * range); a message's mentions are expanded with json_each and matched
 * to the memberships whose mark is below it. A member who never read a
 * big room therefore makes the whole room be read: docs/performance.md
 * has the cost on a 1M-message store. */
#include "mentions.h"

#include <sqlite3.h>

#include "op.h"
#include "reader.h"
#include "rows.h"
#include "store.h"

/* mentions_json is "[]" for a message without mentions and NULL for a
 * tombstone (json_each(NULL) is no rows); ids are "u_<n>", the members'
 * user column is <n>. */
static const char SQL_UNREAD[] =
    "SELECT json_group_array(json_object('room', 'r_' || room, 'user', 'u_' || user,"
    " 'mentions', n, 'seq', last)) FROM ("
    " SELECT m.room AS room, mb.user AS user, count(*) AS n, max(m.seq) AS last"
    " FROM (SELECT room, min(read_seq) AS low FROM members GROUP BY room) lo"
    " JOIN messages m ON m.room = lo.room AND m.seq > lo.low"
    " JOIN json_each(CASE WHEN json_valid(m.mentions_json) THEN m.mentions_json END) j"
    " JOIN members mb ON mb.room = m.room"
    "  AND mb.user = CAST(substr(j.value, 3) AS INTEGER) AND mb.read_seq < m.seq"
    " WHERE m.deleted = 0 AND m.mentions_json <> '[]' AND j.type = 'text'"
    "  AND substr(j.value, 1, 2) = 'u_' AND m.user <> mb.user"
    " GROUP BY m.room, mb.user ORDER BY m.room, mb.user)";

static int mentions_exec(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_UNREAD);
	if (!st)
		return op->res.rc;
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

int mentions_unread_call(void *self, parley_store_done done, void *ud)
{
	struct store *st = self;
	if (st->stopped || !done)
		return PARLEY_EUNAVAIL;
	struct op *op = op_new(st, "mentions_unread", mentions_exec, done, ud);
	if (!op)
		return PARLEY_ENOMEM;
	int rc = reader_submit(st->reader, op);
	if (rc != PARLEY_OK) {
		op_free(op);
		return rc;
	}
	store_op_accepted(op);
	return PARLEY_PENDING;
}
