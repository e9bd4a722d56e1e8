/* The migrations, oldest first. Never edit a released migration: append a
 * new one. Ids are integer keys; the public ids ("u_1") are made from them.
 * Names compare case-insensitively (COLLATE NOCASE), so "Ann" and "ann" are
 * one name. */
#include "schema.h"

#include <sqlite3.h>
#include <stdio.h>

#include <parley/plugin.h>

#include "db.h"

static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    " display_name TEXT,"
    " role TEXT NOT NULL DEFAULT 'member',"
    " email TEXT,"
    " password_hash TEXT,"
    " disabled INTEGER NOT NULL DEFAULT 0,"
    " created_ts INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE sessions ("
    " token_hash TEXT PRIMARY KEY,"
    " user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " created_ts INTEGER NOT NULL,"
    " expires_ts INTEGER NOT NULL);"
    "CREATE INDEX sessions_user ON sessions(user);"
    "CREATE TABLE invites ("
    " token_hash TEXT PRIMARY KEY,"
    " role TEXT NOT NULL DEFAULT 'member',"
    " email TEXT,"
    " created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    " created_ts INTEGER NOT NULL,"
    " expires_ts INTEGER NOT NULL,"
    " used_ts INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE rooms ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    " kind TEXT NOT NULL DEFAULT 'public',"
    " topic TEXT,"
    " created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    " created_ts INTEGER NOT NULL DEFAULT 0,"
    " last_seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE members ("
    " room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL DEFAULT 'member',"
    " read_seq INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (room, user));"
    "CREATE INDEX members_user ON members(user);"
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY,"
    " room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " user INTEGER NOT NULL REFERENCES users(id),"
    " text TEXT,"
    " ts INTEGER NOT NULL,"
    " client_id TEXT,"
    " reply_to TEXT,"
    " mentions_json TEXT,"
    " attachments_json TEXT,"
    " edited_ts INTEGER NOT NULL DEFAULT 0,"
    " deleted INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (room, seq));"
    "CREATE UNIQUE INDEX messages_client ON messages(user, client_id)"
    " WHERE client_id IS NOT NULL;"
    "CREATE TABLE reactions ("
    " message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    " user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " emoji TEXT NOT NULL,"
    " PRIMARY KEY (message, user, emoji));",
    /* 2: access — single-use tokens, audit log, user settings, scoped
     * (bot) sessions, lookup by e-mail */
    "CREATE TABLE tokens ("
    " token_hash TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " created_ts INTEGER NOT NULL,"
    " expires_ts INTEGER NOT NULL,"
    " used_ts INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY,"
    " ts INTEGER NOT NULL,"
    " actor INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    " action TEXT NOT NULL,"
    " target TEXT,"
    " detail TEXT,"
    " client TEXT);"
    "CREATE TABLE settings ("
    " user INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
    " json TEXT NOT NULL);"
    "ALTER TABLE sessions ADD COLUMN scopes TEXT;"
    "ALTER TABLE sessions ADD COLUMN rooms_json TEXT;"
    "CREATE INDEX users_email ON users(email COLLATE NOCASE);",
    /* 3: parley.kv, per script (owner). */
    "CREATE TABLE kv ("
    " owner TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (owner, key));",
    /* 4: uploads (their rows outlive a deleted message: detached, then
     * removed by the core's cleanup job) */
    "CREATE TABLE uploads ("
    " id INTEGER PRIMARY KEY,"
    " user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " key TEXT NOT NULL UNIQUE,"
    " tags TEXT,"
    " room INTEGER REFERENCES rooms(id) ON DELETE SET NULL,"
    " message INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
    " created_ts INTEGER NOT NULL);"
    "CREATE INDEX uploads_user ON uploads(user, created_ts);"
    "CREATE INDEX uploads_message ON uploads(message);"
    "CREATE INDEX uploads_unattached ON uploads(created_ts) WHERE message IS NULL;",
    /* 5: room names unique among public rooms (and DMs) only: a private
     * room may share any name. SQLite cannot drop a column's UNIQUE, so
     * the table is rebuilt (foreign keys are off meanwhile: see
     * schema_migrate; the ids stay, so every reference still holds). */
    "CREATE TABLE rooms_v5 ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL COLLATE NOCASE,"
    " kind TEXT NOT NULL DEFAULT 'public',"
    " topic TEXT,"
    " created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    " created_ts INTEGER NOT NULL DEFAULT 0,"
    " last_seq INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO rooms_v5 SELECT id, name, kind, topic, created_by, created_ts, last_seq"
    " FROM rooms;"
    "DROP TABLE rooms;"
    "ALTER TABLE rooms_v5 RENAME TO rooms;"
    "CREATE UNIQUE INDEX rooms_unique_name ON rooms(name COLLATE NOCASE)"
    " WHERE kind <> 'private';",
    /* 6: retention — a room's pruned mark and own retention, edit
     * history, named leases (one node runs the prune job) */
    "ALTER TABLE rooms ADD COLUMN pruned_seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rooms ADD COLUMN retention_ms INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE edits ("
    " id INTEGER PRIMARY KEY,"
    " message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    " text TEXT,"
    " mentions_json TEXT,"
    " ts INTEGER NOT NULL);"
    "CREATE INDEX edits_message ON edits(message, id);"
    "CREATE TABLE leases ("
    " name TEXT PRIMARY KEY,"
    " holder TEXT NOT NULL,"
    " expires_ts INTEGER NOT NULL);",
    /* 7: pinned messages (a deleted message's pin goes with it: pins.c)
     * and per-room notification levels other than "all"; IF NOT EXISTS so a
     * database rewound to an older version (tests do) migrates again */
    "CREATE TABLE IF NOT EXISTS pins ("
    " message INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,"
    " room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " user INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    " ts INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS pins_room ON pins(room, ts);"
    "CREATE TABLE IF NOT EXISTS notify ("
    " room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
    " user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " level TEXT NOT NULL,"
    " PRIMARY KEY (room, user));",
    /* 8: search. An FTS5 index over messages.text (external content: the
     * text is stored once), kept in step by triggers, so the message's
     * own transaction updates it: a tombstone or an expired message
     * leaves it, an edit replaces its words. Existing messages are
     * indexed here (backfill). */
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
    "INSERT INTO messages_fts (rowid, text)"
    " SELECT id, text FROM messages WHERE deleted = 0 AND text IS NOT NULL;"
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages"
    " WHEN new.deleted = 0 AND new.text IS NOT NULL BEGIN"
    " INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text); END;"
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, deleted ON messages BEGIN"
    " INSERT INTO messages_fts (messages_fts, rowid, text) SELECT 'delete', old.id, old.text"
    "  WHERE old.deleted = 0 AND old.text IS NOT NULL;"
    " INSERT INTO messages_fts (rowid, text) SELECT new.id, new.text"
    "  WHERE new.deleted = 0 AND new.text IS NOT NULL; END;"
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages"
    " WHEN old.deleted = 0 AND old.text IS NOT NULL BEGIN"
    " INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " END;",
    /* 9: threads. A reply names its root (messages.thread, the root's id);
     * the root counts its replies and keeps its latest reply's time, moved
     * in the reply's transaction (threads.c). A tombstone keeps all four,
     * so a pruned or deleted root keeps its thread. Followers carry their
     * read mark in the thread. */
    "ALTER TABLE messages ADD COLUMN thread INTEGER;"
    "ALTER TABLE messages ADD COLUMN also_room INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN last_reply_ts INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX messages_thread ON messages(thread, seq) WHERE thread IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS thread_follows ("
    " root INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    " user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " read_seq INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (root, user));"
    "CREATE INDEX IF NOT EXISTS thread_follows_user ON thread_follows(user);",
    /* 10: room settings (the core's JSON: archived, may_post, may_invite,
     * may_pin); a deleted room's row goes with it. IF NOT EXISTS so a
     * rewound database migrates again. */
    "CREATE TABLE IF NOT EXISTS room_settings ("
    " room INTEGER PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,"
    " json TEXT NOT NULL);",
    /* 11: windowed
     * counters shared by every node on this store (login throttles) */
    "CREATE TABLE IF NOT EXISTS counters ("
    " name TEXT PRIMARY KEY,"
    " count INTEGER NOT NULL,"
    " expires_ts INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS counters_expiry ON counters(expires_ts);",
    /* 12: how far messages.id order is from ts order, so search sorted
     * `recent` can walk the FTS5 index newest id first and stop after a
     * page (search_recent.c). One row: ids below tail_from ("the head")
     * have ts <= head_max_ts; from tail_from on, a message's ts is at most
     * tail_disorder below the newest ts of any message up to it. The
     * server's appends keep the tail (tail_disorder: clock steps); a
     * message written with an id below the top one (store copy, imports
     * writing over old ids) or with a ts more than a minute behind makes
     * everything up to it head. Computed here for existing messages. */
    "CREATE TABLE IF NOT EXISTS search_order ("
    " one INTEGER PRIMARY KEY CHECK (one = 0),"
    " top_id INTEGER NOT NULL, max_ts INTEGER NOT NULL,"
    " tail_from INTEGER NOT NULL, head_max_ts INTEGER NOT NULL,"
    " tail_disorder INTEGER NOT NULL);"
    "DELETE FROM search_order;"
    "INSERT INTO search_order"
    " WITH walk AS (SELECT id, ts, max(ts) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) AS upto"
    "  FROM messages),"
    " cut AS (SELECT max(id) AS id FROM walk WHERE upto - ts > 60000)"
    " SELECT 0, coalesce((SELECT max(id) FROM messages), 0),"
    " coalesce((SELECT max(ts) FROM messages), 0),"
    " coalesce((SELECT id + 1 FROM cut), -9223372036854775807 - 1),"
    " coalesce((SELECT max(ts) FROM messages WHERE id <= (SELECT id FROM cut)), 0),"
    " coalesce((SELECT max(upto - ts) FROM walk WHERE id > coalesce((SELECT id FROM cut),"
    "  -9223372036854775807 - 1)), 0);"
    "DROP TRIGGER IF EXISTS search_order_insert;"
    "CREATE TRIGGER search_order_insert AFTER INSERT ON messages BEGIN"
    " UPDATE search_order SET"
    "  tail_from = CASE WHEN new.id <= top_id OR max_ts - new.ts > 60000"
    "   THEN max(top_id, new.id) + 1 ELSE tail_from END,"
    "  head_max_ts = CASE WHEN new.id <= top_id OR max_ts - new.ts > 60000"
    "   THEN max(max_ts, new.ts) ELSE head_max_ts END,"
    "  tail_disorder = CASE WHEN new.id <= top_id OR max_ts - new.ts > 60000"
    "   THEN 0 ELSE max(tail_disorder, max_ts - new.ts) END,"
    "  top_id = max(top_id, new.id), max_ts = max(max_ts, new.ts); END;"
    "DROP TRIGGER IF EXISTS search_order_update;"
    "CREATE TRIGGER search_order_update AFTER UPDATE OF id, ts ON messages"
    " WHEN new.id IS NOT old.id OR new.ts IS NOT old.ts BEGIN"
    " UPDATE search_order SET tail_from = max(top_id, new.id) + 1,"
    "  head_max_ts = max(max_ts, new.ts), tail_disorder = 0,"
    "  top_id = max(top_id, new.id), max_ts = max(max_ts, new.ts); END;"
    /* Each commit writes a new FTS5 segment; merging 16 segments of a
     * level instead of 4 rewrites each entry half as often (of the ~26
     * pages the index adds to a commit of 60 messages, ~5 fewer:
     * docs/performance.md); a query reads up to 15 segments a level.
     * Kept in messages_fts_config. */
    "INSERT INTO messages_fts (messages_fts, rank) VALUES ('automerge', 16);"
    "INSERT INTO messages_fts (messages_fts, rank) VALUES ('crisismerge', 64);",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int schema_version(void)
{
	return N_MIGRATIONS;
}

