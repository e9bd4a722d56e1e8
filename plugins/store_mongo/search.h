/* Search on MongoDB without a text index. Real servers have text indexes,
 * the test server has none, and neither $text's stemming nor its
 * tokenizer folds like parley's query parser; so every message keeps
 * `words`, the distinct folded words of its text (<parley/search_fold.h>,
 * the core's own rules), under a multikey index, written in the same
 * write as the text (append, edit; a tombstone empties it). A query asks
 * whole words with $all and prefixes with an anchored $regex, both served
 * by that index on a real server; phrases and the ranking are checked
 * here on the candidates' text. */
#ifndef STORE_MONGO_SEARCH_H
#define STORE_MONGO_SEARCH_H

#include <stddef.h>

#include <mongoc/mongoc.h>

#include <parley/plugin.h>

#define SEARCH_WORDS_MAX  512 /* distinct words kept per message */
#define SEARCH_WORD_BYTES 64  /* longer words are cut (the parser refuses them) */
/* Relevance ranks the newest this many matches in the asker's rooms, and
 * its pages end there (store_sqlite's bound). */
#define SEARCH_CANDIDATES 5000
#define SEARCH_OFFSET_MAX SEARCH_CANDIDATES

/* Appends key: [distinct folded words of text] (empty for NULL). */
void search_append_words(bson_t *parent, const char *key, const char *text);
/* Schema 3's rewrite: gives every message without `words` its words
 * (messages stored before). Idempotent; a parley_rc, err on failure. */
int search_backfill(mongoc_client_t *client, const char *database, char *err, size_t errlen);
/* The vtable's search member (loop thread): checks q, re-splits its terms
 * by this plugin's rules and queues the op on the lane of its first room. */
int search_call(void *self, const parley_search_query *q, parley_store_done done, void *ud);

#endif
