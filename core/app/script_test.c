/* `parley test-script FILE`: runs a script-test file against the real core
 * (store_sqlite in a temporary folder, deleted afterwards; the chat layer;
 * the script host) with the scripts' clock faked. The test file is Lua
 * with the `test` table of docs/scripting.md ("Testing bots"); its cases
 * print TAP lines. After every action the loop runs until the scripts
 * have nothing in flight, so a test reads as straight-line code. */
#include <errno.h>
#include <ev.h>
#include <ftw.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "chat/chat.h"
#include "chat/chat_internal.h"
#include "chat/chat_script.h"
#include "base/conf_tree.h"
#include "base/config.h"
#include "base/curl_loop.h"
#include "host/hooks.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "host/plugin_host.h"
#include "lua/script_clock.h"
#include "app/script_test.h"
#include "lua/scripts.h"
#include "base/workers.h"

#define TEST_START_MS 1767225600000LL /* 2026-01-01 00:00:00 UTC */
#define TEST_WAIT_S   10.0            /* a step that takes longer has hung */
#define TEST_TEXT_MAX 8192
#define TEST_ERR_MAX  512 /* bytes of a load error */

struct record {
	char *room_id, *room_name, *user, *role, *text, *id, *reply_to, *emoji, *thread;
	int on, also_room;
};

struct record_list {
	struct record *items;
	size_t n, cap;
};

static struct {
	struct record_list posts, reactions, messages, notices;
	struct stub {
		char *prefix, *body;
		long status;
	} stubs[64];
	size_t n_stubs;
	char *dir; /* the test file's folder */
	char *test_file;
	ev_timer watchdog;
	int timed_out;
	int started, start_ok;
	int cases, failed;
} T;

/* ---------------------------------------------------------------- */
/* Driving the loop                                                   */
/* ---------------------------------------------------------------- */

static void watchdog_fired(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	T.timed_out = 1;
}

/* Runs the loop until *flag or nothing is in flight (flag NULL). 0, or -1
 * when it took too long. */
static int run_until(const int *flag)
{
	T.timed_out = 0;
	ev_timer_set(&T.watchdog, TEST_WAIT_S, 0);
	ev_timer_start(loop_ev, &T.watchdog);
	for (;;) {
		if (flag ? *flag : scripts_pending() <= 0)
			break;
		if (T.timed_out)
			break;
		ev_run(loop_ev, EVRUN_ONCE);
	}
	ev_timer_stop(loop_ev, &T.watchdog);
	return T.timed_out ? -1 : 0;
}

static void settle(void)
{
	/* twice: a completion may start more work (a reply's own hooks) */
	run_until(NULL);
	run_until(NULL);
}

static void settle_or_raise(lua_State *L)
{
	if (run_until(NULL) < 0)
		luaL_error(L, "timed out: the scripts still had work in flight after %d s",
		           (int)TEST_WAIT_S);
}

/* ---------------------------------------------------------------- */
/* Recording what bots did                                            */
/* ---------------------------------------------------------------- */

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void record_free(struct record *r)
{
	free(r->room_id);
	free(r->room_name);
	free(r->user);
	free(r->role);
	free(r->text);
	free(r->id);
	free(r->reply_to);
	free(r->thread);
	free(r->emoji);
}

static void list_clear(struct record_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		record_free(&l->items[i]);
	l->n = 0;
}

static struct record *list_add(struct record_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct record *g = realloc(l->items, cap * sizeof *g);
		if (!g)
			return NULL;
		l->items = g;
		l->cap = cap;
	}
	struct record *r = &l->items[l->n++];
	memset(r, 0, sizeof *r);
	return r;
}

static void record(struct record_list *l, const parley_hook_args *a)
{
	struct record *r = list_add(l);
	if (!r)
		return;
	r->room_id = dup0(a->room->id);
	r->room_name = dup0(a->room->name);
	r->user = dup0(a->user->name);
	r->role = dup0(a->user->role);
	r->text = dup0(a->message->text);
	r->id = dup0(a->message->id);
	r->reply_to = dup0(a->message->reply_to);
	if (a->struct_size >= offsetof(parley_hook_args, thread) + sizeof a->thread)
		r->thread = dup0(a->thread);
	if (r->thread)
		r->also_room = a->also_room;
	r->emoji = dup0(a->emoji);
	r->on = a->on;
}

