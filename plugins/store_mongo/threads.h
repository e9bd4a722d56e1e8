/* Threads on MongoDB (issue 15): the store's thread members. A reply is a
 * message document with `thread` (its root's id) and `also_room`; the root
 * carries `replies` and `last_reply_ts`; follows are documents
 * {root, room, user, read_seq} in `thread_follows`. */
#ifndef STORE_MONGO_THREADS_H
#define STORE_MONGO_THREADS_H

#include <parley/plugin.h>

int mongo_thread_append(void *self, const parley_message *m, const char *thread_id, int also_room,
                        parley_store_done done, void *ud);
int mongo_thread_history(void *self, const char *room_id, const char *root_id, int64_t before,
                         int64_t after, int limit, parley_store_done done, void *ud);
int mongo_thread_follow(void *self, const char *room_id, const char *root_id, const char *user_id,
                        int on, parley_store_done done, void *ud);
int mongo_thread_read(void *self, const char *room_id, const char *root_id, const char *user_id,
                      int64_t seq, parley_store_done done, void *ud);
int mongo_threads_list(void *self, const char *user_id, const char *room_ids_json,
                       const char *after, int limit, parley_store_done done, void *ud);

#endif
