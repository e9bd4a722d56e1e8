/* Login throttling, in memory: failures per key (an account name or a
 * client address) within a fixed window. From max_failures on, the key is
 * blocked for a delay that doubles from THROTTLE_BASE_MS with each further
 * failure, capped at the window. In memory for now, so each node and each
 * restart counts alone; the access issue moves the counters to the store. */
#ifndef AUTH_LOCAL_THROTTLE_H
#define AUTH_LOCAL_THROTTLE_H

#include <stdint.h>

#include <parley/plugin.h>

#define THROTTLE_BASE_MS  1000
#define THROTTLE_MAX_KEYS 16384 /* beyond this, the oldest entry is dropped */
#define THROTTLE_KEY_MAX  96    /* longer keys are cut (names are ≤ 32) */

struct throttle;

/* NULL on ENOMEM. host and ctx are kept (they outlive the throttle). */
struct throttle *throttle_new(const parley_host *host, parley_ctx *ctx, int64_t max_failures,
                              int64_t window_ms);
void throttle_free(struct throttle *t);
/* Milliseconds key must still wait at now_ms; 0 when it may try. */
int64_t throttle_wait_ms(struct throttle *t, const char *key, int64_t now_ms);
/* Counts a failure of key at now_ms. */
void throttle_fail(struct throttle *t, const char *key, int64_t now_ms);
/* Forgets key (a successful login). */
void throttle_reset(struct throttle *t, const char *key);
/* How many keys are tracked. */
size_t throttle_count(const struct throttle *t);

#endif
