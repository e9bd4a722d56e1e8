/* POST /api/uploads: one struct upload per request, from the head to the
 * answer. Its steps: authenticate → (quota: usage from the store) → begin
 * at the provider → body chunks (sniff, SHA-256, limits, provider write
 * with backpressure) → finish → upload hooks → store record → 201.
 *
 * Ownership: before the body sink is installed, async steps find the
 * request by connection id and free the upload when it is gone. After,
 * the sink's gone() says the request died; a provider or store call still
 * on its way then finds `dead` set and cleans up (an object finished for
 * no one is removed: nothing is left behind). */
#include "api/uploads.h"

#include <inttypes.h>
#include <jansson.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/upload_inflight_cluster.h"
#include "base/strmap.h"
#include "chat/scope.h"
#include "host/auth.h"
#include "chat/chat.h"
#include "base/config.h"
#include "host/hooks.h"
#include "net/http.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "host/plugin_host.h"
#include "api/image_meta.h"
#include "api/sniff.h"
#include "api/upload_headers.h"
#include "chat/users.h"
#include "base/workers.h"

#define UPLOAD_KEY_BYTES 16
#define UPLOAD_TYPE_MAX  128
#define UPLOAD_USER_MAX  64
#define QUOTA_WINDOW_MS  (24LL * 3600 * 1000)
#define CLEANUP_BATCH    100

struct upload {
	uint64_t conn_id;
	char user_id[UPLOAD_USER_MAX];
	char key[4 + UPLOAD_KEY_BYTES * 2];
	char *name;
	const struct api_route *route;
	int64_t declared;          /* Content-Length, or -1 */
	int64_t size;              /* bytes received so far */
	int64_t stored;            /* bytes handed to the provider (and hashed) */
	int64_t quota_used;        /* the store's count for the day when it began; -1: no quota */
	struct inflight *inflight; /* the user's uploads in flight (with a quota) */
	int64_t counted;           /* what this one adds to inflight->bytes */
	int recorded;              /* stored and recorded: it stays counted */
	int64_t
	    cluster_reserved; /* bytes reserved in the cluster's count (given back at the end) */
	unsigned char head[SNIFF_BYTES];
	size_t head_len;
	const char *type; /* sniffed (static) */
	mbedtls_sha256_context sha;
	void *handle; /* the provider's, while writing */
	/* SHA-256 runs on the worker pool, one job at a time, over copies of
	 * the chunks (mbedTLS does ~250 MB/s: on the loop thread a fast
	 * upload would take most of it from everyone else's messages). */
	struct hash_chunk *hq_head;              /* being hashed by the running job */
	struct hash_chunk *hq_pending, *hq_tail; /* waiting for the next job */
	size_t hq_bytes;                         /* queued or being hashed */
	int hashing;                             /* a job owns sha and its chunks */
	int hash_wait;                           /* reading paused until the hash queue drains */
	int provider_wait;                       /* reading paused until the provider calls back */
	int record_wait; /* the object is complete: the record waits for the hash */
	int released;    /* freed as soon as the running hash job returns */
	int finishing;   /* finish or the store record on its way */
	int head_wait;   /* the body ended: finish once the head is written */
	int dead;        /* the request is gone */
	/* A photo whose metadata goes: the whole body is kept here, then
	 * rewritten on the worker pool before the provider sees a byte. */
	int img_buffering;
	unsigned char *img;
	size_t img_len, img_cap;
	struct image_meta_result img_out; /* the strip job's result */
	int img_rc;
};

struct hash_chunk {
	struct hash_chunk *next;
	size_t len;
	unsigned char data[];
};

/* Bytes waiting for the hash before reading pauses, and under which it
 * goes on. */
#define HASH_HIGH (1024 * 1024)
#define HASH_LOW  (256 * 1024)

static struct {
	metric *ok, *failed, *bytes, *rejected, *cleaned;
	ev_timer cleanup;
	int cleaning;
} up;

/* A user's uploads in flight, so parallel uploads share one daily quota.
 * bytes: what each running upload counts (its declared size, or the bytes
 * read when more), plus the uploads recorded while any other was still
 * running, whose usage snapshot from the store may predate them. The entry
 * goes when the user's last upload does; until then a recorded upload may
 * be counted twice (in a later snapshot and here), which errs on refusing. */
struct inflight {
	char user_id[UPLOAD_USER_MAX];
	int uploads;
	int64_t bytes;
};

static strmap inflight_by_user;

