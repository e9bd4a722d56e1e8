/* Commands run once per client_id (command_dedup.h). */
#include "chat/command_dedup.h"

#include <stdio.h>

#include "base/loop.h"
#include "chat/chat_internal.h"
#include "chat/cluster_bus.h"
#include "chat/send_rules.h"

static struct recent_commands recent;

int command_dedup_seen(const char *user_id, const char *client_id)
{
	return recent_commands_seen(&recent, user_id, client_id);
}

void command_dedup_ran(const char *user_id, const char *client_id)
{
	recent_commands_add(&recent, user_id, client_id);
}

int command_dedup_ask(const char *user_id, const char *client_id, parley_store_done done, void *ud)
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	char name[PROTO_MAX_CLIENT_ID + 200];
	if (!client_id || !cluster_bus_active() ||
	    !PARLEY_HAS(parley_store_vtable, st, counter_add))
		return 0;
	int n = snprintf(name, sizeof name, "command:%s:%s", user_id, client_id);
	if (n < 0 || (size_t)n >= sizeof name)
		return 0;
	return st->counter_add(self, name, 1, CHAT_COMMAND_DEDUP_MS, loop_now_ms(), done, ud) ==
	       PARLEY_PENDING;
}

void command_dedup_fini(void)
{
	recent_commands_clear(&recent);
}
