/* parley plugin ABI.
 *
 * A plugin is a shared object exporting one symbol, parley_plugin_entry,
 * that returns a pointer to a static parley_plugin. The host refuses a
 * plugin whose `abi` differs from PARLEY_PLUGIN_ABI.
 *
 * Plugins never link against the server: everything they may call is in
 * the parley_host table handed to check() and init() (the Redis modules
 * way). The host only ever appends members to that table and to every
 * struct below that carries `struct_size`; a plugin built against an older
 * header keeps working, and a plugin that needs a newer call tests for it
 * with PARLEY_HOST_HAS().
 *
 * Threads: every callback into a plugin runs on the loop thread, except the
 * `work` function given to submit(). Results computed on other threads come
 * back with post(), which is the only thread-safe member of the table.
 *
 * Ownership: strings and structs passed to a callback are valid only for the
 * duration of the call; copy what you keep. Strings passed to the host are
 * copied by the host unless said otherwise.
 */
#ifndef PARLEY_PLUGIN_H
#define PARLEY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PARLEY_PLUGIN_ABI 1

/* Whether the table `t` (a `type` *, e.g. a provider's vtable or the host
 * table, each of which begins with struct_size) is new enough to have
 * `member` and sets it. Every member appended after ABI 1's first release
 * is tested this way before it is called: an older plugin or host simply
 * lacks it. */
#define PARLEY_HAS(type, t, member)                                                                \
	((t) != NULL && (t)->struct_size >= offsetof(type, member) + sizeof((t)->member) &&        \
	 (t)->member != NULL)

#if defined(__GNUC__)
#define PARLEY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PARLEY_EXPORT       __attribute__((visibility("default")))
#else
#define PARLEY_PRINTF(f, a)
#define PARLEY_EXPORT
#endif

/* One return-code space for the core and the ABI: 0 ok, negative errors,
 * positive non-error outcomes. Each error maps to one protocol error code. */
enum parley_rc {
	PARLEY_OK = 0,
	PARLEY_PENDING = 1, /* finishes later through the callback given */
	PARLEY_DENY = 2,    /* hook: reject the action */
	PARLEY_REWRITE = 3, /* hook: the text was replaced */
	PARLEY_PASS = 4,    /* auth chain: not mine, ask the next provider */

	PARLEY_ERR = -1,            /* internal */
	PARLEY_ENOMEM = -2,         /* internal */
	PARLEY_EINVAL = -3,         /* bad_request */
	PARLEY_ENOTFOUND = -4,      /* not_found */
	PARLEY_ECONFLICT = -5,      /* conflict */
	PARLEY_EUNAVAIL = -6,       /* unavailable */
	PARLEY_EFORBIDDEN = -7,     /* forbidden */
	PARLEY_ETOOLARGE = -8,      /* too_large */
	PARLEY_ERATELIMIT = -9,     /* rate_limited */
	PARLEY_EUNAUTHORIZED = -10, /* unauthorized */
	/* Since ABI 1 (appended): the store cannot write now (a full disk, a
	 * read-only database file, an I/O error): unavailable, and the core
	 * tells the client when to retry (retry_after_ms, HTTP Retry-After). */
	PARLEY_ESTORAGE = -11
};

enum parley_log_level {
	PARLEY_LOG_DEBUG = 0,
	PARLEY_LOG_INFO = 1,
	PARLEY_LOG_WARN = 2,
	PARLEY_LOG_ERROR = 3
};

typedef struct parley_host parley_host;
typedef struct parley_ctx parley_ctx;     /* the host's handle for one plugin */
typedef struct parley_conf parley_conf;   /* a config table (a plugin's section) */
typedef struct parley_timer parley_timer; /* a timer owned by a plugin */
typedef struct parley_watch parley_watch; /* an fd watcher owned by a plugin */
typedef struct parley_metric parley_metric;

/* ------------------------------------------------------------------ */
/* The plugin descriptor                                               */
/* ------------------------------------------------------------------ */

typedef struct parley_plugin {
	uint32_t abi;        /* PARLEY_PLUGIN_ABI */
	const char *name;    /* "store_sqlite" */
	const char *version; /* "0.1.0" */
	/* Validate the config section (host->conf(ctx)) with no side effects.
	 * Report problems with host->conf_error(); return PARLEY_OK or an error.
	 * Keys the plugin did not read during check are reported as unknown. */
	int (*check)(const parley_host *host, parley_ctx *ctx);
	/* Start: provide vtables, register hooks. *state is the plugin's own. */
	int (*init)(const parley_host *host, parley_ctx *ctx, void **state);
	/* Stop; called in reverse load order after the loop has stopped serving. */
	void (*fini)(void *state);
	/* Optional: 1 when ready to serve (/readyz); *why names what is not. */
	int (*ready)(void *state, const char **why);
	/* Optional: SIGHUP. */
	int (*reload)(void *state);
	void *reserved[8];
} parley_plugin;

typedef const parley_plugin *(*parley_plugin_entry_fn)(void);
#define PARLEY_PLUGIN_ENTRY_SYMBOL "parley_plugin_entry"
/* Define it with: PARLEY_PLUGIN_DEFINE(my_plugin_descriptor) */
#define PARLEY_PLUGIN_DEFINE(desc)                                                                 \
	PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);                              \
	PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void)                               \
	{                                                                                          \
		return &(desc);                                                                    \
	}

/* ------------------------------------------------------------------ */
/* Records shared by the store, auth and the core                     */
/* ------------------------------------------------------------------ */

typedef struct parley_user {
	const char *id; /* "u_1" */
	const char *name;
	const char *display_name;
	const char *role;          /* "admin" | "member" | "bot" */
	const char *email;         /* may be NULL */
	const char *password_hash; /* auth providers only; may be NULL */
	int disabled;
	int64_t created_ts;
} parley_user;

typedef struct parley_room {
	const char *id;   /* "r_1" */
	const char *name; /* unique among public rooms; DMs: "dm:u_1:u_2", ids sorted */
	const char *kind; /* "public" | "private" | "dm" */
	const char *topic;
	const char *created_by; /* user id */
	int64_t created_ts;
	int64_t last_seq;
} parley_room;

typedef struct parley_member {
	const char *room_id;
	const char *user_id;
	const char *role; /* "owner" | "moderator" | "member" */
	int64_t read_seq;
} parley_member;

typedef struct parley_message {
	const char *id; /* "m_813"; set by the store */
	const char *room_id;
	const char *user_id;
	const char *text;      /* NULL when deleted */
	const char *client_id; /* may be NULL */
	const char *reply_to;  /* may be NULL */
	/* JSON texts the core builds and reads; the store keeps them opaque.
	 * NULL means empty. */
	const char *mentions_json;    /* ["u_2"] */
	const char *attachments_json; /* [{"id":…}] */
	const char *reactions_json;   /* {"👍":["u_2"]}; set by the store */
	int64_t seq;                  /* set by the store */
	int64_t ts;
	int64_t edited_ts; /* 0: never */
	int deleted;
} parley_message;

typedef struct parley_session {
	const char *token_hash; /* hex SHA-256 of the token */
	const char *user_id;
	int64_t created_ts;
	int64_t expires_ts;
	/* Since ABI 1 (appended): set by stores with session_create_scoped.
	 * Bot tokens: scopes is a comma list of read, post, react, moderate;
	 * rooms a JSON array of room ids. NULL: a person's session, unscoped. */
	const char *scopes;
	const char *rooms_json;
} parley_session;