/* Every stored message (test.messages) and the bots' posts and reactions
 * (test.posts, test.reactions). */
static int record_hook(void *ud, parley_hook_args *a)
{
	(void)ud;
	if (!a->user || !a->room || !a->message || !a->user->role)
		return PARLEY_OK;
	int bot = strcmp(a->user->role, "bot") == 0;
	if (a->event == PARLEY_HOOK_MESSAGE)
		record(&T.messages, a);
	if (bot)
		record(a->event == PARLEY_HOOK_REACTION ? &T.reactions : &T.posts, a);
	return PARLEY_OK;
}

/* A command's ephemeral answer (test.notices): to whom, where, what. */
static void record_notice(const char *user_id, const char *room_id, const char *thread,
                          const char *text)
{
	struct record *r = list_add(&T.notices);
	if (!r)
		return;
	const user_rec *u = users_by_id(user_id);
	const room *rm = room_by_id(room_id);
	r->room_id = dup0(room_id);
	r->room_name = dup0(rm ? rm->name : NULL);
	r->user = dup0(u ? u->name : user_id);
	r->role = dup0(u ? u->role : NULL);
	r->text = dup0(text);
	r->thread = dup0(thread);
}

static void push_records(lua_State *L, struct record_list *l)
{
	lua_createtable(L, (int)l->n, 0);
	for (size_t i = 0; i < l->n; i++) {
		struct record *r = &l->items[i];
		lua_createtable(L, 0, 8);
#define F(k, v)                                                                                    \
	if (v) {                                                                                   \
		lua_pushstring(L, v);                                                              \
		lua_setfield(L, -2, k);                                                            \
	}
		F("room", r->room_name);
		F("room_id", r->room_id);
		F(strcmp(r->role ? r->role : "", "bot") == 0 ? "bot" : "user", r->user);
		F("text", r->text);
		F("id", r->id);
		F("reply_to", r->reply_to);
		F("thread", r->thread);
		F("emoji", r->emoji);
#undef F
		if (r->thread) {
			lua_pushboolean(L, r->also_room);
			lua_setfield(L, -2, "also_room");
		}
		if (r->emoji) {
			lua_pushboolean(L, r->on);
			lua_setfield(L, -2, "on");
		}
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	list_clear(l);
}

static int t_posts(lua_State *L)
{
	settle_or_raise(L);
	push_records(L, &T.posts);
	return 1;
}

static int t_notices(lua_State *L)
{
	settle_or_raise(L);
	push_records(L, &T.notices);
	return 1;
}

static int t_messages(lua_State *L)
{
	settle_or_raise(L);
	push_records(L, &T.messages);
	return 1;
}

static int t_reactions(lua_State *L)
{
	settle_or_raise(L);
	push_records(L, &T.reactions);
	return 1;
}

/* ---------------------------------------------------------------- */
/* Users, rooms, actions                                              */
/* ---------------------------------------------------------------- */

struct wait {
	int done, rc;
	char message[256];
	char id[64];
	char text[TEST_TEXT_MAX];
	int command;
	parley_user user;
	char uid[64], uname[64];
};

static void store_done(void *ud, const parley_store_result *res)
{
	struct wait *w = ud;
	w->rc = res->rc;
	snprintf(w->message, sizeof w->message, "%s", res->error ? res->error : "");
	if (res->rc == PARLEY_OK && res->n_users) {
		snprintf(w->uid, sizeof w->uid, "%s", res->users[0].id);
		w->user = res->users[0];
		chat_user_created(&res->users[0]); /* cache, join general, hook */
	}
	if (res->rc == PARLEY_OK && res->n_rooms)
		room_upsert(&res->rooms[0]);
	if (res->text)
		snprintf(w->text, sizeof w->text, "%s", res->text);
	w->done = 1;
}

static void member_done(void *ud, int rc, const char *message)
{
	struct wait *w = ud;
	w->rc = rc;
	snprintf(w->message, sizeof w->message, "%s", message ? message : "");
	w->done = 1;
}

static void wait_or_raise(lua_State *L, struct wait *w, const char *what)
{
	if (run_until(&w->done) < 0)
		luaL_error(L, "%s: timed out", what);
	settle_or_raise(L);
}

static void push_user_obj(lua_State *L, const char *id, const char *name)
{
	lua_createtable(L, 0, 2);
	lua_pushstring(L, id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, name);
	lua_setfield(L, -2, "name");
	luaL_setmetatable(L, "test.user");
}

/* test.user(name [, role]) */
static int t_user(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	const char *role = luaL_optstring(L, 2, "member");
	if (users_by_name(name))
		return luaL_error(L, "test.user: %s exists already", name);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	parley_user nu = {.name = name, .display_name = name, .role = role, .created_ts = 1};
	struct wait w = {0};
	if (st->user_create(self, &nu, store_done, &w) != PARLEY_PENDING)
		return luaL_error(L, "test.user: the store refused");
	wait_or_raise(L, &w, "test.user");
	if (w.rc != PARLEY_OK)
		return luaL_error(L, "test.user %s: %s", name, w.message);
	/* joining general is a second store write: wait for it */
	room *g = room_by_name(CHAT_GENERAL);
	struct wait j = {0};
	while (g && !room_member(g, w.uid) && !j.done) {
		if (T.timed_out)
			return luaL_error(L, "test.user: timed out joining general");
		ev_run(loop_ev, EVRUN_ONCE);
	}
	settle_or_raise(L);
	push_user_obj(L, w.uid, name);
	return 1;
}

/* A room of the simulated world by name, private ones included (the test
 * names each room once; the chat layer's index holds public names only). */
static room *named_room(const char *name)
{
	room *r = room_by_name(name);
	for (size_t pos = 0; !r && (r = rooms_next(&pos));)
		if (strcasecmp(r->name, name) != 0)
			r = NULL;
	return r;
}

/* test.room(name [, kind]) */
static int t_room(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	const char *kind = luaL_optstring(L, 2, "public");
	if (!named_room(name)) {
		void *self;
		const parley_store_vtable *st = chat_store(&self);
		parley_room pr = {.name = name, .kind = kind, .topic = "", .created_ts = 1};
		struct wait w = {0};
		if (st->room_create(self, &pr, NULL, store_done, &w) != PARLEY_PENDING)
			return luaL_error(L, "test.room: the store refused");
		wait_or_raise(L, &w, "test.room");
		if (w.rc != PARLEY_OK)
			return luaL_error(L, "test.room %s: %s", name, w.message);
	}
	room *r = named_room(name);
	lua_pushstring(L, r ? r->id : name);
	return 1;
}

static user_rec *self_user(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "id");
	user_rec *u = lua_isstring(L, -1) ? users_by_id(lua_tostring(L, -1)) : NULL;
	lua_pop(L, 1);
	if (!u)
		luaL_error(L, "not a test user (call it as alice:say(…))");
	return u;
}

