/* Unread mentions (see mentions.h). The count is one statement, so one
 * snapshot of members and messages. A message's mentions are expanded
 * with json_each and matched to the memberships whose mark is below it;
 * CROSS JOIN keeps that order (the planner would rather try every member
 * against every message, one json_each per member).
 *
 * Which messages are read is chosen by a first, cheap statement: each
 * room's from the lowest read mark of its members (the UNIQUE (room, seq)
 * index gives the range, but each row is then a random read of the
 * table), or the whole table in rowid order when those ranges hold more
 * than 1/SCAN_RATIO of it. On 1M messages (a file larger than SQLite's
 * page cache) the ranges read a row ~7 times slower than the scan (6.5 s
 * against 0.9 s for the whole table), hence the ratio; docs/performance.md
 * has the numbers (bench/mentions_bench.c). */
#include "mentions.h"

#include <sqlite3.h>

#include "op.h"
#include "rows.h"
#include "store.h"

#define SCAN_RATIO 7

/* Messages after the lowest mark of each room, and all messages (the
 * rooms' last seqs: tombstones and pruned ones are rows too). */
static const char SQL_SPAN[] =
    "SELECT coalesce(sum(r.last_seq - lo.low), 0), (SELECT coalesce(sum(last_seq), 0) FROM rooms)"
    " FROM rooms r JOIN (SELECT room, min(read_seq) AS low FROM members GROUP BY room) lo"
    " ON lo.room = r.id WHERE r.last_seq > lo.low";

/* mentions_json is "[]" for a message without mentions and NULL for a
 * tombstone (json_each(NULL) is no rows); ids are "u_<n>", the members'
 * user column is <n>. */
#define COUNT_HEAD                                                                                 \
	"SELECT json_group_array(json_object('room', 'r_' || room, 'user', 'u_' || user,"          \
	" 'mentions', n, 'seq', last)) FROM ("                                                     \
	" SELECT m.room AS room, mb.user AS user, count(*) AS n, max(m.seq) AS last FROM "
#define COUNT_TAIL                                                                                 \
	" CROSS JOIN json_each(CASE WHEN json_valid(m.mentions_json) THEN m.mentions_json END) j"  \
	" CROSS JOIN members mb ON mb.room = m.room"                                               \
	"  AND mb.user = CAST(substr(j.value, 3) AS INTEGER) AND mb.read_seq < m.seq"              \
	" WHERE m.deleted = 0 AND m.mentions_json <> '[]' AND j.type = 'text'"                     \
	"  AND substr(j.value, 1, 2) = 'u_' AND m.user <> mb.user"                                 \
	" GROUP BY m.room, mb.user ORDER BY m.room, mb.user)"

static const char SQL_RANGES[] =
    COUNT_HEAD "(SELECT room, min(read_seq) AS low FROM members GROUP BY room) lo"
               " CROSS JOIN messages m ON m.room = lo.room AND m.seq > lo.low" COUNT_TAIL;
static const char SQL_SCAN[] = COUNT_HEAD "messages m NOT INDEXED" COUNT_TAIL;

/* 1 when reading the whole table is cheaper than the rooms' ranges, 0
 * when not, < 0 an error recorded in op. */
static int whole_table(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_SPAN);
	if (!st)
		return op->res.rc;
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rc = sqlite3_column_int64(st, 0) * SCAN_RATIO > sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return rc;
}

static int mentions_exec(struct dbconn *c, struct op *op)
{
	int scan = whole_table(c, op);
	if (scan < 0)
		return scan;
	sqlite3_stmt *st = rows_stmt(c, op, scan ? SQL_SCAN : SQL_RANGES);
	if (!st)
		return op->res.rc;
	return rows_json_text(c, op, st);
}

int mentions_unread_call(void *self, parley_store_done done, void *ud)
{
	struct store *st = self;
	if (st->stopped || !done)
		return PARLEY_EUNAVAIL;
	struct op *op = op_new(st, "mentions_unread", mentions_exec, done, ud);
	if (!op)
		return PARLEY_ENOMEM;
	return store_submit_read(op);
}
