/* State one per cluster (issue 16): a key set only once (kv_add) and
 * windowed counters (counter_add). Exec functions for ops (op.h). */
#ifndef STORE_SQLITE_CLUSTER_H
#define STORE_SQLITE_CLUSTER_H

struct dbconn;
struct op;

/* Write: args.kv owner, key, value, set only when absent. Result text: the
 * value held now. */
int cluster_kv_add(struct dbconn *c, struct op *op);
/* Write: args.counter. Result value: the count. */
int cluster_counter_add(struct dbconn *c, struct op *op);

#endif