static room *room_opt(lua_State *L, int idx)
{
	const char *name = luaL_optstring(L, idx, CHAT_GENERAL);
	room *r = named_room(name);
	if (!r)
		r = room_by_id(name);
	if (!r)
		luaL_error(L, "no room '%s' (create it with test.room)", name);
	return r;
}

static void posted(void *ud, int rc, const char *message, const parley_message *m, int duplicate,
                   int command)
{
	(void)duplicate;
	struct wait *w = ud;
	w->rc = rc;
	w->command = command;
	snprintf(w->message, sizeof w->message, "%s", message ? message : "");
	if (m) {
		snprintf(w->id, sizeof w->id, "%s", m->id ? m->id : "");
		snprintf(w->text, sizeof w->text, "%s", m->text ? m->text : "");
	}
	w->done = 1;
}

/* say's options {room = name, thread = root id, also_room = bool} at idx,
 * each optional (room: dflt when absent); the strings stay referenced by
 * the table. */
static room *say_opts(lua_State *L, int idx, room *dflt, const char **thread, int *also_room)
{
	lua_getfield(L, idx, "thread");
	if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "say: thread: expected a message id");
	*thread = lua_tostring(L, -1);
	lua_getfield(L, idx, "also_room");
	if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
		luaL_error(L, "say: also_room: expected true or false");
	*also_room = lua_toboolean(L, -1);
	if (*also_room && !*thread)
		luaL_error(L, "say: also_room: only with thread");
	lua_getfield(L, idx, "room");
	room *r = lua_isnil(L, -1) && dflt ? dflt : room_opt(L, lua_gettop(L));
	lua_pop(L, 3);
	return r;
}

