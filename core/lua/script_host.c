/* The script host: the list of running scripts (config order), loading and
 * reloading them, the C hooks and slash commands through which the chat
 * core reaches them, failure reporting (/metrics, the admin API), and the
 * functions plugins add to the parley table.
 *
 * Every entry into a script from C runs in protected mode (script_pcall),
 * so a memory error while building a handler's arguments is a failure of
 * that script, never a panic of the server. */
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "chat/chat_bot_post.h"
#include "chat/chat_script.h"
#include "host/hooks.h"
#include "lua/script_config.h"
#include "lua/script_internal.h"
#include "lua/scripts.h"

#define SCRIPT_HOOK_PRIORITY 0
#define SCRIPT_REASON_MAX    512

static struct {
	struct script *list;
	struct plugin_fn *fns;
	int pending;
	http_stub_fn stub;
	int hooked;
	char **commands; /* names registered with the chat core */
	size_t n_commands;
	const char *base_dir;
	const struct config *cfg; /* the running config (scripts_start), for reload */
} host;

static const char *const event_names[SEV__COUNT] = {
    "before_message", "message", "join",   "leave",    "presence",
    "user_created",   "edit",    "delete", "reaction", "upload"};

const char *event_name(int sev)
{
	return sev >= 0 && sev < SEV__COUNT ? event_names[sev] : "?";
}

int host_running(void)
{
	return host.list != NULL;
}

void host_pending_add(int delta)
{
	host.pending += delta;
}

int scripts_pending(void)
{
	return host.pending;
}

const struct plugin_fn *host_plugin_fns(void)
{
	return host.fns;
}

http_stub_fn host_http_stub(void)
{
	return host.stub;
}

void scripts_set_http_stub(scripts_http_stub fn)
{
	host.stub = fn;
}

int scripts_add_function(const char *name, parley_script_fn fn, void *ud)
{
	static const char *const reserved[] = {"on",     "command", "bot",    "send",   "react",
	                                       "timer",  "every",   "sleep",  "mute",   "kick",
	                                       "delete", "kv",      "log",    "users",  "rooms",
	                                       "http",   "json",    "config", "script", "bot_name"};
	size_t n = name ? strlen(name) : 0;
	if (!n || n > 32 || !fn)
		return PARLEY_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_'))
			return PARLEY_EINVAL;
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcmp(name, reserved[i]) == 0)
			return PARLEY_ECONFLICT;
	for (struct plugin_fn *p = host.fns; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return PARLEY_ECONFLICT;
	struct plugin_fn *p = calloc(1, sizeof *p);
	if (!p || !(p->name = strdup(name))) {
		free(p);
		return PARLEY_ENOMEM;
	}
	p->fn = fn;
	p->ud = ud;
	p->next = host.fns;
	host.fns = p;
	return PARLEY_OK;
}

static void log_script(int level, const char *name, const char *event, const char *msg)
{
	char ctx[SCRIPT_NAME_MAX * 2 + 16], esc[SCRIPT_NAME_MAX * 2];
	log_escape(esc, sizeof esc, name);
	snprintf(ctx, sizeof ctx, "\"script\":\"%s\"", esc);
	log_write(level, event, ctx, "%s", msg);
}

/* ---------------------------------------------------------------- */
/* Script lifetime                                                    */
/* ---------------------------------------------------------------- */

static void script_free(struct script *s)
{
	s->retired = 1;
	if (s->L) {
		api_timers_stop(s);
		while (s->tasks)
			task_drop(s->tasks);
		lua_close(s->L);
		s->L = NULL;
	}
	if (s->m_memory)
		metric_set(s->m_memory, 0);
	for (size_t i = 0; i < s->n_commands; i++) {
		free(s->commands[i]);
		free(s->command_help[i]);
		free(s->command_usage[i]);
	}
	free(s->command_help);
	free(s->command_usage);
	free(s->commands);
	for (size_t i = 0; i < s->n_bots; i++)
		free(s->bots[i]);
	free(s->bots);
	free(s->bot_name);
	script_spec_free(&s->spec);
	free(s);
}

static void bot_ready(void *ud, int rc, const char *message, const char *msg_id)
{
	char *name = ud;
	(void)msg_id;
	host_pending_add(-1);
	if (rc != PARLEY_OK) {
		char line[256];
		snprintf(line, sizeof line, "bot %s: %s", name, message ? message : "error");
		log_script(LOG_WARN, name, "script_bot", line);
	}
	free(name);
}

