/* Shared by the chat layer's files: chat.c (sessions, dispatch, auth,
 * presence, delivery), chat_send.c (the send path), chat_changes.c (edits,
 * deletes, reactions), chat_history.c (history, resume), chat_http.c (the
 * same for the HTTP API), chat_rooms.c (rooms and membership),
 * chat_commands.c and chat_bot_post.c. core/lua still includes it too
 * (script_api.c, script_host.c, script_test.c); what it needs should move
 * to narrow headers such as chat_bot_post.h and room.h's room_find. */
#ifndef PARLEY_CHAT_INTERNAL_H
#define PARLEY_CHAT_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "net/conn.h"
#include "base/config.h"
#include "base/sbuf.h"
#include "base/token_hash.h"
#include "chat/protocol.h"
#include "chat/room.h"
#include "chat/scope.h"
#include "chat/users.h"

#define CHAT_TYPING_INTERVAL  3.0              /* s between typing fan-outs per user and room */
#define CHAT_COMMAND_DEDUP_MS (10 * 60 * 1000) /* a resent command is not run again within */
#define CHAT_RESUME_MAX       1000             /* messages replayed per room before a gap */
#define CHAT_HISTORY_DEFAULT  50
#define CHAT_HISTORY_MAX      100
#define CHAT_MEMBERS_MAX      500
#define CHAT_ROOM_NAME_MAX    64
#define CHAT_TOPIC_MAX        250
#define CHAT_EMOJI_MAX        64
#define CHAT_ROOMS_PAGE_MAX   500 /* public rooms in one `rooms` reply */
#define CHAT_BOT_DEPTH_MAX    3   /* bots answering bots stop here */
#define CHAT_GENERAL          "general"

/* A live frame held back while a room is being resumed. */
struct held_frame {
	struct held_frame *next;
	sbuf *frame;
	int64_t seq;
};

struct resume_room {
	struct resume_room *next;
	room *room;
	struct held_frame *held, *held_tail;
};

/* One WebSocket session. */
typedef struct client {
	conn *c;
	uint64_t conn_id;
	user_rec *user;           /* NULL until authenticated */
	struct client *user_next; /* the user's other sessions */
	sub *subs;
	char *upgrade_token; /* from the Authorization header or cookie */
	int authing;
	int away; /* the client said it is idle or hidden (presence.c) */
	struct resume_room *resuming;
	struct scope *scope;                   /* a bot token's limits; NULL: unscoped */
	char token_hash[TOKEN_HASH_HEX + 1];   /* of the credential it authenticated with */
	struct command_reply *command_replies; /* built-ins waiting (command_reply.c) */
} client;

/* Replies and events. */
void chat_send_json(client *cl, json_t *frame); /* steals frame */
void chat_reply_error(client *cl, json_t *rid, int rc, const char *message);
void chat_reply_ok(client *cl, json_t *rid);
/* Queues a shared frame on every session subscribed to r, except `skip`
 * (may be NULL); seq > 0 marks a message frame (held while resuming). */
size_t chat_broadcast(room *r, sbuf *frame, int64_t seq, const user_rec *skip_user);
/* Queues a frame on one subscription's session: a message frame (seq > 0)
 * is held while that room is resumed, and dropped when its seq was already
 * sent there (each seq reaches a session once, in order). */
void chat_deliver(sub *s, sbuf *frame, int64_t seq);
/* The client's subscription to r, or NULL. */
sub *chat_sub_of(client *cl, const room *r);
/* Serialises ev (stolen) into one shared text frame; NULL on failure. */
sbuf *chat_frame(json_t *ev);
/* An ack for a stored message m (or a command when command or !m). */
json_t *chat_ack(const char *client_id, const parley_message *m, int duplicate, int command);
/* Serialises ev once and broadcasts it. */
void chat_broadcast_json(room *r, json_t *ev, const user_rec *skip_user);
/* ev (stolen) to the other nodes only: this node's sessions were told. */
void chat_publish_json(room *r, json_t *ev);
/* Sends ev (stolen) to every online session of user u except `except`;
 * with r, only to sessions whose token may read r. */
void chat_send_user(user_rec *u, const room *r, json_t *ev, const client *except);
/* The same for an event that changes what every node keeps about u (a
 * read marker, a notification level): every node applies it, also one
 * where u has no session now, so a later session there starts right. */
void chat_send_user_state(user_rec *u, const room *r, json_t *ev, const client *except);
/* The same, to this node's sessions only (an event from another node). */
void chat_send_user_local(user_rec *u, const room *r, json_t *ev, const client *except);
/* Loads an account this node has not seen, and its memberships, from the
 * store (another node met it first); of an account known here only as a
 * room's new member, the memberships. */
