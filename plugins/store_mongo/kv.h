/* parley.kv: a key-value space per owner (a script). s[0] owner, s[1]
 * key, s[2] value (set), n[0] delta (incr). */
#ifndef STORE_MONGO_KV_H
#define STORE_MONGO_KV_H

#include "mdb.h"

int kv_get(struct dbconn *c, struct op *op);
int kv_set(struct dbconn *c, struct op *op);
int kv_delete(struct dbconn *c, struct op *op);
int kv_incr(struct dbconn *c, struct op *op);

#endif
