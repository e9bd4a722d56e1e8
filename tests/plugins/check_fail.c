/* Test plugin: its check always fails, reporting on its `why` key, so the
 * loader must print the plugin's own file:line message and refuse it. */
#include <parley/plugin.h>

static int check(const parley_host *host, parley_ctx *ctx)
{
	const parley_conf *c = host->conf(ctx);
	const char *why = NULL;
	host->conf_str(c, "why", &why);
	host->conf_error(c, "why", "this plugin always fails its check");
	return PARLEY_EINVAL;
}

static int init(const parley_host *host, parley_ctx *ctx, void **state)
{
	(void)host;
	(void)ctx;
	*state = NULL;
	return PARLEY_OK;
}

static const parley_plugin check_fail = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "check_fail",
    .version = "0.0.1",
    .check = check,
    .init = init,
};

/* PARLEY_PLUGIN_DEFINE declares no prototype (-Wmissing-prototypes). */
PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(check_fail)
