/* curl_loop.c against a real HTTP server on 127.0.0.1 (a listener thread in
 * this test): concurrent transfers on the real loop, bodies intact, done on
 * the loop thread; a refused port reports a connection error; remove and
 * fini behave as curl_loop.h says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/curl_loop.h"
#include "base/loop.h"

#define N_TRANSFERS 8
#define BODY_REPEAT 2000 /* bodies of ~20 KB: several reads each */
#define REQ_MAX     4096
/* A hang guard, not a timing target. */
#define GUARD_S 20.0

struct transfer {
	CURL *easy;
	char url[64];
	char *body;
	size_t len;
	int done;
	int code;
	int on_loop;
};

static pthread_t main_thread;
static int server_fd = -1;
static int server_port;
static pthread_t server_thread;
static int pending;

/* One connection: read the request head, answer with a body derived from
 * the path so each transfer can check it got its own. */
static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[REQ_MAX];
	size_t n = 0;
	while (n < sizeof req - 1) {
		ssize_t r = read(fd, req + n, sizeof req - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = '\0';
	char path[64] = "/";
	sscanf(req, "GET %63s", path);
	size_t unit = strlen(path) + 1;
	size_t blen = unit * BODY_REPEAT;
	char *body = malloc(blen + 1);
	for (size_t i = 0; i < BODY_REPEAT; i++) {
		memcpy(body + i * unit, path, unit - 1);
		body[i * unit + unit - 1] = '\n';
	}
	char head[256];
	int hl = snprintf(head, sizeof head,
	                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
	                  "%zu\r\nConnection: close\r\n\r\n",
	                  blen);
	if (write(fd, head, (size_t)hl) == hl) {
		size_t off = 0;
		while (off < blen) {
			ssize_t w = write(fd, body + off, blen - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(body);
	close(fd);
	return NULL;
}

static void *server_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(server_fd, NULL, NULL);
		if (fd < 0)
			break; /* the listener was shut down */
		pthread_t t;
		if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
	return NULL;
}

/* A loopback listener on a free port; returns the port. */
static int listen_loopback(int *fd_out)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	*fd_out = -1; /* set on every path: callers close it unconditionally */
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*fd_out = fd;
	return ntohs(a.sin_port);
}

static int setup(void **state)
{
	(void)state;
	main_thread = pthread_self();
	server_port = listen_loopback(&server_fd);
	if (server_port < 0 || listen(server_fd, 64) != 0)
		return -1;
	if (pthread_create(&server_thread, NULL, server_main, NULL) != 0)
		return -1;
	if (loop_init() != 0)
		return -1;
	return curl_loop_init();
}

static int teardown(void **state)
{
	(void)state;
	curl_loop_fini();
	loop_fini();
	shutdown(server_fd, SHUT_RDWR);
	close(server_fd);
	pthread_join(server_thread, NULL);
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	size_t len = size * n;
	char *b = realloc(t->body, t->len + len + 1);
	if (!b)
		return 0;
	memcpy(b + t->len, p, len);
	t->len += len;
	b[t->len] = '\0';
	t->body = b;
	return len;
}

static void on_done(void *easy, int code, void *arg)
{
	struct transfer *t = arg;
	assert_ptr_equal(easy, t->easy);
	t->done++;
	t->code = code;
	t->on_loop = pthread_equal(pthread_self(), main_thread);
	if (--pending == 0)
		ev_break(loop_ev, EVBREAK_ALL);
}

static void guard_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ALL);
}

static void run_until_done(void)
{
	ev_timer guard;
	ev_timer_init(&guard, guard_cb, GUARD_S, 0.);
	ev_timer_start(loop_ev, &guard);
	ev_run(loop_ev, 0);
	ev_timer_stop(loop_ev, &guard);
}

static void transfer_prepare(struct transfer *t, int port, const char *path)
{
	memset(t, 0, sizeof *t);
	snprintf(t->url, sizeof t->url, "http://127.0.0.1:%d%s", port, path);
	t->easy = curl_easy_init();
	assert_non_null(t->easy);
	curl_easy_setopt(t->easy, CURLOPT_URL, t->url);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
}

static void test_concurrent(void **state)
{
	(void)state;
	struct transfer t[N_TRANSFERS];
	for (int i = 0; i < N_TRANSFERS; i++) {
		char path[32];
		snprintf(path, sizeof path, "/item-%d", i);
		transfer_prepare(&t[i], server_port, path);
		assert_int_equal(curl_loop_add(t[i].easy, on_done, &t[i]), 0);
	}
	pending = N_TRANSFERS;
	assert_int_equal(curl_loop_running(), N_TRANSFERS);
	run_until_done();
	assert_int_equal(pending, 0);
	assert_int_equal(curl_loop_running(), 0);
	for (int i = 0; i < N_TRANSFERS; i++) {
		char path[32];
		snprintf(path, sizeof path, "/item-%d", i);
		size_t unit = strlen(path) + 1;
		assert_int_equal(t[i].done, 1);
		assert_int_equal(t[i].code, CURLE_OK);
		assert_true(t[i].on_loop);
		long status = 0;
		curl_easy_getinfo(t[i].easy, CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 200);
		assert_int_equal(t[i].len, unit * BODY_REPEAT);
		for (size_t k = 0; k < BODY_REPEAT; k++)
			assert_memory_equal(t[i].body + k * unit, path, unit - 1);
		curl_easy_cleanup(t[i].easy);
		free(t[i].body);
	}
}

static void test_refused(void **state)
{
	(void)state;
	/* A port that was free a moment ago and has no listener now. */
	int fd;
	int port = listen_loopback(&fd);
	assert_true(port > 0);
	close(fd);
	struct transfer t;
	transfer_prepare(&t, port, "/nobody");
	assert_int_equal(curl_loop_add(t.easy, on_done, &t), 0);
	pending = 1;
	run_until_done();
	assert_int_equal(t.done, 1);
	assert_int_equal(t.code, CURLE_COULDNT_CONNECT);
	assert_true(t.on_loop);
	curl_easy_cleanup(t.easy);
	free(t.body);
}

static void test_remove_and_fini(void **state)
{
	(void)state;
	struct transfer removed, aborted;
	transfer_prepare(&removed, server_port, "/removed");
	transfer_prepare(&aborted, server_port, "/aborted");
	assert_int_equal(curl_loop_add(removed.easy, on_done, &removed), 0);
	assert_int_equal(curl_loop_add(aborted.easy, on_done, &aborted), 0);
	assert_int_equal(curl_loop_running(), 2);
	curl_loop_remove(removed.easy);
	assert_int_equal(curl_loop_running(), 1);
	/* fini aborts what is in flight, reporting an error to its done. */
	pending = 1;
	curl_loop_fini();
	assert_int_equal(removed.done, 0);
	assert_int_equal(aborted.done, 1);
	assert_int_not_equal(aborted.code, CURLE_OK);
	assert_int_equal(curl_loop_running(), 0);
	/* A second init works, and adding needs one. */
	assert_int_equal(curl_loop_add(removed.easy, on_done, &removed), -1);
	assert_int_equal(curl_loop_init(), 0);
	curl_easy_cleanup(removed.easy);
	curl_easy_cleanup(aborted.easy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_and_fini, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