static struct inflight *inflight_join(const char *user_id)
{
	struct inflight *f = strmap_get(&inflight_by_user, user_id);
	if (!f) {
		if (!(f = calloc(1, sizeof *f)))
			return NULL;
		snprintf(f->user_id, sizeof f->user_id, "%s", user_id);
		if (strmap_put(&inflight_by_user, f->user_id, f) < 0) {
			free(f);
			return NULL;
		}
	}
	f->uploads++;
	return f;
}

/* The bytes u has read beyond what it counted so far join the count. */
static void inflight_count(struct upload *u)
{
	if (!u->inflight || u->size <= u->counted)
		return;
	u->inflight->bytes += u->size - u->counted;
	u->counted = u->size;
}

/* 1 when the day's stored uploads and those in flight pass the quota. */
static int over_quota(const struct upload *u)
{
	return u->inflight &&
	       u->quota_used + u->inflight->bytes > server_config->uploads.quota_per_day;
}

static void inflight_leave(struct upload *u)
{
	struct inflight *f = u->inflight;
	if (!f)
		return;
	u->inflight = NULL;
	if (!u->recorded)
		f->bytes -= u->counted;
	if (--f->uploads == 0) {
		strmap_del(&inflight_by_user, f->user_id);
		free(f);
	}
}

static int64_t max_upload(void)
{
	return server_config ? server_config->limits.max_upload : 25 * 1024 * 1024;
}

static void metrics_once(void)
{
	if (up.ok)
		return;
	up.ok = metric_counter("parley_uploads_total", "Uploads stored.", NULL);
	up.failed = metric_counter("parley_upload_failures_total",
	                           "Uploads that failed in the provider or the store.", NULL);
	up.rejected = metric_counter("parley_upload_rejections_total",
	                             "Uploads refused: size, quota, type or an upload hook.", NULL);
	up.bytes = metric_counter("parley_upload_bytes_total", "Bytes of stored uploads.", NULL);
	up.cleaned =
	    metric_counter("parley_uploads_cleaned_total", "Unattached uploads removed.", NULL);
}

static void upload_free(struct upload *u)
{
	inflight_leave(u);
	if (u->cluster_reserved)
		upload_inflight_release(u->user_id, u->cluster_reserved);
	while (u->hq_pending) {
		struct hash_chunk *c = u->hq_pending;
		u->hq_pending = c->next;
		free(c);
	}
	mbedtls_sha256_free(&u->sha);
	free(u->img);
	free(u->img_out.data);
	free(u->name);
	free(u);
}

/* Frees u, or has the running hash job do it (it owns sha meanwhile). */
static void upload_release(struct upload *u)
{
	if (u->hashing)
		u->released = 1;
	else
		upload_free(u);
}

static void log_ctx(const struct upload *u, char *out, size_t n)
{
	snprintf(out, n, "\"conn\":%" PRIu64 ",\"key\":\"%s\",\"user\":\"%s\"", u->conn_id, u->key,
	         u->user_id);
}

/* Answers the request (if it is still there) with an error. */
static void answer_error(struct upload *u, int status, const char *code, const char *msg)
{
	struct http_request *req = http_request_find(u->conn_id);
	if (!req)
		return;
	if (status == 429) {
		char body[512], emsg[300];
		log_escape(emsg, sizeof emsg, msg);
		int n = snprintf(body, sizeof body,
		                 "{\"error\":{\"code\":\"%s\",\"message\":\"%s\","
		                 "\"retry_after_ms\":3600000}}\n",
		                 code, emsg);
		http_respond(req, status, "application/json", "Retry-After: 3600\r\n", body,
		             (size_t)n);
		return;
	}
	http_respond_error(req, status, code, msg);
}

/* Fails while the body streams: the partial object goes, the answer is
 * sent, and the upload is freed (the sink is cleared by the answer). */
static void fail_streaming(struct upload *u, int status, const char *code, const char *msg)
{
	const parley_uploads_vtable *vt;
	void *self;
	if (u->handle && (vt = plugins_uploads(&self)))
		vt->abort(u->handle);
	u->handle = NULL;
	metric_add(status >= 500 ? up.failed : up.rejected, 1);
	answer_error(u, status, code, msg);
	upload_release(u);
}

static void remove_done(void *ud, int rc, const char *error)
{
	char *key = ud;
	if (rc < 0)
		log_warn("upload_remove", NULL, "removing %s failed: %s", key,
		         error ? error : "error");
	free(key);
}

