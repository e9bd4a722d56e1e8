/* One retention pass: rooms one after another, batches one after another
 * (see prune_run.h). The pass is a small state machine driven by store
 * callbacks: list rooms -> per room: its own retention -> prune batches ->
 * next room; upload removals run beside it and the pass ends when the
 * last room is done and no removal is in flight. */
#include "host/prune_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

#include "base/log.h"
#include "host/plugin_host.h"

struct room_ref {
	char *id, *name;
};

static struct {
	int active;
	struct prune_opts o;
	char *only; /* copy of o.room */
	struct room_ref *rooms;
	size_t n_rooms, next;
	struct room_ref *cur;
	int64_t cur_count; /* messages pruned in the current room */
	int rooms_done;    /* no more store calls to make */
	int cancelled;     /* prune_run_cancel: start no more batches */
	int removing;      /* upload removals in flight */
	int rc;
	char error[200];
	struct prune_totals t;
} pr;

static void next_room(void);

static void finish_if_done(void)
{
	if (!pr.active || !pr.rooms_done || pr.removing)
		return;
	pr.active = 0;
	struct prune_totals t = pr.t;
	int rc = pr.rc;
	char error[sizeof pr.error];
	memcpy(error, pr.error, sizeof error);
	for (size_t i = 0; i < pr.n_rooms; i++) {
		free(pr.rooms[i].id);
		free(pr.rooms[i].name);
	}
	free(pr.rooms);
	free(pr.only);
	pr.rooms = NULL;
	pr.only = NULL;
	pr.n_rooms = pr.next = 0;
	pr.cur = NULL;
	if (pr.o.on_done)
		pr.o.on_done(pr.o.ud, rc, error[0] ? error : NULL, &t);
}

static void fail(int rc, const char *what, const char *error)
{
	if (pr.rc == PARLEY_OK) {
		pr.rc = rc;
		snprintf(pr.error, sizeof pr.error, "%s: %s", what, error ? error : "failed");
	}
	pr.rooms_done = 1;
	finish_if_done();
}

/* ---------------------------------------------------------------- */
/* Upload objects: provider remove, then the record                   */
/* ---------------------------------------------------------------- */

struct removal {
	char *id, *key;
};

static void removal_free(struct removal *r)
{
	free(r->id);
	free(r->key);
	free(r);
	pr.removing--;
	finish_if_done();
}

static void record_deleted(void *ud, const parley_store_result *res)
{
	struct removal *r = ud;
	if (res->rc == PARLEY_OK || res->rc == PARLEY_ENOTFOUND) {
		pr.t.uploads++;
	} else {
		pr.t.failed++;
		log_warn("retention", NULL, "upload record %s kept: %s", r->id,
		         res->error ? res->error : "store error");
	}
	removal_free(r);
}

/* The object went (or was gone): the record follows. A failed removal
 * keeps the record, detached: the uploads cleanup job retries it. */
static void object_removed(void *ud, int rc, const char *error)
{
	struct removal *r = ud;
	void *self;
	const parley_store_vtable *st = plugins_uploads_store(&self);
	if (rc < 0 && rc != PARLEY_ENOTFOUND) {
		pr.t.failed++;
		log_warn("retention", NULL, "upload %s kept for the cleanup job: %s", r->key,
		         error ? error : "remove failed");
	} else if (st && st->upload_delete(self, r->id, record_deleted, r) == PARLEY_PENDING) {
		return;
	}
	removal_free(r);
}

static void remove_uploads(const parley_upload *ups, size_t n)
{
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	for (size_t i = 0; i < n; i++) {
		struct removal *r = calloc(1, sizeof *r);
		if (!r || !(r->id = strdup(ups[i].id)) || !(r->key = strdup(ups[i].key))) {
			if (r)
				free(r->id);
			free(r);
			pr.t.failed++;
			continue;
		}
		pr.removing++;
		if (!vt) {
			/* No provider here (a store-only setup): the record alone. */
			object_removed(r, PARLEY_ENOTFOUND, NULL);
		} else if (vt->remove(self, r->key, object_removed, r) != PARLEY_PENDING) {
			object_removed(r, PARLEY_EUNAVAIL, "uploads provider unavailable");
		}
	}
}

/* ---------------------------------------------------------------- */
/* Rooms and batches                                                  */
/* ---------------------------------------------------------------- */

static int64_t shorter(int64_t a, int64_t b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

static void batch_start(int64_t cutoff);

static int64_t cur_cutoff;

static void batch_done(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc == PARLEY_ENOTFOUND) {
		next_room(); /* the room went meanwhile */
		return;
	}
	if (res->rc != PARLEY_OK) {
		fail(res->rc, pr.cur->name ? pr.cur->name : pr.cur->id, res->error);
		return;
	}
	if (pr.o.dry_run) {
		if (res->value > 0) {
			pr.t.messages += res->value;
			pr.t.rooms++;
			if (pr.o.on_batch)
				pr.o.on_batch(pr.o.ud, pr.cur->id, pr.cur->name, 0, res->value);
		}
		next_room();
		return;
	}
	if (res->n_messages > 0) {
		if (pr.cur_count == 0)
			pr.t.rooms++;
		pr.cur_count += (int64_t)res->n_messages;
		pr.t.messages += (int64_t)res->n_messages;
		remove_uploads(res->uploads, res->n_uploads);
		if (pr.o.on_batch)
			pr.o.on_batch(pr.o.ud, pr.cur->id, pr.cur->name, res->value + 1,
			              (int64_t)res->n_messages);
	}
	if (pr.cancelled)
		fail(PARLEY_EUNAVAIL, "prune", "stopping");
	else if (res->more)
		batch_start(cur_cutoff);
	else
		next_room();
}

