/* Upload bytes in flight counted over a cluster (issue 16): with several
 * nodes on one store, an upload with a declared size reserves it in the
 * store's counter `upload_inflight:<user>` before its body is read, and
 * gives it back when it ends, so parallel uploads through different nodes
 * see each other against the daily quota. Without a cluster (or a store
 * without counter_add) nothing is asked: the node's own count decides. */
#ifndef PARLEY_UPLOAD_INFLIGHT_CLUSTER_H
#define PARLEY_UPLOAD_INFLIGHT_CLUSTER_H

#include <stdint.h>

/* A crashed node's reservations lapse with the counter's window. */
#define UPLOAD_INFLIGHT_WINDOW_MS (3600 * 1000LL)

/* done(ud, total): total is the cluster's bytes in flight for user_id,
 * this reservation included, or -1 when the store did not answer (then
 * nothing was reserved). 1 when asked (done follows), 0 when there is
 * nothing to ask (no cluster, no counter, bytes <= 0). */
int upload_inflight_reserve(const char *user_id, int64_t bytes,
                            void (*done)(void *ud, int64_t total), void *ud);
/* Gives back what a reservation took. */
void upload_inflight_release(const char *user_id, int64_t bytes);

#endif
