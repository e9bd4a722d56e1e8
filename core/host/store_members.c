#include "host/store_members.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "host/plugin_host.h"

#define STORE_MEMBERS_LEN 1024

/* Every optional member by name. PARLEY_HAS needs the member's name at
 * compile time, hence one row per member. */
#define OPTIONAL(m)                                                                                \
	{                                                                                          \
#m, offsetof(parley_store_vtable, m), sizeof(((parley_store_vtable *)0)->m)        \
	}
static const struct {
	const char *name;
	size_t offset, size;
} optional[] = {
    OPTIONAL(kv_put_capped),
    OPTIONAL(token_peek),
    OPTIONAL(snapshot),
    OPTIONAL(prune),
    OPTIONAL(lease),
    OPTIONAL(room_retention_set),
    OPTIONAL(room_retention_get),
    OPTIONAL(edits_list),
    OPTIONAL(pin_set),
    OPTIONAL(pins_list),
    OPTIONAL(notify_set),
    OPTIONAL(notify_list),
    OPTIONAL(records_read),
    OPTIONAL(records_write),
    OPTIONAL(search),
    OPTIONAL(thread_append),
    OPTIONAL(thread_history),
    OPTIONAL(thread_follow),
    OPTIONAL(thread_read),
    OPTIONAL(threads_list),
    OPTIONAL(uploads_expire),
    OPTIONAL(room_rename),
    OPTIONAL(room_settings_set),
    OPTIONAL(room_settings_list),
    OPTIONAL(room_delete),
    OPTIONAL(kv_add),
    OPTIONAL(counter_add),
    OPTIONAL(calls_pending),
    OPTIONAL(mentions_unread),
};

/* PARLEY_HAS by offset: within struct_size and not NULL. */
static int has(const parley_store_vtable *st, size_t offset, size_t size)
{
	if (st->struct_size < offset + size)
		return 0;
	void *fn;
	memcpy(&fn, (const char *)st + offset, sizeof fn);
	return fn != NULL;
}

void store_members_missing(char *out, size_t n)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	size_t used = 0;
	if (n)
		out[0] = '\0';
	for (size_t i = 0; st && i < sizeof optional / sizeof optional[0]; i++) {
		if (has(st, optional[i].offset, optional[i].size))
			continue;
		int w = snprintf(out + used, n - used, "%s%s", used ? "," : "", optional[i].name);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}

void store_members_log(void)
{
	void *self;
	if (!plugins_store(&self))
		return;
	char missing[STORE_MEMBERS_LEN], ctx[STORE_MEMBERS_LEN * 2 + 32];
	store_members_missing(missing, sizeof missing);
	/* Names are C identifiers: no escaping needed; "a,b" -> ["a","b"]. */
	size_t used = (size_t)snprintf(ctx, sizeof ctx, "\"missing\":[");
	const char *p = missing;
	while (*p && used < sizeof ctx) {
		size_t len = strcspn(p, ",");
		used += (size_t)snprintf(ctx + used, sizeof ctx - used, "%s\"%.*s\"",
		                         p == missing ? "" : ",", (int)len, p);
		p += len + (p[len] == ',');
	}
	if (used < sizeof ctx)
		snprintf(ctx + used, sizeof ctx - used, "]");
	log_info("store_members", ctx, "store members missing: %s", missing[0] ? missing : "none");
}
