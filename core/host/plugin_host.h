/* The plugin loader and the host side of include/parley/plugin.h: dlopen,
 * ABI check, check() then init() in config order, fini() in reverse; the
 * parley_host table; the provider registry. */
#ifndef PARLEY_PLUGIN_HOST_H
#define PARLEY_PLUGIN_HOST_H

#include <parley/plugin.h>

struct config;

struct parley_ctx {
	const parley_plugin *plugin;
	void *dl;    /* dlopen handle */
	void *state; /* from init */
	const struct plugin_spec *spec;
	char *name;
	int index;                      /* position in the plugins list */
	char log_ctx[96];               /* "\"plugin\":\"name\"" */
	long long bytes;                /* accounted allocation (atomic: workers allocate too) */
	char *path;                     /* the .so loaded */
	struct parley_conf *empty_conf; /* the section when the config gave none */
	struct metric *mem_gauge;       /* parley_plugin_memory_bytes{plugin=NAME} */
	struct parley_timer *timers;    /* live timers, stopped at fini */
	struct parley_watch *watches;   /* live fd watchers, stopped at fini */
	unsigned provides; /* 1 << PARLEY_PROVIDE_x it provides, for the start-up log */
	int n_hooks;       /* hooks it added, for the start-up log */
};

struct provider {
	parley_ctx *ctx;
	const void *vtable;
	void *self;
};

/* Loads and checks every plugin of the config; 0, or -1 after reporting
 * (plugin name, both ABI numbers, the plugin's own message with file:line). */
int plugins_load(const struct config *cfg, int admin_command);
/* Calls init in order. 0 or -1. */
int plugins_init(void);
/* Shutdown, loop stopped: waits (bounded) until the store has no call in
 * flight (calls_pending, when the store has it) and the worker pool no
 * job, running their completions as they come. */
void plugins_drain(void);
/* plugins_init without demanding a store and an auth provider: a CLI run
 * that loads one plugin alone (restore from S3 loads the uploads provider
 * and no store, which would open the data dir being restored). */
int plugins_init_alone(void);
/* Drains (plugins_drain), calls fini in reverse order, drains posted
 * completions, stops the worker pool (plugin code may run there), then
 * dlcloses. */
void plugins_fini(void);
/* SIGHUP: every plugin's reload. */
void plugins_reload(void);
/* /readyz: 1 when all ready; otherwise writes "name: why; ..." into buf. */
int plugins_ready(char *buf, size_t len);

/* The single store, or NULL. */
const parley_store_vtable *plugins_store(void **self);
/* The store when it keeps upload records (the appended upload members),
 * else NULL. */
const parley_store_vtable *plugins_uploads_store(void **self);
/* The uploads provider, when there is one and a store that keeps upload
 * records; else NULL. */
const parley_uploads_vtable *plugins_uploads(void **self);
/* 1 when some plugin provides `kind` (enum parley_provider_kind). */
int plugins_has_provider(int kind);
/* The provider of a single kind (store, uploads, cluster), or NULL. */
const struct provider *plugins_provider(int kind);
/* The notify providers, in config order. */
size_t plugins_notify(const struct provider **out);
/* The auth chain, in config order. */
size_t plugins_auth(const struct provider **out);
/* The table handed to plugins. */
const parley_host *plugins_host(void);

/* Hooks bridged from the core: set by chat.c so that send_message,
 * command_reply and user_created reach the chat layer. */
struct plugin_core_ops {
	int (*send_message)(const char *room_id, const char *bot_name, const char *text, int depth);
	int (*command)(const char *name, const char *help, parley_command_fn fn, void *ud,
	               parley_ctx *owner);
	int (*command_reply)(const parley_command_args *cmd, const char *bot_name,
	                     const char *text);
	void (*user_created)(const parley_user *user);
	void (*user_revoked)(const char *user_id);
	int (*user_online)(const char *user_id);
};
void plugins_set_core_ops(const struct plugin_core_ops *ops);

/* Host-table members served by layers above the host (the API's signed
 * links, the script host's functions): set by the app at start. */
struct plugin_app_ops {
	int (*unsubscribe_link)(const char *base, const char *user_id, char *out, size_t n);
	int (*script_function)(const char *name, parley_script_fn fn, void *ud);
};
void plugins_set_app_ops(const struct plugin_app_ops *ops);

#endif
