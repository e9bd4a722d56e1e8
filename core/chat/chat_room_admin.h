/* Rooms an owner can run (issue 18): `room_settings` (name, archived,
 * may_post / may_invite / may_pin, retention) → `room` and a
 * `room_updated` event; `delete_room` (admins) → `room_deleted`;
 * `member_role` → `member_updated`. Every change is audited. The settings
 * live in the store (room_settings_set), are loaded at start and kept on
 * the room (room.h); the send, invite and pin paths ask here. */
#ifndef PARLEY_CHAT_ROOM_ADMIN_H
#define PARLEY_CHAT_ROOM_ADMIN_H

#include <jansson.h>
#include <stddef.h>

#include "chat/room.h"
#include "chat/users.h"

struct client;

void chat_req_room_settings(struct client *cl, json_t *req, json_t *rid);
void chat_req_delete_room(struct client *cl, json_t *req, json_t *rid);
void chat_req_member_role(struct client *cl, json_t *req, json_t *rid);

/* Loads every room's settings from the store, then next(); fail(0) when
 * the store fails. A store without room_settings_list: the defaults. */
void chat_room_settings_load(void (*next)(void), void (*fail)(int ok));

/* The settings as they appear in a room object: archived, may_post,
 * may_invite, may_pin (added to o). */
void chat_room_settings_json(const room *r, json_t *o);
/* Applies settings as chat_room_settings_json wrote them (a room_updated
 * event from another node). */
void chat_room_settings_apply(room *r, json_t *settings);
/* r was deleted: every member's sessions forget it, then it is dropped
 * from this node's caches (r is freed). */
void chat_room_drop_local(room *r);

/* PARLEY_OK when u may write in r (post, edit, react, pin), else
 * EFORBIDDEN with why: an archived room is read-only, and may_post keeps
 * posting to moderators when set so. posting: a new message (may_post
 * applies), otherwise a change to an existing one. */
int chat_room_may_write(const room *r, const user_rec *u, int posting, const char **why);
/* 1 when member m (NULL: not one) of r may invite, by may_invite. */
int chat_room_may_invite(const room *r, const member *m);
/* 1 when member m of r may pin, by may_pin (a DM: anyone in it). */
int chat_room_may_pin(const room *r, const member *m);

/* One audit entry for a change made through the chat protocol: actor,
 * action ("room.settings"), target (a room id), detail (stolen; may be
 * NULL), peer (the client's address; may be NULL). Also logged. */
void chat_audit(const user_rec *actor, const char *action, const char *target, json_t *detail,
                const char *peer);

#endif
