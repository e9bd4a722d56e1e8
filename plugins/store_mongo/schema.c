/* Schema versions, oldest first. Never edit a released version: append
 * one. Each lists the indexes it drops and adds (and may rewrite documents
 * first); collections come into being with their first index. Ids are parley's ("u_1") in fields,
 * with an integer `n` beside them for ordering; _id is an ObjectId (the test server rejects strings
 * there). Names are unique by their ASCII-folded copy (name_lc), as SQLite's NOCASE. */
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

/* 2: room names unique among public rooms and DMs only (store_sqlite's
 * migration 5): the unique index moves from name_lc to unique_name_lc,
 * which private rooms lack. $exists, as above, for DocumentDB. */
static const struct index_spec v2[] = {
    {"rooms", "unique_name_lc", "{\"unique_name_lc\": 1}", 1,
     "{\"unique_name_lc\": {\"$exists\": true}}"},
};
static const struct index_spec v2_drops[] = {
    {"rooms", "name_lc", NULL, 0, NULL},
};

/* 3: find and follow (issue 15). Search: the folded words of each
 * message (search.h), multikey; messages stored before get theirs here
 * (search_backfill). Pins live on their message (pins.h): a partial index
 * holds only the pinned ones. Notification levels: one document per
 * (room, user) not at "all" (notify.h). */
static const struct index_spec v3[] = {
    {"messages", "words", "{\"words\": 1}", 0, NULL},
    {"messages", "room_pin", "{\"room\": 1, \"pin_ts\": -1}", 0,
     "{\"pin_ts\": {\"$exists\": true}}"},
    {"notify", "room_user", "{\"room\": 1, \"user\": 1}", 1, NULL},
    {"notify", "user", "{\"user\": 1}", 0, NULL},
};

/* 4: the data lifecycle — the number n of the kinds records_read pages by
 * (a copy or a backup reads them in n order, a page at a time). A room's
 * pruned mark and retention and a message's edit history are fields of
 * their documents; leases are kv documents (cluster.c). */
static const struct index_spec v4[] = {
    {"users", "n", "{\"n\": 1}", 0, NULL},
    {"rooms", "n", "{\"n\": 1}", 0, NULL},
    {"messages", "n", "{\"n\": 1}", 0, NULL},
    {"uploads", "n", "{\"n\": 1}", 0, NULL},
};

static int rooms_unique_names(mongoc_client_t *client, const char *database, char *err,
                              size_t errlen);

struct version {
	const struct index_spec *indexes;
	size_t n;
	const struct index_spec *drops;
	size_t n_drops;
	/* Rewrites documents before the indexes; NULL for none. Idempotent. */
	int (*rewrite)(mongoc_client_t *client, const char *database, char *err, size_t errlen);
};

static const struct version versions[] = {
    {v1, sizeof v1 / sizeof v1[0], NULL, 0, NULL},
    {v2, sizeof v2 / sizeof v2[0], v2_drops, sizeof v2_drops / sizeof v2_drops[0],
     rooms_unique_names},
    {v3, sizeof v3 / sizeof v3[0], NULL, 0, search_backfill},
    {v4, sizeof v4 / sizeof v4[0], NULL, 0, NULL},
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

/* 1 when coll has the index named ix->name, 0 when not (or no such
 * collection), < 0 an error. Asked first: servers differ in the code they
 * answer for dropping an index that is not there. */
static int has_index(mongoc_database_t *db, const struct index_spec *ix, char *err, size_t errlen)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(db, ix->coll);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
	const bson_t *doc;
	bson_error_t e;
	int found = 0;
	while (!found && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		found = bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
		        strcmp(bson_iter_utf8(&it, NULL), ix->name) == 0;
	}
	/* No collection yet: listIndexes fails with NamespaceNotFound (26). */
	if (!found && mongoc_cursor_error(cur, &e) && e.code != 26) {
		snprintf(err, errlen, "listing the indexes of %s: %s", ix->coll, e.message);
		found = error_rc(&e);
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	return found;
}

static int drop_index(mongoc_database_t *db, const struct index_spec *ix, char *err, size_t errlen)
{
	int has = has_index(db, ix, err, errlen);
	if (has <= 0)
		return has;
	bson_error_t e;
	bson_t *cmd = BCON_NEW("dropIndexes", BCON_UTF8(ix->coll), "index", BCON_UTF8(ix->name));
	int rc = PARLEY_OK;
	if (!mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, &e)) {
		snprintf(err, errlen, "dropping index %s.%s: %s", ix->coll, ix->name, e.message);
		rc = error_rc(&e);
	}
	bson_destroy(cmd);
	return rc;
}

