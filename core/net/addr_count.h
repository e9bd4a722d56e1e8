/* How many connections each client address holds, for
 * limits.max_connections_per_addr. Addresses are the strings conn.c counts
 * under (the peer's, or the forwarded one behind a trusted proxy); an
 * address's entry goes when its count reaches 0, so the table's size
 * follows the open connections, whatever addresses an attacker cycles. */
#ifndef PARLEY_ADDR_COUNT_H
#define PARLEY_ADDR_COUNT_H

#include <stddef.h>

/* Counts one more connection under addr unless it has max already (max 0:
 * no limit). 0, or -1 when at the limit or out of memory. */
int addr_count_take(const char *addr, size_t max);
/* One connection under addr is gone. */
void addr_count_put(const char *addr);
/* Connections counted under addr now. */
size_t addr_count_get(const char *addr);
/* Forgets every address (module fini). */
void addr_count_clear(void);

#endif
