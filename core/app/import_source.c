/* An import's source folder (see import_source.h). */
#include "app/import_source.h"

#include <stdio.h>
#include <unistd.h>

#include "app/export.h"
#include "app/export_zip.h"

int import_source_open(struct import_source *src, const char *path, const char *data_dir,
                       const char *name, size_t max_entries, int64_t max_bytes, char *err,
                       size_t errlen)
{
	src->unpacked[0] = '\0';
	src->dir = path;
	if (!export_is_zip(path))
		return 0;
	int n = snprintf(src->unpacked, sizeof src->unpacked, "%s/%s-%ld.partial", data_dir, name,
	                 (long)getpid());
	if (n < 0 || n >= (int)sizeof src->unpacked) {
		src->unpacked[0] = '\0';
		snprintf(err, errlen, "the data dir's path is too long to unpack into");
		return -1;
	}
	if (export_zip_extract(path, src->unpacked, max_entries, max_bytes, err, errlen) < 0) {
		import_source_close(src);
		return -1;
	}
	src->dir = src->unpacked;
	return 0;
}

void import_source_close(struct import_source *src)
{
	if (src->unpacked[0])
		export_dir_remove(src->unpacked);
	src->unpacked[0] = '\0';
}
