/* ws.c over real socketpairs and the real loop: the handshake, echo through
 * a test app, fragmented messages, the close codes (1002, 1003, 1009,
 * 4401, ping timeout), pings, one shared frame broadcast to many
 * sessions, and the wslay context being dropped when a session idles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "net/http.h"
#include "net_harness.h"
#include "net/ws.h"

static int opens, closes, texts;
static uint8_t buf[1 << 17]; /* frames read but not yet consumed */
static size_t have;
static int app_state;

static void *app_open(conn *c, const struct http_request *req)
{
	opens++;
	if (req->query && strstr(req->query, "auth=1"))
		ws_set_authenticated(c);
	return &app_state;
}

static void app_text(conn *c, const char *data, size_t len)
{
	texts++;
	assert_ptr_equal(c->app, &app_state);
	if (len == 5 && memcmp(data, "close", 5) == 0)
		ws_close(c, WS_CLOSE_NORMAL, "bye");
	else
		ws_send_text(c, data, len);
}

static void app_closed(conn *c)
{
	assert_ptr_equal(c->app, &app_state);
	closes++;
}

static const struct ws_app app = {app_open, app_text, app_closed};

static void router(struct http_request *req)
{
	if (strcmp(req->path, "/ws") == 0)
		ws_accept(req);
	else
		http_respond_error(req, 404, "not_found", "no");
}

static int setup(void **state)
{
	(void)state;
	net_cfg_defaults();
	net_init();
	http_set_router(router);
	ws_set_app(&app);
	opens = closes = texts = 0;
	have = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	net_fini();
	return 0;
}

/* Reads until one whole frame is in; returns its opcode, payload copied. */
static int read_frame(int fd, char *payload, size_t *plen, double timeout)
{
	double until = ev_time() + timeout;
	for (;;) {
		int op;
		const uint8_t *p;
		size_t pl;
		size_t fl = ws_parse_frame(buf, have, &op, &p, &pl);
		if (fl) {
			memcpy(payload, p, pl);
			payload[pl] = '\0';
			*plen = pl;
			memmove(buf, buf + fl, have - fl);
			have -= fl;
			return op;
		}
		int eof;
		if (ev_time() > until)
			return -1;
		size_t n = net_recv(fd, (char *)buf + have, sizeof buf - have, 1, NULL, 0.05, &eof);
		have += n;
		if (eof && !n) {
			have = 0;
			return -2;
		}
	}
}

/* Upgrades a fresh pair; returns the client fd, the 101 head in head. */
static int ws_open_pair(conn **c, const char *req, char *head, size_t cap)
{
	int fd = net_pair(c);
	net_sends(fd, req);
	net_recv(fd, head, cap, 0, "\r\n\r\n", 2, NULL);
	return fd;
}

static void send_frame(int fd, int opcode, int fin, const void *p, size_t len)
{
	static uint8_t f[1 << 17];
	net_send(fd, f, ws_client_frame(f, opcode, fin, p, len));
}

static void expect_close(int fd, int code)
{
	char p[256];
	size_t pl;
	int op;
	while ((op = read_frame(fd, p, &pl, 3)) == 0x9)
		; /* pings may come first */
	assert_int_equal(op, 0x8);
	assert_true(pl >= 2);
	assert_int_equal(((uint8_t)p[0] << 8) | (uint8_t)p[1], code);
	int eof;
	char rest[256];
	net_recv(fd, rest, sizeof rest, 0, NULL, 3, &eof);
	assert_true(eof);
}

