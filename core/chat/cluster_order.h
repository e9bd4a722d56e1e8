/* With several nodes, one room's messages reach this node from two places
 * (its own sends, and the bus) in no fixed order, and the bus may lose
 * some. This keeps each room's deliveries in the store's seq order with no
 * hole: a message whose predecessor has not arrived waits (briefly), and a
 * gap that stays is filled from the store (history after the last seq
 * delivered here). Sessions then get each seq once, in order (chat_deliver
 * drops what a session already has). Loop thread only. */
#ifndef PARLEY_CLUSTER_ORDER_H
#define PARLEY_CLUSTER_ORDER_H

#include <stdint.h>

#include "base/metrics.h"
#include "base/sbuf.h"
#include "chat/room.h"

#define CLUSTER_ORDER_WAIT    0.25  /* s a gap may stay before the store is asked */
#define CLUSTER_ORDER_PENDING 10000 /* messages held per room; beyond: from the store */
/* s a seq may stay missing from the store while later ones are there
 * before it is skipped: an append in flight is never that slow (its node
 * died between the counter and the insert; store_mongo tombstones it) */
#define CLUSTER_ORDER_HOLE 10.0

/* Starts ordering r from the seq it has now (r->last_seq: loaded from the
 * store, so everything up to it was there before this node listened). */
int cluster_order_room(room *r);
/* A stored message of r: common is its frame for everyone, own (may be
 * NULL) the author's variant with client_id, mentions_json its mentioned
 * user ids (may be NULL: counted when it is delivered here). Takes no
 * reference: the frames are ref'd when held. */
void cluster_order_submit(room *r, int64_t seq, sbuf *common, sbuf *own, const char *author_id,
                          const char *mentions_json);
/* Asks the store for everything after the last seq delivered in r (the
 * bus was down, or this node missed something). */
void cluster_order_repair(room *r);
/* Counts messages delivered from the store to fill gaps into `repaired`. */
/* r is about to be dropped (deleted): its held messages and timer go. */
void cluster_order_forget(room *r);
void cluster_order_init(metric *repaired);
void cluster_order_fini(void);

#endif
