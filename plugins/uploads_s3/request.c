/* One S3 call on the host's curl multi, signed by curl (CURLOPT_AWS_SIGV4)
 * and retried with exponential backoff on connection errors and 5xx.
 *
 * curl 7.88's signer has traps, handled here: it does not send
 * x-amz-content-sha256 (S3 requires it), so we send the body's SHA-256
 * ourselves, as a header curl then signs; it signs the query string as it
 * is, so callers pass it sorted and RFC 3986-encoded ("uploads=" with its
 * '='); and it knows nothing of session tokens, so x-amz-security-token is
 * ours too. Bodies go as POSTFIELDS, which curl hashes the same way. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3.h"

#define RESPONSE_MAX  (64 * 1024) /* error and XML answers; objects never come here */
#define BACKOFF_FIRST 0.2         /* s; doubled per attempt */
#define ETAG_MAX      200

struct s3_req {
	struct s3 *s3;
	char method[8];
	char url[S3_URL_MAX];
	const void *body;
	size_t len;
	char sha[65];
	s3_req_done done;
	void *ud;
	char what[96];
	char type[128];
	char disposition[1200];
	CURL *easy;
	struct curl_slist *headers;
	parley_timer *timer;
	int attempt;
	char *resp;
	size_t resp_len, resp_max;
	int truncated;
	int sink_fd; /* a download: a 2xx body goes here, not to resp */
	int sink_errno;
	char etag[ETAG_MAX];
	char errbuf[CURL_ERROR_SIZE];
	char error[S3_ERROR_MAX];
	struct s3_result res;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n;
	long status = 0;
	if (r->sink_fd >= 0 &&
	    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status >= 200 && status <= 299) {
		for (size_t off = 0; off < len;) {
			ssize_t w = write(r->sink_fd, p + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r->sink_errno = w < 0 ? errno : EIO;
				return 0; /* curl ends the transfer: CURLE_WRITE_ERROR */
			}
			off += (size_t)w;
		}
		return len;
	}
	if (r->resp_len + len > r->resp_max) {
		r->truncated = 1;
		return len; /* kept: the start, which names the error */
	}
	char *nb = r->s3->host->realloc(r->s3->ctx, r->resp, r->resp_len + len + 1);
	if (!nb)
		return 0;
	r->resp = nb;
	memcpy(r->resp + r->resp_len, p, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n;
	if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
		const char *v = p + 5;
		size_t vl = len - 5;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl < sizeof r->etag) {
			memcpy(r->etag, v, vl);
			r->etag[vl] = '\0';
		}
	}
	return len;
}

static void transfer_done(void *easy, int curlcode, void *arg);
static struct s3_req *start(struct s3 *s3, const char *method, const char *path, const char *query,
                            const void *body, size_t len, const char *sha, const char *type,
                            const char *disposition, size_t resp_max, int sink_fd, s3_req_done done,
                            void *ud, const char *what);

static int attempt(struct s3_req *r)
{
	struct s3 *s3 = r->s3;
	char line[S3_URL_MAX];
	CURL *e = curl_easy_init();
	if (!e)
		return PARLEY_ENOMEM;
	r->easy = e;
	r->resp_len = 0;
	r->truncated = 0;
	r->sink_errno = 0;
	if (r->sink_fd >= 0 &&
	    (ftruncate(r->sink_fd, 0) < 0 || lseek(r->sink_fd, 0, SEEK_SET) < 0)) {
		curl_easy_cleanup(e);
		r->easy = NULL;
		return PARLEY_ERR;
	}
	r->etag[0] = '\0';
	r->errbuf[0] = '\0';
	curl_slist_free_all(r->headers);
	r->headers = NULL;
	snprintf(line, sizeof line, "x-amz-content-sha256: %s", r->sha);
	r->headers = curl_slist_append(r->headers, line);
	if (s3->cfg.session_token && *s3->cfg.session_token) {
		snprintf(line, sizeof line, "x-amz-security-token: %s", s3->cfg.session_token);
		r->headers = curl_slist_append(r->headers, line);
	}
	if (r->type[0]) {
		snprintf(line, sizeof line, "Content-Type: %s", r->type);
		r->headers = curl_slist_append(r->headers, line);
	} else if (r->body) {
		r->headers =
		    curl_slist_append(r->headers, "Content-Type: application/octet-stream");
	}
	if (r->disposition[0]) {
		snprintf(line, sizeof line, "Content-Disposition: %s", r->disposition);
		r->headers = curl_slist_append(r->headers, line);
	}
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_AWS_SIGV4, s3->sigv4);
	curl_easy_setopt(e, CURLOPT_USERPWD, s3->userpwd);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(s3->cfg.timeout * 1000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(s3->cfg.timeout * 1000));
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (r->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
	s3->host->metric_add(s3->m_requests, 1);
	if (s3->host->curl_add(s3->ctx, e, transfer_done, r) != PARLEY_OK) {
		curl_easy_cleanup(e);
		r->easy = NULL;
		return PARLEY_EUNAVAIL;
	}
	return PARLEY_OK;
}

