/* Profiles (see profiles.h). A read is user_get then kv_get; a write adds
 * the merged kv_set and, for display_name, user_update. Statuses past their
 * `expires` read as none. */
#include "chat/profiles.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <parley/plugin.h>

#include "base/loop.h"
#include "chat/chat_directory.h"
#include "chat/chat_internal.h"
#include "chat/cluster_bus.h"
#include "chat/protocol.h"
#include "host/plugin_host.h"
#include "net/ws.h"

#define ZONEINFO               "/usr/share/zoneinfo/"
#define PROFILE_AVATAR_URL_MAX 160

struct profile_op {
	char *user_id;
	json_t *patch;  /* set: what to merge; NULL for a read */
	json_t *stored; /* the kv object, merged */
	char *name, *display_name;
	profile_done done;
	void *ud;
};

static void op_free(struct profile_op *op)
{
	free(op->user_id);
	free(op->name);
	free(op->display_name);
	json_decref(op->patch);
	json_decref(op->stored);
	free(op);
}

static const parley_store_vtable *profile_store(void **self)
{
	const parley_store_vtable *st = plugins_store(self);
	if (!PARLEY_HAS(parley_store_vtable, st, kv_set) || !st->kv_get)
		return NULL;
	return st;
}

static int text_ok(json_t *v, size_t max, int empty_ok)
{
	if (!json_is_string(v))
		return 0;
	const char *s = json_string_value(v);
	size_t n = proto_utf8_len(s);
	if (n > max || (!empty_ok && n == 0))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0; /* one line, no control characters */
	return 1;
}

/* An IANA zone name this machine's tz database knows ("" clears it). */
static int tz_ok(const char *tz)
{
	if (!*tz)
		return 1;
	size_t n = strlen(tz);
	if (n > PROFILE_TZ_MAX || tz[0] == '/' || strstr(tz, ".."))
		return 0;
	for (const char *p = tz; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return 0;
	char path[sizeof ZONEINFO + PROFILE_TZ_MAX];
	snprintf(path, sizeof path, "%s%s", ZONEINFO, tz);
	struct stat sb;
	/* One stat of a local file: cheap enough for a rare profile change. */
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int profile_check(json_t *patch, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	if (!json_is_object(patch)) {
		snprintf(err, errlen, "profile: expected an object");
		return -1;
	}
	json_object_foreach(patch, k, v)
	{
		if (!strcmp(k, "display_name")) {
			if (!text_ok(v, PROFILE_NAME_MAX, 0)) {
				snprintf(err, errlen,
				         "display_name: 1 to %d characters on one line",
				         PROFILE_NAME_MAX);
				return -1;
			}
		} else if (!strcmp(k, "pronouns")) {
			if (!text_ok(v, PROFILE_PRONOUNS_MAX, 1)) {
				snprintf(err, errlen, "pronouns: at most %d characters on one line",
				         PROFILE_PRONOUNS_MAX);
				return -1;
			}
		} else if (!strcmp(k, "tz")) {
			if (!json_is_string(v) || !tz_ok(json_string_value(v))) {
				snprintf(err, errlen,
				         "tz: expected a time zone name such as Europe/Berlin");
				return -1;
			}
		} else if (!strcmp(k, "status")) {
			if (json_is_null(v))
				continue;
			json_t *text = json_object_get(v, "text"),
			       *exp = json_object_get(v, "expires");
			if (!json_is_object(v) || json_object_size(v) > 2 ||
			    (json_object_size(v) == 2 && !exp) ||
			    !text_ok(text, PROFILE_STATUS_TEXT_MAX, 1) ||
			    (exp && !json_is_null(exp) &&
			     (!json_is_integer(exp) || json_integer_value(exp) <= 0))) {
				snprintf(err, errlen,
				         "status: expected null or {text (at most %d characters), "
				         "expires "
				         "(ms since the epoch, or null)}",
				         PROFILE_STATUS_TEXT_MAX);
				return -1;
			}
		} else {
			snprintf(err, errlen, "profile.%.40s: unknown field", k);
			return -1;
		}
	}
	return 0;
}

/* The profile as clients see it. */
static json_t *profile_view(const struct profile_op *op)
{
	json_t *st = op->stored;
	json_t *status = json_object_get(st, "status");
	json_t *exp = json_object_get(status, "expires");
	if (json_is_object(status) &&
	    (!json_string_length(json_object_get(status, "text")) ||
	     (json_is_integer(exp) && json_integer_value(exp) <= loop_now_ms())))
		status = NULL; /* cleared or expired */
	const char *pronouns = json_string_value(json_object_get(st, "pronouns"));
	const char *tz = json_string_value(json_object_get(st, "tz"));
	json_int_t v = json_integer_value(json_object_get(st, "avatar_v"));
	char avatar[PROFILE_AVATAR_URL_MAX];
	snprintf(avatar, sizeof avatar, "/api/users/%s/avatar?v=%lld", op->user_id, (long long)v);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:O?, s:s?}", "id", op->user_id, "name",
	                 op->name, "display_name", op->display_name ? op->display_name : op->name,
	                 "pronouns", pronouns ? pronouns : "", "tz", tz ? tz : "", "status",
	                 json_is_object(status) ? status : NULL, "avatar", v > 0 ? avatar : NULL);
}

