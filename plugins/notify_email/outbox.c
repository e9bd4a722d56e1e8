/* SMTP delivery with retries.
 *
 * Each queued message is one item: READY (waiting for a transfer slot),
 * SENDING (a curl easy handle on the host's multi) or WAITING (a host
 * timer until the next attempt). The queue file is the truth: the item
 * only remembers how often it failed, so a restart begins the count anew
 * (and sends whatever is still queued).
 *
 * The file is read whole when an attempt starts (messages are small and
 * bounded by EMAIL_MESSAGE_MAX) and uploaded as it is, envelope recipient
 * from its To header. STARTTLS: "required" is CURLUSESSL_ALL (curl refuses
 * to go on in clear), "opportunistic" CURLUSESSL_TRY with a debug callback
 * that notices whether the server offered STARTTLS, so the log can say so.
 */
#include "outbox.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "message.h"
#include "spool.h"

#define OUTBOX_PATH_MAX   4096
#define OUTBOX_REASON_MAX 512
#define OUTBOX_ID_MAX     256

enum item_state { ITEM_READY, ITEM_SENDING, ITEM_WAITING };

struct item {
	struct item *next;
	struct outbox *ob;
	char id[OUTBOX_ID_MAX];
	char rcpt[EMAIL_ADDR_MAX + 1];
	enum item_state state;
	long failures;
	parley_timer *timer;
	CURL *easy;
	struct curl_slist *rcpts;
	char *data; /* the file, while SENDING */
	size_t len, off;
	int saw_starttls;
	char errbuf[CURL_ERROR_SIZE];
};

struct outbox {
	const parley_host *host;
	parley_ctx *ctx;
	const struct email_config *cfg;
	struct item *items;
	int inflight;
	int pumping; /* pump() is running: a synchronous failure must not re-enter */
	parley_metric *sent, *failed, *retried;
};

static void pump(struct outbox *ob);

static void item_unlink_free(struct item *it)
{
	struct outbox *ob = it->ob;
	for (struct item **pp = &ob->items; *pp; pp = &(*pp)->next) {
		if (*pp == it) {
			*pp = it->next;
			break;
		}
	}
	if (it->timer)
		ob->host->timer_stop(it->timer);
	if (it->easy) {
		ob->host->curl_remove(ob->ctx, it->easy);
		curl_easy_cleanup(it->easy);
		ob->inflight--;
	}
	curl_slist_free_all(it->rcpts);
	free(it->data);
	free(it);
}

static void queue_path(const struct outbox *ob, const char *id, char *out, size_t len)
{
	snprintf(out, len, "%s/%s/%s%s", ob->cfg->spool, EMAIL_QUEUE_DIR, id, EMAIL_EML_EXT);
}

static size_t read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct item *it = ud;
	size_t want = size * nmemb, left = it->len - it->off;
	size_t n = want < left ? want : left;
	memcpy(ptr, it->data + it->off, n);
	it->off += n;
	return n;
}

/* Sees the server's replies (EHLO) to learn whether STARTTLS was offered. */
static int debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *ud)
{
	(void)easy;
	struct item *it = ud;
	if (type == CURLINFO_HEADER_IN && memmem(data, size, "STARTTLS", 8))
		it->saw_starttls = 1;
	return 0;
}

static int is_smtps(const char *url)
{
	return strncmp(url, "smtps://", 8) == 0;
}

static void transfer_done(void *easy, int code, void *arg);

