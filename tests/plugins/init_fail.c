/* Test plugin: passes check, then fails init after logging why, so the
 * host must report it and stop the plugins already started. */
#include <parley/plugin.h>

static int init(const parley_host *host, parley_ctx *ctx, void **state)
{
	*state = NULL;
	host->log(ctx, PARLEY_LOG_ERROR, "init_fail", "this plugin always fails its init");
	return PARLEY_ERR;
}

static void fini(void *state)
{
	(void)state;
}

static const parley_plugin init_fail = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "init_fail",
    .version = "0.0.1",
    .init = init,
    .fini = fini,
};

/* PARLEY_PLUGIN_DEFINE declares no prototype (-Wmissing-prototypes). */
PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(init_fail)
