/* State one per cluster (issue 16) on MongoDB: kv_add, counter_add and
 * lease. Leases and counters are documents of the kv collection under
 * owners of their own ("parley:lease", "parley:counter"; a script's name
 * has no colon), so its unique (owner, key) index makes the first insert
 * of a name win without a schema version of their own. */
#ifndef STORE_MONGO_CLUSTER_H
#define STORE_MONGO_CLUSTER_H

#include "mdb.h"

/* args.kv owner, key, value: set only when absent. Result text. */
int cluster_kv_add(struct dbconn *c, struct op *op);
/* args.counter. Result value: the count. */
int cluster_counter_add(struct dbconn *c, struct op *op);
/* args.lease. Result value: the expiry; ECONFLICT while another holds it. */
int cluster_lease(struct dbconn *c, struct op *op);

#endif
