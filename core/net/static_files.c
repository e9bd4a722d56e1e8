/* The web client from server.web_root.
 *
 * Design: GET/HEAD only. The decoded path is checked segment by segment
 * ("." and ".." refused, backslashes and NULs too), then resolved with
 * realpath and must still lie under realpath(web_root), so neither encoded
 * dots nor symlinks lead out. Files are read whole, on the loop thread:
 * they are small and sit in the page cache, as nginx serves them without
 * aio; the cap below keeps a stray large file from stalling the loop.
 * No build step means no hashed file names, so every response carries
 * `Cache-Control: no-cache` and a weak ETag from size and mtime, and the
 * browser revalidates cheaply (304). */
#include "net/static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"

#define STATIC_MAX_FILE (16 * 1024 * 1024)
#define STATIC_INDEX    "index.html"

static char *root; /* realpath of web_root, or NULL */
static size_t root_len;

/* The CSP of the web client. %s and %s: the uploads provider's origin in
 * img-src and media-src when downloads redirect to presigned URLs (S3),
 * else nothing. */
static const char html_headers_fmt[] =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:%s%s; media-src 'self' blob:%s%s; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n";

#define HTML_HEADERS_MAX 1024

static const char *(*media_origin)(void);

void static_files_set_media_origin(const char *(*fn)(void))
{
	media_origin = fn;
}

static void html_headers(char *out, size_t n)
{
	const char *o = media_origin ? media_origin() : NULL;
	snprintf(out, n, html_headers_fmt, o ? " " : "", o ? o : "", o ? " " : "", o ? o : "");
}

static const struct {
	const char *ext;
	const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"webmanifest", "application/manifest+json; charset=utf-8"},
};

static const char *content_type(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

void static_files_init(const struct config *cfg)
{
	free(root);
	root = cfg && cfg->web_root ? realpath(cfg->web_root, NULL) : NULL;
	root_len = root ? strlen(root) : 0;
	if (!root && cfg && cfg->web_root)
		log_warn("web_root_missing", NULL, "web_root %s: %s; static files are off",
		         cfg->web_root, strerror(errno));
}

/* Only plain segments: no ".", "..", backslash or control bytes. */
static int path_ok(const char *p)
{
	if (p[0] != '/')
		return 0;
	for (const char *s = p; *s; s++)
		if (*s == '\\' || (unsigned char)*s < 0x20)
			return 0;
	const char *seg = p + 1;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (!end)
			return 1;
		seg = end + 1;
	}
}

/* Does the If-None-Match list name etag (or "*")? */
static int etag_matches(const char *inm, const char *etag)
{
	if (!inm)
		return 0;
	if (strstr(inm, "*"))
		return 1;
	/* Weak comparison: W/ prefixes do not matter. */
	const char *bare = etag + 2;
	return strstr(inm, bare) != NULL;
}

void static_files_serve(struct http_request *req)
{
	char *full = NULL, *real = NULL;
	sbuf *body = NULL;
	int fd = -1;
	int head = strcmp(req->method, "HEAD") == 0;
	if (!head && strcmp(req->method, "GET") != 0) {
		static const char msg[] = "{\"error\":{\"code\":\"method_not_allowed\","
		                          "\"message\":\"GET or HEAD only\"}}\n";
		http_respond(req, 405, "application/json", "Allow: GET, HEAD\r\n", msg,
		             sizeof msg - 1);
		goto done;
	}
	if (!root || !path_ok(req->path))
		goto not_found;
	size_t plen = strlen(req->path);
	int index = req->path[plen - 1] == '/';
	if (asprintf(&full, "%s%s%s", root, req->path, index ? STATIC_INDEX : "") < 0) {
		full = NULL;
		goto not_found;
	}
	real = realpath(full, NULL);
	if (!real || strncmp(real, root, root_len) != 0 || real[root_len] != '/')
		goto not_found;
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_FILE)
		goto not_found;
	char etag[64], extra[HTML_HEADERS_MAX + 160], csp[HTML_HEADERS_MAX] = "";
	snprintf(etag, sizeof etag, "W/\"%llx-%llx\"", (unsigned long long)st.st_size,
	         (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
	             (unsigned long long)st.st_mtim.tv_nsec);
	const char *type = content_type(real);
	int is_html = strncmp(type, "text/html", 9) == 0;
	if (is_html)
		html_headers(csp, sizeof csp);
	snprintf(extra, sizeof extra, "ETag: %s\r\nCache-Control: no-cache\r\n%s", etag, csp);
	if (etag_matches(http_header(req, "if-none-match"), etag)) {
		http_respond(req, 304, NULL, extra, NULL, 0);
		goto done;
	}
	if (head) {
		/* No body is sent for HEAD; the length still tells the size. */
		http_respond(req, 200, type, extra, NULL, (size_t)st.st_size);
		goto done;
	}
	body = sbuf_new((size_t)st.st_size);
	if (!body)
		goto not_found;
	size_t got = 0;
	while (got < body->len) {
		ssize_t n = read(fd, body->data + got, body->len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	body->len = got; /* a file that shrank meanwhile is served as it is */
	http_respond_sbuf(req, 200, type, extra, body);
	goto done;
not_found:
	http_respond_error(req, 404, "not_found", "no such file");
done:
	if (fd >= 0)
		close(fd);
	sbuf_unref(body);
	free(real);
	free(full);
}
