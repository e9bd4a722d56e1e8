/* Each command a person types runs once per client_id: a resend after a
 * reconnect is acked, not run again. This node remembers the commands it
 * ran (script commands and built-ins alike, one table); with a cluster,
 * the store's counter "command:<user>:<client_id>" tells whether any node
 * ran it. */
#ifndef PARLEY_CHAT_COMMAND_DEDUP_H
#define PARLEY_CHAT_COMMAND_DEDUP_H

#include <parley/plugin.h>

/* 1 when this node ran user_id's command client_id lately. */
int command_dedup_seen(const char *user_id, const char *client_id);
/* Remembers that it ran (or that another node did). */
void command_dedup_ran(const char *user_id, const char *client_id);
/* With a cluster bus and a store with counter_add: counts client_id in the
 * store and returns 1; done gets the count (value > 1: some node ran it).
 * 0 when nothing was asked (one node, no client_id, or the store cannot):
 * this node's memory decides. */
int command_dedup_ask(const char *user_id, const char *client_id, parley_store_done done, void *ud);
void command_dedup_fini(void);

#endif
