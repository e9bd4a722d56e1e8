/* Decoding and building PROTOCOL.md frames with jansson. jansson checks
 * UTF-8 and reports positions; the limits here (frame size is the
 * WebSocket layer's) bound nesting and the size of rids and ids, so a
 * hostile frame costs one error frame. */
#include "chat/protocol.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/json_depth.h"
#include "chat/chat_dm.h"
#include "chat/chat_notify.h"
#include "chat/chat_pins.h"
#include "chat/chat_room_admin.h"
#include "chat/mention_all.h"

static int rid_ok(const json_t *rid)
{
	if (json_is_string(rid))
		return json_string_length(rid) <= PROTO_MAX_RID;
	if (json_is_integer(rid))
		return 1; /* an int64 has at most 20 chars */
	return 0;
}

int proto_decode(const char *data, size_t len, struct proto_frame *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	json_error_t jerr;
	f->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!f->root) {
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
		         jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(f->root)) {
		snprintf(err, errlen, "a frame must be a JSON object");
		return -1;
	}
	json_t *rid = json_object_get(f->root, "rid");
	if (rid) {
		if (!rid_ok(rid)) {
			snprintf(err, errlen,
			         "rid: expected a string or integer of at most %d chars",
			         PROTO_MAX_RID);
			return -1;
		}
		f->rid = rid;
	}
	if (!json_depth_ok(f->root, PROTO_MAX_DEPTH)) {
		snprintf(err, errlen, "frame nested deeper than %d levels", PROTO_MAX_DEPTH);
		return -1;
	}
	json_t *type = json_object_get(f->root, "type");
	if (!type) {
		snprintf(err, errlen, "type: missing");
		return -1;
	}
	if (!json_is_string(type)) {
		snprintf(err, errlen, "type: expected a string");
		return -1;
	}
	f->type = json_string_value(type);
	return 0;
}

void proto_frame_free(struct proto_frame *f)
{
	json_decref(f->root);
	f->root = NULL;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

int proto_get_str(json_t *obj, const char *key, int required, size_t max_len, const char **out,
                  char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing", key);
		return -1;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: expected a string, got %s", key, json_kind(v));
		return -1;
	}
	if (max_len && json_string_length(v) > max_len) {
		snprintf(err, errlen, "%s: longer than %zu bytes", key, max_len);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "%s: contains a NUL character", key);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

int proto_get_int(json_t *obj, const char *key, int required, int64_t *out, char *err,
                  size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing", key);
		return -1;
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "%s: expected an integer, got %s", key, json_kind(v));
		return -1;
	}
	*out = (int64_t)json_integer_value(v);
	return 1;
}

int proto_get_bool(json_t *obj, const char *key, int required, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing", key);
		return -1;
	}
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "%s: expected a boolean, got %s", key, json_kind(v));
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

size_t proto_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

json_t *proto_error(json_t *rid, const char *code, const char *message)
{
	json_t *e = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message",
	                      message ? message : code);
	if (e && rid)
		json_object_set(e, "rid", rid);
	return e;
}

json_t *proto_user(const user_rec *u)
{
	return json_pack("{s:s, s:s}", "id", u->id, "name", u->name);
}

json_t *proto_room(const room *r, const user_rec *viewer)
{
	const char *name = r->name;
	json_t *peer = NULL;
	if (strcmp(r->kind, "dm") == 0 && viewer) {
		user_rec *p = room_dm_peer(r, viewer);
		name = p->name;
		peer = proto_user(p);
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "id", r->id, "name", name, "kind",
	                      r->kind, "topic", r->topic ? r->topic : "", "last_seq",
	                      (json_int_t)r->last_seq, "members", (json_int_t)r->n_members);
	if (!o) {
		json_decref(peer);
		return NULL;
	}
	if (peer)
		json_object_set_new(o, "user", peer);
	json_t *people = viewer ? chat_dm_users(r, viewer) : NULL;
	if (people && json_array_size(people) > 1) {
		/* A group DM is titled by its other people's names. */
		char title[512] = "";
		size_t i, len = 0;
		json_t *v;
		json_array_foreach(people, i, v) if (len < sizeof title) len +=
		    (size_t)snprintf(title + len, sizeof title - len, "%s%s", i ? ", " : "",
		                     json_string_value(json_object_get(v, "name")));
		json_object_set_new(o, "name", json_string(title));
	}
	if (people)
		json_object_set_new(o, "users", people);
	json_object_set_new(o, "pins", chat_pins_json(r));
	if (strcmp(r->kind, "dm") != 0)
		chat_room_settings_json(r, o);
	member *m = viewer ? room_member(r, viewer->id) : NULL;
	if (m) {
		int64_t unread = r->last_seq - m->read_seq;
		json_object_set_new(o, "read_seq", json_integer(m->read_seq));
		json_object_set_new(o, "unread", json_integer(unread > 0 ? unread : 0));
		json_object_set_new(o, "mentions", json_integer(m->mentions));
		json_object_set_new(o, "role", json_string(room_role_name(m->role)));
		json_object_set_new(o, "notify", json_string(chat_notify_level(r->id, viewer->id)));
	}
	return o;
}

