/* Whether the core's serving state (users, rooms, members… loaded from the
 * store) is in place. Until it is, the listeners answer /healthz, /readyz
 * (503 with the reason) and /metrics only, and every other request gets
 * `unavailable` with a retry hint: the store may still be coming up. The
 * app layer sets it; the API and chat layers read it. Loop thread only. */
#ifndef PARLEY_SERVING_STATE_H
#define PARLEY_SERVING_STATE_H

#include <stddef.h>
#include <stdint.h>

#define SERVING_WHY_LEN 512

/* Not serving yet: why (printf-style), and when the next try is due. */
void serving_state_waiting(int64_t retry_after_ms, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Serving: the state is loaded. */
void serving_state_ready(void);
/* 1 when serving; else 0 with the reason in why (if n). */
int serving_state_is_ready(char *why, size_t n);
/* What a refused client should wait before trying again (ms, > 0). */
int64_t serving_state_retry_ms(void);

#endif