static void test_handshake_echo_and_idle_context(void **state)
{
	(void)state;
	conn *c;
	int fd = net_pair(&c);
	/* The first frame rides in the same packet as the upgrade. */
	char req[1024];
	size_t rl = strlen(net_upgrade_req);
	memcpy(req, net_upgrade_req, rl);
	rl += ws_client_frame((uint8_t *)req + rl, 0x1, 1, "hi", 2);
	net_send(fd, req, rl);
	char head[2048];
	net_recv(fd, head, sizeof head, 0, "\r\n\r\n", 2, NULL);
	assert_non_null(strstr(head, "HTTP/1.1 101 Switching Protocols\r\n"));
	assert_non_null(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	assert_non_null(strstr(head, "Sec-WebSocket-Protocol: parley.v1\r\n"));
	assert_int_equal(opens, 1);
	char p[70000];
	size_t pl;
	/* net_recv may have read past the head: re-feed what followed. */
	char *after = strstr(head, "\r\n\r\n") + 4;
	assert_true(after[0] == (char)0x81 || after[0] == 0);
	if (after[0] == (char)0x81) {
		assert_int_equal(after[1], 2);
		assert_memory_equal(after + 2, "hi", 2);
	} else {
		assert_int_equal(read_frame(fd, p, &pl, 2), 0x1);
		assert_string_equal(p, "hi");
	}
	assert_int_equal(c->proto, CONN_WS);
	assert_null(c->http);
	assert_false(ws_has_context(c));

	/* A fragmented message keeps the context until its last frame. */
	send_frame(fd, 0x1, 0, "ab", 2);
	net_spin(0.02);
	assert_true(ws_has_context(c));
	send_frame(fd, 0x0, 1, "cd", 2);
	assert_int_equal(read_frame(fd, p, &pl, 2), 0x1);
	assert_string_equal(p, "abcd");
	assert_false(ws_has_context(c));

	/* Medium-size message (16-bit length), then a ping. */
	memset(p, 'x', 1000);
	send_frame(fd, 0x1, 1, p, 1000);
	assert_int_equal(read_frame(fd, p, &pl, 2), 0x1);
	assert_int_equal(pl, 1000);
	send_frame(fd, 0x9, 1, "pp", 2);
	assert_int_equal(read_frame(fd, p, &pl, 2), 0xA);
	assert_string_equal(p, "pp");
	assert_false(ws_has_context(c));

	/* The client closes: the server echoes and hangs up. */
	uint8_t code[2] = {0x03, 0xe8};
	send_frame(fd, 0x8, 1, code, 2);
	expect_close(fd, 1000);
	close(fd); /* the server lingers until our side closes */
	net_spin(0.02);
	assert_int_equal(closes, 1);
}

static void test_handshake_errors(void **state)
{
	(void)state;
	char head[2048];
	int fd = ws_open_pair(NULL,
	                      "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, "
	                      "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: other\r\n\r\n",
	                      head, sizeof head);
	assert_non_null(strstr(head, "101 Switching"));
	assert_null(strstr(head, "Sec-WebSocket-Protocol"));
	close(fd);
	fd = ws_open_pair(NULL,
	                  "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                  "Sec-WebSocket-Version: 8\r\n\r\n",
	                  head, sizeof head);
	assert_non_null(strstr(head, "HTTP/1.1 426 "));
	assert_non_null(strstr(head, "Sec-WebSocket-Version: 13\r\n"));
	close(fd);
	fd = ws_open_pair(NULL,
	                  "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	                  "Sec-WebSocket-Version: 13\r\n\r\n",
	                  head, sizeof head);
	assert_non_null(strstr(head, "HTTP/1.1 400 "));
	close(fd);
	fd = ws_open_pair(NULL, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", head, sizeof head);
	assert_non_null(strstr(head, "HTTP/1.1 400 "));
	close(fd);
	assert_int_equal(opens, 1); /* only the first */
}

static void test_too_big_1009(void **state)
{
	(void)state;
	net_cfg.limits.max_frame = 100;
	char head[2048], big[200];
	int fd = ws_open_pair(NULL, net_upgrade_req, head, sizeof head);
	memset(big, 'a', sizeof big);
	send_frame(fd, 0x1, 1, big, sizeof big);
	expect_close(fd, 1009);
	assert_int_equal(texts, 0);
	close(fd);
}

static void test_binary_1003_and_unmasked_1002(void **state)
{
	(void)state;
	char head[2048];
	int fd = ws_open_pair(NULL, net_upgrade_req, head, sizeof head);
	send_frame(fd, 0x2, 1, "\x01\x02", 2);
	expect_close(fd, 1003);
	close(fd);
	fd = ws_open_pair(NULL, net_upgrade_req, head, sizeof head);
	net_send(fd, "\x81\x02hi", 4); /* a client must mask */
	expect_close(fd, 1002);
	close(fd);
	assert_int_equal(texts, 0);
	net_spin(0.02);
	assert_int_equal(closes, 2);
}

static void test_app_close(void **state)
{
	(void)state;
	char head[2048];
	int fd = ws_open_pair(NULL, net_upgrade_req, head, sizeof head);
	send_frame(fd, 0x1, 1, "close", 5);
	expect_close(fd, 1000);
	close(fd);
}

static void test_auth_timeout_4401(void **state)
{
	(void)state;
	net_cfg.limits.auth_timeout = 0.2;
	char head[2048];
	int fd = ws_open_pair(NULL, net_upgrade_req, head, sizeof head);
	expect_close(fd, 4401);
	close(fd);
}

static void test_ping_then_pong_timeout(void **state)
{
	(void)state;
	net_cfg.limits.ping_interval = 0.1;
	net_cfg.limits.pong_timeout = 0.5;
	char head[2048], p[256];
	size_t pl;
	int fd = ws_open_pair(NULL,
	                      "GET /ws?auth=1 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
	                      "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                      "Sec-WebSocket-Version: 13\r\n\r\n",
	                      head, sizeof head);
	assert_non_null(strstr(head, "101 "));
	assert_int_equal(read_frame(fd, p, &pl, 2), 0x9);
	/* Answering pongs keeps it open past the timeout. */
	double until = ev_time() + 0.8;
	while (ev_time() < until) {
		send_frame(fd, 0xA, 1, "", 0);
		net_spin(0.05);
	}
	assert_int_equal(closes, 0);
	/* Silence: closed with 1001. */
	expect_close(fd, 1001);
	close(fd);
}

static void test_broadcast_shared_frame(void **state)
{
	(void)state;
	enum { N = 20 };
	int fds[N];
	conn *cs[N];
	char head[2048], p[256];
	size_t pl;
	for (int i = 0; i < N; i++)
		fds[i] = ws_open_pair(&cs[i], net_upgrade_req, head, sizeof head);
	sbuf *f = ws_frame_text("hello all", 9);
	for (int i = 0; i < N; i++)
		assert_int_equal(ws_send_frame(cs[i], f), 0);
	assert_int_equal(f->refs, N + 1);
	for (int i = 0; i < N; i++) {
		assert_int_equal(read_frame(fds[i], p, &pl, 2), 0x1);
		assert_string_equal(p, "hello all");
	}
	/* Written everywhere: only our reference is left. */
	assert_int_equal(f->refs, 1);
	sbuf_unref(f);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	net_spin(0.02);
	assert_int_equal(closes, N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_handshake_echo_and_idle_context, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handshake_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_big_1009, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binary_1003_and_unmasked_1002, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_app_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auth_timeout_4401, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ping_then_pong_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_broadcast_shared_frame, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
