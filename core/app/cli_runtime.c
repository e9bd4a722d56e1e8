/* The CLI commands' start and teardown (see cli_runtime.h). */
#include "app/cli_runtime.h"

#include "base/config.h"
#include "base/curl_loop.h"
#include "base/loop.h"
#include "base/workers.h"
#include "host/plugin_host.h"

int cli_runtime_start(struct cli_runtime *rt, const struct config *cfg,
                      const struct plugin_core_ops *ops, int n_workers,
                      enum cli_runtime_plugins init)
{
	rt->up = CLI_UP_NONE;
	if (loop_init() < 0)
		return CLI_RUNTIME_ELOOP;
	rt->up = CLI_UP_LOOP;
	if (workers_start(n_workers) < 0)
		return CLI_RUNTIME_ELOOP;
	rt->up = CLI_UP_WORKERS;
	if (curl_loop_init() < 0)
		return CLI_RUNTIME_ELOOP;
	rt->up = CLI_UP_CURL;
	plugins_set_core_ops(ops);
	if (plugins_load(cfg, 1) < 0)
		return CLI_RUNTIME_EPLUGINS;
	rt->up = CLI_UP_PLUGINS;
	if ((init == CLI_PLUGINS_ALONE ? plugins_init_alone() : plugins_init()) < 0)
		return CLI_RUNTIME_EPLUGINS;
	return 0;
}

void cli_runtime_stop(struct cli_runtime *rt)
{
	if (rt->up >= CLI_UP_PLUGINS)
		plugins_fini();
	if (rt->up >= CLI_UP_CURL)
		curl_loop_fini();
	if (rt->up >= CLI_UP_WORKERS)
		workers_stop();
	if (rt->up >= CLI_UP_LOOP)
		loop_fini();
	rt->up = CLI_UP_NONE;
}

void cli_runtime_wait(const int *pending)
{
	ev_ref(loop_ev);
	while (*pending)
		ev_run(loop_ev, EVRUN_ONCE);
	ev_unref(loop_ev);
}
