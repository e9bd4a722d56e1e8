/* HTTP/1.1 on a connection, with http-parser 2.9.
 *
 * Design: a connection holds HTTP state (struct http_conn) only while a
 * request is in progress; an idle keep-alive connection owns nothing but
 * its timer. Strings of the request head (URL, header names and values)
 * are appended to one growing buffer, bounded by limits.max_header, and
 * turned into pointers once the head is complete (the buffer may move
 * while it grows). One request at a time: when a message is complete the
 * parser is paused, reading stops, and the router gets the request; bytes
 * that followed it (pipelining, or the first WebSocket frames after an
 * upgrade) are kept in a buffer allocated only then and parsed after the
 * response. A router answering synchronously does not recurse: the feed
 * loop picks the kept bytes up when the router returns. */
#include "net/http.h"

#include <ctype.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "net/client_addr.h"

/* Status lines and our own headers fit in this, plus extra headers. */
#define HTTP_HEAD_RESERVE 512
#define HTTP_BUF_MIN      256

enum http_state { H_READING, H_ANSWERING };

struct http_conn {
	http_parser parser;
	enum http_state state;
	int error;     /* status to answer with after a callback failed */
	int in_router; /* the router is on the stack for this request */
	int in_value;  /* the last header callback was a value */
	char *hbuf;    /* URL and header strings, NUL-separated */
	size_t hlen, hcap;
	uint32_t name_off[HTTP_MAX_HEADERS];
	uint32_t value_off[HTTP_MAX_HEADERS];
	size_t n_headers;
	size_t body_cap;
	char *pending; /* bytes read after the current request */
	size_t pending_len;
	/* A streamed body (see http.h): where it goes, how much came. */
	const struct http_body_sink *sink;
	void *sink_ud;
	int64_t body_limit, body_seen;
	int head_dispatch; /* the head is in: route it outside the parser */
	int body_paused;
	int answered;  /* answered while reading: free once the parser is off */
	int continued; /* "100 Continue" sent for Expect: 100-continue */
	struct http_request req;
};

static const struct config *http_cfg;
static http_router_fn router;
static http_parser_settings settings;
static http_stream_pred stream_pred;
static conn *feeding; /* the connection whose input is being parsed */

static void feed(conn *c, const char *data, size_t len);

void http_set_router(http_router_fn fn)
{
	router = fn;
}

void http_set_stream_predicate(http_stream_pred fn)
{
	stream_pred = fn;
}

static size_t max_header(void)
{
	return http_cfg ? (size_t)http_cfg->limits.max_header : 16384;
}

static size_t max_body(void)
{
	/* One limit for every request body today; uploads (their own issue)
	 * will take limits.max_upload for their path. */
	return http_cfg ? (size_t)http_cfg->limits.max_body : 1024 * 1024;
}

static double timeout_of(int header)
{
	if (!http_cfg)
		return header ? 10 : 60;
	return header ? http_cfg->limits.header_timeout : http_cfg->limits.idle_timeout;
}

/* How long an idle connection (between requests) may wait for the next
 * one: limits.idle_timeout, cut short by limits.preauth_timeout for a
 * connection that has not authenticated, counted from its accept. */
static double idle_left(const conn *c)
{
	double t = timeout_of(0);
	if (!http_cfg || c->authenticated || http_cfg->limits.preauth_timeout <= 0)
		return t;
	double left = c->opened + http_cfg->limits.preauth_timeout - ev_now(loop_ev);
	if (left < t)
		t = left > 0.001 ? left : 0.001;
	return t;
}

/* Past limits.preauth_timeout without authenticating: the response under
 * way is the last (Connection: close). */
static int preauth_expired(const conn *c)
{
	return http_cfg && !c->authenticated && http_cfg->limits.preauth_timeout > 0 &&
	       ev_now(loop_ev) - c->opened >= http_cfg->limits.preauth_timeout;
}

static void state_free(conn *c)
{
	struct http_conn *h = c->http;
	if (!h)
		return;
	if (h->sink) {
		const struct http_body_sink *sink = h->sink;
		h->sink = NULL;
		sink->gone(h->sink_ud);
	}
	free(h->hbuf);
	free(h->req.path);
	free(h->req.body);
	free(h->pending);
	free(h);
	c->http = NULL;
}

void http_conn_free(conn *c)
{
	state_free(c);
}

