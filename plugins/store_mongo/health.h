/* Whether the database can be used, and getting it there: a monitor
 * thread connects, sets the schema up (schema.c), pings while up and
 * retries while down, and fills the seq holes appends left behind when
 * the database failed between a counter step and the insert. Lanes ask
 * health_ok() before each op and fail at once with EUNAVAIL while down;
 * a network error in any op marks it down (health_down) until a ping
 * succeeds again. */
#ifndef STORE_MONGO_HEALTH_H
#define STORE_MONGO_HEALTH_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct health;

/* Starts the monitor. schema_done: the schema was set up already (init
 * did it). NULL without memory or thread. */
struct health *health_start(struct store *st, int schema_done);
void health_stop(struct health *h);
/* Any thread: 1 when usable; else 0 and why. */
int health_ok(struct health *h, char *why, size_t n);
/* Any thread: the database failed (network, not primary). */
void health_down(struct health *h, const char *why);
/* Any thread: a seq that an append took but could not fill; the monitor
 * writes a tombstone there (or finds the message did land). */
void health_hole(struct health *h, const char *room_id, int64_t room_n, int64_t seq, int64_t seq_at,
                 const char *user_id, const uint8_t oid[12]);
/* Holes not filled yet (tests, metrics). */
int health_holes(struct health *h);

#endif
