/* uploads_s3: objects in any S3-compatible store (AWS S3, MinIO, Ceph,
 * Cloudflare R2…). Writes stream through writer.c (PUT, or a multipart
 * upload for large files), downloads are presigned GET URLs the core
 * redirects to, removals are DELETEs; every request goes through the
 * host's shared curl multi, so nothing blocks the loop. The same requests
 * serve backups' objects (objects.c, issue 17). /readyz reports
 * the bucket reachable or not (a HEAD on it every PROBE_INTERVAL s).
 *
 * Config (the names are a contract with deployment scripts):
 *   { "uploads_s3", endpoint = "https://s3.eu-west-1.amazonaws.com",
 *     region = "eu-west-1", bucket = "chat-files", prefix = "uploads/",
 *     path_style = false, access_key = env("AWS_ACCESS_KEY_ID"),
 *     secret_key = env("AWS_SECRET_ACCESS_KEY"), presign_expiry = 300 }
 * plus part_size (8 MiB), parallel (4), retries (3), timeout (30 s),
 * list_page (1000 keys a listing page asks for) and session_token; credentials left out come from
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

#define PROBE_INTERVAL    30.0
#define DEFAULT_PART_SIZE (8 * 1024 * 1024)
#define MAX_PART_SIZE     (512LL * 1024 * 1024)
#define DEFAULT_PARALLEL  4
#define MAX_PARALLEL      16
#define DEFAULT_RETRIES   3
#define MAX_RETRIES       10
#define DEFAULT_EXPIRY    300
#define MAX_EXPIRY        604800 /* SigV4's bound: a week */
#define DEFAULT_TIMEOUT   30.0

static const char *env_or(const char *v, const char *name)
{
	if (v && *v)
		return v;
	const char *e = getenv(name);
	return e && *e ? e : NULL;
}

/* Reads every key (so unknown ones are reported) and checks the values.
 * 0, or -1 after reporting. */
