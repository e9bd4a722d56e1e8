/* Mutes: a user who may not post in a room until a time (set by moderation
 * scripts through parley.mute). In memory: a mute is a short cooling off,
 * and a restart lifting it early is acceptable. With several nodes each
 * change travels on the bus with the time it was made (the newer one
 * wins), and every node says its live mutes again when it hears a new
 * node (cluster_mutes.c). Loop thread only. */
#ifndef PARLEY_MUTES_H
#define PARLEY_MUTES_H

#include <stddef.h>
#include <stdint.h>

/* Mutes user_id in room_id until until_ms (0 or a past time: lifts it).
 * 0, or -1 without memory. */
int mutes_set(const char *user_id, const char *room_id, int64_t until_ms);
/* The same as decided at set_ms (another node's change): applied only
 * when newer than what is known. 1 applied, 0 older, -1 without memory.
 * A lift is remembered (as long as the mute it lifted would have run), so
 * a node that missed it cannot bring the mute back. */
int mutes_apply(const char *user_id, const char *room_id, int64_t until_ms, int64_t set_ms);
/* The end of a mute in force at now_ms, or 0. */
int64_t mutes_until(const char *user_id, const char *room_id, int64_t now_ms);
/* Calls fn for every mute and lift still remembered. */
void mutes_each(void (*fn)(const char *user_id, const char *room_id, int64_t until_ms,
                           int64_t set_ms));
/* The message a muted sender gets: "you are muted in this room until …". */
void mutes_describe(int64_t until_ms, char *out, size_t len);
/* The clock mutes are judged by (test-script's fake clock); NULL: real. */
void mutes_set_clock(int64_t (*now_ms)(void));
int64_t mutes_now_ms(void);
void mutes_fini(void);

#endif
