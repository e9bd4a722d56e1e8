/* A chained hash table of per-key failure counters. Entries expire with
 * their window; when the table is full, expired entries are swept and, if
 * that frees nothing, the unlocked entry whose window started first is
 * dropped. A locked entry (max_failures reached within its window) is
 * never dropped: when nothing else is left, the new key goes untracked,
 * so memory stays bounded whatever names an attacker tries and a locked
 * account stays locked. */
#include "throttle.h"

#include <string.h>

#define THROTTLE_BUCKETS  4096 /* a power of two */
#define THROTTLE_SWEEP_MS 100

struct entry {
	struct entry *next;
	int64_t first_ms;   /* start of the current window */
	int64_t blocked_ms; /* blocked until then */
	int64_t failures;
	char key[THROTTLE_KEY_MAX + 1];
};

struct throttle {
	const parley_host *host;
	parley_ctx *ctx;
	int64_t max_failures;
	int64_t window_ms;
	size_t max_keys;
	size_t count;
	int64_t next_sweep_ms; /* a sweep that found no room is not redone before */
	struct entry *buckets[THROTTLE_BUCKETS];
};

static size_t bucket_of(const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (THROTTLE_BUCKETS - 1);
}

static struct entry **find(struct throttle *t, const char *key)
{
	struct entry **pp = &t->buckets[bucket_of(key)];

	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

static int expired(const struct throttle *t, const struct entry *e, int64_t now_ms)
{
	return now_ms - e->first_ms >= t->window_ms && now_ms >= e->blocked_ms;
}

/* Reached max_failures in its window: dropping it would reset the count. */
static int locked(const struct throttle *t, const struct entry *e, int64_t now_ms)
{
	return e->failures >= t->max_failures && !expired(t, e, now_ms);
}

static void unlink_free(struct throttle *t, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->next;
	t->host->free(t->ctx, e);
	t->count--;
}

/* Makes room for one more entry; 0 when there is room. */
static int make_room(struct throttle *t, int64_t now_ms)
{
	struct entry **oldest = NULL;

	/* A table full of locked entries stays so for a while: sweeping it on
	 * every failure would cost the loop O(max_keys) per request. */
	if (now_ms < t->next_sweep_ms)
		return -1;
	for (size_t b = 0; b < THROTTLE_BUCKETS; b++) {
		struct entry **pp = &t->buckets[b];
		while (*pp) {
			if (expired(t, *pp, now_ms)) {
				unlink_free(t, pp);
				continue;
			}
			if (!locked(t, *pp, now_ms) &&
			    (!oldest || (*pp)->first_ms < (*oldest)->first_ms))
				oldest = pp;
			pp = &(*pp)->next;
		}
	}
	if (t->count >= t->max_keys && oldest)
		unlink_free(t, oldest);
	if (t->count < t->max_keys)
		return 0;
	t->next_sweep_ms = now_ms + THROTTLE_SWEEP_MS;
	return -1;
}

struct throttle *throttle_new(const parley_host *host, parley_ctx *ctx, int64_t max_failures,
                              int64_t window_ms, size_t max_keys)
{
	struct throttle *t = host->calloc(ctx, 1, sizeof *t);

	if (!t)
		return NULL;
	t->host = host;
	t->ctx = ctx;
	t->max_failures = max_failures;
	t->window_ms = window_ms;
	t->max_keys = max_keys ? max_keys : THROTTLE_MAX_KEYS;
	return t;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	for (size_t b = 0; b < THROTTLE_BUCKETS; b++)
		while (t->buckets[b])
			unlink_free(t, &t->buckets[b]);
	t->host->free(t->ctx, t);
}

/* Keys are cut to THROTTLE_KEY_MAX so lookups and inserts agree. */
static void clip(const char *key, char *out)
{
	size_t n = strlen(key);

	if (n > THROTTLE_KEY_MAX)
		n = THROTTLE_KEY_MAX;
	memcpy(out, key, n);
	out[n] = '\0';
}

int64_t throttle_wait_ms(struct throttle *t, const char *key, int64_t now_ms)
{
	char k[THROTTLE_KEY_MAX + 1];
	struct entry **pp;

	clip(key, k);
	pp = find(t, k);
	if (!*pp)
		return 0;
	if (expired(t, *pp, now_ms)) {
		unlink_free(t, pp);
		return 0;
	}
	return (*pp)->blocked_ms > now_ms ? (*pp)->blocked_ms - now_ms : 0;
}

/* key's live entry, made when absent; NULL when the table has no room. */
static struct entry *entry_for(struct throttle *t, const char *k, int64_t now_ms)
{
	struct entry **pp = find(t, k), *e;

