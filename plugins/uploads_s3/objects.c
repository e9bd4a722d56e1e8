/* The object store members (issue 17): backups put, list, fetch and
 * remove whole objects named by their key in the bucket, through the same
 * signed requests as uploads (request.c) and the same streaming writer
 * (writer.c: one PUT, or a multipart upload past part_size).
 *
 * Nothing here blocks the loop on a file: put_object reads the file a
 * part (part_size) at a time on the host's worker pool, hashes it there
 * too (SigV4 signs each body's SHA-256), and hands it to the writer on the
 * loop (whose backpressure paces the reads); get_object
 * writes each piece curl receives as it comes (a write to the page cache,
 * as the host's own file writes). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3.h"

#define LIST_RESPONSE_MAX (8 * 1024 * 1024) /* a page of 1000 keys of 1024 bytes, escaped */
#define LIST_PAGES_MAX    100000
#define SMALL_RESPONSE    (64 * 1024)

/* A key a backup may use: not empty, at most S3_KEY_MAX bytes, no control
 * characters, no leading '/', no "." or ".." segment. */
static int key_ok(const char *key, int may_be_empty)
{
	size_t len = key ? strlen(key) : 0;
	if (!key || (len == 0 && !may_be_empty) || len > S3_KEY_MAX || key[0] == '/')
		return 0;
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	for (const char *seg = key; *seg;) {
		size_t n = strcspn(seg, "/");
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		seg += n + (seg[n] == '/');
	}
	return 1;
}

/* ---- put_object ---------------------------------------------------- */

struct put {
	struct put *prev, *next; /* s3->puts: what fini must end */
	struct s3 *s3;
	void *handle; /* the writer, until finish's done or abort */
	int reading;  /* a read is on the worker pool */
	int orphaned; /* ended while reading: the read's done only frees it */
	int fd;
	unsigned char *buf;
	size_t chunk; /* part_size: each read fills one part of the writer */
	ssize_t got;
	char sha[65];
	int read_errno;
	off_t off;
	parley_upload_done done;
	void *ud;
};

static void put_end(struct put *op, int rc, const char *error)
{
	struct s3 *s3 = op->s3;
	parley_upload_done done = op->done;
	void *ud = op->ud;
	if (op->prev)
		op->prev->next = op->next;
	else
		s3->puts = op->next;
	if (op->next)
		op->next->prev = op->prev;
	/* op and buf are the C library's, not the host's: a read on the pool
	 * may hold them past fini (freed when the pool hands it back, before
	 * unload), and the host counts what is left at fini as a leak. */
	if (op->reading) {
		op->orphaned = 1;
	} else {
		close(op->fd);
		free(op->buf);
		free(op);
	}
	done(ud, rc, error);
	s3_unref(s3);
}

static void put_fail(struct put *op, const char *error)
{
	char copy[S3_ERROR_MAX]; /* error may be the writer's, which abort frees */
	snprintf(copy, sizeof copy, "%s", error ? error : "PutObject failed");
	if (op->handle)
		s3_abort(op->handle);
	op->handle = NULL;
	put_end(op, PARLEY_ERR, copy);
}

