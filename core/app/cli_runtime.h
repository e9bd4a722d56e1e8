/* What a CLI command starts to run the configured plugins outside the
 * server (admin commands, import, export, backup, store copy): the loop,
 * the worker pool, the curl multi and the plugins in admin mode (no
 * listener), and their teardown in the one safe order. */
#ifndef PARLEY_CLI_RUNTIME_H
#define PARLEY_CLI_RUNTIME_H

struct config;
struct plugin_core_ops;

/* How far cli_runtime_start got: cli_runtime_stop undoes exactly that. A
 * zeroed struct has started nothing. */
struct cli_runtime {
	enum { CLI_UP_NONE, CLI_UP_LOOP, CLI_UP_WORKERS, CLI_UP_CURL, CLI_UP_PLUGINS } up;
};

/* What cli_runtime_start failed at, so each command keeps its own words. */
enum {
	CLI_RUNTIME_ELOOP = -1,    /* the loop, the workers or the curl multi */
	CLI_RUNTIME_EPLUGINS = -2, /* loading or initialising the plugins */
};

/* Which init the plugins get. */
enum cli_runtime_plugins {
	CLI_PLUGINS_ALL,   /* plugins_init: a store and an auth provider */
	CLI_PLUGINS_ALONE, /* plugins_init_alone: no store demanded */
};

/* Starts everything with n_workers workers; ops (NULL: none) bridges the
 * plugins' calls into the core. 0, or CLI_RUNTIME_E* (nothing printed:
 * the caller says why); rt says how far it got either way. */
int cli_runtime_start(struct cli_runtime *rt, const struct config *cfg,
                      const struct plugin_core_ops *ops, int n_workers,
                      enum cli_runtime_plugins init);

/* Stops what rt started: plugins_fini first (it drains the store, so every
 * accepted write is durable), then curl, the workers and the loop. */
void cli_runtime_stop(struct cli_runtime *rt);

/* Turns the loop until *pending is 0 (a completion clears it). The loop's
 * post watcher does not keep it alive by itself: a reference is held
 * meanwhile. */
void cli_runtime_wait(const int *pending);

#endif
