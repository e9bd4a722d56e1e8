/* The JSON side of PROTOCOL.md: decoding a client frame (limits, type,
 * rid), typed field access whose errors name the field, and the builders
 * for the objects the server sends (user, room, message, error). */
#ifndef PARLEY_PROTOCOL_H
#define PARLEY_PROTOCOL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "chat/room.h"
#include "chat/users.h"

#define PROTO_MAX_RID       64  /* chars of a string rid / digits of an int rid */
#define PROTO_MAX_DEPTH     16  /* JSON nesting of a client frame */
#define PROTO_MAX_CLIENT_ID 128 /* bytes */
#define PROTO_MAX_ID        64  /* bytes of a room/message/user id argument */
#define PROTO_ERR_LEN       160

/* A decoded client frame. */
struct proto_frame {
	json_t *root; /* owned */
	const char *type;
	json_t *rid; /* borrowed from root, or NULL */
};

/* Parses one text frame. 0 ok; -1 with err set (bad_request) — in that
 * case frame->rid may still be set when the frame was valid JSON with a
 * good rid, so the error can echo it. frame->root must be released with
 * proto_frame_free either way. */
int proto_decode(const char *data, size_t len, struct proto_frame *frame, char *err, size_t errlen);
void proto_frame_free(struct proto_frame *frame);

/* Typed fields: 1 present (out set), 0 absent (allowed when !required),
 * -1 wrong/missing with err = "field: expected a string" etc. */
int proto_get_str(json_t *obj, const char *key, int required, size_t max_len, const char **out,
                  char *err, size_t errlen);
int proto_get_int(json_t *obj, const char *key, int required, int64_t *out, char *err,
                  size_t errlen);
int proto_get_bool(json_t *obj, const char *key, int required, int *out, char *err, size_t errlen);

/* Unicode code points in valid UTF-8 (jansson already validated it). */
size_t proto_utf8_len(const char *s);

/* {"type":"error","rid":…,"code":…,"message":…}; rid may be NULL. */
json_t *proto_error(json_t *rid, const char *code, const char *message);
/* {"id","name"} */
json_t *proto_user(const user_rec *u);
/* A room object from the viewer's side (role, read_seq, unread, mentions
 * when the viewer is a member; a DM is named after the other person). */
json_t *proto_room(const room *r, const user_rec *viewer);
/* A message object (without "type"). with_client_id: the author's copy. */
json_t *proto_message(const parley_message *m, int with_client_id);
/* "@name" mentions of known users in text: a JSON array of ids (possibly
 * empty); NULL on ENOMEM. */
json_t *proto_mentions(const char *text);
/* Serialises compactly; malloc'ed. */
char *proto_dump(const json_t *j, size_t *len);

/* rc -> protocol error code / HTTP status. */
const char *proto_error_code(int rc);
int proto_error_status(int rc);
/* How long a client should wait before retrying after rc (0: no advice).
 * A store that cannot write (PARLEY_ESTORAGE: a full disk, a read-only
 * file) usually needs an operator: retrying sooner than this only adds
 * load. */
#define PROTO_STORE_RETRY_MS 5000
int64_t proto_error_retry_ms(int rc);

#endif
