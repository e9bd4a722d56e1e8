/* Backups in S3 through libcurl's SigV4 (see backup_s3.h). */
#include "app/backup_s3.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>
#include <mbedtls/sha256.h>

#include "base/config.h"

#define S3_PATH   4096
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MANIFEST  "manifest.json"
#define NAMES_MAX 10000 /* backups under one prefix */

struct target {
	char bucket[256], prefix[1024];
};

int backup_s3_is(const char *to)
{
	return to && strncmp(to, BACKUP_S3_PREFIX, strlen(BACKUP_S3_PREFIX)) == 0;
}

/* s3://bucket/prefix -> bucket, prefix (no leading or trailing slash). */
static int parse(const char *to, struct target *t, char *err, size_t errlen)
{
	const char *b = to + strlen(BACKUP_S3_PREFIX), *slash = strchr(b, '/');
	size_t blen = slash ? (size_t)(slash - b) : strlen(b);
	if (!backup_s3_is(to) || blen == 0 || blen >= sizeof t->bucket) {
		snprintf(err, errlen, "%s: not s3://BUCKET/PREFIX", to);
		return -1;
	}
	memcpy(t->bucket, b, blen);
	t->bucket[blen] = '\0';
	const char *p = slash ? slash + 1 : "";
	size_t plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	if (plen >= sizeof t->prefix || strstr(p, "..")) {
		snprintf(err, errlen, "%s: bad prefix", to);
		return -1;
	}
	memcpy(t->prefix, p, plen);
	t->prefix[plen] = '\0';
	return 0;
}

/* Percent-encodes a key, keeping '/' (S3's path). */
static void encode(const char *in, char *out, size_t n, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *in && o + 4 < n; in++) {
		unsigned char c = (unsigned char)*in;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* The URL of key (NULL: the bucket) with an optional query. */
static int url_of(const struct config *cfg, const struct target *t, const char *key,
                  const char *query, char *url, size_t n)
{
	char k[S3_PATH * 3];
	const char *ep = cfg->backup.s3_endpoint ? cfg->backup.s3_endpoint : NULL;
	char def[256];
	if (!ep) {
		snprintf(def, sizeof def, "https://s3.%s.amazonaws.com",
		         cfg->backup.s3_region ? cfg->backup.s3_region : "us-east-1");
		ep = def;
	}
	encode(key ? key : "", k, sizeof k, 1);
	int len;
	/* The bucket itself has no trailing slash: SigV4's canonical path is
	 * the path as sent, and S3 servers sign "/bucket". */
	if (cfg->backup.s3_path_style || !strstr(ep, "://")) {
		len = snprintf(url, n, "%s/%s%s%s%s%s", ep, t->bucket, *k ? "/" : "", k,
		               query ? "?" : "", query ? query : "");
	} else {
		const char *host = strstr(ep, "://") + 3;
		len = snprintf(url, n, "%.*s%s.%s%s%s%s%s", (int)(host - ep), ep, t->bucket, host,
		               *k ? "/" : "", k, query ? "?" : "", query ? query : "");
	}
	return len > 0 && (size_t)len < n ? 0 : -1;
}

struct body {
	char *data;
	size_t len;
	FILE *to; /* a download */
};

static size_t take(char *p, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb;
	if (b->to)
		return fwrite(p, 1, n, b->to);
	if (b->len + n > BACKUP_S3_BODY_MAX)
		return 0;
	char *grown = realloc(b->data, b->len + n + 1);
	if (!grown)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* One signed request. upload: a file to PUT (its SHA-256 in sha); the
 * answer's body into b. Returns the HTTP status, or -1 with err. */
static long request(const struct config *cfg, const char *method, const char *url, FILE *upload,
                    int64_t size, const char *sha, struct body *b, char *err, size_t errlen)
{
	const char *ak =
	    cfg->backup.s3_access_key ? cfg->backup.s3_access_key : getenv("AWS_ACCESS_KEY_ID");
	const char *sk =
	    cfg->backup.s3_secret_key ? cfg->backup.s3_secret_key : getenv("AWS_SECRET_ACCESS_KEY");
	char sigv4[128], hdr[128];
	if (!ak || !sk) {
		snprintf(err, errlen,
		         "no S3 keys: backup.s3 access_key and secret_key, or "
		         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
		return -1;
	}
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3",
	         cfg->backup.s3_region ? cfg->backup.s3_region : "us-east-1");
	snprintf(hdr, sizeof hdr, "x-amz-content-sha256: %s", sha ? sha : EMPTY_SHA);
	struct curl_slist *h = curl_slist_append(NULL, hdr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, ak);
	curl_easy_setopt(c, CURLOPT_PASSWORD, sk);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (upload) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READDATA, upload);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode cc = curl_easy_perform(c);
	long status = -1;
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s %s: %s", method, url, curl_easy_strerror(cc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static int file_sha(FILE *f, char hex[65], int64_t *size)
{
	mbedtls_sha256_context s;
	unsigned char buf[65536], d[32];
	size_t n;
	*size = 0;
	mbedtls_sha256_init(&s);
	mbedtls_sha256_starts_ret(&s, 0);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		mbedtls_sha256_update_ret(&s, buf, n);
		*size += (int64_t)n;
	}
	mbedtls_sha256_finish_ret(&s, d);
	mbedtls_sha256_free(&s);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return ferror(f) ? -1 : (rewind(f), 0);
}

static int put_file(const struct config *cfg, const struct target *t, const char *key,
                    const char *path, char *err, size_t errlen)
{
	char url[BACKUP_S3_URL_MAX], sha[65];
	int64_t size;
	FILE *f = fopen(path, "rb");
	if (!f || file_sha(f, sha, &size) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	struct body b = {0};
	long st = url_of(cfg, t, key, NULL, url, sizeof url) < 0
	              ? -1
	              : request(cfg, "PUT", url, f, size, sha, &b, err, errlen);
	fclose(f);
	if (st != 200 && st >= 0)
		snprintf(err, errlen, "PUT %s: HTTP %ld %.200s", key, st, b.data ? b.data : "");
	free(b.data);
	return st == 200 ? 0 : -1;
}

/* Uploads dir/sub's files (recursively); the manifest at the top is left
 * for last. */
static int put_tree(const struct config *cfg, const struct target *t, const char *keybase,
                    const char *dir, const char *sub, char *err, size_t errlen)
{
	char path[S3_PATH], rel[S3_PATH], key[S3_PATH];
	snprintf(path, sizeof path, "%s%s%s", dir, *sub ? "/" : "", sub);
	DIR *d = opendir(path);
	if (!d) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!*sub && !strcmp(e->d_name, MANIFEST))
			continue;
		struct stat sb;
		if (snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", e->d_name) >=
		        (int)sizeof rel ||
		    snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path ||
		    snprintf(key, sizeof key, "%s/%s", keybase, rel) >= (int)sizeof key ||
		    lstat(path, &sb) < 0) {
			snprintf(err, errlen, "%s: name too long or gone", e->d_name);
			rc = -1;
		} else if (S_ISDIR(sb.st_mode)) {
			rc = put_tree(cfg, t, keybase, dir, rel, err, errlen);
		} else if (S_ISREG(sb.st_mode)) {
			rc = put_file(cfg, t, key, path, err, errlen);
		}
	}
	closedir(d);
	return rc;
}

