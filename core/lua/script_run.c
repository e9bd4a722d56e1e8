/* Handlers run in coroutines ("tasks"). A task is a thread created from
 * the script's state, anchored in the registry while it lives; its extra
 * space points at its own sref, so host functions that wait (sleep, http,
 * kv, send) find the task and refuse to wait where they may not: in
 * before_message handlers (the send path), in the main chunk, and in the
 * script's own coroutines (the yield would go to the script, not to us).
 * Every resume is a slice with a fresh instruction budget. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "chat/chat_script.h"
#include "base/metrics.h"
#include "lua/script_internal.h"

static struct run_state run_save(const struct script *s)
{
	struct run_state r = {s->run_count, s->run_exceeded, s->run_sync, s->run_sends,
	                      s->run_deadline};
	return r;
}

static void run_restore(struct script *s, const struct run_state *r)
{
	s->run_count = r->count;
	s->run_exceeded = r->exceeded;
	s->run_sync = r->sync;
	s->run_sends = r->sends;
	s->run_deadline = r->deadline;
}

static void log_script(int level, const struct script *s, const char *event, const char *msg)
{
	char ctx[SCRIPT_NAME_MAX * 2 + 16], esc[SCRIPT_NAME_MAX * 2];
	log_escape(esc, sizeof esc, s->spec.name);
	snprintf(ctx, sizeof ctx, "\"script\":\"%s\"", esc);
	log_write(level, event, ctx, "%s", msg);
}

void script_fail(struct script *s, const char *what, const char *msg)
{
	char line[SCRIPT_ERR_MAX];
	snprintf(line, sizeof line, "%s: %s", what, msg ? msg : "error");
	snprintf(s->last_error, sizeof s->last_error, "%s", line);
	s->failures_total++;
	if (s->m_failures)
		metric_add(s->m_failures, 1);
	log_script(LOG_WARN, s, "script_error", line);
	if (s->disabled || s->retired)
		return;
	int64_t now = sclock_now_ms();
	size_t cap = (size_t)s->spec.lim.max_failures;
	s->fail_ms[s->fail_next % cap] = now;
	s->fail_next++;
	if (s->fail_next < cap)
		return;
	/* The oldest of the last max_failures failures. */
	int64_t oldest = s->fail_ms[s->fail_next % cap];
	if (now - oldest > (int64_t)(s->spec.lim.failure_window * 1000))
		return;
	char reason[SCRIPT_ERR_MAX];
	int n = snprintf(reason, sizeof reason,
	                 "%d failures within %g s; last: ", s->spec.lim.max_failures,
	                 s->spec.lim.failure_window);
	if (n > 0 && (size_t)n < sizeof reason)
		memcpy(reason + n, line, strnlen(line, sizeof reason - (size_t)n - 1) + 1);
	reason[sizeof reason - 1] = 0;
	script_disable(s, reason);
}

void script_disable(struct script *s, const char *reason)
{
	if (s->disabled || s->retired)
		return;
	s->disabled = 1;
	snprintf(s->disabled_reason, sizeof s->disabled_reason, "%s", reason);
	if (s->m_disabled)
		metric_set(s->m_disabled, 1);
	log_script(LOG_ERROR, s, "script_disabled", s->disabled_reason);
	api_timers_stop(s);
}

static struct task *task_new(struct script *s, int sync, int depth, const char *what)
{
	if (s->n_tasks >= SCRIPT_TASKS_MAX)
		return NULL;
	struct task *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->ref.s = s;
	t->ref.t = t;
	t->sync = sync;
	t->depth = depth;
	t->thread_ref = LUA_NOREF;
	snprintf(t->what, sizeof t->what, "%s", what);
	t->next = s->tasks;
	if (s->tasks)
		s->tasks->prev = t;
	s->tasks = t;
	s->n_tasks++;
	return t;
}

void task_drop(struct task *t)
{
	struct script *s = t->ref.s;
	if (t->timer)
		sclock_stop(t->timer);
	if (t->wait == WAIT_HTTP)
		http_cancel(t);
	if (t->opw)
		t->opw->t = NULL;
	free(t->text);
	free(t->err);
	if (t->prev)
		t->prev->next = t->next;
	else
		s->tasks = t->next;
	if (t->next)
		t->next->prev = t->prev;
	s->n_tasks--;
	if (t->thread_ref != LUA_NOREF && s->L)
		luaL_unref(s->L, LUA_REGISTRYINDEX, t->thread_ref);
	free(t);
}

/* After a resume: finished, waiting, or failed. 0 or -1. */
static int after_resume(struct task *t, int status, int nres, int keep_results)
{
	struct script *s = t->ref.s;
	if (status == LUA_YIELD && t->wait != WAIT_NONE && !t->sync) {
		lua_pop(t->co, nres);
		return 0;
	}
	if (status == LUA_YIELD) {
		script_fail(s, t->what,
		            t->sync ? "before_message handlers may not yield"
		                    : "yielded outside parley.sleep, http, kv or send");
		task_drop(t);
		return -1;
	}
	if (status != LUA_OK) {
		const char *msg = lua_type(t->co, -1) == LUA_TSTRING
		                      ? lua_tostring(t->co, -1)
		                      : "error object is not a string";
		script_fail(s, t->what, msg);
		task_drop(t);
		return -1;
	}
	if (!keep_results)
		task_drop(t);
	return 0;
}

