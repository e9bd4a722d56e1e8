/* Retention: prune (tombstone a room's expired messages in batches, with
 * the room's pruned mark), named leases, a room's own retention, and the
 * edit history. Exec functions for ops (see op.h). */
#ifndef STORE_SQLITE_RETENTION_H
#define STORE_SQLITE_RETENTION_H

struct dbconn;
struct op;

/* Largest prune batch. */
#define RETENTION_PRUNE_MAX 1000

/* Write (or read when dry_run): args.prune. */
int retention_prune(struct dbconn *c, struct op *op);
/* Write: args.lease. */
int retention_lease(struct dbconn *c, struct op *op);
/* Write: args.retention. */
int retention_room_set(struct dbconn *c, struct op *op);
/* Read: args.retention. */
int retention_room_get(struct dbconn *c, struct op *op);
/* Read: args.message. */
int retention_edits_list(struct dbconn *c, struct op *op);

#endif
