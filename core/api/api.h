/* The HTTP router: health, readiness and metrics; the WebSocket upgrade at
 * /ws; the JSON API of PROTOCOL.md ("HTTP API"); static files for the rest.
 * Install it with http_set_router(api_route). */
#ifndef PARLEY_API_H
#define PARLEY_API_H

#include <stddef.h>
#include <stdint.h>

struct http_request;

/* The router: answers req now or later (async steps find the request again
 * by its connection id and drop the answer if the connection closed). */
void api_route(struct http_request *req);

/* Frees what the router keeps between requests (the sign-in start
 * limiter's table); at exit, after the last request. */
void api_fini(void);

/* 1 for the requests whose body is streamed (POST /api/uploads). */
int api_streams_body(const struct http_request *req);

/* The bearer token or session cookie of req (malloc'ed), or NULL after
 * answering 401 (none) or 403 (a cookie-authenticated POST without Origin). */
char *api_request_token(struct http_request *req);

/* Pure helpers (also used by the tests). */

/* 1 when path is prefix + one non-empty segment (no '/') + suffix, the
 * segment copied into out (size n); 0 otherwise (or when it does not fit). */
int api_path_param(const char *path, const char *prefix, const char *suffix, char *out, size_t n);
/* Strict decimal integer ("-12", "0"; no blanks, no trailing bytes, no
 * overflow). 0, or -1. */
int api_parse_int(const char *s, int64_t *out);
/* The Set-Cookie header line ("Set-Cookie: …\r\n") of the session cookie
 * into buf: token NULL clears it (Max-Age=0). Secure when tls. 0, or -1 when
 * the token holds bytes a cookie value may not or buf is too small. */
int api_session_cookie(char *buf, size_t n, const char *token, int64_t max_age_s, int tls);

/* The signed unsubscribe link of user_id under base (the public URL) into
 * out; 0, or -1 without a server key or room. */
int api_unsubscribe_link(const char *base, const char *user_id, char *out, size_t n);

#endif