/* One line of the audit log: an administrative action. */
typedef struct parley_audit {
	int64_t id; /* set by the store, increasing */
	int64_t ts;
	const char *actor_id; /* the admin's user id; NULL for the CLI or the server */
	const char *action;   /* "user.disable", "user.role", "invite.create", … */
	const char *target;   /* a user id, room id, invite id…; may be NULL */
	const char *detail;   /* a JSON object with the action's details; may be NULL */
	const char *client;   /* the peer address the request came from; may be NULL */
} parley_audit;

typedef struct parley_invite {
	const char *token_hash;
	const char *role;
	const char *email;      /* may be NULL */
	const char *created_by; /* user id, or NULL for the first-start invite */
	int64_t created_ts;
	int64_t expires_ts;
	int64_t used_ts; /* 0: unused */
} parley_invite;

/* A file uploaded through POST /api/uploads. Since ABI 1 (appended). */
typedef struct parley_upload {
	const char *id;         /* "up_3"; set by the store */
	const char *user_id;    /* the uploader */
	const char *name;       /* the file name as given (UTF-8, no path) */
	const char *type;       /* the sniffed media type: "image/png" */
	const char *sha256;     /* hex */
	const char *key;        /* the uploads provider's object key */
	const char *tags;       /* set by upload hooks; may be NULL */
	const char *room_id;    /* where it is attached; NULL while unattached */
	const char *message_id; /* the message it is attached to; may be NULL */
	int64_t size;
	int64_t created_ts;
} parley_upload;

/* ------------------------------------------------------------------ */
/* store provider (exactly one)                                        */
/* ------------------------------------------------------------------ */

/* A message's place in a thread (issue 15, appended): see the store's
 * thread members. */
typedef struct parley_thread_info {
	const char *thread_id; /* a reply: its root's id; NULL otherwise */
	int also_room;         /* a reply also shown in the room's timeline */
	int following;         /* threads_list: 1 (the person follows it) */
	int64_t replies;       /* a root: its replies, tombstones included */
	int64_t last_reply_ts; /* a root: when its newest reply was written; 0: none */
	int64_t unread;        /* threads_list: others' replies after the person's mark */
	int64_t read_seq;      /* threads_list: the person's read mark in the thread */
} parley_thread_info;

/* A search (since ABI 1, appended): what the core parsed from the
 * person's query, and where they may look. Terms are folded by the core
 * (lower case, Latin diacritics removed) UTF-8; a store folds the text it
 * indexes the same way (or wider: FTS5's unicode61 remove_diacritics 2).
 * Every term must match (AND). The folding and word rules are in
 * <parley/search_fold.h>. */
enum parley_search_term_kind {
	PARLEY_TERM_WORD = 0,   /* a whole word */
	PARLEY_TERM_PREFIX = 1, /* words starting with text ("buff*") */
	PARLEY_TERM_PHRASE = 2  /* words in this order, text's words joined by single spaces */
};

enum parley_search_sort {
	PARLEY_SEARCH_RELEVANCE = 0, /* best first; ties newest first */
	PARLEY_SEARCH_RECENT = 1     /* newest first (ts, then id) */
};

typedef struct parley_search_term {
	int kind; /* enum parley_search_term_kind */
	const char *text;
} parley_search_term;

typedef struct parley_search_query {
	size_t struct_size;
	const parley_search_term *terms; /* 1..PARLEY_SEARCH_TERMS_MAX */
	size_t n_terms;
	/* Only messages of these rooms: the core passes the rooms the asker
	 * may read (never empty; at most the asker's memberships). */
	const char *const *room_ids;
	size_t n_rooms;
	const char *user_id; /* only this author; NULL: anyone */
	int64_t before_ts;   /* ts < before_ts; 0: no bound */
	int64_t after_ts;    /* ts > after_ts; 0: no bound */
	int sort;            /* enum parley_search_sort */
	/* The cursor a previous page's result gave (its text), or NULL for
	 * the first page. Opaque to the core; a store refuses one it cannot
	 * read with EINVAL. */
	const char *cursor;
	int limit; /* 1..100 */
} parley_search_query;

#define PARLEY_SEARCH_TERMS_MAX 8

/* What a store call returns. Valid only during the callback. Which
 * members are set depends on the call (see each one). */
typedef struct parley_store_result {
	int rc;            /* PARLEY_OK or an error */
	const char *error; /* for logs when rc < 0; may be NULL */
	const parley_message *messages;
	size_t n_messages;
	const parley_room *rooms;
	size_t n_rooms;
	const parley_member *members;
	size_t n_members;
	const parley_user *users;
	size_t n_users;
	const parley_session *session;
	const parley_invite *invite;
	int more;      /* history: more messages beyond these */
	int duplicate; /* append: client_id seen before; messages[0] is the original */
	int64_t value; /* counts, read_seq after read_set */
	/* Since ABI 1 (appended). A result member appended here is set only by
	 * a store whose vtable (struct_size) has the call that fills it; the
	 * core reads it only after checking that. */
	const parley_invite *invites; /* invites_list */
	size_t n_invites;
	const parley_audit *audit; /* audit_list, newest first */
	size_t n_audit;
	const char *text; /* settings_get: a JSON object, or NULL when none;
	                   kv_get: the value; search: the next page's cursor */
	/* Since ABI 1 (appended): upload records. */
	const parley_upload *uploads;
	size_t n_uploads;
	/* Threads (issue 15, appended): set only by a store with thread_append
	 * (PARLEY_HAS), by every call that returns messages: threads[i] is
	 * messages[i]'s place in a thread. NULL from other stores. */
	const struct parley_thread_info *threads;
} parley_store_result;

typedef void (*parley_store_done)(void *ud, const parley_store_result *res);

/* Every call is asynchronous: it returns PARLEY_PENDING and later calls
 * done(ud, result) on the loop thread exactly once, or returns an error
 * and never calls done. Writes are durable when done reports PARLEY_OK. */
