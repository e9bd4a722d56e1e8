/* User settings (see user_settings.h). */
#include "chat/user_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

#include "host/plugin_host.h"

static const struct {
	const char *key;
	json_type type; /* JSON_TRUE stands for a boolean */
	int default_bool;
} known[] = {
    {"email_digest", JSON_TRUE, 1},
};

struct settings_op {
	char *user_id;
	json_t *patch; /* set: what to merge */
	json_t *merged;
	user_settings_done done;
	void *ud;
};

static void op_free(struct settings_op *op)
{
	free(op->user_id);
	json_decref(op->patch);
	json_decref(op->merged);
	free(op);
}

static const parley_store_vtable *settings_store(void **self)
{
	const parley_store_vtable *st = plugins_store(self);
	if (!PARLEY_HAS(parley_store_vtable, st, settings_set) || !st->settings_get)
		return NULL;
	return st;
}

static json_t *defaults(void)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < sizeof known / sizeof known[0]; i++)
		json_object_set_new(o, known[i].key, json_boolean(known[i].default_bool));
	return o;
}

int user_settings_check(json_t *patch, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	if (!json_is_object(patch)) {
		snprintf(err, errlen, "settings: expected an object");
		return -1;
	}
	json_object_foreach(patch, k, v)
	{
		size_t i;
		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (!strcmp(known[i].key, k))
				break;
		if (i == sizeof known / sizeof known[0]) {
			snprintf(err, errlen, "settings.%.40s: unknown setting", k);
			return -1;
		}
		if (known[i].type == JSON_TRUE && !json_is_boolean(v)) {
			snprintf(err, errlen, "settings.%s: expected true or false", k);
			return -1;
		}
	}
	return 0;
}

/* The stored text over the defaults; unknown stored keys are dropped. */
static json_t *merge_stored(const char *text)
{
	json_t *out = defaults();
	json_t *stored = text ? json_loads(text, 0, NULL) : NULL;
	char err[128];
	if (out && json_is_object(stored) && user_settings_check(stored, err, sizeof err) == 0)
		json_object_update(out, stored);
	json_decref(stored);
	return out;
}

static void stored(void *ud, const parley_store_result *res)
{
	struct settings_op *op = ud;
	if (res->rc != PARLEY_OK)
		op->done(op->ud, res->rc, "cannot store the settings", NULL);
	else
		op->done(op->ud, PARLEY_OK, NULL, op->merged);
	op_free(op);
}

static void loaded(void *ud, const parley_store_result *res)
{
	struct settings_op *op = ud;
	void *self;
	const parley_store_vtable *st;
	if (res->rc != PARLEY_OK) {
		op->done(op->ud, res->rc, "cannot read the settings", NULL);
		op_free(op);
		return;
	}
	op->merged = merge_stored(res->text);
	if (!op->merged) {
		op->done(op->ud, PARLEY_ENOMEM, NULL, NULL);
		op_free(op);
		return;
	}
	if (!op->patch) {
		op->done(op->ud, PARLEY_OK, NULL, op->merged);
		op_free(op);
		return;
	}
	json_object_update(op->merged, op->patch);
	char *text = json_dumps(op->merged, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = text && (st = settings_store(&self))
	             ? st->settings_set(self, op->user_id, text, stored, op)
	             : PARLEY_EUNAVAIL;
	free(text);
	if (rc < 0) {
		op->done(op->ud, rc, "cannot store the settings", NULL);
		op_free(op);
	}
}

static int start(const char *user_id, json_t *patch, user_settings_done done, void *ud)
{
	void *self;
	const parley_store_vtable *st = settings_store(&self);
	if (!st)
		return PARLEY_EUNAVAIL;
	struct settings_op *op = calloc(1, sizeof *op);
	if (!op || !(op->user_id = strdup(user_id))) {
		free(op);
		return PARLEY_ENOMEM;
	}
	op->patch = json_incref(patch);
	op->done = done;
	op->ud = ud;
	int rc = st->settings_get(self, user_id, loaded, op);
	if (rc < 0) {
		op_free(op);
		return rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc;
	}
	return PARLEY_PENDING;
}

int user_settings_get(const char *user_id, user_settings_done done, void *ud)
{
	return start(user_id, NULL, done, ud);
}

int user_settings_set(const char *user_id, json_t *patch, char *err, size_t errlen,
                      user_settings_done done, void *ud)
{
	if (user_settings_check(patch, err, errlen) < 0)
		return PARLEY_EINVAL;
	return start(user_id, patch, done, ud);
}
