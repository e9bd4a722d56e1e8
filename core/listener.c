/* Listening sockets. Every server.listen entry is bound (IPv4 or IPv6;
 * IPv6 sockets are V6ONLY so "0.0.0.0" and "::" can both be bound), and
 * each readable listener accepts in a loop until EAGAIN. Running out of
 * descriptors (EMFILE/ENFILE) is logged once and pauses accepting briefly
 * instead of spinning on a listener that stays readable. */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "loop.h"

#define LISTEN_BACKLOG 4096
/* How long accepting pauses when the process is out of descriptors. */
#define LISTEN_EMFILE_PAUSE 0.5

struct listener {
	int fd;
	int port;
	ev_io io;
};

static const struct config *lcfg;
static struct listener listeners[CONFIG_MAX_LISTEN];
static int n_listeners;
static ev_timer resume_timer;
static int emfile_logged, limit_logged;

/* "1.2.3.4:80" / "[::1]:80" for addr; ip gets the bare address. */
static void format_addr(const struct sockaddr_storage *ss, char *addr, size_t alen, char *ip,
                        size_t iplen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		port = ntohs(s6->sin6_port);
		snprintf(addr, alen, "[%s]:%d", host, port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		port = ntohs(s4->sin_port);
		snprintf(addr, alen, "%s:%d", host, port);
	} else {
		snprintf(addr, alen, "unix");
	}
	if (ip)
		snprintf(ip, iplen, "%s", host);
}

static void pause_accepting(void)
{
	for (int i = 0; i < n_listeners; i++)
		ev_io_stop(loop_ev, &listeners[i].io);
	ev_timer_set(&resume_timer, LISTEN_EMFILE_PAUSE, 0.);
	ev_timer_start(loop_ev, &resume_timer);
}

static void resume_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	for (int i = 0; i < n_listeners; i++)
		if (listeners[i].fd >= 0)
			ev_io_start(loop_ev, &listeners[i].io);
}

static void accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
	(void)l;
	(void)revents;
	struct listener *ls = w->data;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(ls->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				if (!emfile_logged)
					log_warn(
					    "accept_emfile", NULL,
					    "out of file descriptors; pausing accept for %.1f s",
					    LISTEN_EMFILE_PAUSE);
				emfile_logged = 1;
				pause_accepting();
				return;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_error("accept_failed", NULL, "accept: %s", strerror(errno));
			return;
		}
		emfile_logged = 0;
		int64_t max = lcfg->limits.max_connections;
		if (max > 0 && conn_count() >= (size_t)max) {
			if (!limit_logged)
				log_warn("max_connections", NULL,
				         "limits.max_connections (%lld) reached; refusing",
				         (long long)max);
			limit_logged = 1;
			close(fd);
			continue;
		}
		limit_logged = 0;
		char peer[64], ip[48];
		format_addr(&ss, peer, sizeof peer, ip, sizeof ip);
		conn_new(fd, peer, ip, 0);
	}
}

static int bind_one(const struct listen_spec *spec, struct listener *ls)
{
	struct addrinfo hints = {0}, *res = NULL;
	char port[16];
	int fd = -1, one = 1;
	const char *what = "getaddrinfo";
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof port, "%d", spec->port);
	const char *host = spec->host && spec->host[0] ? spec->host : NULL;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		log_error("listen_failed", NULL, "%s:%d: %s", host ? host : "*", spec->port,
		          gai_strerror(gai));
		return -1;
	}
	what = "socket";
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	what = "setsockopt";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		goto fail;
	if (res->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		goto fail;
	what = "bind";
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0)
		goto fail;
	what = "listen";
	if (listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	what = "getsockname";
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		goto fail;
	char addr[80], ctx[128], eaddr[100];
	format_addr(&ss, addr, sizeof addr, NULL, 0);
	ls->fd = fd;
	ls->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	ev_io_init(&ls->io, accept_cb, fd, EV_READ);
	ls->io.data = ls;
	ev_io_start(loop_ev, &ls->io);
	log_escape(eaddr, sizeof eaddr, addr);
	snprintf(ctx, sizeof ctx, "\"addr\":\"%s\"", eaddr);
	log_info("listening", ctx, "listening on http://%s", addr);
	freeaddrinfo(res);
	return 0;
fail:
	log_error("listen_failed", NULL, "%s:%d: %s: %s", host ? host : "*", spec->port, what,
	          strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

int listener_start(const struct config *cfg)
{
	lcfg = cfg;
	n_listeners = 0;
	ev_init(&resume_timer, resume_cb);
	for (size_t i = 0; i < cfg->n_listen && i < CONFIG_MAX_LISTEN; i++) {
		const struct listen_spec *spec = &cfg->listen[i];
		if (spec->tls_cert) {
			/* TLS termination is not part of this build yet. */
			log_error("listen_failed", NULL,
			          "%s:%d: TLS listeners are not supported yet; terminate TLS at "
			          "a proxy",
			          spec->host ? spec->host : "*", spec->port);
			listener_stop();
			return -1;
		}
		listeners[n_listeners].fd = -1;
		if (bind_one(spec, &listeners[n_listeners]) < 0) {
			listener_stop();
			return -1;
		}
		n_listeners++;
	}
	return 0;
}

void listener_stop(void)
{
	if (loop_ev)
		ev_timer_stop(loop_ev, &resume_timer);
	for (int i = 0; i < n_listeners; i++) {
		if (listeners[i].fd < 0)
			continue;
		ev_io_stop(loop_ev, &listeners[i].io);
		close(listeners[i].fd);
		listeners[i].fd = -1;
	}
}

int listener_port(int i)
{
	if (i < 0 || i >= n_listeners)
		return -1;
	return listeners[i].port;
}