/* In protected mode (reads the registry): creates the script's bots. */
static int ensure_bots_in(lua_State *L)
{
	struct script *s = lua_touserdata(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "parley.bot_display");
	for (size_t i = 0; i < s->n_bots; i++) {
		lua_getfield(L, -1, s->bots[i]);
		struct chat_bot_req q = {.bot_name = s->bots[i],
		                         .display_name = lua_tostring(L, -1)};
		char *name = strdup(s->bots[i]);
		if (name) {
			host_pending_add(1);
			if (chat_bot_ensure(&q, bot_ready, name) != PARLEY_OK) {
				host_pending_add(-1);
				free(name);
			}
		}
		lua_pop(L, 1);
	}
	return 0;
}

static void ensure_bots(struct script *s)
{
	script_pcall(s, ensure_bots_in, s, "load");
}

static void script_metrics(struct script *s)
{
	char label[SCRIPT_NAME_MAX + 16];
	snprintf(label, sizeof label, "script=\"%s\"", s->spec.name);
	s->m_failures = metric_counter("parley_script_failures_total",
	                               "Errors in scripts' handlers, timers and callbacks", label);
	s->m_disabled = metric_gauge("parley_script_disabled",
	                             "1 when the script was switched off for failing", label);
	s->m_memory = metric_gauge("parley_script_memory_bytes", "Lua heap of each script", label);
	s->m_cpu = metric_counter("parley_script_cpu_seconds_total",
	                          "The loop's time spent running each script", label);
	s->m_cpu_exceeded = metric_counter("parley_script_cpu_exceeded_total",
	                                   "Scripts switched off for exceeding cpu_ms", label);
	if (s->m_disabled)
		metric_set(s->m_disabled, 0);
}

/* Loads a script from its spec (taken); NULL and err on failure. */
static struct script *script_load(struct script_spec *sp, char *err, size_t errlen)
{
	struct script *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		script_spec_free(sp);
		return NULL;
	}
	s->spec = *sp;
	memset(sp, 0, sizeof *sp);
	s->bot_name = strdup(s->spec.name);
	if (!s->bot_name || !(s->L = sandbox_new(s))) {
		snprintf(err, errlen, "out of memory (memory limit %zu bytes)", s->spec.lim.memory);
		script_free(s);
		return NULL;
	}
	if (sandbox_run_main(s, err, errlen) < 0) {
		script_free(s);
		return NULL;
	}
	s->loaded_ms = sclock_now_ms();
	return s;
}

/* ---------------------------------------------------------------- */
/* Commands                                                           */
/* ---------------------------------------------------------------- */

static struct script *command_owner(const char *name)
{
	for (struct script *s = host.list; s; s = s->next)
		for (size_t i = 0; i < s->n_commands; i++)
			if (strcmp(s->commands[i], name) == 0)
				return s;
	return NULL;
}

struct command_call {
	struct script *s;
	const parley_command_args *c;
};

static int run_command(lua_State *L)
{
	struct command_call *cc = lua_touserdata(L, 1);
	struct script *s = cc->s;
	lua_getfield(L, LUA_REGISTRYINDEX, "parley.commands");
	lua_getfield(L, -1, cc->c->name);
	lua_remove(L, -2);
	api_push_command(L, s, cc->c);
	task_start(s, 1, 0, chat_script_command_depth(cc->c), "command", NULL, NULL);
	return 0;
}

static void on_command(void *ud, const parley_command_args *c)
{
	(void)ud;
	struct script *s = command_owner(c->name);
	if (!s || s->disabled || !s->L) {
		log_info("script_command", NULL, "/%s: its script is switched off", c->name);
		return;
	}
	struct command_call cc = {s, c};
	script_pcall(s, run_command, &cc, "command");
}

static int registered(const char *name)
{
	for (size_t i = 0; i < host.n_commands; i++)
		if (strcmp(host.commands[i], name) == 0)
			return 1;
	return 0;
}

/* Brings the chat core's command table in line with the scripts'. A name
 * taken by a plugin, or by an earlier script, is reported on the later
 * script and left out of it. */