/* Removes a finished object nobody will reference. */
static void remove_object(const char *key)
{
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	char *copy = strdup(key);
	if (!vt || !copy || vt->remove(self, key, remove_done, copy) != PARLEY_PENDING)
		free(copy);
}

/* ---------------------------------------------------------------- */
/* Body                                                               */
/* ---------------------------------------------------------------- */

static int on_chunk(void *ud, const char *data, size_t len);
static void on_end(void *ud);
static void on_gone(void *ud);
static const struct http_body_sink upload_sink = {on_chunk, on_end, on_gone};

static int type_decided(struct upload *u)
{
	if (u->type)
		return 1;
	u->type = sniff_type(u->head, u->head_len);
	const struct config *cfg = server_config;
	if (cfg && !sniff_type_permitted(u->type, cfg->uploads.allow, cfg->uploads.n_allow,
	                                 cfg->uploads.deny, cfg->uploads.n_deny)) {
		char msg[200];
		snprintf(msg, sizeof msg, "files of type %s are not accepted here", u->type);
		fail_streaming(u, 415, "unsupported_type", msg);
		return 0;
	}
	return 1;
}

static void finish_object(struct upload *u);
static void record_step(struct upload *u);
static void strip_start(struct upload *u);
static int img_append(struct upload *u, const void *data, size_t len);
static int begin_or_buffer(struct upload *u, const char *more, size_t more_len);

/* Reading goes on once neither the provider nor the hash is behind. */
static void maybe_resume(struct upload *u)
{
	if (!u->provider_wait && !u->hash_wait)
		http_body_resume(u->conn_id);
}

static void hash_kick(struct upload *u);

static void hash_work(void *arg)
{
	struct upload *u = arg;
	for (struct hash_chunk *c = u->hq_head; c; c = c->next)
		mbedtls_sha256_update_ret(&u->sha, c->data, c->len);
}

/* The job's chunks were taken off the queue into u->hq_head before it
 * started; new ones wait in u->hq_pending until it is back. */
static void hash_done(void *arg, int cancelled)
{
	struct upload *u = arg;
	(void)cancelled; /* at shutdown: nobody will read the digest */
	while (u->hq_head) {
		struct hash_chunk *c = u->hq_head;
		u->hq_head = c->next;
		u->hq_bytes -= c->len;
		free(c);
	}
	u->hashing = 0;
	if (u->released) {
		upload_free(u);
		return;
	}
	hash_kick(u);
	if (u->hashing)
		return;
	if (u->hash_wait && u->hq_bytes <= HASH_LOW) {
		u->hash_wait = 0;
		maybe_resume(u);
		return;
	}
	if (u->record_wait && !u->hq_pending) {
		u->record_wait = 0;
		record_step(u);
	}
}

/* Starts a job over what is queued unless one runs. */
static void hash_kick(struct upload *u)
{
	if (u->hashing || !u->hq_pending)
		return;
	u->hq_head = u->hq_pending;
	u->hq_pending = u->hq_tail = NULL;
	u->hashing = 1;
	if (workers_submit(hash_work, hash_done, u) != 0) {
		hash_work(u); /* the pool is stopped (shutdown): hash here */
		hash_done(u, 1);
	}
}

/* Queues a copy of a chunk for the hash; -1 without memory. */
static int hash_queue(struct upload *u, const char *data, size_t len)
{
	struct hash_chunk *c = malloc(sizeof *c + len);
	if (!c)
		return -1;
	c->next = NULL;
	c->len = len;
	memcpy(c->data, data, len);
	if (u->hq_tail)
		u->hq_tail->next = c;
	else
		u->hq_pending = c;
	u->hq_tail = c;
	u->hq_bytes += len;
	hash_kick(u);
	if (u->hq_bytes > HASH_HIGH)
		u->hash_wait = 1;
	return 0;
}

static void write_done(void *ud, int rc, const char *error)
{
	struct upload *u = ud;
	if (rc < 0) {
		char ctx[200];
		log_ctx(u, ctx, sizeof ctx);
		log_warn("upload_failed", ctx, "provider write: %s", error ? error : "error");
		fail_streaming(u, 502, "storage_failed", "the file could not be stored");
		return;
	}
	u->provider_wait = 0;
	if (u->head_wait) {
		u->head_wait = 0;
		finish_object(u);
		return;
	}
	maybe_resume(u);
}

