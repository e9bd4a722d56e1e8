/* SigV4 query signing for presigned GET URLs, with mbedTLS 2.28's
 * HMAC-SHA256 (the _ret functions; 3.x renamed them). The canonical
 * request signs only the host header and leaves the payload unsigned, as
 * presigned URLs do; the parameters are sorted by name in byte order and
 * RFC 3986-encoded, which is what S3 recomputes. */
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3.h"

#define QUERY_MAX 3072

void s3_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];
	mbedtls_sha256_ret(data, len, d, 0);
	for (int i = 0; i < 32; i++)
		snprintf(out + i * 2, 3, "%02x", d[i]);
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, unsigned char out[32])
{
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, klen,
	                (const unsigned char *)msg, strlen(msg), out);
}

int s3_uri_encode(const char *s, int keep_slash, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		            (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		            *p == '~' || (keep_slash && *p == '/');
		if (o + (plain ? 1 : 3) >= n)
			return -1;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

int s3_object_path(const struct s3 *s3, const char *key, char *out, size_t n)
{
	char name[1024];
	int len = snprintf(name, sizeof name, "%s%s", s3->cfg.prefix, key);
	if (len < 0 || (size_t)len >= sizeof name)
		return -1;
	return s3_bucket_path(s3, name, out, n);
}

int s3_bucket_path(const struct s3 *s3, const char *name, char *out, size_t n)
{
	char enc[S3_KEY_MAX * 3 + 1];
	if (strlen(name) > S3_KEY_MAX || s3_uri_encode(name, 1, enc, sizeof enc) < 0)
		return -1;
	int len = s3->cfg.path_style ? snprintf(out, n, "/%s/%s", s3->cfg.bucket, enc)
	                             : snprintf(out, n, "/%s", enc);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* "name=value" pairs to sort; values already encoded. */
struct param {
	const char *name;
	char value[1024];
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct param *)a)->name, ((const struct param *)b)->name);
}

int s3_presign(struct s3 *s3, const char *key, const char *disposition, const char *type,
               int64_t now_s, char **url)
{
	/* The object carries both since its upload (begin): no response-*
	 * overrides, whose values (filename*=UTF-8'') S3-compatible servers
	 * do not all encode alike when they check the signature. */
	(void)disposition;
	(void)type;
	char path[2048], date[9], stamp[17], scope[256], cred[512];
	time_t now = (time_t)now_s;
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y%m%d", &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(scope, sizeof scope, "%s/%s/s3/aws4_request", date, s3->cfg.region);
	snprintf(cred, sizeof cred, "%s/%s", s3->cfg.access_key, scope);
	if (s3_object_path(s3, key, path, sizeof path) < 0)
		return PARLEY_EINVAL;

	struct param ps[8];
	size_t np = 0;
	char expires[32];
	snprintf(expires, sizeof expires, "%lld", (long long)s3->cfg.presign_expiry);
	const char *raw[][2] = {
	    {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
	    {"X-Amz-Credential", cred},
	    {"X-Amz-Date", stamp},
	    {"X-Amz-Expires", expires},
	    {"X-Amz-SignedHeaders", "host"},
	    {"X-Amz-Security-Token", s3->cfg.session_token},
	};
	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
		if (!raw[i][1] || !*raw[i][1])
			continue;
		ps[np].name = raw[i][0];
		if (s3_uri_encode(raw[i][1], 0, ps[np].value, sizeof ps[np].value) < 0)
			return PARLEY_EINVAL;
		np++;
	}
	qsort(ps, np, sizeof ps[0], by_name);
	char query[QUERY_MAX];
	size_t q = 0;
	for (size_t i = 0; i < np; i++) {
		int w = snprintf(query + q, sizeof query - q, "%s%s=%s", i ? "&" : "", ps[i].name,
		                 ps[i].value);
		if (w < 0 || (size_t)w >= sizeof query - q)
			return PARLEY_EINVAL;
		q += (size_t)w;
	}
	const char *host = s3->cfg.path_style ? s3->authority : s3->bucket_host;

	/* Canonical request → string to sign → signature. */
	size_t clen = strlen(path) + q + strlen(host) + 128;
	char *canon = malloc(clen);
	if (!canon)
		return PARLEY_ENOMEM;
	snprintf(canon, clen, "GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", path, query, host);
	char chash[65], to_sign[512];
	s3_sha256_hex(canon, strlen(canon), chash);
	free(canon);
	snprintf(to_sign, sizeof to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", stamp, scope, chash);
	char k0[300];
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	int kl = snprintf(k0, sizeof k0, "AWS4%s", s3->cfg.secret_key);
	if (kl < 0 || (size_t)kl >= sizeof k0)
		return PARLEY_EINVAL;
	hmac((unsigned char *)k0, (size_t)kl, date, k1);
	hmac(k1, 32, s3->cfg.region, k2);
	hmac(k2, 32, "s3", k3);
	hmac(k3, 32, "aws4_request", k4);
	hmac(k4, 32, to_sign, sig);
	char sighex[65];
	for (int i = 0; i < 32; i++)
		snprintf(sighex + i * 2, 3, "%02x", sig[i]);

	size_t ulen = strlen(s3->scheme) + strlen(host) + strlen(path) + q + 128;
	char *out = s3->host->alloc(s3->ctx, ulen);
	if (!out)
		return PARLEY_ENOMEM;
	snprintf(out, ulen, "%s://%s%s?%s&X-Amz-Signature=%s", s3->scheme, host, path, query,
	         sighex);
	*url = out;
	return PARLEY_OK;
}
