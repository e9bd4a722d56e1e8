/* Full-text search over the FTS5 index of schema migration 8 (see
 * search.c, search_recent.c). */
#ifndef STORE_SQLITE_SEARCH_H
#define STORE_SQLITE_SEARCH_H

#include <parley/plugin.h>
#include <sqlite3.h>

struct op;

/* Relevance ranks the newest this many matches in the asker's rooms (a
 * word in most messages would otherwise cost a bm25 score for each);
 * its pages end there. */
#define SEARCH_CANDIDATES 5000
#define SEARCH_OFFSET_MAX SEARCH_CANDIDATES

/* What both orders select and where: ?1 the MATCH, ?2 the rooms as a
 * JSON array, ?3 the author (0: any), ?4 before_ts, ?5 after_ts (0: no
 * bound). */
#define SEARCH_COLUMNS                                                                             \
	"m.id, m.room, m.seq, m.user, m.text, m.ts, m.client_id, m.reply_to, m.mentions_json,"     \
	" m.attachments_json, m.edited_ts, m.deleted, m.thread, m.also_room, m.replies,"           \
	" m.last_reply_ts"
#define SEARCH_FROM                                                                                \
	" FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"                          \
	" WHERE messages_fts MATCH ?1 AND m.deleted = 0"                                           \
	" AND m.room IN (SELECT value FROM json_each(?2))"                                         \
	" AND (?3 = 0 OR m.user = ?3) AND (?4 = 0 OR m.ts < ?4) AND (?5 = 0 OR m.ts > ?5)"

/* Binds SEARCH_FROM's ?1..?5 from op's search arguments (both orders). */
void search_bind_where(sqlite3_stmt *st, const struct op *op);

/* The vtable's search member (loop thread): checks and copies q, runs on
 * a reader. */
int search_call(void *self, const parley_search_query *q, parley_store_done done, void *ud);

#endif
