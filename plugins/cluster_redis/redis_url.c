/* Parses the cluster_redis url with its limits; see redis_url.h. */
#include "redis_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_int(const char *s, size_t n, int lo, int hi, int *out)
{
	if (n == 0 || n > 5)
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->port = 6379;
	if (!url || strlen(url) > REDIS_URL_MAX) {
		snprintf(err, errlen, "must be a redis:// url of at most %d bytes", REDIS_URL_MAX);
		return -1;
	}
	if (strncmp(url, "rediss://", 9) == 0) {
		snprintf(err, errlen,
		         "rediss:// (TLS) is not supported: Debian 12's hiredis 0.14 has no TLS; "
		         "keep Redis on a private network or put stunnel in front of it and use "
		         "redis:// to the tunnel");
		return -1;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "must start with redis://");
		return -1;
	}
	const char *p = url + 8;
	const char *end = p + strcspn(p, "/?#");
	const char *at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		/* user:password@ — Redis 6 ACL users are not used; only the password. */
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *pw = colon ? colon + 1 : p;
		size_t n = (size_t)(at - pw);
		if (n > REDIS_PASS_MAX) {
			snprintf(err, errlen, "password: at most %d bytes", REDIS_PASS_MAX);
			return -1;
		}
		memcpy(out->password, pw, n);
		p = at + 1;
	}
	const char *colon = memchr(p, ':', (size_t)(end - p));
	const char *host_end = colon ? colon : end;
	size_t hn = (size_t)(host_end - p);
	if (hn == 0 || hn > REDIS_HOST_MAX) {
		snprintf(err, errlen, "needs a host of 1 to %d bytes", REDIS_HOST_MAX);
		return -1;
	}
	memcpy(out->host, p, hn);
	if (colon && parse_int(colon + 1, (size_t)(end - colon - 1), 1, 65535, &out->port) < 0) {
		snprintf(err, errlen, "port: must be 1 to 65535");
		return -1;
	}
	if (*end == '/' && end[1]) {
		size_t dn = strcspn(end + 1, "?#");
		if (parse_int(end + 1, dn, 0, 15, &out->db) < 0) {
			snprintf(err, errlen, "database: must be 0 to 15 after the /");
			return -1;
		}
		end += 1 + dn;
	}
	if (*end == '/')
		end++;
	if (*end) {
		snprintf(err, errlen, "unexpected text after the host: \"%s\"", end);
		return -1;
	}
	return 0;
}