static struct http_conn *state_new(conn *c)
{
	struct http_conn *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = c;
	h->req.c = c;
	h->req.conn_id = c->id;
	c->http = h;
	conn_set_timeout(c, timeout_of(1));
	return h;
}

void http_conn_start(conn *c)
{
	conn_set_timeout(c, idle_left(c));
}

static int hbuf_append(struct http_conn *h, const char *at, size_t len)
{
	if (h->hlen + len + 1 > max_header()) {
		h->error = 431;
		return -1;
	}
	if (h->hlen + len + 1 > h->hcap) {
		size_t ncap = h->hcap ? h->hcap : HTTP_BUF_MIN;
		while (ncap < h->hlen + len + 1)
			ncap *= 2;
		char *n = realloc(h->hbuf, ncap);
		if (!n) {
			h->error = 500;
			return -1;
		}
		h->hbuf = n;
		h->hcap = ncap;
	}
	memcpy(h->hbuf + h->hlen, at, len);
	h->hlen += len;
	h->hbuf[h->hlen] = '\0';
	return 0;
}

/* Ends the current string (the terminator becomes part of the buffer). */
static int hbuf_end(struct http_conn *h)
{
	if (hbuf_append(h, "", 0) < 0)
		return -1;
	h->hlen++;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	conn *c = p->data;
	return hbuf_append(c->http, at, len) < 0 ? -1 : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *h = ((conn *)p->data)->http;
	if (h->in_value || h->n_headers == 0) {
		/* A new header: end the URL or the previous value. */
		if (h->n_headers == HTTP_MAX_HEADERS) {
			h->error = 431;
			return -1;
		}
		if (hbuf_end(h) < 0)
			return -1;
		h->name_off[h->n_headers] = (uint32_t)h->hlen;
		h->value_off[h->n_headers] = (uint32_t)h->hlen;
		h->n_headers++;
		h->in_value = 0;
	}
	return hbuf_append(h, at, len) < 0 ? -1 : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *h = ((conn *)p->data)->http;
	if (!h->in_value) {
		if (hbuf_end(h) < 0)
			return -1;
		h->value_off[h->n_headers - 1] = (uint32_t)h->hlen;
		h->in_value = 1;
	}
	return hbuf_append(h, at, len) < 0 ? -1 : 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Percent-decodes src[0..len) into a new string; NULL on a bad escape or
 * an encoded NUL. plus: '+' means a space (query strings). */
static char *pct_decode(const char *src, size_t len, int plus)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = src[i];
		if (ch == '%') {
			int hi = i + 2 < len ? hexval((unsigned char)src[i + 1]) : -1;
			int lo = i + 2 < len ? hexval((unsigned char)src[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (ch == '+' && plus) {
			out[o++] = ' ';
		} else {
			out[o++] = ch;
		}
	}
	out[o] = '\0';
	return out;
}

static int on_headers_complete(http_parser *p)
{
	conn *c = p->data;
	struct http_conn *h = c->http;
	struct http_request *r = &h->req;
	if (hbuf_end(h) < 0)
		return -1;
	r->url = h->hbuf;
	for (size_t i = 0; i < h->n_headers; i++) {
		char *name = h->hbuf + h->name_off[i];
		for (char *s = name; *s; s++)
			*s = (char)tolower((unsigned char)*s);
		r->headers[i].name = name;
		r->headers[i].value = h->hbuf + h->value_off[i];
	}
	r->n_headers = h->n_headers;
	r->method = http_method_str((enum http_method)p->method);
	struct http_parser_url u;
	http_parser_url_init(&u);
	if (http_parser_parse_url(r->url, strlen(r->url), 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH))) {
		h->error = 400;
		return -1;
	}
	r->path = pct_decode(r->url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len, 0);
	if (!r->path) {
		h->error = 400;
		return -1;
	}
	if (u.field_set & (1 << UF_QUERY)) {
		/* The query ends the URL or precedes a fragment: cut it. */
		r->query = r->url + u.field_data[UF_QUERY].off;
		r->query[u.field_data[UF_QUERY].len] = '\0';
	}
	/* Behind a trusted proxy the client is the forwarded address: the
	 * per-address limit counts it (the proxy's own address is not). */
	if (http_cfg && http_cfg->limits.max_connections_per_addr > 0 &&
	    http_cfg->n_trusted_proxies) {
		char addr[CLIENT_ADDR_MAX];
		client_addr_forwarded(http_cfg->trusted_proxies, http_cfg->n_trusted_proxies,
		                      c->peer_ip, http_header(r, "x-forwarded-for"), addr,
		                      sizeof addr);
		if (strcmp(addr, c->peer_ip) != 0 && conn_count_addr(c, addr) < 0) {
			h->error = 429;
			return -1;
		}
	}
	r->keep_alive = http_should_keep_alive(p);
	r->upgrade = p->upgrade;
	r->content_length = (p->flags & F_CONTENTLENGTH) ? (int64_t)p->content_length : -1;
	if (stream_pred && !r->upgrade && stream_pred(r)) {
		/* Routed outside the parser (feed), which may not be re-entered. */
		r->streamed = 1;
		h->head_dispatch = 1;
		h->body_paused = 1;
		http_parser_pause(p, 1);
		return 0;
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > max_body()) {
		h->error = 413; /* at once, without reading the body */
		return -1;
	}
	/* The head is in: the body gets the idle timeout, refreshed below. */
	conn_set_timeout(c, timeout_of(0));
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	conn *c = p->data;
	struct http_conn *h = c->http;
	struct http_request *r = &h->req;
	if (r->streamed) {
		if (!h->sink)
			return 0; /* answered early: the rest is discarded */
		h->body_seen += (int64_t)len;
		if (h->body_seen > h->body_limit) {
			h->error = 413;
			return -1;
		}
		conn_set_timeout(c, timeout_of(0));
		if (h->sink->chunk(h->sink_ud, at, len) > 0 && h->sink && !h->answered) {
			h->body_paused = 1;
			http_parser_pause(p, 1);
		}
		return 0;
	}
	if (r->body_len + len > max_body()) {
		h->error = 413;
		return -1;
	}
	if (r->body_len + len + 1 > h->body_cap) {
		size_t ncap = h->body_cap ? h->body_cap : HTTP_BUF_MIN;
		while (ncap < r->body_len + len + 1)
			ncap *= 2;
		char *n = realloc(r->body, ncap);
		if (!n) {
			h->error = 500;
			return -1;
		}
		r->body = n;
		h->body_cap = ncap;
	}
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	conn_set_timeout(c, timeout_of(0));
	return 0;
}

static int on_message_complete(http_parser *p)
{
	conn *c = p->data;
	c->http->state = H_ANSWERING;
	/* Stop here: the rest of the input waits for the response. */
	http_parser_pause(p, 1);
	return 0;
}

static const char *error_code(int status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 404:
		return "not_found";
	case 408:
		return "request_timeout";
	case 413:
		return "payload_too_large";
	case 429:
		return "too_many_connections";
	case 431:
		return "headers_too_large";
	default:
		return "internal";
	}
}

