/* Shared helpers for the network-layer unit tests (test_conn, test_http,
 * test_ws, test_static_files): a config with short limits, connections on
 * real socketpairs driven by the real loop, and a tiny WebSocket client.
 * Header-only, static functions: each test program includes it once. */
#ifndef PARLEY_TEST_NET_HARNESS_H
#define PARLEY_TEST_NET_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/config.h"
#include "net/conn.h"
#include "net/net.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"

static struct config net_cfg;

static inline void net_cfg_defaults(void)
{
	memset(&net_cfg, 0, sizeof net_cfg);
	config_limits_default(&net_cfg); /* the schema's, not copies */
}

/* Once per test program: loop, metrics, quiet logs, the conn module. */
static inline void net_init(void)
{
	static int done;
	if (!done) {
		loop_init();
		metrics_init();
		log_min_level = LOG_ERROR;
		done = 1;
	}
	net_module_init(&net_cfg);
}

static inline void net_fini(void)
{
	net_module_fini();
}

/* Runs the loop for about `seconds` (timers fire, queues flush). */
static inline void net_spin(double seconds)
{
	double until = ev_time() + seconds;
	do {
		ev_run(loop_ev, EVRUN_NOWAIT);
		conn_run_deferred();
		usleep(1000);
	} while (ev_time() < until);
	ev_now_update(loop_ev);
}

/* A server connection on one end of a socketpair; returns the client end
 * (nonblocking) and the conn through *out. */
static inline int net_pair(conn **out)
{
	int sv[2];
	if (out)
		*out = NULL; /* set on every path: callers read it unconditionally */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	conn *c = conn_new(sv[1], "127.0.0.1:1", "127.0.0.1", 0);
	if (out)
		*out = c;
	return sv[0];
}

static inline void net_send(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EAGAIN) {
			net_spin(0.001);
			continue;
		}
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static inline void net_sends(int fd, const char *s)
{
	net_send(fd, s, strlen(s));
}

/* Reads what arrives within `timeout` seconds, running the loop; stops at
 * EOF (*eof = 1), when `want` bytes are in, or when `needle` appears. */
static inline size_t net_recv(int fd, char *buf, size_t cap, size_t want, const char *needle,
                              double timeout, int *eof)
{
	size_t got = 0;
	double until = ev_time() + timeout;
	if (eof)
		*eof = 0;
	while (ev_time() < until && got + 1 < cap) {
		ev_run(loop_ev, EVRUN_NOWAIT);
		conn_run_deferred();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 2) <= 0)
			continue;
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			if (eof)
				*eof = 1;
			break;
		}
		if (n > 0)
			got += (size_t)n;
		buf[got] = '\0';
		if (want && got >= want)
			break;
		if (needle && memmem(buf, got, needle, strlen(needle)))
			break;
	}
	buf[got] = '\0';
	return got;
}

/* Number of complete HTTP responses (with Content-Length bodies) in buf. */
static inline int net_count_responses(const char *buf, size_t len)
{
	int n = 0;
	const char *p = buf, *end = buf + len;
	for (;;) {
		const char *h = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!h)
			return n;
		const char *cl = memmem(p, (size_t)(h - p), "Content-Length: ", 16);
		size_t blen = cl ? strtoul(cl + 16, NULL, 10) : 0;
		if ((size_t)(end - (h + 4)) < blen)
			return n;
		p = h + 4 + blen;
		n++;
	}
}

/* Reads until `count` complete responses are in (or EOF / timeout). */
static inline size_t net_recv_responses(int fd, char *buf, size_t cap, int count, double timeout,
                                        int *eof)
{
	size_t got = 0;
	double until = ev_time() + timeout;
	int e = 0;
	while (ev_time() < until && net_count_responses(buf, got) < count && !e && got + 1 < cap)
		got += net_recv(fd, buf + got, cap - got, 0, "\r\n", 0.05, &e);
	if (eof)
		*eof = e;
	return got;
}

/* A masked client frame (fin set). */
static inline size_t ws_client_frame(uint8_t *out, int opcode, int fin, const void *payload,
                                     size_t len)
{
	static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
	size_t h = 0;
	out[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
	if (len < 126) {
		out[h++] = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			out[h++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	memcpy(out + h, mask, 4);
	h += 4;
	const uint8_t *p = payload;
	for (size_t i = 0; i < len; i++)
		out[h + i] = p[i] ^ mask[i % 4];
	return h + len;
}

static const char net_upgrade_req[] __attribute__((unused)) =
    "GET /ws HTTP/1.1\r\nHost: localhost\r\n"
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: chat, parley.v1\r\n\r\n";

/* One server frame parsed from buf: returns its total size, 0 if
 * incomplete. */
static inline size_t ws_parse_frame(const uint8_t *buf, size_t len, int *opcode,
                                    const uint8_t **payload, size_t *plen)
{
	if (len < 2)
		return 0;
	size_t h = 2, pl = buf[1] & 0x7f;
	if (pl == 126) {
		if (len < 4)
			return 0;
		pl = (size_t)buf[2] << 8 | buf[3];
		h = 4;
	} else if (pl == 127) {
		if (len < 10)
			return 0;
		pl = 0;
		for (int i = 0; i < 8; i++)
			pl = pl << 8 | buf[2 + i];
		h = 10;
	}
	if (len < h + pl)
		return 0;
	*opcode = buf[0] & 0x0f;
	*payload = buf + h;
	*plen = pl;
	return h + pl;
}

#endif
