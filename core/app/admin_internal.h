/* Shared by the admin commands' files (admin.c, admin_prune.c): start the
 * loop, workers, curl and the configured plugins in admin mode, and stop
 * them again. */
#ifndef PARLEY_ADMIN_INTERNAL_H
#define PARLEY_ADMIN_INTERNAL_H

struct config;

/* Levels of start-up reached, for admin_stop. */
enum { UP_NONE, UP_LOOP, UP_WORKERS, UP_CURL, UP_PLUGINS };

/* 0, or -1 after printing why ("parley: WHAT: ..."); *up says how far it
 * got either way. */
int admin_start(struct config *cfg, const char *what, int *up);
void admin_stop(int up);

#endif
