/* Records (see records.h). Each kind is a table of fields: the record's
 * name (store_sqlite's column), the document's field, and how the value
 * maps: a number, a string, a reference (an integer key in the record,
 * "u_5" in the document) or the kind's own key (the number n beside the
 * string id). A write replaces each record's document by its key fields
 * (or inserts it), keeping the fields the record lacks (a message's
 * reactions, its edit history), with what the documents carry besides (folded names, the
 * numbers beside ids, clamped expiry times); then the id counters are
 * moved past the ids written, so the next user_create does not reuse one.
 *
 * Cursors: kinds with a number key page by it; the others (members,
 * sessions, invites, tokens, settings, kv) by position in _id order, so a
 * record deleted while a copy reads them can shift a page by one (the
 * copy's count check then tells). reactions live in their messages: a page
 * ends at a message's end, so it may hold up to one message's reactions
 * more than limit. Edit versions and room settings live in their messages
 * and rooms (records_nested.c); thread follows name their root's room. */
#include "records.h"
#include "records_nested.h"
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"

enum ftype {
	F_INT,  /* a number (0 when absent) */
	F_STR,  /* a string or null */
	F_OPT,  /* a string, absent (not null) in the document when null */
	F_REF,  /* record: integer key; document: "<prefix>_<n>" */
	F_SELF, /* the kind's key: record "id": n; document "id": "<prefix>_<n>", "n": n */
};

struct field {
	const char *rec, *doc;
	enum ftype type;
	const char *prefix;
};

struct kind {
	const char *name;
	const struct field *fields;
	size_t n_fields;
	const char *const *keys; /* record fields naming one record, NULL-terminated */
	const char *cursor;      /* the document's number field paged by; NULL: position */
	const char *counter;     /* the id counter moved past written ids, or NULL */
};

#define F(r, d, t, p)                                                                              \
	{                                                                                          \
		r, d, t, p                                                                         \
	}
static const struct field USERS[] = {F("id", "id", F_SELF, "u"),
                                     F("name", "name", F_STR, NULL),
                                     F("display_name", "display_name", F_STR, NULL),
                                     F("role", "role", F_STR, NULL),
                                     F("email", "email", F_STR, NULL),
                                     F("password_hash", "password_hash", F_STR, NULL),
                                     F("disabled", "disabled", F_INT, NULL),
                                     F("created_ts", "created_ts", F_INT, NULL)};
static const struct field ROOMS[] = {F("id", "id", F_SELF, "r"),
                                     F("name", "name", F_STR, NULL),
                                     F("kind", "kind", F_STR, NULL),
                                     F("topic", "topic", F_STR, NULL),
                                     F("created_by", "created_by", F_REF, "u"),
                                     F("created_ts", "created_ts", F_INT, NULL),
                                     F("last_seq", "last_seq", F_INT, NULL),
                                     F("pruned_seq", "pruned_seq", F_INT, NULL),
                                     F("retention_ms", "retention_ms", F_INT, NULL)};
static const struct field MEMBERS[] = {F("room", "room", F_REF, "r"), F("user", "user", F_REF, "u"),
                                       F("role", "role", F_STR, NULL),
                                       F("read_seq", "read_seq", F_INT, NULL)};
static const struct field MESSAGES[] = {F("id", "id", F_SELF, "m"),
                                        F("room", "room", F_REF, "r"),
                                        F("seq", "seq", F_INT, NULL),
                                        F("user", "user", F_REF, "u"),
                                        F("text", "text", F_STR, NULL),
                                        F("ts", "ts", F_INT, NULL),
                                        F("client_id", "client_id", F_OPT, NULL),
                                        F("reply_to", "reply_to", F_STR, NULL),
                                        F("mentions_json", "mentions_json", F_STR, NULL),
                                        F("attachments_json", "attachments_json", F_STR, NULL),
                                        F("edited_ts", "edited_ts", F_INT, NULL),
                                        F("deleted", "deleted", F_INT, NULL),
                                        F("thread", "thread", F_REF, "m"),
                                        F("also_room", "also_room", F_INT, NULL),
                                        F("replies", "replies", F_INT, NULL),
                                        F("last_reply_ts", "last_reply_ts", F_INT, NULL)};
