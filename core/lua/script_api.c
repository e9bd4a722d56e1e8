/* The `parley` table of docs/scripting.md: registration (on, command,
 * bot), posting and reacting, moderation, lookups, log, plugins' functions,
 * and the table itself; timers (script_timers.c), kv (script_kv.c), http
 * (script_http.c) and json (script_json.c) add their parts. Functions that
 * wait (send and react in handlers that may wait) yield the task and are
 * resumed by their completion; the rest answer at once from the loop
 * thread's caches (users, rooms) or fire and forget.
 *
 * Host objects the script sees are plain tables whose metatables are
 * locked (__metatable), and nothing of the host (pointers, userdata) is
 * reachable from Lua: the script's identity is in the state's extra
 * space. */
#include <ctype.h>
#include <stdint.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "chat/chat_bot_post.h"
#include "chat/chat_script.h"
#include "host/plugin_host.h"
#include "lua/script_internal.h"

#define BOT_NAME_MAX   32
#define MUTE_MAX_S     (30.0 * 24 * 3600)
#define PLUGIN_OUT_MAX 65536
#define LOCKED         "locked"

/* The depth of what the running task answers (0 outside events). */
static int depth_of(lua_State *L)
{
	struct sref *r = sref_of(L);
	return r->t ? r->t->depth : 0;
}

/* The running task if it may wait (no error when not). */
static struct task *async_task(lua_State *L)
{
	struct sref *r = sref_of(L);
	return r->t && !r->t->sync && lua_isyieldable(L) ? r->t : NULL;
}

/* Posts, reactions and moderation calls are counted per handler call (a
 * task, however often it waits) and per main chunk. */
static void count_send(lua_State *L)
{
	struct sref *r = sref_of(L);
	int n = r->t ? ++r->t->sends : ++r->s->run_sends;
	if (n > SCRIPT_SENDS_PER_SLICE)
		luaL_error(L,
		           "more than %d posts, reactions or moderation calls in one handler call",
		           SCRIPT_SENDS_PER_SLICE);
}

/* The room an argument names (id, name or #name): 1 and *r, else 0. */
static int room_arg(lua_State *L, int idx, parley_room *r)
{
	return chat_script_room(luaL_checkstring(L, idx), r, NULL);
}

/* The user an argument names (a user table, id, name or @name). */
static int user_arg(lua_State *L, int idx, parley_user *u)
{
	const char *who;
	if (lua_istable(L, idx)) {
		lua_getfield(L, idx, "id");
		who = lua_tostring(L, -1);
		lua_pop(L, 1);
		if (!who)
			luaL_argerror(L, idx, "a user table without id");
	} else {
		who = luaL_checkstring(L, idx);
	}
	return chat_script_user(who, u);
}

/* ---------------------------------------------------------------- */
/* Plain tables for records                                           */
/* ---------------------------------------------------------------- */

static void set_str(lua_State *L, const char *k, const char *v)
{
	if (v) {
		lua_pushstring(L, v);
		lua_setfield(L, -2, k);
	}
}

