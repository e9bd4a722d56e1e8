/* The network a client address belongs to, for counting failures by
 * network when the throttle table is under pressure. Level 1: an IPv4
 * address by its /24, an IPv6 address by its /64 (one site's subnet);
 * level 2 (more pressure): /16 and /48 (one site's allocation). An
 * IPv4-mapped IPv6 address counts as IPv4. */
#ifndef AUTH_LOCAL_ADDR_PREFIX_H
#define AUTH_LOCAL_ADDR_PREFIX_H

#include <stddef.h>

/* Writes "192.0.2.0/24" or "2001:db8:1:2::/64" (level 1), "192.0.0.0/16"
 * or "2001:db8:1::/48" (level 2) into out (n bytes); text that is no
 * address is copied as it is (cut to n - 1). */
void addr_prefix(const char *addr, int level, char *out, size_t n);

#endif
