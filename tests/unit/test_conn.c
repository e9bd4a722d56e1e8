/* conn.c and listener.c with real sockets: batched writes in order, one
 * shared buffer queued on many connections, close-after-write, conn_find
 * after close, a slow consumer cut off (grace and hard limit), and a
 * listener on 127.0.0.1 port 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "net/http.h"
#include "net/listener.h"
#include "net_harness.h"

static int setup(void **state)
{
	(void)state;
	net_cfg_defaults();
	net_init();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	net_fini();
	return 0;
}

static void test_writes_in_order_and_close_after_write(void **state)
{
	(void)state;
	conn *c;
	int fd = net_pair(&c);
	uint64_t id = c->id;
	assert_ptr_equal(conn_find(id), c);
	sbuf *b = sbuf_from("0123456789", 10);
	conn_write(c, "ab", 2);
	conn_write_sbuf(c, b, 2, 3);
	conn_write(c, "cd", 2);
	assert_int_equal(conn_queued(c), 7);
	assert_int_equal(b->refs, 2);
	conn_close_after_write(c, "test");
	assert_true(conn_is_closing(c));
	assert_int_equal(conn_write(c, "x", 1), -1);
	char buf[64];
	int eof;
	size_t n = net_recv(fd, buf, sizeof buf, 0, NULL, 2, &eof);
	assert_int_equal(n, 7);
	assert_string_equal(buf, "ab234cd");
	assert_true(eof);
	close(fd);
	net_spin(0.02);
	assert_null(conn_find(id));
	assert_int_equal(b->refs, 1);
	sbuf_unref(b);
}

static void test_broadcast_many(void **state)
{
	(void)state;
	enum { N = 50 };
	int fds[N];
	conn *cs[N];
	for (int i = 0; i < N; i++)
		fds[i] = net_pair(&cs[i]);
	assert_int_equal(conn_count(), N);
	sbuf *b = sbuf_from("shared", 6);
	for (int i = 0; i < N; i++)
		assert_int_equal(conn_write_sbuf(cs[i], b, 0, b->len), 0);
	assert_int_equal(b->refs, N + 1);
	for (int i = 0; i < N; i++) {
		char buf[16];
		assert_int_equal(net_recv(fds[i], buf, sizeof buf, 6, NULL, 2, NULL), 6);
		assert_string_equal(buf, "shared");
	}
	assert_int_equal(b->refs, 1);
	sbuf_unref(b);
	for (int i = 0; i < N; i++) {
		conn_close(cs[i], "test");
		close(fds[i]);
	}
	net_spin(0.01);
	assert_int_equal(conn_count(), 0);
}

/* A flush of many dirty connections is split over two threads
 * (limits.write_split): every peer still gets every frame, in order, and
 * the shared buffers' counts come back to one. */
static void test_broadcast_split_flush(void **state)
{
	(void)state;
	enum { N = 64, FRAMES = 3 };
	net_cfg.limits.write_split = 8;
	int fds[N];
	conn *cs[N];
	for (int i = 0; i < N; i++)
		fds[i] = net_pair(&cs[i]);
	sbuf *b[FRAMES] = {sbuf_from("one.", 4), sbuf_from("two.", 4), sbuf_from("six.", 4)};
	for (int f = 0; f < FRAMES; f++)
		for (int i = 0; i < N; i++)
			assert_int_equal(conn_write_sbuf(cs[i], b[f], 0, 4), 0);
	for (int i = 0; i < N; i++) {
		char buf[16];
		assert_int_equal(net_recv(fds[i], buf, sizeof buf, 12, NULL, 2, NULL), 12);
		assert_string_equal(buf, "one.two.six.");
	}
	for (int f = 0; f < FRAMES; f++) {
		assert_int_equal(b[f]->refs, 1);
		sbuf_unref(b[f]);
	}
	for (int i = 0; i < N; i++) {
		conn_close(cs[i], "test");
		close(fds[i]);
	}
	net_spin(0.01);
	assert_int_equal(conn_count(), 0);
	net_cfg.limits.write_split = 0;
}

/* A peer that never reads, with small kernel buffers. */
static int stuck_pair(conn **c)
{
	int fd = net_pair(c);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	setsockopt((*c)->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	return fd;
}

static void test_slow_consumer_grace(void **state)
{
	(void)state;
	net_cfg.limits.outbound_high_water = 64 * 1024;
	net_cfg.limits.outbound_grace = 0.2;
	double drops = metric_value(core_metrics.outbound_drops);
	conn *c = NULL, *ok = NULL;
	int fd = stuck_pair(&c);
	int fd2 = net_pair(&ok);
	uint64_t id = c->id, id2 = ok->id;
	static char chunk[16 * 1024];
	memset(chunk, 'z', sizeof chunk);
	/* About 3x the mark: over it, under the hard limit. */
	for (int i = 0; i < 12; i++)
		assert_int_equal(conn_write(c, chunk, sizeof chunk), 0);
	net_spin(0.05);
	assert_non_null(conn_find(id)); /* still within its grace */
	net_spin(0.5);
	assert_null(conn_find(id));
	assert_non_null(conn_find(id2)); /* the others keep going */
	assert_true(metric_value(core_metrics.outbound_drops) == drops + 1);
	close(fd);
	close(fd2);
}

static void test_slow_consumer_hard_limit(void **state)
{
	(void)state;
	net_cfg.limits.outbound_high_water = 16 * 1024;
	net_cfg.limits.outbound_grace = 10;
	conn *c;
	int fd = stuck_pair(&c);
	uint64_t id = c->id;
	static char chunk[16 * 1024];
	int r = 0;
	for (int i = 0; i < 8 && r == 0; i++)
		r = conn_write(c, chunk, sizeof chunk);
	assert_int_equal(r, -1); /* cut at 4x the mark, at once */
	assert_null(conn_find(id));
	net_spin(0.01);
	close(fd);
}

static void test_listener_loopback(void **state)
{
	(void)state;
	net_cfg.listen[0].host = "127.0.0.1";
	net_cfg.listen[0].port = 0;
	net_cfg.n_listen = 1;
	assert_int_equal(listener_start(&net_cfg), 0);
	int port = listener_port(0);
	assert_true(port > 0);
	assert_int_equal(listener_port(1), -1);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	net_spin(0.05);
	assert_int_equal(conn_count(), 1);
	/* The default router-less HTTP answers 404: the full path works. */
	net_sends(fd, "GET / HTTP/1.1\r\n\r\n");
	char buf[1024];
	net_recv(fd, buf, sizeof buf, 0, "\r\n\r\n", 2, NULL);
	assert_non_null(strstr(buf, "HTTP/1.1 404 "));
	close(fd);
	net_spin(0.05);
	assert_int_equal(conn_count(), 0);
	listener_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_writes_in_order_and_close_after_write, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_broadcast_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_broadcast_split_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_consumer_grace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_consumer_hard_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listener_loopback, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