static const char *error_message(int status)
{
	if (status == 429)
		return "too many connections from this address";
	return http_status_text(status);
}

static const char *date_now(void)
{
	static char buf[40];
	static time_t cached;
	time_t now = (time_t)(loop_now_ms() / 1000);
	if (now != cached || !buf[0]) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		cached = now;
	}
	return buf;
}

/* Writes a status line and headers; content_length < 0: none. */
static void write_head(conn *c, int status, const char *ctype, const char *extra,
                       long long content_length, int keep_alive)
{
	size_t cap = HTTP_HEAD_RESERVE + (ctype ? strlen(ctype) : 0) + (extra ? strlen(extra) : 0);
	char *head = malloc(cap);
	if (!head) {
		conn_close(c, "out_of_memory");
		return;
	}
	int n = snprintf(head, cap,
	                 "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: %s\r\n"
	                 "X-Content-Type-Options: nosniff\r\n",
	                 status, http_status_text(status), date_now(),
	                 keep_alive ? "keep-alive" : "close");
	if (ctype)
		n += snprintf(head + n, cap - (size_t)n, "Content-Type: %s\r\n", ctype);
	if (content_length >= 0)
		n +=
		    snprintf(head + n, cap - (size_t)n, "Content-Length: %lld\r\n", content_length);
	n += snprintf(head + n, cap - (size_t)n, "%s\r\n", extra ? extra : "");
	conn_write(c, head, (size_t)n);
	free(head);
}

/* A protocol error found by us, not the router: answer and close. */
static void fail(conn *c, int status)
{
	char ctx[200], body[160];
	conn_ctx(c, ctx, sizeof ctx);
	log_debug("http_error", ctx, "%d %s", status, http_status_text(status));
	if (status == 429 && core_metrics.conn_refused)
		metric_add(core_metrics.conn_refused, 1);
	int n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
	                 error_code(status), error_message(status));
	write_head(c, status, "application/json", NULL, n, 0);
	conn_write(c, body, (size_t)n);
	state_free(c);
	conn_close_after_write(c, "http_error");
}

