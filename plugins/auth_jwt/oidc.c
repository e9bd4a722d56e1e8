/* Browser sign-in: the OpenID Connect authorization code flow with PKCE,
 * as a confidential client (the secret stays here). begin makes a flow
 * (state, nonce, PKCE verifier, and a binding value the core puts in a
 * short-lived cookie) and answers the provider's authorization URL; finish
 * spends the flow named by state (single use, whatever the outcome),
 * checks the binding and the age, exchanges the code at the token
 * endpoint and hands the ID token to request.c's checks with the flow's
 * nonce. The endpoints come from the issuer's discovery document, fetched
 * once on the host's curl multi (begin waits for it); every transfer runs
 * there, never blocking the loop.
 *
 * Flows live in this process's memory (a bounded table) and, when the
 * host's store has kv (oidc_store.c), in the store too: then any node of
 * a cluster finishes a flow any node began, and a flow is spent through
 * the store, once in the whole cluster. Without store kv, the callback
 * must reach the node that began the flow (sticky sessions). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <mbedtls/sha256.h>

#include "auth_jwt.h"
#include "b64url.h"
#include "oidc.h"
#include "oidc_store.h"

#define OIDC_MAX_FLOWS   1024 /* sign-ins in progress at once */
#define OIDC_MAX_WAITING 256  /* begins waiting for the discovery document */
#define OIDC_RAND_BYTES  32
#define OIDC_BODY_MAX    (64 * 1024)
#define OIDC_URL_MAX     4096
#define OIDC_DISCOVERY   "/.well-known/openid-configuration"
#define OIDC_CALLBACK    "/api/oidc/callback"
#define OIDC_CODE_MAX    2048

/* One HTTP transfer on the host's multi. */
struct oidc_fetch {
	struct aj *aj;
	CURL *easy;
	struct curl_slist *headers;
	char *post; /* the form body, owned */
	char *body;
	size_t len;
	int too_large;
	char error[CURL_ERROR_SIZE];
};

/* A begin waiting for the discovery document, or posted with its answer. */
struct oidc_begin {
	struct aj *aj;
	struct oidc_begin *next;
	parley_auth_done done;
	void *ud;
	int rc;
	char *link;
	int64_t expires_ms; /* the flow's */
	char state[OIDC_RAND_CHARS], binding[OIDC_RAND_CHARS];
	char msg[AJ_MSG_MAX];
};

/* A finish: the code exchange, then the ID token's checks. */
struct oidc_exchange {
	struct aj *aj;
	struct oidc_exchange *prev, *next; /* in the exchange list while the transfer runs */
	struct oidc_fetch fetch;
	parley_auth_done done;
	void *ud;
	int rc;
	struct oidc_flow flow;
	/* While the store spends the flow: the callback's binding ("" when
	 * too long to be one) and code (NULL when too long). */
	char binding[OIDC_RAND_CHARS];
	char *code;
	char msg[AJ_MSG_MAX];
};

struct aj_oidc {
	char *authorize, *token_endpoint, *logout_url;
	int have_discovery;
	struct oidc_fetch discovery; /* easy set while the fetch runs */
	char discovery_error[AJ_MSG_MAX];
	struct oidc_begin *waiting;
	size_t n_waiting;
	struct oidc_exchange *exchanges;
	struct oidc_flow flows[OIDC_MAX_FLOWS];
	size_t n_flows;
};

/* ---- helpers ------------------------------------------------------------ */

static int random_b64(struct aj *aj, char out[OIDC_RAND_CHARS])
{
	unsigned char raw[OIDC_RAND_BYTES];

	if (aj->host->random(raw, sizeof raw) != 0)
		return -1;
	return b64url_encode(raw, sizeof raw, out, OIDC_RAND_CHARS) ? 0 : -1;
}

