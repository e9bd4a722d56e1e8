/* parley.kv: a key-value space per owner (a script); args.kv. */
#ifndef STORE_MONGO_KV_H
#define STORE_MONGO_KV_H

#include "mdb.h"

int kv_get(struct dbconn *c, struct op *op);
int kv_set(struct dbconn *c, struct op *op);
int kv_delete(struct dbconn *c, struct op *op);
int kv_incr(struct dbconn *c, struct op *op);
/* kv_set (value) or kv_incr (value NULL) within max_keys and max_bytes. */
int kv_put_capped(struct dbconn *c, struct op *op);

#endif
