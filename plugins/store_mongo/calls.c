/* calls_pending (calls.h). */
#include "calls.h"

#include "store.h"

int store_calls_pending(void *self)
{
	struct store *st = self;
	return __atomic_load_n(&st->calls, __ATOMIC_SEQ_CST);
}