int backup_s3_put(const struct config *cfg, const char *to, const char *name, const char *dir,
                  char *err, size_t errlen)
{
	struct target t;
	char keybase[S3_PATH], path[S3_PATH + 32], key[S3_PATH + 32];
	if (parse(to, &t, err, errlen) < 0)
		return -1;
	snprintf(keybase, sizeof keybase, "%s%s%s", t.prefix, *t.prefix ? "/" : "", name);
	if (put_tree(cfg, &t, keybase, dir, "", err, errlen) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s", dir, MANIFEST);
	snprintf(key, sizeof key, "%s/%s", keybase, MANIFEST);
	return put_file(cfg, &t, key, path, err, errlen);
}

/* ---- listing --------------------------------------------------------- */

static void xml_unescape(char *s)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {
	    {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	char *o = s;
	while (*s) {
		size_t i;
		for (i = 0; i < sizeof ents / sizeof ents[0]; i++)
			if (!strncmp(s, ents[i].ent, strlen(ents[i].ent)))
				break;
		if (i < sizeof ents / sizeof ents[0]) {
			*o++ = ents[i].c;
			s += strlen(ents[i].ent);
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/* Appends every <tag>value</tag> of xml (inside <within> when set) to out. */
static void xml_values(const char *xml, const char *tag, const char *within, json_t *out)
{
	char open[64], close[64], wopen[64];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	snprintf(wopen, sizeof wopen, "<%s>", within ? within : "");
	const char *p = xml;
	while ((p = strstr(p, within ? wopen : open))) {
		if (within)
			p += strlen(wopen);
		const char *a = strstr(p, open), *b = a ? strstr(a, close) : NULL;
		if (!a || !b || json_array_size(out) >= BACKUP_S3_LIST_MAX)
			return;
		a += strlen(open);
		char *v = strndup(a, (size_t)(b - a));
		if (v) {
			xml_unescape(v);
			json_array_append_new(out, json_string(v));
			free(v);
		}
		p = b + strlen(close);
	}
}

/* Keys (delimiter NULL) or common prefixes ("/") under prefix. */
static json_t *list(const struct config *cfg, const struct target *t, const char *prefix,
                    int by_folder, char *err, size_t errlen)
{
	json_t *out = json_array();
	char token[1024] = "", url[BACKUP_S3_URL_MAX], q[S3_PATH * 2], enc[S3_PATH], etok[3072];
	for (int page = 0; page < 1000; page++) {
		encode(prefix, enc, sizeof enc, 0);
		encode(token, etok, sizeof etok, 0);
		/* Parameters in SigV4's canonical (sorted) order: libcurl signs the
		 * query as given. */
		snprintf(q, sizeof q, "%s%s%s%slist-type=2&prefix=%s",
		         *token ? "continuation-token=" : "", etok, *token ? "&" : "",
		         by_folder ? "delimiter=%2F&" : "", enc);
		struct body b = {0};
		long st = url_of(cfg, t, NULL, q, url, sizeof url) < 0
		              ? -1
		              : request(cfg, "GET", url, NULL, 0, NULL, &b, err, errlen);
		if (st != 200) {
			if (st > 0)
				snprintf(err, errlen, "list %s: HTTP %ld", prefix, st);
			free(b.data);
			json_decref(out);
			return NULL;
		}
		if (by_folder)
			xml_values(b.data ? b.data : "", "Prefix", "CommonPrefixes", out);
		else
			xml_values(b.data ? b.data : "", "Key", "Contents", out);
		json_t *next = json_array();
		xml_values(b.data ? b.data : "", "NextContinuationToken", NULL, next);
		int more = b.data && strstr(b.data, "<IsTruncated>true</IsTruncated>") &&
		           json_array_size(next) == 1;
		if (more)
			snprintf(token, sizeof token, "%s",
			         json_string_value(json_array_get(next, 0)));
		json_decref(next);
		free(b.data);
		if (!more)
			return out;
	}
	return out;
}

static int by_name_desc(const void *a, const void *b)
{
	return -strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Backup names under the target's prefix, newest first (names are UTC
 * times, so they sort). Returns the count; *names malloc'ed. */
static int names(const struct config *cfg, const struct target *t, char ***names_out, char *err,
                 size_t errlen)
{
	char base[S3_PATH];
	snprintf(base, sizeof base, "%s%s", t->prefix, *t->prefix ? "/" : "");
	json_t *l = list(cfg, t, base, 1, err, errlen);
	if (!l)
		return -1;
	size_t n = json_array_size(l) < NAMES_MAX ? json_array_size(l) : NAMES_MAX;
	char **v = calloc(n ? n : 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; v && i < n; i++) {
		const char *p = json_string_value(json_array_get(l, i)) + strlen(base);
		size_t len = strlen(p);
		if (len && p[len - 1] == '/')
			v[k++] = strndup(p, len - 1);
	}
	json_decref(l);
	qsort(v, k, sizeof *v, by_name_desc);
	*names_out = v;
	return (int)k;
}

static void names_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int delete_key(const struct config *cfg, const struct target *t, const char *key, char *err,
                      size_t errlen)
{
	char url[BACKUP_S3_URL_MAX];
	struct body b = {0};
	long st = url_of(cfg, t, key, NULL, url, sizeof url) < 0
	              ? -1
	              : request(cfg, "DELETE", url, NULL, 0, NULL, &b, err, errlen);
	free(b.data);
	if (st != 204 && st != 200 && st > 0)
		snprintf(err, errlen, "DELETE %s: HTTP %ld", key, st);
	return st == 204 || st == 200 ? 0 : -1;
}

int backup_s3_prune(const struct config *cfg, const char *to, int64_t keep, char *err,
                    size_t errlen)
{
	struct target t;
	char **v, base[S3_PATH];
	if (parse(to, &t, err, errlen) < 0)
		return -1;
	int n = names(cfg, &t, &v, err, errlen), removed = 0;
	if (n < 0)
		return -1;
	for (int i = (int)keep; i < n; i++) {
		snprintf(base, sizeof base, "%s%s%s/", t.prefix, *t.prefix ? "/" : "", v[i]);
		json_t *keys = list(cfg, &t, base, 0, err, errlen);
		size_t k;
		json_t *key;
		int rc = keys ? 0 : -1;
		/* The manifest first: a half-removed backup is an unfinished one. */
		char manifest[S3_PATH + 32];
		snprintf(manifest, sizeof manifest, "%s%s", base, MANIFEST);
		if (rc == 0)
			rc = delete_key(cfg, &t, manifest, err, errlen);
		json_array_foreach(keys, k, key)
		{
			if (rc == 0 && strcmp(json_string_value(key), manifest) != 0)
				rc = delete_key(cfg, &t, json_string_value(key), err, errlen);
		}
		json_decref(keys);
		if (rc < 0) {
			names_free(v, n);
			return -1;
		}
		removed++;
	}
	names_free(v, n);
	return removed;
}

/* ---- fetching -------------------------------------------------------- */

static json_t *get_manifest(const struct config *cfg, const struct target *t, const char *base)
{
	char url[BACKUP_S3_URL_MAX], key[S3_PATH], err[200];
	struct body b = {0};
	snprintf(key, sizeof key, "%s%s", base, MANIFEST);
	long st = url_of(cfg, t, key, NULL, url, sizeof url) < 0
	              ? -1
	              : request(cfg, "GET", url, NULL, 0, NULL, &b, err, sizeof err);
	json_t *m = st == 200 && b.data ? json_loads(b.data, 0, NULL) : NULL;
	free(b.data);
	return m;
}

/* A relative name a backup may hold: no absolute path, no "..". */
static int rel_ok(const char *rel)
{
	if (!*rel || rel[0] == '/')
		return 0;
	for (const char *p = rel; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || (len == 2 && !strncmp(p, "..", 2)) || (len == 1 && *p == '.'))
			return 0;
		p += len + (slash ? 1 : 0);
	}
	return 1;
}

static int get_to_file(const struct config *cfg, const struct target *t, const char *key,
                       const char *path, char *err, size_t errlen)
{
	char url[BACKUP_S3_URL_MAX], dir[S3_PATH];
	snprintf(dir, sizeof dir, "%s", path);
	for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(dir, 0700);
		*p = '/';
	}
	struct body b = {0};
	if (!(b.to = fopen(path, "wbx"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	long st = url_of(cfg, t, key, NULL, url, sizeof url) < 0
	              ? -1
	              : request(cfg, "GET", url, NULL, 0, NULL, &b, err, errlen);
	if (fclose(b.to) != 0 && st == 200) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st != 200 && st > 0)
		snprintf(err, errlen, "GET %s: HTTP %ld", key, st);
	return st == 200 ? 0 : -1;
}

int backup_s3_fetch(const struct config *cfg, const char *to, int64_t at_ms, const char *dir,
                    char *err, size_t errlen)
{
	struct target t;
	char base[S3_PATH], picked[S3_PATH] = "", path[S3_PATH];
	if (parse(to, &t, err, errlen) < 0)
		return -1;
	snprintf(base, sizeof base, "%s/", t.prefix);
	json_t *m = at_ms < 0 && *t.prefix ? get_manifest(cfg, &t, base) : NULL;
	if (m) {
		snprintf(picked, sizeof picked, "%s", base); /* to names one backup */
	} else {
		char **v;
		int n = names(cfg, &t, &v, err, errlen);
		if (n < 0)
			return -1;
		for (int i = 0; i < n && !picked[0]; i++) {
			snprintf(base, sizeof base, "%s%s%s/", t.prefix, *t.prefix ? "/" : "",
			         v[i]);
			json_t *cand = get_manifest(cfg, &t, base);
			json_int_t when = json_integer_value(json_object_get(cand, "snapshot_ms"));
			if (cand && (at_ms < 0 || when <= at_ms)) {
				snprintf(picked, sizeof picked, "%s", base);
				m = cand;
			} else {
				json_decref(cand);
			}
		}
		names_free(v, n);
		if (!picked[0]) {
			snprintf(err, errlen, "no finished backup under %s%s", to,
			         at_ms >= 0 ? " at or before that time" : "");
			return -1;
		}
	}
	json_decref(m);
	fprintf(stderr, "parley: restore: from s3://%s/%s\n", t.bucket, picked);
	json_t *keys = list(cfg, &t, picked, 0, err, errlen);
	if (!keys)
		return -1;
	if (mkdir(dir, 0700) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		json_decref(keys);
		return -1;
	}
	size_t i;
	json_t *k;
	int rc = 0;
	json_array_foreach(keys, i, k)
	{
		const char *rel = json_string_value(k) + strlen(picked);
		if (!rel_ok(rel) ||
		    snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path) {
			snprintf(err, errlen, "an object name a backup does not have: %.200s",
			         json_string_value(k));
			rc = -1;
			break;
		}
		if ((rc = get_to_file(cfg, &t, json_string_value(k), path, err, errlen)) < 0)
			break;
	}
	json_decref(keys);
	return rc;
}