/* v2: every room but a private one gets unique_name_lc = name_lc. */
static int rooms_unique_names(mongoc_client_t *client, const char *database, char *err,
                              size_t errlen)
{
	mongoc_collection_t *rooms = mongoc_client_get_collection(client, database, "rooms");
	bson_t *q = BCON_NEW("kind", "{", "$ne", BCON_UTF8("private"), "}", "unique_name_lc", "{",
	                     "$exists", BCON_BOOL(false), "}");
	bson_t *opts =
	    BCON_NEW("projection", "{", "_id", BCON_INT32(1), "name_lc", BCON_INT32(1), "}");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(rooms, q, opts, NULL);
	const bson_t *doc;
	bson_error_t e;
	int rc = PARLEY_OK;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t id, lc;
		if (!bson_iter_init_find(&id, doc, "_id") ||
		    !bson_iter_init_find(&lc, doc, "name_lc") || !BSON_ITER_HOLDS_UTF8(&lc))
			continue;
		bson_t *one = BCON_NEW("_id", BCON_OID(bson_iter_oid(&id)));
		bson_t *u = BCON_NEW("$set", "{", "unique_name_lc",
		                     BCON_UTF8(bson_iter_utf8(&lc, NULL)), "}");
		if (!mongoc_collection_update_one(rooms, one, u, NULL, NULL, &e)) {
			snprintf(err, errlen, "schema 2: naming room %s: %s",
			         bson_iter_utf8(&lc, NULL), e.message);
			rc = error_rc(&e);
		}
		bson_destroy(one);
		bson_destroy(u);
	}
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &e)) {
		snprintf(err, errlen, "schema 2: reading rooms: %s", e.message);
		rc = error_rc(&e);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(q);
	bson_destroy(opts);
	mongoc_collection_destroy(rooms);
	return rc;
}

/* 1 when a version after v drops the index ix. */
static int dropped_later(int v, const struct index_spec *ix)
{
	for (int w = v + 1; w < N_VERSIONS; w++)
		for (size_t i = 0; i < versions[w].n_drops; i++)
			if (strcmp(versions[w].drops[i].coll, ix->coll) == 0 &&
			    strcmp(versions[w].drops[i].name, ix->name) == 0)
				return 1;
	return 0;
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
	/* Drops and rewrites of the versions after the stored one; every
	 * version's indexes (but those a later one drops), each time. Each step
	 * is idempotent and the version is written after all of them, so a
	 * start interrupted half-way finishes here. */
	for (int v = 0; rc == PARLEY_OK && v < N_VERSIONS; v++) {
		const struct version *ver = &versions[v];
		for (size_t i = 0; rc == PARLEY_OK && v >= have && i < ver->n_drops; i++)
			rc = drop_index(db, &ver->drops[i], err, errlen);
		if (rc == PARLEY_OK && v >= have && ver->rewrite)
			rc = ver->rewrite(client, database, err, errlen);
		for (size_t i = 0; rc == PARLEY_OK && i < ver->n; i++)
			if (!dropped_later(v, &ver->indexes[i]))
				rc = create_index(db, &ver->indexes[i], err, errlen);
	}
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