static void sync_commands(json_t *errors)
{
	for (size_t i = 0; i < host.n_commands;) {
		if (command_owner(host.commands[i])) {
			i++;
			continue;
		}
		chat_script_command_remove(host.commands[i]);
		free(host.commands[i]);
		host.commands[i] = host.commands[--host.n_commands];
	}
	for (struct script *s = host.list; s; s = s->next) {
		for (size_t i = 0; i < s->n_commands; i++) {
			const char *name = s->commands[i];
			struct script *owner = command_owner(name);
			char msg[256];
			if (owner != s) {
				snprintf(msg, sizeof msg, "/%s is already a command of script %s",
				         name, owner->spec.name);
			} else if (registered(name)) {
				continue;
			} else {
				int rc =
				    chat_script_command_add(name, s->command_help[i],
				                            s->command_usage[i], on_command, NULL);
				if (rc == PARLEY_OK) {
					char **grown = realloc(
					    host.commands, (host.n_commands + 1) * sizeof *grown);
					if (grown) {
						host.commands = grown;
						host.commands[host.n_commands++] = strdup(name);
					}
					continue;
				}
				snprintf(msg, sizeof msg, "/%s: %s", name,
				         rc == PARLEY_ECONFLICT ? "a plugin has that command"
				                                : "cannot register it");
			}
			snprintf(s->load_error, sizeof s->load_error, "%s", msg);
			log_script(LOG_WARN, s->spec.name, "script_command", msg);
			if (errors)
				json_array_append_new(
				    errors,
				    json_pack("{s:s, s:s}", "script", s->spec.name, "error", msg));
		}
	}
}

/* ---------------------------------------------------------------- */
/* Hooks                                                              */
/* ---------------------------------------------------------------- */

static int sev_of(int hook_event)
{
	switch (hook_event) {
	case PARLEY_HOOK_BEFORE_MESSAGE:
		return SEV_BEFORE_MESSAGE;
	case PARLEY_HOOK_MESSAGE:
		return SEV_MESSAGE;
	case PARLEY_HOOK_JOIN:
		return SEV_JOIN;
	case PARLEY_HOOK_LEAVE:
		return SEV_LEAVE;
	case PARLEY_HOOK_PRESENCE:
		return SEV_PRESENCE;
	case PARLEY_HOOK_USER_CREATED:
		return SEV_USER_CREATED;
	case PARLEY_HOOK_EDIT:
		return SEV_EDIT;
	case PARLEY_HOOK_DELETE:
		return SEV_DELETE;
	case PARLEY_HOOK_REACTION:
		return SEV_REACTION;
	case PARLEY_HOOK_UPLOAD:
		return SEV_UPLOAD;
	default:
		return -1;
	}
}

/* Whether s wants an event in this room from this user. */
static int wants(const struct script *s, int sev, const parley_hook_args *a)
{
	if (s->disabled || !s->L || !s->handlers[sev])
		return 0;
	if (a->user && a->user->name)
		for (size_t i = 0; i < s->n_bots; i++)
			if (strcmp(s->bots[i], a->user->name) == 0)
				return 0; /* not its own bots' doings */
	if (!s->spec.n_rooms)
		return 1;
	if (!a->room)
		return sev == SEV_PRESENCE || sev == SEV_USER_CREATED || sev == SEV_UPLOAD;
	for (size_t i = 0; i < s->spec.n_rooms; i++)
		if (chat_script_room_named(a->room, s->spec.rooms[i]))
			return 1;
	return 0;
}

struct event_call {
	struct script *s;
	int sev;
	parley_hook_args *a;
	int denied;
	char reason[SCRIPT_REASON_MAX];
	char *rewrite; /* malloc'ed */
};

static int run_event(lua_State *L)
{
	struct event_call *ec = lua_touserdata(L, 1);
	struct script *s = ec->s;
	lua_getfield(L, LUA_REGISTRYINDEX, "parley.handlers");
	lua_rawgeti(L, -1, ec->sev + 1);
	lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
	for (lua_Integer i = 1; i <= n && !s->disabled; i++) {
		lua_rawgeti(L, -1, i);
		api_push_event(L, s, ec->sev, ec->a);
		int upload = ec->sev == SEV_UPLOAD;
		if (ec->sev != SEV_BEFORE_MESSAGE && !upload) {
			task_start(s, 1, 0, ec->a->depth, event_name(ec->sev), NULL, NULL);
			continue;
		}
		if (ec->rewrite) { /* what an earlier handler made of it */
			lua_pushstring(L, ec->rewrite);
			lua_setfield(L, -2, upload ? "tags" : "text");
		}
		lua_State *co = NULL;
		int nres = 0;
		if (task_start(s, 1, 1, ec->a->depth, event_name(ec->sev), &co, &nres) < 0 || !co)
			continue; /* failed: counted; the message or file passes this handler */
		if (nres >= 1 && lua_isboolean(co, -nres) && !lua_toboolean(co, -nres)) {
			const char *why = nres >= 2 && lua_type(co, -nres + 1) == LUA_TSTRING
			                      ? lua_tostring(co, -nres + 1)
			                      : NULL;
			snprintf(ec->reason, sizeof ec->reason, "%s",
			         why      ? why
			         : upload ? "refused by a script"
			                  : "rejected by a moderation script");
			ec->denied = 1;
		} else if (nres >= 1 && lua_type(co, -nres) == LUA_TSTRING) {
			char *text = strdup(lua_tostring(co, -nres));
			if (text) {
				free(ec->rewrite);
				ec->rewrite = text;
			}
		}
		task_end_sync(s, co);
		if (ec->denied)
			break;
	}
	return 0;
}

