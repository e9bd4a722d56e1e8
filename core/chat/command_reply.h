/* A built-in command typed in a `send` (/topic, /invite, /leave, /notify,
 * /mute, /help) runs the request it stands for, whose handler answers
 * `ok` or an error. The send itself must be answered like a script
 * command: {"type":"ack","rid","client_id","command":true,"ts"}. The
 * request runs with a stand-in rid made here; chat_reply_ok and
 * chat_reply_error turn a stand-in back into the send's answer. */
#ifndef PARLEY_CHAT_COMMAND_REPLY_H
#define PARLEY_CHAT_COMMAND_REPLY_H

#include <jansson.h>

struct client;
struct command_reply;

/* At most this many built-ins of one session wait for their answer. */
#define COMMAND_REPLY_MAX 32

/* A new stand-in for the send's rid (may be NULL) and client_id (may be
 * NULL), listed on cl until answered; NULL when cl has COMMAND_REPLY_MAX
 * waiting or memory ran out. The caller owns one reference. */
json_t *command_reply_begin(struct client *cl, json_t *rid, const char *client_id);
/* When rid is one of cl's stand-ins: 1, with *ack the command ack it
 * stands for (NULL if memory ran out), and the stand-in is forgotten. 0
 * for an ordinary rid. */
int command_reply_ack(struct client *cl, json_t *rid, json_t **ack);
/* When rid is one of cl's stand-ins: the send's own rid (a new reference,
 * or NULL when the send had none) in *send_rid, the stand-in forgotten,
 * 1 returned. 0 for an ordinary rid. */
int command_reply_failed(struct client *cl, json_t *rid, json_t **send_rid);
/* Forgets every stand-in of a closed session. */
void command_reply_free_all(struct client *cl);

#endif
