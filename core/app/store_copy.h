/* parley store copy --to OTHER.conf: every record of the configured store
 * into the store of another config (store_sqlite <-> store_mongo), through
 * the stores' records_read / records_write (include/parley/plugin.h).
 *
 * The plugin host holds one plugin set, so the copy runs in two phases:
 * the source's plugins are loaded (admin mode, beside a running server),
 * its records are spooled to unlinked temporary files, the plugins are
 * stopped, the target's are loaded and the spool is written into it, then
 * counted back. docs/mongodb.md explains the choice. */
#ifndef PARLEY_STORE_COPY_H
#define PARLEY_STORE_COPY_H

struct config;

/* 0 when every record was copied and the target's counts match; 1 after
 * printing why. force: write into a target that already has records
 * (records are upserted by their keys: a merge). */
int store_copy_main(struct config *source, const char *target_config, int force);

/* A records dump, the first line of which is {"format":"parley-records"}
 * (store_mongo's snapshot; plugins/store_mongo/dump.h has the layout). */
#define STORE_COPY_DUMP_FORMAT "parley-records"
/* 1 when the file at path is a records dump. */
int store_copy_is_dump(const char *path);
/* Writes the dump's records into cfg's store, as a copy does (restore of a
 * store whose backup is a dump). 0, or 1 after printing why. */
int store_copy_load(struct config *cfg, const char *dump, int force);

#endif
