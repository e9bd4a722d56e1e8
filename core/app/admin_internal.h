/* Shared by the commands that work through the auth provider and the
 * store (admin.c, admin_prune.c, import*.c, store_copy.c): cli_runtime's
 * start and stop with the admin bridge (user_created joins `general`). */
#ifndef PARLEY_ADMIN_INTERNAL_H
#define PARLEY_ADMIN_INTERNAL_H

#include "app/cli_runtime.h"

struct config;

/* 0, or -1 after printing why ("parley: WHAT: ..."); rt says how far it
 * got either way (start it zeroed). */
int admin_start(struct config *cfg, const char *what, struct cli_runtime *rt);
void admin_stop(struct cli_runtime *rt);

#endif
