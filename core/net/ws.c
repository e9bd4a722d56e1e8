/* WebSocket sessions on wslay 1.1.1, in h2o's pattern.
 *
 * Design: wslay never touches the socket. Its recv callback copies from the
 * bytes the connection just read (and says WOULDBLOCK when they run out);
 * its send callback appends everything to the connection's queue, so wslay
 * never holds a half-sent frame and its control frames (pong, close) meet
 * our text frames only at frame boundaries. A pump runs wslay_event_recv
 * then wslay_event_send once per read.
 *
 * Server-to-client text frames do not go through wslay: ws_frame_text
 * builds header and payload once in a shared sbuf, and every recipient's
 * queue takes a reference (one frame for a whole broadcast).
 *
 * Memory: the wslay context (~4.5 KiB, mostly its 4 KiB input buffer) is
 * created when bytes arrive and freed after the pump when wslay sits at a
 * frame boundary with nothing buffered or queued: we count the bytes fed
 * to wslay against the sizes of the frames it finished (header length is
 * known because wslay rejects non-minimal lengths and a server only takes
 * masked frames), and track fragmented messages. What must outlive the
 * context (authenticated, closing, timers) is in the small session struct.
 *
 * Limits on what a client makes us hold: limits.max_fragments frames per
 * message (each fragment costs wslay a chunk of its own: 65,000 one-byte
 * fragments once cost 5.7 MiB for 455 KB sent), limits.preauth_bytes
 * read before the session authenticates, and limits.ws_input_budget for
 * the incomplete messages of all sessions together, each frame counted
 * with WS_FRAGMENT_COST on top of its payload. A session over a limit is
 * closed (1009, 1008, 1013) and its wslay context freed at once.
 *
 * Timers share the connection's single timer: it fires at the earliest of
 * the auth deadline, the next ping and the pong deadline, and ws_timeout
 * works out which one is due. Received bytes only store a timestamp. */
#include "net/ws.h"

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"

#define WS_GUID             "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_SUBPROTOCOL      "parley.v1"
#define WS_KEY_LEN          24 /* base64 of 16 bytes */
#define WS_MAX_CLOSE_REASON 123
#define WS_MASK_LEN         4
/* Smallest timer step, so a due deadline never spins the loop. */
#define WS_MIN_TIMER 0.001
/* What wslay holds per received data frame beyond its payload (its chunk
 * header and malloc's rounding): measured ~92 bytes with glibc. */
#define WS_FRAGMENT_COST 96

struct ws_session {
	wslay_event_context_ptr wctx; /* NULL while idle */
	const char *in;               /* input being pumped */
	size_t in_len;
	uint64_t fed;       /* bytes handed to wslay since the context was made */
	uint64_t consumed;  /* bytes of the frames it finished */
	uint64_t frame_len; /* payload length of the frame being received */
	ev_tstamp last_recv, last_ping, auth_deadline;
	uint64_t preauth_in; /* bytes read before authenticating */
	uint64_t buffered;   /* of the message being received, counted in ws_buffered */
	uint32_t fragments;  /* data frames of the message being received */
	uint16_t refuse;     /* a limit was hit in a wslay callback: close code */
	const char *refuse_reason;
	unsigned authenticated : 1, mid_message : 1, closing : 1, in_recv : 1;
};

static const struct config *ws_cfg;
static const struct ws_app *ws_app;
static uint64_t ws_buffered; /* all sessions' incomplete messages, with costs */

void ws_set_app(const struct ws_app *app)
{
	ws_app = app;
}

static void metric_bump(metric *m, double v)
{
	if (m) /* test programs may run without metrics_init */
		metric_add(m, v);
}

/* The message being received is done or dropped: its bytes leave the
 * budget. */
static void release_buffered(struct ws_session *s)
{
	ws_buffered -= s->buffered;
	if (s->buffered)
		metric_bump(core_metrics.ws_buffered, -(double)s->buffered);
	s->buffered = 0;
	s->fragments = 0;
}

/* Stops wslay at once (recv_cb reads nothing more); ws_input closes. */
static void refuse(struct ws_session *s, uint16_t code, const char *reason)
{
	if (!s->refuse) {
		s->refuse = code;
		s->refuse_reason = reason;
	}
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	(void)flags;
	struct ws_session *s = ((conn *)user)->ws;
	if (!s->in_len || s->refuse) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	size_t n = len < s->in_len ? len : s->in_len;
	memcpy(buf, s->in, n);
	s->in += n;
	s->in_len -= n;
	s->fed += n;
	return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
	(void)ctx;
	(void)flags;
	/* Always take everything: the queue is bounded by conn.c instead. */
	conn_write(user, data, len);
	return (ssize_t)len;
}