/* user:say(text [, room | opts]) or user:say(text, room, opts), opts =
 * {room, thread, also_room} -> {ok, id, text, command} or {ok=false,
 * code, error}. A thread's root id is what say returned for it. */
static int u_say(lua_State *L)
{
	user_rec *u = self_user(L);
	const char *text = luaL_checkstring(L, 2);
	const char *thread = NULL;
	int also_room = 0;
	room *r;
	if (lua_istable(L, 3))
		r = say_opts(L, 3, NULL, &thread, &also_room);
	else if (lua_istable(L, 4))
		r = say_opts(L, 4, room_opt(L, 3), &thread, &also_room);
	else
		r = room_opt(L, 3);
	struct wait w = {0};
	struct chat_post p = {.author = u,
	                      .room = r,
	                      .text = text,
	                      .t0 = ev_now(loop_ev),
	                      .thread = thread,
	                      .also_room = also_room};
	chat_post_message(&p, posted, &w);
	wait_or_raise(L, &w, "say");
	lua_createtable(L, 0, 4);
	lua_pushboolean(L, w.rc == PARLEY_OK);
	lua_setfield(L, -2, "ok");
	if (w.rc != PARLEY_OK) {
		lua_pushstring(L, proto_error_code(w.rc));
		lua_setfield(L, -2, "code");
		lua_pushstring(L, w.message);
		lua_setfield(L, -2, "error");
	} else if (w.command) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "command");
	} else {
		lua_pushstring(L, w.id);
		lua_setfield(L, -2, "id");
		lua_pushstring(L, w.text);
		lua_setfield(L, -2, "text");
	}
	return 1;
}

static int u_join(lua_State *L)
{
	user_rec *u = self_user(L);
	room *r = room_opt(L, 2);
	struct wait w = {0};
	chat_add_member(r, u, ROLE_MEMBER, member_done, &w);
	wait_or_raise(L, &w, "join");
	lua_pushboolean(L, w.rc == PARLEY_OK);
	return 1;
}

static int u_leave(lua_State *L)
{
	user_rec *u = self_user(L);
	room *r = room_opt(L, 2);
	struct wait w = {0};
	int rc = chat_remove_member(r, u, NULL, member_done, &w);
	if (rc != PARLEY_OK)
		return luaL_error(L, "leave: %s", proto_error_code(rc));
	wait_or_raise(L, &w, "leave");
	lua_pushboolean(L, w.rc == PARLEY_OK);
	return 1;
}

/* user:react(message_id, emoji [, room [, on]]) */
static int u_react(lua_State *L)
{
	user_rec *u = self_user(L);
	const char *id = luaL_checkstring(L, 2);
	const char *emoji = luaL_checkstring(L, 3);
	room *r = room_opt(L, 4);
	int on = lua_isnoneornil(L, 5) ? 1 : lua_toboolean(L, 5);
	struct wait w = {0};
	int rc = chat_react_as(u, r, id, emoji, on, member_done, &w);
	if (rc != PARLEY_OK)
		return luaL_error(L, "react: %s", proto_error_code(rc));
	wait_or_raise(L, &w, "react");
	lua_pushboolean(L, w.rc == PARLEY_OK);
	return 1;
}

/* ---------------------------------------------------------------- */
/* Scripts, clock, kv, http                                           */
/* ---------------------------------------------------------------- */

/* test.load_entry(source): the prelude serialised the entry as config. */
static int t_load_entry(lua_State *L)
{
	const char *source = luaL_checkstring(L, 1);
	char err[TEST_ERR_MAX];
	conf_node *root = conf_load("test entry", source, err, sizeof err);
	if (!root)
		return luaL_error(L, "test.load: %s", err);
	const conf_node *list = conf_get(root, "scripts");
	const conf_node *entry = list ? conf_at(list, 0) : NULL;
	int rc = entry ? scripts_load_one(entry, T.dir, err, sizeof err) : -1;
	int bad = conf_error_count(root);
	conf_free(root);
	if (rc < 0 || bad)
		return luaL_error(L, "test.load: %s", rc < 0 ? err : "invalid entry (see above)");
	settle_or_raise(L);
	return 0;
}

