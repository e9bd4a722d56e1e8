/* Listening sockets. Every server.listen entry is bound (IPv4 or IPv6;
 * IPv6 sockets are V6ONLY so "0.0.0.0" and "::" can both be bound), and
 * each readable listener accepts in a loop until EAGAIN. Running out of
 * descriptors (EMFILE/ENFILE) is logged once and pauses accepting briefly
 * instead of spinning on a listener that stays readable.
 *
 * Before that happens: connections may use the descriptors the process
 * has (RLIMIT_NOFILE) minus limits.fd_reserve (kept for the store, files
 * and curl). At that budget, and on EMFILE, the oldest connection that has
 * not authenticated is closed to make room, so a health check or a person
 * signing in is still served while an idle crowd holds the rest. A client
 * address (not a trusted proxy: behind one, http.c counts the forwarded
 * address) holds at most limits.max_connections_per_addr connections; one
 * more is closed at once, unread.
 *
 * A listener with tls = { cert, key } holds a tls_server; each connection
 * it accepts takes a reference. SIGHUP (listener_reload_tls) loads the
 * files again into a new tls_server for the connections still to come;
 * open ones keep the old one until they close. */
#include "net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/config.h"
#include "net/conn.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "net/client_addr.h"
#include "net/tls.h"

#define LISTEN_BACKLOG 4096
/* How long accepting pauses when the process is out of descriptors. */
#define LISTEN_EMFILE_PAUSE 0.5

struct listener {
	int fd;
	int port;
	ev_io io;
	const struct listen_spec *spec;
	struct tls_server *tls; /* NULL: plain */
	char addr[80];          /* as bound, for logs */
};

static const struct config *lcfg;
static struct listener listeners[CONFIG_MAX_LISTEN];
static int n_listeners;
static ev_timer resume_timer;
static int emfile_logged, limit_logged, per_addr_logged, budget_logged;
static size_t conn_budget; /* connections before shedding; 0: no budget */

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

static int trusted_proxy(const char *ip)
{
	return client_addr_trusted(lcfg->trusted_proxies, lcfg->n_trusted_proxies, ip);
}

/* Over limits.max_connections_per_addr already? Then the socket is closed
 * unread: cheaper than any answer, and the client's own connections
 * closing lets it in again. */
