/* Who is asking: browser Origin checks (CSRF and cross-site WebSocket
 * hijacking) and the client's address behind trusted reverse proxies. */
#ifndef PARLEY_ORIGIN_H
#define PARLEY_ORIGIN_H

#include <stddef.h>

struct config;
struct http_request;

/* The longest origin or address kept ("scheme://host:port"). */
#define ORIGIN_MAX 256

/* 1 when the request may proceed: no Origin header (not a browser), or an
 * Origin equal to one of server.origins; with none configured, the origin
 * of server.public_url; with neither, a loopback origin (localhost,
 * 127.0.0.1, [::1]) equal to the request's own Host (http or https by
 * conn->tls): never a name that merely resolves here. Default ports are normalised (":443" on
 * https, ":80" on http), scheme and host compared case-insensitively. */
int origin_allowed(const struct config *cfg, const struct http_request *req);

/* The client address into buf (size n) and returns buf: the peer's, or,
 * when the peer is in server.trusted_proxies, the right-most address of
 * X-Forwarded-For that is not itself a trusted proxy (client_addr.h). */
const char *origin_client_addr(const struct config *cfg, const struct http_request *req, char *buf,
                               size_t n);

/* Pure helpers (also used by the tests). */

/* Normalises "scheme://host[:port][/path]" into out as
 * "scheme://host[:port]" (lower-case, default port dropped). allow_path:
 * whether a path may follow (public_url) or not (an Origin header).
 * 0, or -1 when s is not an http(s) origin. */
int origin_normalize(const char *s, int allow_path, char *out, size_t n);
/* The decision of origin_allowed for an Origin value, given the request's
 * Host header (may be NULL) and whether it came over TLS. */
int origin_check(const struct config *cfg, const char *origin, const char *host, int tls);

#endif
