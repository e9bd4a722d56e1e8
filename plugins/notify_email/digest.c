/* Offline digests (see digest.h). */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"

#define DIGEST_ITEMS_MAX 50    /* per person and e-mail; more are counted */
#define DIGEST_TEXT_MAX  300   /* bytes of each message quoted */
#define DIGEST_USERS_MAX 10000 /* people with a pending digest */
#define DIGEST_ID_MAX    64

struct item {
	char *room_id, *room_label, *author, *text;
	int64_t ts;
};

struct pending {
	struct pending *next;
	struct digest *d;
	char user_id[DIGEST_ID_MAX];
	struct item items[DIGEST_ITEMS_MAX];
	size_t n_items, n_more;
	parley_timer *timer;
	int busy; /* fired: a store lookup or send is running */
};

struct digest {
	const parley_host *host;
	parley_ctx *ctx;
	long delay_s;
	digest_send_fn send;
	void *em;
	struct pending *list;
	size_t n_list;
	int busy;   /* pendings waiting on the store or the spool */
	int closed; /* digest_free ran; the last busy pending frees d */
	parley_metric *sent, *skipped;
};

static void item_clear(struct item *it)
{
	free(it->room_id);
	free(it->room_label);
	free(it->author);
	free(it->text);
	memset(it, 0, sizeof *it);
}

static void pending_free(struct pending *p)
{
	for (size_t i = 0; i < p->n_items; i++)
		item_clear(&p->items[i]);
	free(p);
}

static void pending_unlink(struct digest *d, struct pending *p)
{
	for (struct pending **pp = &d->list; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			d->n_list--;
			return;
		}
}

static void pending_done(struct pending *p, const char *why)
{
	struct digest *d = p->d;
	if (p->busy)
		d->busy--;
	if (d->closed) {
		pending_free(p);
		if (d->busy == 0)
			free(d);
		return;
	}
	if (why) {
		d->host->log(d->ctx, PARLEY_LOG_INFO, "digest_skipped", "user %s: %s", p->user_id,
		             why);
		d->host->metric_add(d->skipped, 1);
	}
	pending_unlink(d, p);
	pending_free(p);
}

/* A copy of s cut to at most max bytes on a UTF-8 boundary, with "…". */
static char *cut_text(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return strdup(s);
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	char *out = malloc(max + 4);
	if (out) {
		memcpy(out, s, max);
		memcpy(out + max, "\xE2\x80\xA6", 4);
	}
	return out;
}

static void html_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		const char *rep = *s == '&'    ? "&amp;"
		                  : *s == '<'  ? "&lt;"
		                  : *s == '>'  ? "&gt;"
		                  : *s == '"'  ? "&quot;"
		                  : *s == '\'' ? "&#39;"
		                               : NULL;
		if (rep)
			buf_puts(b, rep);
		else
			buf_put(b, s, 1);
	}
}

/* ---- sending ------------------------------------------------------------- */

static void digest_sent(void *ud, int rc, const char *error)
{
	struct pending *p = ud;
	struct digest *d = p->d;
	if (rc != PARLEY_OK) {
		d->host->log(d->ctx, PARLEY_LOG_WARN, "digest_failed", "user %s: %s", p->user_id,
		             error ? error : "not queued");
	} else {
		d->host->log(d->ctx, PARLEY_LOG_INFO, "digest_queued", "user %s: %zu message(s)",
		             p->user_id, p->n_items + p->n_more);
		d->host->metric_add(d->sent, 1);
	}
	pending_done(p, NULL);
}

