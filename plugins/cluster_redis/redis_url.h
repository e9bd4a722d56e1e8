/* The `url` of cluster_redis: redis://[:password@]host[:port][/db].
 * rediss:// is refused: Debian 12's hiredis (0.14) has no TLS. */
#ifndef CLUSTER_REDIS_URL_H
#define CLUSTER_REDIS_URL_H

#include <stddef.h>

#define REDIS_URL_MAX  512 /* bytes of a url */
#define REDIS_HOST_MAX 255
#define REDIS_PASS_MAX 256

struct redis_url {
	char host[REDIS_HOST_MAX + 1];
	int port;
	int db;
	char password[REDIS_PASS_MAX + 1]; /* "" when none */
};

/* 0, or -1 with a human message in err. */
int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen);

#endif
