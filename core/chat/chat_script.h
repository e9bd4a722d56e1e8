/* What the Lua script host (core/lua/) uses of the chat layer, and all of
 * it: lookups handed out as plain views, the changes scripts make, their
 * slash commands and mutes. Rooms and users are named by id (or name);
 * nothing of the chat layer's records crosses this line. The bots' posts
 * and reactions are in chat_bot_post.h. Loop thread only. */
#ifndef PARLEY_CHAT_SCRIPT_H
#define PARLEY_CHAT_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

/* A room by id, else by name (a leading '#' is dropped). 1 and *out (and
 * *n_members when not NULL), 0 when there is none. The view's strings live
 * until the loop runs again. */
int chat_script_room(const char *id_or_name, parley_room *out, size_t *n_members);
/* A user by id, else by name (a leading '@' is dropped); as above. */
int chat_script_user(const char *id_or_name, parley_user *out);
/* 1 when an entry of a script's `rooms` list (an id, or a public room's
 * name) names r: private rooms are named by id only. */
int chat_script_room_named(const parley_room *r, const char *id_or_name);
/* Calls fn for each member of the room in the members list's order
 * (fn may raise a Lua error: nothing is held between calls). The number
 * of members, or -1 for no such room. */
typedef void (*chat_script_member_fn)(void *ud, size_t i, const parley_user *u,
                                      const char *room_role);
long chat_script_members(const char *room_id, chat_script_member_fn fn, void *ud);

/* done(ud, rc, message) once, when the call returned PARLEY_OK. */
typedef void (*chat_script_done)(void *ud, int rc, const char *message);
/* Stores text as user_id's message in room_id (a command's text a script
 * keeps), in thread when not NULL (with also_room), not run as a command
 * again. */
int chat_script_keep(const char *room_id, const char *thread, int also_room, const char *user_id,
                     const char *text, int depth, chat_script_done done, void *ud);
/* Removes user_id from room_id; by_name: the bot that does it (may be
 * unknown: then no one is named). */
int chat_script_kick(const char *room_id, const char *user_id, const char *by_name,
                     chat_script_done done, void *ud);
/* Deletes a message of room_id, by the bot by_name. */
int chat_script_delete(const char *room_id, const char *msg_id, const char *by_name,
                       chat_script_done done, void *ud);
/* Mutes user_id in room_id for seconds (0 lifts it). The end in ms on the
 * mutes' clock (0 when lifted), or -1 without memory. */
int64_t chat_script_mute(const char *user_id, const char *room_id, double seconds);
/* The clock mutes read (the scripts' own, faked by test-script); NULL:
 * the loop's. */
void chat_script_set_clock(int64_t (*now_ms)(void));
/* Sends {"type":"notice","room","text"} (with "thread" when thread is
 * not NULL: the command was typed there) to user_id's sessions that may
 * read room_id: an answer only that person sees, never stored (a
 * command's ephemeral reply). PARLEY_OK, or ENOTFOUND without the user
 * or room. */
int chat_script_notice(const char *user_id, const char *room_id, const char *thread,
                       const char *text);
/* Who else learns of each notice (test-script records them); NULL: no one. */
typedef void (*chat_notice_observer)(const char *user_id, const char *room_id, const char *thread,
                                     const char *text);
void chat_script_set_notice_observer(chat_notice_observer fn);
/* Forgets every mute (the scripts are gone). */
void chat_script_mutes_clear(void);

/* Slash commands of scripts (chat_command_register of the chat layer). */
/* help and usage: what /help and GET /api/commands show ("" for none). */
int chat_script_command_add(const char *name, const char *help, const char *usage,
                            parley_command_fn fn, void *ud);
int chat_script_command_remove(const char *name);
/* 1 when name is a built-in command's (/help, /me…): scripts may not
 * register it. */
int chat_script_command_reserved(const char *name);
/* The bot chain depth of a command's invocation. */
int chat_script_command_depth(const parley_command_args *cmd);

/* The protocol's machine code for a PARLEY_* rc ("not_found"). */
const char *chat_script_error_code(int rc);

#endif
