/* Backups in S3 (or an S3-compatible store): a backup folder's files as
 * objects under s3://BUCKET/PREFIX/NAME/, the manifest last (a backup
 * without one is unfinished, as on disk). No HTTP here: the objects go
 * through the uploads provider's object members (put_object, list_objects,
 * get_object, delete_object; uploads_s3 signs and sends them), so the
 * bucket is the provider's and so are the endpoint and the keys. What
 * stays here is the policy: names, which backup a restore takes, which
 * ones pruning removes. Everything runs on the loop thread, asynchronously
 * (the server's scheduled backups) or by turning the loop until it is done
 * (the CLI). */
#ifndef PARLEY_BACKUP_S3_H
#define PARLEY_BACKUP_S3_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define BACKUP_S3_PREFIX   "s3://"
#define BACKUP_S3_LIST_MAX 100000 /* objects under one backup prefix */

/* 1 when to names S3 ("s3://bucket/prefix"). */
int backup_s3_is(const char *to);

/* The config's rule for to (check-config, server start, the CLI): the
 * uploads provider is uploads_s3, the URL's bucket is its bucket, the
 * URL has a prefix, and that prefix is outside the uploads' key space.
 * 0, or -1 with a readable err. */
int backup_s3_check(const struct config *cfg, const char *to, char *err, size_t errlen);

/* Uploads every file of dir (recursively) under to/name/, the manifest
 * last; then, with keep > 0, removes old backups beyond keep (a failed
 * removal is logged, the backup still counts). Needs the loaded uploads
 * provider and the worker pool; done(ud, ok, why) runs on the loop. 0, or
 * -1 with err (done is then not called). */
typedef void (*backup_s3_done_fn)(void *ud, int ok, const char *why);
int backup_s3_upload(const char *to, const char *name, const char *dir, int64_t keep,
                     backup_s3_done_fn done, void *ud, char *err, size_t errlen);

/* The CLI: picks a finished backup under to (the newest, or the newest
 * whose manifest's snapshot_ms <= at_ms when at_ms >= 0; `to` may name one
 * backup, s3://b/p/NAME, when at_ms < 0) and downloads it into the new
 * folder dir, turning the loop until done. 0, or -1 with err. */
int backup_s3_fetch(const char *to, int64_t at_ms, const char *dir, char *err, size_t errlen);

#endif