	if (*pp && expired(t, *pp, now_ms))
		unlink_free(t, pp);
	if ((e = *pp))
		return e;
	if (t->count >= t->max_keys && make_room(t, now_ms) != 0)
		return NULL;
	e = t->host->calloc(t->ctx, 1, sizeof *e);
	if (!e)
		return NULL;
	memcpy(e->key, k, sizeof e->key);
	e->first_ms = now_ms;
	/* make_room may have rearranged the chain: insert at the head. */
	pp = &t->buckets[bucket_of(k)];
	e->next = *pp;
	*pp = e;
	t->count++;
	return e;
}

/* From max_failures on: blocked for a delay doubling with each failure. */
static void block(struct throttle *t, struct entry *e, int64_t now_ms)
{
	int64_t delay = THROTTLE_BASE_MS;

	if (e->failures < t->max_failures)
		return;
	for (int64_t i = t->max_failures; i < e->failures && delay < t->window_ms; i++)
		delay *= 2;
	if (delay > t->window_ms)
		delay = t->window_ms;
	e->blocked_ms = now_ms + delay;
}

int throttle_fail(struct throttle *t, const char *key, int64_t now_ms)
{
	char k[THROTTLE_KEY_MAX + 1];
	struct entry *e;

	clip(key, k);
	if (!(e = entry_for(t, k, now_ms)))
		return -1;
	e->failures++;
	block(t, e, now_ms);
	return 0;
}

int throttle_observe(struct throttle *t, const char *key, int64_t failures, int64_t now_ms)
{
	char k[THROTTLE_KEY_MAX + 1];
	struct entry **pp, *e;

	if (failures <= 0)
		return 0;
	clip(key, k);
	pp = find(t, k);
	if (*pp && !expired(t, *pp, now_ms) && (*pp)->failures >= failures)
		return 0;
	if (!(e = entry_for(t, k, now_ms)))
		return -1;
	e->failures = failures;
	block(t, e, now_ms);
	return 0;
}

int throttle_sync(struct throttle *t, const char *key, int64_t failures, int64_t now_ms)
{
	char k[THROTTLE_KEY_MAX + 1];
	struct entry **pp;

	clip(key, k);
	pp = find(t, k);
	if (failures <= 0) {
		if (*pp)
			unlink_free(t, pp);
		return 0;
	}
	if (!*pp || expired(t, *pp, now_ms) || (*pp)->failures <= failures)
		return throttle_observe(t, key, failures, now_ms);
	/* Fewer than held: a success elsewhere began a new count. */
	(*pp)->failures = failures;
	if (failures < t->max_failures)
		(*pp)->blocked_ms = 0;
	return 0;
}

int throttle_has(struct throttle *t, const char *key, int64_t now_ms)
{
	char k[THROTTLE_KEY_MAX + 1];
	struct entry **pp;

	clip(key, k);
	pp = find(t, k);
	return *pp && !expired(t, *pp, now_ms);
}

void throttle_reset(struct throttle *t, const char *key)
{
	char k[THROTTLE_KEY_MAX + 1];
	struct entry **pp;

	clip(key, k);
	pp = find(t, k);
	if (*pp)
		unlink_free(t, pp);
}

size_t throttle_count(const struct throttle *t)
{
	return t->count;
}

int throttle_pressure(const struct throttle *t)
{
	if (t->count >= t->max_keys - t->max_keys / 8)
		return 2;
	return t->count >= t->max_keys - t->max_keys / 4;
}