static void set_int(lua_State *L, const char *k, int64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

void api_push_user(lua_State *L, const parley_user *u)
{
	lua_createtable(L, 0, 4);
	set_str(L, "id", u->id);
	set_str(L, "name", u->name);
	set_str(L, "display_name", u->display_name ? u->display_name : u->name);
	set_str(L, "role", u->role);
}

static void push_room(lua_State *L, const parley_room *r, size_t n_members)
{
	lua_createtable(L, 0, 6);
	set_str(L, "id", r->id);
	set_str(L, "name", r->name);
	set_str(L, "kind", r->kind);
	set_str(L, "topic", r->topic ? r->topic : "");
	set_int(L, "members", (int64_t)n_members);
	set_int(L, "last_seq", r->last_seq);
}

/* ctx tables: the event's fields plus methods through a locked metatable. */
static void set_ctx_meta(lua_State *L)
{
	luaL_getmetatable(L, "parley.ctx");
	lua_setmetatable(L, -2);
}

void api_push_event(lua_State *L, struct script *s, int event, const parley_hook_args *a)
{
	(void)s;
	lua_createtable(L, 0, 12);
	lua_pushstring(L, event_name(event));
	lua_setfield(L, -2, "event");
	if (a->user) {
		api_push_user(L, a->user);
		lua_setfield(L, -2, "user");
	}
	if (a->room) {
		set_str(L, "room", a->room->id);
		set_str(L, "room_name", a->room->name);
	}
	const parley_message *m = a->message;
	if (m) {
		set_str(L, "id", m->id);
		set_str(L, "text", m->text);
		set_str(L, "reply_to", m->reply_to);
		if (a->struct_size >= offsetof(parley_hook_args, also_room) + sizeof a->also_room &&
		    a->thread) {
			set_str(L, "thread", a->thread);
			lua_pushboolean(L, a->also_room);
			lua_setfield(L, -2, "also_room");
		}
		if (m->seq)
			set_int(L, "seq", m->seq);
		if (m->ts)
			set_int(L, "ts", m->ts);
		if (m->edited_ts)
			set_int(L, "edited_ts", m->edited_ts);
	}
	if (a->status)
		set_str(L, "status", a->status);
	if (event == SEV_UPLOAD && a->struct_size >= sizeof *a && a->upload) {
		const parley_upload *u = a->upload;
		lua_createtable(L, 0, 7);
		set_str(L, "id", u->id);
		set_str(L, "name", u->name);
		set_str(L, "type", u->type);
		set_str(L, "sha256", u->sha256);
		set_str(L, "tags", u->tags);
		set_int(L, "size", u->size);
		set_int(L, "ts", u->created_ts);
		lua_setfield(L, -2, "file");
	}
	if (event == SEV_REACTION && a->struct_size >= sizeof *a) {
		set_str(L, "emoji", a->emoji);
		lua_pushboolean(L, a->on);
		lua_setfield(L, -2, "on");
	}
	set_int(L, "depth", a->depth);
	set_ctx_meta(L);
}

void api_push_command(lua_State *L, struct script *s, const parley_command_args *c)
{
	(void)s;
	lua_createtable(L, 0, 8);
	lua_pushstring(L, "command");
	lua_setfield(L, -2, "event");
	set_str(L, "name", c->name);
	set_str(L, "args", c->args);
	/* args split on spaces, for /roll 2d6 style commands */
	lua_newtable(L);
	int n = 0;
	const char *p = c->args;
	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *w = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (p > w) {
			lua_pushlstring(L, w, (size_t)(p - w));
			lua_rawseti(L, -2, ++n);
		}
	}
	lua_setfield(L, -2, "words");
	api_push_user(L, c->user);
	lua_setfield(L, -2, "user");
	set_str(L, "room", c->room->id);
	set_str(L, "room_name", c->room->name);
	if (c->struct_size >= offsetof(parley_command_args, also_room) + sizeof c->also_room &&
	    c->thread) {
		/* typed in a thread: cmd:reply answers there */
		set_str(L, "thread", c->thread);
		lua_pushboolean(L, c->also_room);
		lua_setfield(L, -2, "also_room");
	}
	lua_pushfstring(L, "/%s%s%s", c->name, *c->args ? " " : "", c->args);
	lua_setfield(L, -2, "text");
	set_ctx_meta(L);
}

static void bot_done(void *ud, int rc, const char *message, const char *msg_id)
{
	struct op_wait *w = ud;
	struct task *t = op_wait_take(w);
	if (!t)
		return;
	task_set_outcome(t, rc,
	                 rc != PARLEY_OK ? (message ? message : chat_script_error_code(rc)) : NULL,
	                 rc == PARLEY_OK ? msg_id : NULL);
	task_complete(t);
}

static void fire_done(void *ud, int rc, const char *message, const char *msg_id)
{
	(void)msg_id;
	struct op_wait *w = ud;
	char *who = (char *)(w + 1);
	if (rc != PARLEY_OK)
		log_info("script_send", NULL, "%s: %s", who, message ? message : "failed");
	op_wait_take(w);
}

/* Starts a bot action: waits for it when the task may wait, else fires
 * and forgets (the result is logged). Returns lua results. */
