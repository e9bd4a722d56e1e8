/* The key-value space scripts keep state in (parley.kv): one table keyed
 * by (owner, key), values opaque text. Exec functions for ops (op.h). */
#ifndef STORE_SQLITE_KV_H
#define STORE_SQLITE_KV_H

struct dbconn;
struct op;

/* Read: args.kv owner, key. Result text, or ENOTFOUND. */
int kv_get(struct dbconn *c, struct op *op);
/* Write: args.kv owner, key, value. */
int kv_set(struct dbconn *c, struct op *op);
/* Write: args.kv owner, key. Result value: 1 removed, 0 absent. */
int kv_delete(struct dbconn *c, struct op *op);
/* Write: args.kv owner, key, delta. Result value: the new number. */
int kv_incr(struct dbconn *c, struct op *op);
/* kv_set (s[2] set) or kv_incr (s[2] NULL, n[0] delta) refused with
 * ETOOLARGE when the owner's other keys and this one would pass n[1] keys
 * or n[2] bytes of keys and values. */
int kv_put_capped(struct dbconn *c, struct op *op);

#endif