static int config_read(const parley_host *h, parley_ctx *ctx, struct s3_config *cfg)
{
	const parley_conf *c = h->conf(ctx);
	int bad = 0;
	memset(cfg, 0, sizeof *cfg);
	cfg->prefix = "";
	cfg->presign_expiry = DEFAULT_EXPIRY;
	cfg->part_size = DEFAULT_PART_SIZE;
	cfg->parallel = DEFAULT_PARALLEL;
	cfg->retries = DEFAULT_RETRIES;
	cfg->timeout = DEFAULT_TIMEOUT;
	cfg->list_page = S3_LIST_PAGE_MAX;
	if (!c) {
		h->log(ctx, PARLEY_LOG_ERROR, "config",
		       "uploads_s3 needs endpoint, region, bucket");
		return -1;
	}
	bad |= h->conf_str(c, "endpoint", &cfg->endpoint) < 0;
	bad |= h->conf_str(c, "region", &cfg->region) < 0;
	bad |= h->conf_str(c, "bucket", &cfg->bucket) < 0;
	bad |= h->conf_str(c, "prefix", &cfg->prefix) < 0;
	bad |= h->conf_bool(c, "path_style", &cfg->path_style) < 0;
	bad |= h->conf_str(c, "access_key", &cfg->access_key) < 0;
	bad |= h->conf_str(c, "secret_key", &cfg->secret_key) < 0;
	bad |= h->conf_str(c, "session_token", &cfg->session_token) < 0;
	bad |= h->conf_int(c, "presign_expiry", &cfg->presign_expiry) < 0;
	bad |= h->conf_int(c, "part_size", &cfg->part_size) < 0;
	bad |= h->conf_int(c, "parallel", &cfg->parallel) < 0;
	bad |= h->conf_int(c, "retries", &cfg->retries) < 0;
	bad |= h->conf_num(c, "timeout", &cfg->timeout) < 0;
	bad |= h->conf_int(c, "list_page", &cfg->list_page) < 0;
	if (bad)
		return -1;
	if (!cfg->endpoint || (strncmp(cfg->endpoint, "https://", 8) != 0 &&
	                       strncmp(cfg->endpoint, "http://", 7) != 0)) {
		h->conf_error(c, "endpoint",
		              "expected https://host[:port] (or http:// for a local "
		              "MinIO)");
		bad = 1;
	}
	if (!cfg->region || !*cfg->region || strpbrk(cfg->region, "/ :")) {
		h->conf_error(c, "region", "expected a region name such as \"eu-west-1\"");
		bad = 1;
	}
	if (!cfg->bucket || !*cfg->bucket || strpbrk(cfg->bucket, "/ :?#")) {
		h->conf_error(c, "bucket", "expected a bucket name such as \"chat-files\"");
		bad = 1;
	}
	if (strlen(cfg->prefix) > 256 || cfg->prefix[0] == '/') {
		h->conf_error(c, "prefix",
		              "expected a key prefix such as \"uploads/\" (no leading /)");
		bad = 1;
	}
	if (cfg->presign_expiry < 1 || cfg->presign_expiry > MAX_EXPIRY) {
		h->conf_error(c, "presign_expiry", "must be between 1 and %d seconds", MAX_EXPIRY);
		bad = 1;
	}
	if (cfg->part_size < S3_MIN_PART || cfg->part_size > MAX_PART_SIZE) {
		h->conf_error(c, "part_size", "must be between %d and %lld bytes", S3_MIN_PART,
		              (long long)MAX_PART_SIZE);
		bad = 1;
	}
	if (cfg->parallel < 1 || cfg->parallel > MAX_PARALLEL) {
		h->conf_error(c, "parallel", "must be between 1 and %d", MAX_PARALLEL);
		bad = 1;
	}
	if (cfg->retries < 0 || cfg->retries > MAX_RETRIES) {
		h->conf_error(c, "retries", "must be between 0 and %d", MAX_RETRIES);
		bad = 1;
	}
	if (cfg->list_page < 1 || cfg->list_page > S3_LIST_PAGE_MAX) {
		h->conf_error(c, "list_page", "must be between 1 and %d keys", S3_LIST_PAGE_MAX);
		bad = 1;
	}
	if (!(cfg->timeout > 0)) {
		h->conf_error(c, "timeout", "must be more than 0 seconds");
		bad = 1;
	}
	cfg->access_key = env_or(cfg->access_key, "AWS_ACCESS_KEY_ID");
	cfg->secret_key = env_or(cfg->secret_key, "AWS_SECRET_ACCESS_KEY");
	cfg->session_token = env_or(cfg->session_token, "AWS_SESSION_TOKEN");
	if (!cfg->access_key || !cfg->secret_key) {
		h->conf_error(c, "access_key",
		              "no credentials: set access_key and secret_key, or AWS_ACCESS_KEY_ID "
		              "and AWS_SECRET_ACCESS_KEY");
		bad = 1;
	} else if (strchr(cfg->access_key, ':')) {
		h->conf_error(c, "access_key", "must not contain ':'");
		bad = 1;
	}
	return bad ? -1 : 0;
}

void s3_unref(struct s3 *s3)
{
	if (--s3->refs == 0)
		s3->host->free(s3->ctx, s3);
}

static int check(const parley_host *host, parley_ctx *ctx)
{
	struct s3_config cfg;
	return config_read(host, ctx, &cfg) < 0 ? PARLEY_EINVAL : PARLEY_OK;
}

static int presign(void *self, const char *key, const char *disposition, const char *type,
                   char **url)
{
	struct s3 *s3 = self;
	return s3_presign(s3, key, disposition, type, s3->host->now_ms() / 1000, url);
}

struct removal {
	parley_upload_done done;
	void *ud;
};

static void removed(struct s3_req *r, void *ud)
{
	struct removal *rm = ud;
	const struct s3_result *res = s3_req_result(r);
	int rc = !res->error ? PARLEY_OK : res->status == 404 ? PARLEY_ENOTFOUND : PARLEY_ERR;
	rm->done(rm->ud, rc, res->error);
	s3_req_free(r);
	free(rm);
}

static int remove_object(void *self, const char *key, parley_upload_done done, void *ud)
{
	struct s3 *s3 = self;
	char path[2048];
	if (s3_object_path(s3, key, path, sizeof path) < 0)
		return PARLEY_EINVAL;
	struct removal *rm = calloc(1, sizeof *rm);
	if (!rm)
		return PARLEY_ENOMEM;
	rm->done = done;
	rm->ud = ud;
	if (!s3_req_start(s3, "DELETE", path, "", NULL, 0, removed, rm, "DeleteObject")) {
		free(rm);
		return PARLEY_EUNAVAIL;
	}
	return PARLEY_PENDING;
}

