/* The mail spool on disk, under the configured folder:
 *   <spool>/queue/<id>.eml    accepted, not yet delivered (smtp mode)
 *   <spool>/failed/<id>.eml   gave up after the retries, with <id>.reason
 *   <spool>/<id>.eml          spool-only mode (no smtp): the message itself
 * Blocking calls: email_spool_write runs on a worker (it fsyncs). */
#ifndef EMAIL_SPOOL_H
#define EMAIL_SPOOL_H

#include <stddef.h>

#define EMAIL_QUEUE_DIR  "queue"
#define EMAIL_FAILED_DIR "failed"
#define EMAIL_EML_EXT    ".eml"
#define EMAIL_TMP_PREFIX ".tmp-"

/* mkdir -p of dir and its queue/ and failed/ folders. 0 or -1 (errno). */
int email_spool_prepare(const char *dir);
/* Writes data as dir/name durably: a temporary file, fsync, rename, fsync
 * of the folder. 0, or -1 with a reason in err. */
int email_spool_write(const char *dir, const char *name, const char *data, size_t len, char *err,
                      size_t err_len);
/* Moves queue/<id>.eml to failed/ after writing failed/<id>.reason. 0/-1. */
int email_spool_fail(const char *dir, const char *id, const char *reason);
/* Calls fn(id, arg) for each queue/<id>.eml, deleting stale temporary
 * files (a crash between write and rename). Returns the count or -1. */
int email_spool_scan(const char *dir, void (*fn)(const char *id, void *arg), void *arg);
/* Reads a whole file (malloc'd). NULL on error (errno). */
char *email_spool_read(const char *path, size_t max, size_t *len);

#endif
