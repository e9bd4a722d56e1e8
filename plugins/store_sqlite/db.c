/* SQLite connections for the store: opening with the durability pragmas,
 * and a per-connection cache of prepared statements. */
#include "db.h"

#include <stdio.h>
#include <string.h>

#include <parley/plugin.h>

static int pragma(struct dbconn *c, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

int db_open(struct dbconn *c, const struct db_options *o, char *err, size_t errlen)
{
	int flags =
	    SQLITE_OPEN_NOMUTEX |
	    (o->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	memset(c, 0, sizeof *c);
	int rc = sqlite3_open_v2(o->path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "open %s: %s", o->path,
		         c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(c->db, o->busy_timeout_ms);
	sqlite3_extended_result_codes(c->db, 1);
	/* The writer sets WAL (persistent in the file); readers only check it. */
	if (!o->readonly && pragma(c, "PRAGMA journal_mode=WAL", err, errlen) != SQLITE_OK)
		goto fail;
	if (pragma(c, o->synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
	           err, errlen) != SQLITE_OK)
		goto fail;
	if (pragma(c, "PRAGMA foreign_keys=ON", err, errlen) != SQLITE_OK)
		goto fail;
	if (o->readonly && pragma(c, "PRAGMA query_only=ON", err, errlen) != SQLITE_OK)
		goto fail;
	return PARLEY_OK;
fail:
	db_close(c);
	return PARLEY_EUNAVAIL;
}

void db_close(struct dbconn *c)
{
	for (int i = 0; i < c->n_cache; i++)
		sqlite3_finalize(c->cache[i].st);
	c->n_cache = 0;
	if (c->db)
		sqlite3_close(c->db);
	c->db = NULL;
}

sqlite3_stmt *db_stmt(struct dbconn *c, const char *sql)
{
	for (int i = 0; i < c->n_cache; i++) {
		if (c->cache[i].sql == sql) {
			sqlite3_reset(c->cache[i].st);
			sqlite3_clear_bindings(c->cache[i].st);
			return c->cache[i].st;
		}
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return NULL;
	/* A full cache still works: the oldest entry makes room. */
	if (c->n_cache == DB_STMT_CACHE) {
		sqlite3_finalize(c->cache[0].st);
		memmove(&c->cache[0], &c->cache[1], sizeof c->cache[0] * (DB_STMT_CACHE - 1));
		c->n_cache--;
	}
	c->cache[c->n_cache].sql = sql;
	c->cache[c->n_cache].st = st;
	c->n_cache++;
	return st;
}

int db_exec(struct dbconn *c, const char *sql)
{
	sqlite3_stmt *st = db_stmt(c, sql);
	if (!st)
		return sqlite3_errcode(c->db);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int db_size_cap(struct dbconn *c, int64_t max_bytes, char *err, size_t errlen)
{
	static const char SQL_PAGE_SIZE[] = "PRAGMA page_size";
	sqlite3_stmt *st = db_stmt(c, SQL_PAGE_SIZE);
	int64_t page = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	char sql[64];

	if (st)
		sqlite3_reset(st);
	if (page <= 0) {
		snprintf(err, errlen, "cannot read the page size: %s", sqlite3_errmsg(c->db));
		return PARLEY_EUNAVAIL;
	}
	snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)(max_bytes / page));
	return pragma(c, sql, err, errlen) == SQLITE_OK ? PARLEY_OK : PARLEY_EUNAVAIL;
}

int db_rc(int sqlite_rc)
{
	switch (sqlite_rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return PARLEY_OK;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return PARLEY_ECONFLICT;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return PARLEY_ENOTFOUND;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return PARLEY_EUNAVAIL;
	case SQLITE_NOMEM:
	case SQLITE_IOERR_NOMEM:
		return PARLEY_ENOMEM;
	default:
		break;
	}
	switch (sqlite_rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return PARLEY_EUNAVAIL;
	/* What an operator must fix (space, permissions, the disk): the
	 * client is told to retry later, not that the server is broken. */
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return PARLEY_ESTORAGE;
	default:
		return PARLEY_ERR;
	}
}

void db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void db_bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st, i, v);
}
