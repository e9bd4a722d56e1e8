/* Search: the core's parsed terms become one FTS5 MATCH expression (each
 * term quoted, so no user text is ever read as FTS5 syntax), the rooms a
 * JSON array the query reads with json_each. Relevance is FTS5's bm25
 * rank, ties newest first, paged by offset; recent is (ts, id)
 * descending, paged by the last row's key (search_recent.c). Cursors:
 * "o<offset>" and "t<ts>.<id>". Relevance ranks only the newest
 * SEARCH_CANDIDATES matches (see SQL_RELEVANCE); recent has no such bound. */
#include "search.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "op.h"
#include "rows.h"
#include "store.h"
#include "search_recent.h"

#define MATCH_MAX 2048 /* bytes of the MATCH expression */

/* Relevance ranks the newest SEARCH_CANDIDATES matches: bm25 costs a
 * score per match, and a word in most messages would cost seconds over a
 * million. The innermost query walks FTS5's index newest first, scores
 * each match in the asker's rooms and stops at that many (one walk: a
 * first query finding the last candidate's rowid walked them twice); the
 * next orders them and keeps the page; only the page's rows are read. */
static const char SQL_RELEVANCE[] =
    "SELECT " SEARCH_COLUMNS " FROM (SELECT id, score, ts FROM"
    " (SELECT messages_fts.rowid AS id, messages_fts.rank AS score, m.ts AS ts" SEARCH_FROM
    " ORDER BY messages_fts.rowid DESC LIMIT ?8)"
    " ORDER BY score, ts DESC, id DESC LIMIT ?6 OFFSET ?7) AS c"
    " JOIN messages m ON m.id = c.id ORDER BY c.score, c.ts DESC, c.id DESC";

/* Arguments in the op: s[0] MATCH, s[1] rooms as a JSON array of keys,
 * s[2] cursor or NULL, s[3] "recent" or NULL; n[0] author key (0: any),
 * n[1] before_ts, n[2] after_ts; flag limit. */

struct cursor {
	int64_t offset; /* relevance */
	int64_t ts, id; /* recent: the last row returned */
};

static int cursor_parse(const char *s, int recent, struct cursor *c)
{
	memset(c, 0, sizeof *c);
	if (!s)
		return 0;
	char *end;
	if (!recent && s[0] == 'o') {
		c->offset = strtoll(s + 1, &end, 10);
		return *end == '\0' && end != s + 1 && c->offset > 0 &&
		               c->offset <= SEARCH_OFFSET_MAX
		           ? 0
		           : -1;
	}
	if (recent && s[0] == 't') {
		c->ts = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end != '.' || c->ts <= 0)
			return -1;
		const char *p = end + 1;
		c->id = strtoll(p, &end, 10);
		return *end == '\0' && end != p && c->id > 0 ? 0 : -1;
	}
	return -1;
}

void search_bind_where(sqlite3_stmt *st, const struct op *op)
{
	db_bind_text(st, 1, op->args.search.match);
	db_bind_text(st, 2, op->args.search.rooms_json);
	db_bind_int(st, 3, op->args.search.author);
	db_bind_int(st, 4, op->args.search.before_ts);
	db_bind_int(st, 5, op->args.search.after_ts);
}

static int search_exec(struct dbconn *c, struct op *op)
{
	int recent = op->args.search.recent != NULL;
	int limit = op->args.search.limit;
	struct cursor cur;
	if (cursor_parse(op->args.search.cursor, recent, &cur) < 0)
		return op_fail(op, PARLEY_EINVAL, "search: a cursor this store did not give");
	if (recent)
		return search_recent_exec(c, op, cur.ts, cur.id);
	sqlite3_stmt *st = rows_stmt(c, op, SQL_RELEVANCE);
	if (!st)
		return op->res.rc;
	search_bind_where(st, op);
	db_bind_int(st, 6, limit + 1);
	db_bind_int(st, 7, cur.offset);
	db_bind_int(st, 8, SEARCH_CANDIDATES);
	int src, rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (op->n_msgs == (size_t)limit) {
			op->res.more = 1;
			break;
		}
		if ((rc = rows_message(op, st)) < 0) {
			sqlite3_reset(st);
			return op_fail(op, rc, "search: out of memory");
		}
	}
	sqlite3_reset(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return rows_error(c, op, src);
	if (op->res.more) {
		if (cur.offset + limit <= SEARCH_OFFSET_MAX)
			op->res.text = op_printf(op, "o%" PRId64, cur.offset + limit);
		else
			op->res.more = 0; /* as deep as relevance pages go */
	}
	return rows_reactions(c, op, 0);
}

