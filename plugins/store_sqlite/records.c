/* Raw record transfer for `parley store copy`: a kind is one table, a
 * record one row as a JSON object of its columns. Both statements are built
 * from the table's own column list (pragma table_info), so a migration that
 * adds a column is copied without a change here. Writes upsert by the
 * table's keys, keeping ids, seqs and timestamps as given. */
#include "records.h"

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "db.h"
#include "op.h"

/* The kinds, parents before children (the order a copy writes them in). */
static const char *const KINDS[] = {
    "users",         "rooms",          "members", "messages", "reactions", "edits",
    "room_settings", "thread_follows", "uploads", "sessions", "invites",   "tokens",
    "audit",         "settings",       "kv",      "pins",     "notify"};

int records_kind_known(const char *kind)
{
	for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
		if (!strcmp(kind, KINDS[i]))
			return 1;
	return 0;
}

/* "'a', a, 'b', b" (fmt_pair) or "a, b" joined over the table's columns. */
static char *column_list(struct dbconn *c, const char *table, const char *fmt)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT name FROM pragma_table_info(?)", -1, &st, NULL))
		return NULL;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	char *out = sqlite3_mprintf("");
	while (out && sqlite3_step(st) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(st, 0);
		char *next = sqlite3_mprintf(fmt, out, *out ? ", " : "", col, col, col);
		sqlite3_free(out);
		out = next;
	}
	sqlite3_finalize(st);
	if (out && !*out) {
		sqlite3_free(out);
		return NULL;
	}
	return out;
}

static int fail_sql(struct dbconn *c, struct op *op, int rc)
{
	return op_fail(op, db_rc(rc), "records %s: %s", op->args.records.kind,
	               sqlite3_errmsg(c->db));
}

int records_read(struct dbconn *c, struct op *op)
{
	const char *kind = op->args.records.kind;
	char *pairs = column_list(c, kind, "%s%s'%q', \"%w\"");
	if (!pairs)
		return op_fail(op, PARLEY_ERR, "records: no table for %s", kind);
	char *sql = sqlite3_mprintf("SELECT rowid, json_object(%s) FROM \"%w\" WHERE rowid > ?1"
	                            " ORDER BY rowid LIMIT ?2",
	                            pairs, kind);
	sqlite3_free(pairs);
	sqlite3_stmt *st = NULL;
	int rc = sql ? sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	if (rc)
		return fail_sql(c, op, rc);
	/* after 0 is the start, below 0 too: edits has rowids there (EDITS_SOURCE). */
	sqlite3_bind_int64(st, 1, op->args.records.after ? op->args.records.after : INT64_MIN);
	sqlite3_bind_int64(st, 2, op->args.records.limit + 1);
	sqlite3_str *json = sqlite3_str_new(c->db);
	sqlite3_str_appendchar(json, 1, '[');
	int n = 0;
	int64_t last = op->args.records.after;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == op->args.records.limit) {
			op->res.more = 1;
			break;
		}
		if (n++)
			sqlite3_str_appendchar(json, 1, ',');
		sqlite3_str_appendall(json, (const char *)sqlite3_column_text(st, 1));
		last = sqlite3_column_int64(st, 0);
	}
	sqlite3_str_appendchar(json, 1, ']');
	char *text = sqlite3_str_finish(json);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_free(text);
		int r = fail_sql(c, op, rc);
		sqlite3_finalize(st);
		return r;
	}
	sqlite3_finalize(st);
	op->res.text = text ? op_strdup(op, text) : NULL;
	sqlite3_free(text);
	if (!op->res.text)
		return op_fail(op, PARLEY_ENOMEM, "out of memory");
	op->res.value = last;
	return PARLEY_OK;
}

/* The SELECT list of a write: each column's value in the record, or the
 * column's default when the record lacks it (a record from an older
 * schema, or from another store, that never had the column). */
static char *value_list(struct dbconn *c, const char *table)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT name, dflt_value FROM pragma_table_info(?)", -1, &st,
	                       NULL))
		return NULL;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	char *out = sqlite3_mprintf("");
	while (out && sqlite3_step(st) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(st, 0);
		const char *dflt = (const char *)sqlite3_column_text(st, 1);
		char *next = sqlite3_mprintf(
		    "%s%sCASE WHEN json_type(value, '$.' || json_quote('%q')) IS NULL THEN %s"
		    " ELSE json_extract(value, '$.' || json_quote('%q')) END",
		    out, *out ? ", " : "", col, dflt ? dflt : "NULL", col);
		sqlite3_free(out);
		out = next;
	}
	sqlite3_finalize(st);
	if (out && !*out) {
		sqlite3_free(out);
		return NULL;
	}
	return out;
}

/* Where a write's records come from: the JSON array, but for edits an
 * id-less version (store_mongo's from before its edit counter) is matched
 * to the one already here by (message, ts, text), so a second copy does
 * not add it again; a new one gets an id below 0, under every numbered
 * version's (they are older, and an id taken from the rowids would meet a
 * numbered version copied later). */
static const char EDITS_SOURCE[] =
    "(SELECT CASE WHEN json_type(value, '$.id') = 'integer' THEN value"
    " ELSE json_set(value, '$.id', key + 1 + (SELECT coalesce(max(id), -4611686018427387904)"
    " FROM edits WHERE id < 0)) END AS value FROM json_each(?1)"
    " WHERE json_type(value, '$.id') = 'integer' OR NOT EXISTS (SELECT 1 FROM edits e"
    " WHERE e.message = json_extract(value, '$.message') AND e.ts = json_extract(value, '$.ts')"
    " AND e.text IS json_extract(value, '$.text')))";

int records_write(struct dbconn *c, struct op *op)
{
	const char *kind = op->args.records.kind;
	char *cols = column_list(c, kind, "%s%s\"%w\"");
	char *vals = value_list(c, kind);
	char *sets = column_list(c, kind, "%s%s\"%w\" = excluded.\"%w\"");
	char *sql =
	    cols && vals && sets
	        ? sqlite3_mprintf("INSERT INTO \"%w\" (%s) SELECT %s FROM %s"
	                          " WHERE true ON CONFLICT DO UPDATE SET %s",
	                          kind, cols, vals,
	                          strcmp(kind, "edits") ? "json_each(?1)" : EDITS_SOURCE, sets)
	        : NULL;
	sqlite3_free(cols);
	sqlite3_free(vals);
	sqlite3_free(sets);
	if (!sql)
		return op_fail(op, PARLEY_ERR, "records: no table for %s", kind);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc)
		return fail_sql(c, op, rc);
	sqlite3_bind_text(st, 1, op->args.records.json, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail_sql(c, op, rc);
	op->res.value = sqlite3_changes(c->db);
	return PARLEY_OK;
}