static void frame_start_cb(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	(void)ctx;
	struct ws_session *s = ((conn *)user)->ws;
	s->frame_len = arg->payload_length;
	if (wslay_is_ctrl_frame(arg->opcode))
		return;
	s->mid_message = !arg->fin;
	if (arg->opcode != WSLAY_CONTINUATION_FRAME)
		release_buffered(s); /* a new message (wslay refuses a stray one) */
	if (++s->fragments > (uint64_t)ws_cfg->limits.max_fragments) {
		refuse(s, WS_CLOSE_TOO_BIG, "too many fragments in one message");
		return;
	}
	uint64_t cost = arg->payload_length + WS_FRAGMENT_COST;
	if (ws_buffered + cost > (uint64_t)ws_cfg->limits.ws_input_budget) {
		refuse(s, WS_CLOSE_TRY_AGAIN, "server busy: try again later");
		return;
	}
	s->buffered += cost;
	ws_buffered += cost;
	metric_bump(core_metrics.ws_buffered, (double)cost);
}

static void frame_end_cb(wslay_event_context_ptr ctx, void *user)
{
	(void)ctx;
	struct ws_session *s = ((conn *)user)->ws;
	uint64_t hdr = 2 + WS_MASK_LEN;
	if (s->frame_len >= 65536)
		hdr += 8;
	else if (s->frame_len >= 126)
		hdr += 2;
	s->consumed += hdr + s->frame_len;
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
	conn *c = user;
	struct ws_session *s = c->ws;
	if (!wslay_is_ctrl_frame(arg->opcode))
		release_buffered(s); /* wslay frees the chunks after this call */
	if (s->closing || conn_is_closing(c))
		return;
	if (arg->opcode == WSLAY_TEXT_FRAME) {
		if (ws_app && ws_app->text)
			ws_app->text(c, (const char *)arg->msg, arg->msg_length);
	} else if (arg->opcode == WSLAY_BINARY_FRAME) {
		static const char reason[] = "binary frames are not accepted";
		wslay_event_queue_close(ctx, WS_CLOSE_UNSUPPORTED, (const uint8_t *)reason,
		                        sizeof reason - 1);
		wslay_event_shutdown_read(ctx);
	}
	/* Pings are answered and closes echoed by wslay itself. */
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .on_frame_recv_start_callback = frame_start_cb,
    .on_frame_recv_end_callback = frame_end_cb,
    .on_msg_recv_callback = msg_cb,
};

static int ctx_make(conn *c, struct ws_session *s)
{
	if (wslay_event_context_server_init(&s->wctx, &callbacks, c) != 0) {
		s->wctx = NULL;
		return -1;
	}
	wslay_event_config_set_max_recv_msg_length(s->wctx, (uint64_t)ws_cfg->limits.max_frame);
	s->fed = s->consumed = 0;
	s->mid_message = 0;
	return 0;
}

static void ctx_free(struct ws_session *s)
{
	release_buffered(s);
	if (s->wctx)
		wslay_event_context_free(s->wctx);
	s->wctx = NULL;
}

static void arm(conn *c)
{
	struct ws_session *s = c->ws;
	const struct config *cfg = ws_cfg;
	ev_tstamp next = s->last_recv + cfg->limits.pong_timeout;
	if (cfg->limits.ping_interval > 0 && s->last_ping + cfg->limits.ping_interval < next)
		next = s->last_ping + cfg->limits.ping_interval;
	if (!s->authenticated && s->auth_deadline < next)
		next = s->auth_deadline;
	double in = next - ev_now(loop_ev);
	conn_set_timeout(c, in < WS_MIN_TIMER ? WS_MIN_TIMER : in);
}

