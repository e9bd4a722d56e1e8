/* The sandbox: one lua_State per script with a capped allocator (base/lua_alloc.c), a count
 * hook enforcing the instruction and wall-clock budgets, and only the safe
 * libraries: base without dofile/loadfile (load: text only, print: the
 * log), string without dump, table, math, utf8, coroutine, and os.time,
 * os.clock, os.date (time from the scripts' clock). require reads only
 * <script dir>/lib/NAME.lua. */
#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/lua_alloc.h"
#include "lua/script_internal.h"

#define SOURCE_MAX   (1024 * 1024) /* bytes of one script or lib file */
#define LIB_NAME_MAX 64

double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sref *sref_of(lua_State *L)
{
	return *(struct sref **)lua_getextraspace(L);
}

/* Whether a budget of the running slice is spent: 1 instructions, 2 the
 * before_message wall clock, 3 the script's CPU budget. */
static int budget_spent(struct script *s)
{
	if (s->run_exceeded)
		return s->run_exceeded;
	if (s->run_count > s->spec.lim.instructions)
		s->run_exceeded = 1;
	else if (s->run_deadline > 0 && mono_now() > s->run_deadline)
		s->run_exceeded = 2;
	else if (cpu_over(s))
		s->run_exceeded = 3;
	return s->run_exceeded;
}

static const char *budget_message(lua_State *L, const struct script *s)
{
	if (s->run_exceeded == 2)
		return lua_pushfstring(L, "wall-clock budget exceeded (%d ms for before_message)",
		                       (int)s->spec.lim.before_message_ms);
	if (s->run_exceeded == 3)
		return lua_pushfstring(L, "CPU budget exceeded (%d ms per %d s)",
		                       (int)s->spec.lim.cpu_ms, (int)s->spec.lim.cpu_window);
	return lua_pushfstring(L, "instruction budget exceeded (%I instructions)",
	                       (lua_Integer)s->spec.lim.instructions);
}

/* Every SCRIPT_HOOK_STEP instructions. Once a budget is spent the hook
 * fires on every instruction, so a script that catches the error with
 * pcall is stopped again at once, outside its pcall. */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
	struct script *s = sref_of(L)->s;
	if (!s->run_exceeded) {
		s->run_count += SCRIPT_HOOK_STEP;
		if (!budget_spent(s))
			return;
		lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
	}
	lua_getinfo(L, "Sl", ar);
	const char *msg = budget_message(L, s);
	lua_pushfstring(L, "%s:%d: %s", ar->short_src, ar->currentline, msg);
	lua_error(L);
}

void sandbox_charge(lua_State *L, int64_t n)
{
	struct script *s = sref_of(L)->s;
	s->run_count += n;
	if (!budget_spent(s))
		return;
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
	luaL_where(L, 1); /* the Lua line that called the C function */
	budget_message(L, s);
	lua_concat(L, 2);
	lua_error(L);
}

void sandbox_budget_reset(struct script *s, lua_State *L, int sync)
{
	s->run_count = 0;
	s->run_exceeded = 0;
	s->run_sync = sync;
	s->run_sends = 0;
	s->run_deadline = sync ? mono_now() + s->spec.lim.before_message_ms / 1000.0 : 0;
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, SCRIPT_HOOK_STEP);
}