typedef struct parley_store_vtable {
	size_t struct_size;

	/* Messages. append assigns id and seq (room seq + 1) and deduplicates
	 * on (user_id, client_id): a duplicate reports the original message
	 * with duplicate = 1 and stores nothing. Result: messages[0]. */
	int (*append)(void *self, const parley_message *msg, parley_store_done done, void *ud);
	/* before > 0: newest first below it; after >= 0 (and before == 0):
	 * oldest first above it; neither (before == 0, after < 0): the newest,
	 * returned oldest first. limit 1..1000. Result: messages, more. */
	int (*history)(void *self, const char *room_id, int64_t before, int64_t after, int limit,
	               parley_store_done done, void *ud);
	/* Result: messages[0] (with reactions). ENOTFOUND if absent. */
	int (*message_get)(void *self, const char *room_id, const char *msg_id,
	                   parley_store_done done, void *ud);
	/* Replace text and mentions, set edited_ts. Result: messages[0]. */
	int (*message_edit)(void *self, const char *room_id, const char *msg_id, const char *text,
	                    const char *mentions_json, int64_t edited_ts, parley_store_done done,
	                    void *ud);
	/* Tombstone: text and attachments dropped, seq kept; a store with the
	 * upload members below also detaches the message's uploads. */
	int (*message_delete)(void *self, const char *room_id, const char *msg_id,
	                      parley_store_done done, void *ud);
	/* on: add (idempotent) or remove the user's reaction. Result: messages[0]. */
	int (*react)(void *self, const char *room_id, const char *msg_id, const char *user_id,
	             const char *emoji, int on, parley_store_done done, void *ud);

	/* Rooms. room_create: ECONFLICT on a taken name; the creator (if any)
	 * becomes a member with owner_role. Result: rooms[0]. */
	int (*room_create)(void *self, const parley_room *room, const char *owner_role,
	                   parley_store_done done, void *ud);
	/* Result: rooms[0]. room_id or name (the other NULL; a name finds a
	 * public room or DM, never a private room). */
	int (*room_get)(void *self, const char *room_id, const char *name, parley_store_done done,
	                void *ud);
	int (*room_set_topic)(void *self, const char *room_id, const char *topic,
	                      parley_store_done done, void *ud);
	/* All rooms, with last_seq. Result: rooms. */
	int (*rooms_list)(void *self, parley_store_done done, void *ud);

	/* Membership. member_set inserts or changes the role (read_seq kept). */
	int (*member_set)(void *self, const char *room_id, const char *user_id, const char *role,
	                  parley_store_done done, void *ud);
	int (*member_remove)(void *self, const char *room_id, const char *user_id,
	                     parley_store_done done, void *ud);
	/* room_id NULL: every membership; else those of one room. Result: members. */
	int (*members_list)(void *self, const char *room_id, parley_store_done done, void *ud);
	/* Moves the read marker forward only. Result: value = read_seq now. */
	int (*read_set)(void *self, const char *room_id, const char *user_id, int64_t seq,
	                parley_store_done done, void *ud);

	/* Users. user_create: ECONFLICT on a taken name; assigns id. Result: users[0]. */
	int (*user_create)(void *self, const parley_user *user, parley_store_done done, void *ud);
	/* By id or name (the other NULL). Result: users[0]. */
	int (*user_get)(void *self, const char *user_id, const char *name, parley_store_done done,
	                void *ud);
	/* Updates the non-NULL fields of `user` (id required); disabled is
	 * applied when set_disabled. Result: users[0]. */
	int (*user_update)(void *self, const parley_user *user, int set_disabled,
	                   parley_store_done done, void *ud);
	/* Result: users (without password hashes). */
	int (*users_list)(void *self, parley_store_done done, void *ud);

	/* Sessions, keyed by the hash of the token. */
	int (*session_create)(void *self, const parley_session *s, parley_store_done done,
	                      void *ud);
	/* Result: session and users[0]. ENOTFOUND if absent or expired at now_ms. */
	int (*session_get)(void *self, const char *token_hash, int64_t now_ms,
	                   parley_store_done done, void *ud);
	/* token_hash, or every session of user_id (the other NULL); with both,
	 * every session of user_id except token_hash. */
	int (*session_delete)(void *self, const char *token_hash, const char *user_id,
	                      parley_store_done done, void *ud);

	/* Invites. invite_use marks it used atomically: ENOTFOUND if absent,
	 * used or expired at now_ms. Result: invite. */
	int (*invite_create)(void *self, const parley_invite *inv, parley_store_done done,
	                     void *ud);
	int (*invite_use)(void *self, const char *token_hash, int64_t now_ms,
	                  parley_store_done done, void *ud);

	/* Since ABI 1 (appended; callers test struct_size first). */

	/* By e-mail address, compared case-insensitively. Result: users[0]. */
	int (*user_by_email)(void *self, const char *email, parley_store_done done, void *ud);
	/* Single-use tokens of a kind ("password_reset"), keyed by the token's
	 * hash. token_use marks it used atomically: ENOTFOUND when absent, of
	 * another kind, used or expired at now_ms. Result of token_use: users[0],
	 * the token's user. */
	int (*token_create)(void *self, const char *kind, const char *token_hash,
	                    const char *user_id, int64_t expires_ts, parley_store_done done,
	                    void *ud);
	int (*token_use)(void *self, const char *kind, const char *token_hash, int64_t now_ms,
	                 parley_store_done done, void *ud);
	/* Invites neither used nor expired at now_ms. Result: invites. */
	int (*invites_list)(void *self, int64_t now_ms, parley_store_done done, void *ud);
	/* Deletes an unused invite: ENOTFOUND when absent or already used. */
	int (*invite_revoke)(void *self, const char *token_hash, parley_store_done done, void *ud);
	/* The audit log: append assigns id (and ts when 0); list returns up to
	 * limit (1..500) entries with id < before (0: the newest), newest first.
	 * Result: audit, more. */
	int (*audit_append)(void *self, const parley_audit *entry, parley_store_done done,
	                    void *ud);
	int (*audit_list)(void *self, int64_t before, int limit, parley_store_done done, void *ud);
	/* A user's settings as one JSON object the core owns (the store keeps it
	 * opaque). Result of settings_get: text (NULL when never set). */
	int (*settings_get)(void *self, const char *user_id, parley_store_done done, void *ud);
	int (*settings_set)(void *self, const char *user_id, const char *json,
	                    parley_store_done done, void *ud);
	/* session_create with scopes and rooms (see parley_session); session_get
	 * of such a store returns them. */
	int (*session_create_scoped)(void *self, const parley_session *s, const char *scopes,
	                             const char *rooms_json, parley_store_done done, void *ud);

	/* Since ABI 1 (appended): a key-value space per owner (a script's
	 * name). The core tests struct_size before calling them. Values are
	 * opaque text (the script host stores JSON). kv_get: result text, or
	 * ENOTFOUND. kv_delete: value = 1 removed, 0 absent. kv_incr: the value
	 * read as an integer (absent: 0) plus delta, stored as decimal text;
	 * result value. */
	int (*kv_get)(void *self, const char *owner, const char *key, parley_store_done done,
	              void *ud);
	int (*kv_set)(void *self, const char *owner, const char *key, const char *value,
	              parley_store_done done, void *ud);
	int (*kv_delete)(void *self, const char *owner, const char *key, parley_store_done done,
	                 void *ud);
	int (*kv_incr)(void *self, const char *owner, const char *key, int64_t delta,
	               parley_store_done done, void *ud);

	/* Since ABI 1 (appended): upload records; the core tests struct_size
	 * before using them. upload_create assigns id ("up_<n>") and keeps
	 * every other member of u. Result: uploads[0]. */
	int (*upload_create)(void *self, const parley_upload *u, parley_store_done done, void *ud);
	/* Result: uploads[0]. ENOTFOUND if absent. */
	int (*upload_get)(void *self, const char *upload_id, parley_store_done done, void *ud);
	/* Attaches an upload of user_id to a room and a message: ENOTFOUND if
	 * absent, not that user's, or attached to a message already. With
	 * message_id NULL it only takes the room (a send on its way: its
	 * members may read it once the message is there). Result: uploads[0]. */
	int (*upload_attach)(void *self, const char *upload_id, const char *user_id,
	                     const char *room_id, const char *message_id, parley_store_done done,
	                     void *ud);
	int (*upload_delete)(void *self, const char *upload_id, parley_store_done done, void *ud);
	/* Unattached uploads created before before_ts, oldest first, at most
	 * limit. Result: uploads. */
	int (*uploads_unattached)(void *self, int64_t before_ts, int limit, parley_store_done done,
	                          void *ud);
	/* Bytes of the uploads of user_id created since since_ts. Result: value. */
	int (*upload_usage)(void *self, const char *user_id, int64_t since_ts,
	                    parley_store_done done, void *ud);

	/* Since ABI 1 (appended): kv_set (value given) or kv_incr (value NULL,
	 * by delta) that refuses with ETOOLARGE a write leaving owner with more
	 * than max_keys keys or max_bytes bytes of keys and values (an integer
	 * counted as 20 bytes). Checked by the write itself, so writes in
	 * flight cannot pass the limits together. The script host needs it to
	 * write (a store without it: scripts' kv is read-only). */
	int (*kv_put_capped)(void *self, const char *owner, const char *key, const char *value,
	                     int64_t delta, int64_t max_keys, int64_t max_bytes,
	                     parley_store_done done, void *ud);

	/* Since ABI 1 (appended): the user of a token token_use would accept,
	 * without spending it (a reset checks the new password against the
	 * account before it spends the link). ENOTFOUND as token_use. Result:
	 * users[0]. */
	int (*token_peek)(void *self, const char *kind, const char *token_hash, int64_t now_ms,
	                  parley_store_done done, void *ud);

	/* Since ABI 1 (appended): a consistent copy of the whole store, taken
	 * while it serves (writes go on meanwhile and are not in the copy),
	 * written to the new file `path` (EEXIST-like ECONFLICT when it exists).
	 * Result: text = where the store reads its data, relative to the data
	 * dir (or absolute), so `parley restore` can put the copy back there;
	 * value = the copy's size in bytes. A store whose data lives elsewhere
	 * (a database server) leaves it out: backups then dump it record by
	 * record. */
	int (*snapshot)(void *self, const char *path, parley_store_done done, void *ud);
	/* Since ABI 1 (appended): retention (issue 17). prune tombstones the
	 * oldest messages of room_id not pruned yet, in seq order, while their
	 * ts < before_ts, at most limit per call: text, mentions, attachments,
	 * reactions and edit history go, seq and reply_to stay. The room's
	 * pruned mark (every seq <= it is pruned) is kept by the store, so a
	 * run resumes after a restart. Result: value = the mark after the call
	 * (the event's before_seq is value + 1), messages = those tombstoned
	 * (ids and seqs), uploads = the records detached from them (the core
	 * removes their objects, then the records), more = 1 when more are due.
	 * dry_run writes nothing: value = how many would be pruned in all,
	 * messages = the first limit of them. */
	int (*prune)(void *self, const char *room_id, int64_t before_ts, int limit, int dry_run,
	             parley_store_done done, void *ud);
	/* A named lease: PARLEY_OK when holder now holds name until
	 * now_ms + ttl_ms (taken, renewed, or taken over after it expired),
	 * ECONFLICT while another holder's lease runs. ttl_ms 0 releases
	 * holder's lease. Atomic across processes. Result: value = expiry. */
	int (*lease)(void *self, const char *name, const char *holder, int64_t ttl_ms,
	             int64_t now_ms, parley_store_done done, void *ud);
	/* A room's own message retention in ms (0: the server's). ENOTFOUND
	 * without the room. Result: value. */
	int (*room_retention_set)(void *self, const char *room_id, int64_t retention_ms,
	                          parley_store_done done, void *ud);
	int (*room_retention_get)(void *self, const char *room_id, parley_store_done done,
	                          void *ud);
	/* A message's versions, oldest first, the current one last (text and
	 * mentions_json as they were, ts = when that version was written).
	 * ENOTFOUND without the message. Result: messages. */
	int (*edits_list)(void *self, const char *room_id, const char *msg_id,
	                  parley_store_done done, void *ud);
	/* Since ABI 1 (appended; PARLEY_HAS before calling): pinned messages.
	 * pin_set pins (on = 1) or unpins msg_id of room_id for user_id at ts:
	 * ENOTFOUND when the message is absent, of another room or deleted.
	 * Result: value = 1 when it changed, 0 when it already was so. Deleting
	 * a message (message_delete) unpins it. pins_list: the live pinned
	 * messages of room_id (NULL: of every room), the newest pin first.
	 * Result: messages. */
	int (*pin_set)(void *self, const char *room_id, const char *msg_id, const char *user_id,
	               int on, int64_t ts, parley_store_done done, void *ud);
	int (*pins_list)(void *self, const char *room_id, parley_store_done done, void *ud);
	/* Since ABI 1 (appended; PARLEY_HAS before calling): a person's
	 * notification level in a room, "all" | "mentions" | "none" (the
	 * store keeps the word; "all", the default, is kept as no row). It
	 * outlives leaving the room. notify_set: ENOTFOUND for an unknown
	 * room or user. notify_list: the levels other than "all" of user_id
	 * (NULL: of everyone). Result of notify_list: text, a JSON array of
	 * {"room","user","level"} objects. */
	int (*notify_set)(void *self, const char *room_id, const char *user_id, const char *level,
	                  parley_store_done done, void *ud);
	int (*notify_list)(void *self, const char *user_id, parley_store_done done, void *ud);

	/* Since ABI 1 (appended): whole records, for `parley store copy`
	 * between stores. Kinds: users (with password hashes), rooms (with
	 * last_seq), members (role, read_seq), messages (as stored: text,
	 * mentions, edited_ts, tombstones, attachments), reactions, edits
	 * (earlier versions; since issue 17's import), room_settings,
	 * thread_follows, uploads, sessions, invites, tokens, audit, settings,
	 * kv (without leases and counters), pins, notify (notification
	 * levels). A record is a JSON
	 * object whose fields are the SQLite store's columns of that kind
	 * (plugins/store_sqlite/schema.c), with integer keys as numbers.
	 * records_read: up to limit (1..1000) records of kind after the cursor
	 * `after` (0: the first), in cursor order. Result: text = a JSON array
	 * of records, value = the cursor to pass next, more. records_write:
	 * upserts the JSON array records_json of kind by the records' keys,
	 * keeping the given ids, seqs and timestamps (writing one twice
	 * changes nothing). Result: value = records written. */
	int (*records_read)(void *self, const char *kind, int64_t after, int limit,
	                    parley_store_done done, void *ud);
	int (*records_write)(void *self, const char *kind, const char *records_json,
	                     parley_store_done done, void *ud);
	/* Since ABI 1 (appended; optional, the core answers `unavailable`
	 * without it): messages matching q in q->room_ids, never deleted
	 * ones, edited ones by their current text only. Result: messages
	 * (each with room_id, reactions not required), more, and text = the
	 * cursor of the next page (NULL when more is 0). EINVAL for a query
	 * or cursor the store cannot serve. */
	int (*search)(void *self, const parley_search_query *q, parley_store_done done, void *ud);

	/* Threads (issue 15, appended; PARLEY_HAS before calling; a store with
	 * thread_append has all five and fills result.threads). A thread is a
	 * root message and its replies; replies take room seqs like any
	 * message (they are in the room's history) and name their root.
	 * thread_append: append (same seq and client_id rules) of a reply to
	 * thread_id in msg->room_id; in the same transaction the root's
	 * replies and last_reply_ts move and the author follows the thread
	 * (the root's author too). ENOTFOUND when the root is absent, of
	 * another room or deleted; EINVAL when it is a reply itself (threads
	 * do not nest). Result: messages[0] the reply, messages[1] the root as
	 * it is now (a duplicate: messages[0] only, duplicate = 1). */
	int (*thread_append)(void *self, const parley_message *msg, const char *thread_id,
	                     int also_room, parley_store_done done, void *ud);
	/* A thread's replies, paged as history (before/after/limit the same);
	 * ENOTFOUND when root_id is not a message of room_id. Result:
	 * messages, more. */
	int (*thread_history)(void *self, const char *room_id, const char *root_id, int64_t before,
	                      int64_t after, int limit, parley_store_done done, void *ud);
	/* on 1: user_id follows the thread (idempotent), 0: stops. ENOTFOUND
	 * for an unknown root (of room_id) or user. Result: value = 1 when it
	 * changed. Following outlives leaving the room (the core lists only
	 * rooms the person may read). */
	int (*thread_follow)(void *self, const char *room_id, const char *root_id,
	                     const char *user_id, int on, parley_store_done done, void *ud);
	/* Moves user_id's read mark in a followed thread forward to seq.
	 * ENOTFOUND when not following. Result: value = the mark now. */
	int (*thread_read)(void *self, const char *room_id, const char *root_id,
	                   const char *user_id, int64_t seq, parley_store_done done, void *ud);
	/* The threads user_id follows in the rooms of room_ids_json (a JSON
	 * array of room ids), the latest reply first (then the newest root),
	 * up to limit (1..100) after the root `after` (NULL: from the start).
	 * Result: messages (the roots; deleted ones too: their thread stays),
	 * threads (following, unread, read_seq set), more. */
	int (*threads_list)(void *self, const char *user_id, const char *room_ids_json,
	                    const char *after, int limit, parley_store_done done, void *ud);

	/* Since ABI 1 (appended; issue 17, upload retention; PARLEY_HAS before
	 * calling): the oldest attached uploads created before before_ts, at
	 * most limit (1..1000), in one write: each message's attachment entry
	 * with that upload's id loses its "url" and gains "expired": true, and
	 * the record is detached (room and message NULL), so the core removes
	 * the object and then the record, and a removal that fails is retried
	 * by the cleanup job of unattached uploads. Result: uploads = the
	 * detached records, more = 1 when more are due. */
	int (*uploads_expire)(void *self, int64_t before_ts, int limit, parley_store_done done,
	                      void *ud);
	/* Since ABI 1 (appended; PARLEY_HAS before calling): rooms an owner
	 * can run (issue 18). room_rename: ECONFLICT when the room is public
	 * (or a DM) and another public room or DM has the name; ENOTFOUND
	 * without the room. Result: rooms[0]. room_settings_set: the room's
	 * settings, one JSON object the core owns (the store keeps it opaque);
	 * ENOTFOUND without the room. room_settings_list: text = a JSON array
	 * of {"room","settings"} for every room that has settings.
	 * room_delete: the room goes with its members, messages (their
	 * reactions, edits, pins), notification levels and settings; its
	 * uploads' records stay, detached (the cleanup job removes them).
	 * ENOTFOUND without the room. A store may delete a big room's
	 * messages in steps, oldest first, with other calls between them
	 * (store_sqlite does): meanwhile reads may find the oldest gone, and
	 * a failure part-way leaves the room with its newest messages. */
	int (*room_rename)(void *self, const char *room_id, const char *name,
	                   parley_store_done done, void *ud);
	int (*room_settings_set)(void *self, const char *room_id, const char *settings_json,
	                         parley_store_done done, void *ud);
	int (*room_settings_list)(void *self, parley_store_done done, void *ud);
	int (*room_delete)(void *self, const char *room_id, parley_store_done done, void *ud);
	/* Since ABI 1 (appended; PARLEY_HAS before calling): state that must
	 * be one per cluster (issue 16), for nodes sharing this store.
	 * kv_add: sets owner/key to value only when it has none (first writer
	 * wins, atomic across processes). Result: text = the value it holds
	 * now, the caller's or the one already there. */
	int (*kv_add)(void *self, const char *owner, const char *key, const char *value,
	              parley_store_done done, void *ud);
	/* A counter of events within a window: adds delta to name's count
	 * when its window (begun by the add that created it, window_ms long)
	 * still runs at now_ms, else begins a new window with count = delta.
	 * delta 0 only reads (an absent or expired counter reads 0 and is not
	 * created); window_ms 0 deletes the counter. Atomic across processes;
	 * the store drops expired counters itself. Result: value = the count. */
	int (*counter_add)(void *self, const char *name, int64_t delta, int64_t window_ms,
	                   int64_t now_ms, parley_store_done done, void *ud);

	/* Shutdown drain (issue 13; appended; PARLEY_HAS before calling):
	 * loop thread; how many calls this store accepted (PARLEY_PENDING)
	 * whose done() has not run yet. At shutdown the host waits for none
	 * before any plugin's fini, so every done() meets its caller, and the
	 * store, still there. */
	int (*calls_pending)(void *self);

	/* Unread mentions at start (appended; PARLEY_HAS before calling):
	 * for every membership (room, user) with any, how many messages of
	 * the room have seq > the member's read_seq, are not deleted, were
	 * not written by the member and list the member's id in
	 * mentions_json (@here/@room mentions are in it too), thread replies
	 * included. One consistent read where the store can. Result: text =
	 * a JSON array of {"room","user","mentions","seq"} (mentions >= 1;
	 * seq = the newest message counted, so the core, which reads this
	 * before the cluster bus starts, delivers none up to it again and
	 * counts no message twice), in no particular order; "[]" when none. */
	int (*mentions_unread)(void *self, parley_store_done done, void *ud);

	void *reserved[16];
} parley_store_vtable;

