/* Upload records: exec functions for ops (see op.h). Upload ids are
 * "up_<n>"; the op carries them parsed, like every other id. */
#ifndef STORE_SQLITE_UPLOADS_H
#define STORE_SQLITE_UPLOADS_H

#include <stdint.h>

struct dbconn;
struct op;

/* Parses "up_<n>" (n > 0); 1 and *out, or 0 when malformed. */
int uploads_id_parse(const char *s, int64_t *out);

/* Write: upload, args.user. */
int uploads_create(struct dbconn *c, struct op *op);
/* Read: args.upload. */
int uploads_get(struct dbconn *c, struct op *op);
/* Write: args.upload_attach. */
int uploads_attach(struct dbconn *c, struct op *op);
/* Write: args.upload. */
int uploads_delete(struct dbconn *c, struct op *op);
/* Read: args.unattached. */
int uploads_unattached(struct dbconn *c, struct op *op);
/* Write: args.unattached (before_ts, limit): upload retention (see
 * parley_store_vtable.uploads_expire). */
int uploads_expire(struct dbconn *c, struct op *op);
/* Read: args.usage. */
int uploads_usage(struct dbconn *c, struct op *op);
/* Inside message_delete's savepoint: detaches the files of message. */
int uploads_detach_message(struct dbconn *c, struct op *op, int64_t message);
/* The same, appending the detached records to the op's uploads (prune). */
int uploads_detach_message_rows(struct dbconn *c, struct op *op, int64_t message);

#endif
