/* Per-person state that must be one per cluster and travels on the bus
 * (issue 16), beside what cluster_bus.c carries: script mutes, read
 * markers (so every node's unread mention counts follow), the typing
 * throttle, and each node's share of a person's rate limits. Without a
 * cluster: mutes and reads publish nothing and the share is the whole. */
#ifndef PARLEY_CLUSTER_SHARED_H
#define PARLEY_CLUSTER_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "chat/room.h"
#include "chat/users.h"

/* A script muted user_id in room_id until until_ms (0: lifted) here:
 * kept here, and told to the other nodes. 0, or -1 without memory. */
int cluster_mute_set(const char *user_id, const char *room_id, int64_t until_ms);
/* Every live mute (and remembered lift) said again: a node that is new,
 * or was cut off, learns them. */
void cluster_mutes_publish_all(void);
/* From the bus: a mute ("T"), a read marker ("K"). Words as received. */
void cluster_mute_heard(const char *user_id, const char *room_id, const char *until,
                        const char *body, size_t len);
void cluster_read_heard(const char *room_id, const char *user_id, const char *seq, const char *body,
                        size_t len);
/* u read r up to seq here (all_read: its mentions were cleared). */
void cluster_read_publish(const room *r, const user_rec *u, int64_t seq, int all_read);
/* u's typing in r fanned out by another node: this node's throttle
 * counts it, so typing on two nodes is not told twice as often. */
void cluster_typing_heard(room *r, const user_rec *u);
/* The part of spec this node may grant u: the whole divided by the nodes
 * where u has sessions (those nodes' grants add up to the limit). *out
 * is filled; returns out, or spec itself when it is whole. */
const struct rate_spec *cluster_rate_share(const user_rec *u, const struct rate_spec *spec,
                                           struct rate_spec *out);

#endif
