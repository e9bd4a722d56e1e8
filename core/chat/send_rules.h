/* The send path's decisions, apart from its I/O (store, hooks, fan-out),
 * so that each is tested alone: the text's limits, a mute, a bot token's
 * scope, what a leading '/' does, the before_message hooks' verdict, and
 * which resent commands were already run. Pure; loop thread only. */
#ifndef PARLEY_SEND_RULES_H
#define PARLEY_SEND_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "chat/scope.h"

/* Commands remembered per server to answer a resent one (same user and
 * client_id) without running it twice. A small ring: commands are rare. */
#define SEND_RECENT_COMMANDS 256

/* PARLEY_OK, or an rc with *why: empty (unless allow_empty), or longer than
 * max_text code points. */
int send_rule_text(const char *text, int allow_empty, int64_t max_text, const char **why);

/* PARLEY_OK when not muted (muted_until_ms 0), else PARLEY_EFORBIDDEN with
 * "you are muted in this room until …" in why. */
int send_rule_mute(int64_t muted_until_ms, char *why, size_t whylen);

/* PARLEY_OK when a session with scope s (NULL: a person) may post in
 * room_id; PARLEY_ENOTFOUND for a room outside its list (as unknown to it
 * as a private room to a stranger); PARLEY_EFORBIDDEN without the post
 * scope. */
int send_rule_scope(const struct scope *s, const char *room_id, const char **why);

enum send_route {
	SEND_STORE,       /* a message */
	SEND_TRY_COMMAND, /* "/word …": run the command if one is registered */
	SEND_REPEATED,    /* a command resent with a client_id already run: ack only */
};
/* What a text does: no_command stores "/word" as text (bots' posts). */
enum send_route send_rule_route(const char *text, int no_command, int command_seen);

/* The before_message hooks' verdict (hooks_rc PARLEY_DENY or not, the deny
 * reason, a rewritten text or NULL): PARLEY_OK with *text the text to store
 * (the original or the rewrite), or PARLEY_EFORBIDDEN with *why — denied,
 * or rewritten to nothing or past max_text. */
int send_rule_hooks(int hooks_rc, const char *deny, const char *rewritten, int64_t max_text,
                    const char **text, const char **why);

struct recent_commands {
	char *keys[SEND_RECENT_COMMANDS]; /* user_id NUL client_id NUL */
	size_t next;
};
/* 1 when user_id ran a command with client_id recently (NULL: never). */
int recent_commands_seen(const struct recent_commands *rc, const char *user_id,
                         const char *client_id);
/* Remembers one (the oldest is forgotten); ignores a NULL client_id. */
void recent_commands_add(struct recent_commands *rc, const char *user_id, const char *client_id);
void recent_commands_clear(struct recent_commands *rc);

#endif