static const struct field REACTIONS[] = {F("message", "message", F_REF, "m"),
                                         F("user", "user", F_REF, "u"),
                                         F("emoji", "emoji", F_STR, NULL)};
static const struct field UPLOADS[] = {F("id", "id", F_SELF, "up"),
                                       F("user", "user", F_REF, "u"),
                                       F("name", "name", F_STR, NULL),
                                       F("type", "type", F_STR, NULL),
                                       F("size", "size", F_INT, NULL),
                                       F("sha256", "sha256", F_STR, NULL),
                                       F("key", "key", F_STR, NULL),
                                       F("tags", "tags", F_STR, NULL),
                                       F("room", "room", F_REF, "r"),
                                       F("message", "message", F_REF, "m"),
                                       F("created_ts", "created_ts", F_INT, NULL)};
static const struct field SESSIONS[] = {
    F("token_hash", "token_hash", F_STR, NULL), F("user", "user", F_REF, "u"),
    F("created_ts", "created_ts", F_INT, NULL), F("expires_ts", "expires_ts", F_INT, NULL),
    F("scopes", "scopes", F_STR, NULL),         F("rooms_json", "rooms_json", F_STR, NULL)};
static const struct field INVITES[] = {
    F("token_hash", "token_hash", F_STR, NULL), F("role", "role", F_STR, NULL),
    F("email", "email", F_STR, NULL),           F("created_by", "created_by", F_REF, "u"),
    F("created_ts", "created_ts", F_INT, NULL), F("expires_ts", "expires_ts", F_INT, NULL),
    F("used_ts", "used_ts", F_INT, NULL)};
static const struct field TOKENS[] = {F("token_hash", "token_hash", F_STR, NULL),
                                      F("kind", "kind", F_STR, NULL),
                                      F("user", "user", F_REF, "u"),
                                      F("created_ts", "created_ts", F_INT, NULL),
                                      F("expires_ts", "expires_ts", F_INT, NULL),
                                      F("used_ts", "used_ts", F_INT, NULL)};
static const struct field AUDIT[] = {
    F("id", "id", F_INT, NULL),         F("ts", "ts", F_INT, NULL),
    F("actor", "actor", F_REF, "u"),    F("action", "action", F_STR, NULL),
    F("target", "target", F_STR, NULL), F("detail", "detail", F_STR, NULL),
    F("client", "client", F_STR, NULL)};
static const struct field SETTINGS[] = {F("user", "user", F_REF, "u"),
                                        F("json", "json", F_STR, NULL)};
static const struct field THREAD_FOLLOWS[] = {F("root", "root", F_REF, "m"),
                                              F("user", "user", F_REF, "u"),
                                              F("read_seq", "read_seq", F_INT, NULL)};
static const struct field NOTIFY[] = {F("room", "room", F_REF, "r"), F("user", "user", F_REF, "u"),
                                      F("level", "level", F_STR, NULL)};
static const struct field KV[] = {F("owner", "owner", F_STR, NULL), F("key", "key", F_STR, NULL),
                                  F("value", "value", F_STR, NULL)};
#undef F

static const char *const K_ID[] = {"id", NULL};
static const char *const K_MEMBER[] = {"room", "user", NULL};
static const char *const K_TOKEN[] = {"token_hash", NULL};
static const char *const K_USER[] = {"user", NULL};
static const char *const K_KV[] = {"owner", "key", NULL};
static const char *const K_REACTION[] = {"message", "user", "emoji", NULL};
static const char *const K_FOLLOW[] = {"root", "user", NULL};

