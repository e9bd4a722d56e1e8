/* The parley_host table (host_api.c) and the little the loader
 * (plugin_host.c) and the table need from each other. Core modules use
 * plugin_host.h; only those two files include this one. */
#ifndef PARLEY_HOST_API_H
#define PARLEY_HOST_API_H

#include "host/plugin_host.h"

struct config;

/* host_api.c --------------------------------------------------------- */

/* The table, every member filled. Valid for the life of the process. */
const parley_host *host_api_table(void);
/* Remembers the config (borrowed until plugins_fini) and the mode. */
void host_api_configure(const struct config *cfg, int admin_command);
/* Registers the per-plugin metrics (memory gauge) for a new ctx. */
void host_api_ctx_open(parley_ctx *ctx);
/* Stops and frees the timers and fd watchers a plugin left running;
 * called after its fini, before dlclose. */
void host_api_ctx_release(parley_ctx *ctx);

/* Forgets commands still waiting for the chat layer (plugins_fini). */
void host_api_reset(void);

/* plugin_host.c ------------------------------------------------------ */

/* host->provide: registers a provider; reports and refuses a second store,
 * uploads or cluster provider. */
int plugins_provide(parley_ctx *ctx, int kind, const void *vtable, void *self);
/* 1 once every plugin's init ran (host->store answers from then on). */
int plugins_started(void);

#endif