/* ------------------------------------------------------------------ */
/* auth provider (a chain, in config order)                            */
/* ------------------------------------------------------------------ */

typedef struct parley_auth_result {
	int rc;              /* OK, PASS (authenticate only), or an error */
	const char *message; /* for the person, on errors */
	const parley_user *user;
	const char *token; /* login, session_new: the new session token */
	int64_t expires_ts;
	int64_t retry_after_ms; /* with PARLEY_ERATELIMIT */
	const char *link;       /* invite_create: the registration link */
	/* Since ABI 1 (appended): authenticate of a scoped (bot) token; read
	 * only from providers whose vtable has bot_token_new. NULL: unscoped. */
	const char *scopes;     /* "read,post" */
	const char *rooms_json; /* ["r_1"] or NULL: every room of the bot */
} parley_auth_result;

typedef void (*parley_auth_done)(void *ud, const parley_auth_result *res);

/* Members may be NULL where a provider does not do that (auth_jwt logs no
 * one in with a password). Same async contract as the store. */
typedef struct parley_auth_vtable {
	size_t struct_size;
	/* A bearer token, cookie or auth frame: OK with user, PASS if not this
	 * provider's kind of token, EUNAUTHORIZED if it is and is bad. */
	int (*authenticate)(void *self, const char *token, parley_auth_done done, void *ud);
	/* Username and password: OK with user, token, expires_ts. client is
	 * the peer address (throttling). */
	int (*login)(void *self, const char *username, const char *password, const char *client,
	             parley_auth_done done, void *ud);
	int (*logout)(void *self, const char *token, parley_auth_done done, void *ud);
	/* With a valid invite (or open registration): OK with user, token. */
	int (*register_user)(void *self, const char *invite, const char *username,
	                     const char *password, const char *email, parley_auth_done done,
	                     void *ud);
	/* Admin CLI: password may be NULL (token or SSO login only). */
	int (*user_add)(void *self, const char *name, const char *role, const char *email,
	                const char *password, parley_auth_done done, void *ud);
	/* Admin CLI: a fresh token for name. ttl_s <= 0: the default. */
	int (*session_new)(void *self, const char *name, int64_t ttl_s, parley_auth_done done,
	                   void *ud);
	/* An invite with role and email; created_by NULL for the first admin.
	 * Result: link (public_url + "/#invite=" + token) and token. */
	int (*invite_create)(void *self, const char *role, const char *email,
	                     const char *created_by, parley_auth_done done, void *ud);

	/* Since ABI 1 (appended; callers test struct_size first). */

	/* Mails a single-use reset link when email belongs to an active
	 * account; answers OK either way (no account probing), or
	 * ERATELIMIT. */
	int (*password_forgot)(void *self, const char *email, const char *client,
	                       parley_auth_done done, void *ud);
	/* Spends a reset token and sets the password; every session of the
	 * user is revoked. OK with user. */
	int (*password_reset)(void *self, const char *token, const char *password,
	                      parley_auth_done done, void *ud);
	/* The signed-in user (keep_token: their current session) changes their
	 * password; every other session is revoked. OK with user. */
	int (*password_change)(void *self, const char *user_id, const char *keep_token,
	                       const char *old_password, const char *new_password,
	                       parley_auth_done done, void *ud);
	/* A token for the bot account user_id limited to scopes (comma list of
	 * read, post, react, moderate) and rooms_json (NULL: all of the bot's
	 * rooms). ttl_s <= 0: no expiry. OK with token. */
	int (*bot_token_new)(void *self, const char *user_id, const char *scopes,
	                     const char *rooms_json, int64_t ttl_s, parley_auth_done done,
	                     void *ud);

	/* Since ABI 1 (appended): register_user with the peer address, so a
	 * provider can throttle registration like login (ERATELIMIT with
	 * retry_after_ms). The core prefers it when present. */
	int (*register_from)(void *self, const char *invite, const char *username,
	                     const char *password, const char *email, const char *client,
	                     parley_auth_done done, void *ud);

	/* Since ABI 1 (appended): browser sign-in through an OpenID Connect
	 * provider, authorization code flow with PKCE (auth_jwt). The provider
	 * keeps the flow's secrets; the core only carries them to the browser
	 * and back. oidc_describe: 1 when browser sign-in is configured, with
	 * *name the provider's name for the button and *logout_url the
	 * provider's end-session URL (or NULL); 0 when not. Synchronous. */
	int (*oidc_describe)(void *self, const char **name, const char **logout_url);
	/* Starts a sign-in: OK with link (the provider's authorization URL,
	 * carrying state, nonce and the PKCE challenge) and token (the value
	 * of the short-lived state cookie that binds the flow to this
	 * browser) and expires_ts (the flow's end, in now_ms's milliseconds),
	 * or an error. */
	int (*oidc_begin)(void *self, parley_auth_done done, void *ud);
	/* Ends one: binding is the state cookie's value, state and code the
	 * callback's parameters (each flow is spent by its first callback).
	 * Exchanges the code, checks the ID token (signature, iss, aud, exp,
	 * nonce) and provisions the account: OK with user. */
	int (*oidc_finish)(void *self, const char *binding, const char *state, const char *code,
	                   parley_auth_done done, void *ud);

	void *reserved[16];
} parley_auth_vtable;

