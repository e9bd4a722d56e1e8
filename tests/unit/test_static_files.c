/* static_files.c through the real HTTP path: types, security headers,
 * ETag and 304, HEAD, 405, and no way out of web_root ("..", encoded
 * dots, symlinks out). The web root is a fresh temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "net/http.h"
#include "net_harness.h"
#include "net/static_files.h"

static char dir[64], outside[96];

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int group_setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/parley_static_XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	char p[256];
	snprintf(p, sizeof p, "%s/web", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/web/sub", dir);
	mkdir(p, 0755);
	put("web/index.html", "<!doctype html><title>parley</title>");
	put("web/app.js", "console.log(1);");
	put("web/style.css", "body{}");
	put("web/blob.xyz", "raw");
	put("web/sub/index.html", "sub");
	put("secret.txt", "top secret");
	snprintf(outside, sizeof outside, "%s/secret.txt", dir);
	snprintf(p, sizeof p, "%s/web/link.txt", dir);
	if (symlink(outside, p) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char web[96];

static int setup(void **state)
{
	(void)state;
	net_cfg_defaults();
	snprintf(web, sizeof web, "%s/web", dir);
	net_cfg.web_root = web;
	net_init();
	static_files_init(&net_cfg);
	http_set_router(static_files_serve);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	net_fini();
	return 0;
}

static size_t get(const char *req, char *buf, size_t cap)
{
	int fd = net_pair(NULL);
	net_sends(fd, req);
	size_t n = net_recv_responses(fd, buf, cap, 1, 2, NULL);
	close(fd);
	return n;
}

static void test_types_and_headers(void **state)
{
	(void)state;
	char buf[8192];
	get("GET / HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
	assert_non_null(strstr(buf, "Content-Type: text/html; charset=utf-8\r\n"));
	assert_non_null(strstr(buf, "Content-Security-Policy: default-src 'self'; "));
	assert_non_null(strstr(buf, "X-Frame-Options: DENY\r\n"));
	assert_non_null(strstr(buf, "Referrer-Policy: no-referrer\r\n"));
	assert_non_null(strstr(buf, "Cache-Control: no-cache\r\n"));
	assert_non_null(strstr(buf, "ETag: W/\""));
	assert_non_null(strstr(buf, "<title>parley</title>"));
	get("GET /app.js HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "Content-Type: text/javascript; charset=utf-8\r\n"));
	assert_null(strstr(buf, "X-Frame-Options"));
	get("GET /style.css HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "Content-Type: text/css; charset=utf-8\r\n"));
	get("GET /blob.xyz HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "Content-Type: application/octet-stream\r\n"));
	get("GET /sub/ HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "\r\n\r\nsub"));
	get("HEAD /app.js HTTP/1.1\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "Content-Length: 15\r\n"));
	assert_null(strstr(buf, "console"));
	get("POST /app.js HTTP/1.1\r\nContent-Length: 0\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 405 "));
	assert_non_null(strstr(buf, "Allow: GET, HEAD\r\n"));
}

static void test_etag_304(void **state)
{
	(void)state;
	char buf[8192], req[512], etag[64];
	get("GET /app.js HTTP/1.1\r\n\r\n", buf, sizeof buf);
	char *e = strstr(buf, "ETag: ");
	assert_non_null(e);
	e += 6;
	size_t el = strcspn(e, "\r");
	memcpy(etag, e, el);
	etag[el] = '\0';
	snprintf(req, sizeof req, "GET /app.js HTTP/1.1\r\nIf-None-Match: %s\r\n\r\n", etag);
	get(req, buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 304 Not Modified"));
	assert_null(strstr(buf, "console"));
	get("GET /app.js HTTP/1.1\r\nIf-None-Match: W/\"other\"\r\n\r\n", buf, sizeof buf);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
}

static void test_no_escape(void **state)
{
	(void)state;
	char buf[8192];
	const char *bad[] = {
	    "GET /../secret.txt HTTP/1.1\r\n\r\n",
	    "GET /%2e%2e/secret.txt HTTP/1.1\r\n\r\n",
	    "GET /sub/%2E%2E/%2e%2e/secret.txt HTTP/1.1\r\n\r\n",
	    "GET /./app.js HTTP/1.1\r\n\r\n",
	    "GET /..%5csecret.txt HTTP/1.1\r\n\r\n",
	    "GET /link.txt HTTP/1.1\r\n\r\n",
	    "GET /missing.html HTTP/1.1\r\n\r\n",
	    "GET /sub HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		get(bad[i], buf, sizeof buf);
		assert_non_null(strstr(buf, "HTTP/1.1 404 "));
		assert_null(strstr(buf, "top secret"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_types_and_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_etag_304, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_escape, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
