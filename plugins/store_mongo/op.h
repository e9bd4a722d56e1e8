/* One store operation, from the vtable call to its done() callback.
 *
 * store_mongo's own: the same shape as store_sqlite's op (the vtable's
 * records and results are the same), its arguments typed for this store.
 *
 * The loop thread fills an op (its arguments copied into the op's arena),
 * hands it to the lane of its key (lanes.c), and gets it back on the loop thread
 * to call done() and free it. Exactly one thread owns an op at a time; the
 * hand-offs go through a mutex or the host's post/submit, so the op itself
 * needs no locking. Results are built in the op too: strings in the arena,
 * records in growable arrays. */
#ifndef STORE_MONGO_OP_H
#define STORE_MONGO_OP_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "search_args.h"

struct dbconn;
struct store;
struct op;

/* Runs the operation on a pooled client (mdb.h); returns a parley_rc. */
typedef int (*op_exec_fn)(struct dbconn *c, struct op *op);

struct arena_chunk;

struct op_thread {
	const char *message_id;
	parley_thread_info info;
};

/* Each operation's arguments, one member per operation (or per group of
 * operations taking the same ones), named for the call. Ids stay the
 * strings the documents hold ("r12"); the few numbers a document also
 * carries (room_n, user_n) are parsed at the call. NULL means "none" where
 * the call allows it. Only the member of op->exec is set. */
union op_args {
	struct { /* append, thread_append (+ msg): the room's number, for ids
		  * and tombstones; thread: the root of a reply (threads.c) */
		int64_t room_n;
		const char *thread;
		int also_room;
	} append;
	struct { /* threads.c: thread_history, thread_follow, thread_read,
		  * threads_list (user, rooms_json, root = after) */
		const char *room, *root, *user, *rooms_json;
		int64_t before, after, seq;
		int limit, on;
	} thread;
	struct { /* history: after < 0 when before is used */
		const char *room;
		int64_t before, after;
		int limit;
	} history;
	struct { /* message_get, message_delete */
		const char *room, *message;
	} message;
	struct {
		const char *room, *message, *text, *mentions_json;
		int64_t edited_ts;
	} edit;
	struct {
		const char *room, *message, *user, *emoji;
		int on;
	} react;
	struct { /* room_create (+ room): creator NULL for none */
		const char *owner_role, *creator;
	} room_create;
	struct { /* room_get, user_get: by id, or by name when id is NULL */
		const char *id, *name;
	} lookup;
	struct {
		const char *room, *topic;
	} topic;
	struct { /* room_rename (name), room_settings_set (json), room_delete
		  * (room_settings.c, room_delete.c; json also the list being built) */
		const char *room, *name, *json;
	} room_admin;
	struct { /* member_set (role), member_remove */
		const char *room, *user, *role;
		int64_t room_n, user_n;
	} member;
	struct { /* members_list: NULL for every membership */
		const char *room;
	} members;
	struct {
		const char *room, *user;
		int64_t seq;
	} read_set;
	struct { /* user_update (+ user) */
		int set_disabled;
	} user_update;
	struct { /* settings_get: the user the call is about */
		const char *user;
	} user;
	struct { /* session_get, invite_use */
		const char *token_hash;
		int64_t now_ms;
	} token_at;
	struct { /* by token_hash, or every session of user but token_hash, or
		  * every session of user (token_hash NULL) */
		const char *token_hash, *user;
	} session_delete;
	struct {
		const char *email;
	} by_email;
	struct {
		const char *kind, *token_hash, *user;
		int64_t expires_ts, created_ts;
	} token_create;
	struct { /* token_use, token_peek */
		const char *kind, *token_hash;
		int64_t now_ms;
	} token_use;
	struct {
		int64_t now_ms;
	} invites_list;
	struct {
		const char *token_hash;
	} invite_revoke;
	struct {
		int64_t before, limit;
	} audit_list;
	struct {
		const char *user, *json;
	} settings_set;
	struct { /* kv_get, kv_set (value), kv_delete, kv_incr (delta),
		  * kv_put_capped (value or delta, and the caps) */
		const char *owner, *key, *value;
		int64_t delta, max_keys, max_bytes;
	} kv;
	struct { /* counter_add: window_ms 0 deletes, delta 0 reads */
		const char *name;
		int64_t delta, window_ms, now_ms;
	} counter;
	struct { /* lease: ttl_ms 0 releases */
		const char *name, *holder;
		int64_t ttl_ms, now_ms;
	} lease;
	struct { /* upload_get, upload_delete */
		const char *upload;
	} upload;
	struct { /* message NULL: only the room (a send on its way) */
		const char *upload, *user, *room, *message;
	} upload_attach;
	struct {
		int64_t before_ts;
		int limit;
	} unattached;
	struct {
		const char *user;
		int64_t since_ts;
	} usage;
	/* Find and follow (search.c, pins.c, notify.c) */
	struct search_args search;
	struct { /* pin_set, pins_list (room NULL: every room) */
		const char *room, *message, *user;
		int on;
		int64_t ts;
	} pin;
	struct { /* notify_set, notify_list (user NULL: everyone) */
		const char *room, *user, *level;
		int64_t room_n, user_n;
	} notify;
	/* The data lifecycle (lifecycle.c, records.c, dump.c). */
	struct {
		const char *room;
		int64_t room_n, before_ts;
		int limit, dry_run;
	} prune;
	struct { /* room_retention_set (ms), room_retention_get */
		const char *room;
		int64_t ms;
	} retention;
	struct { /* records_read (after, limit), records_write (json) */
		const char *kind, *json;
		int64_t after;
		int limit;
	} records;
	struct {
		const char *path;
	} snapshot;
};

