/* The scripts' clock and timers: the loop's (real) or a fake one that
 * `parley test-script` advances by hand. os.time, parley.timer/every/sleep
 * and mutes all read this clock. Loop thread only. */
#ifndef PARLEY_SCRIPT_CLOCK_H
#define PARLEY_SCRIPT_CLOCK_H

#include <stdint.h>

struct sclock_timer;

int64_t sclock_now_ms(void);
/* A one-shot timer; NULL without memory. cb runs once, after which the
 * timer is freed by the clock (do not stop it from cb). */
struct sclock_timer *sclock_start(double after_s, void (*cb)(void *arg), void *arg);
void sclock_stop(struct sclock_timer *t);

/* Fake mode: time stands still at start_ms until advanced. */
void sclock_use_fake(int64_t start_ms);
int sclock_is_fake(void);
/* Moves the fake clock forward, firing due timers in time order; after
 * each one, settle() (may be NULL) runs (test-script lets the loop catch
 * up). */
void sclock_advance(double seconds, void (*settle)(void));
void sclock_reset(void); /* back to the loop's clock (tests) */

#endif