static int bot_action(lua_State *L, const struct chat_bot_req *q, int kind,
                      int (*start)(const struct chat_bot_req *, chat_bot_done, void *))
{
	struct task *t = async_task(L);
	struct op_wait *w;
	if (t) {
		w = op_wait_new(t, kind);
	} else {
		/* fire and forget: the op_wait carries the script name for the log */
		const char *name = sref_of(L)->s->spec.name;
		w = calloc(1, sizeof *w + strlen(name) + 1);
		if (w) {
			strcpy((char *)(w + 1), name);
			host_pending_add(1);
		}
	}
	if (!w)
		return luaL_error(L, "out of memory");
	if (t) {
		t->starting = 1;
		t->done_early = 0;
	}
	int rc = start(q, t ? bot_done : fire_done, w);
	if (t)
		t->starting = 0;
	if (rc != PARLEY_OK) {
		if (t)
			t->opw = NULL;
		host_pending_add(-1);
		free(w);
		lua_pushnil(L);
		lua_pushstring(L, rc == PARLEY_DENY ? "bot chain too deep"
		                                    : chat_script_error_code(rc));
		return 2;
	}
	if (t && t->done_early) {
		t->done_early = 0;
		int n = task_push_outcome(L, t);
		free(t->text);
		free(t->err);
		t->text = t->err = NULL;
		return n;
	}
	if (t)
		return task_wait(L, WAIT_OP, task_push_outcome);
	lua_pushboolean(L, 1);
	return 1;
}

/* The bot to act as: opts.as (a bot table or name the script declared),
 * else the script's default bot. */
static const char *bot_for(lua_State *L, int opts, const char **display)
{
	struct script *s = sref_of(L)->s;
	*display = NULL;
	const char *name = s->bot_name;
	if (opts && lua_istable(L, opts)) {
		lua_getfield(L, opts, "as");
		if (lua_istable(L, -1)) {
			lua_getfield(L, -1, "name");
			lua_replace(L, -2);
		}
		if (lua_isstring(L, -1)) {
			const char *want = lua_tostring(L, -1);
			name = NULL;
			for (size_t i = 0; i < s->n_bots; i++)
				if (strcmp(s->bots[i], want) == 0)
					name = s->bots[i];
			if (!name)
				luaL_error(L,
				           "as: '%s' is not a bot of this script (declare it with "
				           "parley.bot)",
				           want);
		}
		lua_pop(L, 1);
	}
	lua_getfield(L, LUA_REGISTRYINDEX, "parley.bot_display");
	lua_getfield(L, -1, name);
	*display = lua_tostring(L, -1); /* kept alive by the registry table */
	lua_pop(L, 2);
	return name;
}

/* A post by the script's bot; thread: the default thread (opts.thread
 * overrides it). */
static int post_text_in(lua_State *L, const char *room_id, const char *text, int opts,
                        const char *reply_to, const char *thread)
{
	count_send(L);
	const char *display;
	const char *bot = bot_for(L, opts, &display);
	int also_room = 0;
	if (opts && lua_istable(L, opts)) {
		lua_getfield(L, opts, "reply_to");
		if (lua_isstring(L, -1))
			reply_to = lua_tostring(L, -1);
		lua_pop(L, 1); /* the string stays referenced by opts */
		lua_getfield(L, opts, "thread");
		if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
			return luaL_error(L, "thread: expected a message id");
		if (!lua_isnil(L, -1))
			thread = lua_tostring(L, -1);
		lua_pop(L, 1); /* likewise */
		lua_getfield(L, opts, "also_room");
		if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
			return luaL_error(L, "also_room: expected true or false");
		also_room = lua_toboolean(L, -1);
		lua_pop(L, 1);
		const char *bad = thread_args_error(thread, also_room);
		if (bad)
			return luaL_error(L, "%s", bad);
	}
	struct chat_bot_req q = {.bot_name = bot,
	                         .display_name = display,
	                         .room_id = room_id,
	                         .text = text,
	                         .reply_to = reply_to,
	                         .thread = thread,
	                         .also_room = also_room,
	                         .depth = depth_of(L)};
	return bot_action(L, &q, OPK_POST, chat_bot_post);
}

static int post_text(lua_State *L, const char *room_id, const char *text, int opts,
                     const char *reply_to)
{
	return post_text_in(L, room_id, text, opts, reply_to, NULL);
}

