/* core/lua/script_pattern.c against Lua's own string library: the same
 * answers (values and errors) for hand-picked and random patterns, and a
 * pathological pattern stopped by the instruction budget in milliseconds
 * (Lua's matcher takes seconds on it and cannot be interrupted). */
#include <lauxlib.h>
#include <lualib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lua/script_config.h"
#include "lua/script_internal.h"

static struct script S;

static lua_State *state(int64_t instructions)
{
	memset(&S, 0, sizeof S);
	script_limits_default(&S.spec.lim);
	S.spec.lim.instructions = instructions;
	S.spec.lim.cpu_ms = 600000; /* the instruction budget is what is tested */
	S.spec.lim.cpu_window = 86400;
	S.self.s = &S;
	lua_State *L = luaL_newstate();
	assert_non_null(L);
	*(struct sref **)lua_getextraspace(L) = &S.self;
	luaL_openlibs(L);
	/* stock = a copy of the real string library, before ours replaces it */
	assert_int_equal(
	    luaL_dostring(L, "stock = {} for k, v in pairs(string) do stock[k] = v end"), LUA_OK);
	pattern_open(L);
	S.L = L;
	return L;
}

static void run(lua_State *L, const char *chunk)
{
	sandbox_budget_reset(&S, L, 0);
	if (luaL_dostring(L, chunk) != LUA_OK)
		fail_msg("%s", lua_tostring(L, -1));
}

/* Compares every function on each case; errors must agree (both fail). */
static const char *const COMPARE =
    "local function pack(ok, ...) return {ok = ok, n = select('#', ...), ...} end\n"
    "local function same(a, b)\n"
    "  if a.ok ~= b.ok then return false end\n"
    "  if not a.ok then return true end\n"
    "  if a.n ~= b.n then return false end\n"
    "  for i = 1, a.n do if a[i] ~= b[i] then return false end end\n"
    "  return true\n"
    "end\n"
    "local function gm(lib, s, p, init)\n"
    "  local out = {}\n"
    "  for a, b, c in lib.gmatch(s, p, init) do out[#out + 1] = tostring(a) .. '|' ..\n"
    "    tostring(b) .. '|' .. tostring(c) if #out > 100 then break end end\n"
    "  return table.concat(out, ',')\n"
    "end\n"
    "function check(s, p, init, repl)\n"
    "  local function cmp(what, f)\n"
    "    local a, b = pack(pcall(f, stock)), pack(pcall(f, string))\n"
    "    if not same(a, b) then\n"
    "      error(string.format('%s(%q, %q, %s): stock %s %s, ours %s %s', what, s, p,\n"
    "        tostring(init), tostring(a.ok), tostring(a[1]), tostring(b.ok), tostring(b[1])))\n"
    "    end\n"
    "  end\n"
    "  cmp('find', function(l) return l.find(s, p, init) end)\n"
    "  cmp('match', function(l) return l.match(s, p, init) end)\n"
    "  cmp('gmatch', function(l) return gm(l, s, p, init) end)\n"
    "  cmp('gsub', function(l) return l.gsub(s, p, repl or '<%0>') end)\n"
    "  cmp('gsub1', function(l) return l.gsub(s, p, '%1', 2) end)\n"
    "  cmp('gsubf', function(l) return l.gsub(s, p, function(x) return x and #tostring(x) end) "
    "end)\n"
    "  cmp('gsubt', function(l) return l.gsub(s, p, {a = 'A', [''] = false}) end)\n"
    "end\n";