/* Hands len bytes to the provider: 0 go on, 1 paused (the provider is
 * behind), -1 failed and answered. */
static int provider_write(struct upload *u, const void *data, size_t len)
{
	/* The hash and the size are of the bytes stored (after any metadata
	 * stripping), not of those received. */
	if (hash_queue(u, data, len) < 0) {
		fail_streaming(u, 500, "internal", "out of memory");
		return -1;
	}
	u->stored += (int64_t)len;
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	int rc = vt ? vt->write(u->handle, data, len, write_done, u) : PARLEY_EUNAVAIL;
	if (rc == PARLEY_PENDING)
		return 1;
	if (rc < 0) {
		fail_streaming(u, 502, "storage_failed", "the file could not be stored");
		return -1;
	}
	return 0;
}

/* The object begins at the provider with its first len bytes; size is
 * what the provider is told to expect (-1: unknown). 0, 1 or -1 as
 * provider_write. */
static int begin_with(struct upload *u, const void *data, size_t len, int64_t size)
{
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	char disp[64 + UPLOAD_NAME_MAX * 4];
	if (!vt || upload_content_disposition(disp, sizeof disp, upload_type_inline(u->type),
	                                      u->name) < 0) {
		fail_streaming(u, 503, "unavailable", "uploads are not available");
		return -1;
	}
	int rc = vt->begin(self, u->key, u->type, disp, size, &u->handle);
	if (rc != PARLEY_OK) {
		char ctx[200];
		log_ctx(u, ctx, sizeof ctx);
		log_warn("upload_failed", ctx, "provider begin: rc %d", rc);
		u->handle = NULL;
		fail_streaming(u, 503, "unavailable", "the file store is not available");
		return -1;
	}
	return provider_write(u, data, len);
}

/* The type is known (the sniffed head is full, or the body ended): the
 * object begins, with the head and then `more` bytes in one write. */
static int begin_object(struct upload *u, const char *more, size_t more_len)
{
	if (!more_len)
		return begin_with(u, u->head, u->head_len, u->declared);
	char *both = malloc(u->head_len + more_len);
	if (!both) {
		fail_streaming(u, 500, "internal", "out of memory");
		return -1;
	}
	memcpy(both, u->head, u->head_len);
	memcpy(both + u->head_len, more, more_len);
	int rc = begin_with(u, both, u->head_len + more_len, u->declared);
	free(both);
	return rc;
}

/* Appends body bytes to the photo kept for stripping. 0, or -1 failed
 * and answered. The body's size limit bounds the buffer. */
static int img_append(struct upload *u, const void *data, size_t len)
{
	if (len > u->img_cap - u->img_len) {
		size_t cap = u->img_cap ? u->img_cap : 64 * 1024;
		while (cap - u->img_len < len)
			cap *= 2;
		unsigned char *p = realloc(u->img, cap);
		if (!p) {
			fail_streaming(u, 500, "internal", "out of memory");
			return -1;
		}
		u->img = p;
		u->img_cap = cap;
	}
	memcpy(u->img + u->img_len, data, len);
	u->img_len += len;
	return 0;
}

/* A JPEG, PNG or WebP loses its metadata unless uploads.keep_metadata. */
static int strips_metadata(const struct upload *u)
{
	return image_meta_handles(u->type) &&
	       !(server_config && server_config->uploads.keep_metadata);
}

/* The type decides: a photo to strip is kept whole until the body ends;
 * anything else begins at the provider now. 0, 1 or -1 as provider_write. */
static int begin_or_buffer(struct upload *u, const char *more, size_t more_len)
{
	if (!type_decided(u))
		return -1;
	if (!strips_metadata(u))
		return begin_object(u, more, more_len);
	u->img_buffering = 1;
	if (img_append(u, u->head, u->head_len) < 0)
		return -1;
	return more_len ? img_append(u, more, more_len) : 0;
}

static int on_chunk(void *ud, const char *data, size_t len)
{
	struct upload *u = ud;
	u->size += (int64_t)len;
	inflight_count(u);
	if (over_quota(u)) {
		fail_streaming(u, 429, "rate_limited", "daily upload quota reached");
		return 0;
	}
	int rc = 0;
	if (u->handle) {
		rc = provider_write(u, data, len);
	} else if (u->img_buffering) {
		rc = img_append(u, data, len);
	} else {
		/* Not begun: the first SNIFF_BYTES decide the type first. */
		size_t take = SNIFF_BYTES - u->head_len < len ? SNIFF_BYTES - u->head_len : len;
		memcpy(u->head + u->head_len, data, take);
		u->head_len += take;
		if (u->head_len == SNIFF_BYTES)
			rc = begin_or_buffer(u, data + take, len - take);
	}
	if (rc < 0)
		return 0; /* failed and answered */
	if (rc > 0)
		u->provider_wait = 1;
	return u->provider_wait || u->hash_wait;
}

