/* The rules for a post's thread and also_room arguments, one place for
 * every way in: the send frame, POST /api/rooms/{id}/messages and the Lua
 * API's parley.send / parley.reply. */
#ifndef PARLEY_THREAD_ARGS_H
#define PARLEY_THREAD_ARGS_H

/* NULL when thread (may be NULL: none) and also_room go together, else
 * the human message for the PARLEY_EINVAL error. */
const char *thread_args_error(const char *thread, int also_room);

#endif
