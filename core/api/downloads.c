/* GET /api/uploads/{id}: authenticate, fetch the record, check access (the
 * uploader; once attached, the members of its room; a bot token also needs
 * the read scope and, if it lists rooms, that room), then either redirect
 * to a presigned URL or stream the object: one provider read at a time,
 * the next one when the connection's queue has drained, so a large file
 * never sits in memory and a slow reader slows only itself. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "chat/scope.h"
#include "host/auth.h"
#include "net/conn.h"
#include "net/http.h"
#include "base/log.h"
#include "host/plugin_host.h"
#include "chat/room.h"
#include "api/upload_headers.h"
#include "api/uploads.h"

#define READ_CHUNK  (256 * 1024)
#define QUEUE_HIGH  (1024 * 1024) /* bytes queued before waiting for a drain */
#define QUEUE_LOW   (256 * 1024)
#define HEADERS_MAX (2048 + UPLOAD_NAME_MAX * 4)
#define DL_ID_MAX   64

struct download {
	uint64_t conn_id;
	char id[DL_ID_MAX];
	char *key;
	int64_t next, last; /* the byte to read next, the last byte to send */
};

static void download_free(struct download *d)
{
	free(d->key);
	free(d);
}

static void read_next(struct download *d);

static void drained(void *arg)
{
	struct download *d = arg;
	if (!http_request_find(d->conn_id)) {
		download_free(d);
		return;
	}
	read_next(d);
}

static void chunk_read(void *ud, int rc, const void *data, size_t n, const char *error)
{
	struct download *d = ud;
	struct http_request *req = http_request_find(d->conn_id);
	if (!req) {
		download_free(d);
		return;
	}
	if (rc < 0 || n == 0 || (int64_t)n > d->last - d->next + 1) {
		/* The head is out: the only honest end is to cut the connection. */
		char ctx[128];
		snprintf(ctx, sizeof ctx, "\"conn\":%" PRIu64 ",\"upload\":\"%s\"", d->conn_id,
		         d->id);
		log_warn("download_failed", ctx, "read at %" PRId64 ": %s", d->next,
		         rc < 0 ? (error ? error : "error") : "file shorter than its record");
		conn_close(req->c, "download_failed");
		download_free(d);
		return;
	}
	conn_write(req->c, data, n);
	d->next += (int64_t)n;
	if (d->next > d->last) {
		http_respond_finish(req);
		download_free(d);
		return;
	}
	if (conn_queued(req->c) > QUEUE_HIGH)
		conn_when_drained(req->c, QUEUE_LOW, drained, d);
	else
		read_next(d);
}

static void read_next(struct download *d)
{
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	int64_t left = d->last - d->next + 1;
	size_t len = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
	int rc = vt ? vt->read(self, d->key, d->next, len, chunk_read, d) : PARLEY_EUNAVAIL;
	if (rc != PARLEY_PENDING) {
		struct http_request *req = http_request_find(d->conn_id);
		if (req)
			conn_close(req->c, "download_failed");
		download_free(d);
	}
}

static int may_read(const parley_upload *u, const char *user_id)
{
	if (strcmp(u->user_id, user_id) == 0)
		return 1;
	room *r = u->room_id ? room_by_id(u->room_id) : NULL;
	return r && room_member(r, user_id) != NULL;
}

static void serve(struct http_request *req, struct download *d, const parley_upload *u)
{
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	char disp[64 + UPLOAD_NAME_MAX * 4], headers[HEADERS_MAX];
	if (!vt || upload_content_disposition(disp, sizeof disp, upload_type_inline(u->type),
	                                      u->name) < 0) {
		http_respond_error(req, 503, "unavailable", "uploads are not available");
		download_free(d);
		return;
	}
	if (vt->presign) {
		char *url = NULL;
		if (vt->presign(self, u->key, disp, u->type, &url) != PARLEY_OK || !url) {
			http_respond_error(req, 502, "storage_failed", "no link to the file");
			download_free(d);
			return;
		}
		snprintf(headers, sizeof headers,
		         "Location: %s\r\nCache-Control: private, no-store\r\n", url);
		plugins_host()->free(NULL, url);
		http_respond(req, 302, NULL, headers, NULL, 0);
		download_free(d);
		return;
	}
	if (!vt->read) {
		http_respond_error(req, 501, "internal", "the uploads provider cannot read files");
		download_free(d);
		return;
	}
	int64_t first = 0, last = u->size - 1;
	enum range_result rr = range_parse(http_header(req, "range"), u->size, &first, &last);
	if (rr == RANGE_UNSATISFIABLE) {
		snprintf(headers, sizeof headers, "Content-Range: bytes */%" PRId64 "\r\n",
		         u->size);
		static const char body[] = "{\"error\":{\"code\":\"range_not_satisfiable\","
		                           "\"message\":\"the range is outside the file\"}}\n";
		http_respond(req, 416, "application/json", headers, body, sizeof body - 1);
		download_free(d);
		return;
	}
	int n = snprintf(headers, sizeof headers,
	                 "Content-Disposition: %s\r\nAccept-Ranges: bytes\r\n"
	                 "Cache-Control: private, max-age=3600\r\n"
	                 "Content-Security-Policy: default-src 'none'; sandbox\r\n",
	                 disp);
	if (rr == RANGE_OK)
		snprintf(headers + n, sizeof headers - (size_t)n,
		         "Content-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64 "\r\n", first,
		         last, u->size);
	else
		last = u->size - 1;
	if (http_respond_begin(req, rr == RANGE_OK ? 206 : 200, u->type, headers,
	                       last - first + 1) < 0) {
		download_free(d);
		return;
	}
	if (strcmp(req->method, "HEAD") == 0 || last < first) {
		http_respond_finish(req);
		download_free(d);
		return;
	}
	if (!(d->key = strdup(u->key))) {
		conn_close(req->c, "out_of_memory");
		download_free(d);
		return;
	}
	d->next = first;
	d->last = last;
	read_next(d);
}