static int refuse_per_addr(const char *ip)
{
	int64_t max = lcfg->limits.max_connections_per_addr;
	if (max <= 0 || trusted_proxy(ip) || conn_addr_count(ip) < (size_t)max)
		return 0;
	if (!per_addr_logged) {
		char ctx[120], eip[100];
		log_escape(eip, sizeof eip, ip);
		snprintf(ctx, sizeof ctx, "\"addr\":\"%s\"", eip);
		log_warn(
		    "max_connections_per_addr", ctx,
		    "%s holds limits.max_connections_per_addr (%lld) connections; refusing more",
		    ip, (long long)max);
	}
	per_addr_logged = 1;
	if (core_metrics.conn_refused)
		metric_add(core_metrics.conn_refused, 1);
	return 1;
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
			if ((errno == EMFILE || errno == ENFILE) && conn_shed_unauthenticated())
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
		/* At the budget one that has not authenticated makes room; the
		 * reserve stays for the process's own files. */
		if (conn_budget && conn_count() >= conn_budget && !conn_shed_unauthenticated()) {
			if (!budget_logged)
				log_warn("fd_budget", NULL,
				         "%zu connections, every one authenticated: descriptors "
				         "short (limits.fd_reserve); refusing",
				         conn_count());
			budget_logged = 1;
			close(fd);
			continue;
		}
		budget_logged = 0;
		if (refuse_per_addr(ip)) {
			close(fd);
			continue;
		}
		per_addr_logged = 0;
		conn *c = conn_new(fd, peer, ip, ls->tls);
		if (c && !trusted_proxy(ip))
			conn_count_addr(c, ip);
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
	char ctx[160], eaddr[100];
	char *addr = ls->addr;
	format_addr(&ss, ls->addr, sizeof ls->addr, NULL, 0);
	ls->fd = fd;
	ls->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	ev_io_init(&ls->io, accept_cb, fd, EV_READ);
	ls->io.data = ls;
	ev_io_start(loop_ev, &ls->io);
	log_escape(eaddr, sizeof eaddr, addr);
	snprintf(ctx, sizeof ctx, "\"addr\":\"%s\",\"tls\":%s", eaddr, ls->tls ? "true" : "false");
	log_info("listening", ctx, "listening on %s://%s", ls->tls ? "https" : "http", addr);
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

/* The listener's certificate and key into a new tls_server. */
static struct tls_server *open_tls(const struct listener *ls, char *err, size_t n)
{
	return tls_server_new(ls->spec->tls_cert, ls->spec->tls_key, err, n);
}

static void log_tls(const struct listener *ls, const char *event, const char *what)
{
	char desc[300], ctx[160], eaddr[100];
	tls_server_describe(ls->tls, desc, sizeof desc);
	log_escape(eaddr, sizeof eaddr, ls->addr);
	snprintf(ctx, sizeof ctx, "\"addr\":\"%s\"", eaddr);
	if (strstr(desc, "(EXPIRED)"))
		log_warn(event, ctx, "%s for %s: %s", what, ls->addr, desc);
	else
		log_info(event, ctx, "%s for %s: %s", what, ls->addr, desc);
}

static int load_tls(struct listener *ls)
{
	char err[512];
	ls->tls = open_tls(ls, err, sizeof err);
	if (!ls->tls) {
		log_error("listen_failed", NULL, "%s:%d: %s", ls->spec->host ? ls->spec->host : "*",
		          ls->spec->port, err);
		return -1;
	}
	return 0;
}

void listener_reload_tls(void)
{
	for (int i = 0; i < n_listeners; i++) {
		struct listener *ls = &listeners[i];
		if (!ls->tls)
			continue;
		char err[512];
		struct tls_server *fresh = open_tls(ls, err, sizeof err);
		if (!fresh) {
			char ctx[160], eaddr[100];
			log_escape(eaddr, sizeof eaddr, ls->addr);
			snprintf(ctx, sizeof ctx, "\"addr\":\"%s\"", eaddr);
			log_error("tls_reload_failed", ctx,
			          "%s: %s; keeping the certificate in use", ls->addr, err);
			continue;
		}
		/* Open connections hold their own reference to the old one. */
		tls_server_unref(ls->tls);
		ls->tls = fresh;
		log_tls(ls, "tls_reload", "certificate reloaded");
	}
}

/* Connections allowed before shedding: the descriptor limit minus the
 * reserve (0: no budget, when either is unlimited or off). */
static size_t budget_of(const struct config *cfg)
{
	struct rlimit rl;
	if (cfg->limits.fd_reserve <= 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur <= (rlim_t)cfg->limits.fd_reserve)
		return 0;
	return (size_t)(rl.rlim_cur - (rlim_t)cfg->limits.fd_reserve);
}

int listener_start(const struct config *cfg)
{
	lcfg = cfg;
	n_listeners = 0;
	conn_budget = budget_of(cfg);
	ev_init(&resume_timer, resume_cb);
	for (size_t i = 0; i < cfg->n_listen && i < CONFIG_MAX_LISTEN; i++) {
		const struct listen_spec *spec = &cfg->listen[i];
		struct listener *ls = &listeners[n_listeners];
		memset(ls, 0, sizeof *ls);
		ls->fd = -1;
		ls->spec = spec;
		n_listeners++;
		if (spec->tls_cert && load_tls(ls) < 0) {
			listener_stop();
			return -1;
		}
		if (bind_one(spec, ls) < 0) {
			listener_stop();
			return -1;
		}
		if (ls->tls)
			log_tls(ls, "tls_certificate", "certificate");
	}
	return 0;
}

void listener_stop(void)
{
	if (loop_ev)
		ev_timer_stop(loop_ev, &resume_timer);
	for (int i = 0; i < n_listeners; i++) {
		tls_server_unref(listeners[i].tls);
		listeners[i].tls = NULL;
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
