/* Where an import reads from: a folder as it is, or a zip archive
 * unpacked first into a new folder under the data dir (the import holds
 * the data dir's lock, so nothing else writes there meanwhile). Shared by
 * parley import (import.c) and the Slack import (import_slack.c), each
 * with its own limits and its own words for a refused archive. */
#ifndef PARLEY_IMPORT_SOURCE_H
#define PARLEY_IMPORT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#define IMPORT_SOURCE_PATH 4096

struct import_source {
	const char *dir;                   /* the folder to read */
	char unpacked[IMPORT_SOURCE_PATH]; /* the folder made for a zip, or "" */
};

/* path itself when it is not a .zip; else unpacked into
 * DATA_DIR/NAME-PID.partial with export_zip_extract's checks and these
 * limits. 0, or -1 with the reason in err (nothing left on disk). */
int import_source_open(struct import_source *src, const char *path, const char *data_dir,
                       const char *name, size_t max_entries, int64_t max_bytes, char *err,
                       size_t errlen);

/* Removes the unpacked folder, if any. */
void import_source_close(struct import_source *src);

#endif