void chat_user_load(const char *user_id);
/* The account named by an id or a name (a leading @ ignored): from the
 * cache, else from the store with its memberships (an account made by
 * the CLI or met on another node while this one served). done(ud, u)
 * runs once (now, when cached), u NULL when there is none. PARLEY_OK, or
 * an error when done will not run. */
typedef void (*chat_user_found)(void *ud, user_rec *u);
int chat_user_find(const char *id_or_name, chat_user_found done, void *ud);
/* chat_user_revoked, chat_user_sessions_revoked (by the kept credential's
 * hash) and chat_sessions_end on this node only: told by another node. */
void chat_user_revoked_local(const char *user_id);
void chat_user_sessions_revoked_local(const char *user_id, const char *keep_hash);
void chat_sessions_end_local(const char *user_id, const char *token_hash);
/* Subscribes every online session of u whose token may read r to r. */
void chat_subscribe_user(user_rec *u, room *r);
void chat_unsubscribe_user(user_rec *u, room *r);

/* The store. Never NULL once chat_start succeeded (it refuses to start
 * without one), so the chat layer's calls use it unchecked. */
const parley_store_vtable *chat_store(void **self);
/* A store call refused before it started (its rc): a malformed id is a
 * thing that does not exist (not_found); anything else is unavailable. */
int chat_store_refused(int rc);
/* Logs a failed background store write. */
void chat_store_log(const parley_store_result *res);
/* Ensures a user record exists for a store user (users_upsert + members). */
user_rec *chat_user_from(const parley_user *u);

/* A WebSocket request's context across asynchronous steps: it names the
 * connection by id, so a session closed meanwhile is not found. */
struct ws_op {
	uint64_t conn_id;
	json_t *rid;
	json_t *req; /* the request frame, kept for later steps */
	user_rec *user;
	char *room_id; /* may be NULL */
};
struct ws_op *chat_ws_op_new(client *cl, json_t *req, json_t *rid, room *r);
void chat_ws_op_free(struct ws_op *op);
/* The client still connected for op, or NULL. */
client *chat_ws_op_client(const struct ws_op *op);

/* Requests, by file. */
void chat_req_send(client *cl, json_t *req, json_t *rid);
void chat_req_edit(client *cl, json_t *req, json_t *rid);
void chat_req_delete(client *cl, json_t *req, json_t *rid);
void chat_req_react(client *cl, json_t *req, json_t *rid);
void chat_req_history(client *cl, json_t *req, json_t *rid);
void chat_resume(client *cl, json_t *resume);
/* Drops cl's resume of r and the frames held for it (r is being deleted). */
void chat_resume_forget_room(client *cl, const room *r);
/* History of one room as a reply object {room, messages, more} for u (its
 * own messages carry client_id); reverse: the store gave newest first. */
json_t *chat_history_reply(const parley_store_result *res, const char *room_id, const user_rec *u,
                           int reverse);

void chat_req_rooms(client *cl, json_t *req, json_t *rid);
/* 1 when s is a valid room name (1-64 letters, digits, - _ .). */
int chat_valid_room_name(const char *s);
void chat_req_create_room(client *cl, json_t *req, json_t *rid);
void chat_req_join(client *cl, json_t *req, json_t *rid);
void chat_req_leave(client *cl, json_t *req, json_t *rid);
void chat_req_invite(client *cl, json_t *req, json_t *rid);
void chat_req_kick(client *cl, json_t *req, json_t *rid);
void chat_req_topic(client *cl, json_t *req, json_t *rid);
void chat_req_dm(client *cl, json_t *req, json_t *rid);
void chat_req_members(client *cl, json_t *req, json_t *rid);
void chat_req_typing(client *cl, json_t *req, json_t *rid);
void chat_req_read(client *cl, json_t *req, json_t *rid);
void chat_req_search(client *cl, json_t *req, json_t *rid); /* chat_search.c */

/* Membership changes shared by requests, the admin CLI path and joins of
 * new accounts: store write, then memory, events and hooks. done may be
 * NULL. */
typedef void (*chat_member_done)(void *ud, int rc, const char *message);
void chat_add_member(room *r, user_rec *u, enum room_role role, chat_member_done done, void *ud);
/* Membership of `u` in r, or an error code for the caller: ENOTFOUND for a
 * room the user may not see, EFORBIDDEN for a visible one they are not in. */
