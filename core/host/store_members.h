/* The store's optional members (appended to parley_store_vtable after ABI
 * 1): which the configured store lacks, logged once at start as
 * `store_members` with "missing":[names]. The core answers `unavailable`
 * for what needs a missing one; operators and tests read the line to know
 * which features this store serves. */
#ifndef PARLEY_STORE_MEMBERS_H
#define PARLEY_STORE_MEMBERS_H

#include <stddef.h>

/* The missing members' names, comma-separated, into out (empty: none). */
void store_members_missing(char *out, size_t n);
/* Logs the store_members line (nothing without a store). */
void store_members_log(void);

#endif
