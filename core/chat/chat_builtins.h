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

enum builtin_kind {
	BUILTIN_KIND_NONE,    /* not a built-in */
	BUILTIN_KIND_MESSAGE, /* /me, /shrug: a message is stored */
	BUILTIN_KIND_REQUEST  /* the others: a request or a notice, nothing stored */
};
enum builtin_kind chat_builtin_kind(const char *text);

/* Runs text ("/word args") if it is a built-in, in room r for cl, typed
 * in thread (a root id, or NULL: its notice goes there). A request kind is
 * run through chat_builtin_send (once per client_id). */
enum builtin_result chat_builtin_run(client *cl, json_t *rid, room *r, const char *thread,
                                     const char *text, char **rewritten);
/* A request-kind built-in typed in a send whose client_id may be NULL:
 * run once per client_id (also when resent to another node), and
 * answered like a script command, {"type":"ack","command":true,…}, or
 * with its error (chat_builtin_send.c). Its text is req's "text". Typed in a thread (the send's
 * "thread"), the thread must be a root of r, as for a reply. */
void chat_builtin_send(client *cl, json_t *req, json_t *rid, room *r, const char *client_id);
/* 1 when name is a built-in command's. */
int chat_builtin_reserved(const char *name);
/* Appends {name, help, usage, builtin: true} for each to list. */
void chat_builtins_list(json_t *list);

#endif
