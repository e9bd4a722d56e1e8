/* The people directory: {"type":"users","rid":…,"query":"bo","after":…,
 * "limit":…} → {"type":"users","rid":…,"users":[…],"more":bool}, behind
 * the DM picker, "Add someone" and @ suggestions. */
#ifndef PARLEY_CHAT_DIRECTORY_H
#define PARLEY_CHAT_DIRECTORY_H

#include <jansson.h>

struct client;

#define DIRECTORY_QUERY_MAX 64  /* bytes of the query */
#define DIRECTORY_LIMIT     20  /* people per page by default */
#define DIRECTORY_LIMIT_MAX 100 /* people per page at most */

void chat_req_users(struct client *cl, json_t *req, json_t *rid);

#endif
