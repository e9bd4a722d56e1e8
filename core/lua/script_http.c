/* parley.http.request{method, url, headers, body, timeout}: one transfer on
 * the shared curl multi (curl_loop), only to hosts on the script's
 * allow-list, http/https only, no redirects followed, bodies bounded both
 * ways. The task waits; the completion leaves status, body and headers
 * for the resumed coroutine. In test-script mode a stub answers instead. */
#include <curl/curl.h>
#include <ev.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/curl_loop.h"
#include "base/loop.h"
#include "lua/script_internal.h"

#define HTTP_BODY_MAX    (1024 * 1024)
#define HTTP_TIMEOUT_DEF 10.0
#define HTTP_TIMEOUT_MAX 60.0
#define HTTP_HEADERS_MAX 64
#define HTTP_HEADER_LEN  8192

struct http_call {
	struct task *t;
	struct script *s; /* counted in s->n_http until the call ends or is cancelled */
	CURL *easy;
	struct curl_slist *req_headers;
	char *req_body;
	char *body;
	size_t len;
	int too_big;
	char *resp_headers; /* "name: value\n" lines */
	size_t hlen;
	int n_headers;
	long status;
	ev_timer stub; /* test mode */
};

static void call_free(struct http_call *c)
{
	if (c->s)
		c->s->n_http--;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->req_headers);
	free(c->req_body);
	free(c->body);
	free(c->resp_headers);
	free(c);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct http_call *c = ud;
	size_t add = size * n;
	if (c->len + add > HTTP_BODY_MAX) {
		c->too_big = 1;
		return 0;
	}
	char *grown = realloc(c->body, c->len + add + 1);
	if (!grown)
		return 0;
	memcpy(grown + c->len, p, add);
	c->body = grown;
	c->len += add;
	c->body[c->len] = 0;
	return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct http_call *c = ud;
	size_t add = size * n;
	if (add >= 7 && strncmp(p, "HTTP/", 5) == 0) {
		c->hlen = 0; /* a new response (100 Continue, …): keep the last one's */
		c->n_headers = 0;
		return add;
	}
	if (c->n_headers >= HTTP_HEADERS_MAX || add > HTTP_HEADER_LEN || !memchr(p, ':', add))
		return add;
	char *grown = realloc(c->resp_headers, c->hlen + add + 2);
	if (!grown)
		return add;
	memcpy(grown + c->hlen, p, add);
	c->resp_headers = grown;
	c->hlen += add;
	c->resp_headers[c->hlen] = 0;
	c->n_headers++;
	return add;
}

/* Runs in the resumed coroutine. */
static int push_response(lua_State *co, struct task *t)
{
	if (t->rc != 0) {
		lua_pushnil(co);
		lua_pushstring(co, t->err ? t->err : "request failed");
		return 2;
	}
	lua_createtable(co, 0, 3);
	lua_pushinteger(co, (lua_Integer)t->value);
	lua_setfield(co, -2, "status");
	lua_pushstring(co, t->text ? t->text : "");
	lua_setfield(co, -2, "body");
	lua_newtable(co);
	/* headers were stashed after the body's NUL (see finish) */
	const char *h = t->text ? t->text + strlen(t->text) + 1 : NULL;
	while (h && *h) {
		const char *eol = strchr(h, '\n');
		const char *colon = strchr(h, ':');
		if (!eol)
			break;
		if (colon && colon < eol) {
			luaL_Buffer b;
			luaL_buffinit(co, &b);
			for (const char *k = h; k < colon; k++)
				luaL_addchar(&b, (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k));
			luaL_pushresult(&b);
			const char *v = colon + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *e = eol;
			while (e > v && (e[-1] == '\r' || e[-1] == ' '))
				e--;
			lua_pushlstring(co, v, (size_t)(e - v));
			lua_settable(co, -3);
		}
		h = eol + 1;
	}
	lua_setfield(co, -2, "headers");
	return 1;
}

static void finish(struct http_call *c, int ok, const char *err)
{
	struct task *t = c->t;
	host_pending_add(-1);
	if (t) {
		t->http = NULL;
		if (!ok) {
			t->rc = -1;
			t->err = strdup(err);
		} else {
			/* body, NUL, headers, NUL: one string for push_response */
			size_t hl = c->hlen;
			char *joined = malloc(c->len + hl + 2);
			if (joined) {
				if (c->len)
					memcpy(joined, c->body, c->len);
				joined[c->len] = 0;
				if (hl)
					memcpy(joined + c->len + 1, c->resp_headers, hl);
				joined[c->len + 1 + hl] = 0;
			}
			t->rc = joined ? 0 : -1;
			t->err = joined ? NULL : strdup("out of memory");
			t->text = joined;
			t->value = c->status;
		}
		task_resume(t);
	}
	call_free(c);
}

