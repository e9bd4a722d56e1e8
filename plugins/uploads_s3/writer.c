/* The streaming write of one object.
 *
 * Bytes fill a part buffer of part_size. An object that ends inside the
 * first part goes up with one PUT. Past it, a multipart upload starts
 * (CreateMultipartUpload), full parts go up as they fill, at most
 * `parallel` at a time, and finish completes it with the parts' ETags.
 * write() answers PENDING while `parallel` parts wait or travel, so memory
 * stays within (parallel + 1) parts whatever the file size.
 *
 * A part that still fails after the request's retries fails the object:
 * the other transfers are cancelled and AbortMultipartUpload is sent (its
 * failure is logged and counted: the bucket then needs a lifecycle rule
 * for incomplete uploads), and the core hears the error. */
#include <stdio.h>
#include <string.h>

#include "s3.h"

enum part_state { PART_FILLING, PART_QUEUED, PART_SENDING, PART_DONE };

struct part {
	struct part *next;
	struct writer *w;
	int number;
	enum part_state state;
	unsigned char *data;
	size_t len;
	struct s3_req *req;
	char etag[200];
	char sha[65]; /* the data's SHA-256 when the writer's caller gave it; "": not known */
};

struct writer {
	struct s3 *s3;
	char key[128];
	char path[S3_URL_MAX];
	char upload_id[512]; /* set once CreateMultipartUpload answered */
	char type[128], disposition[1200];
	struct s3_req *control; /* create, single PUT or complete */
	struct part *parts, *last;
	int next_number;
	int waiting_parts; /* queued or sending */
	int failed;
	char error[S3_ERROR_MAX];
	int finishing;
	char *complete_xml;
	parley_upload_done waiter, finish_done;
	void *waiter_ud, *finish_ud;
	parley_timer *notify; /* tells the core of a failure, off the stack */
};

static void pump(struct writer *w);

static void part_free(struct s3 *s3, struct part *p)
{
	s3_req_cancel(p->req);
	s3->host->free(s3->ctx, p->data);
	s3->host->free(s3->ctx, p);
}

static void writer_free(struct writer *w)
{
	struct s3 *s3 = w->s3;
	while (w->parts) {
		struct part *p = w->parts;
		w->parts = p->next;
		part_free(s3, p);
	}
	s3_req_cancel(w->control);
	if (w->notify)
		s3->host->timer_stop(w->notify);
	s3->host->free(s3->ctx, w->complete_xml);
	s3->host->free(s3->ctx, w);
}

static void abort_sent(struct s3_req *r, void *ud)
{
	struct s3 *s3 = ud;
	const struct s3_result *res = s3_req_result(r);
	if (res->error) {
		s3->host->metric_add(s3->m_abort_failures, 1);
		s3->host->log(s3->ctx, PARLEY_LOG_ERROR, "s3_abort_failed",
		              "%s: parts may stay in the bucket until a lifecycle rule for "
		              "incomplete multipart uploads removes them",
		              res->error);
	} else {
		s3->host->log(s3->ctx, PARLEY_LOG_INFO, "s3_aborted", "multipart upload aborted");
	}
	s3_req_free(r);
}

/* AbortMultipartUpload, owned by the plugin (it outlives the writer). */
static void send_abort(struct writer *w)
{
	struct s3 *s3 = w->s3;
	char query[1024], enc[900];
	if (!w->upload_id[0] || s3_uri_encode(w->upload_id, 0, enc, sizeof enc) < 0)
		return;
	snprintf(query, sizeof query, "uploadId=%s", enc);
	s3->host->metric_add(s3->m_aborts, 1);
	s3->host->log(s3->ctx, PARLEY_LOG_WARN, "s3_abort", "aborting multipart upload of %s (%s)",
	              w->key, w->error);
	if (!s3_req_start(s3, "DELETE", w->path, query, NULL, 0, abort_sent, s3,
	                  "AbortMultipartUpload")) {
		s3->host->metric_add(s3->m_abort_failures, 1);
		s3->host->log(s3->ctx, PARLEY_LOG_ERROR, "s3_abort_failed",
		              "cannot start AbortMultipartUpload of %s", w->key);
	}
}

