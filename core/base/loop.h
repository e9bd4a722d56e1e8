/* The one libev loop that owns all state, and the thread-safe "post" queue
 * through which other threads hand work back to it (one ev_async, the whole
 * list drained per wake-up: async signals coalesce). */
#ifndef PARLEY_LOOP_H
#define PARLEY_LOOP_H

#include <ev.h>

extern struct ev_loop *loop_ev;

/* Creates the default loop; 0 or -1. */
int loop_init(void);
void loop_fini(void);
/* Thread-safe: fn(arg) runs on the loop thread soon, in posting order. */
void loop_post(void (*fn)(void *arg), void *arg);
/* Runs fn(arg) pending posts now (shutdown: drain). */
void loop_drain_posts(void);
/* Loop thread, outside ev_run (shutdown): waits up to ms for a post to be
 * pending; 1 when one is, 0 on timeout. */
int loop_wait_posts(int ms);
/* Milliseconds since the epoch (ev_now when on the loop, else real time). */
long long loop_now_ms(void);

#endif
