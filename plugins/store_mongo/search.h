/* Search on MongoDB without a text index (the test server has none, and
 * DocumentDB's differs): every message keeps `words`, the distinct folded
 * words of its text (<parley/search_fold.h>, the core's own rules), under
 * a multikey index. A query asks words with $all (whole words) and an
 * anchored $regex (prefixes), both served by that index on a real server;
 * phrases and the ranking are checked here on the candidates' text. */
#ifndef STORE_MONGO_SEARCH_H
#define STORE_MONGO_SEARCH_H

#include <mongoc/mongoc.h>

#include <parley/plugin.h>

#include "mdb.h"

#define SEARCH_WORDS_MAX      512  /* distinct words kept per message */
#define SEARCH_WORD_BYTES     64   /* longer words are cut (no query asks them) */
#define SEARCH_CANDIDATES_MAX 2000 /* relevance ranks the newest this many matches */
#define SEARCH_OFFSET_MAX     2000

/* Appends key: [distinct folded words of text] (empty for NULL). */
void search_append_words(bson_t *parent, const char *key, const char *text);
/* Gives every message without `words` its words (messages stored before
 * schema 2): 0, or -1 with err. */
int search_backfill(mongoc_client_t *client, const char *database, char *err, size_t errlen);
/* The vtable's search member (loop thread). */
int search_call(void *self, const parley_search_query *q, parley_store_done done, void *ud);

#endif
