/* Built-in slash commands (issue 18): /help, /me, /shrug, /topic,
 * /invite @name, /leave, /notify ROOM all|mentions|none, /mute ROOM. They
 * run for a person's own session (chat_req_send); their names are
 * reserved, so no plugin or script may register one. */
#ifndef PARLEY_CHAT_BUILTINS_H
#define PARLEY_CHAT_BUILTINS_H

#include <jansson.h>

#include "chat/chat_internal.h"

enum builtin_result {
	BUILTIN_NONE, /* not a built-in */
	BUILTIN_DONE, /* ran; the session has its reply */
	BUILTIN_POST  /* post *rewritten (malloc'ed) as the message instead */
};

/* Runs text ("/word args") if it is a built-in, in room r for cl. */
enum builtin_result chat_builtin_run(client *cl, json_t *rid, room *r, const char *text,
                                     char **rewritten);
/* 1 when name is a built-in command's. */
int chat_builtin_reserved(const char *name);
/* Appends {name, help, usage, builtin: true} for each to list. */
void chat_builtins_list(json_t *list);

#endif
