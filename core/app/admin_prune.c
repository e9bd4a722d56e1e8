/* parley prune: one retention pass now, beside a running server or not
 * (the store serializes its writes either way). Prints a line per room
 * and the totals; members of a running server see the tombstones on their
 * next history or resume (the `pruned` event comes from the server's own
 * job only). */
#include "app/admin.h"
#include "app/admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/config.h"
#include "base/loop.h"
#include "chat/chat.h"
#include "host/plugin_host.h"
#include "host/prune_run.h"

static struct {
	int dry_run;
	int running; /* the pass or the audit write */
	int rc;
	char *error;
	struct prune_totals t;
} pc;

static void on_batch(void *ud, const char *room_id, const char *room_name, int64_t before_seq,
                     int64_t n)
{
	(void)ud;
	const char *name = room_name ? room_name : room_id;
	if (pc.dry_run)
		printf("would prune %lld messages in %s (%s)\n", (long long)n, name, room_id);
	else
		printf("pruned %lld messages in %s (%s), before seq %lld\n", (long long)n, name,
		       room_id, (long long)before_seq);
}

static void on_done(void *ud, int rc, const char *error, const struct prune_totals *t)
{
	(void)ud;
	pc.rc = rc;
	pc.error = error ? strdup(error) : NULL;
	pc.t = *t;
	pc.running = 0;
}

static void audit_done(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc != PARLEY_OK)
		fprintf(stderr, "parley: prune: the audit log entry was not written: %s\n",
		        res->error ? res->error : chat_error_code(res->rc));
	pc.running = 0;
}

static void turn_until_done(void)
{
	cli_runtime_wait(&pc.running);
}

static void audit(long long older_than_s, const char *room)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, audit_append))
		return;
	json_t *d = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s?}", "messages",
	                      (json_int_t)pc.t.messages, "rooms", (json_int_t)pc.t.rooms, "files",
	                      (json_int_t)pc.t.uploads, "expired", (json_int_t)pc.t.expired,
	                      "older_than", (json_int_t)older_than_s, "room", room);
	char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	parley_audit a = {.ts = loop_now_ms(),
	                  .action = "retention.prune",
	                  .target = room,
	                  .detail = detail,
	                  .client = "cli"};
	pc.running = 1;
	if (st->audit_append(self, &a, audit_done, NULL) < 0)
		pc.running = 0;
	free(detail);
	turn_until_done();
}

int admin_prune(struct config *cfg, int dry_run, long long older_than_s, const char *room)
{
	struct cli_runtime rt = {0};
	int status = 1;
	memset(&pc, 0, sizeof pc);
	pc.dry_run = dry_run;
	if (admin_start(cfg, "prune", &rt) < 0)
		goto done;
	int64_t keep_s = older_than_s > 0 ? older_than_s : cfg->retention.messages;
	struct prune_opts o = {.now_ms = loop_now_ms(),
	                       .retention_ms = keep_s * 1000,
	                       .uploads_retention_ms = cfg->retention.uploads * 1000,
	                       .room = room,
	                       .dry_run = dry_run,
	                       .batch = (int)cfg->retention.batch,
	                       .on_batch = on_batch,
	                       .on_done = on_done};
	int rc = prune_run_start(&o);
	if (rc != PARLEY_OK) {
		fprintf(stderr, "parley: prune: %s\n",
		        rc == PARLEY_EUNAVAIL ? "the store cannot prune (no prune call)"
		                              : chat_error_code(rc));
		goto done;
	}
	pc.running = 1;
	turn_until_done();
	if (pc.rc != PARLEY_OK) {
		fprintf(stderr, "parley: prune: %s\n",
		        pc.error ? pc.error : chat_error_code(pc.rc));
		if (!dry_run && (pc.t.messages || pc.t.expired))
			audit(older_than_s, room);
		goto done;
	}
	if (dry_run) {
		printf("would prune %lld messages in %lld rooms (dry run: nothing removed)\n",
		       (long long)pc.t.messages, (long long)pc.t.rooms);
	} else {
		printf("pruned %lld messages in %lld rooms, expired %lld files, %lld files removed",
		       (long long)pc.t.messages, (long long)pc.t.rooms, (long long)pc.t.expired,
		       (long long)pc.t.uploads);
		if (pc.t.failed)
			printf(", %lld kept for the uploads cleanup job", (long long)pc.t.failed);
		printf("\n");
		audit(older_than_s, room);
	}
	if (keep_s <= 0 && !pc.t.messages)
		fprintf(stderr, "parley: prune: no retention configured (retention.messages is "
		                "\"forever\"): only rooms with their own retention are pruned\n");
	status = 0;
done:
	fflush(stdout);
	admin_stop(&rt);
	free(pc.error);
	return status;
}
