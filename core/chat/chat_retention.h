/* Retention in the running server: the background prune job (one node at
 * a time, through a store lease), the `pruned` event to members, the
 * `edits` request (a message's versions, for moderators) and the
 * `room_retention` request (a room's own, shorter retention). */
#ifndef PARLEY_CHAT_RETENTION_H
#define PARLEY_CHAT_RETENTION_H

#include <jansson.h>
#include <stdint.h>

struct client;

/* After chat_start: starts the timer when a retention applies (the
 * server's, or any room's: the job runs whenever the store prunes). */
void chat_retention_start(void);
/* On shutdown: stops the timer and releases this node's lease. */
void chat_retention_stop(void);

void chat_req_edits(struct client *cl, json_t *req, json_t *rid);
void chat_req_room_retention(struct client *cl, json_t *req, json_t *rid);
/* A room's retention as requested ("30d", seconds, "default") into ms (0:
 * the server's); EINVAL with why when malformed or longer than the
 * server's. */
int chat_retention_parse(json_t *v, int64_t *ms, const char **why);

#endif