#define N(a) (sizeof a / sizeof a[0])
static const struct kind KINDS[] = {
    {"users", USERS, N(USERS), K_ID, "n", "user"},
    {"rooms", ROOMS, N(ROOMS), K_ID, "n", "room"},
    {"members", MEMBERS, N(MEMBERS), K_MEMBER, NULL, NULL},
    {"messages", MESSAGES, N(MESSAGES), K_ID, "n", NULL},
    {"reactions", REACTIONS, N(REACTIONS), K_REACTION, "n", NULL},
    /* in other documents: records_nested.c */
    {"edits", NULL, 0, NULL, NULL, "edit"},
    {"room_settings", NULL, 0, NULL, NULL, NULL},
    {"thread_follows", THREAD_FOLLOWS, N(THREAD_FOLLOWS), K_FOLLOW, NULL, NULL},
    {"uploads", UPLOADS, N(UPLOADS), K_ID, "n", "upload"},
    {"sessions", SESSIONS, N(SESSIONS), K_TOKEN, NULL, NULL},
    {"invites", INVITES, N(INVITES), K_TOKEN, NULL, NULL},
    {"tokens", TOKENS, N(TOKENS), K_TOKEN, NULL, NULL},
    {"audit", AUDIT, N(AUDIT), K_ID, "id", "audit"},
    {"settings", SETTINGS, N(SETTINGS), K_USER, NULL, NULL},
    {"kv", KV, N(KV), K_KV, NULL, NULL},
    {"pins", NULL, 0, NULL, NULL, NULL}, /* on their messages: records_nested.c */
    {"notify", NOTIFY, N(NOTIFY), K_MEMBER, NULL, NULL},
};
#undef N
#define N_KINDS (sizeof KINDS / sizeof KINDS[0])

const char *const records_kinds[] = {
    "users",         "rooms",          "members", "messages", "reactions", "edits",
    "room_settings", "thread_follows", "uploads", "sessions", "invites",   "tokens",
    "audit",         "settings",       "kv",      "pins",     "notify",    NULL};

static const struct kind *kind_of(const char *name)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (strcmp(KINDS[i].name, name) == 0)
			return &KINDS[i];
	return NULL;
}

int records_kind_known(const char *kind)
{
	return kind_of(kind) != NULL;
}

/* ---------------------------------------------------------------- */
/* Documents to records                                              */
/* ---------------------------------------------------------------- */

/* The number of "<prefix>_<n>" in doc's field, or 0. */
static int64_t ref_number(const bson_t *doc, const char *field, const char *prefix)
{
	bson_iter_t it;
	int64_t n = 0;
	if (bson_iter_init_find(&it, doc, field) && BSON_ITER_HOLDS_UTF8(&it))
		ids_parse(bson_iter_utf8(&it, NULL), prefix, &n);
	return n;
}

static json_t *field_value(const bson_t *doc, const struct field *f)
{
	bson_iter_t it;
	int64_t n;
	switch (f->type) {
	case F_INT:
		return json_integer(mdb_int(doc, f->doc));
	case F_STR:
	case F_OPT:
		if (bson_iter_init_find(&it, doc, f->doc) && BSON_ITER_HOLDS_UTF8(&it))
			return json_string(bson_iter_utf8(&it, NULL));
		return json_null();
	case F_REF:
	case F_SELF:
		n = ref_number(doc, f->doc, f->prefix);
		return n > 0 ? json_integer(n) : json_null();
	}
	return json_null();
}

static int append_record(const struct kind *k, const bson_t *doc, json_t *out)
{
	json_t *rec = json_object();
	if (!rec)
		return PARLEY_ENOMEM;
	for (size_t i = 0; i < k->n_fields; i++)
		if (json_object_set_new(rec, k->fields[i].rec, field_value(doc, &k->fields[i])) <
		    0) {
			json_decref(rec);
			return PARLEY_ENOMEM;
		}
	return json_array_append_new(out, rec) == 0 ? PARLEY_OK : PARLEY_ENOMEM;
}

/* A message's reactions as records; how many into *added. */
static int append_reactions(const bson_t *doc, json_t *out, int *added)
{
	bson_iter_t it, arr;
	int64_t message = ref_number(doc, "id", "m");
	*added = 0;
	if (!bson_iter_init_find(&it, doc, "reactions") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return PARLEY_OK;
	while (bson_iter_next(&arr)) {
		bson_iter_t r;
		const char *emoji = NULL, *user = NULL;
		if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &r))
			continue;
		while (bson_iter_next(&r)) {
			if (BSON_ITER_HOLDS_UTF8(&r) && !strcmp(bson_iter_key(&r), "e"))
				emoji = bson_iter_utf8(&r, NULL);
			else if (BSON_ITER_HOLDS_UTF8(&r) && !strcmp(bson_iter_key(&r), "u"))
				user = bson_iter_utf8(&r, NULL);
		}
		int64_t u = 0;
		if (!emoji || !user || !ids_parse(user, "u", &u))
			continue;
		json_t *rec = json_pack("{s:I, s:I, s:s}", "message", (json_int_t)message, "user",
		                        (json_int_t)u, "emoji", emoji);
		if (!rec || json_array_append_new(out, rec) < 0)
			return PARLEY_ENOMEM;
		(*added)++;
	}
	return PARLEY_OK;
}

