/* parley backup and parley restore: a consistent copy of a data dir taken
 * while a server serves it, and putting one back into a stopped server's
 * data dir. A backup is a folder:
 *
 *   manifest.json   what is in it: every file with its size and SHA-256,
 *                   and where in the data dir it goes back
 *   data/...        the store's snapshot (the store vtable's `snapshot`),
 *                   then every other file of the data dir (server.key,
 *                   uploads_local's files...), copied after the snapshot so
 *                   every upload the snapshot records has its file
 *
 * manifest.json is written last: a folder without one is an unfinished
 * backup and restore refuses it. */
#ifndef PARLEY_BACKUP_H
#define PARLEY_BACKUP_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define BACKUP_MANIFEST     "manifest.json"
#define BACKUP_FORMAT       "parley-backup"
#define BACKUP_FORMAT_VER   1
#define BACKUP_MAX_FILES    1000000
#define BACKUP_MAX_MANIFEST (512 * 1024 * 1024)

/* What a finished backup reports (valid during the callback). */
struct backup_report {
	int ok;
	const char *why; /* when !ok */
	const char *out;
	size_t files;
	int64_t bytes, snapshot_ms, duration_ms;
};
typedef void (*backup_done_fn)(void *ud, const struct backup_report *r);

/* Starts a backup of the running store and data_dir into out_dir (created;
 * must not exist): the store's snapshot through the vtable, then the files
 * and the manifest on the worker pool; done runs on the loop thread. 0, or
 * -1 with why in err (done is then not called). */
int backup_start(const char *data_dir, const char *out_dir, backup_done_fn done, void *ud,
                 char *err, size_t errlen);
/* parley backup --out DIR (DIR must not exist). 0, or 1 after saying why. */
int backup_main(struct config *cfg, const char *out_dir);
/* parley restore DIR [--force]: verifies every file against the manifest,
 * takes the data dir's lock (refused while a server holds it), refuses a
 * data dir with data in it unless force, then writes each file (via a
 * .part and a rename) and drops the SQLite -wal/-shm beside it.
 * restore --at: with at_ms >= 0, backup_dir is a folder of backups
 * (scheduled ones, or any made with backup --out DIR/NAME) and the newest
 * whose snapshot was complete at or before at_ms is restored. */
int restore_main(struct config *cfg, const char *backup_dir, int force, int64_t at_ms);
/* An ISO 8601 time in UTC ("2026-12-06T05:00:00Z", "2026-12-06 05:00",
 * "2026-12-06") as ms since the epoch, or -1. */
int64_t backup_parse_time(const char *s);

#endif