struct op {
	struct op *next; /* queue link (a lane's queue, finished ops) */
	struct store *st;
	op_exec_fn exec;
	const char *name; /* for logs: "append" */
	parley_store_done done;
	void *ud;
	struct arena_chunk *arena;
	int oom; /* an argument copy failed */

	/* Arguments: the operation's own (ids parsed to integer keys, strings
	 * copied into the arena), then the records some operations carry. */
	union op_args args;
	parley_message msg;
	parley_room room;
	parley_user user;
	parley_session session;
	parley_invite invite;
	parley_audit audit;
	parley_upload upload;

	/* Result: the pointers in res are set from the arrays at finish. */
	parley_store_result res;
	parley_message *msgs;
	size_t n_msgs, cap_msgs;
	parley_room *rooms;
	size_t n_rooms, cap_rooms;
	parley_member *members;
	size_t n_members, cap_members;
	parley_user *users;
	size_t n_users, cap_users;
	parley_invite *invites; /* invites_list */
	size_t n_invites, cap_invites;
	parley_audit *audits;
	size_t n_audits, cap_audits;
	parley_upload *uploads;
	size_t n_uploads, cap_uploads;
	/* Thread facts of the messages read, by message id (the id string's
	 * pointer), paired with the messages at finish (threads_out). */
	struct op_thread *thr;
	size_t n_thr, cap_thr;
	parley_thread_info *threads_out;
	parley_session session_out;
	parley_invite invite_out;
	char error[160];
};

/* A fresh op for exec, or NULL without memory. */
struct op *op_new(struct store *st, const char *name, op_exec_fn exec, parley_store_done done,
                  void *ud);
void op_free(struct op *op);
/* Arena copies, alive until op_free; NULL in, NULL out. */
char *op_strdup(struct op *op, const char *s);
char *op_printf(struct op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a zeroed record to one of the result arrays; NULL without memory. */
parley_message *op_add_message(struct op *op);
parley_room *op_add_room(struct op *op);
parley_member *op_add_member(struct op *op);
parley_user *op_add_user(struct op *op);
parley_invite *op_add_invite(struct op *op);
parley_audit *op_add_audit(struct op *op);
parley_upload *op_add_upload(struct op *op);
/* Thread facts for the message whose id is message_id (an arena string
 * of a result message); zeroed, NULL without memory. */
parley_thread_info *op_add_thread(struct op *op, const char *message_id);
/* Sizes the message array ahead, from the calling thread (see op_new). */
int op_reserve_messages(struct op *op, size_t n);
/* Drops results (before an op is retried); arguments stay. */
void op_reset(struct op *op);
/* Records a failure: rc and a message for logs. Returns rc. */
int op_fail(struct op *op, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Loop thread: calls done with the result and frees the op. */
void op_finish(struct op *op);

#endif
