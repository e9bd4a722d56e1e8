/* An export folder as one zip archive, and back (libzip). The archive
 * holds the folder's files by their relative names (manifest.json,
 * messages.jsonl, users.jsonl, files/up_N); texts are deflated, files
 * stored as they are. Reading checks every name and size against limits
 * before a byte lands on disk. */
#ifndef PARLEY_EXPORT_ZIP_H
#define PARLEY_EXPORT_ZIP_H

#include <stddef.h>
#include <stdint.h>

#define EXPORT_ZIP_MAX_ENTRIES 1000000     /* files in one archive */
#define EXPORT_ZIP_MAX_NAME    128         /* bytes of an entry's name */
#define EXPORT_ZIP_MAX_BYTES   (1LL << 40) /* uncompressed, all entries */

/* Archives every regular file of dir and of its one level of folders into
 * the new file zip_path. 0, or -1 with err set (zip_path then absent). */
int export_zip_write(const char *dir, const char *zip_path, char *err, size_t errlen);

/* Unpacks zip_path into the new folder dir, refusing names outside
 * [A-Za-z0-9._-] (one "/" at most, no "..", no leading dot), more than
 * max_entries entries, more than max_bytes in all, and an entry whose
 * data is longer than its header says. 0, or -1 with err set. */
int export_zip_extract(const char *zip_path, const char *dir, size_t max_entries, int64_t max_bytes,
                       char *err, size_t errlen);

/* Removes a folder this process made (its files and one level of folders). */
void export_dir_remove(const char *dir);

#endif
