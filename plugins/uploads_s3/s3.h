/* uploads_s3's state and the pieces its files share. */
#ifndef UPLOADS_S3_H
#define UPLOADS_S3_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#define S3_MIN_PART  (5 * 1024 * 1024) /* S3's smallest part but the last */
#define S3_URL_MAX   4096
#define S3_ERROR_MAX 512
#define S3_KEY_MAX   1024 /* S3's own limit on a key, in bytes */

struct s3_config {
	const char *endpoint; /* "https://s3.eu-west-1.amazonaws.com" */
	const char *region;
	const char *bucket;
	const char *prefix; /* "uploads/" */
	int path_style;
	const char *access_key, *secret_key, *session_token; /* config, else AWS_* */
	int64_t presign_expiry;                              /* s */
	int64_t part_size;                                   /* bytes */
	int64_t parallel;                                    /* parts in flight */
	int64_t retries;                                     /* attempts after the first */
	double timeout;                                      /* s per request */
	int64_t list_page;                                   /* keys per ListObjectsV2 page */
};

struct put;

struct s3 {
	const parley_host *host;
	parley_ctx *ctx;
	struct s3_config cfg;
	char scheme[8];
	char authority[256];   /* host[:port] of the endpoint */
	char bucket_host[512]; /* the Host objects are addressed by */
	char sigv4[128];       /* "aws:amz:<region>:s3" */
	char userpwd[512];
	/* /readyz: the last bucket probe. */
	int bucket_ok;
	char why[S3_ERROR_MAX];
	parley_timer *probe_timer;
	int probing;
	parley_metric *m_requests, *m_retries, *m_failures, *m_aborts, *m_abort_failures;
	/* One for init, one per request: transfers that end after fini (the
	 * host stops curl after the plugins) still find the state. */
	int refs;
	/* objects.c: puts under way (fini ends them), and fini has begun. */
	struct put *puts;
	int stopping;
};

void s3_unref(struct s3 *s3);

/* request.c: one S3 call with retries (5xx, connection errors). */
struct s3_req;
typedef void (*s3_req_done)(struct s3_req *r, void *ud);
struct s3_result {
	int curlcode;
	long status;
	const char *body; /* the response (errors, XML), NUL-terminated */
	size_t body_len;
	const char *etag;  /* ETag header, or "" */
	int truncated;     /* the answer was longer than the request's cap */
	const char *error; /* a readable summary when not 2xx */
};
/* method, the object path ("/bucket/prefix/key" or "/prefix/key") and the
 * query (sorted, encoded; may be ""), body (kept by the caller until
 * done) or NULL. done runs once, with the last attempt's result. */
struct s3_req *s3_req_start(struct s3 *s3, const char *method, const char *path, const char *query,
                            const void *body, size_t len, s3_req_done done, void *ud,
                            const char *what);
/* The same with the object's own headers (PutObject, CreateMultipartUpload):
 * S3 serves the object with them, so presigned URLs need no overrides. */
struct s3_req *s3_req_start_object(struct s3 *s3, const char *method, const char *path,
                                   const char *query, const void *body, size_t len, const char *sha,
                                   const char *type, const char *disposition, s3_req_done done,
                                   void *ud, const char *what);
/* The body's SHA-256 (hex) given, hashed by the caller off the loop; NULL
 * or "" here and in s3_req_start_object: hashed now. */
struct s3_req *s3_req_start_sha(struct s3 *s3, const char *method, const char *path,
                                const char *query, const void *body, size_t len, const char *sha,
                                s3_req_done done, void *ud, const char *what);
/* A GET whose answer may be long: a listing kept up to resp_max bytes
 * (res.truncated past it), or, with sink_fd >= 0, an object whose 2xx
 * body is written to sink_fd (truncated and rewritten on a retry). */
struct s3_req *s3_req_start_read(struct s3 *s3, const char *path, const char *query,
                                 size_t resp_max, int sink_fd, s3_req_done done, void *ud,
                                 const char *what);
const struct s3_result *s3_req_result(const struct s3_req *r);
/* Stops it (no done) and frees it. */
void s3_req_cancel(struct s3_req *r);
/* Frees a finished request (in or after done). */
void s3_req_free(struct s3_req *r);

/* sign.c */
/* RFC 3986 encoding of s (slash kept when keep_slash) into out; -1 when
 * it does not fit. */
int s3_uri_encode(const char *s, int keep_slash, char *out, size_t n);
/* The path of key: "/bucket/<prefix><key>" (path style) or "/<prefix><key>". */
int s3_object_path(const struct s3 *s3, const char *key, char *out, size_t n);
/* The path of an object named by its whole key in the bucket (no
 * prefix added: backups' objects, issue 17). */
int s3_bucket_path(const struct s3 *s3, const char *name, char *out, size_t n);
/* A presigned GET URL (SigV4 query signing, HMAC-SHA256 from mbedTLS). */
int s3_presign(struct s3 *s3, const char *key, const char *disposition, const char *type,
               int64_t now_s, char **url);
/* Hex SHA-256 of data into out[65]. */
void s3_sha256_hex(const void *data, size_t len, char out[65]);

/* xml.c: the text of the first <tag>…</tag> (entities decoded for the few
 * S3 uses) into out; 0, or -1 when absent or too long. */
int s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t n);

/* list_xml.c: one page of ListObjectsV2's answer. fn gets each object
 * (key valid during the call; -1 stops the parse); at most max_objects
 * of them. 0, or -1 with err (any limit passed, any malformed markup). */
#define S3_LIST_PAGE_MAX  1000 /* S3's own max-keys */
#define S3_LIST_DEPTH_MAX 8
struct s3_list_page {
	int truncated;
	char next_token[1025];
	size_t n;
};
typedef int (*s3_list_object_fn)(void *ud, const char *key, int64_t size, int64_t mtime_ms);
int s3_list_parse(const char *xml, size_t len, size_t max_objects, s3_list_object_fn fn, void *ud,
                  struct s3_list_page *page, char *err, size_t errlen);

/* writer.c: the vtable's write side. */
int s3_begin(void *self, const char *key, const char *type, const char *disposition, int64_t size,
             void **handle);
int s3_write(void *handle, const void *data, size_t len, parley_upload_done done, void *ud);
/* s3_write of a chunk whose SHA-256 (hex) the caller computed off the
 * loop: when the chunk starts a part, the part is sent with that hash
 * instead of being hashed on the loop (so chunks of part_size, the last
 * one shorter, are never hashed here). */
int s3_write_hashed(void *handle, const void *data, size_t len, const char *sha,
                    parley_upload_done done, void *ud);
int s3_finish(void *handle, parley_upload_done done, void *ud);
void s3_abort(void *handle);
/* The same writer for an object named by its whole key (no prefix),
 * stored as application/octet-stream (objects.c). */
int s3_begin_named(struct s3 *s3, const char *name, void **handle);
/* Why the writer failed, or NULL while it has not. */
const char *s3_writer_error(void *handle);

/* objects.c: the object store members (issue 17). */
int s3_put_object(void *self, const char *key, const char *path, parley_upload_done done, void *ud);
int s3_get_object(void *self, const char *key, const char *path, parley_upload_done done, void *ud);
int s3_list_objects(void *self, const char *prefix, size_t limit, parley_object_list_done done,
                    void *ud);
int s3_delete_object(void *self, const char *key, parley_upload_done done, void *ud);
/* fini: ends the puts under way (their done says the server is stopping). */
void s3_objects_stop(struct s3 *s3);

#endif
