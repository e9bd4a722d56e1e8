/* Link previews: see link_previews.h. One `job` per message with links,
 * one `fetch` per page; a job's event goes out when its last fetch ends. */
#include "app/link_previews.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "base/config.h"
#include "base/curl_loop.h"
#include "base/html_meta.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "base/strmap.h"
#include "chat/chat.h"
#include "net/client_addr.h"

#define MAX_LINKS     10   /* per message, whatever per_message says */
#define MAX_INFLIGHT  16   /* fetches at once; more links get no preview */
#define URL_MAX       2048 /* a longer link is not fetched */
#define FAILED_TTL_MS 60000
#define ID_MAX        64

/* Never fetched unless link_previews.allow lists them: this host, private
 * networks, link-local (cloud metadata at 169.254.169.254), CGNAT,
 * multicast, reserved and documentation ranges, IPv6 ULA and NAT64. */
static const char *const blocked_ranges[] = {
    "0.0.0.0/8",       "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8",    "169.254.0.0/16",
    "172.16.0.0/12",   "192.0.0.0/24",   "192.0.2.0/24",  "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",   "240.0.0.0/4",    "::/128",
    "::1/128",         "fc00::/7",       "fe80::/10",     "ff00::/8",       "64:ff9b::/96",
    "2001:db8::/32",   "100::/64"};

struct job {
	char room_id[ID_MAX];
	char msg_id[ID_MAX];
	int pending;
	int n;
	json_t *slots[MAX_LINKS]; /* a preview per link, NULL: none */
};

struct fetch {
	struct fetch *prev, *next; /* in flight */
	CURL *easy;
	char *url;
	struct job *job;
	int slot;
	char *body;
	size_t len;
	int blocked;  /* a socket to a refused address was asked for */
	int not_html; /* the body's type is not HTML */
};

struct cached {
	char *url;
	json_t *preview; /* NULL: nothing to show (failed, refused, no title) */
	long long expires_ms;
};

static struct {
	const struct config *cfg;
	int on;
	struct fetch *inflight;
	int n_inflight;
	strmap cache;
	struct cached **ring; /* cache entries oldest first, cache_size slots */
	size_t ring_head, ring_len, ring_cap;
	metric *fetches, *refused, *failed, *cache_hits;
} lp;

int link_previews_address_blocked(const char *addr, char *const *allow, size_t n_allow)
{
	for (size_t i = 0; i < n_allow; i++)
		if (client_addr_cidr_match(allow[i], addr) == 1)
			return 0;
	for (size_t i = 0; i < sizeof blocked_ranges / sizeof blocked_ranges[0]; i++) {
		int m = client_addr_cidr_match(blocked_ranges[i], addr);
		if (m != 0)
			return 1; /* inside, or unreadable */
	}
	return 0;
}

/* ---- cache ------------------------------------------------------------- */

static void cached_free(struct cached *c)
{
	if (!c)
		return;
	json_decref(c->preview);
	free(c->url);
	free(c);
}

/* The cached preview for url: 1 and *out (a new reference or NULL) when
 * known and fresh; 0 when it must be fetched. */
static int cache_get(const char *url, json_t **out)
{
	struct cached *c = strmap_get(&lp.cache, url);
	if (!c || c->expires_ms < loop_now_ms())
		return 0;
	*out = c->preview ? json_incref(c->preview) : NULL;
	return 1;
}