static void on_gone(void *ud)
{
	struct upload *u = ud;
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	char ctx[200];
	log_ctx(u, ctx, sizeof ctx);
	log_info("upload_aborted", ctx,
	         "the request ended after %" PRId64 " bytes (waiting for: %s%s%s)", u->size,
	         u->provider_wait ? "provider " : "", u->hash_wait ? "hash " : "",
	         u->finishing ? "finish" : "");
	if (u->finishing) {
		u->dead = 1; /* the pending step cleans up */
		return;
	}
	if (u->handle && vt)
		vt->abort(u->handle);
	metric_add(up.rejected, 1);
	upload_release(u);
}

static void created(void *ud, const parley_store_result *res)
{
	struct upload *u = ud;
	u->finishing = 0;
	if (res->rc != PARLEY_OK || !res->n_uploads) {
		char ctx[200];
		log_ctx(u, ctx, sizeof ctx);
		log_error("upload_failed", ctx, "store: %s", res->error ? res->error : "error");
		remove_object(u->key);
		metric_add(up.failed, 1);
		if (!u->dead)
			answer_error(u, 500, "internal", "the upload could not be recorded");
		upload_release(u);
		return;
	}
	const parley_upload *rec = &res->uploads[0];
	u->recorded = 1;
	metric_add(up.ok, 1);
	metric_add(up.bytes, (double)rec->size);
	struct http_request *req = u->dead ? NULL : http_request_find(u->conn_id);
	if (req) {
		char url[128];
		snprintf(url, sizeof url, "/api/uploads/%s", rec->id);
		json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "id", rec->id, "name", rec->name,
		                      "type", rec->type, "size", (json_int_t)rec->size, "url", url,
		                      "sha256", rec->sha256);
		if (j && rec->tags)
			json_object_set_new(j, "tags", json_string(rec->tags));
		char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (text)
			http_respond_json(req, 201, NULL, text, strlen(text));
		else
			http_respond_error(req, 500, "internal", "out of memory");
		free(text);
	}
	upload_release(u);
}

/* The object is complete: upload hooks, then the record. */
static void finished(void *ud, int rc, const char *error)
{
	struct upload *u = ud;
	char ctx[200];
	log_ctx(u, ctx, sizeof ctx);
	if (rc < 0) {
		log_warn("upload_failed", ctx, "provider finish: %s", error ? error : "error");
		metric_add(up.failed, 1);
		if (!u->dead)
			answer_error(u, 502, "storage_failed", "the file could not be stored");
		upload_release(u);
		return;
	}
	if (u->hashing || u->hq_pending) {
		u->record_wait = 1; /* hash_done goes on */
		return;
	}
	record_step(u);
}

/* The object is complete and hashed: upload hooks, then the record. */
static void record_step(struct upload *u)
{
	char ctx[200];
	log_ctx(u, ctx, sizeof ctx);
	if (u->dead) {
		remove_object(u->key);
		upload_release(u);
		return;
	}
	unsigned char digest[32];
	char hex[65];
	mbedtls_sha256_finish_ret(&u->sha, digest);
	for (int i = 0; i < 32; i++)
		snprintf(hex + i * 2, 3, "%02x", digest[i]);
	parley_upload rec = {.user_id = u->user_id,
	                     .name = u->name,
	                     .type = u->type,
	                     .sha256 = hex,
	                     .key = u->key,
	                     .size = u->stored,
	                     .created_ts = loop_now_ms()};

	/* Hooks see the stored file before anyone can attach it. */
	void *pself;
	const parley_uploads_vtable *vt = plugins_uploads(&pself);
	char *path = vt && vt->local_path ? vt->local_path(pself, u->key) : NULL;
	user_rec *who = users_by_id(u->user_id);
	parley_user view = {.id = u->user_id};
	if (who)
		users_view(who, &view);
	parley_hook_args args = {.struct_size = sizeof args,
	                         .event = PARLEY_HOOK_UPLOAD,
	                         .user = &view,
	                         .upload = &rec,
	                         .upload_path = path};
	const char *deny = NULL, *tags = NULL;
	int hrc = hooks_run(&args, &deny, &tags);
	plugins_host()->free(NULL, path);
	if (hrc == PARLEY_DENY) {
		log_info("upload_rejected", ctx, "an upload hook refused it: %s",
		         deny ? deny : "no reason");
		remove_object(u->key);
		metric_add(up.rejected, 1);
		answer_error(u, 403, "forbidden", deny ? deny : "rejected by an upload hook");
		upload_release(u);
		return;
	}
	rec.tags = tags;
	void *self;
	const parley_store_vtable *st = plugins_uploads_store(&self);
	int src = st ? st->upload_create(self, &rec, created, u) : PARLEY_EUNAVAIL;
	if (src != PARLEY_PENDING) {
		remove_object(u->key);
		metric_add(up.failed, 1);
		answer_error(u, 503, "unavailable", "the store cannot record uploads");
		upload_release(u);
		return;
	}
	u->finishing = 1;
}