void ws_input(conn *c, const char *data, size_t len)
{
	struct ws_session *s = c->ws;
	if (!s || s->closing || conn_is_closing(c))
		return;
	s->last_recv = ev_now(loop_ev);
	if (!s->authenticated) {
		s->preauth_in += len;
		if (s->preauth_in > (uint64_t)ws_cfg->limits.preauth_bytes) {
			ws_close(c, WS_CLOSE_POLICY, "too much data before authentication");
			return;
		}
	}
	if (!s->wctx && ctx_make(c, s) < 0) {
		conn_close(c, "out_of_memory");
		return;
	}
	s->in = data;
	s->in_len = len;
	s->in_recv = 1;
	int r = wslay_event_recv(s->wctx);
	s->in_recv = 0;
	s->in = NULL;
	s->in_len = 0; /* what wslay would not read (closing) is dropped */
	if (s->refuse && !s->closing && !conn_is_closing(c)) {
		char ctx[200];
		conn_ctx(c, ctx, sizeof ctx);
		log_info("ws_limit", ctx, "closing with %u: %s", s->refuse, s->refuse_reason);
		ws_close(c, s->refuse, s->refuse_reason);
	}
	if (conn_is_closing(c) || s->closing) {
		ctx_free(s); /* what it buffered goes now, not after the linger */
		return;      /* the app (or a limit) closed it meanwhile */
	}
	if (r == 0)
		r = wslay_event_send(s->wctx);
	if (r != 0) {
		conn_close(c, "ws_error");
		return;
	}
	if (wslay_event_get_close_sent(s->wctx)) {
		/* wslay answered a close, or refused a frame (1002, 1003, 1009). */
		char ctx[200];
		conn_ctx(c, ctx, sizeof ctx);
		log_debug("ws_close", ctx, "close sent with code %u",
		          wslay_event_get_status_code_sent(s->wctx));
		s->closing = 1;
		ctx_free(s);
		conn_close_after_write(c, "ws_close");
		return;
	}
	if (s->fed == s->consumed && !s->mid_message &&
	    wslay_event_get_queued_msg_count(s->wctx) == 0 && !wslay_event_want_write(s->wctx))
		ctx_free(s); /* idle again: the session costs its small struct */
}

int ws_has_context(const conn *c)
{
	return c->ws && c->ws->wctx;
}

void ws_set_authenticated(conn *c)
{
	if (c->ws)
		c->ws->authenticated = 1;
	conn_set_authenticated(c);
}

void ws_timeout(conn *c)
{
	struct ws_session *s = c->ws;
	if (!s || s->closing)
		return;
	ev_tstamp now = ev_now(loop_ev);
	const struct config *cfg = ws_cfg;
	if (!s->authenticated && now >= s->auth_deadline) {
		ws_close(c, WS_CLOSE_UNAUTHORIZED, "authentication timeout");
		return;
	}
	if (now - s->last_recv >= cfg->limits.pong_timeout) {
		ws_close(c, WS_CLOSE_GOING_AWAY, "ping timeout");
		return;
	}
	if (cfg->limits.ping_interval > 0 && now - s->last_ping >= cfg->limits.ping_interval) {
		static const char ping[2] = {(char)0x89, 0};
		conn_write(c, ping, sizeof ping);
		s->last_ping = now;
	}
	arm(c);
}

void ws_free(conn *c)
{
	struct ws_session *s = c->ws;
	if (!s)
		return;
	if (ws_app && ws_app->closed)
		ws_app->closed(c);
	c->app = NULL;
	ctx_free(s);
	free(s);
	c->ws = NULL;
	metric_bump(core_metrics.ws_sessions, -1);
}

/* Builds an unmasked frame header for len payload bytes; returns its size. */
static size_t frame_header(uint8_t *h, uint8_t opcode, size_t len)
{
	h[0] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		h[1] = (uint8_t)len;
		return 2;
	}
	if (len < 65536) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

sbuf *ws_frame_text(const char *data, size_t len)
{
	uint8_t h[10];
	size_t hl = frame_header(h, WSLAY_TEXT_FRAME, len);
	sbuf *b = sbuf_new(hl + len);
	if (!b)
		return NULL;
	memcpy(b->data, h, hl);
	if (len)
		memcpy(b->data + hl, data, len);
	return b;
}

int ws_send_frame(conn *c, sbuf *frame)
{
	if (!frame || c->proto != CONN_WS || !c->ws || c->ws->closing)
		return -1;
	return conn_write_sbuf(c, frame, 0, frame->len);
}

int ws_send_text(conn *c, const char *data, size_t len)
{
	sbuf *f = ws_frame_text(data, len);
	if (!f)
		return -1;
	int r = ws_send_frame(c, f);
	sbuf_unref(f);
	return r;
}

void ws_close(conn *c, uint16_t code, const char *reason)
{
	struct ws_session *s = c->ws;
	if (!s || s->closing || conn_is_closing(c))
		return;
	size_t rlen = reason ? strlen(reason) : 0;
	if (rlen > WS_MAX_CLOSE_REASON)
		rlen = WS_MAX_CLOSE_REASON;
	uint8_t f[4 + WS_MAX_CLOSE_REASON];
	f[0] = 0x80 | WSLAY_CONNECTION_CLOSE;
	f[1] = (uint8_t)(2 + rlen);
	f[2] = (uint8_t)(code >> 8);
	f[3] = (uint8_t)code;
	if (rlen)
		memcpy(f + 4, reason, rlen);
	s->closing = 1; /* first: the write below may cut a slow consumer */
	conn_write(c, f, 4 + rlen);
	if (s->wctx) {
		/* wslay must add nothing after our close frame; outside its
		 * callbacks, what it buffered can go now. */
		wslay_event_shutdown_read(s->wctx);
		wslay_event_shutdown_write(s->wctx);
		if (!s->in_recv)
			ctx_free(s);
	}
	char ctx[200];
	conn_ctx(c, ctx, sizeof ctx);
	log_debug("ws_close", ctx, "closing with code %u", code);
	conn_close_after_write(c, "ws_close");
}