static int t_advance(lua_State *L)
{
	double secs = luaL_checknumber(L, 1);
	if (!(secs >= 0))
		return luaL_error(L, "advance: seconds must be >= 0");
	settle_or_raise(L);
	sclock_advance(secs, settle);
	settle_or_raise(L);
	return 0;
}

static int t_now(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)(sclock_now_ms() / 1000));
	return 1;
}

/* test.kv(script, key) -> the value or nil */
static int t_kv(lua_State *L)
{
	const char *script = luaL_checkstring(L, 1);
	const char *key = luaL_checkstring(L, 2);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	struct wait *w = calloc(1, sizeof *w);
	if (!w)
		return luaL_error(L, "out of memory");
	settle_or_raise(L);
	if (st->kv_get(self, script, key, store_done, w) != PARLEY_PENDING) {
		free(w);
		return luaL_error(L, "kv: the store refused");
	}
	if (run_until(&w->done) < 0) {
		free(w);
		return luaL_error(L, "kv: timed out");
	}
	json_t *v = w->rc == PARLEY_OK ? json_loads(w->text, JSON_DECODE_ANY, NULL) : NULL;
	free(w);
	scripts_push_json(L, v);
	return 1;
}

/* test.status(name): the script's entry of GET /api/admin/scripts. */
static int t_status(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	settle_or_raise(L);
	json_t *all = scripts_status();
	json_t *arr = json_object_get(all, "scripts"), *it;
	size_t i;
	json_array_foreach(arr, i, it)
	{
		const char *n = json_string_value(json_object_get(it, "name"));
		if (n && strcmp(n, name) == 0) {
			json_object_set_new(
			    it, "disabled",
			    json_boolean(strcmp(json_string_value(json_object_get(it, "status")),
			                        "disabled") == 0));
			if (!json_object_get(it, "last_error"))
				json_object_set_new(it, "last_error", json_string(""));
			scripts_push_json(L, json_incref(it));
			json_decref(all);
			return 1;
		}
	}
	json_decref(all);
	return luaL_error(L, "status: no script named %s", name);
}

static int stub_answer(const char *method, const char *url, long *status, char **body)
{
	(void)method;
	for (size_t i = T.n_stubs; i-- > 0;)
		if (strncmp(url, T.stubs[i].prefix, strlen(T.stubs[i].prefix)) == 0) {
			*status = T.stubs[i].status;
			*body = strdup(T.stubs[i].body);
			return 0;
		}
	*body = strdup("no test.http stub for this URL");
	return -1;
}