static int keep_pending(struct http_conn *h, const char *data, size_t len)
{
	/* Bounded: reading is paused while a request is answered, so this is
	 * at most what one read brought plus an earlier remainder. */
	char *n = realloc(h->pending, h->pending_len + len);
	if (!n)
		return -1;
	memcpy(n + h->pending_len, data, len);
	h->pending = n;
	h->pending_len += len;
	return 0;
}

static void dispatch(conn *c, struct http_conn *h)
{
	if (core_metrics.http_requests) /* absent in some test programs */
		metric_add(core_metrics.http_requests, 1);
	conn_pause_read(c);
	conn_set_timeout(c, 0);
	h->in_router = 1;
	if (router)
		router(&h->req);
	else
		http_respond_error(&h->req, 404, "not_found", "no route");
	if (c->http)
		c->http->in_router = 0;
}

/* Routes a streamed request's head, or hands its complete body to the
 * sink. Outside the parser: the callee may answer, which frees nothing
 * the caller still uses (an early answer leaves h to feed). */
static void stream_step(conn *c, struct http_conn *h)
{
	if (h->head_dispatch) {
		h->head_dispatch = 0;
		dispatch(c, h);
		if (c->http == h && !h->answered && h->body_paused)
			conn_set_timeout(c, timeout_of(0)); /* waiting for the sink: bounded */
		return;
	}
	const struct http_body_sink *sink = h->sink;
	conn_pause_read(c);
	conn_set_timeout(c, 0);
	h->in_router = 1;
	sink->end(h->sink_ud);
	if (c->http)
		c->http->in_router = 0;
}

static void feed(conn *c, const char *data, size_t len)
{
	char *owned = NULL;
	conn *outer = feeding;
	feeding = c;
	while (len > 0 && !conn_is_closing(c)) {
		struct http_conn *h = c->http;
		if (!h && !(h = state_new(c))) {
			conn_close(c, "out_of_memory");
			break;
		}
		if (h->state == H_ANSWERING || h->body_paused) {
			if (keep_pending(h, data, len) < 0)
				conn_close(c, "out_of_memory");
			break;
		}
		size_t n = http_parser_execute(&h->parser, &settings, data, len);
		enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
		if (h->answered) {
			state_free(c); /* answered early: the connection closes */
			break;
		}
		if (h->error || (e != HPE_OK && e != HPE_PAUSED)) {
			fail(c, h->error ? h->error : e == HPE_HEADER_OVERFLOW ? 431 : 400);
			break;
		}
		data += n;
		len -= n;
		if (h->state != H_ANSWERING && !h->body_paused)
			continue;
		if (len && keep_pending(h, data, len) < 0) {
			conn_close(c, "out_of_memory");
			break;
		}
		len = 0;
		if (h->state != H_ANSWERING) {
			/* A streamed body paused: at its head, or the sink is behind. */
			conn_pause_read(c);
			if (h->head_dispatch)
				stream_step(c, h);
		} else if (h->sink) {
			stream_step(c, h);
		} else {
			dispatch(c, h);
		}
		h = c->http;
		if (!h || conn_is_closing(c) || h->answered) {
			if (h && h->answered)
				state_free(c);
			break;
		}
		if (h->state == H_ANSWERING || h->body_paused)
			break; /* answered later, upgraded, or the sink resumes us */
		/* Answered already, or resumed at once, and bytes followed. */
		free(owned);
		owned = h->pending;
		data = owned;
		len = h->pending_len;
		h->pending = NULL;
		h->pending_len = 0;
	}
	free(owned);
	feeding = outer;
}

void http_body_stream(struct http_request *req, const struct http_body_sink *sink, void *ud,
                      int64_t limit)
{
	conn *c = req->c;
	struct http_conn *h = c->http;
	if (!h || &h->req != req || !req->streamed)
		return;
	h->sink = sink;
	h->sink_ud = ud;
	h->body_limit = limit;
}

