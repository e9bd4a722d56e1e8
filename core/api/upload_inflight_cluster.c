/* Upload bytes in flight over a cluster; see upload_inflight_cluster.h. */
#include "api/upload_inflight_cluster.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/loop.h"
#include "chat/cluster_bus.h"
#include "host/plugin_host.h"

#define NAME_MAX_BYTES 160

struct reserve_call {
	void (*done)(void *ud, int64_t total);
	void *ud;
};

static const parley_store_vtable *counter_store(void **self)
{
	const parley_store_vtable *st = plugins_uploads_store(self);
	if (!cluster_bus_active() || !st || !PARLEY_HAS(parley_store_vtable, st, counter_add))
		return NULL;
	return st;
}

static int counter_name(char *out, const char *user_id)
{
	int n = snprintf(out, NAME_MAX_BYTES, "upload_inflight:%s", user_id);
	return n > 0 && n < NAME_MAX_BYTES;
}

static void reserved(void *ud, const parley_store_result *res)
{
	struct reserve_call *call = ud;
	if (res->rc != PARLEY_OK)
		log_warn("upload_quota", NULL,
		         "the store did not count an upload in flight (%s): this node's count "
		         "decides",
		         res->error ? res->error : "error");
	call->done(call->ud, res->rc == PARLEY_OK ? res->value : -1);
	free(call);
}

int upload_inflight_reserve(const char *user_id, int64_t bytes,
                            void (*done)(void *ud, int64_t total), void *ud)
{
	void *self;
	const parley_store_vtable *st = counter_store(&self);
	char name[NAME_MAX_BYTES];
	if (!st || bytes <= 0 || !counter_name(name, user_id))
		return 0;
	struct reserve_call *call = malloc(sizeof *call);
	if (!call)
		return 0;
	*call = (struct reserve_call){.done = done, .ud = ud};
	if (st->counter_add(self, name, bytes, UPLOAD_INFLIGHT_WINDOW_MS, loop_now_ms(), reserved,
	                    call) != PARLEY_PENDING) {
		free(call);
		return 0;
	}
	return 1;
}

static void released(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc != PARLEY_OK)
		log_warn("upload_quota", NULL,
		         "an upload's bytes in flight were not given back (%s): they lapse "
		         "within the hour",
		         res->error ? res->error : "error");
}

void upload_inflight_release(const char *user_id, int64_t bytes)
{
	void *self;
	const parley_store_vtable *st = counter_store(&self);
	char name[NAME_MAX_BYTES];
	if (!st || bytes <= 0 || !counter_name(name, user_id))
		return;
	st->counter_add(self, name, -bytes, UPLOAD_INFLIGHT_WINDOW_MS, loop_now_ms(), released,
	                NULL);
}
