/* Threads (issue 15): a thread's facts on message objects, the `history`
 * of a thread, the followed-threads list (`threads`), following a thread
 * (`thread_follow`) and its read mark (`thread_read`), and what a stored
 * reply sets off (thread_updated, mentioned people follow). The store
 * keeps all of it (thread_append and the members after it); a store
 * without them answers `unavailable`. Loop thread only. */
#ifndef PARLEY_CHAT_THREADS_H
#define PARLEY_CHAT_THREADS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

struct client;
struct room;

#define CHAT_THREADS_PAGE_MAX 100 /* threads in one `threads` reply */

/* 1 when the store keeps threads (its results then carry `threads`). */
int chat_threads_stored(void);
/* The thread facts of res->messages[i], or NULL (no store support). */
const parley_thread_info *chat_thread_info(const parley_store_result *res, size_t i);
/* Adds thread, also_room (a reply) and replies, last_reply_ts (a root
 * with replies) to a message object. t may be NULL. */
void chat_thread_fields(json_t *msg, const parley_thread_info *t);

/* Whether root_id is a thread root in room_id a post may answer in (a
 * message of the room, not deleted, not a reply itself): done(ud,
 * PARLEY_OK, NULL), or the error a reply there would get (ENOTFOUND,
 * EINVAL, or the store's) with its message. A command is checked first:
 * it runs before anything is stored, and its answer goes to the thread.
 * done may run before this returns (the store refused the call). */
typedef void (*chat_root_checked)(void *ud, int rc, const char *why);
void chat_thread_root_check(const char *room_id, const char *root_id, chat_root_checked done,
                            void *ud);

/* `history` with "thread": the root (as `root`) and the thread's replies,
 * paged as history. */
void chat_req_thread_history(struct client *cl, json_t *req, json_t *rid, struct room *r,
                             int64_t before, int64_t after, int limit);
void chat_req_threads(struct client *cl, json_t *req, json_t *rid);
void chat_req_thread_follow(struct client *cl, json_t *req, json_t *rid);
void chat_req_thread_read(struct client *cl, json_t *req, json_t *rid);

/* A reply was stored: root is the root as the store returned it (with
 * its facts rt). Tells the room's members (thread_updated) and makes the
 * people the reply mentions by name follow the thread. */
void chat_thread_replied(struct room *r, const parley_message *reply, const parley_message *root,
                         const parley_thread_info *rt);

#endif