/* A short file's head is written, then the object finishes. */
static void finish_object(struct upload *u);

static void on_end(void *ud)
{
	struct upload *u = ud;
	if (u->size == 0) {
		fail_streaming(u, 400, "bad_request", "body: the file is empty");
		return;
	}
	if (!u->handle && !u->img_buffering) {
		int rc = begin_or_buffer(u, NULL, 0);
		if (rc < 0)
			return;
		if (rc > 0) {
			u->head_wait = 1; /* write_done finishes it */
			return;
		}
	}
	if (u->img_buffering) {
		strip_start(u);
		return;
	}
	finish_object(u);
}

static void strip_work(void *arg)
{
	struct upload *u = arg;
	u->img_rc = image_meta_strip(u->type, u->img, u->img_len, &u->img_out);
}

/* The stripped photo goes to the provider, then the object finishes. */
static void strip_done(void *arg, int cancelled)
{
	struct upload *u = arg;
	u->finishing = 0;
	free(u->img);
	u->img = NULL;
	if (u->dead) {
		upload_release(u);
		return;
	}
	char ctx[200];
	log_ctx(u, ctx, sizeof ctx);
	if (cancelled) {
		fail_streaming(u, 503, "unavailable", "the server is stopping");
		return;
	}
	if (u->img_rc < 0) {
		log_info("upload_rejected", ctx, "%s: %s", u->type, u->img_out.error);
		char msg[240];
		snprintf(msg, sizeof msg, "the image could not be read to remove its metadata: %s",
		         u->img_out.error);
		if (u->img_rc == IMAGE_META_NOMEM)
			fail_streaming(u, 500, "internal", "out of memory");
		else
			fail_streaming(u, 422, "bad_image", msg);
		return;
	}
	log_debug("upload_stripped", ctx, "%s: %zu bytes of metadata removed (orientation %d)",
	          u->type, u->img_out.removed, u->img_out.orientation);
	unsigned char *data = u->img_out.data;
	size_t len = u->img_out.len;
	u->img_out.data = NULL;
	int rc = begin_with(u, data, len, (int64_t)len);
	free(data);
	if (rc < 0)
		return;
	if (rc > 0) {
		u->head_wait = 1; /* write_done finishes it */
		return;
	}
	finish_object(u);
}

/* The photo's metadata is removed on the worker pool (a linear walk, but
 * over up to the whole upload limit). Meanwhile `finishing` makes a gone
 * request leave the clean-up to strip_done. */
static void strip_start(struct upload *u)
{
	u->img_buffering = 0;
	u->finishing = 1;
	if (workers_submit(strip_work, strip_done, u) != 0) {
		strip_work(u); /* the pool is stopped (shutdown): strip here */
		strip_done(u, 0);
	}
}

static void finish_object(struct upload *u)
{
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	void *handle = u->handle;
	u->handle = NULL; /* the provider's from here, whatever finish says */
	u->finishing = 1;
	int rc = vt ? vt->finish(handle, finished, u) : PARLEY_EUNAVAIL;
	if (rc != PARLEY_PENDING) {
		u->finishing = 0;
		metric_add(up.failed, 1);
		answer_error(u, 502, "storage_failed", "the file could not be stored");
		upload_release(u);
	}
}

/* ---------------------------------------------------------------- */
/* Head: who, how much, where                                         */
/* ---------------------------------------------------------------- */

