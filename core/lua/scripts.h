/* The Lua script host (docs/scripting.md): the scripts of the config's
 * `scripts` list, each in its own sandboxed lua_State, hooked into the
 * chat core's hooks and slash commands. Loop thread only. */
#ifndef PARLEY_SCRIPTS_H
#define PARLEY_SCRIPTS_H

#include <jansson.h>
#include <stddef.h>

#include <parley/plugin.h>

struct config;

/* Checks the scripts list's entries (types, values, unknown keys),
 * reporting each problem through conf_error. Called by config_load. */
void scripts_validate(const struct parley_conf *list, const char *base_dir);

/* Loads every script of cfg, after the chat layer started (bots are users).
 * A script that fails to load is reported and left out; the server runs.
 * cfg is kept (it must outlive the script host) for scripts_reload, which
 * re-reads cfg's file. Returns the number of scripts that failed to load. */
int scripts_start(const struct config *cfg);
/* Re-reads the scripts list from the config file of scripts_start's cfg
 * (or cfg itself when it has no file) and reloads every script: a new version replaces the old one
 * only once it loaded; a failing one keeps the old version and reports. Returns a JSON report
 * {"ok": bool, "errors": [...], "scripts": [...]}. */
json_t *scripts_reload(void);
/* GET /api/admin/scripts: {"scripts":[{name, file, status, ...}]} */
json_t *scripts_status(void);
void scripts_fini(void);

/* The host table's script_function. */
int scripts_add_function(const char *name, parley_script_fn fn, void *ud);

/* test-script ------------------------------------------------------- */
/* Async operations of scripts in flight (posts, kv, http). */
int scripts_pending(void);
typedef int (*scripts_http_stub)(const char *method, const char *url, long *status, char **body);
void scripts_set_http_stub(scripts_http_stub fn);
/* Pushes v (NULL: nil) as a Lua value and drops the caller's reference
 * (test-script's test.kv and test.status). */
struct lua_State;
void scripts_push_json(struct lua_State *L, json_t *v);
/* Loads one script from a spec table given as conf (the test's options). */
int scripts_load_one(const struct parley_conf *entry, const char *base_dir, char *err,
                     size_t errlen);

#endif
