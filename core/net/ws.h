/* WebSocket sessions with wslay, the h2o way: wslay's callbacks never touch
 * the socket; recv copies from the bytes the connection just read, send
 * appends to the connection's outbound queue, and a pump feeds wslay until
 * no progress. wslay parses incoming frames and answers pings and closes;
 * outgoing text frames are built here once (ws_frame_text) so a broadcast
 * shares one buffer among all recipients.
 *
 * The wslay context (about 4.5 KiB) exists only while a frame is being
 * received: it is freed at a frame boundary and made again on the next
 * read, so an idle session costs a few hundred bytes. */
#ifndef PARLEY_WS_H
#define PARLEY_WS_H

#include <stddef.h>
#include <stdint.h>

#include "net/conn.h"
#include "net/http.h"
#include "base/sbuf.h"

/* Close codes. */
#define WS_CLOSE_NORMAL       1000
#define WS_CLOSE_GOING_AWAY   1001
#define WS_CLOSE_PROTOCOL     1002
#define WS_CLOSE_UNSUPPORTED  1003
#define WS_CLOSE_POLICY       1008 /* e.g. too much data before authenticating */
#define WS_CLOSE_TOO_BIG      1009 /* message over max_frame or max_fragments */
#define WS_CLOSE_INTERNAL     1011
#define WS_CLOSE_TRY_AGAIN    1013 /* slow consumer cut, input budget full */
#define WS_CLOSE_UNAUTHORIZED 4401

/* What the application (chat) does with a session. */
struct ws_app {
	/* After the 101: returns the app's per-session state (conn->app). */
	void *(*open)(conn *c, const struct http_request *upgrade_req);
	/* A complete text message (UTF-8 validated by wslay? no: by the app). */
	void (*text)(conn *c, const char *data, size_t len);
	/* The session ended (any reason); free the app state. */
	void (*closed)(conn *c);
};
void ws_set_app(const struct ws_app *app);

/* WebSocket as a connection's protocol (ws_accept switches to it). */
extern const struct conn_proto_ops ws_conn_ops;

/* Validates an upgrade request and answers 101 (or an error response).
 * subprotocol: "parley.v1" is echoed when the client offers it.
 * Returns 0 when the connection is now a WebSocket. */
int ws_accept(struct http_request *req);

/* Feeds bytes read from the socket (conn.c, fuzz target). */
void ws_input(conn *c, const char *data, size_t len);
/* The app authenticated the session: the auth timeout (4401) and
 * limits.preauth_bytes are off, and the connection is never shed. */
void ws_set_authenticated(conn *c);
/* Connection timer fired in WS mode (ping, pong and auth timeouts). */
void ws_timeout(conn *c);
void ws_free(conn *c);

/* A server-to-client text frame (header + payload) in one shared buffer. */
sbuf *ws_frame_text(const char *data, size_t len);
/* Queues a text message (copied). */
int ws_send_text(conn *c, const char *data, size_t len);
/* Queues a shared frame from ws_frame_text. */
int ws_send_frame(conn *c, sbuf *frame);
/* Sends a close frame with code and reason, then closes after writing. */
void ws_close(conn *c, uint16_t code, const char *reason);

/* 1 while the session holds a wslay context (an idle one holds none). */
int ws_has_context(const conn *c);

/* Module set-up (conn_module_init calls it): limits from the config. */
struct config;
void ws_module_init(const struct config *cfg);

#endif
