/* parley store copy (see store_copy.h).
 *
 * Works while the source serves: rooms are read first and each room is
 * copied up to the last_seq read then; users are read next (so every author
 * of those messages is there: users are never deleted), then the rest.
 * Whatever was written after its kind was read and refers to something not
 * copied (a member of a room created meanwhile, a message past its room's
 * last_seq, a reaction to one, a session of a user created meanwhile) is
 * left out and counted as "written during the copy". The target then gets
 * the kinds parents first (users, rooms, ...), and every kind is counted
 * back from the target and compared with what was spooled. */
#include "app/store_copy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <parley/plugin.h>

#include "app/admin_internal.h"
#include "app/cli_runtime.h"
#include "base/config.h"
#include "host/plugin_host.h"

#define COPY_PAGE 1000

/* The order a target is written in (parents first): store_sqlite's
 * records.c and store_mongo's agree on the kinds. */
static const char *const KINDS[] = {
    "users",         "rooms",          "members", "messages", "reactions", "edits",
    "room_settings", "thread_follows", "uploads", "sessions", "invites",   "tokens",
    "audit",         "settings",       "kv",      "pins",     "notify"};
enum {
	K_USERS,
	K_ROOMS,
	K_MEMBERS,
	K_MESSAGES,
	K_REACTIONS,
	K_EDITS,
	K_ROOM_SETTINGS,
	K_THREAD_FOLLOWS,
	K_UPLOADS,
	K_SESSIONS,
	K_INVITES,
	K_TOKENS,
	K_AUDIT,
	K_SETTINGS,
	K_KV,
	K_PINS,
	K_NOTIFY,
	N_KINDS
};
/* The order the source is read in: rooms before users (see above). */
static const int READ_ORDER[N_KINDS] = {
    K_ROOMS,         K_USERS,          K_MEMBERS, K_MESSAGES, K_REACTIONS, K_EDITS,
    K_ROOM_SETTINGS, K_THREAD_FOLLOWS, K_UPLOADS, K_SESSIONS, K_INVITES,   K_TOKENS,
    K_AUDIT,         K_SETTINGS,       K_KV,      K_PINS,     K_NOTIFY};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	fputs("parley: store copy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---------------------------------------------------------------- */
/* One store call at a time, waited for on the loop                   */
/* ---------------------------------------------------------------- */

struct call {
	int pending, rc, more;
	int64_t value;
	char *text;
	char error[256];
};

static void call_done(void *ud, const parley_store_result *res)
{
	struct call *c = ud;
	c->pending = 0;
	c->rc = res->rc;
	c->more = res->more;
	c->value = res->value;
	free(c->text);
	c->text = res->text ? strdup(res->text) : NULL;
	snprintf(c->error, sizeof c->error, "%s", res->error ? res->error : "");
	if (res->rc == PARLEY_OK && res->text && !c->text)
		c->rc = PARLEY_ENOMEM;
}

/* Waits for the call started with rc; its rc. */
static int call_wait(struct call *c, int rc)
{
	if (rc != PARLEY_PENDING) {
		c->rc = rc < 0 ? rc : PARLEY_ERR;
		snprintf(c->error, sizeof c->error, "refused (%d)", rc);
		return c->rc;
	}
	cli_runtime_wait(&c->pending);
	return c->rc;
}

static int records_read(const parley_store_vtable *st, void *self, struct call *c, int kind,
                        int64_t after, int limit)
{
	c->pending = 1;
	return call_wait(c, st->records_read(self, KINDS[kind], after, limit, call_done, c));
}

static int records_write(const parley_store_vtable *st, void *self, struct call *c, int kind,
                         const char *json)
{
	c->pending = 1;
	return call_wait(c, st->records_write(self, KINDS[kind], json, call_done, c));
}

/* The configured store, if it can take part in a copy. */
static const parley_store_vtable *copy_store(void **self, const char *which)
{
	const parley_store_vtable *st = plugins_store(self);
	if (!st) {
		say("the %s config has no store", which);
		return NULL;
	}
	if (!PARLEY_HAS(parley_store_vtable, st, records_read) ||
	    !PARLEY_HAS(parley_store_vtable, st, records_write)) {
		say("the %s store has no records_read/records_write (unavailable): it cannot take "
		    "part in a copy",
		    which);
		return NULL;
	}
	return st;
}

/* ---------------------------------------------------------------- */
/* What was copied, to leave out what refers to anything else         */
/* ---------------------------------------------------------------- */

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int ids_add(struct ids *s, int64_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		int64_t *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = id;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void ids_sort(struct ids *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, cmp_i64);
}

/* The index of id, or -1. */
static ssize_t ids_find(const struct ids *s, int64_t id)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid] == id)
			return (ssize_t)mid;
		if (s->v[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

struct copy {
	FILE *spool[N_KINDS]; /* pages of records, one JSON array a line */
	int64_t spooled[N_KINDS], skipped[N_KINDS];
	struct ids users, rooms, messages;
	int64_t *room_last_seq; /* beside rooms.v, once sorted */
	/* Per room (beside rooms.v): the messages copied and the sum of their
	 * digests, checked against the target's after the write. */
	int64_t *room_count;
	uint64_t *room_sum;
};

/* One message's digest (FNV-1a over the fields every store gives back as
 * it was written); a room's checksum is the sum of its messages', so the
 * order records come in does not matter. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (const unsigned char *b = p; n--; b++)
		h = (h ^ *b) * 1099511628211ull;
	return h;
}

static uint64_t message_digest(json_t *rec)
{
	static const char *const ints[] = {"id", "room", "seq", "user", "deleted"};
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		int64_t v = json_integer_value(json_object_get(rec, ints[i]));
		h = fnv(h, &v, sizeof v);
	}
	const char *text = json_string_value(json_object_get(rec, "text"));
	return fnv(h, text ? text : "", text ? strlen(text) + 1 : 0);
}

/* A record's integer field; 0 when absent or null. */
static int64_t field(json_t *rec, const char *name)
{
	return json_integer_value(json_object_get(rec, name));
}

static int known(const struct ids *s, json_t *rec, const char *name, int may_be_null)
{
	json_t *v = json_object_get(rec, name);
	if (!v || json_is_null(v))
		return may_be_null;
	return ids_find(s, json_integer_value(v)) >= 0;
}

/* 1 when the record is copied (remembering its key where later kinds
 * refer to it), 0 when it was written during the copy and refers to what
 * is not copied, -1 without memory. */
static int keep(struct copy *cp, int kind, json_t *rec)
{
	ssize_t r;
	switch (kind) {
	case K_ROOMS:
		return ids_add(&cp->rooms, field(rec, "id")) < 0 ? -1 : 1;
	case K_USERS:
		return ids_add(&cp->users, field(rec, "id")) < 0 ? -1 : 1;
	case K_MEMBERS:
		if ((r = ids_find(&cp->rooms, field(rec, "room"))) < 0 ||
		    !known(&cp->users, rec, "user", 0))
			return 0;
		/* never read past what is copied of the room */
		if (field(rec, "read_seq") > cp->room_last_seq[r])
			json_object_set_new(rec, "read_seq", json_integer(cp->room_last_seq[r]));
		return 1;
	case K_MESSAGES:
		if ((r = ids_find(&cp->rooms, field(rec, "room"))) < 0 ||
		    field(rec, "seq") > cp->room_last_seq[r] || !known(&cp->users, rec, "user", 0))
			return 0;
		cp->room_count[r]++;
		cp->room_sum[r] += message_digest(rec);
		return ids_add(&cp->messages, field(rec, "id")) < 0 ? -1 : 1;
	case K_REACTIONS:
		return known(&cp->messages, rec, "message", 0) && known(&cp->users, rec, "user", 0);
	case K_EDITS:
		return known(&cp->messages, rec, "message", 0);
	case K_ROOM_SETTINGS:
		return known(&cp->rooms, rec, "room", 0);
	case K_THREAD_FOLLOWS:
		return known(&cp->messages, rec, "root", 0) && known(&cp->users, rec, "user", 0);
	case K_UPLOADS:
		return known(&cp->users, rec, "user", 0) && known(&cp->rooms, rec, "room", 1) &&
		       known(&cp->messages, rec, "message", 1);
	case K_SESSIONS:
	case K_TOKENS:
	case K_SETTINGS:
		return known(&cp->users, rec, "user", 0);
	case K_INVITES:
		return known(&cp->users, rec, "created_by", 1);
	case K_AUDIT:
		return known(&cp->users, rec, "actor", 1);
	case K_PINS:
		return known(&cp->messages, rec, "message", 0) &&
		       known(&cp->rooms, rec, "room", 0) && known(&cp->users, rec, "user", 1);
	case K_NOTIFY:
		return known(&cp->rooms, rec, "room", 0) && known(&cp->users, rec, "user", 0);
	default:
		return 1;
	}
}

/* After a kind was read: sorts what later kinds look up. */
static int kind_read(struct copy *cp, int kind, json_t *rooms)
{
	if (kind == K_USERS)
		ids_sort(&cp->users);
	if (kind == K_MESSAGES)
		ids_sort(&cp->messages);
	if (kind != K_ROOMS)
		return 0;
	ids_sort(&cp->rooms);
	size_t n = cp->rooms.n ? cp->rooms.n : 1;
	cp->room_last_seq = calloc(n, sizeof *cp->room_last_seq);
	cp->room_count = calloc(n, sizeof *cp->room_count);
	cp->room_sum = calloc(n, sizeof *cp->room_sum);
	if (!cp->room_last_seq || !cp->room_count || !cp->room_sum)
		return -1;
	size_t i;
	json_t *rec;
	json_array_foreach(rooms, i, rec)
	{
		ssize_t r = ids_find(&cp->rooms, field(rec, "id"));
		if (r >= 0)
			cp->room_last_seq[r] = field(rec, "last_seq");
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* Phase 1: the source into the spool                                 */
/* ---------------------------------------------------------------- */

/* Keeps what keep() keeps of one page of kind and appends it to the
 * kind's spool (and, for rooms, to rooms: kind_read needs them all). */
static int spool_page(struct copy *cp, int kind, json_t *page, json_t *rooms)
{
	json_t *kept = json_array();
	size_t i;
	json_t *rec;
	int rc = kept ? 0 : -1;
	json_array_foreach(page, i, rec)
	{
		if (rc != 0)
			break;
		int k = keep(cp, kind, rec);
		if (k < 0 || (k && json_array_append(kept, rec) < 0) ||
		    (rooms && json_array_append(rooms, rec) < 0))
			rc = -1;
		else if (!k)
			cp->skipped[kind]++;
	}
	if (rc == 0 && json_array_size(kept) > 0) {
		if (json_dumpf(kept, cp->spool[kind], JSON_COMPACT) < 0 ||
		    fputc('\n', cp->spool[kind]) == EOF) {
			say("cannot write the spool: out of space?");
			rc = -1;
		}
		cp->spooled[kind] += (int64_t)json_array_size(kept);
	}
	json_decref(kept);
	return rc;
}

static void say_read(const struct copy *cp, int kind)
{
	say("read %s: %lld%s", KINDS[kind], (long long)cp->spooled[kind],
	    cp->skipped[kind] ? " (and some written during the copy, left out)" : "");
}

/* Reads every record of kind into its spool. */
static int spool_kind(struct copy *cp, const parley_store_vtable *st, void *self, int kind)
{
	struct call c = {0};
	json_t *rooms = kind == K_ROOMS ? json_array() : NULL; /* all of them, for last_seq */
	int64_t after = 0;
	int rc = 0;
	if (kind == K_ROOMS && !rooms)
		return -1;
	for (int more = 1; more && rc == 0;) {
		if (records_read(st, self, &c, kind, after, COPY_PAGE) != PARLEY_OK) {
			say("reading %s: %s", KINDS[kind], c.error);
			rc = -1;
			break;
		}
		json_t *page = json_loads(c.text ? c.text : "[]", 0, NULL);
		if (!json_is_array(page)) {
			say("reading %s: the store returned no JSON array", KINDS[kind]);
			rc = -1;
		} else if (spool_page(cp, kind, page, rooms) < 0) {
			rc = -1;
		}
		json_decref(page);
		more = c.more;
		after = c.value;
	}
	if (rc == 0 && kind_read(cp, kind, rooms) < 0)
		rc = -1;
	json_decref(rooms);
	free(c.text);
	if (rc == 0)
		say_read(cp, kind);
	return rc;
}

static int kind_index(const char *name)
{
	for (int k = 0; name && k < N_KINDS; k++)
		if (strcmp(KINDS[k], name) == 0)
			return k;
	return -1;
}

/* A records dump (store_mongo's snapshot: plugins/store_mongo/dump.h) into
 * the spool: its kinds come in write order, each page through keep() as
 * from a live store (the dump too was read while writes went on). */
static int read_dump(struct copy *cp, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		say("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	int rc = 0, kind = -1, lineno = 0, ended = 0;
	json_t *rooms = json_array();
	while (rc == 0 && !ended && getline(&line, &cap, f) > 0) {
		json_t *l = json_loads(line, 0, NULL);
		lineno++;
		const char *format = json_string_value(json_object_get(l, "format"));
		json_t *records = json_object_get(l, "records");
		int k = kind_index(json_string_value(json_object_get(l, "kind")));
		if (lineno == 1) {
			if (!format || strcmp(format, STORE_COPY_DUMP_FORMAT) != 0) {
				say("%s is not a records dump", path);
				rc = -1;
			}
		} else if (json_object_get(l, "counts")) {
			ended = 1;
		} else if (k < 0 || k < kind || !json_is_array(records)) {
			say("%s:%d: not a page of records in copy order", path, lineno);
			rc = -1;
		} else {
			for (; kind < k && rc == 0; kind++)
				if (kind >= 0 && (rc = kind_read(cp, kind, rooms)) == 0)
					say_read(cp, kind);
			rc = rc == 0 ? spool_page(cp, k, records, k == K_ROOMS ? rooms : NULL) : rc;
		}
		json_decref(l);
	}
	for (kind = kind < 0 ? 0 : kind; rc == 0 && kind < N_KINDS; kind++)
		if ((rc = kind_read(cp, kind, rooms)) == 0)
			say_read(cp, kind);
	if (rc == 0 && !ended) {
		say("%s ends early (no counts line): a dump cut short", path);
		rc = -1;
	}
	json_decref(rooms);
	free(line);
	fclose(f);
	return rc;
}

static int read_source(struct copy *cp, struct config *cfg)
{
	struct cli_runtime rt = {0};
	int rc = -1;
	void *self;
	const parley_store_vtable *st;
	if (admin_start(cfg, "store copy", &rt) == 0 && (st = copy_store(&self, "source"))) {
		rc = 0;
		for (int i = 0; i < N_KINDS && rc == 0; i++)
			rc = spool_kind(cp, st, self, READ_ORDER[i]);
	}
	admin_stop(&rt);
	return rc;
}

/* ---------------------------------------------------------------- */
/* Phase 2: the spool into the target                                 */
/* ---------------------------------------------------------------- */

/* The number of records of kind in the target (capped at 1 when only
 * asking whether there are any). */
static int count_kind(const parley_store_vtable *st, void *self, int kind, int any, int64_t *n)
{
	struct call c = {0};
	int64_t after = 0;
	int rc = 0;
	*n = 0;
	for (int more = 1; more;) {
		if (records_read(st, self, &c, kind, after, any ? 1 : COPY_PAGE) != PARLEY_OK) {
			say("counting %s: %s", KINDS[kind], c.error);
			rc = -1;
			break;
		}
		json_t *page = json_loads(c.text ? c.text : "[]", 0, NULL);
		*n += (int64_t)json_array_size(page);
		json_decref(page);
		more = c.more && !any;
		after = c.value;
	}
	free(c.text);
	return rc;
}

static int write_kind(struct copy *cp, const parley_store_vtable *st, void *self, int kind)
{
	struct call c = {0};
	char *line = NULL;
	size_t cap = 0;
	int64_t done = 0;
	int rc = 0;
	rewind(cp->spool[kind]);
	while (rc == 0 && getline(&line, &cap, cp->spool[kind]) > 0) {
		if (records_write(st, self, &c, kind, line) != PARLEY_OK) {
			say("writing %s: %s", KINDS[kind], c.error);
			rc = -1;
			break;
		}
		done += c.value;
		if (cp->spooled[kind] > COPY_PAGE)
			say("writing %s: %lld/%lld", KINDS[kind], (long long)done,
			    (long long)cp->spooled[kind]);
	}
	free(line);
	free(c.text);
	if (rc == 0 && ferror(cp->spool[kind])) {
		say("cannot read the spool back");
		rc = -1;
	}
	return rc;
}

/* Every room's copied messages are in the target as written: the same
 * count and checksum over the messages copied (a merge may add others). */
static int verify_rooms(const struct copy *cp, const parley_store_vtable *st, void *self)
{
	size_t n = cp->rooms.n;
	int64_t *count = calloc(n ? n : 1, sizeof *count);
	uint64_t *sum = calloc(n ? n : 1, sizeof *sum);
	struct call c = {0};
	int64_t after = 0;
	int rc = count && sum ? 0 : -1;
	for (int more = 1; more && rc == 0;) {
		if (records_read(st, self, &c, K_MESSAGES, after, COPY_PAGE) != PARLEY_OK) {
			say("verify: reading messages: %s", c.error);
			rc = -1;
			break;
		}
		json_t *page = json_loads(c.text ? c.text : "[]", 0, NULL);
		size_t i;
		json_t *rec;
		json_array_foreach(page, i, rec)
		{
			ssize_t r = ids_find(&cp->rooms, field(rec, "room"));
			if (r < 0 || ids_find(&cp->messages, field(rec, "id")) < 0)
				continue;
			count[r]++;
			sum[r] += message_digest(rec);
		}
		json_decref(page);
		more = c.more;
		after = c.value;
	}
	size_t bad = 0;
	for (size_t r = 0; rc == 0 && r < n; r++) {
		if (count[r] == cp->room_count[r] && sum[r] == cp->room_sum[r])
			continue;
		say("verify: room r_%lld: %lld messages copied (checksum %016llx), the target has "
		    "%lld (%016llx)",
		    (long long)cp->rooms.v[r], (long long)cp->room_count[r],
		    (unsigned long long)cp->room_sum[r], (long long)count[r],
		    (unsigned long long)sum[r]);
		bad++;
	}
	if (rc == 0 && bad)
		rc = -1;
	else if (rc == 0)
		say("verified %zu rooms: each room's messages up to its last_seq, by count and "
		    "checksum",
		    n);
	free(c.text);
	free(count);
	free(sum);
	return rc;
}

static int write_target(struct copy *cp, struct config *cfg, int force)
{
	struct cli_runtime rt = {0};
	int rc = -1;
	void *self;
	const parley_store_vtable *st;
	if (admin_start(cfg, "store copy", &rt) != 0 || !(st = copy_store(&self, "target")))
		goto out;
	for (int k = 0; k < N_KINDS; k++) {
		int64_t n = 0;
		if (count_kind(st, self, k, 1, &n) < 0)
			goto out;
		if (n > 0 && !force) {
			say("the target store already has %s: refused (a copy goes into an empty "
			    "store; --force merges by id)",
			    KINDS[k]);
			goto out;
		}
	}
	for (int k = 0; k < N_KINDS; k++)
		if (write_kind(cp, st, self, k) < 0)
			goto out;
	rc = 0;
	for (int k = 0; k < N_KINDS; k++) {
		int64_t n = 0;
		if (count_kind(st, self, k, 0, &n) < 0) {
			rc = -1;
			break;
		}
		/* A merge (--force) may leave more than was copied, never less. */
		if (force ? n < cp->spooled[k] : n != cp->spooled[k]) {
			say("verify: the target has %lld %s, %lld were copied", (long long)n,
			    KINDS[k], (long long)cp->spooled[k]);
			rc = -1;
		} else {
			say("verified %s: %lld", KINDS[k], (long long)n);
		}
	}
	if (rc == 0 && verify_rooms(cp, st, self) < 0)
		rc = -1;
out:
	admin_stop(&rt);
	return rc;
}

/* Both commands: the spool filled by fill (the source's store or a dump),
 * then written into the store of target. */
static int copy_into(struct config *target, const char *target_name, int force,
                     int (*fill)(struct copy *cp, void *arg), void *arg)
{
	struct copy cp = {0};
	int rc = 1;
	for (int k = 0; k < N_KINDS; k++)
		if (!(cp.spool[k] = tmpfile())) {
			say("cannot create a temporary file (TMPDIR): out of space?");
			goto out;
		}
	if (fill(&cp, arg) < 0 || write_target(&cp, target, force) < 0)
		goto out;
	int64_t total = 0, skipped = 0;
	for (int k = 0; k < N_KINDS; k++) {
		total += cp.spooled[k];
		skipped += cp.skipped[k];
	}
	say("done: %lld records copied into the store of %s%s", (long long)total, target_name,
	    skipped ? "; records written during the copy were left out (copy again with --force "
	              "to add them)"
	            : "");
	rc = 0;
out:
	for (int k = 0; k < N_KINDS; k++)
		if (cp.spool[k])
			fclose(cp.spool[k]);
	free(cp.users.v);
	free(cp.rooms.v);
	free(cp.messages.v);
	free(cp.room_last_seq);
	free(cp.room_count);
	free(cp.room_sum);
	return rc;
}

static int fill_from_store(struct copy *cp, void *source)
{
	return read_source(cp, source);
}

static int fill_from_dump(struct copy *cp, void *path)
{
	return read_dump(cp, path);
}

int store_copy_main(struct config *source, const char *target_config, int force)
{
	struct config target;
	if (config_load(&target, target_config, NULL) < 0)
		return 1;
	int rc = copy_into(&target, target_config, force, fill_from_store, source);
	config_free(&target);
	return rc;
}

int store_copy_is_dump(const char *path)
{
	FILE *f = fopen(path, "r");
	char head[128];
	int is = 0;
	if (!f)
		return 0;
	if (fgets(head, sizeof head, f)) {
		json_t *l = json_loads(head, 0, NULL);
		const char *format = json_string_value(json_object_get(l, "format"));
		is = format && strcmp(format, STORE_COPY_DUMP_FORMAT) == 0;
		json_decref(l);
	}
	fclose(f);
	return is;
}

int store_copy_load(struct config *cfg, const char *dump, int force)
{
	return copy_into(cfg, "this config", force, fill_from_dump, (void *)dump);
}
