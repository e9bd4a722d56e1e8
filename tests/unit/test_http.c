/* http.c over real socketpairs and the real loop: parsing, keep-alive,
 * pipelining, asynchronous answers, and every limit (400, 408, 413, 431,
 * idle close). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "net/http.h"
#include "net_harness.h"

static uint64_t async_id;
static int routed;

static void router(struct http_request *req)
{
	routed++;
	if (strcmp(req->path, "/async") == 0) {
		async_id = req->conn_id;
		return; /* answered later by the test */
	}
	char body[4096];
	char *q = http_query_param(req, "q");
	char *sid = http_cookie(req, "sid");
	const char *xt = http_header(req, "X-Test");
	int n = snprintf(body, sizeof body, "%s|%s|%s|%s|%s|%s|%zu|%s", req->method, req->path,
	                 req->query ? req->query : "-", q ? q : "-", sid ? sid : "-", xt ? xt : "-",
	                 req->body_len, req->body ? req->body : "-");
	free(q);
	free(sid);
	http_respond(req, 200, "text/plain", "X-Extra: 1\r\n", body, (size_t)n);
}

static int setup(void **state)
{
	(void)state;
	net_cfg_defaults();
	net_init();
	http_set_router(router);
	routed = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	net_fini();
	return 0;
}

static void test_simple_and_keepalive(void **state)
{
	(void)state;
	conn *c;
	int fd = net_pair(&c);
	char buf[8192];
	net_sends(fd, "GET /a%20b?q=x%2By+z HTTP/1.1\r\nHost: x\r\nX-TEST: hi\r\n"
	              "Cookie: a=1; sid=\"s3\"\r\n\r\n");
	size_t n = net_recv_responses(fd, buf, sizeof buf, 1, 2, NULL);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "Connection: keep-alive\r\n"));
	assert_non_null(strstr(buf, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(buf, "Date: "));
	assert_non_null(strstr(buf, "X-Extra: 1\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\nGET|/a b|q=x%2By+z|x+y z|s3|hi|0|-"));
	/* Idle between requests: no HTTP state is held. */
	assert_null(c->http);

	/* Same connection, a POST with a body. */
	net_sends(fd, "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
	n = net_recv_responses(fd, buf, sizeof buf, 1, 2, NULL);
	assert_non_null(strstr(buf, "POST|/p|-|-|-|-|5|hello"));
	assert_int_equal(routed, 2);

	/* HEAD: length, no body. Then Connection: close. */
	net_sends(fd, "HEAD /h HTTP/1.1\r\nConnection: close\r\n\r\n");
	int eof;
	n = net_recv(fd, buf, sizeof buf, 0, NULL, 2, &eof);
	assert_true(eof);
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_non_null(strstr(buf, "Content-Length: 19\r\n"));
	assert_true(n == (size_t)(strstr(buf, "\r\n\r\n") - buf) + 4);
	close(fd);
}

static void test_pipelining_in_order(void **state)
{
	(void)state;
	int fd = net_pair(NULL);
	char buf[16384];
	net_sends(fd, "GET /1 HTTP/1.1\r\n\r\nGET /async HTTP/1.1\r\n\r\n"
	              "POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	              "3\r\nabc\r\n0\r\n\r\n");
	size_t n = net_recv_responses(fd, buf, sizeof buf, 1, 1, NULL);
	assert_int_equal(net_count_responses(buf, n), 1);
	assert_non_null(strstr(buf, "GET|/1|"));
	/* The second waits for its async answer; the third must not overtake. */
	net_spin(0.05);
	assert_int_equal(routed, 2);
	struct http_request *req = http_request_find(async_id);
	assert_non_null(req);
	assert_string_equal(req->path, "/async");
	http_respond(req, 202, "text/plain", NULL, "later", 5);
	n = net_recv_responses(fd, buf, sizeof buf, 2, 2, NULL);
	assert_int_equal(net_count_responses(buf, n), 2);
	char *second = strstr(buf, "HTTP/1.1 202 Accepted");
	char *third = strstr(buf, "POST|/3|-|-|-|-|3|abc");
	assert_non_null(second);
	assert_non_null(third);
	assert_true(second < third);
	assert_null(http_request_find(async_id));
	close(fd);
}

static void expect_status_and_close(const char *req, const char *status)
{
	int fd = net_pair(NULL);
	char buf[8192];
	int eof;
	net_sends(fd, req);
	net_recv(fd, buf, sizeof buf, 0, NULL, 3, &eof);
	assert_non_null(strstr(buf, status));
	assert_non_null(strstr(buf, "Connection: close"));
	assert_true(eof);
	close(fd);
}

static void test_malformed_400(void **state)
{
	(void)state;
	expect_status_and_close("GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request");
	expect_status_and_close("GET /a%00b HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ");
	expect_status_and_close("GET /a%zz HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ");
	assert_int_equal(routed, 0);
}

static void test_header_limit_431(void **state)
{
	(void)state;
	net_cfg.limits.max_header = 1024;
	char req[4096];
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX-Big: %0*d\r\n\r\n", 2000, 0);
	expect_status_and_close(req, "HTTP/1.1 431 ");
	/* Too many header lines is the same error. */
	char *p = req + sprintf(req, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		p += sprintf(p, "H%d: v\r\n", i);
	strcpy(p, "\r\n");
	net_cfg.limits.max_header = 16384;
	expect_status_and_close(req, "HTTP/1.1 431 ");
	assert_int_equal(routed, 0);
}

static void test_body_limit_413(void **state)
{
	(void)state;
	net_cfg.limits.max_body = 100;
	/* Declared too big: refused at once, the body is never awaited. */
	expect_status_and_close("POST /x HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n",
	                        "HTTP/1.1 413 ");
	/* Chunked: counted as it comes. */
	char req[1024];
	snprintf(req, sizeof req,
	         "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n%0100d\r\n"
	         "64\r\n%0100d\r\n0\r\n\r\n",
	         0, 0);
	expect_status_and_close(req, "HTTP/1.1 413 ");
	assert_int_equal(routed, 0);
}

static void test_header_timeout_408(void **state)
{
	(void)state;
	net_cfg.limits.header_timeout = 0.2;
	int fd = net_pair(NULL);
	char buf[4096];
	int eof;
	net_sends(fd, "GET / HTTP/1.1\r\nHost: slow");
	size_t n = net_recv(fd, buf, sizeof buf, 0, NULL, 2, &eof);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 408 "));
	assert_true(eof);
	close(fd);
}

static void test_idle_timeout_silent(void **state)
{
	(void)state;
	net_cfg.limits.idle_timeout = 0.2;
	conn *c;
	int fd = net_pair(&c);
	uint64_t id = c->id;
	char buf[256];
	int eof;
	size_t n = net_recv(fd, buf, sizeof buf, 0, NULL, 2, &eof);
	assert_int_equal(n, 0);
	assert_true(eof);
	assert_null(conn_find(id));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_simple_and_keepalive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipelining_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_400, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_limit_431, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_limit_413, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_timeout_408, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_timeout_silent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