/* parley.send(room, text [, {as=bot, reply_to=id, thread=id, also_room=bool}]) */
static int l_send(lua_State *L)
{
	parley_room r;
	int found = room_arg(L, 1, &r);
	const char *text = luaL_checkstring(L, 2);
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	if (!found)
		return luaL_error(L, "send: no such room '%s'", lua_tostring(L, 1));
	return post_text(L, r.id, text, lua_isnoneornil(L, 3) ? 0 : 3, NULL);
}

static int react_in(lua_State *L, const char *room_id, const char *id, const char *emoji, int opts)
{
	count_send(L);
	const char *display;
	const char *bot = bot_for(L, opts, &display);
	int on = 1;
	if (opts && lua_istable(L, opts)) {
		lua_getfield(L, opts, "on");
		if (lua_isboolean(L, -1))
			on = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	struct chat_bot_req q = {.bot_name = bot,
	                         .display_name = display,
	                         .room_id = room_id,
	                         .msg_id = id,
	                         .emoji = emoji,
	                         .on = on,
	                         .depth = depth_of(L)};
	return bot_action(L, &q, OPK_DONE, chat_bot_react);
}

/* parley.react(room, id, emoji [, {as=bot, on=false}]) */
static int l_react(lua_State *L)
{
	parley_room r;
	int found = room_arg(L, 1, &r);
	const char *id = luaL_checkstring(L, 2);
	const char *emoji = luaL_checkstring(L, 3);
	if (!found)
		return luaL_error(L, "react: no such room '%s'", lua_tostring(L, 1));
	return react_in(L, r.id, id, emoji, lua_istable(L, 4) ? 4 : 0);
}

/* ctx:reply(text [, opts]) */
static int ctx_reply(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	const char *text = luaL_checkstring(L, 2);
	parley_room r;
	lua_getfield(L, 1, "room");
	int found = lua_isstring(L, -1) && chat_script_room(lua_tostring(L, -1), &r, NULL);
	lua_pop(L, 1);
	if (!found)
		return luaL_error(L, "reply: this event has no room");
	lua_getfield(L, 1, "event");
	int is_message = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "message") == 0;
	int is_command = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "command") == 0;
	lua_pop(L, 1);
	int ephemeral = 0;
	if (lua_istable(L, 3)) {
		lua_getfield(L, 3, "ephemeral");
		ephemeral = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	if (ephemeral) {
		/* Only the person who ran the command sees it; nothing is stored. */
		if (!is_command)
			return luaL_error(L, "reply: ephemeral answers are for commands");
		lua_getfield(L, 1, "thread"); /* typed in a thread: shown there */
		const char *thread = lua_tostring(L, -1);
		lua_getfield(L, 1, "user");
		lua_getfield(L, -1, "id");
		const char *user_id = lua_tostring(L, -1);
		int rc =
		    user_id ? chat_script_notice(user_id, r.id, thread, text) : PARLEY_ENOTFOUND;
		lua_pop(L, 3);
		lua_pushboolean(L, rc == PARLEY_OK);
		return 1;
	}
	lua_getfield(L, 1, "id");
	const char *reply_to = is_message ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1); /* the id string stays referenced by the ctx table */
	/* A message or command in a thread is answered in its thread
	 * (opts.thread wins). */
	lua_getfield(L, 1, "thread");
	const char *thread = is_message || is_command ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1); /* likewise */
	return post_text_in(L, r.id, text, lua_istable(L, 3) ? 3 : 0, reply_to, thread);
}

/* ctx:react(emoji [, opts]) */
static int ctx_react(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	const char *emoji = luaL_checkstring(L, 2);
	parley_room r;
	lua_getfield(L, 1, "room");
	int found = lua_isstring(L, -1) && chat_script_room(lua_tostring(L, -1), &r, NULL);
	lua_getfield(L, 1, "id");
	const char *id = lua_tostring(L, -1);
	lua_pop(L, 2);
	if (!found || !id)
		return luaL_error(L, "react: this event has no message");
	return react_in(L, r.id, id, emoji, lua_istable(L, 3) ? 3 : 0);
}

static void kept(void *ud, int rc, const char *message)
{
	(void)ud;
	if (rc != PARLEY_OK)
		log_info("script_keep", NULL, "command text not stored: %s",
		         message ? message : "error");
	host_pending_add(-1);
}