/* Everyone online who can see the person learns of the change: a
 * room-limited bot token only of people in its rooms (as its directory). */
void profiles_tell_local(const char *user_id, sbuf *frame)
{
	size_t pos = 0;
	user_rec *u;
	while ((u = users_next(&pos)))
		for (client *cl = u->clients; cl; cl = cl->user_next)
			if (!cl->scope || chat_directory_visible(cl->scope, u->id, user_id))
				ws_send_frame(cl->c, frame);
}

/* Every node's sessions: the others reload the account first (a new
 * display name), then tell theirs. */
static void tell_everyone(const char *user_id, json_t *profile)
{
	json_t *ev = json_pack("{s:s, s:O}", "type", "profile", "profile", profile);
	if (!ev)
		return;
	size_t len;
	char *s = proto_dump(ev, &len);
	json_decref(ev);
	if (!s)
		return;
	cluster_user_changed(user_id, s, len);
	sbuf *frame = ws_frame_text(s, len);
	free(s);
	if (!frame)
		return;
	profiles_tell_local(user_id, frame);
	sbuf_unref(frame);
}

static void finish(struct profile_op *op, int rc, const char *message)
{
	if (rc != PARLEY_OK) {
		op->done(op->ud, rc, message, NULL);
		op_free(op);
		return;
	}
	json_t *view = profile_view(op);
	if (!view) {
		op->done(op->ud, PARLEY_ENOMEM, NULL, NULL);
	} else {
		if (op->patch)
			tell_everyone(op->user_id, view);
		op->done(op->ud, PARLEY_OK, NULL, view);
	}
	json_decref(view);
	op_free(op);
}

static void name_updated(void *ud, const parley_store_result *res)
{
	struct profile_op *op = ud;
	if (res->rc != PARLEY_OK || !res->n_users) {
		finish(op, res->rc == PARLEY_OK ? PARLEY_ENOTFOUND : res->rc,
		       "cannot store the display name");
		return;
	}
	users_upsert(&res->users[0]); /* events name them by it from now on */
	finish(op, PARLEY_OK, NULL);
}

static void kv_stored(void *ud, const parley_store_result *res)
{
	struct profile_op *op = ud;
	if (res->rc != PARLEY_OK) {
		finish(op, res->rc, "cannot store the profile");
		return;
	}
	json_t *dn = json_object_get(op->patch, "display_name");
	if (!dn) {
		finish(op, PARLEY_OK, NULL);
		return;
	}
	free(op->display_name);
	op->display_name = strdup(json_string_value(dn));
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	parley_user u = {.id = op->user_id, .display_name = json_string_value(dn)};
	int rc =
	    st && op->display_name ? st->user_update(self, &u, 0, name_updated, op) : PARLEY_ENOMEM;
	if (rc < 0)
		finish(op, rc, "cannot store the display name");
}

