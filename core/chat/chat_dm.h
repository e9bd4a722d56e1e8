/* Group DMs (issue 15): {"type":"dm","users":[…]} opens a private
 * conversation of up to limits.group_dm_max people, idempotently by the set
 * of people. A DM's room name is "dm:" and its people's ids, sorted, joined
 * by ':' — for two people exactly the 1:1 DM's name, so `users` with one
 * person is the 1:1 DM. Loop thread only. */
#ifndef PARLEY_CHAT_DM_H
#define PARLEY_CHAT_DM_H

#include <jansson.h>

struct client;
struct room;
struct user_rec;

#define CHAT_DM_USERS_MAX 64 /* the hard bound on limits.group_dm_max */

void chat_req_group_dm(struct client *cl, json_t *req, json_t *rid);
/* The people of DM r other than viewer, as [{id,name}] (from its name, so
 * someone who left is still listed), or NULL for a room that is not a DM. */
json_t *chat_dm_users(const struct room *r, const struct user_rec *viewer);

#endif
