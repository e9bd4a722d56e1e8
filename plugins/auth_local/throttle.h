/* Login throttling, in memory: failures per key (an account name or a
 * client address) within a fixed window. From max_failures on, the key is
 * blocked for a delay that doubles from THROTTLE_BASE_MS with each further
 * failure, capped at the window. The table is this node's view; with a
 * store that has counter_add, shared.c counts the same failures in the
 * store and raises this table to every node's count.
 *
 * The table holds at most max_keys entries. A blocked entry is never
 * dropped to make room (that would hand an attacker fresh guesses); when
 * only blocked entries are left, a new key is not tracked, and callers
 * count against coarser keys instead (throttle_pressure). */
#ifndef AUTH_LOCAL_THROTTLE_H
#define AUTH_LOCAL_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#define THROTTLE_BASE_MS        1000
#define THROTTLE_MAX_KEYS       16384 /* the default of max_keys */
#define THROTTLE_MIN_KEYS       64
#define THROTTLE_MAX_KEYS_LIMIT (1 << 22)
#define THROTTLE_KEY_MAX        96 /* longer keys are cut (names are ≤ 32) */

struct throttle;

/* NULL on ENOMEM. host and ctx are kept (they outlive the throttle). */
struct throttle *throttle_new(const parley_host *host, parley_ctx *ctx, int64_t max_failures,
                              int64_t window_ms, size_t max_keys);
void throttle_free(struct throttle *t);
/* Milliseconds key must still wait at now_ms; 0 when it may try. */
int64_t throttle_wait_ms(struct throttle *t, const char *key, int64_t now_ms);
/* Counts a failure of key at now_ms; 0 when counted, -1 when the table had
 * no room for a new key (only blocked entries left, or ENOMEM). */
int throttle_fail(struct throttle *t, const char *key, int64_t now_ms);
/* Raises key's count to failures counted elsewhere (every node's, from
 * the store), blocking it as throttle_fail would; a count at or below the
 * one held changes nothing. 0, or -1 as throttle_fail. */
int throttle_observe(struct throttle *t, const char *key, int64_t failures, int64_t now_ms);
/* Sets key's count to failures, the authoritative count (the store's,
 * with none of this node's failures still on their way there): lower
 * counts lower it (0 forgets the key; a block goes when the count drops
 * under max_failures), higher ones act as throttle_observe. */
int throttle_sync(struct throttle *t, const char *key, int64_t failures, int64_t now_ms);
/* 1 when key is tracked (and not expired) at now_ms. */
int throttle_has(struct throttle *t, const char *key, int64_t now_ms);
/* Forgets key (a successful login). */
void throttle_reset(struct throttle *t, const char *key);
/* How many keys are tracked. */
size_t throttle_count(const struct throttle *t);
/* How full the table is: 0 below three quarters, 1 from three quarters,
 * 2 from seven eighths. Callers count a new client address by an ever
 * coarser network as it rises (addr_prefix's levels). */
int throttle_pressure(const struct throttle *t);

#endif