static void kv_loaded(void *ud, const parley_store_result *res)
{
	struct profile_op *op = ud;
	if (res->rc != PARLEY_OK && res->rc != PARLEY_ENOTFOUND) {
		finish(op, res->rc, "cannot read the profile");
		return;
	}
	json_t *stored = res->rc == PARLEY_OK && res->text ? json_loads(res->text, 0, NULL) : NULL;
	op->stored = json_is_object(stored) ? stored : json_object();
	if (stored != op->stored)
		json_decref(stored);
	if (!op->stored) {
		finish(op, PARLEY_ENOMEM, NULL);
		return;
	}
	if (!op->patch) {
		finish(op, PARLEY_OK, NULL);
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach(op->patch, k, v)
	{
		if (strcmp(k, "display_name") != 0)
			json_object_set(op->stored, k, v);
	}
	char *text = json_dumps(op->stored, JSON_COMPACT | JSON_SORT_KEYS);
	void *self;
	const parley_store_vtable *st = profile_store(&self);
	int rc = text && st ? st->kv_set(self, PROFILES_KV_OWNER, op->user_id, text, kv_stored, op)
	                    : PARLEY_EUNAVAIL;
	free(text);
	if (rc < 0)
		finish(op, rc, "cannot store the profile");
}

static void user_loaded(void *ud, const parley_store_result *res)
{
	struct profile_op *op = ud;
	if (res->rc != PARLEY_OK || !res->n_users || res->users[0].disabled) {
		finish(op,
		       res->rc == PARLEY_OK || res->rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND
		                                                        : res->rc,
		       "no such user");
		return;
	}
	const parley_user *u = &res->users[0];
	op->name = strdup(u->name);
	op->display_name = u->display_name ? strdup(u->display_name) : NULL;
	void *self;
	const parley_store_vtable *st = profile_store(&self);
	int rc = !op->name ? PARLEY_ENOMEM
	         : st      ? st->kv_get(self, PROFILES_KV_OWNER, op->user_id, kv_loaded, op)
	                   : PARLEY_EUNAVAIL;
	if (rc < 0)
		finish(op, rc, "cannot read the profile");
}

static int start(const char *user_id, json_t *patch, profile_done done, void *ud)
{
	void *self;
	const parley_store_vtable *st = profile_store(&self);
	if (!st)
		return PARLEY_EUNAVAIL;
	struct profile_op *op = calloc(1, sizeof *op);
	if (!op || !(op->user_id = strdup(user_id))) {
		free(op);
		return PARLEY_ENOMEM;
	}
	op->patch = json_incref(patch);
	op->done = done;
	op->ud = ud;
	int rc = st->user_get(self, user_id, NULL, user_loaded, op);
	if (rc < 0) {
		op_free(op);
		return rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc;
	}
	return PARLEY_PENDING;
}

int profile_get(const char *user_id, profile_done done, void *ud)
{
	return start(user_id, NULL, done, ud);
}

int profile_avatar_set(const char *user_id, int64_t version, profile_done done, void *ud)
{
	json_t *patch = json_pack("{s:I}", "avatar_v", (json_int_t)version);
	if (!patch)
		return PARLEY_ENOMEM;
	int rc = start(user_id, patch, done, ud);
	json_decref(patch);
	return rc;
}

int profile_set(const char *user_id, json_t *patch, char *err, size_t errlen, profile_done done,
                void *ud)
{
	if (profile_check(patch, err, errlen) < 0)
		return PARLEY_EINVAL;
	return start(user_id, patch, done, ud);
}