static const parley_uploads_vtable vtable = {
    .struct_size = sizeof(parley_uploads_vtable),
    .begin = s3_begin,
    .write = s3_write,
    .finish = s3_finish,
    .abort = s3_abort,
    .presign = presign,
    .remove = remove_object,
    .put_object = s3_put_object,
    .get_object = s3_get_object,
    .list_objects = s3_list_objects,
    .delete_object = s3_delete_object,
};

/* ------------------------------------------------------------------ */
/* The bucket probe (/readyz)                                          */
/* ------------------------------------------------------------------ */

static void probed(struct s3_req *r, void *ud)
{
	struct s3 *s3 = ud;
	const struct s3_result *res = s3_req_result(r);
	int was = s3->bucket_ok;
	s3->probing = 0;
	s3->bucket_ok = !res->error;
	if (res->error)
		snprintf(s3->why, sizeof s3->why, "%s", res->error);
	if (was != s3->bucket_ok || res->error)
		s3->host->log(s3->ctx, res->error ? PARLEY_LOG_WARN : PARLEY_LOG_INFO, "s3_bucket",
		              "%s", res->error ? res->error : "bucket reachable");
	s3_req_free(r);
}

static void probe(void *arg)
{
	struct s3 *s3 = arg;
	char path[600];
	if (s3->probing)
		return;
	if (s3->cfg.path_style)
		snprintf(path, sizeof path, "/%s", s3->cfg.bucket);
	else
		snprintf(path, sizeof path, "/");
	s3->probing = 1;
	if (!s3_req_start(s3, "HEAD", path, "", NULL, 0, probed, s3, "HeadBucket"))
		s3->probing = 0;
}

static int ready(void *state, const char **why)
{
	struct s3 *s3 = state;
	if (s3->bucket_ok)
		return 1;
	*why = s3->why;
	return 0;
}

static int init(const parley_host *host, parley_ctx *ctx, void **state)
{
	struct s3 *s3 = host->calloc(ctx, 1, sizeof *s3);
	if (!s3)
		return PARLEY_ENOMEM;
	s3->host = host;
	s3->ctx = ctx;
	s3->refs = 1;
	if (config_read(host, ctx, &s3->cfg) < 0) {
		host->free(ctx, s3);
		return PARLEY_EINVAL;
	}
	const char *rest = strstr(s3->cfg.endpoint, "://") + 3;
	snprintf(s3->scheme, sizeof s3->scheme, "%.*s", (int)(rest - 3 - s3->cfg.endpoint),
	         s3->cfg.endpoint);
	snprintf(s3->authority, sizeof s3->authority, "%.*s", (int)strcspn(rest, "/"), rest);
	snprintf(s3->bucket_host, sizeof s3->bucket_host, "%s.%s", s3->cfg.bucket, s3->authority);
	snprintf(s3->sigv4, sizeof s3->sigv4, "aws:amz:%s:s3", s3->cfg.region);
	snprintf(s3->userpwd, sizeof s3->userpwd, "%s:%s", s3->cfg.access_key, s3->cfg.secret_key);
	snprintf(s3->why, sizeof s3->why, "bucket %s: not probed yet", s3->cfg.bucket);
	s3->m_requests = host->counter(ctx, "requests_total", "S3 requests sent (retries too).");
	s3->m_retries = host->counter(ctx, "retries_total", "S3 requests retried.");
	s3->m_failures = host->counter(ctx, "upload_failures_total", "Objects that failed.");
	s3->m_aborts =
	    host->counter(ctx, "multipart_aborts_total", "AbortMultipartUpload requests sent.");
	s3->m_abort_failures = host->counter(ctx, "multipart_abort_failures_total",
	                                     "AbortMultipartUpload requests that failed.");
	*state = s3;
	if (!host->is_admin_command(ctx)) {
		probe(s3);
		s3->probe_timer = host->timer_start(ctx, PROBE_INTERVAL, PROBE_INTERVAL, probe, s3);
	}
	return host->provide(ctx, PARLEY_PROVIDE_UPLOADS, &vtable, s3);
}

static void fini(void *state)
{
	struct s3 *s3 = state;
	if (!s3)
		return;
	if (s3->probe_timer)
		s3->host->timer_stop(s3->probe_timer);
	s3->probe_timer = NULL;
	s3_objects_stop(s3);
	s3_unref(s3); /* requests still in flight keep it until they end */
}

static const parley_plugin plugin = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "uploads_s3",
    .version = "0.1.0",
    .check = check,
    .init = init,
    .fini = fini,
    .ready = ready,
};

PARLEY_PLUGIN_DEFINE(plugin)
