/* parley.timer, parley.every and parley.sleep on the scripts' clock
 * (script_clock.c). A timer's function runs in a task of its own, in
 * protected mode; timers are kept on the script's list and stopped when it
 * is switched off or unloaded. */
#include <lauxlib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua/script_internal.h"

#define TIMER_MAX_S        (366.0 * 24 * 3600)
#define EVERY_MIN_S        0.05
#define TIMER_ONCE_KEY_MAX 100 /* bytes of a {once = key} */

static void timer_fired(void *arg);

static void timer_unlink(struct script_timer *st)
{
	struct script *s = st->s;
	if (st->prev)
		st->prev->next = st->next;
	else
		s->timers = st->next;
	if (st->next)
		st->next->prev = st->prev;
	st->prev = st->next = NULL;
	s->n_timers--;
}

static void timer_release(struct script_timer *st)
{
	struct script *s = st->s;
	timer_lease_forget(st);
	if (s->L) {
		luaL_unref(s->L, LUA_REGISTRYINDEX, st->fn_ref);
		luaL_unref(s->L, LUA_REGISTRYINDEX, st->handle_ref);
	}
	free(st);
}

static void timer_free(struct script_timer *st)
{
	timer_unlink(st);
	timer_release(st);
}

/* In protected mode: the timer's function (by its registry ref) in a task. */
static int run_timer(lua_State *L)
{
	int ref = (int)(intptr_t)lua_touserdata(L, 1);
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
	task_start(sref_of(L)->s, 0, 0, 0, "timer", NULL, NULL);
	return 0;
}

static void run_every(struct script_timer *st)
{
	script_pcall(st->s, run_timer, (void *)(intptr_t)st->fn_ref, "timer");
}

/* A one-shot timer leaves the list before its function runs (which may
 * start timers; cancelling this one finds nothing), and is freed after. */
static void run_once(struct script_timer *st)
{
	struct script *s = st->s;
	timer_unlink(st);
	script_pcall(s, run_timer, (void *)(intptr_t)st->fn_ref, "timer");
	timer_release(st);
}

static void timer_fired(void *arg)
{
	struct script_timer *st = arg;
	struct script *s = st->s;
	st->t = NULL;
	if (s->disabled || s->retired) {
		timer_free(st);
		return;
	}
	if (st->repeat > 0) {
		/* Rescheduled first; the function may cancel it, and a failure
		 * that switches the script off stops it: st is not used after. */
		st->t = sclock_start(st->repeat, timer_fired, st);
		if (!timer_lease_run(st, run_every, NULL))
			run_every(st);
		return;
	}
	/* A keyed one-shot stays listed (cancellable) until the store says
	 * which node runs it. */
	if (!timer_lease_run(st, run_once, timer_free))
		run_once(st);
}

void api_timers_stop(struct script *s)
{
	while (s->timers) {
		if (s->timers->t)
			sclock_stop(s->timers->t);
		timer_free(s->timers);
	}
}

/* timer:cancel() */
static int timer_cancel(lua_State *L)
{
	struct script *s = sref_of(L)->s;
	luaL_checktype(L, 1, LUA_TTABLE);
	for (struct script_timer *st = s->timers; st; st = st->next) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, st->handle_ref);
		int same = lua_rawequal(L, -1, 1);
		lua_pop(L, 1);
		if (same) {
			if (st->t)
				sclock_stop(st->t);
			timer_free(st);
			lua_pushboolean(L, 1);
			return 1;
		}
	}
	lua_pushboolean(L, 0);
	return 1;
}

static int start_timer(lua_State *L, int repeat)
{
	struct script *s = sref_of(L)->s;
	double secs = luaL_checknumber(L, 1);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!(secs >= 0) || secs > TIMER_MAX_S)
		return luaL_error(L, "seconds must be between 0 and %d", (int)TIMER_MAX_S);
	if (repeat && secs < EVERY_MIN_S)
		return luaL_error(L, "every: the interval must be at least %g s", EVERY_MIN_S);
	const char *once = NULL;
	if (!repeat && !lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		lua_getfield(L, 3, "once");
		once = lua_tostring(L, -1); /* stays on the stack: the table holds it */
		lua_pop(L, 1);
		if (!once || !*once || strlen(once) > TIMER_ONCE_KEY_MAX)
			return luaL_error(L, "timer: once must be a key of 1 to %d bytes",
			                  TIMER_ONCE_KEY_MAX);
	}
	if (s->n_timers >= (size_t)s->spec.lim.max_timers)
		return luaL_error(L, "too many timers (max_timers = %d)", s->spec.lim.max_timers);
	struct script_timer *st = calloc(1, sizeof *st);
	if (!st)
		return luaL_error(L, "out of memory");
	st->s = s;
	st->repeat = repeat ? secs : 0;
	lua_pushvalue(L, 2);
	st->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, timer_cancel);
	lua_setfield(L, -2, "cancel");
	luaL_getmetatable(L, "parley.locked");
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	st->handle_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	if (repeat)
		timer_lease_name(s, st);
	else if (once && timer_lease_once_name(s, st, once) < 0) {
		timer_release(st);
		return luaL_error(L, "timer: once: the script's name and key are too long");
	}
	st->t = sclock_start(secs, timer_fired, st);
	st->next = s->timers;
	if (s->timers)
		s->timers->prev = st;
	s->timers = st;
	s->n_timers++;
	if (!st->t) {
		timer_free(st);
		return luaL_error(L, "out of memory");
	}
	return 1;
}

static int l_timer(lua_State *L)
{
	return start_timer(L, 0);
}

static int l_every(lua_State *L)
{
	return start_timer(L, 1);
}

static void sleep_over(void *arg)
{
	struct task *t = arg;
	t->timer = NULL;
	task_resume(t);
}

static int l_sleep(lua_State *L)
{
	double secs = luaL_checknumber(L, 1);
	struct task *t = task_require_async(L, "parley.sleep");
	if (!(secs >= 0) || secs > TIMER_MAX_S)
		return luaL_error(L, "sleep: seconds must be between 0 and %d", (int)TIMER_MAX_S);
	t->timer = sclock_start(secs, sleep_over, t);
	if (!t->timer)
		return luaL_error(L, "out of memory");
	return task_wait(L, WAIT_TIMER, NULL);
}

void timers_open(lua_State *L)
{
	lua_pushcfunction(L, l_timer);
	lua_setfield(L, -2, "timer");
	lua_pushcfunction(L, l_every);
	lua_setfield(L, -2, "every");
	lua_pushcfunction(L, l_sleep);
	lua_setfield(L, -2, "sleep");
}
