/* The calls a store has accepted (PENDING) whose done() has not run yet,
 * counted per operation name. The host waits for none before it finis any
 * plugin (so every completion meets its caller alive), and fini names the
 * ones still counted when that wait gave up. Loop thread only: calls are
 * accepted and their done() runs there. */
#ifndef STORE_SQLITE_PENDING_H
#define STORE_SQLITE_PENDING_H

#include <stddef.h>

/* More distinct names than this are counted under the last slot's name. */
#define PENDING_KINDS 96

struct pending {
	struct {
		const char *name; /* the op's static name: "append" */
		int n;
	} kinds[PENDING_KINDS];
	int n_kinds;
	int total;
};

void pending_add(struct pending *p, const char *name);
void pending_remove(struct pending *p, const char *name);
/* "append 2, history 1" into buf (truncated to len); the total. */
int pending_describe(const struct pending *p, char *buf, size_t len);

#endif