static void retry_cb(void *arg)
{
	struct s3_req *r = arg;
	r->timer = NULL;
	if (attempt(r) != PARLEY_OK) {
		r->res.curlcode = CURLE_FAILED_INIT;
		r->res.status = 0;
		snprintf(r->error, sizeof r->error, "%s: cannot start a transfer", r->what);
		r->res.error = r->error;
		r->done(r, r->ud);
	}
}

/* A readable line for logs and the core: status, S3's code and message. */
static void summarize(struct s3_req *r, int curlcode, long status)
{
	struct s3 *s3 = r->s3;
	char code[64] = "", msg[200] = "";
	if (curlcode == CURLE_WRITE_ERROR && r->sink_errno) {
		snprintf(r->error, sizeof r->error, "%s: writing the file: %s", r->what,
		         strerror(r->sink_errno));
		return;
	}
	if (curlcode != CURLE_OK) {
		snprintf(r->error, sizeof r->error, "%s: %s", r->what,
		         r->errbuf[0] ? r->errbuf : curl_easy_strerror(curlcode));
		return;
	}
	s3_xml_text(r->resp, r->resp_len, "Code", code, sizeof code);
	s3_xml_text(r->resp, r->resp_len, "Message", msg, sizeof msg);
	const char *hint = "";
	if (status == 403)
		hint = strcmp(code, "RequestTimeTooSkewed") == 0
		           ? " (the server clock is off: fix NTP)"
		           : " (check access_key and secret_key, or AWS_ACCESS_KEY_ID/"
		             "AWS_SECRET_ACCESS_KEY, and the clock)";
	else if (status == 404 && (!*code || strcmp(code, "NoSuchBucket") == 0))
		hint = " (is the bucket name right, and does it exist in this region?)";
	snprintf(r->error, sizeof r->error, "%s: HTTP %ld%s%s%s%s%s (bucket %s)", r->what, status,
	         *code ? " " : "", code, *msg ? ": " : "", msg, hint, s3->cfg.bucket);
}

static void transfer_done(void *easy, int curlcode, void *arg)
{
	struct s3_req *r = arg;
	struct s3 *s3 = r->s3;
	long status = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	r->easy = NULL;
	int transient = (curlcode != CURLE_OK && !r->sink_errno) || status >= 500;
	if (transient && r->attempt < s3->cfg.retries) {
		double after = BACKOFF_FIRST * (double)(1 << r->attempt);
		r->attempt++;
		s3->host->metric_add(s3->m_retries, 1);
		summarize(r, curlcode, status);
		s3->host->log(s3->ctx, PARLEY_LOG_WARN, "s3_retry", "%s; attempt %d in %.1f s",
		              r->error, r->attempt + 1, after);
		r->timer = s3->host->timer_start(s3->ctx, after, 0, retry_cb, r);
		if (r->timer)
			return;
	}
	r->res.curlcode = curlcode;
	r->res.status = status;
	r->res.body = r->resp ? r->resp : "";
	r->res.body_len = r->resp_len;
	r->res.etag = r->etag;
	r->res.truncated = r->truncated;
	r->res.error = NULL;
	if (curlcode != CURLE_OK || status < 200 || status > 299) {
		summarize(r, curlcode, status);
		r->res.error = r->error;
	}
	r->done(r, r->ud);
}