static void cache_put(const char *url, json_t *preview)
{
	struct cached *old = strmap_get(&lp.cache, url);
	long long ttl =
	    preview ? (long long)(lp.cfg->link_previews.cache_ttl * 1000) : FAILED_TTL_MS;
	if (old) { /* a stale entry refreshed in place: it keeps its ring slot */
		json_decref(old->preview);
		old->preview = preview ? json_incref(preview) : NULL;
		old->expires_ms = loop_now_ms() + ttl;
		return;
	}
	struct cached *c = calloc(1, sizeof *c);
	if (!c || !(c->url = strdup(url))) {
		free(c);
		return;
	}
	c->preview = preview ? json_incref(preview) : NULL;
	c->expires_ms = loop_now_ms() + ttl;
	if (lp.ring_len == lp.ring_cap) { /* full: the oldest goes */
		struct cached *gone = lp.ring[lp.ring_head];
		strmap_del(&lp.cache, gone->url);
		cached_free(gone);
		lp.ring_head = (lp.ring_head + 1) % lp.ring_cap;
		lp.ring_len--;
	}
	if (strmap_put(&lp.cache, c->url, c) < 0) {
		cached_free(c);
		return;
	}
	lp.ring[(lp.ring_head + lp.ring_len) % lp.ring_cap] = c;
	lp.ring_len++;
}

/* ---- a message's job ------------------------------------------------------ */

static void job_step(struct job *j)
{
	if (--j->pending > 0)
		return;
	json_t *list = json_array();
	for (int i = 0; i < j->n; i++)
		if (j->slots[i])
			json_array_append(list, j->slots[i]);
	if (list && json_array_size(list) > 0) {
		json_t *ev = json_pack("{s:s,s:s,s:s,s:O}", "type", "message_preview", "room",
		                       j->room_id, "id", j->msg_id, "previews", list);
		if (ev)
			chat_room_event(j->room_id, ev);
	}
	json_decref(list);
	for (int i = 0; i < j->n; i++)
		json_decref(j->slots[i]);
	free(j);
}

/* ---- one page --------------------------------------------------------------- */

static int html_type(const char *ct)
{
	if (!ct)
		return 0;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, "text/html", 9) == 0 ||
	       strncasecmp(ct, "application/xhtml+xml", 21) == 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct fetch *f = ud;
	size_t n = size * nmemb;
	if (f->len == 0) {
		/* The first bytes of the last response: its type decides. */
		char *ct = NULL;
		curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &ct);
		if (!html_type(ct)) {
			f->not_html = 1;
			return 0; /* abort: no preview for images, archives, … */
		}
	}
	size_t max = (size_t)lp.cfg->link_previews.max_bytes;
	size_t take = n < max - f->len ? n : max - f->len;
	if (take) {
		char *p = realloc(f->body, f->len + take);
		if (!p)
			return 0;
		f->body = p;
		memcpy(f->body + f->len, data, take);
		f->len += take;
	}
	/* Enough: the head is read (a page that never ends stops here). */
	return f->len >= max ? 0 : n;
}

/* Every connection curl makes, redirects and every address of a name
 * included: the address is checked right before the socket exists. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct fetch *f = ud;
	char text[INET6_ADDRSTRLEN] = "";
	(void)purpose;
	if (a->family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&a->addr)->sin_addr, text,
		          sizeof text);
	else if (a->family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr, text,
		          sizeof text);
	if (!text[0] || link_previews_address_blocked(text, lp.cfg->link_previews.allow,
	                                              lp.cfg->link_previews.n_allow)) {
		f->blocked = 1;
		log_info("link_preview_refused", NULL,
		         "%s: address %s is not fetched (link_previews.allow)", f->url,
		         text[0] ? text : "?");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* An http(s) URL from og:image, made absolute against the page's URL. */
static char *absolute_url(const char *base, const char *rel)
{
	if (!rel[0])
		return NULL;
	CURLU *u = curl_url();
	char *out = NULL, *scheme = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, rel, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0))
		curl_url_get(u, CURLUPART_URL, &out, 0);
	curl_free(scheme);
	curl_url_cleanup(u);
	char *copy = out && strlen(out) <= URL_MAX ? strdup(out) : NULL;
	curl_free(out);
	return copy;
}