int task_start(struct script *s, int nargs, int sync, int depth, const char *what,
               lua_State **co_out, int *nres_out)
{
	lua_State *L = s->L;
	/* The Lua side first: these may raise (memory), and nothing of ours
	 * is allocated yet. */
	lua_State *co = lua_newthread(L);
	int thread_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	struct task *t = task_new(s, sync, depth, what);
	if (!t) {
		luaL_unref(L, LUA_REGISTRYINDEX, thread_ref);
		lua_pop(L, nargs + 1);
		script_fail(s, what, "too many handlers waiting at once");
		return -1;
	}
	*(struct sref **)lua_getextraspace(co) = &t->ref;
	t->co = co;
	t->thread_ref = thread_ref;
	lua_xmove(L, co, nargs + 1);
	struct run_state saved = run_save(s);
	struct cpu_mark mark;
	sandbox_budget_reset(s, co, sync);
	cpu_enter(s, &mark);
	int nres = 0;
	int status = lua_resume(co, L, nargs, &nres);
	cpu_leave(s, &mark);
	run_restore(s, &saved);
	if (status == LUA_OK && co_out) {
		*co_out = co;
		*nres_out = nres;
		return after_resume(t, status, nres, 1);
	}
	return after_resume(t, status, nres, 0);
}

void task_end_sync(struct script *s, lua_State *co)
{
	for (struct task *t = s->tasks; t; t = t->next)
		if (t->co == co) {
			task_drop(t);
			return;
		}
}

void task_resume(struct task *t)
{
	const int nargs = 0;
	struct script *s = t->ref.s;
	t->wait = WAIT_NONE;
	t->timer = NULL;
	t->http = NULL;
	t->opw = NULL;
	if (s->disabled || s->retired) {
		task_drop(t);
		return;
	}
	struct run_state saved = run_save(s);
	struct cpu_mark mark;
	sandbox_budget_reset(s, t->co, 0);
	cpu_enter(s, &mark);
	int nres = 0;
	int status = lua_resume(t->co, s->L, nargs, &nres);
	cpu_leave(s, &mark);
	run_restore(s, &saved);
	after_resume(t, status, nres, 0);
}

struct task *task_require_async(lua_State *L, const char *fn)
{
	struct sref *r = sref_of(L);
	if (!r->t) {
		luaL_error(L,
		           "%s waits, and may only be called in a handler, a timer or a "
		           "command (not in the main chunk nor in a coroutine of the script's own)",
		           fn);
		return NULL;
	}
	if (r->t->sync) {
		luaL_error(L, "%s waits, and before_message handlers may not wait", fn);
		return NULL;
	}
	return r->t;
}

static int resumed_k(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	(void)ctx;
	struct task *t = sref_of(L)->t;
	int n = t->push ? t->push(L, t) : 0;
	free(t->text);
	free(t->err);
	t->text = t->err = NULL;
	return n;
}

int task_wait(lua_State *L, enum task_wait wait, int (*push)(lua_State *co, struct task *t))
{
	struct task *t = sref_of(L)->t;
	t->wait = wait;
	t->push = push;
	t->rc = 0;
	return lua_yieldk(L, 0, 0, resumed_k);
}

int script_pcall(struct script *s, lua_CFunction fn, void *arg, const char *what)
{
	lua_State *L = s->L;
	if (!lua_checkstack(L, 8)) {
		script_fail(s, what, "not enough memory");
		return -1;
	}
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, arg);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
		                                                 : "error object is not a string";
		script_fail(s, what, msg);
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}

int script_log_allowed(lua_State *L)
{
	struct sref *r = sref_of(L);
	int n = r->t ? ++r->t->logs : ++r->s->run_logs;
	if (n <= SCRIPT_LOGS_PER_CALL)
		return 1;
	if (n == SCRIPT_LOGS_PER_CALL + 1)
		log_script(LOG_WARN, r->s, "script_log",
		           "more than 100 log lines in one handler call: the rest are dropped");
	return 0;
}

/* ---------------------------------------------------------------- */
/* Waiting on operations                                              */
/* ---------------------------------------------------------------- */

struct op_wait *op_wait_new(struct task *t, int kind)
{
	struct op_wait *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->t = t;
	w->kind = kind;
	if (t)
		t->opw = w;
	host_pending_add(1);
	return w;
}

/* Takes the op's task for resuming (NULL when it went away). */
struct task *op_wait_take(struct op_wait *w)
{
	struct task *t = w->t;
	host_pending_add(-1);
	free(w);
	if (t)
		t->opw = NULL;
	return t;
}

/* The results of a finished operation: value(s), or nil and a message. */
int task_push_outcome(lua_State *co, struct task *t)
{
	if (t->rc != PARLEY_OK) {
		lua_pushnil(co);
		lua_pushstring(co, t->err ? t->err : chat_script_error_code(t->rc));
		return 2;
	}
	if (t->text)
		lua_pushstring(co, t->text);
	else
		lua_pushboolean(co, 1);
	return 1;
}

void task_set_outcome(struct task *t, int rc, const char *err, const char *text)
{
	t->rc = rc;
	t->err = err ? strdup(err) : NULL;
	t->text = text ? strdup(text) : NULL;
}

/* A completion may come before the starting call returns (a post that
 * before_message rejects at once): then the task is running, and only
 * records the outcome for bot_action to return directly. */
void task_complete(struct task *t)
{
	if (t->starting)
		t->done_early = 1;
	else
		task_resume(t);
}
