/* Record kinds whose records live inside other documents (records.h):
 * "edits" (a message's earlier versions, its "edits" array), "pins" (a
 * pinned message's pin_ts and pin_user) and "room_settings" (a room's
 * "settings" text), in store_sqlite's columns: edits {id, message, text,
 * mentions_json, ts}, pins {message, room, user, ts}, room_settings
 * {room, json}. */
#ifndef STORE_MONGO_RECORDS_NESTED_H
#define STORE_MONGO_RECORDS_NESTED_H

#include <stdint.h>

#include <jansson.h>

#include "mdb.h"

/* 1 when kind is one of these. */
int records_nested_kind(const char *kind);
/* One page after the cursor (the number n of the message or room), as
 * records_page. An edits page ends at a message's end, so it may hold up
 * to one message's versions more than limit. */
int records_nested_page(struct dbconn *c, struct op *op, const char *kind, int64_t after, int limit,
                        json_t *out, int64_t *next, int *more);
/* Writes one record into its document: ENOTFOUND without the message or
 * room; a version already there (the same id, or without ids the same ts
 * and text) is not added twice. *max_id: raised to an edit's id (the
 * "edit" counter then moves past it). */
int records_nested_write(struct dbconn *c, struct op *op, const char *kind, json_t *rec,
                         int64_t *max_id);

#endif