/* Equal strings, in time independent of where they differ. */
static int same_secret(const char *a, const char *b)
{
	size_t n = strlen(a);
	unsigned char diff = (unsigned char)(n != strlen(b));

	for (size_t i = 0; i < n && b[i]; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* Appends s percent-encoded (RFC 3986 unreserved kept) at *o in buf. */
static int put_escaped(char *buf, size_t cap, size_t *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (*o + (keep ? 1 : 3) >= cap)
			return -1;
		if (keep) {
			buf[(*o)++] = (char)c;
		} else {
			buf[(*o)++] = '%';
			buf[(*o)++] = hex[c >> 4];
			buf[(*o)++] = hex[c & 15];
		}
	}
	buf[*o] = '\0';
	return 0;
}

static int put_raw(char *buf, size_t cap, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (*o + n >= cap)
		return -1;
	memcpy(buf + *o, s, n + 1);
	*o += n;
	return 0;
}

/* "base?k1=v1&k2=v2…" (or "&" when base has a query), values escaped;
 * pairs is NULL-ended. -1 when it does not fit. */
static int url_with(char *buf, size_t cap, const char *base, const char *const *pairs)
{
	size_t o = 0;
	const char *sep = base && strchr(base, '?') ? "&" : "?";

	if (base && put_raw(buf, cap, &o, base))
		return -1;
	if (!base)
		sep = "", buf[0] = '\0';
	for (size_t i = 0; pairs[i]; i += 2) {
		if (put_raw(buf, cap, &o, sep) || put_raw(buf, cap, &o, pairs[i]) ||
		    put_raw(buf, cap, &o, "=") || put_escaped(buf, cap, &o, pairs[i + 1]))
			return -1;
		sep = "&";
	}
	return 0;
}

/* public_url + path, without a doubled '/'. */
static void public_url_with(struct aj *aj, const char *path, char *buf, size_t cap)
{
	const char *base = aj->host->public_url(aj->ctx);
	size_t n = base ? strlen(base) : 0;

	while (n && base[n - 1] == '/')
		n--;
	snprintf(buf, cap, "%.*s%s", (int)n, base ? base : "", path);
}

/* ---- transfers ---------------------------------------------------------- */

static size_t fetch_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct oidc_fetch *f = arg;
	size_t n = size * nmemb;
	char *grown;

	if (f->len + n > OIDC_BODY_MAX) {
		f->too_large = 1;
		return 0;
	}
	if (!(grown = f->aj->host->realloc(f->aj->ctx, f->body, f->len + n + 1)))
		return 0;
	f->body = grown;
	memcpy(f->body + f->len, ptr, n);
	f->len += n;
	f->body[f->len] = '\0';
	return n;
}

static void fetch_end(struct oidc_fetch *f)
{
	if (f->easy) {
		f->aj->host->curl_remove(f->aj->ctx, f->easy);
		curl_easy_cleanup(f->easy);
		f->easy = NULL;
	}
	curl_slist_free_all(f->headers);
	f->headers = NULL;
	f->aj->host->free(f->aj->ctx, f->body);
	f->aj->host->free(f->aj->ctx, f->post);
	f->body = f->post = NULL;
	f->len = 0;
	f->too_large = 0;
}

/* Starts a GET (post NULL) or a form POST with HTTP Basic client
 * authentication (user non-NULL). 0 or -1. */
static int fetch_start(struct aj *aj, struct oidc_fetch *f, const char *url, const char *post,
                       const char *user, const char *password,
                       void (*done)(void *easy, int code, void *arg), void *arg)
{
	CURL *e = curl_easy_init();

	f->aj = aj;
	f->error[0] = '\0';
	if (!e)
		return -1;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OIDC_BODY_MAX);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->error);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)aj->cfg.timeout_s);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)aj->cfg.timeout_s);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "parley-auth_jwt");
	f->headers = curl_slist_append(NULL, "Accept: application/json");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers);
	if (post) {
		if (!(f->post = aj->host->strdup(aj->ctx, post))) {
			curl_easy_cleanup(e);
			return -1;
		}
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, f->post);
	}
	if (user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, password);
	}
	f->easy = e;
	if (aj->host->curl_add(aj->ctx, e, done, arg) != PARLEY_OK) {
		f->easy = NULL;
		curl_easy_cleanup(e);
		fetch_end(f);
		return -1;
	}
	return 0;
}

