/* Messages: append (seq by findAndModify $inc on the room, dedup on
 * (user, client_id)), history pages, tombstones, reactions. */
#ifndef STORE_MONGO_MESSAGES_H
#define STORE_MONGO_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include <mongoc/mongoc.h>

#include "mdb.h"

#define MESSAGES_HISTORY_MAX 1000

/* A seq an append took and could not fill (health.c fills it later). */
struct hole_info {
	char room_id[32], user_id[32];
	int64_t room_n, seq;
	int64_t seq_at;  /* when the seq was taken (the sweep's clock) */
	uint8_t oid[12]; /* the _id the failed insert used */
};

/* op: msg (copied), args.append. */
int messages_append(struct dbconn *c, struct op *op);
/* args.history. */
int messages_history(struct dbconn *c, struct op *op);
/* args.message (get, delete), args.react; edits are lifecycle.c's. */
int messages_get(struct dbconn *c, struct op *op);
int messages_delete(struct dbconn *c, struct op *op);
int messages_react(struct dbconn *c, struct op *op);

/* Writes a tombstone at the hole unless a message is there (the insert
 * did land): 0, or -1 with err. */
int messages_fill_hole(mongoc_client_t *client, const char *database, const struct hole_info *h,
                       char *err, size_t errlen);

/* Tombstones into seqs that no append will fill any more: a room whose
 * messages number fewer than its last_seq has holes (a node killed
 * between the counter step and its insert). A hole counts as abandoned
 * when the next message's seq was taken (its seq_at: the clock of the node
 * that took it, never the message's ts, which is the client's) longer
 * than stale_ms ago, or, at the end of the room, when the counter last
 * moved (seq_ts) longer ago than that: an append in flight is never that
 * slow (timeouts are seconds). The
 * tombstone is attributed to the author of the next message (the real
 * one is unknown). Returns the number written, or -1 with err. */
int messages_sweep(mongoc_client_t *client, const char *database, int64_t now_ms, int64_t stale_ms,
                   char *err, size_t errlen);

#endif