struct s3_req *s3_req_start(struct s3 *s3, const char *method, const char *path, const char *query,
                            const void *body, size_t len, s3_req_done done, void *ud,
                            const char *what)
{
	return start(s3, method, path, query, body, len, NULL, NULL, NULL, RESPONSE_MAX, -1, done,
	             ud, what);
}

struct s3_req *s3_req_start_sha(struct s3 *s3, const char *method, const char *path,
                                const char *query, const void *body, size_t len, const char *sha,
                                s3_req_done done, void *ud, const char *what)
{
	return start(s3, method, path, query, body, len, sha, NULL, NULL, RESPONSE_MAX, -1, done,
	             ud, what);
}

struct s3_req *s3_req_start_object(struct s3 *s3, const char *method, const char *path,
                                   const char *query, const void *body, size_t len, const char *sha,
                                   const char *type, const char *disposition, s3_req_done done,
                                   void *ud, const char *what)
{
	return start(s3, method, path, query, body, len, sha, type, disposition, RESPONSE_MAX, -1,
	             done, ud, what);
}

struct s3_req *s3_req_start_read(struct s3 *s3, const char *path, const char *query,
                                 size_t resp_max, int sink_fd, s3_req_done done, void *ud,
                                 const char *what)
{
	return start(s3, "GET", path, query, NULL, 0, NULL, NULL, NULL, resp_max, sink_fd, done, ud,
	             what);
}

static struct s3_req *start(struct s3 *s3, const char *method, const char *path, const char *query,
                            const void *body, size_t len, const char *sha, const char *type,
                            const char *disposition, size_t resp_max, int sink_fd, s3_req_done done,
                            void *ud, const char *what)
{
	if (s3->stopping)
		return NULL; /* fini: nothing new would ever finish */
	struct s3_req *r = s3->host->calloc(s3->ctx, 1, sizeof *r);
	if (!r)
		return NULL;
	r->s3 = s3;
	r->resp_max = resp_max;
	r->sink_fd = sink_fd;
	s3->refs++;
	snprintf(r->method, sizeof r->method, "%s", method);
	int n = snprintf(r->url, sizeof r->url, "%s://%s%s%s%s", s3->scheme,
	                 s3->cfg.path_style ? s3->authority : s3->bucket_host, path,
	                 query && *query ? "?" : "", query ? query : "");
	if (n < 0 || (size_t)n >= sizeof r->url) {
		s3_req_free(r);
		return NULL;
	}
	r->body = body;
	r->len = len;
	if (sha && strlen(sha) == 64)
		memcpy(r->sha, sha, 65); /* hashed off the loop by the caller */
	else
		s3_sha256_hex(body ? body : "", body ? len : 0, r->sha);
	r->done = done;
	r->ud = ud;
	snprintf(r->what, sizeof r->what, "%s", what);
	/* Values come from the core (sniffed type, encoded ASCII name): a
	 * line break could not pass them; refuse one anyway. */
	if ((type && (strlen(type) >= sizeof r->type || strpbrk(type, "\r\n"))) ||
	    (disposition &&
	     (strlen(disposition) >= sizeof r->disposition || strpbrk(disposition, "\r\n")))) {
		s3_req_free(r);
		return NULL;
	}
	snprintf(r->type, sizeof r->type, "%s", type ? type : "");
	snprintf(r->disposition, sizeof r->disposition, "%s", disposition ? disposition : "");
	if (attempt(r) != PARLEY_OK) {
		s3_req_free(r);
		return NULL;
	}
	return r;
}

const struct s3_result *s3_req_result(const struct s3_req *r)
{
	return &r->res;
}

void s3_req_free(struct s3_req *r)
{
	if (!r)
		return;
	struct s3 *s3 = r->s3;
	curl_slist_free_all(r->headers);
	s3->host->free(s3->ctx, r->resp);
	s3->host->free(s3->ctx, r);
	s3_unref(s3);
}

void s3_req_cancel(struct s3_req *r)
{
	if (!r)
		return;
	if (r->easy) {
		r->s3->host->curl_remove(r->s3->ctx, r->easy);
		curl_easy_cleanup(r->easy);
	}
	if (r->timer)
		r->s3->host->timer_stop(r->timer);
	s3_req_free(r);
}