static int on_hook(void *ud, parley_hook_args *a)
{
	int sev = (int)(intptr_t)ud;
	int rc = PARLEY_OK;
	for (struct script *s = host.list; s; s = s->next) {
		if (!wants(s, sev, a))
			continue;
		struct event_call ec = {.s = s, .sev = sev, .a = a};
		script_pcall(s, run_event, &ec, event_name(sev));
		if (s->L && s->m_memory)
			metric_set(s->m_memory, (double)s->heap.used);
		if (ec.denied) {
			free(ec.rewrite);
			hooks_deny(a, ec.reason);
			return PARLEY_DENY;
		}
		if (ec.rewrite) {
			hooks_rewrite(a, ec.rewrite);
			free(ec.rewrite);
			rc = PARLEY_REWRITE;
		}
	}
	return rc;
}

static void hook_all(void)
{
	if (host.hooked)
		return;
	static const int events[] = {PARLEY_HOOK_BEFORE_MESSAGE, PARLEY_HOOK_MESSAGE,
	                             PARLEY_HOOK_JOIN,           PARLEY_HOOK_LEAVE,
	                             PARLEY_HOOK_PRESENCE,       PARLEY_HOOK_USER_CREATED,
	                             PARLEY_HOOK_EDIT,           PARLEY_HOOK_DELETE,
	                             PARLEY_HOOK_REACTION,       PARLEY_HOOK_UPLOAD};
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
		hooks_add(events[i], SCRIPT_HOOK_PRIORITY, on_hook,
		          (void *)(intptr_t)sev_of(events[i]), "scripts");
	chat_script_set_clock(sclock_now_ms);
	host.hooked = 1;
}

/* ---------------------------------------------------------------- */
/* Start, reload, status                                              */
/* ---------------------------------------------------------------- */

static struct script *find(struct script *list, const char *name)
{
	for (struct script *s = list; s; s = s->next)
		if (strcmp(s->spec.name, name) == 0)
			return s;
	return NULL;
}

static void append(struct script **list, struct script *s)
{
	struct script **pp = list;
	while (*pp)
		pp = &(*pp)->next;
	s->next = NULL;
	*pp = s;
}

static void add_error(json_t *errors, const char *name, const char *msg)
{
	log_script(LOG_ERROR, name, "script_load", msg);
	if (errors)
		json_array_append_new(errors,
		                      json_pack("{s:s, s:s}", "script", name, "error", msg));
}

/* Loads every entry of list; the old scripts are kept where a new version
 * fails and retired otherwise. */
static void load_list(const conf_node *list, const char *base_dir, json_t *errors)
{
	struct script *old = host.list, *fresh = NULL;
	host.list = NULL;
	for (size_t i = 0; list && i < list->n_list; i++) {
		struct script_spec sp;
		char err[SCRIPT_ERR_MAX];
		if (script_spec_parse(list->items[i], base_dir, &sp) < 0) {
			add_error(errors, "?", "invalid entry in the scripts list (see the log)");
			continue;
		}
		char name[SCRIPT_NAME_MAX];
		snprintf(name, sizeof name, "%s", sp.name);
		if (find(fresh, name)) {
			add_error(errors, name, "listed twice");
			script_spec_free(&sp);
			continue;
		}
		struct script *s = script_load(&sp, err, sizeof err);
		struct script *prev = find(old, name);
		if (!s) {
			add_error(errors, name, err);
			if (prev) {
				/* keep the running version */
				snprintf(prev->load_error, sizeof prev->load_error, "%s", err);
				struct script **pp = &old;
				while (*pp != prev)
					pp = &(*pp)->next;
				*pp = prev->next;
				append(&fresh, prev);
			}
			continue;
		}
		if (prev) {
			struct script **pp = &old;
			while (*pp != prev)
				pp = &(*pp)->next;
			*pp = prev->next;
			script_free(prev);
		}
		script_metrics(s);
		append(&fresh, s);
		log_script(LOG_INFO, name, "script_loaded", prev ? "reloaded" : "loaded");
	}
	while (old) {
		struct script *next = old->next;
		log_script(LOG_INFO, old->spec.name, "script_unloaded", "no longer in the config");
		script_free(old);
		old = next;
	}
	host.list = fresh;
	sync_commands(errors);
	for (struct script *s = host.list; s; s = s->next)
		if (s->loaded_ms && !s->disabled && s->L)
			ensure_bots(s);
}