/* Starts one attempt; on a setup error the item fails like a transfer. */
static void item_start(struct item *it)
{
	struct outbox *ob = it->ob;
	const struct email_config *cfg = ob->cfg;
	char path[OUTBOX_PATH_MAX], from[EMAIL_ADDR_MAX + 3], rcpt[EMAIL_ADDR_MAX + 3];
	queue_path(ob, it->id, path, sizeof path);
	free(it->data);
	it->data = email_spool_read(path, EMAIL_MESSAGE_MAX, &it->len);
	if (!it->data) {
		/* Gone (sent by another process, or removed by hand): forget it. */
		ob->host->log(ob->ctx, PARLEY_LOG_WARN, "mail_missing",
		              "queued mail %s cannot be read; dropping it from the queue", path);
		item_unlink_free(it);
		return;
	}
	it->off = 0;
	it->saw_starttls = 0;
	it->errbuf[0] = '\0';
	if (email_message_rcpt(it->data, it->len, it->rcpt, sizeof it->rcpt) < 0) {
		ob->host->log(ob->ctx, PARLEY_LOG_ERROR, "mail_bad_file",
		              "queued mail %s has no valid To header; moving it to failed/", path);
		email_spool_fail(cfg->spool, it->id, "no valid To header in the queued file");
		ob->host->metric_add(ob->failed, 1);
		item_unlink_free(it);
		return;
	}
	snprintf(from, sizeof from, "<%s>", cfg->from_addr);
	snprintf(rcpt, sizeof rcpt, "<%s>", it->rcpt);
	curl_slist_free_all(it->rcpts);
	it->rcpts = curl_slist_append(NULL, rcpt);
	it->easy = curl_easy_init();
	if (it->easy) {
		it->state = ITEM_SENDING;
		ob->inflight++; /* transfer_done and item_unlink_free give it back */
	}
	if (!it->easy || !it->rcpts) {
		transfer_done(it->easy, CURLE_OUT_OF_MEMORY, it);
		return;
	}
	CURL *e = it->easy;
	curl_easy_setopt(e, CURLOPT_URL, cfg->smtp);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, it->rcpts);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(e, CURLOPT_READDATA, it);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)it->len);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, it->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, cfg->timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, cfg->timeout);
	if (!is_smtps(cfg->smtp)) {
		long use_ssl = cfg->starttls == EMAIL_TLS_REQUIRED        ? (long)CURLUSESSL_ALL
		               : cfg->starttls == EMAIL_TLS_OPPORTUNISTIC ? (long)CURLUSESSL_TRY
		                                                          : (long)CURLUSESSL_NONE;
		curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl);
		if (cfg->starttls == EMAIL_TLS_OPPORTUNISTIC) {
			curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_cb);
			curl_easy_setopt(e, CURLOPT_DEBUGDATA, it);
			curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
		}
	}
	if (cfg->username)
		curl_easy_setopt(e, CURLOPT_USERNAME, cfg->username);
	if (cfg->password)
		curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->password);
	if (cfg->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
	if (ob->host->curl_add(ob->ctx, e, transfer_done, it) != PARLEY_OK)
		transfer_done(e, CURLE_FAILED_INIT, it);
}

static void retry_fire(void *arg)
{
	struct item *it = arg;
	it->timer = NULL; /* a one-shot timer frees itself after this call */
	it->state = ITEM_READY;
	pump(it->ob);
}

/* One attempt failed: wait and retry, or give up into failed/. */
static void item_failed(struct item *it, const char *reason)
{
	struct outbox *ob = it->ob;
	it->failures++;
	if (it->failures >= ob->cfg->retries) {
		char full[OUTBOX_REASON_MAX + 64];
		snprintf(full, sizeof full, "%s (after %ld attempts)", reason, it->failures);
		if (email_spool_fail(ob->cfg->spool, it->id, full) < 0)
			ob->host->log(ob->ctx, PARLEY_LOG_ERROR, "mail_fail_move",
			              "cannot move mail %s to %s/: it stays queued", it->id,
			              EMAIL_FAILED_DIR);
		ob->host->log(ob->ctx, PARLEY_LOG_ERROR, "mail_failed",
		              "mail %s to %s failed: %s; kept in %s/%s/", it->id, it->rcpt, full,
		              ob->cfg->spool, EMAIL_FAILED_DIR);
		ob->host->metric_add(ob->failed, 1);
		item_unlink_free(it);
		return;
	}
	double delay = ob->cfg->retry_base * pow(2., (double)(it->failures - 1));
	ob->host->log(ob->ctx, PARLEY_LOG_WARN, "mail_retry",
	              "mail %s to %s: %s; attempt %ld of %ld in %.1f s", it->id, it->rcpt, reason,
	              it->failures + 1, ob->cfg->retries, delay);
	ob->host->metric_add(ob->retried, 1);
	it->state = ITEM_WAITING;
	it->timer = ob->host->timer_start(ob->ctx, delay, 0., retry_fire, it);
	if (!it->timer)
		it->state = ITEM_READY; /* no timer: the next pump tries again */
}