/* The transfer's JSON object, or NULL with why set. */
static json_t *fetch_json(struct oidc_fetch *f, int code, char *why, size_t n)
{
	long status = 0;
	json_t *j;

	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	if (f->too_large || code == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, n, "answer larger than %d bytes", OIDC_BODY_MAX);
		return NULL;
	}
	if (code != CURLE_OK) {
		snprintf(why, n, "%.150s",
		         f->error[0] ? f->error : curl_easy_strerror((CURLcode)code));
		return NULL;
	}
	j = f->body ? json_loadb(f->body, f->len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (status != 200) {
		const char *err = json_string_value(json_object_get(j, "error"));
		snprintf(why, n, "HTTP status %ld%s%.64s", status, err ? ": " : "", err ? err : "");
		json_decref(j);
		return NULL;
	}
	if (!json_is_object(j)) {
		snprintf(why, n, "the answer is not a JSON object");
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---- begin -------------------------------------------------------------- */

static void begin_free(struct oidc_begin *b)
{
	b->aj->host->free(b->aj->ctx, b->link);
	b->aj->host->free(b->aj->ctx, b);
}

static void begin_answer(struct oidc_begin *b)
{
	parley_auth_result res = {.rc = b->rc,
	                          .message = b->rc == PARLEY_OK ? NULL : b->msg,
	                          .link = b->link,
	                          .expires_ts = b->expires_ms,
	                          .token = b->rc == PARLEY_OK ? b->binding : NULL};

	b->done(b->ud, &res);
	begin_free(b);
}

static void begin_deliver(void *arg)
{
	struct aj *aj = ((struct oidc_begin *)arg)->aj;

	begin_answer(arg);
	aj->n_posted--;
	aj_free_if_idle(aj);
}

/* Drops the flows whose time is up (they can only fail now), and their
 * copies in the store: this node began them, so it sweeps them. */
static void flows_expire(struct aj *aj, int64_t now)
{
	struct aj_oidc *o = aj->oidc;

	for (size_t i = 0; i < o->n_flows;)
		if (o->flows[i].expires_ms <= now) {
			oidc_store_forget(aj, o->flows[i].state);
			o->flows[i] = o->flows[--o->n_flows];
			memset(&o->flows[o->n_flows], 0, sizeof o->flows[0]);
		} else {
			i++;
		}
}

/* Takes the flow of state out of the table (spent), into *out. */
static int flow_take(struct aj_oidc *o, const char *state, struct oidc_flow *out)
{
	for (size_t i = 0; i < o->n_flows; i++)
		if (same_secret(o->flows[i].state, state)) {
			*out = o->flows[i];
			o->flows[i] = o->flows[--o->n_flows];
			memset(&o->flows[o->n_flows], 0, sizeof o->flows[0]);
			return 0;
		}
	return -1;
}

/* The store kept the new flow's copy (or could not): now the answer. */
static void begin_stored(void *ud, int rc, const struct oidc_flow *flow, const char *msg)
{
	struct oidc_begin *b = ud;
	struct aj *aj = b->aj;
	struct oidc_flow gone;

	(void)flow;
	if (rc != PARLEY_OK) {
		if (aj->oidc && flow_take(aj->oidc, b->state, &gone) == 0)
			memset(&gone, 0, sizeof gone);
		aj->host->free(aj->ctx, b->link);
		b->link = NULL;
		b->rc = rc == PARLEY_ERATELIMIT ? PARLEY_ERATELIMIT : PARLEY_EUNAVAIL;
		if (rc == PARLEY_ERATELIMIT) {
			snprintf(b->msg, sizeof b->msg,
			         "too many sign-ins are in progress; try again soon");
		} else {
			snprintf(b->msg, sizeof b->msg,
			         "the sign-in could not be saved; try again");
			aj->host->log(aj->ctx, PARLEY_LOG_WARN, "oidc_flow_store_failed", "%s",
			              msg ? msg : "store error");
		}
	}
	begin_answer(b);
}

/* A new flow and its authorization URL into b (rc set either way). 1
 * when b went to the store with the flow's copy (its callback answers
 * b), 0 when the caller answers b. */
static int begin_build(struct aj *aj, struct oidc_begin *b)
{
	struct aj_oidc *o = aj->oidc;
	struct oidc_flow f;
	unsigned char hash[32];
	char challenge[OIDC_RAND_CHARS], redirect[OIDC_URL_MAX];
	int64_t now = aj->host->now_ms();

	b->rc = PARLEY_EUNAVAIL;
	if (!o->have_discovery) {
		snprintf(b->msg, sizeof b->msg, "the identity provider is unavailable: %.150s",
		         o->discovery_error[0] ? o->discovery_error : "no discovery document");
		return 0;
	}
	flows_expire(aj, now);
	if (o->n_flows >= OIDC_MAX_FLOWS) {
		b->rc = PARLEY_ERATELIMIT;
		snprintf(b->msg, sizeof b->msg,
		         "too many sign-ins are in progress; try again soon");
		return 0;
	}
	if (random_b64(aj, f.state) || random_b64(aj, f.binding) || random_b64(aj, f.nonce) ||
	    random_b64(aj, f.verifier)) {
		snprintf(b->msg, sizeof b->msg, "no randomness");
		return 0;
	}
	mbedtls_sha256_ret((const unsigned char *)f.verifier, strlen(f.verifier), hash, 0);
	b64url_encode(hash, sizeof hash, challenge, sizeof challenge);
	public_url_with(aj, OIDC_CALLBACK, redirect, sizeof redirect);
	const char *const pairs[] = {
	    "response_type", "code",  "client_id",      aj->cfg.client_id, "redirect_uri",
	    redirect,        "scope", aj->cfg.scopes,   "state",           f.state,
	    "nonce",         f.nonce, "code_challenge", challenge,         "code_challenge_method",
	    "S256",          NULL};
	char *url = aj->host->alloc(aj->ctx, OIDC_URL_MAX);
	if (!url || url_with(url, OIDC_URL_MAX, o->authorize, pairs) != 0) {
		aj->host->free(aj->ctx, url);
		b->rc = PARLEY_ENOMEM;
		snprintf(b->msg, sizeof b->msg, "the authorization URL does not fit");
		return 0;
	}
	f.expires_ms = now + aj->cfg.state_ttl_s * 1000;
	o->flows[o->n_flows++] = f;
	b->link = url;
	b->expires_ms = f.expires_ms;
	memcpy(b->state, f.state, sizeof b->state);
	memcpy(b->binding, f.binding, sizeof b->binding);
	b->rc = PARLEY_OK;
	/* Behind several nodes the callback may reach another one: the flow
	 * goes to the store too, and begin answers once it is there. */
	if (oidc_store_used(aj)) {
		if (oidc_store_put(aj, &f, begin_stored, b) == PARLEY_PENDING) {
			memset(&f, 0, sizeof f);
			return 1;
		}
		flow_take(o, f.state, &f);
		aj->host->free(aj->ctx, b->link);
		b->link = NULL;
		b->rc = PARLEY_EUNAVAIL;
		snprintf(b->msg, sizeof b->msg, "the sign-in could not be saved; try again");
	}
	memset(&f, 0, sizeof f);
	return 0;
}

/* ---- discovery ---------------------------------------------------------- */

/* An endpoint of the document: present, and https (or http to this
 * machine); NULL otherwise. */
static const char *endpoint(const json_t *doc, const char *name)
{
	const char *url = json_string_value(json_object_get(doc, name));

	return url && strlen(url) < OIDC_URL_MAX / 2 && config_url_acceptable(url) ? url : NULL;
}

static int discovery_take(struct aj *aj, const json_t *doc, char *why, size_t n)
{
	struct aj_oidc *o = aj->oidc;
	const char *iss = json_string_value(json_object_get(doc, "issuer"));
	const char *authorize = endpoint(doc, "authorization_endpoint");
	const char *token = endpoint(doc, "token_endpoint");
	const char *end = endpoint(doc, "end_session_endpoint");
	char home[OIDC_URL_MAX / 2], logout[OIDC_URL_MAX];

	if (!iss || strcmp(iss, aj->cfg.issuer) != 0) {
		snprintf(why, n, "its issuer is not %.100s", aj->cfg.issuer);
		return -1;
	}
	if (!authorize || !token) {
		snprintf(why, n, "authorization_endpoint or token_endpoint missing or not https");
		return -1;
	}
	public_url_with(aj, "/", home, sizeof home);
	const char *const pairs[] = {"client_id", aj->cfg.client_id, "post_logout_redirect_uri",
	                             home, NULL};
	if (end && url_with(logout, sizeof logout, end, pairs) != 0)
		end = NULL;
	aj->host->free(aj->ctx, o->authorize); /* a failed earlier attempt's */
	aj->host->free(aj->ctx, o->token_endpoint);
	aj->host->free(aj->ctx, o->logout_url);
	o->authorize = aj->host->strdup(aj->ctx, authorize);
	o->token_endpoint = aj->host->strdup(aj->ctx, token);
	o->logout_url = end ? aj->host->strdup(aj->ctx, logout) : NULL;
	if (!o->authorize || !o->token_endpoint) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	return 0;
}

static void discovery_done(void *easy, int code, void *arg)
{
	struct aj *aj = arg;
	struct aj_oidc *o = aj->oidc;
	char why[AJ_MSG_MAX];
	json_t *doc = fetch_json(&o->discovery, code, why, sizeof why);
	struct oidc_begin *b, *next;

	(void)easy;
	if (doc && discovery_take(aj, doc, why, sizeof why) == 0) {
		o->have_discovery = 1;
		o->discovery_error[0] = '\0';
		aj->host->log(aj->ctx, PARLEY_LOG_INFO, "oidc_discovered", "%s: token endpoint %s",
		              aj->cfg.issuer, o->token_endpoint);
	} else {
		snprintf(o->discovery_error, sizeof o->discovery_error, "%s", why);
		aj->host->log(aj->ctx, PARLEY_LOG_ERROR, "oidc_discovery_failed", "%s: %s",
		              aj->cfg.issuer, why);
	}
	json_decref(doc);
	fetch_end(&o->discovery);
	b = o->waiting;
	o->waiting = NULL;
	o->n_waiting = 0;
	for (; b; b = next) {
		next = b->next;
		if (!begin_build(aj, b))
			begin_answer(b);
	}
}

int oidc_discover(struct aj *aj)
{
	struct aj_oidc *o = aj->oidc;
	char url[OIDC_URL_MAX];
	size_t n;

	if (!o || o->have_discovery || o->discovery.easy || aj->stopping)
		return 0;
	n = strlen(aj->cfg.issuer);
	while (n && aj->cfg.issuer[n - 1] == '/')
		n--;
	snprintf(url, sizeof url, "%.*s" OIDC_DISCOVERY, (int)n, aj->cfg.issuer);
	if (!config_url_acceptable(url)) {
		snprintf(o->discovery_error, sizeof o->discovery_error,
		         "the issuer is not an https:// URL");
		return -1;
	}
	if (fetch_start(aj, &o->discovery, url, NULL, NULL, NULL, discovery_done, aj) != 0) {
		snprintf(o->discovery_error, sizeof o->discovery_error,
		         "could not start a transfer");
		return -1;
	}
	return 0;
}

/* ---- finish ------------------------------------------------------------- */

static void exchange_unlink(struct oidc_exchange *x)
{
	struct aj_oidc *o = x->aj->oidc;

	if (x->prev)
		x->prev->next = x->next;
	else if (o && o->exchanges == x)
		o->exchanges = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

static void exchange_free(struct oidc_exchange *x)
{
	struct aj *aj = x->aj;

	if (x->fetch.aj)
		fetch_end(&x->fetch);
	aj->host->free(aj->ctx, x->code);
	/* The flow's secrets do not outlive it in freed memory. */
	memset(&x->flow, 0, sizeof x->flow);
	aj->host->free(aj->ctx, x);
}

static void exchange_answer(struct oidc_exchange *x, int rc, const char *msg)
{
	parley_auth_result res = {.rc = rc, .message = msg};

	x->done(x->ud, &res);
	exchange_free(x);
}

static void exchange_deliver(void *arg)
{
	struct oidc_exchange *x = arg;
	struct aj *aj = x->aj;

	exchange_answer(x, x->rc, x->msg);
	aj->n_posted--;
	aj_free_if_idle(aj);
}

static int exchange_fail(struct oidc_exchange *x, int rc, const char *msg)
{
	x->rc = rc;
	if (msg != x->msg)
		snprintf(x->msg, sizeof x->msg, "%s", msg);
	x->aj->n_posted++;
	x->aj->host->post(x->aj->ctx, exchange_deliver, x);
	return PARLEY_PENDING;
}

/* The ID token's checks answered: pass their result on. */
static void id_token_checked(void *ud, const parley_auth_result *res)
{
	struct oidc_exchange *x = ud;

	x->done(x->ud, res);
	exchange_free(x);
}

static void token_done(void *easy, int code, void *arg)
{
	struct oidc_exchange *x = arg;
	struct aj *aj = x->aj;
	char why[AJ_MSG_MAX];
	json_t *answer = fetch_json(&x->fetch, code, why, sizeof why);
	const char *id_token = json_string_value(json_object_get(answer, "id_token"));
	int rc;

	(void)easy;
	exchange_unlink(x);
	fetch_end(&x->fetch);
	if (!answer) {
		aj->host->log(aj->ctx, PARLEY_LOG_WARN, "oidc_exchange_failed", "%s", why);
		snprintf(x->msg, sizeof x->msg, "the identity provider refused the code (%.150s)",
		         why);
		exchange_answer(x, PARLEY_EUNAUTHORIZED, x->msg);
		return;
	}
	if (!id_token) {
		json_decref(answer);
		exchange_answer(x, PARLEY_EUNAUTHORIZED, "the identity provider sent no ID token");
		return;
	}
	rc = aj_verify_id_token(aj, id_token, x->flow.nonce, id_token_checked, x);
	json_decref(answer);
	if (rc != PARLEY_PENDING)
		exchange_answer(x, rc, "out of memory");
}

/* The flow is spent (x->flow): checks the binding and the age, then
 * exchanges the code. Always PENDING; the answer comes later. */
static int exchange_start(struct oidc_exchange *x, const char *binding, const char *code)
{
	struct aj *aj = x->aj;
	struct aj_oidc *o = aj->oidc;
	char redirect[OIDC_URL_MAX], form[OIDC_URL_MAX * 2];

	if (!binding || !same_secret(x->flow.binding, binding))
		return exchange_fail(x, PARLEY_EUNAUTHORIZED,
		                     "this sign-in was started in another browser; start again");
	if (x->flow.expires_ms <= aj->host->now_ms())
		return exchange_fail(x, PARLEY_EUNAUTHORIZED,
		                     "this sign-in took too long; start again");
	if (!code || strlen(code) > OIDC_CODE_MAX)
		return exchange_fail(x, PARLEY_EINVAL, "the code is too long");
	public_url_with(aj, OIDC_CALLBACK, redirect, sizeof redirect);
	const char *const pairs[] = {
	    "grant_type", "authorization_code", "code",           code, "redirect_uri",
	    redirect,     "code_verifier",      x->flow.verifier, NULL};
	if (url_with(form, sizeof form, NULL, pairs) != 0)
		return exchange_fail(x, PARLEY_EINVAL, "the code is too long");
	/* RFC 6749 §2.3.1: the id and secret are form-encoded inside Basic. */
	char user[512], password[512];
	size_t ou = 0, op = 0;
	if (put_escaped(user, sizeof user, &ou, aj->cfg.client_id) ||
	    put_escaped(password, sizeof password, &op, aj->cfg.client_secret))
		return exchange_fail(x, PARLEY_EINVAL, "client_id or client_secret is too long");
	if (fetch_start(aj, &x->fetch, o->token_endpoint, form, user, password, token_done, x) !=
	    0) {
		memset(password, 0, sizeof password);
		return exchange_fail(x, PARLEY_EUNAVAIL, "could not reach the identity provider");
	}
	memset(password, 0, sizeof password);
	x->next = o->exchanges;
	if (o->exchanges)
		o->exchanges->prev = x;
	o->exchanges = x;
	return PARLEY_PENDING;
}

/* The store spent the flow (OK, for this request only) or did not. */
static void flow_spent(void *ud, int rc, const struct oidc_flow *flow, const char *msg)
{
	struct oidc_exchange *x = ud;
	struct aj *aj = x->aj;

	if (!aj->oidc) {
		exchange_answer(x, PARLEY_EUNAVAIL, "the server is stopping");
		return;
	}
	if (rc == PARLEY_ENOTFOUND) {
		exchange_answer(x, PARLEY_EUNAUTHORIZED,
		                "this sign-in is unknown or was already used; start again");
		return;
	}
	if (rc != PARLEY_OK || !flow) {
		aj->host->log(aj->ctx, PARLEY_LOG_WARN, "oidc_flow_store_failed", "%s",
		              msg ? msg : "store error");
		exchange_answer(x, PARLEY_EUNAVAIL,
		                "the sign-in could not be checked; start again");
		return;
	}
	x->flow = *flow;
	exchange_start(x, x->binding, x->code);
}

int oidc_finish(void *self, const char *binding, const char *state, const char *code,
                parley_auth_done done, void *ud)
{
	struct aj *aj = self;
	struct aj_oidc *o = aj->oidc;
	struct oidc_exchange *x;
	int here, rc;

	if (!o)
		return PARLEY_ENOTFOUND;
	if (!(x = aj->host->calloc(aj->ctx, 1, sizeof *x)))
		return PARLEY_ENOMEM;
	x->aj = aj;
	x->done = done;
	x->ud = ud;
	if (!state || !*state || !code || !*code)
		return exchange_fail(x, PARLEY_EINVAL, "the callback carries no state or no code");
	if (strlen(state) >= OIDC_RAND_CHARS)
		return exchange_fail(x, PARLEY_EUNAUTHORIZED,
		                     "this sign-in is unknown or was already used; start again");
	flows_expire(aj, aj->host->now_ms());
	here = flow_take(o, state, &x->flow) == 0;
	if (!oidc_store_used(aj)) {
		if (!here)
			return exchange_fail(
			    x, PARLEY_EUNAUTHORIZED,
			    "this sign-in is unknown or was already used; start again");
		return exchange_start(x, binding, code);
	}
	/* Single use in the whole cluster: even a flow begun here is spent
	 * through the store, where another node may have spent it already. */
	if (binding && strlen(binding) < sizeof x->binding)
		memcpy(x->binding, binding, strlen(binding) + 1);
	if (strlen(code) <= OIDC_CODE_MAX && !(x->code = aj->host->strdup(aj->ctx, code)))
		return exchange_fail(x, PARLEY_ENOMEM, "out of memory");
	rc = oidc_store_take(aj, state, here ? &x->flow : NULL, flow_spent, x);
	if (rc != PARLEY_PENDING)
		return exchange_fail(x, PARLEY_EUNAVAIL,
		                     "the sign-in could not be checked; start again");
	return PARLEY_PENDING;
}

/* ---- the vtable's other members, init and stop -------------------------- */

int oidc_describe(void *self, const char **name, const char **logout_url)
{
	struct aj *aj = self;

	if (!aj->oidc)
		return 0;
	*name = aj->cfg.provider_name;
	*logout_url = aj->oidc->logout_url;
	return 1;
}

int oidc_begin(void *self, parley_auth_done done, void *ud)
{
	struct aj *aj = self;
	struct aj_oidc *o = aj->oidc;
	struct oidc_begin *b;

	if (!o)
		return PARLEY_ENOTFOUND;
	if (!(b = aj->host->calloc(aj->ctx, 1, sizeof *b)))
		return PARLEY_ENOMEM;
	b->aj = aj;
	b->done = done;
	b->ud = ud;
	if (!o->have_discovery && o->n_waiting < OIDC_MAX_WAITING && oidc_discover(aj) == 0) {
		b->next = o->waiting;
		o->waiting = b;
		o->n_waiting++;
		return PARLEY_PENDING;
	}
	if (begin_build(aj, b))
		return PARLEY_PENDING;
	aj->n_posted++;
	aj->host->post(aj->ctx, begin_deliver, b);
	return PARLEY_PENDING;
}

int oidc_init(struct aj *aj)
{
	if (!aj->cfg.client_id)
		return 0;
	aj->oidc = aj->host->calloc(aj->ctx, 1, sizeof *aj->oidc);
	return aj->oidc ? 0 : -1;
}

void oidc_stop(struct aj *aj)
{
	struct aj_oidc *o = aj->oidc;
	struct oidc_begin *b, *bn;
	struct oidc_exchange *x, *xn;

	if (!o)
		return;
	if (o->discovery.aj)
		fetch_end(&o->discovery);
	for (b = o->waiting; b; b = bn) {
		bn = b->next;
		b->rc = PARLEY_EUNAVAIL;
		snprintf(b->msg, sizeof b->msg, "the server is stopping");
		begin_answer(b);
	}
	for (x = o->exchanges; x; x = xn) {
		xn = x->next;
		x->prev = x->next = NULL;
		exchange_answer(x, PARLEY_EUNAVAIL, "the server is stopping");
	}
	aj->host->free(aj->ctx, o->authorize);
	aj->host->free(aj->ctx, o->token_endpoint);
	aj->host->free(aj->ctx, o->logout_url);
	memset(o, 0, sizeof *o);
	aj->host->free(aj->ctx, o);
	aj->oidc = NULL;
}