static void notify_failure(void *arg)
{
	struct writer *w = arg;
	w->notify = NULL;
	if (w->finishing) {
		parley_upload_done cb = w->finish_done;
		void *ud = w->finish_ud;
		char copy[S3_ERROR_MAX];
		snprintf(copy, sizeof copy, "%s", w->error);
		writer_free(w); /* after finish, the writer is ours to end */
		cb(ud, PARLEY_ERR, copy);
		return;
	}
	if (w->waiter) {
		parley_upload_done cb = w->waiter;
		w->waiter = NULL;
		cb(w->waiter_ud, PARLEY_ERR, w->error);
	}
}

/* The object failed: stop everything, abort the multipart upload, and
 * tell the core (which then calls abort(), or finish's done says it). */
static void fail(struct writer *w, const char *error)
{
	struct s3 *s3 = w->s3;
	if (w->failed)
		return;
	w->failed = 1;
	snprintf(w->error, sizeof w->error, "%s", error);
	s3->host->metric_add(s3->m_failures, 1);
	s3->host->log(s3->ctx, PARLEY_LOG_ERROR, "s3_upload_failed", "%s: %s", w->key, error);
	for (struct part *p = w->parts; p; p = p->next) {
		s3_req_cancel(p->req);
		p->req = NULL;
	}
	s3_req_cancel(w->control);
	w->control = NULL;
	send_abort(w);
	/* The core hears it from a fresh stack: it may free the writer. */
	w->notify = s3->host->timer_start(s3->ctx, 0, 0, notify_failure, w);
}

static void finished_ok(struct writer *w)
{
	parley_upload_done cb = w->finish_done;
	void *ud = w->finish_ud;
	writer_free(w);
	cb(ud, PARLEY_OK, NULL);
}

static void complete_done(struct s3_req *r, void *ud)
{
	struct writer *w = ud;
	const struct s3_result *res = s3_req_result(r);
	char code[64];
	w->control = NULL;
	/* S3 may answer 200 and then an error in the body. */
	if (res->error || s3_xml_text(res->body, res->body_len, "Code", code, sizeof code) == 0) {
		char error[S3_ERROR_MAX];
		snprintf(error, sizeof error, "%s", res->error ? res->error : code);
		s3_req_free(r);
		fail(w, error);
		return;
	}
	s3_req_free(r);
	finished_ok(w);
}

static void complete(struct writer *w)
{
	struct s3 *s3 = w->s3;
	size_t cap = 128 + (size_t)w->next_number * 300;
	char *xml = s3->host->alloc(s3->ctx, cap);
	if (!xml) {
		fail(w, "out of memory");
		return;
	}
	size_t o = (size_t)snprintf(xml, cap, "<CompleteMultipartUpload>");
	for (struct part *p = w->parts; p; p = p->next)
		o += (size_t)snprintf(xml + o, cap - o,
		                      "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
		                      p->number, p->etag);
	o += (size_t)snprintf(xml + o, cap - o, "</CompleteMultipartUpload>");
	w->complete_xml = xml;
	char query[1024], enc[900];
	s3_uri_encode(w->upload_id, 0, enc, sizeof enc);
	snprintf(query, sizeof query, "uploadId=%s", enc);
	w->control = s3_req_start(s3, "POST", w->path, query, xml, o, complete_done, w,
	                          "CompleteMultipartUpload");
	if (!w->control)
		fail(w, "cannot start CompleteMultipartUpload");
}

static void part_done(struct s3_req *r, void *ud)
{
	struct part *p = ud;
	struct writer *w = p->w;
	struct s3 *s3 = w->s3;
	const struct s3_result *res = s3_req_result(r);
	p->req = NULL;
	if (res->error || !res->etag[0]) {
		char error[S3_ERROR_MAX];
		snprintf(error, sizeof error, "part %d: %s", p->number,
		         res->error ? res->error : "no ETag in the answer");
		s3_req_free(r);
		fail(w, error);
		return;
	}
	snprintf(p->etag, sizeof p->etag, "%s", res->etag);
	s3_req_free(r);
	p->state = PART_DONE;
	s3->host->free(s3->ctx, p->data);
	p->data = NULL;
	w->waiting_parts--;
	pump(w);
	if (w->failed)
		return;
	if (w->waiter && w->waiting_parts < w->s3->cfg.parallel) {
		parley_upload_done cb = w->waiter;
		w->waiter = NULL;
		cb(w->waiter_ud, PARLEY_OK, NULL);
	}
}

