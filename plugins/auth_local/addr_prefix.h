/* The network a client address belongs to, for counting failures by
 * network when the throttle table is under pressure: an IPv4 address by
 * its /24, an IPv6 address by its /64 (one site's allocation), an
 * IPv4-mapped IPv6 address as IPv4. */
#ifndef AUTH_LOCAL_ADDR_PREFIX_H
#define AUTH_LOCAL_ADDR_PREFIX_H

#include <stddef.h>

/* Writes "192.0.2.0/24" or "2001:db8:1:2::/64" into out (n bytes); text
 * that is no address is copied as it is (cut to n - 1). */
void addr_prefix(const char *addr, char *out, size_t n);

#endif