static void transfer_done(void *easy, int code, void *arg)
{
	struct item *it = arg;
	struct outbox *ob = it->ob;
	long smtp_code = 0;
	char reason[OUTBOX_REASON_MAX];
	if (easy)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &smtp_code);
	if (it->easy) {
		curl_easy_cleanup(it->easy);
		it->easy = NULL;
		ob->inflight--;
	}
	free(it->data);
	it->data = NULL;
	if (code == CURLE_OK) {
		char path[OUTBOX_PATH_MAX];
		queue_path(ob, it->id, path, sizeof path);
		unlink(path);
		if (ob->cfg->starttls == EMAIL_TLS_OPPORTUNISTIC && !is_smtps(ob->cfg->smtp) &&
		    !it->saw_starttls)
			ob->host->log(ob->ctx, PARLEY_LOG_WARN, "mail_cleartext",
			              "the SMTP server offered no STARTTLS: mail %s went in clear",
			              it->id);
		ob->host->log(ob->ctx, PARLEY_LOG_INFO, "mail_sent", "mail %s sent to %s", it->id,
		              it->rcpt);
		ob->host->metric_add(ob->sent, 1);
		item_unlink_free(it);
	} else {
		if (code == CURLE_USE_SSL_FAILED)
			snprintf(reason, sizeof reason,
			         "the SMTP server offered no STARTTLS and starttls = \"required\": "
			         "not sent in clear");
		else
			snprintf(reason, sizeof reason, "%s (curl %d, SMTP %ld)",
			         it->errbuf[0] ? it->errbuf : curl_easy_strerror((CURLcode)code),
			         code, smtp_code);
		item_failed(it, reason);
	}
	pump(ob);
}

static void pump(struct outbox *ob)
{
	struct item *it = ob->items, *next;
	if (ob->pumping)
		return;
	ob->pumping = 1;
	for (; it && ob->inflight < EMAIL_MAX_INFLIGHT; it = next) {
		next = it->next; /* item_start may free it, and only it */
		if (it->state == ITEM_READY)
			item_start(it);
	}
	ob->pumping = 0;
}

struct outbox *outbox_new(const parley_host *host, parley_ctx *ctx, const struct email_config *cfg)
{
	struct outbox *ob = calloc(1, sizeof *ob);
	if (!ob)
		return NULL;
	ob->host = host;
	ob->ctx = ctx;
	ob->cfg = cfg;
	ob->sent = host->counter(ctx, "mail_sent", "Mail delivered to the SMTP server");
	ob->failed = host->counter(ctx, "mail_failed",
	                           "Mail given up after its retries, kept in the spool's failed/");
	ob->retried = host->counter(ctx, "mail_retries", "Failed SMTP attempts to be retried");
	return ob;
}

int outbox_add(struct outbox *ob, const char *id)
{
	for (struct item *it = ob->items; it; it = it->next)
		if (strcmp(it->id, id) == 0)
			return PARLEY_OK; /* already known */
	if (strlen(id) >= OUTBOX_ID_MAX)
		return PARLEY_EINVAL;
	struct item *it = calloc(1, sizeof *it);
	if (!it)
		return PARLEY_ENOMEM;
	it->ob = ob;
	snprintf(it->id, sizeof it->id, "%s", id);
	it->state = ITEM_READY;
	/* Appended: the queue goes out in the order it came in. */
	struct item **pp = &ob->items;
	while (*pp)
		pp = &(*pp)->next;
	*pp = it;
	pump(ob);
	return PARLEY_OK;
}

static void recover_one(const char *id, void *arg)
{
	outbox_add(arg, id);
}

int outbox_recover(struct outbox *ob)
{
	return email_spool_scan(ob->cfg->spool, recover_one, ob);
}

void outbox_free(struct outbox *ob)
{
	if (!ob)
		return;
	while (ob->items)
		item_unlink_free(ob->items);
	free(ob);
}