/* Appends s to the expression quoted for FTS5 ("" inside); 0 or -1 when
 * it does not fit. */
static int quote(char *buf, size_t cap, size_t *len, const char *s, const char *after)
{
	size_t n = *len;
	if (n + 1 >= cap)
		return -1;
	buf[n++] = '"';
	for (; *s; s++) {
		if (n + 2 >= cap)
			return -1;
		if (*s == '"')
			buf[n++] = '"';
		buf[n++] = *s;
	}
	int w = snprintf(buf + n, cap - n, "\"%s", after);
	if (w < 0 || (size_t)w >= cap - n)
		return -1;
	*len = n + (size_t)w;
	return 0;
}

static int build_match(const parley_search_query *q, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < q->n_terms; i++) {
		const parley_search_term *t = &q->terms[i];
		if (!t->text || !*t->text || t->kind < PARLEY_TERM_WORD ||
		    t->kind > PARLEY_TERM_PHRASE)
			return -1;
		const char *after = t->kind == PARLEY_TERM_PREFIX ? "*" : "";
		if (i > 0) {
			if (len + 5 >= cap)
				return -1;
			memcpy(buf + len, " AND ", 6);
			len += 5;
		}
		if (quote(buf, cap, &len, t->text, after) < 0)
			return -1;
	}
	return 0;
}

/* The rooms as a JSON array of integer keys, in the op's arena. */
static const char *rooms_json(struct op *op, const parley_search_query *q)
{
	size_t cap = q->n_rooms * 21 + 3;
	char *buf = malloc(cap), *p = buf;
	if (!buf)
		return NULL;
	*p++ = '[';
	for (size_t i = 0; i < q->n_rooms; i++) {
		int64_t key;
		if (!rows_id_parse(q->room_ids[i], 'r', &key)) {
			free(buf);
			return NULL;
		}
		p += snprintf(p, cap - (size_t)(p - buf), "%s%" PRId64, i ? "," : "", key);
	}
	*p++ = ']';
	*p = '\0';
	const char *out = op_strdup(op, buf);
	free(buf);
	return out;
}

int search_call(void *self, const parley_search_query *q, parley_store_done done, void *ud)
{
	struct store *st = self;
	if (st->stopped || !done)
		return PARLEY_EUNAVAIL;
	if (!q || q->struct_size < sizeof *q || q->n_terms < 1 ||
	    q->n_terms > PARLEY_SEARCH_TERMS_MAX || !q->terms || q->n_rooms < 1 || !q->room_ids ||
	    q->limit < 1 || q->limit > 100 || q->before_ts < 0 || q->after_ts < 0 ||
	    (q->sort != PARLEY_SEARCH_RELEVANCE && q->sort != PARLEY_SEARCH_RECENT))
		return PARLEY_EINVAL;
	char match[MATCH_MAX];
	if (build_match(q, match, sizeof match) < 0)
		return PARLEY_EINVAL;
	int64_t author = 0;
	if (q->user_id && !rows_id_parse(q->user_id, 'u', &author))
		return PARLEY_EINVAL;
	struct op *op = op_new(st, "search", search_exec, done, ud);
	if (!op)
		return PARLEY_ENOMEM;
	op->args.search.match = op_strdup(op, match);
	op->args.search.rooms_json = rooms_json(op, q);
	op->args.search.cursor = op_strdup(op, q->cursor);
	op->args.search.recent = q->sort == PARLEY_SEARCH_RECENT ? "recent" : NULL;
	op->args.search.author = author;
	op->args.search.before_ts = q->before_ts;
	op->args.search.after_ts = q->after_ts;
	op->args.search.limit = q->limit;
	if (!op->args.search.rooms_json) {
		int bad = !op->oom; /* a room id that is not one of this store's */
		op_free(op);
		return bad ? PARLEY_EINVAL : PARLEY_ENOMEM;
	}
	if (op->oom || (q->cursor && !op->args.search.cursor)) {
		op_free(op);
		return PARLEY_ENOMEM;
	}
	return store_submit_read(op);
}
