/* Mutes in a string map keyed "user_id room_id" -> {end time, when set,
 * how long kept, key}: the map borrows keys, so each entry carries its
 * own. A lift stays as an entry with until_ms 0 while the mute it lifted
 * would have run. Expired entries are dropped when looked at, and all of
 * them once the map grows past a bound, so the map holds little more than
 * the live mutes. */
#include "chat/mutes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/loop.h"
#include "base/strmap.h"

#define MUTES_KEY_MAX 160
#define MUTES_SWEEP   1024 /* entries beyond which expired ones are swept */

struct mute {
	int64_t until_ms; /* 0: lifted */
	int64_t set_ms;   /* when this state was decided (the newest wins) */
	int64_t keep_ms;  /* dropped after this */
	char key[MUTES_KEY_MAX];
};

static strmap mutes;
static int ready;
static int64_t (*clock_fn)(void);

int64_t mutes_now_ms(void)
{
	return clock_fn ? clock_fn() : (int64_t)loop_now_ms();
}

void mutes_set_clock(int64_t (*now_ms)(void))
{
	clock_fn = now_ms;
}

static int make_key(char *key, const char *user_id, const char *room_id)
{
	int n = snprintf(key, MUTES_KEY_MAX, "%s %s", user_id, room_id);
	return n > 0 && n < MUTES_KEY_MAX;
}

static void drop(struct mute *m)
{
	strmap_del(&mutes, m->key);
	free(m);
}

static void sweep(int64_t now)
{
	for (;;) {
		size_t pos = 0;
		const char *key;
		struct mute *m, *dead = NULL;
		while ((m = strmap_next(&mutes, &pos, &key)))
			if (m->keep_ms <= now) {
				dead = m;
				break;
			}
		if (!dead)
			return;
		drop(dead); /* iteration restarts: deleting moves no slot, but be plain */
	}
}

int mutes_apply(const char *user_id, const char *room_id, int64_t until_ms, int64_t set_ms)
{
	char key[MUTES_KEY_MAX];
	if (!make_key(key, user_id, room_id))
		return -1;
	if (!ready) {
		strmap_init(&mutes, 0);
		ready = 1;
	}
	int64_t now = mutes_now_ms();
	struct mute *m = strmap_get(&mutes, key);
	if (m && m->keep_ms <= now) {
		drop(m);
		m = NULL;
	}
	if (m && m->set_ms > set_ms)
		return 0;
	int lift = until_ms <= now;
	if (lift && (!m || m->until_ms <= now)) {
		if (m)
			drop(m); /* nothing in force to guard against */
		return 1;
	}
	if (!m) {
		if (mutes.count >= MUTES_SWEEP)
			sweep(now);
		if (!(m = malloc(sizeof *m)))
			return -1;
		memcpy(m->key, key, sizeof m->key);
		m->keep_ms = 0;
		if (strmap_put(&mutes, m->key, m) < 0) {
			free(m);
			return -1;
		}
	}
	/* A lift is kept as long as the mute it lifted would have run. */
	m->keep_ms = lift ? m->until_ms : until_ms;
	m->until_ms = lift ? 0 : until_ms;
	m->set_ms = set_ms;
	return 1;
}

int mutes_set(const char *user_id, const char *room_id, int64_t until_ms)
{
	return mutes_apply(user_id, room_id, until_ms, mutes_now_ms()) < 0 ? -1 : 0;
}

int64_t mutes_until(const char *user_id, const char *room_id, int64_t now_ms)
{
	char key[MUTES_KEY_MAX];
	if (!ready || !mutes.count || !make_key(key, user_id, room_id))
		return 0;
	struct mute *m = strmap_get(&mutes, key);
	if (!m)
		return 0;
	if (m->keep_ms <= now_ms) {
		drop(m);
		return 0;
	}
	return m->until_ms > now_ms ? m->until_ms : 0;
}

void mutes_each(void (*fn)(const char *user_id, const char *room_id, int64_t until_ms,
                           int64_t set_ms))
{
	if (!ready)
		return;
	size_t pos = 0;
	const char *key;
	struct mute *m;
	while ((m = strmap_next(&mutes, &pos, &key))) {
		char user[MUTES_KEY_MAX];
		const char *sp = strchr(m->key, ' ');
		if (!sp)
			continue;
		memcpy(user, m->key, (size_t)(sp - m->key));
		user[sp - m->key] = '\0';
		fn(user, sp + 1, m->until_ms, m->set_ms);
	}
}

void mutes_describe(int64_t until_ms, char *out, size_t len)
{
	time_t t = (time_t)(until_ms / 1000);
	struct tm tm;
	char when[32] = "?";
	if (gmtime_r(&t, &tm))
		/* ISO 8601 in UTC: the web client shows it in each reader's
		 * own time zone (web/js/format.js turns it into a <time>). */
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, len, "you are muted in this room until %s", when);
}

void mutes_fini(void)
{
	if (!ready)
		return;
	size_t pos = 0;
	const char *key;
	struct mute *m;
	while ((m = strmap_next(&mutes, &pos, &key)))
		free(m);
	strmap_free(&mutes);
	ready = 0;
}
