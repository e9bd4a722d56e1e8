/* One store lookup per id, in order; the first problem ends the send. */
#include "chat/chat_attachments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "host/plugin_host.h"

#define ATTACH_ID_MAX 64

struct resolve {
	char author[ATTACH_ID_MAX];
	char room[ATTACH_ID_MAX];
	char *client_id;
	json_t *current; /* the attachment being checked */
	json_t *ids;     /* the ids, checked strings */
	json_t *out;     /* the attachments so far */
	size_t next;
	chat_attachments_done done;
	void *ud;
};

static void resolve_free(struct resolve *r)
{
	json_decref(r->ids);
	json_decref(r->out);
	json_decref(r->current);
	free(r->client_id);
	free(r);
}

static void finish(struct resolve *r, int rc, const char *why)
{
	char *json = rc == PARLEY_OK ? json_dumps(r->out, JSON_COMPACT) : NULL;
	if (rc == PARLEY_OK && !json) {
		rc = PARLEY_ENOMEM;
		why = "out of memory";
	}
	r->done(r->ud, rc, why, json);
	resolve_free(r);
}

static void lookup_next(struct resolve *r);

/* The current attachment passed: on to the next. */
static void accept(struct resolve *r)
{
	if (json_array_append_new(r->out, r->current) < 0) {
		r->current = NULL;
		finish(r, PARLEY_ENOMEM, "out of memory");
		return;
	}
	r->current = NULL;
	r->next++;
	lookup_next(r);
}

static const char *current_id(const struct resolve *r)
{
	return json_string_value(json_array_get(r->ids, r->next));
}

static void room_taken(void *ud, const parley_store_result *res)
{
	struct resolve *r = ud;
	char why[160];
	if (res->rc == PARLEY_ENOTFOUND) { /* attached meanwhile by another send */
		snprintf(why, sizeof why,
		         "attachments: upload %.64s is attached to a message already",
		         current_id(r));
		finish(r, PARLEY_ECONFLICT, why);
		return;
	}
	if (res->rc != PARLEY_OK) {
		finish(r, PARLEY_EUNAVAIL, "attachments: the store is not available");
		return;
	}
	accept(r);
}

/* The upload is on a message already: fine only if that message is this
 * very send (same author and client_id), resent after a reconnect. */
static void got_message(void *ud, const parley_store_result *res)
{
	struct resolve *r = ud;
	const parley_message *m =
	    res->rc == PARLEY_OK && res->n_messages ? &res->messages[0] : NULL;
	if (m && m->client_id && r->client_id && strcmp(m->client_id, r->client_id) == 0 &&
	    m->user_id && strcmp(m->user_id, r->author) == 0) {
		accept(r);
		return;
	}
	char why[160];
	snprintf(why, sizeof why, "attachments: upload %.64s is attached to a message already",
	         current_id(r));
	finish(r, PARLEY_ECONFLICT, why);
}

static void got_upload(void *ud, const parley_store_result *res)
{
	struct resolve *r = ud;
	const char *id = current_id(r);
	char why[160];
	void *self;
	const parley_store_vtable *st = plugins_uploads_store(&self);
	if (res->rc != PARLEY_OK && res->rc != PARLEY_ENOTFOUND) {
		finish(r, PARLEY_EUNAVAIL, "attachments: the store is not available");
		return;
	}
	const parley_upload *u = res->rc == PARLEY_OK && res->n_uploads ? &res->uploads[0] : NULL;
	/* Someone else's upload is "no such upload": ids are not disclosed. */
	if (!u || strcmp(u->user_id, r->author) != 0) {
		snprintf(why, sizeof why, "attachments: no upload %.64s of yours", id);
		finish(r, PARLEY_ENOTFOUND, why);
		return;
	}
	char url[128];
	snprintf(url, sizeof url, "/api/uploads/%s", u->id);
	r->current = json_pack("{s:s,s:s,s:s,s:I,s:s}", "id", u->id, "name", u->name, "type",
	                       u->type, "size", (json_int_t)u->size, "url", url);
	if (!r->current || !st) {
		finish(r, r->current ? PARLEY_EUNAVAIL : PARLEY_ENOMEM, "attachments: unavailable");
		return;
	}
	int rc;
	if (u->message_id) {
		rc = r->client_id && u->room_id
		         ? st->message_get(self, u->room_id, u->message_id, got_message, r)
		         : PARLEY_ECONFLICT;
	} else {
		rc = st->upload_attach(self, u->id, r->author, r->room, NULL, room_taken, r);
	}
	if (rc == PARLEY_PENDING)
		return;
	if (rc == PARLEY_ECONFLICT) {
		snprintf(why, sizeof why,
		         "attachments: upload %.64s is attached to a message already", id);
		finish(r, PARLEY_ECONFLICT, why);
		return;
	}
	finish(r, PARLEY_EUNAVAIL, "attachments: the store is not available");
}