static void start_body(struct upload *u, struct http_request *req)
{
	unsigned char rnd[UPLOAD_KEY_BYTES];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		http_respond_error(req, 503, "unavailable", "uploads are not available");
		upload_release(u);
		return;
	}
	memcpy(u->key, "up_", 3);
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(u->key + 3 + i * 2, 3, "%02x", rnd[i]);
	mbedtls_sha256_starts_ret(&u->sha, 0);
	/* The provider begins once the first bytes tell the type. */
	http_body_stream(req, &upload_sink, u, max_upload());
	http_body_resume(u->conn_id);
}

/* The cluster's bytes in flight for the user, this upload's included (-1:
 * the store did not answer, and this node's count decided alone). */
static void cluster_counted(void *ud, int64_t total)
{
	struct upload *u = ud;
	if (total >= 0)
		u->cluster_reserved = u->declared;
	struct http_request *req = http_request_find(u->conn_id);
	if (!req) {
		upload_release(u);
		return;
	}
	if (total >= 0 && u->quota_used + total > server_config->uploads.quota_per_day) {
		metric_add(up.rejected, 1);
		answer_error(u, 429, "rate_limited", "daily upload quota reached");
		upload_release(u);
		return;
	}
	start_body(u, req);
}

static void usage_known(void *ud, const parley_store_result *res)
{
	struct upload *u = ud;
	struct http_request *req = http_request_find(u->conn_id);
	if (!req) {
		upload_release(u);
		return;
	}
	if (res->rc != PARLEY_OK) {
		http_respond_error(req, 503, "unavailable", "the store is not available");
		upload_release(u);
		return;
	}
	/* A declared size is counted whole from the start: parallel uploads
	 * see each other before their bodies arrive. */
	u->quota_used = res->value;
	if (u->declared > 0) {
		u->size = u->declared;
		inflight_count(u);
		u->size = 0;
	}
	if (u->quota_used >= server_config->uploads.quota_per_day || over_quota(u)) {
		metric_add(up.rejected, 1);
		answer_error(u, 429, "rate_limited", "daily upload quota reached");
		upload_release(u);
		return;
	}
	/* With other nodes: what they have in flight counts too. */
	if (!upload_inflight_reserve(u->user_id, u->declared, cluster_counted, u))
		start_body(u, req);
}

static void authenticated(void *ud, const parley_auth_result *res)
{
	struct upload *u = ud;
	struct http_request *req = http_request_find(u->conn_id);
	if (!req) {
		upload_release(u);
		return;
	}
	if (res->rc != PARLEY_OK || !res->user || !res->user->id ||
	    strlen(res->user->id) >= sizeof u->user_id) {
		http_respond_error(req, 401, "unauthorized",
		                   res->message ? res->message : "invalid or expired token");
		upload_release(u);
		return;
	}
	snprintf(u->user_id, sizeof u->user_id, "%s", res->user->id);
	/* A bot token uploads only with the post scope. */
	int bad = 0;
	struct scope *scope = scope_parse(res->scopes, res->rooms_json, &bad);
	const char *why;
	int arc = api_access(u->route, scope, bad, res->user->role, NULL, &why);
	scope_free(scope);
	if (arc != PARLEY_OK) {
		metric_add(up.rejected, 1);
		api_fail(req, arc, why, 0);
		upload_release(u);
		return;
	}
	int64_t quota = server_config ? server_config->uploads.quota_per_day : 0;
	if (quota <= 0) {
		start_body(u, req);
		return;
	}
	/* Counted from here, before the store's usage is asked: an upload
	 * that starts later sees this one in the count or in the store. */
	if (!(u->inflight = inflight_join(u->user_id))) {
		http_respond_error(req, 500, "internal", "out of memory");
		upload_release(u);
		return;
	}
	void *self;
	const parley_store_vtable *st = plugins_uploads_store(&self);
	int rc =
	    st ? st->upload_usage(self, u->user_id, loop_now_ms() - QUOTA_WINDOW_MS, usage_known, u)
	       : PARLEY_EUNAVAIL;
	if (rc != PARLEY_PENDING) {
		http_respond_error(req, 503, "unavailable", "the store is not available");
		upload_release(u);
	}
}