int scripts_start(const struct config *cfg)
{
	hook_all();
	host.cfg = cfg;
	json_t *errors = json_array();
	load_list(cfg->scripts, cfg->base_dir, errors);
	int n = (int)json_array_size(errors);
	json_decref(errors);
	return n;
}

int scripts_load_one(const struct parley_conf *entry, const char *base_dir, char *err,
                     size_t errlen)
{
	hook_all();
	struct script_spec sp;
	if (script_spec_parse(entry, base_dir, &sp) < 0) {
		snprintf(err, errlen, "invalid script entry");
		return -1;
	}
	struct script *prev = find(host.list, sp.name);
	struct script *s = script_load(&sp, err, errlen);
	if (!s)
		return -1;
	if (prev) {
		struct script **pp = &host.list;
		while (*pp != prev)
			pp = &(*pp)->next;
		*pp = prev->next;
		script_free(prev);
	}
	script_metrics(s);
	append(&host.list, s);
	json_t *errors = json_array();
	sync_commands(errors);
	if (json_array_size(errors)) {
		snprintf(err, errlen, "%s",
		         json_string_value(json_object_get(json_array_get(errors, 0), "error")));
		json_decref(errors);
		return -1;
	}
	json_decref(errors);
	ensure_bots(s);
	return 0;
}

json_t *scripts_reload(void)
{
	json_t *errors = json_array();
	const struct config *running = host.cfg;
	if (running && running->file) {
		struct config fresh;
		struct config_overrides ov = {.check_only = 1};
		memset(&fresh, 0, sizeof fresh);
		if (config_load(&fresh, running->file, &ov) == 0) {
			load_list(fresh.scripts, fresh.base_dir, errors);
		} else {
			add_error(
			    errors, "config",
			    "the config file has errors (see the log): scripts kept as they are");
		}
		config_free(&fresh);
	} else if (running) {
		load_list(running->scripts, running->base_dir, errors);
	}
	json_t *status = scripts_status();
	json_object_set_new(status, "ok", json_boolean(json_array_size(errors) == 0));
	json_object_set_new(status, "errors", errors);
	return status;
}

json_t *scripts_status(void)
{
	json_t *arr = json_array();
	for (struct script *s = host.list; s; s = s->next) {
		json_t *cmds = json_array();
		for (size_t i = 0; i < s->n_commands; i++)
			json_array_append_new(cmds, json_string(s->commands[i]));
		const struct script_limits *lim = &s->spec.lim;
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "name", s->spec.name,
		              "file", s->spec.file, "status", s->disabled ? "disabled" : "running",
		              "failures", (json_int_t)s->failures_total, "memory_bytes",
		              (json_int_t)s->heap.used, "memory_limit", (json_int_t)lim->memory,
		              "loaded_ts", (json_int_t)s->loaded_ms, "commands", cmds);
		json_t *budget = json_pack(
		    "{s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I}", "cpu_ms_used", cpu_used_ms(s),
		    "cpu_ms", lim->cpu_ms, "cpu_window", lim->cpu_window, "cpu_seconds_total",
		    s->cpu_total, "timers", (json_int_t)s->n_timers, "max_timers",
		    (json_int_t)lim->max_timers, "kv_max_keys", (json_int_t)lim->kv_max_keys,
		    "kv_max_bytes", (json_int_t)lim->kv_max_bytes);
		if (o && budget)
			json_object_update(o, budget);
		json_decref(budget);
		if (!o)
			continue;
		if (s->disabled)
			json_object_set_new(o, "disabled_reason", json_string(s->disabled_reason));
		if (*s->last_error)
			json_object_set_new(o, "last_error", json_string(s->last_error));
		if (*s->load_error)
			json_object_set_new(o, "load_error", json_string(s->load_error));
		json_array_append_new(arr, o);
	}
	return json_pack("{s:o}", "scripts", arr);
}

void scripts_fini(void)
{
	while (host.list) {
		struct script *next = host.list->next;
		script_free(host.list);
		host.list = next;
	}
	for (size_t i = 0; i < host.n_commands; i++)
		free(host.commands[i]);
	free(host.commands);
	host.commands = NULL;
	host.n_commands = 0;
	while (host.fns) {
		struct plugin_fn *next = host.fns->next;
		free(host.fns->name);
		free(host.fns);
		host.fns = next;
	}
	host.hooked = 0;
	host.pending = 0;
	host.stub = NULL;
	host.cfg = NULL;
	chat_script_set_clock(NULL);
	chat_script_mutes_clear();
}
