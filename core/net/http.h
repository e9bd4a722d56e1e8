/* HTTP/1.1 on a connection, with http-parser: requests are parsed with
 * limits (header bytes, body bytes, header and idle time), handed to the
 * router one at a time (reading pauses until the response is written, so
 * pipelined requests are answered in order), and answered with the
 * http_respond* calls, now or later (async: find the conn again by id).
 *
 * Errors: a malformed request gets 400 and the connection closes; a body
 * over the limit 413; a header section over the limit 431; too slow 408. */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "net/conn.h"

#define HTTP_MAX_HEADERS 64

struct http_header {
	char *name; /* lower-cased */
	char *value;
};

/* Valid until the response to it is sent, or the connection closes. */
struct http_request {
	conn *c;
	uint64_t conn_id;
	const char *method; /* "GET" */
	char *url;          /* as sent: "/api/x?y=1" */
	char *path;         /* percent-decoded path, without query */
	char *query;        /* raw query without '?', or NULL */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	char *body; /* NUL-terminated; NULL when empty */
	size_t body_len;
	int keep_alive;
	int upgrade;            /* Connection: upgrade */
	int64_t content_length; /* -1 when not given (chunked) */
	int streamed;           /* the body goes to a sink (http_body_stream) */
};

/* The router: called for each complete request. It must eventually call
 * one of http_respond* (or ws_accept) for this request. */
typedef void (*http_router_fn)(struct http_request *req);
void http_set_router(http_router_fn fn);

/* Streaming bodies (uploads): requests the predicate picks are routed as
 * soon as their head is in, with reading paused and req->streamed set.
 * The route either answers (an early answer closes the connection after
 * the write: the unread body is discarded) or calls http_body_stream and
 * later http_body_resume. Chunks then go to the sink as they arrive; when
 * the sink is behind, reading pauses until it calls http_body_resume. */
typedef int (*http_stream_pred)(const struct http_request *req);
void http_set_stream_predicate(http_stream_pred fn);

struct http_body_sink {
	/* A chunk (valid during the call): 0 for more, 1 to pause reading. */
	int (*chunk)(void *ud, const char *data, size_t len);
	/* The whole body is in; answer req now or later. */
	void (*end)(void *ud);
	/* The request died before the sink's owner answered (connection
	 * closed, body over `limit`: 413 sent, parse error, timeout). */
	void (*gone)(void *ud);
};
/* Takes req's body as a stream of at most limit bytes; reading stays
 * paused until http_body_resume. */
void http_body_stream(struct http_request *req, const struct http_body_sink *sink, void *ud,
                      int64_t limit);
/* Reads on (no-op when the request is gone or not paused). */
void http_body_resume(uint64_t conn_id);

/* HTTP as a connection's protocol (every connection starts with it). */
extern const struct conn_proto_ops http_conn_ops;

/* Starts HTTP on a new connection. */
void http_conn_start(conn *c);
/* Feeds bytes read from the socket (used by conn.c and the fuzz target). */
void http_conn_input(conn *c, const char *data, size_t len);
/* Timeout on the connection's timer while in HTTP mode. */
void http_conn_timeout(conn *c);
/* Frees the HTTP state (on close or upgrade). */
void http_conn_free(conn *c);

/* Case-insensitive header lookup; NULL when absent. */
const char *http_header(const struct http_request *req, const char *name);
/* Query parameter (decoded, malloc'ed) or NULL. */
char *http_query_param(const struct http_request *req, const char *name);
/* Cookie value (malloc'ed) or NULL. */
char *http_cookie(const struct http_request *req, const char *name);

/* Sends a response and finishes the request. extra_headers: complete
 * "Name: value\r\n" lines or NULL. Adds Content-Length, Date, Connection. */
void http_respond(struct http_request *req, int status, const char *content_type,
                  const char *extra_headers, const void *body, size_t len);
/* {"error":{"code":…,"message":…}} with the status. */
void http_respond_error(struct http_request *req, int status, const char *code,
                        const char *message);
/* A JSON text body. */
void http_respond_json(struct http_request *req, int status, const char *extra_headers,
                       const char *json, size_t len);
/* The reason phrase for a status. */
const char *http_status_text(int status);

/* Like http_respond with a shared body buffer (queued by reference, no
 * copy); the caller keeps its own reference. */
void http_respond_sbuf(struct http_request *req, int status, const char *content_type,
                       const char *extra_headers, sbuf *body);

/* A response whose body of len bytes the caller queues itself on req->c
 * (conn_write, paced with conn_when_drained), then http_respond_finish.
 * No body for HEAD: finish at once. 0, or -1 when req is not answerable. */
int http_respond_begin(struct http_request *req, int status, const char *content_type,
                       const char *extra_headers, int64_t len);
void http_respond_finish(struct http_request *req);

/* The bytes that followed the current request (after an upgrade: the first
 * WebSocket frames), malloc'ed, ownership to the caller; NULL if none. */
char *http_conn_take_pending(conn *c, size_t *len);

/* Module set-up (conn_module_init calls it): limits from the config. */
struct config;
void http_module_init(const struct config *cfg);

/* Finds the request being answered on conn `id`, or NULL if it closed. */
struct http_request *http_request_find(uint64_t conn_id);

#endif
