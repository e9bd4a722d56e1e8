/* Counts of accepted calls per operation name (see pending.h). */
#include "pending.h"

#include <stdio.h>
#include <string.h>

/* The slot counting name; a new one when there is room, else the last. */
static int slot(struct pending *p, const char *name)
{
	for (int i = 0; i < p->n_kinds; i++)
		if (p->kinds[i].name == name || strcmp(p->kinds[i].name, name) == 0)
			return i;
	if (p->n_kinds < PENDING_KINDS) {
		p->kinds[p->n_kinds].name = name;
		p->kinds[p->n_kinds].n = 0;
		return p->n_kinds++;
	}
	return PENDING_KINDS - 1;
}

void pending_add(struct pending *p, const char *name)
{
	p->kinds[slot(p, name ? name : "?")].n++;
	p->total++;
}

void pending_remove(struct pending *p, const char *name)
{
	p->kinds[slot(p, name ? name : "?")].n--;
	p->total--;
}

int pending_describe(const struct pending *p, char *buf, size_t len)
{
	size_t used = 0;
	if (len)
		buf[0] = '\0';
	for (int i = 0; i < p->n_kinds && used < len; i++) {
		if (!p->kinds[i].n)
			continue;
		int w = snprintf(buf + used, len - used, "%s%s %d", used ? ", " : "",
		                 p->kinds[i].name, p->kinds[i].n);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return p->total;
}
