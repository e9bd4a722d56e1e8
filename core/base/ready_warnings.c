#include "base/ready_warnings.h"

#include <stdio.h>
#include <string.h>

static struct {
	const char *name; /* NULL: a free slot */
	char text[READY_WARNING_LEN];
} slots[READY_WARNINGS_MAX];

void ready_warning_set(const char *name, const char *text)
{
	size_t free_slot = READY_WARNINGS_MAX;
	for (size_t i = 0; i < READY_WARNINGS_MAX; i++) {
		if (slots[i].name && strcmp(slots[i].name, name) == 0) {
			if (!text)
				slots[i].name = NULL;
			else
				snprintf(slots[i].text, sizeof slots[i].text, "%s", text);
			return;
		}
		if (!slots[i].name && free_slot == READY_WARNINGS_MAX)
			free_slot = i;
	}
	if (text && free_slot < READY_WARNINGS_MAX) {
		slots[free_slot].name = name;
		snprintf(slots[free_slot].text, sizeof slots[free_slot].text, "%s", text);
	}
}

size_t ready_warnings(char out[][READY_WARNING_LEN], size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < READY_WARNINGS_MAX && n < max; i++)
		if (slots[i].name)
			snprintf(out[n++], READY_WARNING_LEN, "%.40s: %.200s", slots[i].name,
			         slots[i].text);
	return n;
}
