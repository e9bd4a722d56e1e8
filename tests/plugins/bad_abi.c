/* Test plugin: claims an ABI the server does not speak, so the loader must
 * refuse it with a message naming both numbers. */
#include <parley/plugin.h>

/* Far from any ABI the server could speak. */
#define BAD_ABI_OFFSET 98

static int bad_init(const parley_host *host, parley_ctx *ctx, void **state)
{
	(void)host;
	(void)ctx;
	*state = NULL;
	return PARLEY_OK;
}

static const parley_plugin bad_abi = {
    .abi = PARLEY_PLUGIN_ABI + BAD_ABI_OFFSET,
    .name = "bad_abi",
    .version = "0.0.1",
    .init = bad_init,
};

/* PARLEY_PLUGIN_DEFINE declares no prototype (-Wmissing-prototypes). */
PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(bad_abi)