/* cmd:keep(): store the command's text as the user's message after all. */
static int ctx_keep(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	count_send(L);
	lua_getfield(L, 1, "room");
	const char *room_id = lua_tostring(L, -1);
	lua_getfield(L, 1, "user");
	lua_getfield(L, -1, "id");
	const char *user_id = lua_tostring(L, -1);
	lua_getfield(L, 1, "text");
	const char *text = lua_tostring(L, -1);
	lua_getfield(L, 1, "thread"); /* typed in a thread: kept there */
	const char *thread = lua_tostring(L, -1);
	lua_getfield(L, 1, "also_room");
	int also_room = lua_toboolean(L, -1);
	if (!room_id || !user_id || !text)
		return luaL_error(L, "keep: only a command's context can be kept");
	host_pending_add(1);
	if (chat_script_keep(room_id, thread, also_room, user_id, text, depth_of(L), kept, NULL) !=
	    PARLEY_OK) {
		host_pending_add(-1);
		return luaL_error(L, "keep: only a command's context can be kept");
	}
	lua_pop(L, 6);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Registration                                                       */
/* ---------------------------------------------------------------- */

static int event_index(const char *name)
{
	for (int e = 0; e < SEV__COUNT; e++)
		if (strcmp(name, event_name(e)) == 0)
			return e;
	return -1;
}

/* parley.on(event, fn) */
static int l_on(lua_State *L)
{
	struct script *s = sref_of(L)->s;
	const char *name = luaL_checkstring(L, 1);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	int e = event_index(name);
	if (e < 0)
		return luaL_error(L,
		                  "on: unknown event '%s' (before_message, message, join, leave, "
		                  "presence, user_created, edit, delete, reaction, upload)",
		                  name);
	lua_getfield(L, LUA_REGISTRYINDEX, "parley.handlers");
	lua_rawgeti(L, -1, e + 1);
	lua_pushvalue(L, 2);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	s->handlers[e]++;
	return 0;
}

static int valid_word(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* parley.command(name, fn [, help]) */
#define COMMAND_HELP_MAX  200 /* bytes of a command's description */
#define COMMAND_USAGE_MAX 100 /* bytes of its usage line */

/* opts.field as a one-line string of at most max bytes ("" when absent). */
static const char *command_text(lua_State *L, int opts, const char *field, size_t max)
{
	if (!opts)
		return "";
	lua_getfield(L, opts, field);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return "";
	}
	size_t n;
	const char *v = lua_tolstring(L, -1, &n);
	if (!v || lua_type(L, -1) != LUA_TSTRING || n > max || strpbrk(v, "\r\n"))
		luaL_error(L, "command: %s must be one line of text, at most %d bytes", field,
		           (int)max);
	lua_pop(L, 1); /* still referenced by opts */
	return v;
}

/* parley.command(name, [opts,] fn); opts = {help = "…", usage = "/name ARGS"}. */
static int l_command(lua_State *L)
{
	struct script *s = sref_of(L)->s;
	const char *name = luaL_checkstring(L, 1);
	int opts = lua_istable(L, 2) ? 2 : 0;
	int fn = opts ? 3 : 2;
	luaL_checktype(L, fn, LUA_TFUNCTION);
	if (name[0] == '/')
		name++;
	if (s->loaded_ms)
		return luaL_error(L, "command: commands are declared in the main chunk (at load)");
	if (!valid_word(name, 32))
		return luaL_error(L, "command: bad name '%s' (letters, digits, _ and -)", name);
	if (chat_script_command_reserved(name))
		return luaL_error(
		    L, "command: /%s is a built-in command (see /help): choose another name", name);
	const char *help = command_text(L, opts, "help", COMMAND_HELP_MAX);
	const char *usage = command_text(L, opts, "usage", COMMAND_USAGE_MAX);
	lua_getfield(L, LUA_REGISTRYINDEX, "parley.commands");
	lua_getfield(L, -1, name);
	if (!lua_isnil(L, -1))
		return luaL_error(L, "command: /%s is declared twice", name);
	lua_pop(L, 1);
	lua_pushvalue(L, fn);
	lua_setfield(L, -2, name);
	size_t n = s->n_commands + 1;
	char **grown = realloc(s->commands, n * sizeof *grown);
	if (grown)
		s->commands = grown;
	char **helps = grown ? realloc(s->command_help, n * sizeof *helps) : NULL;
	if (helps)
		s->command_help = helps;
	char **usages = helps ? realloc(s->command_usage, n * sizeof *usages) : NULL;
	if (usages)
		s->command_usage = usages;
	char *nm = usages ? strdup(name) : NULL, *h = nm ? strdup(help) : NULL,
	     *u = h ? strdup(usage) : NULL;
	if (!u) {
		free(nm);
		free(h);
		return luaL_error(L, "out of memory");
	}
	s->commands[s->n_commands] = nm;
	s->command_help[s->n_commands] = h;
	s->command_usage[s->n_commands] = u;
	s->n_commands++;
	return 0;
}

static int add_bot(struct script *s, const char *name)
{
	for (size_t i = 0; i < s->n_bots; i++)
		if (strcmp(s->bots[i], name) == 0)
			return 0;
	char **grown = realloc(s->bots, (s->n_bots + 1) * sizeof *grown);
	if (!grown)
		return -1;
	s->bots = grown;
	if (!(s->bots[s->n_bots] = strdup(name)))
		return -1;
	s->n_bots++;
	return 0;
}

/* parley.bot{name=, display_name=} -> a bot table for {as=…} */
static int l_bot(lua_State *L)
{
	struct script *s = sref_of(L)->s;
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "name");
	const char *name = lua_tostring(L, -1);
	lua_getfield(L, 1, "display_name");
	const char *display = lua_tostring(L, -1);
	if (!name || !valid_word(name, BOT_NAME_MAX))
		return luaL_error(L, "bot: name must be 1-%d letters, digits, _ or -",
		                  BOT_NAME_MAX);
	if (display && strlen(display) > 64)
		return luaL_error(L, "bot: display_name longer than 64 bytes");
	if (add_bot(s, name) < 0)
		return luaL_error(L, "out of memory");
	lua_getfield(L, LUA_REGISTRYINDEX, "parley.bot_display");
	lua_pushstring(L, display ? display : name);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
	lua_createtable(L, 0, 2);
	set_str(L, "name", name);
	set_str(L, "display_name", display ? display : name);
	luaL_getmetatable(L, "parley.locked");
	lua_setmetatable(L, -2);
	return 1;
}