static int user_version(sqlite3 *db, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* SQLITE_OK when no row references a missing one (foreign_key_check). */
static int foreign_keys_hold(sqlite3 *db, char **msg)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*msg = sqlite3_mprintf("a row of %s references a missing row",
			                       (const char *)sqlite3_column_text(st, 0));
			rc = SQLITE_CONSTRAINT;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int foreign_keys_on(struct dbconn *c, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, "PRAGMA foreign_keys=ON", NULL, NULL, &msg) == SQLITE_OK)
		return PARLEY_OK;
	snprintf(err, errlen, "cannot switch foreign keys back on: %s", msg ? msg : "?");
	sqlite3_free(msg);
	return PARLEY_ERR;
}

int schema_migrate(struct dbconn *c, char *err, size_t errlen)
{
	char *msg = NULL;
	int version = 0;
	/* A migration may rebuild a table that others reference: with foreign
	 * keys on, dropping the old one would cascade. They are switched off
	 * around the transaction (the pragma is a no-op inside one) and
	 * checked before the commit. */
	int rc = sqlite3_exec(c->db, "PRAGMA foreign_keys=OFF", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto fail;
	/* IMMEDIATE: two processes starting at once must not both migrate. */
	rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto fail;
	if ((rc = user_version(c->db, &version)) != SQLITE_OK)
		goto rollback;
	if (version > N_MIGRATIONS) {
		snprintf(err, errlen,
		         "database schema version %d is newer than this parley knows (%d): "
		         "upgrade parley or use another database file",
		         version, N_MIGRATIONS);
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_exec(c->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
		return PARLEY_EINVAL;
	}
	for (int v = version; v < N_MIGRATIONS; v++) {
		if ((rc = sqlite3_exec(c->db, migrations[v], NULL, NULL, &msg)) != SQLITE_OK)
			goto rollback;
	}
	if (version < N_MIGRATIONS) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", N_MIGRATIONS);
		if ((rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg)) != SQLITE_OK)
			goto rollback;
	}
	if ((rc = foreign_keys_hold(c->db, &msg)) != SQLITE_OK)
		goto rollback;
	if ((rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, &msg)) != SQLITE_OK)
		goto rollback;
	return foreign_keys_on(c, err, errlen);
rollback:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
fail:
	sqlite3_exec(c->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
	snprintf(err, errlen, "schema migration from version %d: %s", version,
	         msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return db_rc(rc) == PARLEY_EUNAVAIL ? PARLEY_EUNAVAIL : PARLEY_ERR;
}
