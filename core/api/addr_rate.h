/* Token buckets per client network, for what a stranger can ask for
 * without an account and what costs the server a bounded resource (a
 * browser sign-in start holds one of the provider's few pending flows).
 * A network is an IPv4 address, or an IPv6 address's /64 (one site's
 * subnet: a host there has 2^64 addresses to cycle); an IPv4-mapped IPv6
 * address counts as IPv4. The table holds at most `max` networks: a full
 * one drops the buckets that have refilled (they equal a fresh one), at
 * most once a second, and refuses the rest until then. */
#ifndef PARLEY_ADDR_RATE_H
#define PARLEY_ADDR_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"

struct addr_rate;

struct addr_rate *addr_rate_new(size_t max);
void addr_rate_free(struct addr_rate *r);
/* Takes a token from addr's network at `now` (s). 0 when the request may go
 * ahead; otherwise the milliseconds to wait (at least 1). A spec with
 * per_s 0 never limits. */
int64_t addr_rate_take(struct addr_rate *r, const char *addr, const struct rate_spec *spec,
                       double now);
/* The networks held now (tests). */
size_t addr_rate_count(const struct addr_rate *r);
/* addr's network as addr_rate counts it ("192.0.2.7", "2001:db8:1:2::/64"),
 * into out (n bytes); text that is no address is copied as it is (cut). */
void addr_rate_network(const char *addr, char *out, size_t n);

#endif