static void created(struct s3_req *r, void *ud)
{
	struct writer *w = ud;
	const struct s3_result *res = s3_req_result(r);
	w->control = NULL;
	if (res->error || s3_xml_text(res->body, res->body_len, "UploadId", w->upload_id,
	                              sizeof w->upload_id) < 0) {
		char error[S3_ERROR_MAX];
		snprintf(error, sizeof error, "%s",
		         res->error ? res->error : "CreateMultipartUpload: no UploadId");
		s3_req_free(r);
		fail(w, error);
		return;
	}
	s3_req_free(r);
	pump(w);
}

static void single_done(struct s3_req *r, void *ud)
{
	struct writer *w = ud;
	const struct s3_result *res = s3_req_result(r);
	w->control = NULL;
	if (res->error) {
		char error[S3_ERROR_MAX];
		snprintf(error, sizeof error, "%s", res->error);
		s3_req_free(r);
		fail(w, error);
		return;
	}
	s3_req_free(r);
	finished_ok(w);
}

/* Starts what can start: the multipart upload, queued parts, completion. */
static void pump(struct writer *w)
{
	struct s3 *s3 = w->s3;
	if (w->failed || w->control)
		return;
	if (!w->upload_id[0]) {
		w->control =
		    s3_req_start_object(s3, "POST", w->path, "uploads=", NULL, 0, NULL, w->type,
		                        w->disposition, created, w, "CreateMultipartUpload");
		if (!w->control)
			fail(w, "cannot start CreateMultipartUpload");
		return;
	}
	int sending = 0, all_done = 1;
	for (struct part *p = w->parts; p; p = p->next) {
		if (p->state == PART_SENDING)
			sending++;
		if (p->state != PART_DONE)
			all_done = 0;
	}
	for (struct part *p = w->parts; p && sending < s3->cfg.parallel; p = p->next) {
		if (p->state != PART_QUEUED)
			continue;
		char query[1024], enc[900], what[64];
		s3_uri_encode(w->upload_id, 0, enc, sizeof enc);
		/* Sorted by name: partNumber before uploadId. */
		snprintf(query, sizeof query, "partNumber=%d&uploadId=%s", p->number, enc);
		snprintf(what, sizeof what, "UploadPart %d", p->number);
		p->state = PART_SENDING;
		p->req = s3_req_start_sha(s3, "PUT", w->path, query, p->data, p->len, p->sha,
		                          part_done, p, what);
		if (!p->req) {
			fail(w, "cannot start UploadPart");
			return;
		}
		sending++;
	}
	if (w->finishing && all_done && w->parts)
		complete(w);
}

/* The part being filled; a new one when there is none. */
static struct part *filling(struct writer *w)
{
	struct s3 *s3 = w->s3;
	if (w->last && w->last->state == PART_FILLING)
		return w->last;
	struct part *p = s3->host->calloc(s3->ctx, 1, sizeof *p);
	if (!p || !(p->data = s3->host->alloc(s3->ctx, (size_t)s3->cfg.part_size))) {
		s3->host->free(s3->ctx, p);
		return NULL;
	}
	p->w = w;
	p->number = ++w->next_number;
	if (w->last)
		w->last->next = p;
	else
		w->parts = p;
	w->last = p;
	return p;
}

/* A writer for the object at path (already the bucket's path); key names
 * it in logs. */
static int begin_path(struct s3 *s3, const char *key, int path_ok, const char *path,
                      const char *type, const char *disposition, void **handle)
{
	if (!type || !disposition || strlen(type) >= 128 || strlen(disposition) >= 1200 ||
	    !path_ok || strlen(path) >= sizeof((struct writer *)0)->path)
		return PARLEY_EINVAL;
	struct writer *w = s3->host->calloc(s3->ctx, 1, sizeof *w);
	if (!w)
		return PARLEY_ENOMEM;
	w->s3 = s3;
	snprintf(w->key, sizeof w->key, "%s", key);
	snprintf(w->type, sizeof w->type, "%s", type);
	snprintf(w->disposition, sizeof w->disposition, "%s", disposition);
	snprintf(w->path, sizeof w->path, "%s", path);
	*handle = w;
	return PARLEY_OK;
}

