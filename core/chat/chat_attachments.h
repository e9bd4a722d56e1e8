/* The attachments of a send: each id must name an upload of the author not
 * attached yet; the message carries {id,name,type,size,url} of each, and
 * once the message is stored its uploads are attached to it, which makes
 * them readable by the room's members. */
#ifndef PARLEY_CHAT_ATTACHMENTS_H
#define PARLEY_CHAT_ATTACHMENTS_H

#include <jansson.h>

/* Files one message may carry. */
#define CHAT_ATTACHMENTS_MAX 10

/* Checks each id (the author's, not attached to another message) and
 * gives it the room before the message is stored, so the room's members
 * can read it as soon as they see the message. An upload attached to a
 * message of the same author with the same client_id is this send
 * resent, and passes. done(ud, PARLEY_OK, NULL, json) with the
 * attachments JSON text (malloc'ed, the callee's), or an error rc and a
 * message for the author. */
typedef void (*chat_attachments_done)(void *ud, int rc, const char *why, char *json);
void chat_attachments_resolve(const char *author_id, const char *room_id, const char *client_id,
                              const json_t *ids, chat_attachments_done done, void *ud);

/* Attaches the uploads listed in attachments_json (as built above) to the
 * stored message; failures are logged. */
void chat_attachments_attach(const char *attachments_json, const char *user_id, const char *room_id,
                             const char *message_id);

#endif
