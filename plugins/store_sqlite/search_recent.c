/* Search sorted `recent`: newest first by (ts, id) without sorting every
 * match. FTS5 walks its index by rowid (messages.id) descending, and the
 * walk stops once no message further down can be newer than the page's
 * oldest: search_order (schema migration 12) bounds how far id order is
 * from ts order. For messages the server appended the bound is their own
 * ts (plus the tail's clock steps), so a page costs about a page of
 * matches in the asker's rooms; below a head (history written with old
 * ids or times) it is the head's newest ts, which may walk every match
 * there — the cost of sorting them all, as before. Results are exact in
 * both cases. */
#include "search_recent.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "op.h"
#include "rows.h"
#include "search.h"

static const char SQL_ORDER[] = "SELECT tail_from, head_max_ts, tail_disorder FROM search_order";
static const char SQL_WALK[] =
    "SELECT m.id, m.ts" SEARCH_FROM " AND (?6 = 0 OR m.ts < ?6 OR (m.ts = ?6 AND m.id < ?7))"
    " AND messages_fts.rowid < ?8 ORDER BY messages_fts.rowid DESC";
static const char SQL_PAGE[] = "SELECT " SEARCH_COLUMNS " FROM messages m"
                               " WHERE m.id IN (SELECT value FROM json_each(?1))"
                               " ORDER BY m.ts DESC, m.id DESC";

struct order {
	int64_t tail_from, head_max_ts, tail_disorder;
};

struct key {
	int64_t ts, id;
};

/* The page so far: up to cap keys, newest first. */
struct page {
	struct key k[SEARCH_RECENT_PAGE_MAX];
	int n, cap;
};

static int newer(struct key a, struct key b)
{
	return a.ts > b.ts || (a.ts == b.ts && a.id > b.id);
}

static void page_offer(struct page *p, struct key k)
{
	if (p->n == p->cap && !newer(k, p->k[p->n - 1]))
		return;
	int i = p->n < p->cap ? p->n++ : p->n - 1;
	for (; i > 0 && newer(k, p->k[i - 1]); i--)
		p->k[i] = p->k[i - 1];
	p->k[i] = k;
}

/* The newest ts any message with an id up to id can have. */
static int64_t newest_upto(const struct order *o, struct key at)
{
	return at.id < o->tail_from ? o->head_max_ts : at.ts + o->tail_disorder;
}

static int order_read(struct dbconn *c, struct op *op, struct order *o)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_ORDER);
	if (!st)
		return op->res.rc;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		o->tail_from = sqlite3_column_int64(st, 0);
		o->head_max_ts = sqlite3_column_int64(st, 1);
		o->tail_disorder = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? op_fail(op, PARLEY_ERR, "search: no search_order row")
		                         : rows_error(c, op, rc);
	return PARLEY_OK;
}

/* Where the walk starts (exclusive): after a cursor (ts, id), a message
 * with a higher id is newer than it when the tail has no disorder (its ts
 * is at least the newest up to the cursor); otherwise from the top. */
static int64_t walk_start(const struct order *o, int64_t ts, int64_t id)
{
	if (ts == 0 || o->tail_disorder != 0)
		return INT64_MAX;
	return id > o->tail_from ? id : o->tail_from;
}

static int walk(struct dbconn *c, struct op *op, const struct order *o, struct page *p, int64_t ts,
                int64_t id)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_WALK);
	if (!st)
		return op->res.rc;
	search_bind_where(st, op);
	db_bind_int(st, 6, ts);
	db_bind_int(st, 7, id);
	db_bind_int(st, 8, walk_start(o, ts, id));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct key k = {sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 0)};
		page_offer(p, k);
		/* Every match left has a lower id, so a ts at most newest_upto:
		 * none of them can displace the page's oldest. */
		if (p->n == p->cap && newest_upto(o, k) <= p->k[p->n - 1].ts)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PARLEY_OK : rows_error(c, op, rc);
}

static int page_rows(struct dbconn *c, struct op *op, const struct page *p)
{
	char ids[SEARCH_RECENT_PAGE_MAX * 21 + 3];
	size_t len = 0;
	ids[len++] = '[';
	for (int i = 0; i < p->n; i++)
		len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%" PRId64, i ? "," : "",
		                        p->k[i].id);
	snprintf(ids + len, sizeof ids - len, "]");
	sqlite3_stmt *st = rows_stmt(c, op, SQL_PAGE);
	if (!st)
		return op->res.rc;
	sqlite3_bind_text(st, 1, ids, -1, SQLITE_TRANSIENT);
	return rows_all(c, op, st, rows_message);
}

int search_recent_exec(struct dbconn *c, struct op *op, int64_t ts, int64_t id)
{
	struct order o = {0};
	int rc = order_read(c, op, &o);
	if (rc != PARLEY_OK)
		return rc;
	struct page p = {.n = 0, .cap = op->args.search.limit + 1};
	if ((rc = walk(c, op, &o, &p, ts, id)) != PARLEY_OK)
		return rc;
	if (p.n == p.cap) {
		op->res.more = 1;
		p.n--;
	}
	if (p.n == 0)
		return PARLEY_OK;
	if ((rc = page_rows(c, op, &p)) != PARLEY_OK)
		return rc;
	if (op->res.more)
		op->res.text =
		    op_printf(op, "t%" PRId64 ".%" PRId64, p.k[p.n - 1].ts, p.k[p.n - 1].id);
	return rows_reactions(c, op, 0);
}
