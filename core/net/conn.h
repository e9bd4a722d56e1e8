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

struct conn {
	uint64_t id; /* unique for the process lifetime, never reused */
	int fd;
	enum conn_proto proto;
	char peer[64];          /* "127.0.0.1:53211" or "[::1]:5321" */
	char peer_ip[48];       /* the client address (X-Forwarded-For if trusted) */
	int tls;                /* 1 on a TLS listener */
	struct http_conn *http; /* while speaking HTTP */
	struct ws_session *ws;  /* after the upgrade */
	void *app;              /* the chat client, for WebSocket connections */
	/* private to conn.c: watchers, timers, queue (see conn.c) */
	struct conn_private *priv;
};

/* Accepted socket -> connection (nonblocking set here). tls: the
 * listener's TLS settings (the connection takes a reference), or NULL for
 * plain TCP; on TLS the handshake runs first, then HTTP over the same
 * queue and watchers. NULL on failure (fd closed). */
struct tls_server;
conn *conn_new(int fd, const char *peer, const char *peer_ip, struct tls_server *tls);

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