int s3_begin(void *self, const char *key, const char *type, const char *disposition, int64_t size,
             void **handle)
{
	struct s3 *s3 = self;
	char path[S3_URL_MAX];
	(void)size;
	if (strlen(key) >= sizeof((struct writer *)0)->key)
		return PARLEY_EINVAL;
	int ok = s3_object_path(s3, key, path, sizeof path) == 0;
	return begin_path(s3, key, ok, path, type, disposition, handle);
}

const char *s3_writer_error(void *handle)
{
	struct writer *w = handle;
	return w->failed ? w->error : NULL;
}

int s3_begin_named(struct s3 *s3, const char *name, void **handle)
{
	char path[S3_URL_MAX];
	int ok = s3_bucket_path(s3, name, path, sizeof path) == 0;
	return begin_path(s3, name, ok, path, "application/octet-stream", "attachment", handle);
}

int s3_write(void *handle, const void *data, size_t len, parley_upload_done done, void *ud)
{
	struct writer *w = handle;
	const unsigned char *d = data;
	if (w->failed)
		return PARLEY_ERR;
	while (len > 0) {
		struct part *p = filling(w);
		if (!p)
			return PARLEY_ENOMEM;
		size_t room = (size_t)w->s3->cfg.part_size - p->len;
		size_t take = len < room ? len : room;
		if (p->len > 0)
			p->sha[0] = '\0'; /* a hash given was of the part's first chunk only */
		memcpy(p->data + p->len, d, take);
		p->len += take;
		d += take;
		len -= take;
		if (p->len == (size_t)w->s3->cfg.part_size) {
			p->state = PART_QUEUED;
			w->waiting_parts++;
			pump(w);
			if (w->failed)
				return PARLEY_ERR;
		}
	}
	if (w->waiting_parts < w->s3->cfg.parallel)
		return PARLEY_OK;
	w->waiter = done;
	w->waiter_ud = ud;
	return PARLEY_PENDING;
}

int s3_write_hashed(void *handle, const void *data, size_t len, const char *sha,
                    parley_upload_done done, void *ud)
{
	struct writer *w = handle;
	if (w->failed)
		return PARLEY_ERR;
	struct part *p = filling(w);
	if (!p)
		return PARLEY_ENOMEM;
	if (p->len == 0 && len <= (size_t)w->s3->cfg.part_size && sha && strlen(sha) == 64)
		memcpy(p->sha, sha, 65);
	return s3_write(handle, data, len, done, ud);
}

int s3_finish(void *handle, parley_upload_done done, void *ud)
{
	struct writer *w = handle;
	struct s3 *s3 = w->s3;
	if (w->failed) {
		writer_free(w);
		return PARLEY_ERR;
	}
	w->finishing = 1;
	w->finish_done = done;
	w->finish_ud = ud;
	w->waiter = NULL;
	struct part *only = w->parts;
	if (!only || (!only->next && only->state == PART_FILLING)) {
		/* The whole object fits one part: a single PUT. */
		w->control = s3_req_start_object(
		    s3, "PUT", w->path, "", only ? only->data : NULL, only ? only->len : 0,
		    only ? only->sha : NULL, w->type, w->disposition, single_done, w, "PutObject");
		if (!w->control) {
			writer_free(w);
			return PARLEY_EUNAVAIL;
		}
		return PARLEY_PENDING;
	}
	if (w->last && w->last->state == PART_FILLING) {
		if (w->last->len > 0) {
			w->last->state = PART_QUEUED;
			w->waiting_parts++;
		} else {
			w->last->state = PART_DONE; /* never sent: dropped below */
		}
	}
	/* An empty trailing part (the file ended on a part boundary) goes. */
	struct part **pp = &w->parts, *prev = NULL;
	while (*pp) {
		struct part *p = *pp;
		if (p->state == PART_DONE && !p->etag[0] && !p->req) {
			*pp = p->next;
			part_free(s3, p);
			continue;
		}
		prev = p;
		pp = &p->next;
	}
	w->last = prev;
	pump(w);
	return PARLEY_PENDING; /* a failure in pump reaches done through notify */
}

void s3_abort(void *handle)
{
	struct writer *w = handle;
	if (!w->failed && w->upload_id[0]) {
		snprintf(w->error, sizeof w->error, "the upload was abandoned");
		send_abort(w);
	}
	writer_free(w);
}