/* ------------------------------------------------------------------ */
/* uploads provider (zero or one)                                      */
/* ------------------------------------------------------------------ */

/* Completion of an upload step: rc PARLEY_OK or an error with a message
 * for logs (never secrets). */
typedef void (*parley_upload_done)(void *ud, int rc, const char *error);
/* A read: n bytes at data (valid during the call), or rc < 0. n == 0 with
 * PARLEY_OK is the end. */
typedef void (*parley_upload_read_done)(void *ud, int rc, const void *data, size_t n,
                                        const char *error);

/* One object of list_objects (issue 17): valid during the callback. */
#define PARLEY_OBJECT_KEY_MAX 1024
typedef struct parley_object_info {
	const char *key;
	int64_t size;     /* bytes */
	int64_t mtime_ms; /* last modified, ms since the epoch; 0 when unknown */
} parley_object_info;
typedef void (*parley_object_list_done)(void *ud, int rc, const parley_object_info *objects,
                                        size_t n, const char *error);

/* An object is written as a stream: begin, write chunks in order, then
 * finish, or abort at any point (nothing is left behind). Reading gives
 * byte ranges (read) or a short-lived URL (presign); a provider has at
 * least one of the two. Same async contract as the store: PARLEY_PENDING
 * and done later on the loop thread, or an error and no done. */
