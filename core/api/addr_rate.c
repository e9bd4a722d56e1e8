/* Token buckets per client network (addr_rate.h). Entries hold their key
 * inline; the strmap borrows it. */
#include "api/addr_rate.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"
#include "chat/rate.h"

#define NETWORK_MAX   64
#define SWEEP_EVERY_S 1.0

struct entry {
	struct rate_bucket bucket;
	char key[];
};

struct addr_rate {
	strmap map;
	size_t max;
	double swept_at; /* when a full table was last swept */
};

void addr_rate_network(const char *addr, char *out, size_t n)
{
	struct in6_addr a6;
	struct in_addr a4;
	if (!n)
		return;
	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a6.s6_addr, mapped, sizeof mapped) == 0) {
			memcpy(&a4, a6.s6_addr + 12, 4);
			if (inet_ntop(AF_INET, &a4, out, (socklen_t)n))
				return;
		} else {
			char text[INET6_ADDRSTRLEN];
			memset(a6.s6_addr + 8, 0, 8);
			if (inet_ntop(AF_INET6, &a6, text, sizeof text) && strlen(text) + 4 < n) {
				strcpy(out, text);
				strcat(out, "/64");
				return;
			}
		}
	} else if (inet_pton(AF_INET, addr, &a4) == 1 &&
	           inet_ntop(AF_INET, &a4, out, (socklen_t)n)) {
		return;
	}
	size_t len = strnlen(addr, n - 1);
	memcpy(out, addr, len);
	out[len] = '\0';
}

struct addr_rate *addr_rate_new(size_t max)
{
	struct addr_rate *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	strmap_init(&r->map, 0);
	r->max = max ? max : 1;
	return r;
}

void addr_rate_free(struct addr_rate *r)
{
	if (!r)
		return;
	size_t pos = 0;
	struct entry *e;
	while ((e = strmap_next(&r->map, &pos, NULL)))
		free(e);
	strmap_free(&r->map);
	free(r);
}

size_t addr_rate_count(const struct addr_rate *r)
{
	return r->map.count;
}

/* Drops the buckets that are full again at `now`. */
static void sweep(struct addr_rate *r, const struct rate_spec *spec, double now)
{
	size_t pos = 0;
	const char *key;
	struct entry *e;
	r->swept_at = now;
	while ((e = strmap_next(&r->map, &pos, &key))) {
		const struct rate_bucket *b = &e->bucket;
		if (now < b->at || b->tokens + (now - b->at) * spec->per_s >= spec->burst) {
			strmap_del(&r->map, key);
			free(e);
		}
	}
}

int64_t addr_rate_take(struct addr_rate *r, const char *addr, const struct rate_spec *spec,
                       double now)
{
	char key[NETWORK_MAX];
	if (spec->per_s <= 0)
		return 0;
	addr_rate_network(addr, key, sizeof key);
	struct entry *e = strmap_get(&r->map, key);
	if (!e) {
		if (r->map.count >= r->max) {
			if (now - r->swept_at < SWEEP_EVERY_S && now >= r->swept_at)
				return (int64_t)((SWEEP_EVERY_S - (now - r->swept_at)) * 1000) + 1;
			sweep(r, spec, now);
			if (r->map.count >= r->max)
				return (int64_t)(SWEEP_EVERY_S * 1000);
		}
		size_t len = strlen(key);
		if (!(e = calloc(1, sizeof *e + len + 1)))
			return (int64_t)(SWEEP_EVERY_S * 1000);
		memcpy(e->key, key, len + 1);
		if (strmap_put(&r->map, e->key, e) < 0) {
			free(e);
			return (int64_t)(SWEEP_EVERY_S * 1000);
		}
	}
	return rate_take(&e->bucket, spec, now);
}
