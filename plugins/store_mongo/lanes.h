/* The plugin's own threads (not the host's worker pool, where a stuck
 * server selection would hold up Argon2 and logins). Each lane is one
 * thread with a FIFO queue; an op goes to the lane its key (a room, a
 * user) hashes to, so two calls about one room run in the order they were
 * made, and a read follows the writes made before it. A lane takes a
 * client from the pool per op and posts the finished op to the loop. */
#ifndef STORE_MONGO_LANES_H
#define STORE_MONGO_LANES_H

#include <stddef.h>

struct store;
struct op;
struct lanes;

/* n keyed threads and the long lane's; NULL with err set on failure. */
struct lanes *lanes_start(struct store *st, int n, char *err, size_t errlen);
/* Queues op on the lane of key (NULL: lane 0). PARLEY_OK, or EUNAVAIL
 * when stopping. */
int lanes_submit(struct lanes *l, struct op *op, const char *key);
/* Queues op on the long lane, a thread of its own beside the keyed ones,
 * for an op that runs long (a whole-store dump): the calls of the rooms
 * and users of any keyed lane do not wait behind it. */
int lanes_submit_long(struct lanes *l, struct op *op);
/* Runs what is queued, joins the threads, frees l. */
void lanes_stop(struct lanes *l);

#endif