void http_body_resume(uint64_t conn_id)
{
	conn *c = conn_find(conn_id);
	struct http_conn *h = c ? c->http : NULL;
	if (!h || !h->req.streamed || !h->body_paused || h->answered || conn_is_closing(c))
		return;
	h->body_paused = 0;
	http_parser_pause(&h->parser, 0);
	const char *expect = http_header(&h->req, "expect");
	if (!h->continued && expect && strcasecmp(expect, "100-continue") == 0) {
		/* The client waits for this before it sends the body (curl). */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		conn_write(c, cont, sizeof cont - 1);
	}
	h->continued = 1;
	conn_resume_read(c);
	conn_set_timeout(c, timeout_of(0));
	if (feeding == c || !h->pending)
		return; /* the feed loop on the stack goes on by itself */
	char *pending = h->pending;
	size_t plen = h->pending_len;
	h->pending = NULL;
	h->pending_len = 0;
	feed(c, pending, plen);
	free(pending);
}

void http_conn_input(conn *c, const char *data, size_t len)
{
	if (conn_is_closing(c) || c->proto != CONN_HTTP)
		return;
	feed(c, data, len);
}

void http_conn_timeout(conn *c)
{
	struct http_conn *h = c->http;
	if (!h) {
		conn_close(c, "idle_timeout"); /* keep-alive idle: silently */
		return;
	}
	if (h->state == H_READING) {
		if (h->req.streamed) {
			char ctx[200];
			conn_ctx(c, ctx, sizeof ctx);
			log_warn("http_body_timeout", ctx,
			         "streamed body idle: paused %d, parser %s, pending %zu, seen %lld",
			         h->body_paused, http_errno_name(HTTP_PARSER_ERRNO(&h->parser)),
			         h->pending_len, (long long)h->body_seen);
		}
		fail(c, 408);
	}
}

char *http_conn_take_pending(conn *c, size_t *len)
{
	struct http_conn *h = c->http;
	*len = 0;
	if (!h || !h->pending)
		return NULL;
	char *p = h->pending;
	*len = h->pending_len;
	h->pending = NULL;
	h->pending_len = 0;
	return p;
}

/* The response is queued: next request, or close. */
static void finish(conn *c, struct http_conn *h, int keep_alive)
{
	if (!keep_alive) {
		state_free(c);
		conn_close_after_write(c, "http_close");
		return;
	}
	if (!h->pending) {
		state_free(c);
		conn_set_timeout(c, idle_left(c));
		conn_resume_read(c);
		return;
	}
	/* Bytes of the next request are here: a fresh request, same state. */
	char *pending = h->pending;
	size_t plen = h->pending_len;
	int in_router = h->in_router;
	free(h->hbuf);
	free(h->req.path);
	free(h->req.body);
	memset(h, 0, sizeof *h);
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = c;
	h->req.c = c;
	h->req.conn_id = c->id;
	h->pending = pending;
	h->pending_len = plen;
	h->in_router = in_router;
	conn_set_timeout(c, timeout_of(1));
	conn_resume_read(c);
	if (!in_router) {
		h->pending = NULL;
		h->pending_len = 0;
		feed(c, pending, plen);
		free(pending);
	}
}

static struct http_conn *answering(struct http_request *req)
{
	conn *c = req->c;
	struct http_conn *h = c->http;
	if (!h || &h->req != req || conn_is_closing(c) || h->answered)
		return NULL;
	if (h->state != H_ANSWERING && !req->streamed)
		return NULL;
	return h;
}

static void respond(struct http_request *req, int status, const char *ctype, const char *extra,
                    const void *body, sbuf *sb, size_t len)
{
	struct http_conn *h = answering(req);
	if (!h)
		return;
	conn *c = req->c;
	/* An upgrade refused goes on in another protocol: do not parse it.
	 * A streamed request answered before its body ended closes. */
	int early = h->state != H_ANSWERING;
	int keep = req->keep_alive && !req->upgrade && !early && !preauth_expired(c);
	h->sink = NULL; /* its owner answered: no more callbacks */
	int no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
	write_head(c, status, ctype, extra, no_body ? -1 : (long long)len, keep);
	if (!no_body && strcmp(req->method, "HEAD") != 0 && len) {
		if (sb)
			conn_write_sbuf(c, sb, 0, len);
		else
			conn_write(c, body, len);
	}
	if (log_min_level <= LOG_DEBUG) {
		char ctx[200];
		conn_ctx(c, ctx, sizeof ctx);
		log_debug("http_request", ctx, "%s %s %d", req->method, req->path, status);
	}
	if (early) {
		/* Reading goes on and discards (linger) so the answer is seen. */
		h->answered = 1;
		conn_close_after_write(c, "http_answered_early");
		if (feeding != c)
			state_free(c);
		return;
	}
	finish(c, h, keep);
}

