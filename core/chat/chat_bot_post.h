/* Bots: accounts with role "bot" that scripts and plugins speak through,
 * created in the store on first use and joined to the room they speak in.
 * Their posts take the same send path as people's (before_message hooks
 * included) with a chain depth; bots answering bots stop at a depth of
 * CHAT_BOT_DEPTH_MAX. Loop thread only. */
#ifndef PARLEY_CHAT_BOT_POST_H
#define PARLEY_CHAT_BOT_POST_H

/* thread_args_error: the rules for a post's thread and also_room. */
#include "chat/thread_args.h"

struct chat_bot_req {
	const char *bot_name;     /* required */
	const char *display_name; /* used when the bot is created; NULL: the name */
	const char *room_id;      /* post, react */
	const char *text;         /* post */
	const char *reply_to;     /* post; may be NULL */
	const char *thread;       /* post: a reply in this root's thread; may be NULL */
	int also_room;            /* post: the thread reply shows in the room too */
	const char *msg_id;       /* react */
	const char *emoji;        /* react */
	int on;                   /* react: add (1) or remove (0) */
	int depth;                /* the chain depth of what triggered it */
	int commands;             /* post: "/word …" runs a command (plugins' posts) */
};

/* done(ud, rc, message, msg_id): msg_id of the stored post, else NULL. */
typedef void (*chat_bot_done)(void *ud, int rc, const char *message, const char *msg_id);

/* Each returns PARLEY_OK (done will be called exactly once) or an error
 * (done is not called): EINVAL, ENOTFOUND (room), ECONFLICT (a person has
 * the name), DENY (the bot chain is too deep), EUNAVAIL, ENOMEM. */
int chat_bot_ensure(const struct chat_bot_req *q, chat_bot_done done, void *ud);
int chat_bot_post(const struct chat_bot_req *q, chat_bot_done done, void *ud);
int chat_bot_react(const struct chat_bot_req *q, chat_bot_done done, void *ud);
/* Plugins' fire-and-forget post (parley_host.send_message): chat_bot_post
 * with commands run, a failure logged. */
int chat_bot_send(const char *room_id, const char *bot_name, const char *text, int depth);

#endif
