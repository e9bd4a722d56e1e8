/* Schema versions and migrations. PRAGMA user_version holds the version of
 * the file; the code knows an ordered list of migrations (version 1 is the
 * initial schema). At init, every migration above the file's version runs,
 * all in one transaction; a file newer than the code is refused. */
#ifndef STORE_SQLITE_SCHEMA_H
#define STORE_SQLITE_SCHEMA_H

#include <stddef.h>

struct dbconn;

/* The newest version this code knows. */
int schema_version(void);
/* Brings the database up to schema_version(); PARLEY_OK or an error with
 * the reason in err (a newer file names both versions). */
int schema_migrate(struct dbconn *c, char *err, size_t errlen);

#endif
