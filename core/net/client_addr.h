/* The client's address behind trusted reverse proxies (server.trusted_proxies
 * and X-Forwarded-For), and CIDR matching. Pure functions on strings: the
 * listener, HTTP and the origin checks all use them, and this file uses none
 * of them. */
#ifndef PARLEY_CLIENT_ADDR_H
#define PARLEY_CLIENT_ADDR_H

#include <stddef.h>

/* Room for any address these functions write (an IPv6 address with a
 * zone fits). */
#define CLIENT_ADDR_MAX 64

/* 1 when addr (an IPv4 or IPv6 address, IPv4-mapped IPv6 included) is
 * inside cidr ("10.0.0.0/8", "::1/128", or a bare address); 0 when not;
 * -1 when either does not parse. */
int client_addr_cidr_match(const char *cidr, const char *addr);
/* 1 when addr is inside one of the n trusted ranges. */
int client_addr_trusted(char *const *trusted, size_t n_trusted, const char *addr);
/* The client address for a peer and an X-Forwarded-For value (may be NULL),
 * given the trusted proxy list, into buf: the peer's own, or, when the peer
 * is trusted, the right-most X-Forwarded-For entry that is not itself
 * trusted. Returns buf. */
const char *client_addr_forwarded(char *const *trusted, size_t n_trusted, const char *peer,
                                  const char *xff, char *buf, size_t n);

#endif
