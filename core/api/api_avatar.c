/* Avatars over HTTP. POST /api/profile/avatar takes a picture as the raw
 * body (at most limits.max_body: the web client scales a photo down before
 * sending), makes the avatar on the worker pool (avatar_image.c) and keeps
 * it in the store's key-value space; DELETE removes it. GET
 * /api/users/{id}/avatar serves it, or draws the person's initials as SVG;
 * with ?v= (the profile's version) it may be cached for a year, since a
 * new picture gets a new version. */
#include <mbedtls/base64.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/avatar_image.h"
#include "base/loop.h"
#include "base/workers.h"
#include "chat/chat_directory.h"
#include "chat/profiles.h"
#include "host/plugin_host.h"
#include "net/http.h"

struct avatar_job {
	struct api_ctx *x;
	unsigned char *in;
	size_t in_len;
	struct avatar_result out;
	int rc;
	char *b64;
};

static const parley_store_vtable *kv_store(void **self)
{
	const parley_store_vtable *st = plugins_store(self);
	return PARLEY_HAS(parley_store_vtable, st, kv_set) && st->kv_get && st->kv_delete ? st
	                                                                                  : NULL;
}

static void job_free(struct avatar_job *j)
{
	free(j->in);
	free(j->out.data);
	free(j->b64);
	free(j);
}

static void profile_answer(void *ud, int rc, const char *message, json_t *profile)
{
	struct api_ctx *x = ud;
	if (rc != PARLEY_OK)
		api_ctx_fail(x, rc, message, 0);
	else
		api_ctx_json(x, 200, json_pack("{s:O}", "profile", profile));
}

/* The picture (or its removal) is stored: the profile gets the version. */
static void avatar_stored(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK && res->rc != PARLEY_ENOTFOUND) {
		api_ctx_fail(x, res->rc, "cannot store the avatar", 0);
		return;
	}
	/* A new picture, a new version: caches keyed by it never go stale. */
	int64_t version = x->avatar_remove ? 0 : loop_now_ms();
	int rc = profile_avatar_set(x->who_id, version, profile_answer, x);
	if (rc < 0)
		api_ctx_fail(x, rc, "cannot update the profile", 0);
}

static void avatar_work(void *arg)
{
	struct avatar_job *j = arg;
	j->rc = avatar_image_make(j->in, j->in_len, &j->out);
	if (j->rc != AVATAR_OK)
		return;
	size_t n = 0;
	mbedtls_base64_encode(NULL, 0, &n, j->out.data, j->out.len);
	if (!(j->b64 = malloc(n)) ||
	    mbedtls_base64_encode((unsigned char *)j->b64, n, &n, j->out.data, j->out.len) != 0) {
		free(j->b64);
		j->b64 = NULL;
		j->rc = AVATAR_NOMEM;
	}
}

static void avatar_made(void *arg, int cancelled)
{
	struct avatar_job *j = arg;
	struct api_ctx *x = j->x;
	if (cancelled || j->rc != AVATAR_OK) {
		if (cancelled)
			api_ctx_fail(x, PARLEY_EUNAVAIL, "shutting down", 0);
		else
			api_ctx_fail(x, j->rc == AVATAR_NOMEM ? PARLEY_ENOMEM : PARLEY_EINVAL,
			             j->out.error, 0);
		job_free(j);
		return;
	}
	void *self;
	const parley_store_vtable *st = kv_store(&self);
	int rc = st ? st->kv_set(self, AVATARS_KV_OWNER, x->who_id, j->b64, avatar_stored, x)
	            : PARLEY_EUNAVAIL;
	job_free(j);
	if (rc < 0)
		api_ctx_fail(x, rc, "cannot store the avatar", 0);
}

static void run_upload(struct api_ctx *x)
{
	struct avatar_job *j = calloc(1, sizeof *j);
	if (!j) {
		api_ctx_fail(x, PARLEY_ENOMEM, NULL, 0);
		return;
	}
	j->x = x;
	j->in = x->upload;
	j->in_len = x->upload_len;
	x->upload = NULL;
	if (workers_submit(avatar_work, avatar_made, j) != 0) {
		job_free(j);
		api_ctx_fail(x, PARLEY_EUNAVAIL, "the worker pool is busy", 1000);
	}
}

static void run_delete(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = kv_store(&self);
	x->avatar_remove = 1;
	int rc = st ? st->kv_delete(self, AVATARS_KV_OWNER, x->who_id, avatar_stored, x)
	            : PARLEY_EUNAVAIL;
	if (rc < 0)
		api_ctx_fail(x, rc, "cannot remove the avatar", 0);
}

void api_avatar_upload(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)id;
	if (strcmp(req->method, "DELETE") == 0) {
		struct api_ctx *x = api_ctx_new(req, r, run_delete, NULL, NULL);
		if (x)
			api_ctx_start(req, x);
		return;
	}
	if (!req->body || req->body_len == 0) {
		api_error(req, 400, "bad_request", "body: expected a JPEG, PNG or WebP picture");
		return;
	}
	struct api_ctx *x = api_ctx_new(req, r, run_upload, NULL, NULL);
	if (!x)
		return;
	if (!(x->upload = malloc(req->body_len))) {
		api_ctx_free(x);
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		return;
	}
	memcpy(x->upload, req->body, req->body_len);
	x->upload_len = req->body_len;
	api_ctx_start(req, x);
}

