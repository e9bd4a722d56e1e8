/* The data lifecycle on MongoDB: message edits with their history, prune
 * (retention), a room's own retention (leases: cluster.c). The same results and
 * errors as store_sqlite's retention.c (the vtable's comments in
 * include/parley/plugin.h say what each returns). */
#ifndef STORE_MONGO_LIFECYCLE_H
#define STORE_MONGO_LIFECYCLE_H

#include "mdb.h"

/* The most messages one prune call tombstones (store_sqlite's too). */
#define LIFECYCLE_PRUNE_MAX 1000

int lifecycle_edit(struct dbconn *c, struct op *op); /* message_edit */
int lifecycle_edits_list(struct dbconn *c, struct op *op);
int lifecycle_prune(struct dbconn *c, struct op *op);
int lifecycle_retention_set(struct dbconn *c, struct op *op);
int lifecycle_retention_get(struct dbconn *c, struct op *op);

#endif
