/* parley.kv: the script's key-value space in the store (kv_* of the
 * store vtable, owner = the script's name), values as JSON text. Every call
 * waits for the store, so only where a handler may wait. Writes go through
 * kv_put_capped, which holds the space to kv_max_keys and kv_max_bytes. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/plugin_host.h"
#include "chat/chat_script.h"
#include "lua/script_internal.h"

static const parley_store_vtable *kv_store(lua_State *L, void **self)
{
	const parley_store_vtable *st = plugins_store(self);
	if (!PARLEY_HAS(parley_store_vtable, st, kv_incr) || !st->kv_get)
		luaL_error(L, "kv: the store provider has no key-value space");
	return st;
}

static const char *kv_key(lua_State *L)
{
	size_t n;
	const char *key = luaL_checklstring(L, 1, &n);
	if (!n || n > SCRIPT_KV_KEY_MAX || strlen(key) != n)
		luaL_argerror(L, 1, "keys are 1-256 bytes of text");
	return key;
}

static int push_kv(lua_State *co, struct task *t)
{
	if (t->rc == PARLEY_ENOTFOUND && t->value == OPK_KV_GET) {
		lua_pushnil(co);
		return 1;
	}
	if (t->rc != PARLEY_OK)
		return task_push_outcome(co, t);
	if (t->value == OPK_KV_GET) {
		json_push_owned(co, t->text ? json_loads(t->text, JSON_DECODE_ANY, NULL) : NULL);
		return 1;
	}
	if (t->value == OPK_KV_VALUE) {
		lua_pushinteger(co, (lua_Integer)atoll(t->text ? t->text : "0"));
		return 1;
	}
	lua_pushboolean(co, 1);
	return 1;
}

static void kv_done(void *ud, const parley_store_result *res)
{
	struct op_wait *w = ud;
	int kind = w->kind;
	struct task *t = op_wait_take(w);
	if (!t)
		return;
	char num[32];
	const char *text = NULL;
	if (kind == OPK_KV_GET)
		text = res->text;
	else if (kind == OPK_KV_VALUE) {
		snprintf(num, sizeof num, "%lld", (long long)res->value);
		text = num;
	}
	task_set_outcome(t, res->rc,
	                 res->rc != PARLEY_OK
	                     ? (res->error ? res->error : chat_script_error_code(res->rc))
	                     : NULL,
	                 res->rc == PARLEY_OK ? text : NULL);
	t->value = kind;
	task_complete(t);
}

/* What one kv call does; arguments are checked (and may raise) before
 * anything is started. */
struct kv_args {
	int kind;
	const char *key;
	char *value; /* set: the JSON text (malloc'ed); NULL: delete */
	int64_t delta;
	const struct script_limits *lim; /* the writing script's */
	int (*go)(const parley_store_vtable *st, void *self, const char *owner,
	          const struct kv_args *a, struct op_wait *w);
};

static int kv_call(lua_State *L, struct kv_args *a)
{
	struct script *s = sref_of(L)->s;
	struct task *t = task_require_async(L, "parley.kv");
	void *self;
	const parley_store_vtable *st = kv_store(L, &self);
	struct op_wait *w = op_wait_new(t, a->kind);
	if (!w) {
		free(a->value);
		return luaL_error(L, "out of memory");
	}
	t->starting = 1;
	t->done_early = 0;
	a->lim = &s->spec.lim;
	int rc = a->go(st, self, s->spec.name, a, w);
	free(a->value);
	t->starting = 0;
	if (t->done_early) { /* not by the store's contract; cheap to be safe */
		t->done_early = 0;
		int n = push_kv(L, t);
		free(t->text);
		free(t->err);
		t->text = t->err = NULL;
		return n;
	}
	if (rc != PARLEY_PENDING) {
		t->opw = NULL;
		host_pending_add(-1);
		free(w);
		lua_pushnil(L);
		lua_pushstring(L, chat_script_error_code(rc < 0 ? rc : PARLEY_ERR));
		return 2;
	}
	return task_wait(L, WAIT_OP, push_kv);
}

static int go_get(const parley_store_vtable *st, void *self, const char *owner,
                  const struct kv_args *a, struct op_wait *w)
{
	return st->kv_get(self, owner, a->key, kv_done, w);
}

static int go_put(const parley_store_vtable *st, void *self, const char *owner,
                  const struct kv_args *a, struct op_wait *w)
{
	if (st->struct_size <
	        offsetof(parley_store_vtable, kv_put_capped) + sizeof st->kv_put_capped ||
	    !st->kv_put_capped)
		return PARLEY_EUNAVAIL; /* cannot hold the space to its limits */
	return st->kv_put_capped(self, owner, a->key, a->value, a->delta, a->lim->kv_max_keys,
	                         a->lim->kv_max_bytes, kv_done, w);
}

static int go_set(const parley_store_vtable *st, void *self, const char *owner,
                  const struct kv_args *a, struct op_wait *w)
{
	if (!a->value)
		return st->kv_delete(self, owner, a->key, kv_done, w);
	return go_put(st, self, owner, a, w);
}

static int go_delete(const parley_store_vtable *st, void *self, const char *owner,
                     const struct kv_args *a, struct op_wait *w)
{
	return st->kv_delete(self, owner, a->key, kv_done, w);
}

static int go_incr(const parley_store_vtable *st, void *self, const char *owner,
                   const struct kv_args *a, struct op_wait *w)
{
	return go_put(st, self, owner, a, w);
}

static int l_kv_get(lua_State *L)
{
	struct kv_args a = {.kind = OPK_KV_GET, .key = kv_key(L), .go = go_get};
	return kv_call(L, &a);
}

static int l_kv_set(lua_State *L)
{
	struct kv_args a = {.kind = OPK_KV_DONE, .key = kv_key(L), .go = go_set};
	void *self;
	task_require_async(L, "parley.kv");
	kv_store(L, &self); /* raise before a.value is ours */
	if (!lua_isnoneornil(L, 2)) {
		const char *err = NULL;
		json_t *v = json_from_lua(L, 2, &err);
		a.value = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
		json_decref(v);
		if (!a.value)
			return luaL_error(L, "kv.set: %s",
			                  err ? err : "the value cannot be stored");
		if (strlen(a.value) > SCRIPT_KV_VALUE_MAX) {
			free(a.value);
			return luaL_error(L, "kv.set: the value is larger than %d bytes as JSON",
			                  SCRIPT_KV_VALUE_MAX);
		}
	}
	return kv_call(L, &a);
}

static int l_kv_delete(lua_State *L)
{
	struct kv_args a = {.kind = OPK_KV_DONE, .key = kv_key(L), .go = go_delete};
	return kv_call(L, &a);
}

static int l_kv_incr(lua_State *L)
{
	struct kv_args a = {.kind = OPK_KV_VALUE, .key = kv_key(L), .go = go_incr};
	a.delta = (int64_t)luaL_optinteger(L, 2, 1);
	return kv_call(L, &a);
}

void kv_open(lua_State *L)
{
	static const luaL_Reg kv[] = {{"get", l_kv_get},
	                              {"set", l_kv_set},
	                              {"delete", l_kv_delete},
	                              {"incr", l_kv_incr},
	                              {NULL, NULL}};
	lua_newtable(L);
	luaL_setfuncs(L, kv, 0);
	lua_setfield(L, -2, "kv");
}
