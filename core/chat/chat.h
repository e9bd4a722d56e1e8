/* The chat protocol of PROTOCOL.md over WebSocket sessions, and the same
 * operations for the HTTP API: authentication, rooms, membership, messages
 * (before_message hooks -> store -> ack -> one shared frame to every online
 * member -> message hooks), history, typing, presence, read markers. */
#ifndef PARLEY_CHAT_H
#define PARLEY_CHAT_H

#include <jansson.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "net/ws.h"

/* Starts the chat layer after plugins are initialised: loads rooms and
 * memberships from the store, creates `general` on the first start.
 * done(ok) runs when loaded. Returns 0 or -1. */
int chat_start(void (*done)(int ok));
/* After done(0): drops what the failed attempt loaded and loads again,
 * with the same done. Returns 0 or -1 (done will not run). */
int chat_start_again(void);
/* Why the last attempt failed (for /readyz and the log). */
const char *chat_start_error(void);
/* Tells every client the server is going away (close 1001). */
void chat_shutdown(void);
void chat_fini(void);

/* The WebSocket application (ws_set_app). */
extern const struct ws_app chat_ws_app;

/* Result of an operation done on behalf of the HTTP API: rc is PARLEY_OK or
 * an error with code/message for the client; reply is the JSON body on
 * success (borrowed for the call), and on PARLEY_ERATELIMIT an object with
 * retry_after_ms (else NULL on errors). */
typedef void (*chat_http_done)(void *ud, int rc, const char *message, json_t *reply);

/* POST /api/rooms/{id}/messages: as `user` (already authenticated). reply:
 * the ack object. thread (may be NULL): a reply in that root's thread,
 * also_room: shown in the room's timeline too (only with thread). Unlike
 * the store's calls, done is ALWAYS called exactly once, errors included;
 * the return value only tells the caller early. */
int chat_http_post(const parley_user *user, const char *room_id, const char *text,
                   const char *client_id, const char *thread, int also_room, chat_http_done done,
                   void *ud);
/* GET /api/rooms/{id}/messages: reply {"room","messages","more"}. after < 0 and
 * before <= 0: the newest. */
int chat_http_history(const parley_user *user, const char *room_id, int64_t before, int64_t after,
                      int limit, chat_http_done done, void *ud);
/* A user was disabled or revoked: close their sessions (4401). */
void chat_user_revoked(const char *user_id);
/* The registered slash commands: [{name, help}] (new reference). */
json_t *chat_commands_list(void);
/* Closes the user's connections that authenticated with another credential
 * than keep_token (NULL: all of them), without disabling the account: a
 * password change or reset. */
void chat_user_sessions_revoked(const char *user_id, const char *keep_token);
/* Ended sessions (logout, token revocation): closes at once, with 4401
 * "session ended", the connections of user_id (NULL: anyone's) that
 * authenticated with the credential whose token_hash_hex is token_hash
 * (NULL: every credential of user_id). */
void chat_sessions_end(const char *user_id, const char *token_hash);
/* A user was created (by register or the CLI): cache it, join `general`. */
void chat_user_created(const parley_user *user);

/* Told of every message stored and fanned out (after the message hooks),
 * for link previews: want_previews is 0 when the send said
 * "previews": false. One observer; NULL: none. */
typedef void chat_message_observer(const parley_message *m, int want_previews);
void chat_set_message_observer(chat_message_observer *fn);
/* Sends ev (taken) to the online members of room_id: 0, or -1 when there
 * is no such room. */
int chat_room_event(const char *room_id, json_t *ev);

/* Error code string for an rc ("bad_request", …) and the HTTP status. */
const char *chat_error_code(int rc);
int chat_error_status(int rc);
/* The retry advice for rc in milliseconds (0: none); see protocol.h. */
int64_t chat_error_retry_ms(int rc);

#endif