static void transfer_done(void *easy, int code, void *arg)
{
	(void)easy;
	struct http_call *c = arg;
	if (code != CURLE_OK) {
		char err[256];
		snprintf(err, sizeof err, "%s",
		         c->too_big ? "response body larger than 1 MiB" : curl_easy_strerror(code));
		finish(c, 0, err);
		return;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
	finish(c, 1, NULL);
}

void http_cancel(struct task *t)
{
	struct http_call *c = t->http;
	if (!c)
		return;
	t->http = NULL;
	c->t = NULL;
	if (c->s) {
		c->s->n_http--;
		c->s = NULL;
	}
	if (c->easy && !host_http_stub()) {
		curl_loop_remove(c->easy);
		host_pending_add(-1);
		call_free(c);
	}
	/* a stub's timer still fires; it sees t gone and frees c */
}

static void stub_fired(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	struct http_call *c = (struct http_call *)((char *)w - offsetof(struct http_call, stub));
	if (c->status < 0)
		finish(c, 0, c->body ? c->body : "no stub for this URL");
	else
		finish(c, 1, NULL);
}

/* 1 when url is http(s) to a host on the list; else 0 with why. */
static int url_allowed(const struct script *s, const char *url, char *why, size_t n)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ok = 0;
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, n, "not a valid URL");
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		snprintf(why, n, "only http and https URLs");
		goto out;
	}
	for (size_t i = 0; i < s->spec.n_http_allow; i++)
		if (strcasecmp(s->spec.http_allow[i], host) == 0)
			ok = 1;
	if (!ok)
		snprintf(why, n, "host '%s' is not on this script's http_allow list", host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

int http_request(lua_State *L)
{
	struct script *s = sref_of(L)->s;
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "url");
	lua_getfield(L, 1, "method");
	lua_getfield(L, 1, "body");
	lua_getfield(L, 1, "timeout");
	const char *url = lua_tostring(L, -4);
	const char *method = luaL_optstring(L, -3, "GET");
	size_t body_len = 0;
	const char *body = lua_isnil(L, -2) ? NULL : luaL_checklstring(L, -2, &body_len);
	double timeout = luaL_optnumber(L, -1, HTTP_TIMEOUT_DEF);
	char why[256];
	if (!url)
		return luaL_error(L, "http.request: url is required");
	struct task *t = task_require_async(L, "parley.http.request");
	if (!url_allowed(s, url, why, sizeof why)) {
		lua_pushnil(L);
		lua_pushfstring(L, "http.request: %s", why);
		return 2;
	}
	if (body_len > HTTP_BODY_MAX)
		return luaL_error(L, "http.request: body larger than 1 MiB");
	if (!(timeout > 0) || timeout > HTTP_TIMEOUT_MAX)
		return luaL_error(L, "http.request: timeout must be in (0, %d] s",
		                  (int)HTTP_TIMEOUT_MAX);
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
	int known = 0;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		known |= strcmp(method, methods[i]) == 0;
	if (!known)
		return luaL_error(L, "http.request: method must be GET, POST, PUT, PATCH, DELETE "
		                     "or HEAD");
	if (s->n_http >= SCRIPT_HTTP_MAX)
		return luaL_error(L,
		                  "http.request: %d requests of this script are in flight already",
		                  SCRIPT_HTTP_MAX);
	struct http_call *c = calloc(1, sizeof *c);
	if (!c)
		return luaL_error(L, "out of memory");
	c->t = t;
	c->s = s;
	s->n_http++;
	lua_getfield(L, 1, "headers");
	if (lua_istable(L, -1)) {
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			/* strings only: converting a number could raise (memory) */
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
			const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
			if (k && v && !strpbrk(k, "\r\n:") && !strpbrk(v, "\r\n") &&
			    strlen(k) + strlen(v) < HTTP_HEADER_LEN) {
				char line[2 * HTTP_HEADER_LEN + 4];
				snprintf(line, sizeof line, "%.*s: %.*s", HTTP_HEADER_LEN, k,
				         HTTP_HEADER_LEN, v);
				struct curl_slist *l = curl_slist_append(c->req_headers, line);
				if (l)
					c->req_headers = l;
			}
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	http_stub_fn stub = host_http_stub();
	if (stub) {
		char *sbody = NULL;
		long status = 0;
		if (stub(method, url, &status, &sbody) != 0) {
			status = -1;
		}
		c->status = status;
		c->body = sbody;
		c->len = sbody ? strlen(sbody) : 0;
		ev_timer_init(&c->stub, stub_fired, 0, 0);
		ev_timer_start(loop_ev, &c->stub);
		host_pending_add(1);
		t->http = c;
		return task_wait(L, WAIT_HTTP, push_response);
	}
	if (body && !(c->req_body = malloc(body_len + 1))) {
		call_free(c);
		return luaL_error(L, "out of memory");
	}
	if (body) {
		memcpy(c->req_body, body, body_len);
		c->req_body[body_len] = 0;
	}
	CURL *e = c->easy = curl_easy_init();
	if (!e) {
		call_free(c);
		return luaL_error(L, "http.request: cannot create a transfer");
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->req_body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->req_headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "parley-script");
	if (curl_loop_add(e, transfer_done, c) != 0) {
		call_free(c);
		lua_pushnil(L);
		lua_pushstring(L, "http.request: cannot start the transfer");
		return 2;
	}
	host_pending_add(1);
	t->http = c;
	return task_wait(L, WAIT_HTTP, push_response);
}