static void batch_start(int64_t cutoff)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	cur_cutoff = cutoff;
	int rc = st->prune(self, pr.cur->id, cutoff, pr.o.batch, pr.o.dry_run, batch_done, NULL);
	if (rc != PARLEY_PENDING)
		fail(rc, "prune", "store refused the batch");
}

static void room_retention(void *ud, const parley_store_result *res)
{
	(void)ud;
	int64_t own = 0;
	if (res->rc == PARLEY_OK)
		own = res->value;
	else if (res->rc != PARLEY_ENOTFOUND) {
		fail(res->rc, "room retention", res->error);
		return;
	}
	int64_t keep = shorter(pr.o.retention_ms, own);
	if (keep <= 0 || res->rc == PARLEY_ENOTFOUND) {
		next_room();
		return;
	}
	batch_start(pr.o.now_ms - keep);
}

/* ---------------------------------------------------------------- */
/* Upload retention: after the rooms, batch after batch               */
/* ---------------------------------------------------------------- */

static void expire_batch(void);

static void expire_done(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc != PARLEY_OK) {
		fail(res->rc, "uploads retention", res->error);
		return;
	}
	pr.t.expired += (int64_t)res->n_uploads;
	remove_uploads(res->uploads, res->n_uploads);
	if (res->n_uploads > 0)
		log_info("retention", NULL, "expired %zu files", res->n_uploads);
	if (res->more && !pr.cancelled) {
		expire_batch();
		return;
	}
	pr.rooms_done = 1;
	finish_if_done();
}

static void expire_batch(void)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	int rc = st->uploads_expire(self, pr.o.now_ms - pr.o.uploads_retention_ms, pr.o.batch,
	                            expire_done, NULL);
	if (rc != PARLEY_PENDING)
		fail(rc < 0 ? rc : PARLEY_EUNAVAIL, "uploads retention", "store refused the batch");
}

/* The rooms are done: the uploads retention, when it applies here. */
static void rooms_finished(void)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	if (pr.rc == PARLEY_OK && !pr.cancelled && !pr.o.dry_run && !pr.only &&
	    pr.o.uploads_retention_ms > 0) {
		if (PARLEY_HAS(parley_store_vtable, st, uploads_expire)) {
			expire_batch();
			return;
		}
		log_warn("retention", NULL, "the store cannot expire uploads: files are kept");
	}
	pr.rooms_done = 1;
	finish_if_done();
}

static void next_room(void)
{
	if (pr.rc == PARLEY_OK && !pr.cancelled && pr.next >= pr.n_rooms) {
		rooms_finished();
		return;
	}
	if (pr.rc != PARLEY_OK || pr.cancelled) {
		pr.rooms_done = 1;
		finish_if_done();
		return;
	}
	pr.cur = &pr.rooms[pr.next++];
	pr.cur_count = 0;
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, room_retention_get)) {
		parley_store_result none = {.rc = PARLEY_OK};
		room_retention(NULL, &none);
		return;
	}
	if (st->room_retention_get(self, pr.cur->id, room_retention, NULL) != PARLEY_PENDING)
		fail(PARLEY_EUNAVAIL, "room retention", "store unavailable");
}

static void rooms_listed(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc != PARLEY_OK) {
		fail(res->rc, pr.only ? pr.only : "rooms",
		     res->rc == PARLEY_ENOTFOUND ? "no such room" : res->error);
		return;
	}
	pr.rooms = calloc(res->n_rooms ? res->n_rooms : 1, sizeof *pr.rooms);
	if (!pr.rooms) {
		fail(PARLEY_ENOMEM, "rooms", "out of memory");
		return;
	}
	for (size_t i = 0; i < res->n_rooms; i++) {
		pr.rooms[i].id = strdup(res->rooms[i].id);
		pr.rooms[i].name = res->rooms[i].name ? strdup(res->rooms[i].name) : NULL;
		pr.n_rooms++;
		if (!pr.rooms[i].id) {
			fail(PARLEY_ENOMEM, "rooms", "out of memory");
			return;
		}
	}
	next_room();
}

int prune_run_start(const struct prune_opts *o)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, prune))
		return PARLEY_EUNAVAIL;
	if (pr.active)
		return PARLEY_ECONFLICT;
	memset(&pr, 0, sizeof pr);
	pr.o = *o;
	if (pr.o.batch < 1)
		pr.o.batch = 1;
	if (o->room && !(pr.only = strdup(o->room)))
		return PARLEY_ENOMEM;
	pr.o.room = pr.only;
	int rc;
	if (pr.only) {
		/* An id ("r_3") or a name. */
		int is_id = strncmp(pr.only, "r_", 2) == 0;
		rc = st->room_get(self, is_id ? pr.only : NULL, is_id ? NULL : pr.only,
		                  rooms_listed, NULL);
	} else {
		rc = st->rooms_list(self, rooms_listed, NULL);
	}
	if (rc != PARLEY_PENDING) {
		free(pr.only);
		pr.only = NULL;
		return rc < 0 ? rc : PARLEY_EUNAVAIL;
	}
	pr.active = 1;
	return PARLEY_OK;
}

void prune_run_cancel(void)
{
	if (pr.active)
		pr.cancelled = 1;
}

int prune_run_active(void)
{
	return pr.active;
}