static const char *collection_of(const struct kind *k)
{
	return k->fields == REACTIONS ? "messages" : k->name;
}

int records_page(struct dbconn *c, struct op *op, const char *kind, int64_t after, int limit,
                 json_t *out, int64_t *next, int *more)
{
	const struct kind *k = kind_of(kind);
	if (!k->fields)
		return records_nested_page(c, op, kind, after, limit, out, next, more);
	int reactions = k->fields == REACTIONS;
	bson_t *q, *opts;
	*more = 0;
	*next = after;
	if (k->cursor) {
		q = BCON_NEW(k->cursor, "{", "$gt", BCON_INT64(after), "}");
		opts = BCON_NEW("sort", "{", k->cursor, BCON_INT32(1), "}");
		/* reactions: messages without any are skipped here, so no limit */
		if (!reactions)
			BSON_APPEND_INT64(opts, "limit", limit + 1);
		else
			BCON_APPEND(opts, "projection", "{", "id", BCON_INT32(1), "n",
			            BCON_INT32(1), "reactions", BCON_INT32(1), "}");
	} else if (k->fields == KV) {
		/* Leases and counters share the collection (cluster.c); they are
		 * no kv records (store_sqlite keeps them in tables of their own,
		 * not copied either). */
		q = BCON_NEW("owner", "{", "$nin", "[", BCON_UTF8("parley:lease"),
		             BCON_UTF8("parley:counter"), "]", "}");
		opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "skip", BCON_INT64(after),
		                "limit", BCON_INT64(limit + 1));
	} else {
		q = bson_new();
		opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "skip", BCON_INT64(after),
		                "limit", BCON_INT64(limit + 1));
	}
	mongoc_collection_t *col = mdb_coll(c, collection_of(k));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
	const bson_t *d;
	bson_error_t err;
	int rc = PARLEY_OK, n = 0;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &d)) {
		if (n >= limit) {
			if (reactions) {
				/* more only if another message has some */
				bson_iter_t it, arr;
				if (!bson_iter_init_find(&it, d, "reactions") ||
				    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr) ||
				    !bson_iter_next(&arr))
					continue;
			}
			*more = 1;
			break;
		}
		if (reactions) {
			int added = 0;
			rc = append_reactions(d, out, &added);
			n += added;
		} else {
			rc = append_record(k, d, out);
			n++;
		}
		if (rc < 0)
			rc = op_fail(op, rc, "records_read: out of memory");
		else if (k->cursor)
			*next = mdb_int(d, k->cursor);
		else
			*next = after + n;
	}
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &err))
		rc = mdb_fail(c, op, &err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

int records_read(struct dbconn *c, struct op *op)
{
	json_t *out = json_array();
	if (!out)
		return op_fail(op, PARLEY_ENOMEM, "records_read: out of memory");
	int64_t next = 0;
	int more = 0;
	int rc = records_page(c, op, op->args.records.kind, op->args.records.after,
	                      op->args.records.limit, out, &next, &more);
	if (rc == PARLEY_OK) {
		char *text = json_dumps(out, JSON_COMPACT);
		op->res.text = text ? op_strdup(op, text) : NULL;
		free(text);
		if (!op->res.text)
			rc = op_fail(op, PARLEY_ENOMEM, "records_read: out of memory");
		op->res.value = next;
		op->res.more = more;
	}
	json_decref(out);
	return rc;
}

/* ---------------------------------------------------------------- */
/* Records to documents                                              */
/* ---------------------------------------------------------------- */

/* A record's field as a document value into b (an F_OPT null: left out).
 * 0, or -1 when the value has the wrong type. */
static int put_field(struct op *op, const struct field *f, json_t *v, bson_t *b, int64_t *self_n)
{
	const char *key = f->doc;
	switch (f->type) {
	case F_INT:
		if (v && !json_is_null(v) && !json_is_integer(v))
			return -1;
		BSON_APPEND_INT64(b, key, v ? json_integer_value(v) : 0);
		return 0;
	case F_STR:
	case F_OPT:
		if (v && !json_is_null(v) && !json_is_string(v))
			return -1;
		if (v && json_is_string(v))
			BSON_APPEND_UTF8(b, key, json_string_value(v));
		else if (f->type != F_OPT)
			BSON_APPEND_NULL(b, key);
		return 0;
	case F_REF:
	case F_SELF:
		if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) <= 0))
			return -1;
		if (!v || json_is_null(v)) {
			if (f->type == F_SELF)
				return -1;
			BSON_APPEND_NULL(b, key);
			return 0;
		}
		const char *id =
		    op_printf(op, "%s_%lld", f->prefix, (long long)json_integer_value(v));
		if (!id)
			return -1;
		BSON_APPEND_UTF8(b, key, id);
		if (f->type == F_SELF) {
			BSON_APPEND_INT64(b, "n", json_integer_value(v));
			*self_n = json_integer_value(v);
		}
		return 0;
	}
	return -1;
}

