/* Hook registry: any number of functions per event, ordered by priority
 * (lower first), ties in registration (config) order. C hooks come before
 * Lua handlers of the same priority. */
#ifndef PARLEY_HOOKS_H
#define PARLEY_HOOKS_H

#include <parley/plugin.h>

int hooks_add(int event, int priority, parley_hook_fn fn, void *ud, const char *owner);
void hooks_clear(void);
/* Runs the chain for args->event. before_message: stops at the first
 * PARLEY_DENY (reason in *deny_reason, static until the next run); a
 * PARLEY_REWRITE replaces args->message->text for the rest of the chain and
 * *rewritten points at the new text (owned by hooks.c until the next run).
 * Other events: every hook runs; return PARLEY_OK. */
int hooks_run(parley_hook_args *args, const char **deny_reason, const char **rewritten);
int hooks_count(int event);

/* host-table helpers */
void hooks_deny(parley_hook_args *args, const char *reason);
void hooks_rewrite(parley_hook_args *args, const char *text);

#endif
