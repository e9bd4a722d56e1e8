/* Open-addressing hash map with tombstones; FNV-1a hashing. Grows at 70 %
 * occupancy (tombstones included), so probe chains stay short. */
#include "base/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STRMAP_MIN_CAP 16

struct strmap_slot {
	const char *key; /* NULL: empty */
	void *value;     /* NULL with key set: tombstone */
	uint32_t hash;
};

static const char tombstone_key[] = "";

static uint32_t hash_key(const char *s, int nocase)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (nocase && ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		h ^= ch;
		h *= 16777619u;
	}
	return h;
}

static int keys_equal(const strmap *m, const char *a, const char *b)
{
	return m->nocase ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

void strmap_init(strmap *m, int nocase)
{
	memset(m, 0, sizeof *m);
	m->nocase = nocase;
}

void strmap_free(strmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = m->used = 0;
}

static struct strmap_slot *find_slot(const strmap *m, const char *key, uint32_t h)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &m->slots[i];
		if (!s->key)
			return NULL;
		if (s->key != tombstone_key && s->hash == h && keys_equal(m, s->key, key))
			return s;
	}
}

void *strmap_get(const strmap *m, const char *key)
{
	struct strmap_slot *s = find_slot(m, key, hash_key(key, m->nocase));
	return s ? s->value : NULL;
}

static int grow(strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : STRMAP_MIN_CAP;
	while (m->count * 10 >= ncap * 5)
		ncap *= 2;
	struct strmap_slot *ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		struct strmap_slot *s = &m->slots[i];
		if (!s->key || s->key == tombstone_key)
			continue;
		size_t j = s->hash & (ncap - 1);
		while (ns[j].key)
			j = (j + 1) & (ncap - 1);
		ns[j] = *s;
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	m->used = m->count;
	return 0;
}

int strmap_put(strmap *m, const char *key, void *value)
{
	uint32_t h = hash_key(key, m->nocase);
	struct strmap_slot *s = find_slot(m, key, h);
	if (s) {
		s->key = key;
		s->value = value;
		return 0;
	}
	if ((m->used + 1) * 10 > m->cap * 7 && grow(m) < 0)
		return -1;
	size_t mask = m->cap - 1;
	size_t i = h & mask;
	while (m->slots[i].key && m->slots[i].key != tombstone_key)
		i = (i + 1) & mask;
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->slots[i].hash = h;
	m->count++;
	return 0;
}

void *strmap_del(strmap *m, const char *key)
{
	struct strmap_slot *s = find_slot(m, key, hash_key(key, m->nocase));
	if (!s)
		return NULL;
	void *v = s->value;
	s->key = tombstone_key;
	s->value = NULL;
	m->count--;
	return v;
}

void *strmap_next(const strmap *m, size_t *pos, const char **key)
{
	for (; *pos < m->cap; (*pos)++) {
		struct strmap_slot *s = &m->slots[*pos];
		if (s->key && s->key != tombstone_key) {
			(*pos)++;
			if (key)
				*key = s->key;
			return s->value;
		}
	}
	return NULL;
}