/* Is token among the comma-separated, case-insensitive list? */
static int has_token(const char *list, const char *token)
{
	size_t tl = strlen(token);
	while (list && *list) {
		while (*list == ' ' || *list == '\t' || *list == ',')
			list++;
		const char *end = list;
		while (*end && *end != ',')
			end++;
		const char *e = end;
		while (e > list && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - list) == tl && strncasecmp(list, token, tl) == 0)
			return 1;
		list = end;
	}
	return 0;
}

static int accept_key(const char *key, char *out, size_t outlen)
{
	char buf[WS_KEY_LEN + sizeof WS_GUID];
	unsigned char sha[20];
	size_t olen = 0;
	snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
	if (mbedtls_sha1_ret((const unsigned char *)buf, strlen(buf), sha) != 0)
		return -1;
	if (mbedtls_base64_encode((unsigned char *)out, outlen, &olen, sha, sizeof sha) != 0)
		return -1;
	out[olen] = '\0';
	return 0;
}

int ws_accept(struct http_request *req)
{
	conn *c = req->c;
	const char *version = http_header(req, "sec-websocket-version");
	const char *key = http_header(req, "sec-websocket-key");
	if (strcmp(req->method, "GET") != 0 ||
	    !has_token(http_header(req, "upgrade"), "websocket") ||
	    !has_token(http_header(req, "connection"), "upgrade")) {
		http_respond_error(req, 400, "bad_request", "not a WebSocket upgrade");
		return -1;
	}
	if (!version || strcmp(version, "13") != 0) {
		static const char body[] = "{\"error\":{\"code\":\"bad_request\",\"message\":"
		                           "\"WebSocket version 13 is required\"}}\n";
		http_respond(req, 426, "application/json", "Sec-WebSocket-Version: 13\r\n", body,
		             sizeof body - 1);
		return -1;
	}
	char accept[64];
	if (!key || strlen(key) != WS_KEY_LEN || accept_key(key, accept, sizeof accept) < 0) {
		http_respond_error(req, 400, "bad_request", "bad Sec-WebSocket-Key");
		return -1;
	}
	struct ws_session *s = calloc(1, sizeof *s);
	if (!s) {
		http_respond_error(req, 500, "internal", "out of memory");
		return -1;
	}
	char head[256];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
	                 accept,
	                 has_token(http_header(req, "sec-websocket-protocol"), WS_SUBPROTOCOL)
	                     ? "Sec-WebSocket-Protocol: " WS_SUBPROTOCOL "\r\n"
	                     : "");
	conn_write(c, head, (size_t)n);
	size_t plen;
	char *pending = http_conn_take_pending(c, &plen);
	ev_tstamp now = ev_now(loop_ev);
	s->last_recv = s->last_ping = now;
	s->auth_deadline = now + ws_cfg->limits.auth_timeout;
	conn_set_proto(c, &ws_conn_ops);
	c->ws = s;
	metric_bump(core_metrics.ws_sessions, 1);
	char ctx[200];
	conn_ctx(c, ctx, sizeof ctx);
	log_debug("ws_open", ctx, "WebSocket session opened");
	/* The app sees the upgrade request before the HTTP state goes. */
	c->app = ws_app && ws_app->open ? ws_app->open(c, req) : NULL;
	http_conn_free(c);
	if (!conn_is_closing(c)) {
		conn_resume_read(c);
		if (!s->closing)
			arm(c);
		if (plen)
			ws_input(c, pending, plen);
	}
	free(pending);
	return 0;
}

void ws_module_init(const struct config *cfg)
{
	ws_cfg = cfg;
}

/* The outbound queue was cut (slow consumer): say why, if the socket
 * takes it (conn.c kept only the frame being written). */
static void ws_cut(conn *c, const char *reason)
{
	(void)reason;
	ws_close(c, WS_CLOSE_TRY_AGAIN, "too slow: messages were dropped; reconnect and resume");
}

/* On close: the session, and the HTTP state of an upgrade cut short. */
static void ws_conn_free(conn *c)
{
	ws_free(c);
	if (c->http)
		http_conn_free(c);
}

const struct conn_proto_ops ws_conn_ops = {
    .proto = CONN_WS,
    .start = NULL,
    .input = ws_input,
    .timeout = ws_timeout,
    .cut = ws_cut,
    .free = ws_conn_free,
};
