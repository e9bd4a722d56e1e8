/* Connections per address: a chained hash table of small entries, grown
 * by doubling; each entry holds its address inline. */
#include "net/addr_count.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_COUNT_MIN_SLOTS 64

struct entry {
	struct entry *next;
	size_t count;
	char addr[];
};

static struct entry **slots;
static size_t n_slots, n_entries;

static size_t slot_of(const char *addr, size_t size)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)h & (size - 1);
}

static struct entry **find(const char *addr)
{
	if (!n_slots)
		return NULL;
	struct entry **pp = &slots[slot_of(addr, n_slots)];
	while (*pp && strcmp((*pp)->addr, addr) != 0)
		pp = &(*pp)->next;
	return pp;
}

static int grow(void)
{
	size_t size = n_slots ? n_slots * 2 : ADDR_COUNT_MIN_SLOTS;
	struct entry **fresh = calloc(size, sizeof *fresh);
	if (!fresh)
		return -1;
	for (size_t i = 0; i < n_slots; i++) {
		struct entry *e = slots[i];
		while (e) {
			struct entry *next = e->next;
			size_t s = slot_of(e->addr, size);
			e->next = fresh[s];
			fresh[s] = e;
			e = next;
		}
	}
	free(slots);
	slots = fresh;
	n_slots = size;
	return 0;
}

int addr_count_take(const char *addr, size_t max)
{
	struct entry **pp = find(addr);
	if (pp && *pp) {
		if (max && (*pp)->count >= max)
			return -1;
		(*pp)->count++;
		return 0;
	}
	if (n_entries >= n_slots && grow() < 0)
		return -1;
	size_t len = strlen(addr);
	struct entry *e = malloc(sizeof *e + len + 1);
	if (!e)
		return -1;
	memcpy(e->addr, addr, len + 1);
	e->count = 1;
	size_t s = slot_of(addr, n_slots);
	e->next = slots[s];
	slots[s] = e;
	n_entries++;
	return 0;
}

void addr_count_put(const char *addr)
{
	struct entry **pp = find(addr);
	if (!pp || !*pp)
		return;
	if (--(*pp)->count)
		return;
	struct entry *e = *pp;
	*pp = e->next;
	free(e);
	n_entries--;
}

size_t addr_count_get(const char *addr)
{
	struct entry **pp = find(addr);
	return pp && *pp ? (*pp)->count : 0;
}

void addr_count_clear(void)
{
	for (size_t i = 0; i < n_slots; i++) {
		struct entry *e = slots[i];
		while (e) {
			struct entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(slots);
	slots = NULL;
	n_slots = n_entries = 0;
}