int http_respond_begin(struct http_request *req, int status, const char *content_type,
                       const char *extra_headers, int64_t len)
{
	struct http_conn *h = answering(req);
	if (!h || h->state != H_ANSWERING)
		return -1;
	if (preauth_expired(req->c))
		req->keep_alive = 0;
	write_head(req->c, status, content_type, extra_headers, (long long)len, req->keep_alive);
	return 0;
}

void http_respond_finish(struct http_request *req)
{
	struct http_conn *h = answering(req);
	if (h && h->state == H_ANSWERING)
		finish(req->c, h, req->keep_alive);
}

void http_respond(struct http_request *req, int status, const char *content_type,
                  const char *extra_headers, const void *body, size_t len)
{
	respond(req, status, content_type, extra_headers, body, NULL, len);
}

void http_respond_sbuf(struct http_request *req, int status, const char *content_type,
                       const char *extra_headers, sbuf *body)
{
	respond(req, status, content_type, extra_headers, NULL, body, body ? body->len : 0);
}

void http_respond_error(struct http_request *req, int status, const char *code, const char *message)
{
	char ecode[64], emsg[512], body[700];
	log_escape(ecode, sizeof ecode, code ? code : error_code(status));
	log_escape(emsg, sizeof emsg, message ? message : http_status_text(status));
	int n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
	                 ecode, emsg);
	http_respond(req, status, "application/json", NULL, body, (size_t)n);
}

void http_respond_json(struct http_request *req, int status, const char *extra_headers,
                       const char *json, size_t len)
{
	http_respond(req, status, "application/json", extra_headers, json, len);
}

struct http_request *http_request_find(uint64_t conn_id)
{
	conn *c = conn_find(conn_id);
	if (!c || !c->http || c->http->answered || conn_is_closing(c))
		return NULL;
	if (c->http->state != H_ANSWERING && !c->http->req.streamed)
		return NULL;
	return &c->http->req;
}

const char *http_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

char *http_query_param(const struct http_request *req, const char *name)
{
	const char *q = req->query;
	size_t nlen = strlen(name);
	while (q && *q) {
		const char *end = strchr(q, '&');
		size_t seg = end ? (size_t)(end - q) : strlen(q);
		const char *eq = memchr(q, '=', seg);
		size_t klen = eq ? (size_t)(eq - q) : seg;
		char *key = pct_decode(q, klen, 1);
		int match = key && strcmp(key, name) == 0 && strlen(key) == nlen;
		free(key);
		if (match)
			return eq ? pct_decode(eq + 1, seg - klen - 1, 1) : strdup("");
		q = end ? end + 1 : NULL;
	}
	return NULL;
}

char *http_cookie(const struct http_request *req, const char *name)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i < req->n_headers; i++) {
		if (strcmp(req->headers[i].name, "cookie") != 0)
			continue;
		const char *s = req->headers[i].value;
		while (*s) {
			while (*s == ' ' || *s == ';')
				s++;
			const char *end = strchr(s, ';');
			size_t seg = end ? (size_t)(end - s) : strlen(s);
			const char *eq = memchr(s, '=', seg);
			if (eq && (size_t)(eq - s) == nlen && strncmp(s, name, nlen) == 0) {
				size_t vlen = seg - nlen - 1;
				const char *v = eq + 1;
				if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
					v++;
					vlen -= 2;
				}
				return strndup(v, vlen);
			}
			s += seg;
		}
	}
	return NULL;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Entity";
	case 426:
		return "Upgrade Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Unknown";
	}
}

void http_module_init(const struct config *cfg)
{
	http_cfg = cfg;
	http_parser_settings_init(&settings);
	settings.on_url = on_url;
	settings.on_header_field = on_header_field;
	settings.on_header_value = on_header_value;
	settings.on_headers_complete = on_headers_complete;
	settings.on_body = on_body;
	settings.on_message_complete = on_message_complete;
	/* The parser's own bound backs up ours (it also counts whitespace). */
	if (cfg && cfg->limits.max_header > 0)
		http_parser_set_max_header_size((uint32_t)cfg->limits.max_header);
}

const struct conn_proto_ops http_conn_ops = {
    .proto = CONN_HTTP,
    .start = http_conn_start,
    .input = http_conn_input,
    .timeout = http_conn_timeout,
    .cut = NULL, /* a response cannot be cut short politely */
    .free = http_conn_free,
};
