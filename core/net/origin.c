/* Origin checks and client addresses.
 *
 * Origins are compared after normalising both sides to
 * "scheme://host[:port]" (lower case, default port dropped), so
 * "https://Chat.Example.org:443" equals "https://chat.example.org".
 *
 * The client address behind proxies follows the usual recursive rule: only
 * a peer in server.trusted_proxies is believed, and X-Forwarded-For is read
 * from the right, skipping trusted hops; the first untrusted entry is the
 * client. An entry that is not an address ends the walk (everything to its
 * left is the client's own claim). */
#include "net/origin.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "net/http.h"

/* The longest X-Forwarded-For entry considered (an IPv6 address with a
 * zone and brackets fits). */
#define ORIGIN_ADDR_MAX 64

static int default_port(const char *scheme)
{
	return strcmp(scheme, "https") == 0 ? 443 : 80;
}

int origin_normalize(const char *s, int allow_path, char *out, size_t n)
{
	const char *scheme;
	size_t skip;
	if (!s)
		return -1;
	if (strncasecmp(s, "https://", 8) == 0) {
		scheme = "https";
		skip = 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		scheme = "http";
		skip = 7;
	} else {
		return -1;
	}
	const char *auth = s + skip;
	size_t alen = strcspn(auth, "/?#");
	const char *rest = auth + alen;
	if (*rest && !allow_path)
		return -1;
	if (alen == 0 || memchr(auth, '@', alen))
		return -1;

	/* Split host and port; IPv6 literals come in brackets. */
	const char *host = auth, *port = NULL;
	size_t hlen = alen;
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', alen);
		if (!close)
			return -1;
		hlen = (size_t)(close - auth) + 1;
		if (hlen < alen) {
			if (auth[hlen] != ':')
				return -1;
			port = auth + hlen + 1;
		}
	} else {
		const char *colon = memchr(auth, ':', alen);
		if (colon) {
			hlen = (size_t)(colon - auth);
			port = colon + 1;
		}
	}
	if (hlen == 0)
		return -1;

	long portnum = default_port(scheme);
	if (port) {
		size_t plen = (size_t)(auth + alen - port);
		if (plen == 0 || plen > 5)
			return -1;
		portnum = 0;
		for (size_t i = 0; i < plen; i++) {
			if (!isdigit((unsigned char)port[i]))
				return -1;
			portnum = portnum * 10 + (port[i] - '0');
		}
		if (portnum < 1 || portnum > 65535)
			return -1;
	}

	char hostbuf[ORIGIN_MAX];
	if (hlen >= sizeof(hostbuf))
		return -1;
	for (size_t i = 0; i < hlen; i++)
		hostbuf[i] = (char)tolower((unsigned char)host[i]);
	hostbuf[hlen] = '\0';

	int len;
	if (portnum == default_port(scheme))
		len = snprintf(out, n, "%s://%s", scheme, hostbuf);
	else
		len = snprintf(out, n, "%s://%s:%ld", scheme, hostbuf, portnum);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

int origin_check(const struct config *cfg, const char *origin, const char *host, int tls)
{
	char want[ORIGIN_MAX], got[ORIGIN_MAX];
	if (!origin)
		return 1;
	if (origin_normalize(origin, 0, got, sizeof(got)) < 0)
		return 0; /* "null", garbage: never a listed origin */

	if (cfg && cfg->n_origins > 0) {
		for (size_t i = 0; i < cfg->n_origins; i++)
			if (origin_normalize(cfg->origins[i], 1, want, sizeof(want)) == 0 &&
			    strcmp(want, got) == 0)
				return 1;
		return 0;
	}
	if (cfg && cfg->public_url)
		return origin_normalize(cfg->public_url, 1, want, sizeof(want)) == 0 &&
		       strcmp(want, got) == 0;

	/* Same origin: the Host the browser itself asked for. */
	char self[ORIGIN_MAX];
	if (!host || !*host)
		return 0;
	int len = snprintf(self, sizeof(self), "%s://%s", tls ? "https" : "http", host);
	if (len < 0 || (size_t)len >= sizeof(self))
		return 0;
	return origin_normalize(self, 0, want, sizeof(want)) == 0 && strcmp(want, got) == 0;
}

int origin_allowed(const struct config *cfg, const struct http_request *req)
{
	return origin_check(cfg, http_header(req, "origin"), http_header(req, "host"),
	                    req->c ? req->c->tls : 0);
}

/* An address in network order: family AF_INET (4 bytes) or AF_INET6 (16).
 * IPv4-mapped IPv6 addresses become IPv4, so a dual-stack socket's
 * "::ffff:10.1.2.3" matches "10.0.0.0/8". */
struct addr {
	int family;
	unsigned char b[16];
};

static int addr_parse(const char *s, struct addr *a)
{
	char buf[ORIGIN_ADDR_MAX];
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
	char buf[ORIGIN_ADDR_MAX];
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

int origin_cidr_match(const char *cidr, const char *addr)
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

const char *origin_forwarded_for(char *const *trusted, size_t n_trusted, const char *peer,
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
		char entry[ORIGIN_ADDR_MAX];
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

const char *origin_client_addr(const struct config *cfg, const struct http_request *req, char *buf,
                               size_t n)
{
	const char *peer = req->c ? req->c->peer_ip : "";
	if (!cfg)
		return origin_forwarded_for(NULL, 0, peer, NULL, buf, n);
	return origin_forwarded_for(cfg->trusted_proxies, cfg->n_trusted_proxies, peer,
	                            http_header(req, "x-forwarded-for"), buf, n);
}
