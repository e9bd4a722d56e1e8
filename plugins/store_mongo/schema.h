/* The database's schema: a version document (meta {key: "schema"}) and
 * the indexes each version needs, created idempotently, so two nodes
 * starting at once both succeed. A database whose version is newer than
 * this plugin knows is refused. */
#ifndef STORE_MONGO_SCHEMA_H
#define STORE_MONGO_SCHEMA_H

#include <stddef.h>

#include <mongoc/mongoc.h>

/* The version this plugin writes. */
int schema_version(void);
/* PARLEY_OK; EINVAL for a newer schema (refused, err says both
 * versions); EUNAVAIL when the database cannot be reached; ERR. */
int schema_setup(mongoc_client_t *client, const char *database, char *err, size_t errlen);

#endif
