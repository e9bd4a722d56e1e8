/* store_mongo's snapshot: a logical dump of every record (records.c's
 * kinds, in copy order) into a new file, one JSON line per page:
 *   {"format":"parley-records","version":1}
 *   {"kind":"users","records":[...]}   (as many as it takes)
 *   {"counts":{"users":2,...}}
 * the format `parley store copy` spools through (docs/mongodb.md). */
#ifndef STORE_MONGO_DUMP_H
#define STORE_MONGO_DUMP_H

#include "mdb.h"

/* Where a backup puts the dump, relative to the data dir (the snapshot's
 * result text). */
#define DUMP_FILE_NAME "store_mongo.records"

int dump_write(struct dbconn *c, struct op *op); /* args.snapshot.path */

#endif