static json_t *preview_of(struct fetch *f)
{
	struct html_meta *m = malloc(sizeof *m);
	if (!m)
		return NULL;
	html_meta_parse(f->body ? f->body : "", f->len, m);
	json_t *p = NULL;
	if (m->title[0] || m->description[0]) {
		char *eff = NULL;
		curl_easy_getinfo(f->easy, CURLINFO_EFFECTIVE_URL, &eff);
		p = json_pack("{s:s}", "url", f->url);
		if (m->title[0])
			json_object_set_new(p, "title", json_string(m->title));
		if (m->description[0])
			json_object_set_new(p, "description", json_string(m->description));
		if (m->site_name[0])
			json_object_set_new(p, "site_name", json_string(m->site_name));
		char *img = absolute_url(eff ? eff : f->url, m->image);
		if (img)
			json_object_set_new(p, "image", json_string(img));
		free(img);
	}
	free(m);
	return p;
}

static void fetch_free(struct fetch *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else if (lp.inflight == f)
		lp.inflight = f->next;
	if (f->next)
		f->next->prev = f->prev;
	lp.n_inflight--;
	curl_easy_cleanup(f->easy);
	free(f->body);
	free(f->url);
	free(f);
}

static void fetched(void *easy, int code, void *ud)
{
	struct fetch *f = ud;
	(void)easy;
	long status = 0;
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	json_t *p = NULL;
	/* A write abort after max_bytes is the size limit, not a failure. */
	int complete =
	    code == CURLE_OK || (code == CURLE_WRITE_ERROR && f->len > 0 && !f->not_html);
	if (f->blocked) {
		metric_add(lp.refused, 1);
	} else if (!complete || status < 200 || status >= 300) {
		metric_add(lp.failed, 1);
		log_debug("link_preview_failed", NULL, "%s: %s (HTTP %ld)%s", f->url,
		          curl_easy_strerror((CURLcode)code), status,
		          f->not_html ? ", not HTML" : "");
	} else {
		p = preview_of(f);
	}
	cache_put(f->url, p);
	struct job *j = f->job;
	j->slots[f->slot] = p;
	fetch_free(f);
	job_step(j);
}

static int fetch_start(struct job *j, int slot, const char *url)
{
	if (lp.n_inflight >= MAX_INFLIGHT)
		return -1;
	struct fetch *f = calloc(1, sizeof *f);
	if (!f || !(f->url = strdup(url)) || !(f->easy = curl_easy_init())) {
		if (f)
			free(f->url);
		free(f);
		return -1;
	}
	const struct config *c = lp.cfg;
	CURL *e = f->easy;
	f->job = j;
	f->slot = slot;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)c->link_previews.max_redirects);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->link_previews.timeout * 1000));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->link_previews.timeout * 1000));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, ""); /* a proxy would connect for us, unchecked */
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, f);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "parley-link-preview/1");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)64 * 1024 * 1024);
	f->next = lp.inflight;
	if (lp.inflight)
		lp.inflight->prev = f;
	lp.inflight = f;
	lp.n_inflight++;
	if (curl_loop_add(e, fetched, f) != 0) {
		fetch_free(f);
		return -1;
	}
	metric_add(lp.fetches, 1);
	return 0;
}

/* ---- links in a message -------------------------------------------------- */

/* The next http(s) link in text from *pos: its bounds, or 0 when none.
 * A link ends at whitespace or <>"'`; trailing .,;:!?) are punctuation. */
static int next_link(const char *text, size_t *pos, size_t *start, size_t *len)
{
	const char *s = text + *pos;
	for (;;) {
		const char *h = strstr(s, "http");
		if (!h)
			return 0;
		size_t scheme = strncmp(h, "https://", 8) == 0  ? 8
		                : strncmp(h, "http://", 7) == 0 ? 7
		                                                : 0;
		int word_start = h == text || strchr(" \t\n(<[\"'", h[-1]) != NULL;
		if (!scheme || !word_start) {
			s = h + 4;
			continue;
		}
		const char *e = h + scheme;
		while (*e && !strchr(" \t\r\n<>\"'`", *e))
			e++;
		while (e > h + scheme && strchr(".,;:!?)]", e[-1]))
			e--;
		*start = (size_t)(h - text);
		*len = (size_t)(e - h);
		*pos = (size_t)(e - text);
		if (*len > scheme)
			return 1;
		s = e;
	}
}