/* The string a record holds in field, or NULL. */
static const char *rec_str(json_t *rec, const char *field)
{
	return json_string_value(json_object_get(rec, field));
}

static int64_t rec_int(json_t *rec, const char *field)
{
	return json_integer_value(json_object_get(rec, field));
}

/* What the documents of kind carry besides the record's own fields. */
static void put_extras(struct op *op, const struct kind *k, json_t *rec, bson_t *set)
{
	const char *s;
	if (k->fields == USERS) {
		if ((s = rec_str(rec, "name")))
			BSON_APPEND_UTF8(set, "name_lc", mdb_fold(op, s));
		s = rec_str(rec, "email");
		mdb_append_str(set, "email_lc", s ? mdb_fold(op, s) : NULL);
	} else if (k->fields == ROOMS) {
		const char *kind = rec_str(rec, "kind");
		if ((s = rec_str(rec, "name"))) {
			BSON_APPEND_UTF8(set, "name_lc", mdb_fold(op, s));
			/* private rooms have none: their names need not be unique */
			if (!kind || strcmp(kind, "private") != 0)
				BSON_APPEND_UTF8(set, "unique_name_lc", mdb_fold(op, s));
		}
	} else if (k->fields == MEMBERS || k->fields == NOTIFY) {
		BSON_APPEND_INT64(set, "room_n", rec_int(rec, "room"));
		BSON_APPEND_INT64(set, "user_n", rec_int(rec, "user"));
	} else if (k->fields == MESSAGES) {
		BSON_APPEND_INT64(set, "room_n", rec_int(rec, "room"));
		/* What search finds (search.h): a copied message is found too. */
		s = rec_str(rec, "text");
		if (s && !rec_int(rec, "deleted"))
			search_append_words(set, "words", s);
	} else if (k->fields == SESSIONS || k->fields == INVITES || k->fields == TOKENS) {
		BSON_APPEND_INT64(set, "expires_q", mdb_query_int(rec_int(rec, "expires_ts")));
	}
}

/* The upsert filter: the kind's key fields as the document has them. */
static bson_t *key_filter(const bson_t *set, const struct kind *k)
{
	bson_t *q = bson_new();
	for (const char *const *key = k->keys; *key; key++) {
		const char *doc_field = *key;
		for (size_t i = 0; i < k->n_fields; i++)
			if (strcmp(k->fields[i].rec, *key) == 0)
				doc_field = k->fields[i].doc;
		bson_iter_t it;
		if (bson_iter_init_find(&it, set, doc_field))
			bson_append_iter(q, doc_field, -1, &it);
	}
	return q;
}

