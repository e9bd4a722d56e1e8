/* Backups in S3 (or an S3-compatible store): a backup folder's files as
 * objects under s3://BUCKET/PREFIX/NAME/, the manifest last (a backup
 * without one is unfinished, as on disk). HTTP through libcurl, signed by
 * libcurl's own AWS SigV4 (CURLOPT_AWS_SIGV4), with each body's SHA-256 in
 * x-amz-content-sha256. Blocking calls: the server runs them on its
 * worker pool, the CLI directly. */
#ifndef PARLEY_BACKUP_S3_H
#define PARLEY_BACKUP_S3_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define BACKUP_S3_URL_MAX  2048
#define BACKUP_S3_LIST_MAX 100000            /* keys listed under one prefix */
#define BACKUP_S3_BODY_MAX (8 * 1024 * 1024) /* a listing's XML page */
#define BACKUP_S3_PREFIX   "s3://"

/* 1 when to names S3 ("s3://bucket/prefix"). */
int backup_s3_is(const char *to);

/* Uploads every file of dir (recursively) under to/name/, the manifest
 * last. 0, or -1 with err. */
int backup_s3_put(const struct config *cfg, const char *to, const char *name, const char *dir,
                  char *err, size_t errlen);
/* Removes the oldest backups under to beyond keep (by name: UTC times).
 * Returns how many were removed, or -1 with err. */
int backup_s3_prune(const struct config *cfg, const char *to, int64_t keep, char *err,
                    size_t errlen);
/* The newest finished backup's name under to, or the newest whose
 * manifest's snapshot_ms <= at_ms (at_ms >= 0); and downloads it into the
 * new folder dir. `to` may name one backup (s3://b/p/NAME) when at_ms < 0.
 * 0, or -1 with err. */
int backup_s3_fetch(const struct config *cfg, const char *to, int64_t at_ms, const char *dir,
                    char *err, size_t errlen);

#endif