static void same_as_lua(void **state_)
{
	(void)state_;
	lua_State *L = state(INT64_MAX / 2);
	run(L, COMPARE);
	run(L, "local cases = {\n"
	       " {'hello world', 'o w'}, {'hello world', 'l+'}, {'hello', '^h(.-)o$'},\n"
	       " {'  trim me  ', '^%s*(.-)%s*$'}, {'key = value', '(%w+)%s*=%s*(%w+)'},\n"
	       " {'THE (quick) fox', '%((%a+)%)'}, {'f(a(b)c)d', '%b()'}, {'x', '%b'},\n"
	       " {'THE (quick) fox', '%f[%a]%a+'}, {'hello', '%f'}, {'abcabc', '(a)(b)c%1%2'},\n"
	       " {'abc', '()b()'}, {'abc', '[a-b]+'}, {'a]b', '[]]'}, {'a-b', '[%-]'},\n"
	       " {'a^b', '[b^]'}, {'abc', '[^a]+'}, {'abc', '[a'}, {'abc', '%'}, {'abc', '(a'},\n"
	       " {'abc', 'a)'}, {'abc', '%2'}, {'abc', ''}, {'', ''}, {'', 'a*'}, {'abc', 'x*'},\n"
	       " {'abc', '$'}, {'abc', 'c$'}, {'a$c', '$c'}, {'a.b', '.', 3}, {'a.b', '%.', -1},\n"
	       " {'abc', 'b', 10}, {'abc', 'b', -10}, {'abc', '^b', 2}, {'aaa', 'a-', 1},\n"
	       " {'aaa', 'a?a?a?a'}, {'one two  three', '%S+'}, {'x=1, y=2', '(%w+)=(%w+)'},\n"
	       " {'äöü', '[\\128-\\255]+'}, {'a\\0b', '%z'}, {'a\\0b', 'a\\0'}, {'abc', '.-b'},\n"
	       " {'hello', 'l', 1, '%2'}, {'hello', 'l', 1, '%'}, {'hello', '(l)', 1, '%1%1'},\n"
	       " {'hello', 'l', 1, '%%'}, {'abc', '[%a-z]'}, {'a-z', '[a-]'}, {'abc', '%w-$'},\n"
	       "}\n"
	       "for _, c in ipairs(cases) do check(c[1], c[2], c[3], c[4]) end\n");
	lua_close(L);
}

static void same_as_lua_random(void **state_)
{
	(void)state_;
	lua_State *L = state(INT64_MAX / 2);
	run(L, COMPARE);
	/* short subjects keep Lua's own matcher fast on whatever comes up */
	run(L, "math.randomseed(12345)\n"
	       "local subj = {'a', 'b', ' ', '(', ')', '-', '1', '%', '.', 'A'}\n"
	       "local items = {'a', 'b', '.', '%a', '%d', '%s', '%S', '[ab]', '[^a]', '%(', '%)',\n"
	       "  '(', ')', '()', '%1', '%b()', '%f[%w]', '^', '$', '*', '+', '-', '?', '[a-c]',\n"
	       "  '%', '[', ']', 'A'}\n"
	       "for i = 1, 4000 do\n"
	       "  local s, p = {}, {}\n"
	       "  for j = 1, math.random(0, 10) do s[j] = subj[math.random(#subj)] end\n"
	       "  for j = 1, math.random(0, 5) do p[j] = items[math.random(#items)] end\n"
	       "  check(table.concat(s), table.concat(p), math.random(-3, 4))\n"
	       "end\n");
	lua_close(L);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The kind of pattern: Lua's matcher needs about n^k/k! steps. */
static void pathological_stopped_by_budget(void **state_)
{
	(void)state_;
	lua_State *L = state(1000000);
	sandbox_budget_reset(&S, L, 0);
	double t0 = now_ms();
	int rc = luaL_dostring(L, "return string.find(('a'):rep(400), ('a*'):rep(20) .. 'b')");
	double ms = now_ms() - t0;
	assert_int_not_equal(rc, LUA_OK);
	assert_non_null(strstr(lua_tostring(L, -1), "instruction budget exceeded"));
	print_message("pathological find stopped after %.1f ms\n", ms);
	assert_true(ms < 2000);
	/* gsub and gmatch are counted the same way */
	lua_settop(L, 0);
	sandbox_budget_reset(&S, L, 0);
	rc = luaL_dostring(L, "return (('a'):rep(400)):gsub(('a-'):rep(10) .. 'b', 'x')");
	assert_int_not_equal(rc, LUA_OK);
	assert_non_null(strstr(lua_tostring(L, -1), "budget exceeded"));
	lua_close(L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(same_as_lua),
	    cmocka_unit_test(same_as_lua_random),
	    cmocka_unit_test(pathological_stopped_by_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