static int write_reaction(struct dbconn *c, struct op *op, json_t *rec)
{
	json_t *m = json_object_get(rec, "message"), *u = json_object_get(rec, "user");
	const char *emoji = rec_str(rec, "emoji");
	if (!json_is_integer(m) || !json_is_integer(u) || !emoji)
		return op_fail(op, PARLEY_EINVAL,
		               "records_write: a reaction needs message, user "
		               "and emoji");
	const char *mid = op_printf(op, "m_%lld", (long long)json_integer_value(m));
	const char *uid = op_printf(op, "u_%lld", (long long)json_integer_value(u));
	if (!mid || !uid)
		return op_fail(op, PARLEY_ENOMEM, "records_write: out of memory");
	bson_t *q = BCON_NEW("id", BCON_UTF8(mid));
	/* {e, u} in this order: $addToSet compares whole documents. */
	bson_t *upd = BCON_NEW("$addToSet", "{", "reactions", "{", "e", BCON_UTF8(emoji), "u",
	                       BCON_UTF8(uid), "}", "}");
	int64_t matched = 0;
	int rc = mdb_update(c, op, "messages", q, upd, 0, 0, &matched);
	bson_destroy(q);
	bson_destroy(upd);
	if (rc == PARLEY_OK && matched == 0)
		rc = op_fail(op, PARLEY_ENOTFOUND,
		             "records_write: reaction to a missing message %s", mid);
	return rc;
}

/* Fields a record does not carry but its document keeps when it is
 * written again: a message's reactions (their own kind) and edit history,
 * a room's hole-sweep clock. */
static const char *const KEPT_MESSAGES[] = {"reactions", "edits", NULL};
static const char *const KEPT_ROOMS[] = {"seq_ts", "settings", NULL};

/* Copies the kept fields of the document matching q (if any) into doc;
 * a new message gets an empty reactions array. */
static int keep_fields(struct dbconn *c, struct op *op, const struct kind *k, const bson_t *q,
                       bson_t *doc)
{
	const char *const *kept = k->fields == MESSAGES ? KEPT_MESSAGES
	                          : k->fields == ROOMS  ? KEPT_ROOMS
	                                                : NULL;
	if (!kept)
		return PARLEY_OK;
	bson_t *old = NULL;
	int rc = mdb_find_one(c, op, k->name, q, NULL, &old);
	if (rc == PARLEY_ENOTFOUND) {
		op->res.rc = PARLEY_OK;
		op->error[0] = '\0';
		if (k->fields == MESSAGES) {
			bson_t empty;
			BSON_APPEND_ARRAY_BEGIN(doc, "reactions", &empty);
			bson_append_array_end(doc, &empty);
		}
		return PARLEY_OK;
	}
	if (rc < 0)
		return rc;
	for (; *kept; kept++) {
		bson_iter_t it;
		if (bson_iter_init_find(&it, old, *kept))
			bson_append_iter(doc, *kept, -1, &it);
	}
	bson_destroy(old);
	return PARLEY_OK;
}

/* A follow's document names its root's room (threads_list finds the
 * follows of a person's rooms by it). */
static int follow_room(struct dbconn *c, struct op *op, bson_t *doc)
{
	bson_iter_t it;
	if (!bson_iter_init_find(&it, doc, "root") || !BSON_ITER_HOLDS_UTF8(&it))
		return op_fail(op, PARLEY_EINVAL, "records_write: a thread follow needs its root");
	const char *root = bson_iter_utf8(&it, NULL);
	bson_t *q = BCON_NEW("id", BCON_UTF8(root));
	bson_t *opts = BCON_NEW("projection", "{", "room", BCON_INT32(1), "}");
	bson_t *msg = NULL;
	int rc = mdb_find_one(c, op, "messages", q, opts, &msg);
	bson_destroy(q);
	bson_destroy(opts);
	if (rc == PARLEY_ENOTFOUND)
		return op_fail(op, PARLEY_ENOTFOUND,
		               "records_write: a follow of a missing message %s", root);
	if (rc < 0)
		return rc;
	mdb_append_str(doc, "room", mdb_str(op, msg, "room"));
	bson_destroy(msg);
	return PARLEY_OK;
}