struct lookup {
	struct download *d;
	const struct api_route *route;
	char user_id[DL_ID_MAX];
	struct scope *scope; /* a bot token's, or NULL */
};

static void lookup_free(struct lookup *lk)
{
	scope_free(lk->scope);
	free(lk);
}

static void got_record(void *ud, const parley_store_result *res)
{
	struct lookup *lk = ud;
	struct download *d = lk->d;
	struct http_request *req = http_request_find(d->conn_id);
	if (!req) {
		download_free(d);
	} else if (res->rc == PARLEY_ENOTFOUND || res->rc == PARLEY_EINVAL || !res->n_uploads) {
		http_respond_error(req, 404, "not_found", "no such upload");
		download_free(d);
	} else if (res->rc != PARLEY_OK) {
		http_respond_error(req, 503, "unavailable", "the store is not available");
		download_free(d);
	} else if (scope_hides_room(lk->scope, res->uploads[0].room_id)) {
		/* Outside the token's rooms: as unknown as a room it cannot see. */
		http_respond_error(req, 404, "not_found", "no such upload");
		download_free(d);
	} else if (!may_read(&res->uploads[0], lk->user_id)) {
		http_respond_error(req, 403, "forbidden",
		                   "only the uploader and the members of the room it was posted in "
		                   "may read this file");
		download_free(d);
	} else {
		serve(req, d, &res->uploads[0]);
	}
	lookup_free(lk);
}

static void authenticated(void *ud, const parley_auth_result *res)
{
	struct lookup *lk = ud;
	struct download *d = lk->d;
	struct http_request *req = http_request_find(d->conn_id);
	void *self;
	const parley_store_vtable *st = plugins_uploads_store(&self);
	int rc;
	if (!req)
		goto drop;
	if (res->rc != PARLEY_OK || !res->user || !res->user->id ||
	    strlen(res->user->id) >= sizeof lk->user_id) {
		http_respond_error(req, 401, "unauthorized", "invalid or expired token");
		goto drop;
	}
	snprintf(lk->user_id, sizeof lk->user_id, "%s", res->user->id);
	int bad = 0;
	const char *why;
	lk->scope = scope_parse(res->scopes, res->rooms_json, &bad);
	rc = api_access(lk->route, lk->scope, bad, res->user->role, NULL, &why);
	if (rc != PARLEY_OK) {
		api_fail(req, rc, why, 0);
		goto drop;
	}
	rc = st ? st->upload_get(self, d->id, got_record, lk) : PARLEY_EUNAVAIL;
	if (rc == PARLEY_PENDING)
		return;
	if (rc == PARLEY_EINVAL)
		http_respond_error(req, 404, "not_found", "no such upload");
	else
		http_respond_error(req, 503, "unavailable", "the store is not available");
drop:
	download_free(d);
	lookup_free(lk);
}

void api_download(struct http_request *req, const struct api_route *r, const char *upload_id)
{
	void *self;
	if (!plugins_uploads(&self)) {
		http_respond_error(req, 404, "not_found", "no uploads provider is configured");
		return;
	}
	if (strlen(upload_id) >= DL_ID_MAX) {
		http_respond_error(req, 404, "not_found", "no such upload");
		return;
	}
	char *token = api_request_token(req);
	if (!token)
		return;
	struct download *d = calloc(1, sizeof *d);
	struct lookup *lk = calloc(1, sizeof *lk);
	if (!d || !lk) {
		free(d);
		free(lk);
		free(token);
		http_respond_error(req, 500, "internal", "out of memory");
		return;
	}
	d->conn_id = req->conn_id;
	snprintf(d->id, sizeof d->id, "%s", upload_id);
	lk->d = d;
	lk->route = r;
	int rc = auth_token(token, authenticated, lk);
	free(token);
	if (rc < 0) {
		http_respond_error(req, 401, "unauthorized", "invalid or expired token");
		download_free(d);
		free(lk);
	}
}

/* The origin ("https://host[:port]") that presigned links point to, for the
 * web client's Content-Security-Policy (img-src, media-src): learned once
 * from a link made for a probe key (signing is local and cheap), so it is
 * exactly what redirects will use. NULL when downloads are not redirected. */
const char *downloads_redirect_origin(void)
{
	static char origin[256];
	static int known;
	void *self;
	const parley_uploads_vtable *vt;
	char *url = NULL;
	if (known)
		return origin[0] ? origin : NULL;
	if (!(vt = plugins_uploads(&self)))
		return NULL; /* not loaded yet: ask again later */
	known = 1;
	if (!vt->presign || vt->presign(self, "csp-probe", NULL, NULL, &url) != PARLEY_OK || !url)
		return NULL;
	const char *host = strstr(url, "://");
	size_t n = host ? (size_t)(host + 3 - url) + strcspn(host + 3, "/?#") : 0;
	/* Only a plain origin may go into a header: no spaces, quotes or ';'. */
	if (n > 0 && n < sizeof origin && !memchr(url, ' ', n) && !memchr(url, ';', n) &&
	    !memchr(url, '\'', n) && !memchr(url, '"', n) && !memchr(url, '\r', n) &&
	    !memchr(url, '\n', n)) {
		memcpy(origin, url, n);
		origin[n] = '\0';
	}
	plugins_host()->free(NULL, url);
	return origin[0] ? origin : NULL;
}