void api_upload(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)id;
	void *self;
	metrics_once();
	if (!req->streamed) {
		http_respond_error(req, 500, "internal", "upload body was not streamed");
		return;
	}
	if (!plugins_uploads(&self)) {
		http_respond_error(
		    req, 404, "not_found",
		    "no uploads provider is configured (add uploads_local to plugins)");
		return;
	}
	if (req->content_length > max_upload()) {
		char msg[160];
		snprintf(msg, sizeof msg,
		         "the file is larger than limits.max_upload (%" PRId64 " bytes)",
		         max_upload());
		metric_add(up.rejected, 1);
		http_respond_error(req, 413, "payload_too_large", msg);
		return;
	}
	char *name = upload_filename_decode(http_header(req, "x-filename"));
	if (!name) {
		http_respond_error(req, 400, "bad_request",
		                   "X-Filename: expected a percent-encoded UTF-8 file name");
		return;
	}
	struct upload *u = calloc(1, sizeof *u);
	if (!u) {
		free(name);
		http_respond_error(req, 500, "internal", "out of memory");
		return;
	}
	mbedtls_sha256_init(&u->sha);
	u->name = name;
	u->conn_id = req->conn_id;
	u->route = r;
	u->declared = req->content_length;
	u->quota_used = -1;
	char *token = api_request_token(req);
	if (!token) {
		upload_release(u);
		return;
	}
	int rc = auth_token(token, authenticated, u);
	free(token);
	if (rc < 0) {
		http_respond_error(req, 401, "unauthorized", "invalid or expired token");
		upload_release(u);
	}
}

/* ---------------------------------------------------------------- */
/* Cleanup of unattached uploads                                      */
/* ---------------------------------------------------------------- */

struct cleanup_item {
	char *id, *key;
};

static void cleanup_deleted(void *ud, const parley_store_result *res)
{
	struct cleanup_item *it = ud;
	if (res->rc == PARLEY_OK)
		metric_add(up.cleaned, 1);
	else
		log_warn("upload_cleanup", NULL, "store delete of %s failed: %s", it->id,
		         res->error ? res->error : "error");
	free(it->id);
	free(it->key);
	free(it);
}

/* The object went (or was gone already): the record follows. */
static void cleanup_removed(void *ud, int rc, const char *error)
{
	struct cleanup_item *it = ud;
	void *self;
	const parley_store_vtable *st = plugins_uploads_store(&self);
	if (rc < 0 && rc != PARLEY_ENOTFOUND) {
		log_warn("upload_cleanup", NULL, "removing %s failed: %s (kept for the next run)",
		         it->key, error ? error : "error");
	} else if (st && st->upload_delete(self, it->id, cleanup_deleted, it) == PARLEY_PENDING) {
		return;
	}
	free(it->id);
	free(it->key);
	free(it);
}

static void cleanup_listed(void *ud, const parley_store_result *res)
{
	(void)ud;
	up.cleaning = 0;
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	if (res->rc != PARLEY_OK || !vt)
		return;
	for (size_t i = 0; i < res->n_uploads; i++) {
		struct cleanup_item *it = calloc(1, sizeof *it);
		if (!it || !(it->id = strdup(res->uploads[i].id)) ||
		    !(it->key = strdup(res->uploads[i].key))) {
			if (it)
				free(it->id);
			free(it);
			continue;
		}
		if (vt->remove(self, it->key, cleanup_removed, it) != PARLEY_PENDING) {
			free(it->id);
			free(it->key);
			free(it);
		}
	}
	if (res->n_uploads)
		log_info("upload_cleanup", NULL, "removing %zu unattached uploads", res->n_uploads);
}

static void cleanup_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	void *self, *pself;
	const parley_store_vtable *st = plugins_uploads_store(&self);
	if (up.cleaning || !st || !plugins_uploads(&pself))
		return;
	int64_t age_ms = (int64_t)(server_config->uploads.unattached_max_age * 1000);
	if (st->uploads_unattached(self, loop_now_ms() - age_ms, CLEANUP_BATCH, cleanup_listed,
	                           NULL) == PARLEY_PENDING)
		up.cleaning = 1;
}

void uploads_start(void)
{
	void *self;
	metrics_once();
	if (!server_config || !plugins_uploads(&self))
		return;
	double every = server_config->uploads.cleanup_interval;
	ev_timer_init(&up.cleanup, cleanup_cb, every, every);
	ev_timer_start(loop_ev, &up.cleanup);
	ev_unref(loop_ev); /* the timer alone does not keep the loop alive */
}

void uploads_stop(void)
{
	if (ev_is_active(&up.cleanup)) {
		ev_ref(loop_ev);
		ev_timer_stop(loop_ev, &up.cleanup);
	}
}
