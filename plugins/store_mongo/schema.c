/* Schema versions, oldest first. Never edit a released version: append
 * one. Each lists the indexes it adds; collections come into being with
 * their first index. Ids are parley's ("u_1") in fields, with an integer
 * `n` beside them for ordering; _id is an ObjectId (the test server
 * rejects strings there). Names are unique by their ASCII-folded copy
 * (name_lc), as SQLite's NOCASE. */
#include "schema.h"

#include <stdio.h>
#include <string.h>

#include <parley/plugin.h>

#include "search.h"

struct index_spec {
	const char *coll;
	const char *name;
	const char *keys_json;
	int unique;
	const char *partial_json; /* partialFilterExpression, or NULL */
};

static const struct index_spec v1[] = {
    {"meta", "key", "{\"key\": 1}", 1, NULL},
    {"counters", "name", "{\"name\": 1}", 1, NULL},
    {"users", "id", "{\"id\": 1}", 1, NULL},
    {"users", "name_lc", "{\"name_lc\": 1}", 1, NULL},
    {"users", "email_lc", "{\"email_lc\": 1}", 0, NULL},
    {"rooms", "id", "{\"id\": 1}", 1, NULL},
    {"rooms", "name_lc", "{\"name_lc\": 1}", 1, NULL},
    {"members", "room_user", "{\"room\": 1, \"user\": 1}", 1, NULL},
    {"members", "user", "{\"user\": 1}", 0, NULL},
    {"messages", "room_seq", "{\"room\": 1, \"seq\": 1}", 1, NULL},
    {"messages", "id", "{\"id\": 1}", 1, NULL},
    /* Dedup across nodes: two nodes racing one client_id, one insert wins.
     * $exists (client_id is absent, never null, without one): DocumentDB's
     * partial indexes take $exists and $eq, not $type. */
    {"messages", "user_client", "{\"user\": 1, \"client_id\": 1}", 1,
     "{\"client_id\": {\"$exists\": true}}"},
    {"sessions", "token_hash", "{\"token_hash\": 1}", 1, NULL},
    {"sessions", "user", "{\"user\": 1}", 0, NULL},
    {"invites", "token_hash", "{\"token_hash\": 1}", 1, NULL},
    {"tokens", "token_hash", "{\"token_hash\": 1}", 1, NULL},
    {"audit", "id", "{\"id\": 1}", 1, NULL},
    {"settings", "user", "{\"user\": 1}", 1, NULL},
    {"kv", "owner_key", "{\"owner\": 1, \"key\": 1}", 1, NULL},
    {"uploads", "id", "{\"id\": 1}", 1, NULL},
    {"uploads", "key", "{\"key\": 1}", 1, NULL},
    {"uploads", "user_ts", "{\"user\": 1, \"created_ts\": 1}", 0, NULL},
    {"uploads", "message", "{\"message\": 1}", 0, NULL},
    {"uploads", "unattached", "{\"created_ts\": 1}", 0, NULL},
};

/* 2: search. The folded words of each message (search.c), multikey;
 * messages stored before get theirs at start (search_backfill). */
static const struct index_spec v2[] = {
    {"messages", "words", "{\"words\": 1}", 0, NULL},
};

struct version {
	const struct index_spec *indexes;
	size_t n;
};

static const struct version versions[] = {
    {v1, sizeof v1 / sizeof v1[0]},
    {v2, sizeof v2 / sizeof v2[0]},
};

#define N_VERSIONS ((int)(sizeof versions / sizeof versions[0]))

int schema_version(void)
{
	return N_VERSIONS;
}

static int error_rc(const bson_error_t *e)
{
	return e->domain == MONGOC_ERROR_STREAM || e->domain == MONGOC_ERROR_SERVER_SELECTION
	           ? PARLEY_EUNAVAIL
	           : PARLEY_ERR;
}

static int create_index(mongoc_database_t *db, const struct index_spec *ix, char *err,
                        size_t errlen)
{
	bson_error_t e;
	bson_t *keys = bson_new_from_json((const uint8_t *)ix->keys_json, -1, &e);
	bson_t *partial =
	    ix->partial_json ? bson_new_from_json((const uint8_t *)ix->partial_json, -1, &e) : NULL;
	bson_t cmd = BSON_INITIALIZER, arr, one;
	BSON_APPEND_UTF8(&cmd, "createIndexes", ix->coll);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
	BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &one);
	BSON_APPEND_DOCUMENT(&one, "key", keys);
	BSON_APPEND_UTF8(&one, "name", ix->name);
	if (ix->unique)
		BSON_APPEND_BOOL(&one, "unique", true);
	if (partial)
		BSON_APPEND_DOCUMENT(&one, "partialFilterExpression", partial);
	bson_append_document_end(&arr, &one);
	bson_append_array_end(&cmd, &arr);
	int rc = PARLEY_OK;
	if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, NULL, &e)) {
		snprintf(err, errlen, "creating index %s.%s: %s", ix->coll, ix->name, e.message);
		rc = error_rc(&e);
	}
	bson_destroy(&cmd);
	bson_destroy(keys);
	if (partial)
		bson_destroy(partial);
	return rc;
}

int schema_setup(mongoc_client_t *client, const char *database, char *err, size_t errlen)
{
	mongoc_collection_t *meta = mongoc_client_get_collection(client, database, "meta");
	mongoc_database_t *db = mongoc_client_get_database(client, database);
	bson_t *q = BCON_NEW("key", BCON_UTF8("schema"));
	bson_error_t e;
	int rc = PARLEY_OK;
	int64_t have = 0;
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(meta, q, NULL, NULL);
	const bson_t *doc;
	if (mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		if (bson_iter_init_find(&it, doc, "version"))
			have = bson_iter_as_int64(&it);
	} else if (mongoc_cursor_error(cur, &e)) {
		snprintf(err, errlen, "reading the schema version: %s", e.message);
		rc = error_rc(&e);
	}
	mongoc_cursor_destroy(cur);
	if (rc == PARLEY_OK && have > N_VERSIONS) {
		snprintf(err, errlen,
		         "database %s has schema version %lld, newer than this parley knows (%d): "
		         "upgrade parley or use another database",
		         database, (long long)have, N_VERSIONS);
		rc = PARLEY_EINVAL;
	}
	/* Every version's indexes, each time: createIndexes is idempotent, and
	 * a start interrupted half-way finishes here. */
	for (int v = 0; rc == PARLEY_OK && v < N_VERSIONS; v++)
		for (size_t i = 0; rc == PARLEY_OK && i < versions[v].n; i++)
			rc = create_index(db, &versions[v].indexes[i], err, errlen);
	if (rc == PARLEY_OK && have < 2 && search_backfill(client, database, err, errlen) < 0)
		rc = PARLEY_EUNAVAIL;
	if (rc == PARLEY_OK && have < N_VERSIONS) {
		/* $max: a node of an older parley starting later never lowers it. */
		bson_t *u = BCON_NEW("$max", "{", "version", BCON_INT64(N_VERSIONS), "}");
		bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
		if (!mongoc_collection_update_one(meta, q, u, opts, NULL, &e)) {
			snprintf(err, errlen, "writing the schema version: %s", e.message);
			rc = error_rc(&e);
		}
		bson_destroy(u);
		bson_destroy(opts);
	}
	bson_destroy(q);
	mongoc_database_destroy(db);
	mongoc_collection_destroy(meta);
	return rc;
}
