/* The people directory: {"type":"users","rid":…,"query":"bo","after":…,
 * "limit":…} → {"type":"users","rid":…,"users":[…],"more":bool}, behind
 * the DM picker, "Add someone" and @ suggestions. */
#ifndef PARLEY_CHAT_DIRECTORY_H
#define PARLEY_CHAT_DIRECTORY_H

#include <jansson.h>

struct client;
struct scope;

#define DIRECTORY_QUERY_MAX 64  /* bytes of the query */
#define DIRECTORY_LIMIT     20  /* people per page by default */
#define DIRECTORY_LIMIT_MAX 100 /* people per page at most */

void chat_req_users(struct client *cl, json_t *req, json_t *rid);
/* Whether a token with scope (NULL: unlimited) held by viewer_id may see
 * user_id: a room-limited token sees the people of its rooms only. */
int chat_directory_visible(const struct scope *scope, const char *viewer_id, const char *user_id);

#endif