typedef struct parley_uploads_vtable {
	size_t struct_size;
	/* Starts the object `key` (the core's: "up_<random>"), once the
	 * first bytes told its type. disposition: the Content-Disposition to
	 * serve it with (ASCII; a provider that stores headers with objects
	 * keeps both). size: from Content-Length, or -1 when unknown. *handle
	 * is the provider's until finish's done or abort. Synchronous. */
	int (*begin)(void *self, const char *key, const char *type, const char *disposition,
	             int64_t size, void **handle);
	/* Takes len bytes (copied before it returns). PARLEY_OK: send more at
	 * once. PARLEY_PENDING: taken, but the provider is behind; done(ud)
	 * says when to send more (backpressure: the core stops reading the
	 * socket meanwhile). An error: the object failed, abort it. */
	int (*write)(void *handle, const void *data, size_t len, parley_upload_done done, void *ud);
	/* Every byte was written: done once the object is complete and
	 * durable (handle then gone, also on an error, which leaves nothing
	 * behind). */
	int (*finish)(void *handle, parley_upload_done done, void *ud);
	/* Drops the object being written; frees handle. No callback of this
	 * handle runs afterwards. */
	void (*abort)(void *handle);
	/* Reads up to len bytes at offset (one call, one chunk). Optional. */
	int (*read)(void *self, const char *key, int64_t offset, size_t len,
	            parley_upload_read_done done, void *ud);
	/* A short-lived URL that serves the object with the given
	 * Content-Disposition and Content-Type (or those stored with it at
	 * begin); malloc'ed by host->alloc into *url (host->free).
	 * Synchronous. Optional. */
	int (*presign)(void *self, const char *key, const char *disposition, const char *type,
	               char **url);
	/* Removes the object (cleanup job, rejected uploads). */
	int (*remove)(void *self, const char *key, parley_upload_done done, void *ud);
	/* The object's file for upload hooks that scan it, malloc'ed by
	 * host->alloc; NULL when objects are not local files. Optional. */
	char *(*local_path)(void *self, const char *key);

	/* Object store for backups (issue 17, appended; PARLEY_HAS before
	 * calling; all four or none). Keys name objects in the provider's
	 * bucket itself, outside the uploads' own prefix and key space
	 * ("backups/2026-12-06T050000.123Z/manifest.json"); at most
	 * PARLEY_OBJECT_KEY_MAX bytes, no "..". Same async contract as the
	 * members above: PARLEY_PENDING and done later on the loop thread, or
	 * an error and no done. Local files are read and written a chunk at a
	 * time, never all at once on the loop (docs/plugins.md). */
	/* Stores the file at path (read to its end) as key, replacing one. */
	int (*put_object)(void *self, const char *key, const char *path, parley_upload_done done,
	                  void *ud);
	/* Writes the object into a new file at path (refused if it exists;
	 * removed again on an error). ENOTFOUND when there is no such key. */
	int (*get_object)(void *self, const char *key, const char *path, parley_upload_done done,
	                  void *ud);
	/* Every object whose key starts with prefix, in key order, the pages
	 * of the store's listing followed inside. More than limit objects:
	 * ETOOLARGE. */
	int (*list_objects)(void *self, const char *prefix, size_t limit,
	                    parley_object_list_done done, void *ud);
	/* Removes the object (OK when it was already gone). */
	int (*delete_object)(void *self, const char *key, parley_upload_done done, void *ud);

	void *reserved[8];
} parley_uploads_vtable;