/* Reads a whole file of at most SOURCE_MAX bytes; malloc'ed. */
static char *read_source(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(SOURCE_MAX + 1);
	size_t n = buf ? fread(buf, 1, SOURCE_MAX + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (!buf || bad || n > SOURCE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
		         !buf  ? "out of memory"
		         : bad ? "read error"
		               : "larger than 1 MiB");
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* load(chunk [, name [, mode [, env]]]): text only, whatever mode says. */
static int safe_load(lua_State *L)
{
	int has_env = !lua_isnone(L, 4);
	size_t len;
	const char *name = luaL_optstring(L, 2, "=(load)");
	int status;
	if (lua_type(L, 1) == LUA_TSTRING) {
		const char *chunk = lua_tolstring(L, 1, &len);
		status = luaL_loadbufferx(L, chunk, len, name, "t");
	} else {
		return luaL_error(L, "load: only strings can be loaded in a script");
	}
	if (status != LUA_OK) {
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	}
	if (has_env) {
		lua_pushvalue(L, 4);
		if (!lua_setupvalue(L, -2, 1))
			lua_pop(L, 1);
	}
	return 1;
}

static int safe_print(lua_State *L)
{
	struct script *s = sref_of(L)->s;
	if (!script_log_allowed(L))
		return 0;
	luaL_Buffer b;
	int n = lua_gettop(L);
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	char ctx[SCRIPT_NAME_MAX * 2 + 16], esc[SCRIPT_NAME_MAX * 2];
	log_escape(esc, sizeof esc, s->spec.name);
	snprintf(ctx, sizeof ctx, "\"script\":\"%s\"", esc);
	log_write(LOG_INFO, "script_print", ctx, "%s", lua_tostring(L, -1));
	return 0;
}

static int safe_require(lua_State *L)
{
	struct script *s = sref_of(L)->s;
	const char *name = luaL_checkstring(L, 1);
	size_t n = strlen(name);
	if (!n || n > LIB_NAME_MAX)
		return luaL_error(L, "require: bad module name");
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return luaL_error(L,
			                  "require: '%s': only letters, digits and _ "
			                  "(modules come from the scripts' lib folder)",
			                  name);
	lua_getfield(L, LUA_REGISTRYINDEX, "parley.libs");
	lua_getfield(L, -1, name);
	if (!lua_isnil(L, -1))
		return 1;
	lua_pop(L, 1);
	char path[4096], err[SCRIPT_ERR_MAX], chunk[LIB_NAME_MAX + 16];
	snprintf(path, sizeof path, "%s/%s.lua", s->spec.lib_dir, name);
	size_t len;
	char *src = read_source(path, &len, err, sizeof err);
	if (!src)
		return luaL_error(L, "require: %s", err);
	snprintf(chunk, sizeof chunk, "@lib/%s.lua", name);
	int rc = luaL_loadbufferx(L, src, len, chunk, "t");
	free(src);
	if (rc != LUA_OK)
		return lua_error(L);
	lua_pushstring(L, name);
	lua_call(L, 1, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, name);
	return 1;
}

static int os_time(lua_State *L)
{
	if (lua_isnoneornil(L, 1)) {
		lua_pushinteger(L, (lua_Integer)(sclock_now_ms() / 1000));
		return 1;
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static int os_date(lua_State *L)
{
	int n = lua_gettop(L);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushstring(L, luaL_optstring(L, 1, "%c"));
	if (n >= 2)
		lua_pushvalue(L, 2);
	else
		lua_pushinteger(L, (lua_Integer)(sclock_now_ms() / 1000));
	lua_call(L, 2, 1);
	return 1;
}

static void open_safe_libs(lua_State *L)
{
	static const struct {
		const char *name;
		lua_CFunction open;
	} libs[] = {{LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
	            {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
	            {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine}};
	for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
		luaL_requiref(L, libs[i].name, libs[i].open, 1);
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	lua_setglobal(L, "dofile");
	lua_pushnil(L);
	lua_setglobal(L, "loadfile");
	lua_pushcfunction(L, safe_load);
	lua_setglobal(L, "load");
	lua_pushcfunction(L, safe_print);
	lua_setglobal(L, "print");
	lua_pushcfunction(L, safe_require);
	lua_setglobal(L, "require");
	lua_getglobal(L, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	pattern_open(L);

	/* os: three functions, taken from the real library, which is then
	 * dropped (it is not registered in _G nor package.loaded). */
	luaopen_os(L);
	lua_createtable(L, 0, 3);
	lua_getfield(L, -2, "time");
	lua_pushcclosure(L, os_time, 1);
	lua_setfield(L, -2, "time");
	lua_getfield(L, -2, "date");
	lua_pushcclosure(L, os_date, 1);
	lua_setfield(L, -2, "date");
	lua_getfield(L, -2, "clock");
	lua_setfield(L, -2, "clock");
	lua_setglobal(L, "os");
	lua_pop(L, 1);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "parley.libs");
	/* luaL_requiref put the libraries in the registry's _LOADED: that
	 * table is not reachable from the script (no package, no debug). */
}

static int open_all(lua_State *L)
{
	struct script *s = lua_touserdata(L, 1);
	open_safe_libs(L);
	api_open(L, s);
	return 0;
}

lua_State *sandbox_new(struct script *s)
{
	s->heap.limit = s->spec.lim.memory;
	lua_State *L = lua_newstate(lua_heap_alloc, &s->heap);
	if (!L)
		return NULL;
	s->self.s = s;
	s->self.t = NULL;
	*(struct sref **)lua_getextraspace(L) = &s->self;
	lua_pushcfunction(L, open_all);
	lua_pushlightuserdata(L, s);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		lua_close(L);
		return NULL;
	}
	return L;
}

int sandbox_run_main(struct script *s, char *err, size_t errlen)
{
	size_t len;
	char *src = read_source(s->spec.file, &len, err, errlen);
	if (!src)
		return -1;
	int rc = sandbox_run_buffer(s, src, len, err, errlen);
	free(src);
	return rc;
}

int sandbox_run_buffer(struct script *s, const char *src, size_t len, char *err, size_t errlen)
{
	lua_State *L = s->L;
	char chunk[SCRIPT_NAME_MAX + 8];
	snprintf(chunk, sizeof chunk, "@%s", base_name(s->spec.file));
	int rc = luaL_loadbufferx(L, src, len, chunk, "t");
	if (rc == LUA_OK) {
		struct cpu_mark mark;
		sandbox_budget_reset(s, L, 0);
		cpu_enter(s, &mark);
		rc = lua_pcall(L, 0, 0, 0);
		cpu_leave(s, &mark);
	}
	if (rc != LUA_OK) {
		const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
		                                                 : "error object is not a string";
		snprintf(err, errlen, "%s", msg);
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}