/* ---- serving ------------------------------------------------------------ */

/* Initials of a display name: the first letters of its first two words. */
static void initials(const char *name, char *out, size_t n)
{
	size_t o = 0;
	int words = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p && words < 2;) {
		while (*p == ' ' || *p == '.' || *p == '_' || *p == '-')
			p++;
		if (!*p)
			break;
		size_t len = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 1;
		if (o + len + 1 > n)
			break;
		for (size_t i = 0; i < len && p[i]; i++) {
			unsigned char c = p[i];
			out[o++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
		}
		words++;
		while (*p && *p != ' ' && *p != '.' && *p != '_' && *p != '-')
			p++;
	}
	out[o] = '\0';
}

static void send_initials(struct api_ctx *x, const parley_user *u)
{
	struct http_request *req = api_ctx_req(x);
	if (!req) {
		api_ctx_free(x);
		return;
	}
	char ini[16], esc[96];
	initials(u->display_name && *u->display_name ? u->display_name : u->name, ini, sizeof ini);
	size_t e = 0;
	for (const char *p = ini; *p && e + 7 < sizeof esc; p++) {
		const char *rep = *p == '&'   ? "&amp;"
		                  : *p == '<' ? "&lt;"
		                  : *p == '>' ? "&gt;"
		                  : *p == '"' ? "&quot;"
		                              : NULL;
		if (rep) {
			memcpy(esc + e, rep, strlen(rep));
			e += strlen(rep);
		} else {
			esc[e++] = *p;
		}
	}
	esc[e] = '\0';
	/* FNV-1a spreads neighbouring ids (u_1, u_2) over the colour wheel. */
	uint32_t hue = 2166136261u;
	for (const char *p = u->id; *p; p++)
		hue = (hue ^ (unsigned char)*p) * 16777619u;
	char svg[640];
	int n = snprintf(svg, sizeof svg,
	                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"256\" height=\"256\" "
	                 "viewBox=\"0 0 256 256\"><rect width=\"256\" height=\"256\" "
	                 "fill=\"hsl(%u,45%%,42%%)\"/><text x=\"128\" y=\"128\" dy=\".35em\" "
	                 "text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"104\" "
	                 "fill=\"#fff\">%s</text></svg>",
	                 (unsigned)(hue % 360), esc);
	api_log(req, 200);
	http_respond(req, 200, "image/svg+xml",
	             "Cache-Control: private, max-age=300\r\nX-Content-Type-Options: nosniff\r\n",
	             svg, (size_t)n);
	api_ctx_free(x);
}

static void user_read(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK || !res->n_users || res->users[0].disabled) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no such user", 0);
		return;
	}
	send_initials(x, &res->users[0]);
}

static void picture_read(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	if (res->rc == PARLEY_ENOTFOUND || (res->rc == PARLEY_OK && !res->text)) {
		int rc = st ? st->user_get(self, x->id, NULL, user_read, x) : PARLEY_EUNAVAIL;
		if (rc < 0)
			api_ctx_fail(x, rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc, "no such user",
			             0);
		return;
	}
	if (res->rc != PARLEY_OK) {
		api_ctx_fail(x, res->rc, "cannot read the avatar", 0);
		return;
	}
	size_t n = 0, len = strlen(res->text);
	unsigned char *jpeg = malloc(len / 4 * 3 + 3);
	if (!jpeg || mbedtls_base64_decode(jpeg, len / 4 * 3 + 3, &n,
	                                   (const unsigned char *)res->text, len) != 0) {
		free(jpeg);
		api_ctx_fail(x, PARLEY_ERR, "the stored avatar is damaged", 0);
		return;
	}
	struct http_request *req = api_ctx_req(x);
	if (req) {
		api_log(req, 200);
		http_respond(req, 200, "image/jpeg",
		             x->cache_long
		                 ? "Cache-Control: private, max-age=31536000, immutable\r\n"
		                   "X-Content-Type-Options: nosniff\r\n"
		                 : "Cache-Control: private, max-age=300\r\n"
		                   "X-Content-Type-Options: nosniff\r\n",
		             jpeg, n);
	}
	free(jpeg);
	api_ctx_free(x);
}

static void run_serve(struct api_ctx *x)
{
	void *self;
	if (!chat_directory_visible(x->scope, x->who_id, x->id)) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no such user", 0);
		return;
	}
	const parley_store_vtable *st = kv_store(&self);
	int rc = st ? st->kv_get(self, AVATARS_KV_OWNER, x->id, picture_read, x) : PARLEY_EUNAVAIL;
	if (rc < 0)
		api_ctx_fail(x, rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc, "no such user", 0);
}

void api_avatar(struct http_request *req, const struct api_route *r, const char *user_id)
{
	struct api_ctx *x = api_ctx_new(req, r, run_serve, user_id, NULL);
	if (!x)
		return;
	char *v = http_query_param(req, "v");
	x->cache_long = v && *v && strcmp(v, "0") != 0;
	free(v);
	api_ctx_start(req, x);
}