/* ------------------------------------------------------------------ */
/* notify providers (any number: email, later chat bridges)            */
/* ------------------------------------------------------------------ */

/* One notification for one person. The provider renders it from its own
 * templates; `vars` are the template's variables as name/value pairs
 * (vars[2*i] is a name, vars[2*i+1] its value), e.g. "link", "server_name",
 * "inviter". User-supplied values are plain text: the provider escapes them
 * for whatever format it writes (HTML). */
typedef struct parley_notify_msg {
	size_t struct_size;
	const char *kind;    /* "invite" | "password_reset" | "mention_digest" | … */
	const char *to;      /* an e-mail address (providers refuse CR/LF/controls) */
	const char *to_name; /* may be NULL */
	const char *user_id; /* the recipient's account, or NULL (invites) */
	const char *const *vars;
	size_t n_vars; /* pairs */
} parley_notify_msg;

typedef void (*parley_notify_done)(void *ud, int rc, const char *error);

typedef struct parley_notify_vtable {
	size_t struct_size;
	/* Accepts msg for delivery: done(ud, OK) once it is queued durably
	 * (delivery itself may be retried later), or an error (EINVAL for a
	 * bad address or header injection). Same async contract as the store. */
	int (*send)(void *self, const parley_notify_msg *msg, parley_notify_done done, void *ud);
	void *reserved[8];
} parley_notify_vtable;

/* ------------------------------------------------------------------ */
/* cluster provider (at most one): the bus between parley nodes       */
/* ------------------------------------------------------------------ */

/* A message from the bus: channel as the core named it (without the
 * provider's prefix), payload as published (not NUL-terminated). */
typedef void (*parley_cluster_message_fn)(void *ud, const char *channel, const char *payload,
                                          size_t len);
/* The bus went down (up = 0) or came back (up = 1; subscriptions are
 * restored by the provider before this is called, so what was published
 * while down may be missing: the core repairs from the store). */
typedef void (*parley_cluster_state_fn)(void *ud, int up);

/* Issue 16: several nodes as one chat. The provider keeps its own
 * connections on the loop (never blocking) and reconnects by itself.
 * Channels are the core's short names ("room.r_1", "user.u_2", "cluster");
 * the provider adds its own prefix. Delivery is at most once: the core
 * orders by the store's seq and repairs what was lost from the store. */
typedef struct parley_cluster_vtable {
	size_t struct_size;
	/* Called once by the core before any other member. */
	int (*start)(void *self, parley_cluster_message_fn on_message,
	             parley_cluster_state_fn on_state, void *ud);
	/* Queues payload for every node subscribed to channel (this node too,
	 * when subscribed). PARLEY_EUNAVAIL while the bus is down (dropped). */
	int (*publish)(void *self, const char *channel, const char *payload, size_t len);
	/* Subscriptions, remembered across reconnects. Idempotent. */
	int (*subscribe)(void *self, const char *channel);
	int (*unsubscribe)(void *self, const char *channel);
	/* 1 while connected to the bus. */
	int (*up)(void *self);
	/* This process's node id: unique per start, stable while it runs. */
	const char *(*node_id)(void *self);
	void *reserved[8];
} parley_cluster_vtable;

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

enum parley_hook_event {
	PARLEY_HOOK_BEFORE_MESSAGE = 0, /* sync; may deny or rewrite */
	PARLEY_HOOK_MESSAGE,            /* after the store; async reactions */
	PARLEY_HOOK_JOIN,
	PARLEY_HOOK_LEAVE,
	PARLEY_HOOK_PRESENCE,
	PARLEY_HOOK_USER_CREATED,
	PARLEY_HOOK_UPLOAD,
	/* Since ABI 1 (appended): after the store, like MESSAGE. edit: message
	 * as stored; delete: message with room_id and id only; reaction:
	 * message with room_id and id, emoji and on in the args. */
	PARLEY_HOOK_EDIT,
	PARLEY_HOOK_DELETE,
	PARLEY_HOOK_REACTION,
	PARLEY_HOOK__COUNT
};

typedef struct parley_hook_args {
	size_t struct_size;
	int event;                     /* enum parley_hook_event */
	const parley_user *user;       /* who acts */
	const parley_room *room;       /* may be NULL (presence, user_created) */
	const parley_message *message; /* before_message: text etc.; message: as stored */
	const char *status;            /* presence: online|away|offline */
	int depth;                     /* bot chain depth: 0 for people */
	/* before_message: a hook that returns PARLEY_DENY may set the reason
	 * with host->hook_deny(); one that rewrites calls host->hook_rewrite(). */
	void *host_private;
	/* Since ABI 1 (appended): reaction events. */
	const char *emoji;
	int on;
	/* Since ABI 1 (appended): the upload event's file, stored and not yet
	 * attachable. A hook may deny it (the file is removed) or tag it with
	 * host->hook_rewrite(), whose text becomes the upload's tags. The
	 * path is set by providers that keep local files (a virus scanner
	 * reads it), else NULL. */
	const parley_upload *upload;
	const char *upload_path;
	/* Threads (issue 15, appended): BEFORE_MESSAGE and MESSAGE of a reply
	 * in a thread: its root's id, and whether it shows in the room's
	 * timeline too; NULL and 0 otherwise. Test struct_size (offsetof)
	 * before reading them. */
	const char *thread;
	int also_room;
} parley_hook_args;

/* Returns PARLEY_OK to continue, PARLEY_DENY, or PARLEY_REWRITE. */
typedef int (*parley_hook_fn)(void *ud, parley_hook_args *args);

/* A slash command's invocation. */
typedef struct parley_command_args {
	size_t struct_size;
	const char *name; /* without the slash */
	const char *args; /* the rest of the line, trimmed */
	const parley_user *user;
	const parley_room *room;
	void *host_private;
	/* Commands in threads (issue 15, appended): a command typed in a
	 * thread's composer: its root's id and the send's also_room; NULL
	 * and 0 in the room. Test struct_size (offsetof) before reading. */
	const char *thread;
	int also_room;
} parley_command_args;

typedef void (*parley_command_fn)(void *ud, const parley_command_args *cmd);

/* A function a plugin adds to every script's `parley` table. args_json is
 * the call's arguments as a JSON array; the function writes its result as
 * one JSON value into out (out_len bytes, NUL-terminated) and returns
 * PARLEY_OK, or an error (the script sees out as the message). script is
 * the calling script's name. */
