/* A client TCP connection: nonblocking socket, libev watchers, an outbound
 * queue of byte ranges (owned copies or references to shared sbufs) written
 * with writev, and the protocol on top (HTTP, then maybe WebSocket).
 *
 * Memory: an idle connection holds no buffers. Reads go into one shared
 * buffer of the loop and are consumed at once by the protocol parser.
 *
 * Outbound queue: bounded. A connection whose queue stays above
 * limits.outbound_high_water for limits.outbound_grace seconds is closed
 * with a logged reason and counted in parley_outbound_drops_total.
 *
 * Async completions find their connection again by id (conn_find), so a
 * connection closed meanwhile is simply not found: never freed memory. */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/sbuf.h"

typedef struct conn conn;
struct http_conn;
struct ws_session;

enum conn_proto { CONN_HTTP = 0, CONN_WS = 1 };

/* The protocol speaking on a connection, as conn.c sees it: conn.c calls
 * these and names no protocol itself (HTTP and WebSocket hand theirs in:
 * net_module_init sets HTTP as the first, ws_accept switches to WS). */
struct conn_proto_ops {
	enum conn_proto proto;
	/* The connection is ready for the protocol (after a TLS handshake). */
	void (*start)(conn *c);
	/* Bytes read (decrypted on TLS), valid during the call. */
	void (*input)(conn *c, const char *data, size_t len);
	/* The connection's timer fired. */
	void (*timeout)(conn *c);
	/* The outbound queue was cut (slow consumer): say so to the peer
	 * (queue a goodbye, then conn_close_after_write). NULL: just close. */
	void (*cut)(conn *c, const char *reason);
	/* Frees the protocol's state (on close). */
	void (*free)(conn *c);
};

struct conn {
	uint64_t id; /* unique for the process lifetime, never reused */
	int fd;
	enum conn_proto proto;
	char peer[64];                    /* "127.0.0.1:53211" or "[::1]:5321" */
	char peer_ip[48];                 /* the client address (X-Forwarded-For if trusted) */
	char counted_addr[48];            /* the address limits.max_connections_per_addr counts
	                                     this connection under; "" when not counted */
	int tls;                          /* 1 on a TLS listener */
	struct http_conn *http;           /* while speaking HTTP */
	struct ws_session *ws;            /* after the upgrade */
	void *app;                        /* the chat client, for WebSocket connections */
	const struct conn_proto_ops *ops; /* the protocol speaking now */
	double opened;                    /* loop time of the accept */
	int authenticated;                /* conn_set_authenticated was called */
	/* private to conn.c: watchers, timers, queue (see conn.c) */
	struct conn_private *priv;
};

/* Accepted socket -> connection (nonblocking set here). tls: the
 * listener's TLS settings (the connection takes a reference), or NULL for
 * plain TCP; on TLS the handshake runs first, then HTTP over the same
 * queue and watchers. NULL on failure (fd closed). */
struct tls_server;
conn *conn_new(int fd, const char *peer, const char *peer_ip, struct tls_server *tls);

/* The protocol every new connection starts with (net_module_init). */
void conn_set_first_proto(const struct conn_proto_ops *ops);
/* Switches the protocol (an upgrade); the old one freed its own state. */
void conn_set_proto(conn *c, const struct conn_proto_ops *ops);

/* The JSON log context of a connection: "conn":id,"peer":"addr". */
void conn_ctx(const conn *c, char *out, size_t n);

/* The connection is authenticated: it leaves the unauthenticated list, so
 * it is never closed to make room for others (conn_shed_unauthenticated)
 * and limits.preauth_timeout no longer applies. */
void conn_set_authenticated(conn *c);
/* Closes the connection that has waited longest without authenticating
 * (and frees it at once); 1 if there was one, 0 if none. Called when
 * descriptors run short, so new connections (health checks, people
 * signing in) still get one. */
int conn_shed_unauthenticated(void);

/* Counts c under addr for limits.max_connections_per_addr (moving it from
 * the address it was counted under). 0, or -1 when addr is at its limit
 * (c stays counted where it was). */
int conn_count_addr(conn *c, const char *addr);
/* Connections now counted under addr. */
size_t conn_addr_count(const char *addr);

/* How long a closing connection may take to write its queue (after which
 * it is closed anyway): a short bound normally; the server sets
 * limits.shutdown_timeout when it stops, so the drain is the documented
 * one. Applies to connections closing now and later. */
void conn_set_drain_bound(double seconds);

/* Queues a copy of data. 0, or -1 if the connection is closing. */
int conn_write(conn *c, const void *data, size_t len);
/* Queues a reference to b (len bytes from off); the queue takes a ref. */
int conn_write_sbuf(conn *c, sbuf *b, size_t off, size_t len);
/* Calls fn(arg) once on the loop thread when at most `low` bytes are
 * queued (soon if that is already so), or when the connection goes: a
 * large response is produced as it drains, never queued whole. fn finds
 * the connection again with conn_find. One waiter per connection. */
void conn_when_drained(conn *c, size_t low, void (*fn)(void *arg), void *arg);
/* Bytes queued and not yet written. */
size_t conn_queued(const conn *c);

/* Closes once the queue is written (or after a short bound); reason is
 * logged. Idempotent. */
void conn_close_after_write(conn *c, const char *reason);
/* Closes now, dropping the queue. Idempotent; frees at the end of the
 * current event. */
void conn_close(conn *c, const char *reason);
int conn_is_closing(const conn *c);

/* Stops / resumes reading (while an HTTP request is being answered). */
void conn_pause_read(conn *c);
void conn_resume_read(conn *c);

/* (Re)arms the connection's single timer: after `seconds` the protocol's
 * timeout handler runs. 0 disarms. */
void conn_set_timeout(conn *c, double seconds);

/* The connection with this id, or NULL if it has closed. */
conn *conn_find(uint64_t id);
/* Number of open connections. */
size_t conn_count(void);
/* Calls fn for each open connection (closing ones skipped). */
void conn_foreach(void (*fn)(conn *c, void *arg), void *arg);

/* Flushes every connection with queued bytes and frees the closed ones.
 * An ev_prepare watcher runs this before the loop sleeps; tests and fuzz
 * targets call it directly. */
void conn_run_deferred(void);

/* Module set-up: limits come from the config. */
struct config;
void conn_module_init(const struct config *cfg);
void conn_module_fini(void); /* closes every connection */

#endif