static json_t *parse_opaque(const char *text)
{
	if (!text || !*text)
		return NULL;
	return json_loads(text, 0, NULL);
}

json_t *proto_message(const parley_message *m, int with_client_id)
{
	user_rec *u = users_by_id(m->user_id);
	json_t *user = u ? proto_user(u) : json_pack("{s:s, s:s}", "id", m->user_id, "name", "");
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:o}", "room", m->room_id, "id", m->id, "seq",
	                      (json_int_t)m->seq, "ts", (json_int_t)m->ts, "user", user);
	if (!o)
		return NULL;
	if (m->deleted) {
		json_object_set_new(o, "deleted", json_true());
		return o;
	}
	json_object_set_new(o, "text", json_string(m->text ? m->text : ""));
	if (m->reply_to)
		json_object_set_new(o, "reply_to", json_string(m->reply_to));
	const char *all = mention_all_kind(m->text);
	if (all)
		json_object_set_new(o, "mention_all", json_string(all));
	json_t *mentions = parse_opaque(m->mentions_json);
	if (mentions && json_array_size(mentions))
		json_object_set_new(o, "mentions", mentions);
	else
		json_decref(mentions);
	json_t *att = parse_opaque(m->attachments_json);
	if (att && json_array_size(att))
		json_object_set_new(o, "attachments", att);
	else
		json_decref(att);
	json_t *reactions = parse_opaque(m->reactions_json);
	if (reactions && json_object_size(reactions))
		json_object_set_new(o, "reactions", reactions);
	else
		json_decref(reactions);
	if (m->edited_ts)
		json_object_set_new(o, "edited_ts", json_integer(m->edited_ts));
	if (with_client_id && m->client_id)
		json_object_set_new(o, "client_id", json_string(m->client_id));
	return o;
}

static int name_char(unsigned char ch)
{
	return isalnum(ch) || ch == '_' || ch == '-' || ch == '.';
}

json_t *proto_mentions(const char *text)
{
	json_t *ids = json_array();
	if (!ids)
		return NULL;
	uint64_t mark = users_new_mark();
	for (const char *p = text; (p = strchr(p, '@')); p++) {
		if (p > text && name_char((unsigned char)p[-1]))
			continue; /* an e-mail address, not a mention */
		const char *s = p + 1;
		size_t n = 0;
		while (name_char((unsigned char)s[n]) && n < 64)
			n++;
		while (n && s[n - 1] == '.')
			n--; /* "@bob." ends a sentence */
		if (!n)
			continue;
		char name[65];
		memcpy(name, s, n);
		name[n] = 0;
		user_rec *u = users_by_name(name);
		if (u && u->mark != mark) {
			u->mark = mark;
			json_array_append_new(ids, json_string(u->id));
		}
	}
	return ids;
}

char *proto_dump(const json_t *j, size_t *len)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s && len)
		*len = strlen(s);
	return s;
}

const char *proto_error_code(int rc)
{
	switch (rc) {
	case PARLEY_EINVAL:
		return "bad_request";
	case PARLEY_ENOTFOUND:
		return "not_found";
	case PARLEY_ECONFLICT:
		return "conflict";
	case PARLEY_EUNAVAIL:
	case PARLEY_ESTORAGE:
		return "unavailable";
	case PARLEY_EFORBIDDEN:
	case PARLEY_DENY:
		return "forbidden";
	case PARLEY_ETOOLARGE:
		return "too_large";
	case PARLEY_ERATELIMIT:
		return "rate_limited";
	case PARLEY_EUNAUTHORIZED:
		return "unauthorized";
	default:
		return "internal";
	}
}

int64_t proto_error_retry_ms(int rc)
{
	return rc == PARLEY_ESTORAGE ? PROTO_STORE_RETRY_MS : 0;
}

int proto_error_status(int rc)
{
	switch (rc) {
	case PARLEY_EINVAL:
		return 400;
	case PARLEY_ENOTFOUND:
		return 404;
	case PARLEY_ECONFLICT:
		return 409;
	case PARLEY_EUNAVAIL:
	case PARLEY_ESTORAGE:
		return 503;
	case PARLEY_EFORBIDDEN:
	case PARLEY_DENY:
		return 403;
	case PARLEY_ETOOLARGE:
		return 413;
	case PARLEY_ERATELIMIT:
		return 429;
	case PARLEY_EUNAUTHORIZED:
		return 401;
	default:
		return 500;
	}
}
