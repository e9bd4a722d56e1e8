/* Documents to records: each reader appends one document to the op's
 * results (strings copied into its arena). PARLEY_OK or ENOMEM. */
#ifndef STORE_MONGO_DOCS_H
#define STORE_MONGO_DOCS_H

#include <mongoc/mongoc.h>

#include "mdb.h"

int docs_message(struct op *op, const bson_t *doc);
int docs_room(struct op *op, const bson_t *doc);
int docs_user(struct op *op, const bson_t *doc);         /* with password hash */
int docs_user_no_hash(struct op *op, const bson_t *doc); /* users_list */
int docs_member(struct op *op, const bson_t *doc);
void docs_session(struct op *op, const bson_t *doc);   /* into session_out */
void docs_invite(struct op *op, const bson_t *doc);    /* into invite_out */
int docs_invite_add(struct op *op, const bson_t *doc); /* invites_list */
int docs_audit(struct op *op, const bson_t *doc);
int docs_upload(struct op *op, const bson_t *doc);

#endif
