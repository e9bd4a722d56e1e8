/* snapshot: a consistent copy of the database while it serves, through
 * SQLite's online backup API (see the vtable member in plugin.h). */
#ifndef STORE_SQLITE_SNAPSHOT_H
#define STORE_SQLITE_SNAPSHOT_H

struct dbconn;
struct op;

/* Runs on a read connection: copies every page in one step, so the copy is
 * the database as of one read transaction. */
int snapshot_write(struct dbconn *c, struct op *op);

#endif