static void on_message(const parley_message *m, int want)
{
	if (!want || !lp.on || m->deleted || !m->text || !m->id || !m->room_id ||
	    strlen(m->id) >= ID_MAX || strlen(m->room_id) >= ID_MAX)
		return;
	struct job *j = NULL;
	size_t pos = 0, start, len;
	int max = (int)lp.cfg->link_previews.per_message;
	char url[URL_MAX + 1];
	int links = 0;
	size_t seen_at[MAX_LINKS], seen_len[MAX_LINKS];
	while (links < max && next_link(m->text, &pos, &start, &len)) {
		if (len > URL_MAX)
			continue;
		memcpy(url, m->text + start, len);
		url[len] = '\0';
		if (!j) {
			if (!(j = calloc(1, sizeof *j)))
				return;
			snprintf(j->room_id, sizeof j->room_id, "%s", m->room_id);
			snprintf(j->msg_id, sizeof j->msg_id, "%s", m->id);
			j->pending = 1; /* this function's own step */
		}
		int dup = 0;
		for (int i = 0; i < links; i++)
			if (seen_len[i] == len && memcmp(m->text + seen_at[i], url, len) == 0)
				dup = 1;
		if (dup)
			continue;
		seen_at[links] = start;
		seen_len[links] = len;
		int slot = j->n++;
		links++;
		json_t *hit;
		if (cache_get(url, &hit)) {
			metric_add(lp.cache_hits, 1);
			j->slots[slot] = hit;
			continue;
		}
		j->pending++;
		if (fetch_start(j, slot, url) != 0)
			j->pending--;
	}
	if (j)
		job_step(j);
}

/* ---- start / stop --------------------------------------------------------- */

void link_previews_start(const struct config *cfg)
{
	if (!cfg || !cfg->link_previews.enabled)
		return;
	lp.cfg = cfg;
	lp.ring_cap = (size_t)cfg->link_previews.cache_size;
	lp.ring = calloc(lp.ring_cap, sizeof *lp.ring);
	if (!lp.ring) {
		log_error("link_previews", NULL, "out of memory: link previews are off");
		return;
	}
	strmap_init(&lp.cache, 0);
	lp.fetches = metric_counter("parley_link_preview_fetches_total",
	                            "Pages fetched for link previews.", NULL);
	lp.refused = metric_counter("parley_link_preview_refused_total",
	                            "Link preview fetches refused for their address.", NULL);
	lp.failed = metric_counter(
	    "parley_link_preview_failures_total",
	    "Link preview fetches that failed (time, size, type, HTTP status).", NULL);
	lp.cache_hits = metric_counter("parley_link_preview_cache_hits_total",
	                               "Link previews answered from the cache.", NULL);
	lp.on = 1;
	chat_set_message_observer(on_message);
	log_info("link_previews", NULL, "link previews on (%zu allowed ranges)",
	         cfg->link_previews.n_allow);
}

void link_previews_stop(void)
{
	if (!lp.on)
		return;
	lp.on = 0;
	chat_set_message_observer(NULL);
	while (lp.inflight) {
		struct fetch *f = lp.inflight;
		struct job *j = f->job;
		curl_loop_remove(f->easy);
		fetch_free(f);
		/* The job goes with its last fetch; no event at shutdown. */
		if (--j->pending == 0) {
			for (int i = 0; i < j->n; i++)
				json_decref(j->slots[i]);
			free(j);
		}
	}
	for (size_t i = 0; i < lp.ring_len; i++)
		cached_free(lp.ring[(lp.ring_head + i) % lp.ring_cap]);
	free(lp.ring);
	lp.ring = NULL;
	lp.ring_len = lp.ring_head = 0;
	strmap_free(&lp.cache);
}
