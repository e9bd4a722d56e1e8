#include "chat/thread_args.h"

#include <string.h>

#include "chat/protocol.h"

const char *thread_args_error(const char *thread, int also_room)
{
	if (thread && strlen(thread) > PROTO_MAX_ID)
		return "thread: too long";
	/* Shown in the room too only makes sense for a reply in a thread. */
	if (also_room && !thread)
		return "also_room: only with thread";
	return NULL;
}
