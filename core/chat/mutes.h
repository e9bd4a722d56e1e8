/* Mutes: a user who may not post in a room until a time (set by moderation
 * scripts through parley.mute). In memory only: a mute is a short cooling
 * off, and a restart lifting it early is acceptable. Loop thread only. */
#ifndef PARLEY_MUTES_H
#define PARLEY_MUTES_H

#include <stddef.h>
#include <stdint.h>

/* Mutes user_id in room_id until until_ms (0 or a past time: lifts it).
 * 0, or -1 without memory. */
int mutes_set(const char *user_id, const char *room_id, int64_t until_ms);
/* The end of a mute in force at now_ms, or 0. */
int64_t mutes_until(const char *user_id, const char *room_id, int64_t now_ms);
/* The message a muted sender gets: "you are muted in this room until …". */
void mutes_describe(int64_t until_ms, char *out, size_t len);
/* The clock mutes are judged by (test-script's fake clock); NULL: real. */
void mutes_set_clock(int64_t (*now_ms)(void));
int64_t mutes_now_ms(void);
void mutes_fini(void);

#endif
