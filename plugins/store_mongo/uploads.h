/* Upload records. A record is attached when message is set; a message's
 * tombstone sets it back to null (messages_delete), so the core's cleanup
 * job finds it with the unattached ones. */
#ifndef STORE_MONGO_UPLOADS_H
#define STORE_MONGO_UPLOADS_H

#include "mdb.h"

int uploads_create(struct dbconn *c, struct op *op); /* upload (copied) */
int uploads_get(struct dbconn *c, struct op *op);    /* s[0] id */
/* s[0] id, s[1] user, s[2] room, s[3] message or NULL. */
int uploads_attach(struct dbconn *c, struct op *op);
int uploads_delete(struct dbconn *c, struct op *op);     /* s[0] id */
int uploads_unattached(struct dbconn *c, struct op *op); /* n[0] before_ts, flag limit */
int uploads_usage(struct dbconn *c, struct op *op);      /* s[0] user, n[1] since_ts */

#endif