/* ---------------------------------------------------------------- */
/* Moderation                                                         */
/* ---------------------------------------------------------------- */

static void need_moderation(lua_State *L, const char *fn)
{
	if (!sref_of(L)->s->spec.moderation)
		luaL_error(L,
		           "%s: this script is not granted moderation (moderation = true in "
		           "its entry of the config's scripts list)",
		           fn);
}

static void moderated(void *ud, int rc, const char *message)
{
	(void)ud;
	if (rc != PARLEY_OK)
		log_info("script_moderation", NULL, "failed: %s", message ? message : "error");
	host_pending_add(-1);
}

/* parley.mute(user, room, seconds): 0 lifts it. */
static int l_mute(lua_State *L)
{
	need_moderation(L, "mute");
	parley_user u;
	parley_room r;
	int have_u = user_arg(L, 1, &u), have_r = room_arg(L, 2, &r);
	double secs = luaL_checknumber(L, 3);
	if (!have_u || !have_r)
		return luaL_error(L, "mute: no such %s", !have_u ? "user" : "room");
	if (!(secs >= 0) || secs > MUTE_MAX_S)
		return luaL_error(L, "mute: seconds must be between 0 and %d", (int)MUTE_MAX_S);
	count_send(L);
	int64_t until = chat_script_mute(u.id, r.id, secs);
	if (until < 0)
		return luaL_error(L, "out of memory");
	lua_pushinteger(L, (lua_Integer)until);
	return 1;
}

/* The outcome of a moderation call that was started: true, or nil and
 * the error's code. */