/* Worker: the next part of the file (short only at its end), hashed. */
static void read_work(void *arg)
{
	struct put *op = arg;
	size_t have = 0;
	op->read_errno = 0;
	while (have < op->chunk) {
		ssize_t n = pread(op->fd, op->buf + have, op->chunk - have, op->off + (off_t)have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			op->read_errno = errno;
			op->got = -1;
			return;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	op->got = (ssize_t)have;
	if (have > 0)
		s3_sha256_hex(op->buf, have, op->sha);
}

static void read_done(void *arg, int cancelled);

static int read_next(struct put *op)
{
	if (op->s3->stopping || op->s3->host->submit(op->s3->ctx, read_work, read_done, op) < 0)
		return PARLEY_EUNAVAIL;
	op->reading = 1;
	return PARLEY_OK;
}

static void put_finished(void *ud, int rc, const char *error)
{
	struct put *op = ud;
	op->handle = NULL; /* the writer is gone either way */
	put_end(op, rc, error);
}

static void write_ready(void *ud, int rc, const char *error)
{
	struct put *op = ud;
	if (rc != PARLEY_OK)
		put_fail(op, error ? error : "PutObject failed");
	else if (read_next(op) != PARLEY_OK)
		put_fail(op, "PutObject: the worker pool is stopped");
}

static void read_done(void *arg, int cancelled)
{
	struct put *op = arg;
	char why[S3_ERROR_MAX];
	if (op->orphaned) {
		close(op->fd);
		free(op->buf);
		free(op);
		return;
	}
	op->reading = 0;
	if (cancelled || op->s3->stopping) {
		put_fail(op, "PutObject: stopped");
		return;
	}
	if (op->got < 0) {
		snprintf(why, sizeof why, "PutObject: reading the file: %s",
		         strerror(op->read_errno));
		put_fail(op, why);
		return;
	}
	if (s3_writer_error(op->handle)) {
		snprintf(why, sizeof why, "%s", s3_writer_error(op->handle));
		put_fail(op, why);
		return;
	}
	if (op->got == 0) {
		void *h = op->handle;
		op->handle = NULL;
		int rc = s3_finish(h, put_finished, op);
		if (rc == PARLEY_PENDING)
			op->handle = h; /* still the writer's until put_finished (fini aborts it) */
		else
			put_end(op, rc < 0 ? rc : PARLEY_ERR,
			        "PutObject: cannot finish the object");
		return;
	}
	op->off += op->got;
	int rc = s3_write_hashed(op->handle, op->buf, (size_t)op->got, op->sha, write_ready, op);
	if (rc == PARLEY_OK)
		write_ready(op, PARLEY_OK, NULL);
	else if (rc != PARLEY_PENDING)
		put_fail(op, s3_writer_error(op->handle) ? s3_writer_error(op->handle)
		                                         : "PutObject: the upload failed");
}

int s3_put_object(void *self, const char *key, const char *path, parley_upload_done done, void *ud)
{
	struct s3 *s3 = self;
	if (!key_ok(key, 0) || !path || !done)
		return PARLEY_EINVAL;
	struct put *op = calloc(1, sizeof *op);
	if (!op)
		return PARLEY_ENOMEM;
	op->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (op->fd < 0) {
		int e = errno;
		free(op);
		return e == ENOENT ? PARLEY_ENOTFOUND : PARLEY_ERR;
	}
	op->s3 = s3;
	op->done = done;
	op->ud = ud;
	int rc = PARLEY_ENOMEM;
	op->chunk = (size_t)s3->cfg.part_size;
	if (!(op->buf = malloc(op->chunk)) ||
	    (rc = s3_begin_named(s3, key, &op->handle)) != PARLEY_OK ||
	    (rc = read_next(op)) != PARLEY_OK) {
		if (op->handle)
			s3_abort(op->handle);
		close(op->fd);
		free(op->buf);
		free(op);
		return rc;
	}
	s3->refs++; /* until done: fini may come while a chunk is read */
	op->next = s3->puts;
	if (op->next)
		op->next->prev = op;
	s3->puts = op;
	return PARLEY_PENDING;
}

void s3_objects_stop(struct s3 *s3)
{
	s3->stopping = 1;
	/* The loop has stopped: the writers' requests and timers will not
	 * come back. Every put ends now (its writer aborted); one whose read
	 * is on the pool is freed when the pool hands the read back. */
	while (s3->puts)
		put_fail(s3->puts, "PutObject: the server is stopping");
}

/* ---- get_object ---------------------------------------------------- */

struct get {
	struct s3 *s3;
	int fd;
	char *path;
	parley_upload_done done;
	void *ud;
};

static void got(struct s3_req *r, void *ud)
{
	struct get *op = ud;
	struct s3 *s3 = op->s3;
	const struct s3_result *res = s3_req_result(r);
	char why[S3_ERROR_MAX];
	int rc = PARLEY_OK;
	if (res->error) {
		snprintf(why, sizeof why, "%s", res->error);
		rc = res->status == 404 ? PARLEY_ENOTFOUND : PARLEY_ERR;
	}
	if (close(op->fd) < 0 && rc == PARLEY_OK) {
		snprintf(why, sizeof why, "GetObject: writing %s: %s", op->path, strerror(errno));
		rc = PARLEY_ERR;
	}
	if (rc != PARLEY_OK)
		unlink(op->path);
	parley_upload_done done = op->done;
	void *done_ud = op->ud;
	s3->host->free(s3->ctx, op->path);
	s3->host->free(s3->ctx, op);
	s3_req_free(r);
	done(done_ud, rc, rc == PARLEY_OK ? NULL : why);
	s3_unref(s3);
}

int s3_get_object(void *self, const char *key, const char *path, parley_upload_done done, void *ud)
{
	struct s3 *s3 = self;
	char req_path[S3_URL_MAX];
	if (!key_ok(key, 0) || !path || !done ||
	    s3_bucket_path(s3, key, req_path, sizeof req_path) < 0)
		return PARLEY_EINVAL;
	struct get *op = s3->host->calloc(s3->ctx, 1, sizeof *op);
	if (!op || !(op->path = s3->host->strdup(s3->ctx, path))) {
		s3->host->free(s3->ctx, op);
		return PARLEY_ENOMEM;
	}
	op->s3 = s3;
	op->done = done;
	op->ud = ud;
	op->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = op->fd < 0 ? (errno == EEXIST ? PARLEY_ECONFLICT : PARLEY_ERR) : PARLEY_OK;
	if (rc == PARLEY_OK &&
	    !s3_req_start_read(s3, req_path, "", SMALL_RESPONSE, op->fd, got, op, "GetObject")) {
		close(op->fd);
		unlink(path);
		rc = PARLEY_EUNAVAIL;
	}
	if (rc != PARLEY_OK) {
		s3->host->free(s3->ctx, op->path);
		s3->host->free(s3->ctx, op);
		return rc;
	}
	s3->refs++; /* until done */
	return PARLEY_PENDING;
}

/* ---- list_objects -------------------------------------------------- */

struct list {
	struct s3 *s3;
	char prefix[S3_KEY_MAX + 1];
	size_t limit;
	parley_object_info *objects;
	size_t n, cap;
	int pages;
	char error[S3_ERROR_MAX];
	int error_rc;
	parley_object_list_done done;
	void *ud;
};

static void list_end(struct list *op, int rc, const char *error)
{
	struct s3 *s3 = op->s3;
	op->done(op->ud, rc, rc == PARLEY_OK ? op->objects : NULL, rc == PARLEY_OK ? op->n : 0,
	         error);
	for (size_t i = 0; i < op->n; i++)
		s3->host->free(s3->ctx, (char *)op->objects[i].key);
	s3->host->free(s3->ctx, op->objects);
	s3->host->free(s3->ctx, op);
	s3_unref(s3);
}

static int keep_object(void *ud, const char *key, int64_t size, int64_t mtime_ms)
{
	struct list *op = ud;
	struct s3 *s3 = op->s3;
	if (strncmp(key, op->prefix, strlen(op->prefix)) != 0) {
		snprintf(op->error, sizeof op->error, "ListObjectsV2: a key outside the prefix");
		op->error_rc = PARLEY_ERR;
		return -1;
	}
	if (op->n == op->limit) {
		snprintf(op->error, sizeof op->error,
		         "ListObjectsV2: more than %zu objects under %.300s", op->limit,
		         op->prefix);
		op->error_rc = PARLEY_ETOOLARGE;
		return -1;
	}
	if (op->n == op->cap) {
		size_t cap = op->cap ? op->cap * 2 : 64;
		parley_object_info *grown =
		    s3->host->realloc(s3->ctx, op->objects, cap * sizeof *grown);
		if (!grown)
			return -1;
		op->objects = grown;
		op->cap = cap;
	}
	char *copy = s3->host->strdup(s3->ctx, key);
	if (!copy)
		return -1;
	op->objects[op->n++] =
	    (parley_object_info){.key = copy, .size = size, .mtime_ms = mtime_ms};
	return 0;
}

static int list_page(struct list *op, const char *token);

static void listed(struct s3_req *r, void *ud)
{
	struct list *op = ud;
	const struct s3_result *res = s3_req_result(r);
	struct s3_list_page page;
	char why[S3_ERROR_MAX];
	if (res->error || res->truncated) {
		snprintf(why, sizeof why, "%s",
		         res->error ? res->error : "ListObjectsV2: an answer too long to read");
		s3_req_free(r);
		list_end(op, PARLEY_ERR, why);
		return;
	}
	op->error_rc = PARLEY_ERR;
	op->error[0] = '\0';
	int rc = s3_list_parse(res->body, res->body_len, (size_t)op->s3->cfg.list_page, keep_object,
	                       op, &page, why, sizeof why);
	s3_req_free(r);
	if (rc < 0) {
		list_end(op, op->error_rc, op->error[0] ? op->error : why);
		return;
	}
	if (!page.truncated) {
		list_end(op, PARLEY_OK, NULL);
		return;
	}
	if (++op->pages >= LIST_PAGES_MAX || list_page(op, page.next_token) != PARLEY_OK)
		list_end(op, PARLEY_ERR, "ListObjectsV2: cannot ask for the next page");
}

static int list_page(struct list *op, const char *token)
{
	struct s3 *s3 = op->s3;
	char path[600], query[S3_KEY_MAX * 3 * 2 + 128], etok[S3_KEY_MAX * 3 + 1],
	    epre[S3_KEY_MAX * 3 + 1];
	if (s3_uri_encode(token, 0, etok, sizeof etok) < 0 ||
	    s3_uri_encode(op->prefix, 0, epre, sizeof epre) < 0)
		return PARLEY_EINVAL;
	if (s3->cfg.path_style)
		snprintf(path, sizeof path, "/%s", s3->cfg.bucket);
	else
		snprintf(path, sizeof path, "/");
	/* The parameters sorted by name, as SigV4 signs them (request.c). */
	snprintf(query, sizeof query, "%s%s%slist-type=2&max-keys=%lld&prefix=%s",
	         *token ? "continuation-token=" : "", etok, *token ? "&" : "",
	         (long long)s3->cfg.list_page, epre);
	return s3_req_start_read(s3, path, query, LIST_RESPONSE_MAX, -1, listed, op,
	                         "ListObjectsV2")
	           ? PARLEY_OK
	           : PARLEY_EUNAVAIL;
}

int s3_list_objects(void *self, const char *prefix, size_t limit, parley_object_list_done done,
                    void *ud)
{
	struct s3 *s3 = self;
	if (!key_ok(prefix, 1) || !done || limit == 0)
		return PARLEY_EINVAL;
	struct list *op = s3->host->calloc(s3->ctx, 1, sizeof *op);
	if (!op)
		return PARLEY_ENOMEM;
	op->s3 = s3;
	snprintf(op->prefix, sizeof op->prefix, "%s", prefix);
	op->limit = limit;
	op->done = done;
	op->ud = ud;
	int rc = list_page(op, "");
	if (rc != PARLEY_OK) {
		s3->host->free(s3->ctx, op);
		return rc;
	}
	s3->refs++; /* until done (list_end) */
	return PARLEY_PENDING;
}

/* ---- delete_object ------------------------------------------------- */

struct del {
	parley_upload_done done;
	void *ud;
	struct s3 *s3;
};

static void deleted(struct s3_req *r, void *ud)
{
	struct del *op = ud;
	const struct s3_result *res = s3_req_result(r);
	/* Gone already is what was asked for. */
	int rc = !res->error || res->status == 404 ? PARLEY_OK : PARLEY_ERR;
	char why[S3_ERROR_MAX];
	snprintf(why, sizeof why, "%s", res->error ? res->error : "");
	struct del copy = *op;
	copy.s3->host->free(copy.s3->ctx, op);
	s3_req_free(r);
	copy.done(copy.ud, rc, rc == PARLEY_OK ? NULL : why);
}

int s3_delete_object(void *self, const char *key, parley_upload_done done, void *ud)
{
	struct s3 *s3 = self;
	char path[S3_URL_MAX];
	if (!key_ok(key, 0) || !done || s3_bucket_path(s3, key, path, sizeof path) < 0)
		return PARLEY_EINVAL;
	struct del *op = s3->host->calloc(s3->ctx, 1, sizeof *op);
	if (!op)
		return PARLEY_ENOMEM;
	*op = (struct del){.done = done, .ud = ud, .s3 = s3};
	if (!s3_req_start(s3, "DELETE", path, "", NULL, 0, deleted, op, "DeleteObject")) {
		s3->host->free(s3->ctx, op);
		return PARLEY_EUNAVAIL;
	}
	return PARLEY_PENDING;
}
