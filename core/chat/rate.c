/* Token buckets (rate.h). A fresh bucket is full, so a quiet user's first
 * burst is never refused. */
#include "chat/rate.h"

#include <math.h>

int64_t rate_take(struct rate_bucket *b, const struct rate_spec *spec, double now)
{
	if (spec->per_s <= 0)
		return 0;
	if (b->at == 0 || now < b->at) {
		b->tokens = spec->burst;
	} else {
		b->tokens += (now - b->at) * spec->per_s;
		if (b->tokens > spec->burst)
			b->tokens = spec->burst;
	}
	b->at = now;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 0;
	}
	int64_t ms = (int64_t)ceil((1 - b->tokens) / spec->per_s * 1000);
	return ms > 0 ? ms : 1;
}