int chat_check_member(room *r, const user_rec *u, member **out);
/* The same, replying the error to the client; returns the rc. */
int chat_require_member(client *cl, json_t *rid, room *r, member **out);
void chat_reply_member_error(client *cl, json_t *rid, int rc);
/* The room named by the request's "room" field, if the caller is a member;
 * otherwise replies the error and returns NULL. */
room *chat_req_room(client *cl, json_t *req, json_t *rid, member **m);

/* A hook call's arguments with the views they point at. chat_hook_init
 * fills the user (u may be NULL) and room (r may be NULL) views; the caller
 * sets what its event adds (message, emoji, depth…) and runs
 * hooks_run(&h.args, …). Do not copy: args points into the struct. */
struct chat_hook {
	parley_user user;
	parley_room room;
	parley_hook_args args;
};
void chat_hook_init(struct chat_hook *h, int event, const user_rec *u, const room *r);

/* Per-user rate limits (limits.rates, limits.bot_rates for bots): 0 when
 * u may do the action now, else the ms until it may. */
int64_t chat_rate_take(user_rec *u, enum rate_action a);
/* The rate_limited error with its retry_after_ms. */
void chat_reply_rate_limited(client *cl, json_t *rid, int64_t retry_after_ms);
/* The configured limit on message text (code points). */
int64_t chat_max_text(void);

/* {"type":"presence","status":"away"|"online"} from a session. */
void chat_req_presence(client *cl, json_t *req, json_t *rid);

/* The send path shared by WebSocket send, HTTP post and bots. */
struct chat_post {
	user_rec *author;
	room *room;
	const char *text;
	const char *client_id; /* may be NULL */
	const char *reply_to;  /* may be NULL */
	json_t *attachments;   /* may be NULL */
	int depth;             /* bot chain depth */
	double t0;             /* when the send arrived (ev_now) */
	int no_command;        /* store "/word …" as text (a command that keeps it) */
	int no_previews;       /* the send said "previews": false */
	const char *thread;    /* a reply in this root's thread; may be NULL */
	int also_room;         /* the reply shows in the room's timeline too */
	int strict_commands;   /* a person's session: an unknown /word is refused */
	int command_seen;      /* the cluster's count says this command ran before */
	int thread_checked;    /* a command's thread was found to be a root */
};
/* done(ud, rc, message, stored-message, duplicate, is_command). */
typedef void (*chat_post_done)(void *ud, int rc, const char *message, const parley_message *m,
                               int duplicate, int command);
void chat_post_message(const struct chat_post *p, chat_post_done done, void *ud);
/* A message frame {"type":"message", …}; the author's variant has client_id. */
json_t *chat_message_event(const parley_message *m, int with_client_id);
/* The same with the message's thread facts (t may be NULL). */
json_t *chat_message_event_in(const parley_message *m, const parley_thread_info *t,
                              int with_client_id);
/* Counts a delivered message's mentions (a JSON array of user ids, may be
 * NULL) for the members who had not read seq. */
void chat_count_mentions(room *r, int64_t seq, const char *mentions_json);
/* The members of r that text mentions, as a JSON array of user ids. Only
 * members: a name in a private room must not reach someone outside it. */
json_t *chat_room_mentions(room *r, const char *text);
/* Frees what the send path remembers (recently run commands). */
void chat_send_fini(void);

/* Changes made by the server itself (scripts), not by a session: the
 * same store write, broadcast and hooks as the requests. actor may be
 * NULL for a delete (no hook then). Return PARLEY_OK (done follows) or an
 * error (done is not called). */
int chat_delete_message(room *r, const char *msg_id, user_rec *actor, chat_member_done done,
                        void *ud);
int chat_react_as(user_rec *u, room *r, const char *msg_id, const char *emoji, int on,
                  chat_member_done done, void *ud);
/* Removes target from r (a kick by a script): member_left with "by". */
int chat_remove_member(room *r, user_rec *target, user_rec *by, chat_member_done done, void *ud);

/* Commands registered by plugins and scripts. */
int chat_command_unregister(const char *name);
/* The bot chain depth of a command's invocation. */
int chat_command_depth(const parley_command_args *cmd);
int chat_command_register(const char *name, const char *help, parley_command_fn fn, void *ud,
                          parley_ctx *owner);
/* A registered command's usage line ("/name ARGS"), shown by /help. */
int chat_command_usage_set(const char *name, const char *usage);
int chat_command_reply(const parley_command_args *cmd, const char *bot_name, const char *text);
/* Runs a registered command for text "/name args"; 1 if one ran, 0 if
 * the word is not a command. */
int chat_command_try(user_rec *u, room *r, const char *text, int depth, const char *thread,
                     int also_room);
void chat_commands_fini(void);

#endif