/* test.http(url_prefix, {status=200, body="…"}) */
static int t_http(lua_State *L)
{
	const char *prefix = luaL_checkstring(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	if (T.n_stubs >= sizeof T.stubs / sizeof T.stubs[0])
		return luaL_error(L, "too many stubs");
	lua_getfield(L, 2, "status");
	lua_getfield(L, 2, "body");
	struct stub *s = &T.stubs[T.n_stubs++];
	s->prefix = strdup(prefix);
	s->status = (long)luaL_optinteger(L, -2, 200);
	s->body = strdup(luaL_optstring(L, -1, ""));
	scripts_set_http_stub(stub_answer);
	return 0;
}

static int t_dir(lua_State *L)
{
	lua_pushstring(L, T.dir);
	lua_pushstring(L, T.test_file);
	return 2;
}

static int t_report(lua_State *L)
{
	int ok = lua_toboolean(L, 1);
	const char *name = luaL_checkstring(L, 2);
	T.cases++;
	if (ok) {
		printf("ok %d - %s\n", T.cases, name);
	} else {
		T.failed++;
		printf("not ok %d - %s\n", T.cases, name);
		const char *why = luaL_optstring(L, 3, "");
		for (const char *p = why; *p;) {
			const char *nl = strchr(p, '\n');
			int n = nl ? (int)(nl - p) : (int)strlen(p);
			printf("#   %.*s\n", n, p);
			p += n + (nl ? 1 : 0);
		}
	}
	fflush(stdout);
	return 0;
}

/* The Lua half of the test API: loading with a config entry, cases and
 * assertions (error messages point at the test's line). */
static const char prelude[] =
    "local t = test\n"
    "local function ser(v)\n"
    "  local k = type(v)\n"
    "  if k == 'string' then return string.format('%q', v) end\n"
    "  if k == 'number' or k == 'boolean' then return tostring(v) end\n"
    "  if k ~= 'table' then error('test.load: a ' .. k .. ' cannot be in a script entry', 3) end\n"
    "  local parts, n = {}, #v\n"
    "  for i = 1, n do parts[#parts + 1] = ser(v[i]) end\n"
    "  for key, x in pairs(v) do\n"
    "    if not (math.type(key) == 'integer' and key >= 1 and key <= n) then\n"
    "      parts[#parts + 1] = '[' .. ser(key) .. ']=' .. ser(x)\n"
    "    end\n"
    "  end\n"
    "  return '{' .. table.concat(parts, ',') .. '}'\n"
    "end\n"
    "function t.load(file, entry)\n"
    "  local dir, me = t._dir()\n"
    "  if file == nil then file = me:gsub('_test%.lua$', '.lua'):match('[^/]*$') end\n"
    "  entry = entry or {}\n"
    "  local e = {}\n"
    "  for k, v in pairs(entry) do e[k] = v end\n"
    "  e.file = file\n"
    "  t._load_entry('scripts = { ' .. ser(e) .. ' }')\n"
    "  return e.name or file:match('([^/]*)%.lua$') or file\n"
    "end\n"
    "local function show(v)\n"
    "  if type(v) == 'string' then return string.format('%q', v) end\n"
    "  return tostring(v)\n"
    "end\n"
    "function t.eq(actual, expected, msg)\n"
    "  if actual ~= expected then\n"
    "    error((msg and msg .. ': ' or '') .. 'expected ' .. show(expected) .. ', got ' .. "
    "show(actual), 2)\n"
    "  end\n"
    "end\n"
    "function t.ok(cond, msg)\n"
    "  if not cond then error(msg or 'expected a true value', 2) end\n"
    "  return cond\n"
    "end\n"
    "function t.match(s, pattern, msg)\n"
    "  if type(s) ~= 'string' or not s:find(pattern) then\n"
    "    error((msg and msg .. ': ' or '') .. show(s) .. ' does not match ' .. show(pattern), 2)\n"
    "  end\n"
    "end\n"
    "function t.one_post(msg)\n"
    "  local p = t.posts()\n"
    "  if #p ~= 1 then\n"
    "    local texts = {}\n"
    "    for i, x in ipairs(p) do texts[i] = show(x.text) end\n"
    "    error((msg and msg .. ': ' or '') .. 'expected one bot post, got ' .. #p ..\n"
    "      (#p > 0 and ': ' .. table.concat(texts, ', ') or ''), 2)\n"
    "  end\n"
    "  return p[1]\n"
    "end\n"
    "function t.no_posts(msg)\n"
    "  local p = t.posts()\n"
    "  if #p ~= 0 then\n"
    "    error((msg and msg .. ': ' or '') .. 'expected no bot post, got ' .. show(p[1].text), 2)\n"
    "  end\n"
    "end\n"
    "function t.case(name, fn)\n"
    "  local ok, err = xpcall(fn, debug.traceback)\n"
    "  t._report(ok, name, err)\n"
    "end\n";

static void open_test_api(lua_State *L)
{
	luaL_newmetatable(L, "test.user");
	lua_newtable(L);
	static const luaL_Reg user_m[] = {
	    {"say", u_say}, {"join", u_join}, {"leave", u_leave}, {"react", u_react}, {NULL, NULL}};
	luaL_setfuncs(L, user_m, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_newtable(L);
	static const luaL_Reg fns[] = {{"user", t_user},
	                               {"room", t_room},
	                               {"posts", t_posts},
	                               {"reactions", t_reactions},
	                               {"messages", t_messages},
	                               {"notices", t_notices},
	                               {"advance", t_advance},
	                               {"now", t_now},
	                               {"kv", t_kv},
	                               {"status", t_status},
	                               {"http", t_http},
	                               {"_load_entry", t_load_entry},
	                               {"_dir", t_dir},
	                               {"_report", t_report},
	                               {NULL, NULL}};
	luaL_setfuncs(L, fns, 0);
	lua_setglobal(L, "test");
}

/* ---------------------------------------------------------------- */
/* The command                                                        */
/* ---------------------------------------------------------------- */

static void started(int ok)
{
	T.started = 1;
	T.start_ok = ok;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Waits for the store's writes still in flight (read markers the chat
 * layer writes without waiting): one more write, which the store's single
 * writer finishes after them. */
static void store_barrier(void)
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	struct wait w = {0};
	if (st && st->kv_delete &&
	    st->kv_delete(self, "test-script", "barrier", store_done, &w) == PARLEY_PENDING)
		run_until(&w.done);
}

static int run_file(const char *file)
{
	lua_State *L = luaL_newstate();
	if (!L)
		return -1;
	luaL_openlibs(L);
	open_test_api(L);
	int rc = luaL_loadbuffer(L, prelude, sizeof prelude - 1, "=test-prelude");
	if (rc == LUA_OK)
		rc = lua_pcall(L, 0, 0, 0);
	if (rc == LUA_OK) {
		lua_getglobal(L, "debug");
		lua_getfield(L, -1, "traceback");
		lua_remove(L, -2);
		rc = luaL_loadfile(L, file);
		if (rc == LUA_OK)
			rc = lua_pcall(L, 0, 0, -2);
	}
	if (rc != LUA_OK) {
		T.cases++;
		T.failed++;
		printf("not ok %d - %s\n#   %s\n", T.cases, file, lua_tostring(L, -1));
	}
	lua_close(L);
	return 0;
}

int script_test_main(const char *config_file, const char *file)
{
	const char *tmp = getenv("TMPDIR");
	char tmpdir[4096];
	snprintf(tmpdir, sizeof tmpdir, "%s/parley-test-script-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "parley: test-script: cannot create a temporary folder: %s\n",
		        strerror(errno));
		return 1;
	}
	memset(&T, 0, sizeof T);
	T.test_file = strdup(file);
	const char *slash = strrchr(file, '/');
	T.dir = slash ? strndup(file, (size_t)(slash - file)) : strdup(".");
	int exit_code = 1;

	/* The same config as the server's, with data in the temporary folder
	 * and store_sqlite's defaults. */
	struct config cfg;
	struct config_overrides ov = {.data_dir = tmpdir};
	if (config_load(&cfg, config_file, &ov) < 0)
		goto out_dir;
	server_config = &cfg;
	metrics_init();
	if (loop_init() < 0)
		goto out_cfg;
	if (workers_start(2) < 0 || curl_loop_init() < 0)
		goto out_loop;
	/* Quiet: warnings (script errors) and worse. Plugins run as for an
	 * admin command: no first-start invite, no listeners. */
	log_set_level(LOG_WARN);
	if (plugins_load(&cfg, 1) < 0 || plugins_init() < 0)
		goto out_plugins;
	ev_init(&T.watchdog, watchdog_fired);
	if (chat_start(started) < 0 || run_until(&T.started) < 0 || !T.start_ok) {
		fprintf(stderr, "parley: test-script: the chat core did not start\n");
		goto out_plugins;
	}
	sclock_use_fake(TEST_START_MS);
	hooks_add(PARLEY_HOOK_MESSAGE, -1000, record_hook, NULL, "test-script");
	hooks_add(PARLEY_HOOK_REACTION, -1000, record_hook, NULL, "test-script");
	chat_script_set_notice_observer(record_notice);
	printf("# %s\n", file);
	run_file(file);
	settle();
	store_barrier();
	printf("1..%d\n", T.cases);
	if (T.failed)
		printf("# %d of %d failed\n", T.failed, T.cases);
	exit_code = T.failed || !T.cases ? 1 : 0;
out_plugins:
	scripts_fini();
	plugins_fini();
	loop_drain_posts();
	chat_fini();
	workers_stop();
	curl_loop_fini();
out_loop:
	loop_fini();
	metrics_free_all();
out_cfg:
	server_config = NULL;
	config_free(&cfg);
	sclock_reset();
out_dir:
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	list_clear(&T.posts);
	list_clear(&T.reactions);
	list_clear(&T.messages);
	list_clear(&T.notices);
	chat_script_set_notice_observer(NULL);
	free(T.notices.items);
	free(T.posts.items);
	free(T.reactions.items);
	free(T.messages.items);
	for (size_t i = 0; i < T.n_stubs; i++) {
		free(T.stubs[i].prefix);
		free(T.stubs[i].body);
	}
	free(T.dir);
	free(T.test_file);
	return exit_code;
}