static int moderation_result(lua_State *L, int rc)
{
	if (rc != PARLEY_OK) {
		host_pending_add(-1);
		lua_pushnil(L);
		lua_pushstring(L, chat_script_error_code(rc));
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* parley.kick(user, room) */
static int l_kick(lua_State *L)
{
	need_moderation(L, "kick");
	parley_user u;
	parley_room r;
	int have_u = user_arg(L, 1, &u), have_r = room_arg(L, 2, &r);
	if (!have_u || !have_r)
		return luaL_error(L, "kick: no such %s", !have_u ? "user" : "room");
	count_send(L);
	host_pending_add(1);
	return moderation_result(
	    L, chat_script_kick(r.id, u.id, sref_of(L)->s->bot_name, moderated, NULL));
}

/* parley.delete(room, id) */
static int l_delete(lua_State *L)
{
	need_moderation(L, "delete");
	parley_room r;
	int have_r = room_arg(L, 1, &r);
	const char *id = luaL_checkstring(L, 2);
	if (!have_r)
		return luaL_error(L, "delete: no such room");
	count_send(L);
	host_pending_add(1);
	return moderation_result(
	    L, chat_script_delete(r.id, id, sref_of(L)->s->bot_name, moderated, NULL));
}

/* ---------------------------------------------------------------- */
/* Lookups, log                                                       */
/* ---------------------------------------------------------------- */

static int l_users_get(lua_State *L)
{
	parley_user u;
	if (!user_arg(L, 1, &u))
		return 0;
	api_push_user(L, &u);
	return 1;
}

static int l_rooms_get(lua_State *L)
{
	parley_room r;
	size_t n_members;
	if (!chat_script_room(luaL_checkstring(L, 1), &r, &n_members))
		return 0;
	push_room(L, &r, n_members);
	return 1;
}

/* Each member into the table at the top, with its room_role. */
static void push_member(void *ud, size_t i, const parley_user *u, const char *room_role)
{
	lua_State *L = ud;
	api_push_user(L, u);
	lua_pushstring(L, room_role);
	lua_setfield(L, -2, "room_role");
	lua_rawseti(L, -2, (lua_Integer)i + 1);
}

static int l_rooms_members(lua_State *L)
{
	parley_room r;
	size_t n_members;
	if (!chat_script_room(luaL_checkstring(L, 1), &r, &n_members))
		return 0;
	lua_createtable(L, (int)n_members, 0);
	if (chat_script_members(r.id, push_member, L) < 0)
		return 0;
	return 1;
}

static int log_at(lua_State *L, int level)
{
	struct script *s = sref_of(L)->s;
	if (!script_log_allowed(L))
		return 0;
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, ' ');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	char ctx[SCRIPT_NAME_MAX * 2 + 16], esc[SCRIPT_NAME_MAX * 2];
	log_escape(esc, sizeof esc, s->spec.name);
	snprintf(ctx, sizeof ctx, "\"script\":\"%s\"", esc);
	log_write(level, "script_log", ctx, "%s", lua_tostring(L, -1));
	return 0;
}

static int l_log_info(lua_State *L)
{
	return log_at(L, LOG_INFO);
}

static int l_log_warn(lua_State *L)
{
	return log_at(L, LOG_WARN);
}

static int l_log_error(lua_State *L)
{
	return log_at(L, LOG_ERROR);
}

/* parley.<plugin function>(...) */
static int l_plugin_fn(lua_State *L)
{
	const struct plugin_fn *pf = lua_touserdata(L, lua_upvalueindex(1));
	int n = lua_gettop(L);
	lua_createtable(L, n, 0);
	for (int i = 1; i <= n; i++) {
		lua_pushvalue(L, i);
		lua_rawseti(L, -2, i);
	}
	const char *err = NULL;
	json_t *args = n ? json_from_lua(L, -1, &err) : json_array();
	if (args && !json_is_array(args)) {
		json_t *wrap = json_array();
		json_array_append_new(wrap, args);
		args = wrap;
	}
	char *text = args ? json_dumps(args, JSON_COMPACT) : NULL;
	json_decref(args);
	if (!text)
		return luaL_error(L, "%s: %s", pf->name, err ? err : "arguments cannot be JSON");
	char *out = calloc(1, PLUGIN_OUT_MAX);
	if (!out) {
		free(text);
		return luaL_error(L, "out of memory");
	}
	int rc = pf->fn(pf->ud, sref_of(L)->s->spec.name, text, out, PLUGIN_OUT_MAX);
	free(text);
	out[PLUGIN_OUT_MAX - 1] = 0;
	if (rc != PARLEY_OK) {
		lua_pushnil(L);
		lua_pushstring(L, *out ? out : chat_script_error_code(rc));
		free(out);
		return 2;
	}
	json_t *v = *out ? json_loads(out, JSON_DECODE_ANY, NULL) : NULL;
	free(out);
	json_push_owned(L, v);
	return 1;
}

/* ---------------------------------------------------------------- */
/* The table                                                          */
/* ---------------------------------------------------------------- */

static void set_fn(lua_State *L, const char *name, lua_CFunction fn)
{
	lua_pushcfunction(L, fn);
	lua_setfield(L, -2, name);
}

static void sub_table(lua_State *L, const char *name, const luaL_Reg *fns)
{
	lua_newtable(L);
	luaL_setfuncs(L, fns, 0);
	lua_setfield(L, -2, name);
}

void api_open(lua_State *L, struct script *s)
{
	/* Registry: handlers per event, commands, bots' display names. */
	lua_createtable(L, SEV__COUNT, 0);
	for (int e = 0; e < SEV__COUNT; e++) {
		lua_newtable(L);
		lua_rawseti(L, -2, e + 1);
	}
	lua_setfield(L, LUA_REGISTRYINDEX, "parley.handlers");
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "parley.commands");
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "parley.bot_display");

	luaL_newmetatable(L, "parley.locked");
	lua_pushstring(L, LOCKED);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
	luaL_newmetatable(L, "parley.ctx");
	lua_pushstring(L, LOCKED);
	lua_setfield(L, -2, "__metatable");
	lua_newtable(L);
	set_fn(L, "reply", ctx_reply);
	set_fn(L, "react", ctx_react);
	set_fn(L, "keep", ctx_keep);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);

	lua_newtable(L);
	static const luaL_Reg top[] = {{"on", l_on},     {"command", l_command}, {"bot", l_bot},
	                               {"send", l_send}, {"react", l_react},     {"mute", l_mute},
	                               {"kick", l_kick}, {"delete", l_delete},   {NULL, NULL}};
	luaL_setfuncs(L, top, 0);
	timers_open(L);
	kv_open(L);
	static const luaL_Reg lg[] = {
	    {"info", l_log_info}, {"warn", l_log_warn}, {"error", l_log_error}, {NULL, NULL}};
	sub_table(L, "log", lg);
	static const luaL_Reg users[] = {{"get", l_users_get}, {NULL, NULL}};
	sub_table(L, "users", users);
	static const luaL_Reg rooms[] = {
	    {"get", l_rooms_get}, {"members", l_rooms_members}, {NULL, NULL}};
	sub_table(L, "rooms", rooms);
	static const luaL_Reg http[] = {{"request", http_request}, {NULL, NULL}};
	sub_table(L, "http", http);
	lua_newtable(L);
	json_open(L);
	lua_setfield(L, -2, "json");

	set_str(L, "script", s->spec.name);
	set_str(L, "bot_name", s->bot_name);
	lua_getfield(L, LUA_REGISTRYINDEX, "parley.bot_display");
	lua_pushstring(L, s->bot_name);
	lua_setfield(L, -2, s->bot_name);
	lua_pop(L, 1);
	add_bot(s, s->bot_name);

	json_t *opts = json_loads(s->spec.options_json, JSON_DECODE_ANY, NULL);
	if (opts && json_is_object(opts)) {
		json_push_owned(L, opts);
	} else {
		json_decref(opts);
		lua_newtable(L);
	}
	lua_setfield(L, -2, "config");

	for (const struct plugin_fn *pf = host_plugin_fns(); pf; pf = pf->next) {
		lua_getfield(L, -1, pf->name);
		int taken = !lua_isnil(L, -1);
		lua_pop(L, 1);
		if (taken)
			continue;
		lua_pushlightuserdata(L, (void *)pf);
		lua_pushcclosure(L, l_plugin_fn, 1);
		lua_setfield(L, -2, pf->name);
	}
	lua_setglobal(L, "parley");
}
