/* Origin checks and client addresses.
 *
 * Origins are compared after normalising both sides to
 * "scheme://host[:port]" (lower case, default port dropped), so
 * "https://Chat.Example.org:443" equals "https://chat.example.org".
 * The client address of a request comes from net/client_addr.c. */
#include "net/origin.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "net/client_addr.h"
#include "net/http.h"

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

/* "scheme://localhost", "scheme://127.0.0.1" or "scheme://[::1]", with or
 * without a port (a normalised origin). */
static int loopback_origin(const char *norm)
{
	static const char *const hosts[] = {"localhost", "127.0.0.1", "[::1]"};
	const char *h = strstr(norm, "://");
	if (!h)
		return 0;
	h += 3;
	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
		size_t n = strlen(hosts[i]);
		if (strncmp(h, hosts[i], n) == 0 && (h[n] == '\0' || h[n] == ':'))
			return 1;
	}
	return 0;
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

	/* Neither configured: only a loopback origin, and only the same
	 * origin as the Host the browser asked for. The Host alone is not
	 * enough: a name the attacker controls can resolve to this server
	 * (DNS rebinding), and then Origin and Host agree. */
	char self[ORIGIN_MAX];
	if (!host || !*host || !loopback_origin(got))
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

const char *origin_client_addr(const struct config *cfg, const struct http_request *req, char *buf,
                               size_t n)
{
	const char *peer = req->c ? req->c->peer_ip : "";
	if (!cfg)
		return client_addr_forwarded(NULL, 0, peer, NULL, buf, n);
	return client_addr_forwarded(cfg->trusted_proxies, cfg->n_trusted_proxies, peer,
	                             http_header(req, "x-forwarded-for"), buf, n);
}
