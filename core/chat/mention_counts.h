/* Unread mentions at start: each member's `mentions` (room objects in
 * `ready` and `rooms`) counted from the store's messages, so a restart or
 * a node started after the mention keeps the count. After the start the
 * count moves in memory (chat_count_mentions, read markers). */
#ifndef PARLEY_MENTION_COUNTS_H
#define PARLEY_MENTION_COUNTS_H

/* Loop thread, during the start-up load: after the memberships are in
 * memory and before the listeners open and the cluster bus starts. Sets
 * member->mentions from the store's mentions_unread, then next(). A store
 * without it, or a failed read (logged): the counts start at 0, as before,
 * and next() still runs. */
void chat_mentions_load(void (*next)(void));

#endif
