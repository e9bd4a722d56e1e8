/* Upload retention (issue 17): the store member uploads_expire. */
#ifndef STORE_MONGO_UPLOAD_EXPIRY_H
#define STORE_MONGO_UPLOAD_EXPIRY_H

#include <stdint.h>

#include <parley/plugin.h>

#include "mdb.h"
#include "vtable.h"

/* The most uploads one call expires (plugin.h says 1..1000). */
#define UPLOAD_EXPIRY_MAX 1000

/* args.unattached: the batch's work (see plugin.h). */
int upload_expiry_run(struct dbconn *c, struct op *op);
/* The vtable member. */
int upload_expiry_call(void *self, int64_t before_ts, int limit, parley_store_done done, void *ud);

#endif
