/* Client addresses behind proxies.
 *
 * The usual recursive rule: only a peer in server.trusted_proxies is
 * believed, and X-Forwarded-For is read from the right, skipping trusted
 * hops; the first untrusted entry is the client. An entry that is not an
 * address ends the walk (everything to its left is the client's own
 * claim). */
#include "net/client_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An address in network order: family AF_INET (4 bytes) or AF_INET6 (16).
 * IPv4-mapped IPv6 addresses become IPv4, so a dual-stack socket's
 * "::ffff:10.1.2.3" matches "10.0.0.0/8". */
struct addr {
	int family;
	unsigned char b[16];
};

static int addr_parse(const char *s, struct addr *a)
{
	char buf[CLIENT_ADDR_MAX];
	size_t len = strlen(s);
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len + 1);
	if (inet_pton(AF_INET, buf, a->b) == 1) {
		a->family = AF_INET;
		return 0;
	}
	char *pct = strchr(buf, '%'); /* zone index: not part of the address */
	if (pct)
		*pct = '\0';
	if (inet_pton(AF_INET6, buf, a->b) != 1)
		return -1;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(a->b, mapped, sizeof(mapped)) == 0) {
		memmove(a->b, a->b + 12, 4);
		a->family = AF_INET;
		return 0;
	}
	a->family = AF_INET6;
	return 0;
}

static int cidr_contains(const char *cidr, const struct addr *a)
{
	char buf[CLIENT_ADDR_MAX];
	struct addr net;
	size_t len = strlen(cidr);
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, cidr, len + 1);
	long bits = -1;
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		char *end;
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		bits = strtol(slash + 1, &end, 10);
		if (*end)
			return -1;
	}
	if (addr_parse(buf, &net) < 0)
		return -1;
	int max = net.family == AF_INET ? 32 : 128;
	/* "::ffff:10.0.0.0/104" became IPv4: its prefix loses the 96 bits. */
	if (bits >= 0 && net.family == AF_INET && strchr(buf, ':'))
		bits -= 96;
	if (bits < 0)
		bits = slash ? -1 : max;
	if (bits < 0 || bits > max)
		return -1;
	if (net.family != a->family)
		return 0;
	size_t whole = (size_t)bits / 8;
	if (memcmp(net.b, a->b, whole) != 0)
		return 0;
	int rem = (int)(bits % 8);
	if (rem) {
		unsigned char mask = (unsigned char)(0xff << (8 - rem));
		if ((net.b[whole] & mask) != (a->b[whole] & mask))
			return 0;
	}
	return 1;
}

int client_addr_cidr_match(const char *cidr, const char *addr)
{
	struct addr a;
	if (!cidr || !addr || addr_parse(addr, &a) < 0)
		return -1;
	return cidr_contains(cidr, &a);
}

static int trusted_addr(char *const *trusted, size_t n_trusted, const struct addr *a)
{
	for (size_t i = 0; i < n_trusted; i++)
		if (cidr_contains(trusted[i], a) == 1)
			return 1;
	return 0;
}

/* One X-Forwarded-For entry without blanks, brackets or a port:
 * "1.2.3.4", "1.2.3.4:80", "[::1]:80", "::1". 0 or -1. */
static int xff_entry(const char *s, size_t len, char *out, size_t n)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= n)
		return -1;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return -1;
		len = (size_t)(close - s) - 1;
		s++;
	} else {
		const char *colon = memchr(s, ':', len);
		/* One colon: IPv4 with a port; more: a bare IPv6 address. */
		if (colon && !memchr(colon + 1, ':', len - (size_t)(colon - s) - 1))
			len = (size_t)(colon - s);
	}
	memcpy(out, s, len);
	out[len] = '\0';
	struct addr a;
	return addr_parse(out, &a);
}

const char *client_addr_forwarded(char *const *trusted, size_t n_trusted, const char *peer,
                                  const char *xff, char *buf, size_t n)
{
	struct addr a;
	snprintf(buf, n, "%s", peer ? peer : "");
	if (!xff || !peer || n_trusted == 0 || addr_parse(peer, &a) < 0 ||
	    !trusted_addr(trusted, n_trusted, &a))
		return buf;

	/* Walk right to left; buf always holds the best address so far. */
	size_t end = strlen(xff);
	while (end > 0) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		char entry[CLIENT_ADDR_MAX];
		if (xff_entry(xff + start, end - start, entry, sizeof(entry)) < 0)
			break;
		snprintf(buf, n, "%s", entry);
		addr_parse(entry, &a);
		if (!trusted_addr(trusted, n_trusted, &a))
			break;
		if (start == 0)
			break;
		end = start - 1;
	}
	return buf;
}

int client_addr_trusted(char *const *trusted, size_t n_trusted, const char *addr)
{
	struct addr a;
	return addr && addr_parse(addr, &a) == 0 && trusted_addr(trusted, n_trusted, &a);
}
