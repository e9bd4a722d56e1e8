/* calls_pending (the host's shutdown drain): the calls queued on a lane
 * whose done() has not run yet, counted by lanes.c. */
#ifndef STORE_MONGO_CALLS_H
#define STORE_MONGO_CALLS_H

int store_calls_pending(void *self);

#endif