/* Replaces (or inserts) the document by the record's keys. A whole
 * replacement, not $set: the test server turns a 64-bit integer given to
 * $set into an object (INT64_MAX, "never expires", came back as 0). */
static int replace_doc(struct dbconn *c, struct op *op, const char *coll, const bson_t *q,
                       const bson_t *doc)
{
	mongoc_collection_t *col = mdb_coll(c, coll);
	bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
	bson_error_t err;
	int rc = PARLEY_OK;
	if (!mongoc_collection_replace_one(col, q, doc, opts, NULL, &err)) {
		rc = mdb_fail(c, op, &err);
		/* Two first upserts racing on a real server: one duplicate key;
		 * the document exists now, so once more replaces it. */
		if (rc == PARLEY_ECONFLICT) {
			op->res.rc = PARLEY_OK;
			op->error[0] = '\0';
			rc = mongoc_collection_replace_one(col, q, doc, opts, NULL, &err)
			         ? PARLEY_OK
			         : mdb_fail(c, op, &err);
		}
	}
	bson_destroy(opts);
	mongoc_collection_destroy(col);
	return rc;
}

static int write_record(struct dbconn *c, struct op *op, const struct kind *k, json_t *rec,
                        int64_t *max_n)
{
	if (k->fields == REACTIONS)
		return write_reaction(c, op, rec);
	if (!k->fields)
		return records_nested_write(c, op, k->name, rec, max_n);
	bson_t doc = BSON_INITIALIZER;
	int64_t self_n = 0;
	int rc = PARLEY_OK;
	for (size_t i = 0; i < k->n_fields && rc == PARLEY_OK; i++)
		if (put_field(op, &k->fields[i], json_object_get(rec, k->fields[i].rec), &doc,
		              &self_n) < 0)
			rc = op_fail(op, PARLEY_EINVAL, "records_write: %s.%s has the wrong type",
			             k->name, k->fields[i].rec);
	if (rc == PARLEY_OK) {
		put_extras(op, k, rec, &doc);
		if (k->fields == AUDIT)
			self_n = rec_int(rec, "id");
		if (self_n > *max_n)
			*max_n = self_n;
		bson_t *q = key_filter(&doc, k);
		rc = k->fields == THREAD_FOLLOWS ? follow_room(c, op, &doc)
		                                 : keep_fields(c, op, k, q, &doc);
		if (rc == PARLEY_OK)
			rc = replace_doc(c, op, k->name, q, &doc);
		bson_destroy(q);
	}
	bson_destroy(&doc);
	return rc;
}

int records_write(struct dbconn *c, struct op *op)
{
	const struct kind *k = kind_of(op->args.records.kind);
	json_error_t jerr;
	json_t *all = json_loads(op->args.records.json, 0, &jerr);
	if (!json_is_array(all)) {
		json_decref(all);
		return op_fail(op, PARLEY_EINVAL, "records_write: not a JSON array of records");
	}
	int rc = PARLEY_OK;
	int64_t max_n = 0;
	size_t i;
	json_t *rec;
	json_array_foreach(all, i, rec)
	{
		if (!json_is_object(rec)) {
			rc = op_fail(op, PARLEY_EINVAL,
			             "records_write: record %zu is not an object", i);
			break;
		}
		if ((rc = write_record(c, op, k, rec, &max_n)) < 0)
			break;
	}
	size_t written = i;
	json_decref(all);
	if (rc == PARLEY_OK && k->counter && max_n > 0) {
		/* The next id the store gives is past every id written. */
		bson_t *q = BCON_NEW("name", BCON_UTF8(k->counter));
		bson_t *u = BCON_NEW("$max", "{", "n", BCON_INT64(max_n), "}");
		rc = mdb_update(c, op, "counters", q, u, 0, 1, NULL);
		if (rc == PARLEY_ECONFLICT) {
			op->res.rc = PARLEY_OK;
			op->error[0] = '\0';
			rc = mdb_update(c, op, "counters", q, u, 0, 1, NULL);
		}
		bson_destroy(q);
		bson_destroy(u);
	}
	if (rc == PARLEY_OK)
		op->res.value = (int64_t)written;
	return rc;
}
