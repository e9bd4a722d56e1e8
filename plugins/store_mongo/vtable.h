/* The vtable's calls: store_mongo.c has the ABI 1 base ones and the
 * helpers every call uses; vtable_lifecycle.c the data lifecycle's
 * (appended members). */
#ifndef STORE_MONGO_VTABLE_H
#define STORE_MONGO_VTABLE_H

#include <stdint.h>

#include <parley/plugin.h>

#include "op.h"

/* A fresh op for the call, or NULL when the store is stopping. */
struct op *begin(void *self, const char *name, op_exec_fn exec, parley_store_done done, void *ud);
/* Queues op on the lane of key (NULL: lane 0); PENDING, or an error after
 * freeing op (done is then never called). */
int submit(struct op *op, const char *key);
/* The same on the long lane (lanes.h), for calls that run long. */
int submit_long(struct op *op);
/* Frees op; EINVAL. */
int bad_args(struct op *op);

int vtable_snapshot(void *self, const char *path, parley_store_done done, void *ud);
int vtable_prune(void *self, const char *room_id, int64_t before_ts, int limit, int dry_run,
                 parley_store_done done, void *ud);
int vtable_room_retention_set(void *self, const char *room_id, int64_t retention_ms,
                              parley_store_done done, void *ud);
int vtable_room_retention_get(void *self, const char *room_id, parley_store_done done, void *ud);
int vtable_edits_list(void *self, const char *room_id, const char *msg_id, parley_store_done done,
                      void *ud);
int vtable_records_read(void *self, const char *kind, int64_t after, int limit,
                        parley_store_done done, void *ud);
int vtable_records_write(void *self, const char *kind, const char *records_json,
                         parley_store_done done, void *ud);

#endif