typedef int (*parley_script_fn)(void *ud, const char *script, const char *args_json, char *out,
                                size_t out_len);

/* ------------------------------------------------------------------ */
/* The host table                                                      */
/* ------------------------------------------------------------------ */

enum parley_provider_kind {
	PARLEY_PROVIDE_STORE = 0,
	PARLEY_PROVIDE_AUTH,
	PARLEY_PROVIDE_UPLOADS,
	PARLEY_PROVIDE_NOTIFY,
	PARLEY_PROVIDE_CLUSTER,
	PARLEY_PROVIDE__COUNT
};

enum parley_fd_events { PARLEY_FD_READ = 1, PARLEY_FD_WRITE = 2 };

struct parley_host {
	size_t struct_size; /* test members with PARLEY_HOST_HAS */
	uint32_t abi;
	const char *version; /* the server's version */

	/* Logging: one JSON line per event, tagged with the plugin's name.
	 * log_enabled first when the message is costly to build. */
	int (*log_enabled)(parley_ctx *ctx, int level);
	void (*log)(parley_ctx *ctx, int level, const char *event, const char *fmt, ...)
	    PARLEY_PRINTF(4, 5);

	/* Accounted allocation (counted per plugin in /metrics). */
	void *(*alloc)(parley_ctx *ctx, size_t n);
	void *(*calloc)(parley_ctx *ctx, size_t n, size_t size);
	void *(*realloc)(parley_ctx *ctx, void *p, size_t n);
	void (*free)(parley_ctx *ctx, void *p);
	char *(*strdup)(parley_ctx *ctx, const char *s);

	/* Configuration. conf(ctx) is the plugin's own section. Getters return
	 * 1 and set *out when the key is present with the right type, 0 when
	 * absent (out untouched), -1 on a wrong type (already reported with
	 * file, key path and line). */
	const parley_conf *(*conf)(parley_ctx *ctx);
	int (*conf_str)(const parley_conf *c, const char *key, const char **out);
	int (*conf_int)(const parley_conf *c, const char *key, int64_t *out);
	int (*conf_num)(const parley_conf *c, const char *key, double *out);
	int (*conf_bool)(const parley_conf *c, const char *key, int *out);
	/* A nested table (list or map). */
	int (*conf_table)(const parley_conf *c, const char *key, const parley_conf **out);
	/* A list's length and its i-th string (0-based). */
	size_t (*conf_len)(const parley_conf *c);
	int (*conf_index_str)(const parley_conf *c, size_t i, const char **out);
	/* Reports "file:line: plugins[2].key: message" and marks check failed. */
	void (*conf_error)(const parley_conf *c, const char *key, const char *fmt, ...)
	    PARLEY_PRINTF(3, 4);
	/* Resolves a path against server.data_dir; free with host->free. */
	char *(*data_path)(parley_ctx *ctx, const char *relative);
	const char *(*public_url)(parley_ctx *ctx);

	/* Providers and hooks (init only). */
	int (*provide)(parley_ctx *ctx, int kind, const void *vtable, void *self);
	int (*hook)(parley_ctx *ctx, int event, int priority, parley_hook_fn fn, void *ud);
	void (*hook_deny)(parley_hook_args *args, const char *reason);
	void (*hook_rewrite)(parley_hook_args *args, const char *text);
	/* Slash commands: /name args. */
	int (*command)(parley_ctx *ctx, const char *name, const char *help, parley_command_fn fn,
	               void *ud);
	/* Posts text in the command's room as the bot named bot_name (created
	 * on first use with role bot). */
	int (*command_reply)(const parley_command_args *cmd, const char *bot_name,
	                     const char *text);
	/* Posts text in room_id as the bot bot_name; goes through before_message. */
	int (*send_message)(parley_ctx *ctx, const char *room_id, const char *bot_name,
	                    const char *text);

	/* Work off the loop. work runs on a worker thread; done runs on the
	 * loop thread afterwards (cancelled = 1 at shutdown if work never ran). */
	int (*submit)(parley_ctx *ctx, void (*work)(void *arg),
	              void (*done)(void *arg, int cancelled), void *arg);
	/* Thread-safe: fn(arg) runs soon on the loop thread. */
	void (*post)(parley_ctx *ctx, void (*fn)(void *arg), void *arg);
	/* Runs a prepared CURL easy handle on the shared multi; done on the loop
	 * thread with the CURLcode. The handle stays the caller's. */
	int (*curl_add)(parley_ctx *ctx, void *easy,
	                void (*done)(void *easy, int curlcode, void *arg), void *arg);
	void (*curl_remove)(parley_ctx *ctx, void *easy);

	/* Timers (seconds) and fd watchers; never the raw loop. */
	parley_timer *(*timer_start)(parley_ctx *ctx, double after, double repeat,
	                             void (*cb)(void *arg), void *arg);
	void (*timer_stop)(parley_timer *t);
	parley_watch *(*fd_watch)(parley_ctx *ctx, int fd, int events,
	                          void (*cb)(int fd, int revents, void *arg), void *arg);
	void (*fd_unwatch)(parley_watch *w);

	/* Metrics: name is prefixed with parley_plugin_<plugin>_. */
	parley_metric *(*counter)(parley_ctx *ctx, const char *name, const char *help);
	parley_metric *(*gauge)(parley_ctx *ctx, const char *name, const char *help);
	void (*metric_add)(parley_metric *m, double v);
	void (*metric_set)(parley_metric *m, double v);

	/* Clock and randomness. */
	int64_t (*now_ms)(void);
	int (*random)(void *buf, size_t n); /* CSPRNG; 0 ok */

	/* The store, for plugins that keep state (auth_local). NULL until
	 * every plugin's init ran; read it when called, not in init. */
	const parley_store_vtable *(*store)(parley_ctx *ctx, void **self);
	/* The server's own defaults for the plugin's use. */
	const char *(*server_name)(parley_ctx *ctx);
	/* 1 when running an admin command (no listener, no serving). */
	int (*is_admin_command)(parley_ctx *ctx);
	/* Lets the core know a user was created (user_created hook, caches). */
	void (*user_created)(parley_ctx *ctx, const parley_user *user);
	/* Lets the core know a user's sessions changed (disable): connections
	 * of that user are closed. */
	void (*user_revoked)(parley_ctx *ctx, const char *user_id);

	/* Since ABI 1 (appended): hands msg to every notify provider; done
	 * once each has answered (the first error wins). With no provider:
	 * PARLEY_EUNAVAIL, done not called. */
	int (*notify)(parley_ctx *ctx, const parley_notify_msg *msg, parley_notify_done done,
	              void *ud);
	/* 1 when the user has at least one live session on this node. */
	int (*user_online)(parley_ctx *ctx, const char *user_id);
	/* The signed link that turns the user's e-mail digests off (for
	 * List-Unsubscribe), into out; 0, or -1 when none can be made. */
	int (*unsubscribe_link)(parley_ctx *ctx, const char *user_id, char *out, size_t n);
	/* Since ABI 1 (appended): adds parley.<name>(...) to every script
	 * (init only; scripts loaded later see it too). ECONFLICT if the name
	 * is taken. */
	int (*script_function)(parley_ctx *ctx, const char *name, parley_script_fn fn, void *ud);
};

#define PARLEY_HOST_HAS(host, member) PARLEY_HAS(parley_host, host, member)

#ifdef __cplusplus
}
#endif
#endif
