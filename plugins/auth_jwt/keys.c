/* The issuer's key set: fetched at start, every `refresh` seconds, and when
 * a token names a key we do not have; one transfer at a time on the host's
 * shared curl multi, never blocking the loop. Requests that need a key wait
 * in the live list (state WAIT_KEYS) and are all answered when the transfer
 * ends. A fetch for an unknown key is allowed once per `min_refetch`
 * seconds, so a flood of made-up key ids costs the issuer one request per
 * period. A failed fetch keeps the keys we had. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "auth_jwt.h"

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct aj *aj = arg;
	size_t n = size * nmemb;
	char *grown;

	if (aj->body_len + n > JWKS_MAX_BYTES) {
		aj->body_too_large = 1;
		return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
	}
	grown = aj->host->realloc(aj->ctx, aj->body, aj->body_len + n + 1);
	if (!grown)
		return 0;
	aj->body = grown;
	memcpy(aj->body + aj->body_len, ptr, n);
	aj->body_len += n;
	aj->body[aj->body_len] = '\0';
	return n;
}

static void transfer_end(struct aj *aj)
{
	if (aj->easy) {
		aj->host->curl_remove(aj->ctx, aj->easy);
		curl_easy_cleanup(aj->easy);
		aj->easy = NULL;
	}
	aj->host->free(aj->ctx, aj->body);
	aj->body = NULL;
	aj->body_len = 0;
	aj->body_too_large = 0;
}

static void fail_unavailable(struct aj_req *req)
{
	const char *why = req->aj->fetch_error[0] ? req->aj->fetch_error : "not fetched yet";

	snprintf(req->msg, sizeof req->msg, "the issuer's keys are unavailable: %.150s", why);
	req_fail(req, PARLEY_EUNAVAIL, req->msg);
}

static void fail_unknown_key(struct aj_req *req, const char *note)
{
	snprintf(req->msg, sizeof req->msg, "no key \"%.64s\" (%s) at the issuer%s",
	         req->jwt.kid ? req->jwt.kid : "(no kid)", jwt_alg_name(req->alg), note);
	req_fail(req, PARLEY_EUNAUTHORIZED, req->msg);
}

/* Answers every waiting request from the keys now held. */
static void wake_waiters(struct aj *aj, int fetched)
{
	struct aj_req *req, *next;
	const struct jwk *key;

	for (req = aj->live; req; req = next) {
		next = req->next;
		if (req->state != AJ_REQ_WAIT_KEYS)
			continue;
		req->state = AJ_REQ_NEW;
		aj->n_waiting--;
		key = aj->have_keys ? jwks_find(&aj->keys, req->jwt.kid, req->alg) : NULL;
		if (key) {
			req_verify(req, key);
		} else if (!fetched) {
			fail_unavailable(req);
		} else {
			fail_unknown_key(req, "");
		}
	}
}

/* The reason is kept for readiness and refusals in a fixed buffer; a long
 * detail (curl's message, the parser's) is cut, and the cut shows. */
static void fetch_failed(struct aj *aj, const char *fmt, const char *detail)
{
	const size_t cap = sizeof aj->fetch_error;
	int n = snprintf(aj->fetch_error, cap, fmt, detail);
	if (n >= (int)cap)
		memcpy(aj->fetch_error + cap - 4, "...", 4);
	aj->host->metric_add(aj->m_fetch_failures, 1);
	aj->host->log(aj->ctx, PARLEY_LOG_ERROR, "jwks_fetch_failed", "%s: %s", aj->cfg.jwks_url,
	              aj->fetch_error);
}

static void fetch_done(void *easy, int code, void *arg)
{
	struct aj *aj = arg;
	long status = 0;
	struct jwks set;
	char why[AJ_MSG_MAX];
	int fetched = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (aj->body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, sizeof why, "%d", JWKS_MAX_BYTES);
		fetch_failed(aj, "key set larger than %s bytes", why);
	} else if (code != CURLE_OK) {
		fetch_failed(aj, "%s",
		             aj->curl_error[0] ? aj->curl_error : curl_easy_strerror(code));
	} else if (status != 200) {
		snprintf(why, sizeof why, "%ld", status);
		fetch_failed(aj, "HTTP status %s", why);
	} else if (jwks_parse(aj->body ? aj->body : "", aj->body_len, &set, why, sizeof why) != 0) {
		fetch_failed(aj, "%s", why);
	} else {
		jwks_free(&aj->keys);
		aj->keys = set;
		aj->have_keys = 1;
		aj->fetch_error[0] = '\0';
		fetched = 1;
		aj->host->log(aj->ctx, PARLEY_LOG_INFO, "jwks_fetched",
		              "%s: %zu usable keys (%zu skipped)", aj->cfg.jwks_url, set.n,
		              set.skipped);
	}
	transfer_end(aj);
	wake_waiters(aj, fetched);
}

int keys_fetch(struct aj *aj, const char *reason)
{
	CURL *e;

	if (aj->easy || aj->stopping)
		return 0;
	if (!(e = curl_easy_init()))
		goto error;
	aj->curl_error[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, aj->cfg.jwks_url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, aj);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)JWKS_MAX_BYTES);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, aj->curl_error);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)aj->cfg.timeout_s);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)aj->cfg.timeout_s);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "parley-auth_jwt");
	aj->easy = e;
	if (aj->host->curl_add(aj->ctx, e, fetch_done, aj) != PARLEY_OK) {
		aj->easy = NULL;
		curl_easy_cleanup(e);
		goto error;
	}
	aj->host->metric_add(aj->m_fetches, 1);
	aj->host->log(aj->ctx, PARLEY_LOG_DEBUG, "jwks_fetch", "%s (%s)", aj->cfg.jwks_url, reason);
	return 0;
error:
	snprintf(aj->fetch_error, sizeof aj->fetch_error, "could not start a transfer");
	aj->host->log(aj->ctx, PARLEY_LOG_ERROR, "jwks_fetch_failed", "%s: %s", aj->cfg.jwks_url,
	              aj->fetch_error);
	return -1;
}

void keys_for(struct aj_req *req)
{
	struct aj *aj = req->aj;
	const struct jwk *key = aj->have_keys ? jwks_find(&aj->keys, req->jwt.kid, req->alg) : NULL;
	int64_t now = aj->host->now_ms();

	if (key) {
		req_verify(req, key);
		return;
	}
	if (aj->n_waiting >= AJ_MAX_WAITING) {
		req_fail(req, PARLEY_EUNAVAIL,
		         "too many sign-ins are waiting for the issuer's keys");
		return;
	}
	if (!aj->easy) {
		if (aj->last_kid_fetch_ms &&
		    now - aj->last_kid_fetch_ms < aj->cfg.min_refetch_s * 1000) {
			if (!aj->have_keys)
				fail_unavailable(req);
			else
				fail_unknown_key(req, " (its keys were fetched moments ago)");
			return;
		}
		aj->last_kid_fetch_ms = now;
		if (keys_fetch(aj, aj->have_keys ? "unknown key id" : "no keys yet") != 0) {
			fail_unavailable(req);
			return;
		}
	}
	req->state = AJ_REQ_WAIT_KEYS;
	aj->n_waiting++;
}

void keys_stop(struct aj *aj)
{
	if (aj->refresh) {
		aj->host->timer_stop(aj->refresh);
		aj->refresh = NULL;
	}
	transfer_end(aj);
	jwks_free(&aj->keys);
	aj->have_keys = 0;
}
