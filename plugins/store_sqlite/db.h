/* One SQLite connection with its cache of prepared statements.
 *
 * Statements are keyed by the address of their SQL text (every query is a
 * static string), so a lookup is a pointer compare and each statement is
 * prepared once per connection. A connection is used by one thread at a
 * time (the writer thread, or the worker holding it from the read pool). */
#ifndef STORE_SQLITE_DB_H
#define STORE_SQLITE_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Distinct statements a connection keeps prepared. */
#define DB_STMT_CACHE 64

struct dbconn {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[DB_STMT_CACHE];
	int n_cache;
};

struct db_options {
	const char *path;
	int readonly;
	int synchronous_full; /* 1: FULL, 0: NORMAL */
	int busy_timeout_ms;
	int64_t max_bytes; /* writer: the database's size cap; 0: none */
};

/* Opens path (WAL, foreign keys, busy timeout, synchronous); 0, or an error
 * with the reason in err. */
int db_open(struct dbconn *c, const struct db_options *o, char *err, size_t errlen);
void db_close(struct dbconn *c);
/* The cached statement for sql (static text), reset and unbound; NULL on a
 * prepare error (sqlite3_errmsg tells). */
sqlite3_stmt *db_stmt(struct dbconn *c, const char *sql);
/* Runs statements without results (BEGIN, SAVEPOINT...); the SQLite code. */
int db_exec(struct dbconn *c, const char *sql);
/* Caps the database at max_bytes (whole pages): a write beyond fails as on
 * a full disk. 0, or an error with the reason in err. */
int db_size_cap(struct dbconn *c, int64_t max_bytes, char *err, size_t errlen);
/* Maps an SQLite result code to a parley_rc: unique constraint -> ECONFLICT,
 * foreign key -> ENOTFOUND, busy -> EUNAVAIL, a full disk, read-only file
 * or I/O error -> ESTORAGE, else ERR. */
int db_rc(int sqlite_rc);

/* Binding helpers: NULL strings bind as NULL. */
void db_bind_text(sqlite3_stmt *st, int i, const char *s);
void db_bind_int(sqlite3_stmt *st, int i, int64_t v);

#endif
