/* One retention pass over the store: for each room (or one), the cutoff
 * from the server-wide retention and the room's own, then prune batches
 * (parley_store_vtable.prune) until none is due, removing the detached
 * upload objects through the uploads provider and then their records.
 * Shared by the server's background job (core/chat/chat_retention.c) and
 * `parley prune` (core/app/admin_prune.c). Loop thread only; one pass at a
 * time. Every step is a store call on the store's threads, so the loop
 * never waits for a batch. After the rooms, the uploads retention expires
 * attached files older than uploads_retention_ms in batches
 * (parley_store_vtable.uploads_expire), then removes them the same way. */
#ifndef PARLEY_PRUNE_RUN_H
#define PARLEY_PRUNE_RUN_H

#include <stddef.h>
#include <stdint.h>

struct prune_totals {
	int64_t rooms;    /* rooms where something was (or would be) pruned */
	int64_t messages; /* tombstoned (dry run: due) */
	int64_t uploads;  /* upload objects removed */
	int64_t failed;   /* upload objects that could not be removed (kept) */
	int64_t expired;  /* attachments expired by the uploads retention */
};

struct prune_opts {
	int64_t now_ms;
	int64_t retention_ms;         /* server-wide (or --older-than); 0: forever */
	int64_t uploads_retention_ms; /* 0: files live as long as their message */
	const char *room;             /* a room id or name; NULL: every room (and uploads) */
	int dry_run;
	int batch; /* messages per store call, 1..1000 */
	/* After each batch that pruned something (may be NULL): before_seq is
	 * the room's first seq not pruned. Dry runs: once per room, with the
	 * count due and before_seq 0. */
	void (*on_batch)(void *ud, const char *room_id, const char *room_name, int64_t before_seq,
	                 int64_t n_messages);
	/* Once, at the end: PARLEY_OK or the first error (message for logs). */
	void (*on_done)(void *ud, int rc, const char *error, const struct prune_totals *t);
	void *ud;
};

/* PARLEY_OK (on_done follows), EUNAVAIL without a store that prunes,
 * ECONFLICT while a pass runs. */
int prune_run_start(const struct prune_opts *o);
/* Shutdown: the pass starts no more batches (the one in flight finishes,
 * on_done follows with EUNAVAIL); the store's marks keep the progress. */
void prune_run_cancel(void);
/* 1 while a pass runs. */
int prune_run_active(void);

#endif
