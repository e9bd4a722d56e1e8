/* parley export --with-files: the attached files, through the uploads
 * provider (its read call, or a presigned URL fetched with libcurl for
 * providers that only presign, like uploads_s3), into dir/files/<upload
 * id>, each with its size and SHA-256. CLI only: it turns the loop until
 * each call is done. */
#ifndef PARLEY_EXPORT_FILES_H
#define PARLEY_EXPORT_FILES_H

#include <stddef.h>

#include <jansson.h>

#define EXPORT_FILE_CHUNK (1024 * 1024) /* bytes per provider read */

/* files: {upload id: anything}; each value becomes {name, type, size,
 * sha256} (ids whose record is gone are dropped, with a warning). 0, or
 * -1 with err set. */
int export_files_fetch(const char *dir, json_t *files, char *err, size_t errlen);

#endif