static void lookup_next(struct resolve *r)
{
	if (r->next == json_array_size(r->ids)) {
		finish(r, PARLEY_OK, NULL);
		return;
	}
	void *self;
	const parley_store_vtable *st = plugins_uploads_store(&self);
	const char *id = json_string_value(json_array_get(r->ids, r->next));
	int rc = st ? st->upload_get(self, id, got_upload, r) : PARLEY_EUNAVAIL;
	if (rc == PARLEY_EINVAL) {
		char why[160];
		snprintf(why, sizeof why, "attachments: no upload %.64s of yours", id);
		finish(r, PARLEY_ENOTFOUND, why);
	} else if (rc != PARLEY_PENDING) {
		finish(r, PARLEY_EUNAVAIL, "attachments: the store is not available");
	}
}

void chat_attachments_resolve(const char *author_id, const char *room_id, const char *client_id,
                              const json_t *ids, chat_attachments_done done, void *ud)
{
	size_t n = json_array_size(ids);
	if (n > CHAT_ATTACHMENTS_MAX) {
		done(ud, PARLEY_EINVAL, "attachments: at most 10 files per message", NULL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_array_get(ids, i));
		if (!id || !*id || strlen(id) >= ATTACH_ID_MAX) {
			done(ud, PARLEY_EINVAL, "attachments: expected an array of upload ids",
			     NULL);
			return;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(id, json_string_value(json_array_get(ids, k))) == 0) {
				done(ud, PARLEY_EINVAL, "attachments: an upload is listed twice",
				     NULL);
				return;
			}
	}
	struct resolve *r = calloc(1, sizeof *r);
	if (!r || strlen(author_id) >= sizeof r->author || strlen(room_id) >= sizeof r->room ||
	    (client_id && !(r->client_id = strdup(client_id)))) {
		free(r);
		done(ud, PARLEY_ENOMEM, "out of memory", NULL);
		return;
	}
	snprintf(r->author, sizeof r->author, "%s", author_id);
	snprintf(r->room, sizeof r->room, "%s", room_id);
	r->ids = json_deep_copy(ids);
	r->out = json_array();
	r->done = done;
	r->ud = ud;
	if (!r->ids || !r->out) {
		resolve_free(r);
		done(ud, PARLEY_ENOMEM, "out of memory", NULL);
		return;
	}
	lookup_next(r);
}

static void attached(void *ud, const parley_store_result *res)
{
	char *id = ud;
	if (res->rc != PARLEY_OK)
		log_warn("upload_attach", NULL, "attaching %s failed: %s", id,
		         res->error ? res->error : "not attachable any more");
	free(id);
}

void chat_attachments_attach(const char *attachments_json, const char *user_id, const char *room_id,
                             const char *message_id)
{
	void *self;
	const parley_store_vtable *st = plugins_uploads_store(&self);
	json_t *list = attachments_json ? json_loads(attachments_json, 0, NULL) : NULL;
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a)
	{
		const char *aid = json_string_value(json_object_get(a, "id"));
		char *id = aid ? strdup(aid) : NULL;
		if (!st || !id ||
		    st->upload_attach(self, id, user_id, room_id, message_id, attached, id) !=
		        PARLEY_PENDING)
			free(id);
	}
	json_decref(list);
}
