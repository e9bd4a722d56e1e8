/* Token buckets for per-user rate limits: a bucket holds up to `burst`
 * tokens, refilled at `per_s` a second; each action takes one. Pure: the
 * caller passes the time. */
#ifndef PARLEY_RATE_H
#define PARLEY_RATE_H

#include <stdint.h>

#include "base/config.h"

struct rate_bucket {
	double tokens;
	double at; /* when tokens was last brought up to date (s); 0: never used */
};

/* Takes a token at `now` (s). 0 when the action may go ahead; otherwise the
 * milliseconds until a token is there (at least 1), and nothing is taken.
 * A spec with per_s 0 never limits. */
int64_t rate_take(struct rate_bucket *b, const struct rate_spec *spec, double now);

#endif