static void build_lists(struct pending *p, const char *base, struct buf *text, struct buf *html)
{
	buf_puts(html, "<ul style=\"padding-left:1em\">");
	for (size_t i = 0; i < p->n_items; i++) {
		const struct item *it = &p->items[i];
		char when[32], link[512];
		time_t t = (time_t)(it->ts / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
		snprintf(link, sizeof link, "%s/#room=%s", base, it->room_id);
		buf_printf(text, "%s, %s, %s:\n  %s\n  %s\n\n", it->room_label, when, it->author,
		           it->text, link);
		buf_puts(html, "<li style=\"margin-bottom:1em\"><b>");
		html_escape(html, it->author);
		buf_puts(html, "</b> in <a href=\"");
		html_escape(html, link);
		buf_puts(html, "\">");
		html_escape(html, it->room_label);
		buf_puts(html, "</a> <small>");
		html_escape(html, when);
		buf_puts(html, "</small><br>");
		html_escape(html, it->text);
		buf_puts(html, "</li>");
	}
	buf_puts(html, "</ul>");
	if (p->n_more) {
		buf_printf(text, "… and %zu more.\n", p->n_more);
		buf_printf(html, "<p>… and %zu more.</p>", p->n_more);
	}
}

static void send_digest(struct pending *p, const parley_user *u)
{
	struct digest *d = p->d;
	const char *base = d->host->public_url(d->ctx);
	struct buf text = {0}, html = {0};
	char count[24], unsub[1024] = "";
	build_lists(p, base ? base : "", &text, &html);
	char *t = buf_take(&text, NULL), *h = buf_take(&html, NULL);
	snprintf(count, sizeof count, "%zu", p->n_items + p->n_more);
	if (PARLEY_HOST_HAS(d->host, unsubscribe_link))
		d->host->unsubscribe_link(d->ctx, u->id, unsub, sizeof unsub);
	const char *vars[] = {"count",         count,           "messages",         t ? t : "",
	                      "messages_html", h ? h : "",      "unsubscribe_link", unsub,
	                      "link",          base ? base : ""};
	parley_notify_msg msg = {.struct_size = sizeof msg,
	                         .kind = "mention_digest",
	                         .to = u->email,
	                         .to_name = u->display_name ? u->display_name : u->name,
	                         .user_id = u->id,
	                         .vars = vars,
	                         .n_vars = 5};
	/* Without a link, leave the variable out: no List-Unsubscribe then. */
	if (!unsub[0]) {
		vars[6] = "link";
		vars[7] = base ? base : "";
		msg.n_vars = 4;
	}
	int rc = !t || !h ? PARLEY_ENOMEM : d->send(d->em, &msg, 1, digest_sent, p);
	free(t);
	free(h);
	if (rc != PARLEY_PENDING && rc != PARLEY_OK)
		digest_sent(p, rc, "the digest could not be built");
}

struct lookup {
	struct pending *p;
	parley_user user; /* copied strings */
};

static void lookup_free(struct lookup *l)
{
	free((char *)l->user.id);
	free((char *)l->user.name);
	free((char *)l->user.display_name);
	free((char *)l->user.email);
	free(l);
}

/* Drops the noted messages of rooms where the person's notification level
 * is "none" (levels: the store's notify_list JSON); "mentions" keeps them,
 * as a digest holds only mentions and DMs. Returns how many are left. */
static size_t drop_quiet_rooms(struct pending *p, const char *levels)
{
	json_t *arr = levels ? json_loads(levels, 0, NULL) : NULL;
	size_t k, kept = 0;
	json_t *row;
	for (size_t i = 0; i < p->n_items; i++) {
		int quiet = 0;
		json_array_foreach(arr, k, row)
		{
			const char *room = json_string_value(json_object_get(row, "room"));
			const char *user = json_string_value(json_object_get(row, "user"));
			const char *level = json_string_value(json_object_get(row, "level"));
			if (room && level && !strcmp(room, p->items[i].room_id) &&
			    (!user || !strcmp(user, p->user_id)) && !strcmp(level, "none"))
				quiet = 1;
		}
		if (quiet) {
			item_clear(&p->items[i]);
			continue;
		}
		if (kept != i) {
			p->items[kept] = p->items[i];
			memset(&p->items[i], 0, sizeof p->items[i]);
		}
		kept++;
	}
	p->n_items = kept;
	json_decref(arr);
	return kept + p->n_more;
}

static void levels_read(void *ud, const parley_store_result *res)
{
	struct lookup *l = ud;
	if (l->p->d->closed)
		pending_done(l->p, NULL);
	else if (res->rc != PARLEY_OK)
		send_digest(l->p, &l->user); /* a failed read mails rather than loses */
	else if (drop_quiet_rooms(l->p, res->text) == 0)
		pending_done(l->p, "notifications of these rooms turned off");
	else
		send_digest(l->p, &l->user);
	lookup_free(l);
}

static void settings_read(void *ud, const parley_store_result *res)
{
	struct lookup *l = ud;
	struct digest *d = l->p->d;
	void *self;
	const parley_store_vtable *st = d->host->store(d->ctx, &self);
	/* The core writes settings as compact JSON with sorted keys. */
	if (d->closed) {
		pending_done(l->p, NULL);
	} else if (res->rc == PARLEY_OK && res->text &&
	           strstr(res->text, "\"email_digest\":false")) {
		pending_done(l->p, "digests turned off");
	} else {
		/* Then each room's notification level (issue 15). */
		if (PARLEY_HAS(parley_store_vtable, st, notify_list) &&
		    st->notify_list(self, l->user.id, levels_read, l) == PARLEY_PENDING)
			return;
		send_digest(l->p, &l->user);
	}
	lookup_free(l);
}

static void user_read(void *ud, const parley_store_result *res)
{
	struct lookup *l = ud;
	struct digest *d = l->p->d;
	void *self;
	const parley_store_vtable *st;
	if (d->closed || res->rc != PARLEY_OK || res->n_users < 1) {
		pending_done(l->p, "no such user");
		free(l);
		return;
	}
	const parley_user *u = &res->users[0];
	if (u->disabled || !u->email || !*u->email || (u->role && !strcmp(u->role, "bot"))) {
		pending_done(l->p, "no address, disabled or a bot");
		free(l);
		return;
	}
	l->user.id = strdup(u->id);
	l->user.name = strdup(u->name);
	l->user.display_name = u->display_name ? strdup(u->display_name) : NULL;
	l->user.email = strdup(u->email);
	if (!l->user.id || !l->user.name || !l->user.email) {
		pending_done(l->p, "out of memory");
		lookup_free(l);
		return;
	}
	st = d->host->store(d->ctx, &self);
	if (PARLEY_HAS(parley_store_vtable, st, settings_get) &&
	    st->settings_get(self, l->user.id, settings_read, l) == PARLEY_PENDING)
		return;
	send_digest(l->p, &l->user);
	lookup_free(l);
}

static void fire(void *arg)
{
	struct pending *p = arg;
	struct digest *d = p->d;
	void *self;
	const parley_store_vtable *st;
	p->timer = NULL; /* one-shot: the host frees it after this call */
	if (d->host->user_online(d->ctx, p->user_id)) {
		pending_done(p, "back online");
		return;
	}
	struct lookup *l = calloc(1, sizeof *l);
	st = d->host->store(d->ctx, &self);
	if (!l || !st) {
		free(l);
		pending_done(p, "no store");
		return;
	}
	l->p = p;
	p->busy = 1;
	d->busy++;
	if (st->user_get(self, p->user_id, NULL, user_read, l) != PARLEY_PENDING) {
		free(l);
		pending_done(p, "no such user");
	}
}

/* ---- noting -------------------------------------------------------------- */

static struct pending *pending_for(struct digest *d, const char *user_id)
{
	for (struct pending *p = d->list; p; p = p->next)
		if (!p->busy && !strcmp(p->user_id, user_id))
			return p;
	if (d->n_list >= DIGEST_USERS_MAX || strlen(user_id) >= DIGEST_ID_MAX)
		return NULL;
	struct pending *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->d = d;
	snprintf(p->user_id, sizeof p->user_id, "%s", user_id);
	if (!(p->timer = d->host->timer_start(d->ctx, (double)d->delay_s, 0., fire, p))) {
		free(p);
		return NULL;
	}
	p->next = d->list;
	d->list = p;
	d->n_list++;
	return p;
}

static void note(struct digest *d, const char *user_id, const parley_hook_args *a)
{
	if (!strcmp(user_id, a->user->id) || d->host->user_online(d->ctx, user_id))
		return;
	struct pending *p = pending_for(d, user_id);
	if (!p)
		return;
	if (p->n_items == DIGEST_ITEMS_MAX) {
		p->n_more++;
		return;
	}
	const parley_room *r = a->room;
	const char *author = a->user->display_name ? a->user->display_name : a->user->name;
	char label[160];
	if (r->kind && !strcmp(r->kind, "dm"))
		snprintf(label, sizeof label, "a direct message");
	else
		snprintf(label, sizeof label, "#%s", r->name ? r->name : r->id);
	struct item *it = &p->items[p->n_items];
	it->room_id = strdup(r->id);
	it->room_label = strdup(label);
	it->author = strdup(author ? author : "someone");
	it->text = cut_text(a->message->text, DIGEST_TEXT_MAX);
	it->ts = a->message->ts;
	if (!it->room_id || !it->room_label || !it->author || !it->text)
		item_clear(it);
	else
		p->n_items++;
}

/* The user ids ("u_N") in the core's mentions JSON. */
static void each_mention(struct digest *d, const char *json, const parley_hook_args *a)
{
	const char *s = json;
	while ((s = strstr(s, "\"u_"))) {
		const char *end = strchr(s + 1, '"');
		if (!end)
			break;
		char id[DIGEST_ID_MAX];
		size_t n = (size_t)(end - s - 1);
		if (n < sizeof id) {
			memcpy(id, s + 1, n);
			id[n] = '\0';
			note(d, id, a);
		}
		s = end + 1;
	}
}

static int on_message(void *ud, parley_hook_args *a)
{
	struct digest *d = ud;
	const parley_message *m = a->message;
	if (!m || !m->text || !a->room || !a->room->id || !a->user || !a->user->id)
		return PARLEY_OK;
	if (a->depth > 0 || (a->user->role && !strcmp(a->user->role, "bot")))
		return PARLEY_OK; /* bots' chatter does not mail people */
	/* A DM's name is "dm:<id>:<id>": the other one is the recipient. */
	const char *name = a->room->name;
	if (a->room->kind && !strcmp(a->room->kind, "dm") && name && !strncmp(name, "dm:", 3)) {
		char ids[2 * DIGEST_ID_MAX];
		snprintf(ids, sizeof ids, "%s", name + 3);
		char *colon = strchr(ids, ':');
		if (colon) {
			*colon = '\0';
			note(d, ids, a);
			note(d, colon + 1, a);
		}
	}
	if (m->mentions_json)
		each_mention(d, m->mentions_json, a);
	return PARLEY_OK;
}

struct digest *digest_new(const parley_host *host, parley_ctx *ctx, long delay_s,
                          digest_send_fn send, void *em)
{
	struct digest *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->host = host;
	d->ctx = ctx;
	d->delay_s = delay_s;
	d->send = send;
	d->em = em;
	return d;
}

int digest_start(struct digest *d)
{
	if (d->delay_s <= 0)
		return PARLEY_OK; /* digests turned off in the config */
	if (!PARLEY_HOST_HAS(d->host, user_online))
		return PARLEY_OK;
	d->sent = d->host->counter(d->ctx, "digests_sent", "Offline digests queued for delivery");
	d->skipped =
	    d->host->counter(d->ctx, "digests_skipped",
	                     "Offline digests not sent (back online, opted out, no address)");
	return d->host->hook(d->ctx, PARLEY_HOOK_MESSAGE, 100, on_message, d);
}

void digest_free(struct digest *d)
{
	if (!d)
		return;
	size_t dropped = 0;
	struct pending *p = d->list, *next;
	for (; p; p = next) {
		next = p->next;
		if (p->busy)
			continue; /* its store call frees it */
		if (p->timer)
			d->host->timer_stop(p->timer);
		dropped += p->n_items;
		pending_free(p);
	}
	d->list = NULL;
	if (dropped)
		d->host->log(d->ctx, PARLEY_LOG_INFO, "digest_dropped",
		             "%zu noted message(s) not mailed: the server stopped first", dropped);
	d->closed = 1;
	if (d->busy == 0)
		free(d);
}
