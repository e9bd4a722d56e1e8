/* Retention in the running server: the background prune job (one node at
 * a time, through a store lease), the `pruned` event to members, the
 * `edits` request (a message's versions, for moderators) and the
 * `room_retention` request (a room's own, shorter retention). */
#ifndef PARLEY_CHAT_RETENTION_H
#define PARLEY_CHAT_RETENTION_H

#include <jansson.h>

struct client;

/* After chat_start: starts the timer when a retention applies (the
 * server's, or any room's: the job runs whenever the store prunes). */
void chat_retention_start(void);
/* On shutdown: stops the timer and releases this node's lease. */
void chat_retention_stop(void);

void chat_req_edits(struct client *cl, json_t *req, json_t *rid);
void chat_req_room_retention(struct client *cl, json_t *req, json_t *rid);

#endif
