/* A room deleted in steps (plugin.h's room_delete) leaves nothing of
 * itself behind: after deleting a room of more than two of store_sqlite's
 * chunks and store_mongo's batches (1000 messages), no record of any kind
 * names the room or one of its messages — its thread follows, reactions,
 * pins, notification levels, members, settings; its upload is detached —
 * while another room keeps every one of its own. Read through
 * records_read, the store's own view of everything it holds, so the case
 * is the same on every store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "contract.h"
#include "contract_cases.h"

#define FILL 2100 /* three steps: 1000, 1000 and the rest */

/* The number behind a public id ("r_3", "m_4294967297"). */
static json_int_t id_number(const char *id)
{
	const char *u = strrchr(id, '_');
	assert_non_null(u);
	return (json_int_t)strtoll(u + 1, NULL, 10);
}

/* Every record of kind, all pages, as one JSON array (caller decrefs). */
static json_t *read_all(const char *kind)
{
	static struct res r;
	json_t *all = json_array();
	int64_t after = 0;
	for (;;) {
		assert_int_equal(RUN(&r, S->records_read(self, kind, after, 1000, res_done, &r)),
		                 PARLEY_OK);
		json_t *page = json_loads(r.v.text, 0, NULL);
		assert_true(json_is_array(page));
		json_array_extend(all, page);
		json_decref(page);
		if (!r.v.more)
			break;
		after = r.v.value;
	}
	return all;
}

/* What hangs on a room: a thread on its oldest message (the first step
 * takes the root, a later one its reply), a reaction and a pin on the
 * root, bob's notification level, the room's settings, an upload on the
 * newest message. */
struct room_things {
	char root[ID_MAX], reply[ID_MAX], newest[ID_MAX], upload[ID_MAX];
};

static void mk_things(const char *room, const char *alice, const char *bob, int fill,
                      struct room_things *t)
{
	static struct res r, acks[FILL];
	static char cids[FILL][ID_MAX + 16];
	mk_message(room, alice, "the root", NULL, t->root);
	for (int i = 0; i < fill; i++) {
		snprintf(cids[i], sizeof cids[i], "%s-%d", room, i);
		parley_message m = {
		    .room_id = room, .user_id = alice, .text = "filler", .client_id = cids[i]};
		res_reset(&acks[i]);
		assert_int_equal(S->append(self, &m, res_done, &acks[i]), PARLEY_PENDING);
	}
	res_wait_all(acks, (size_t)fill);
	for (int i = 0; i < fill; i++)
		assert_int_equal(acks[i].rc, PARLEY_OK);
	parley_message m = {.room_id = room, .user_id = bob, .text = "a reply"};
	assert_int_equal(RUN(&r, S->thread_append(self, &m, t->root, 1, res_done, &r)), PARLEY_OK);
	snprintf(t->reply, ID_MAX, "%s", r.v.messages[0].id);
	assert_int_equal(RUN(&r, S->react(self, room, t->root, bob, "+1", 1, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->pin_set(self, room, t->root, alice, 1, 5000, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->member_set(self, room, bob, "member", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->notify_set(self, room, bob, "none", res_done, &r)), PARLEY_OK);
	parley_upload u = {.user_id = alice,
	                   .name = "a.txt",
	                   .type = "text/plain",
	                   .sha256 = "00",
	                   .key = room,
	                   .size = 3,
	                   .created_ts = 1000};
	assert_int_equal(RUN(&r, S->upload_create(self, &u, res_done, &r)), PARLEY_OK);
	snprintf(t->upload, ID_MAX, "%s", r.v.uploads[0].id);
	if (PARLEY_HAS(parley_store_vtable, S, room_settings_set))
		assert_int_equal(
		    RUN(&r, S->room_settings_set(self, room, "{\"archived\":true}", res_done, &r)),
		    PARLEY_OK);
	mk_message(room, alice, "the newest", NULL, t->newest);
	assert_int_equal(
	    RUN(&r, S->upload_attach(self, t->upload, alice, room, t->newest, res_done, &r)),
	    PARLEY_OK);
}

/* How many records of kind have field == n. */
static size_t count_eq(json_t *records, const char *field, json_int_t n)
{
	size_t i, hits = 0;
	json_t *rec;
	json_array_foreach(records, i, rec)
	{
		json_t *v = json_object_get(rec, field);
		if (json_is_integer(v) && json_integer_value(v) == n)
			hits++;
	}
	return hits;
}

/* Every record's field (when not null) is one of the messages still there. */
static void assert_refs_live(const char *kind, json_t *records, const char *field, json_t *messages)
{
	size_t i;
	json_t *rec;
	json_array_foreach(records, i, rec)
	{
		json_t *v = json_object_get(rec, field);
		if (!v || json_is_null(v))
			continue;
		if (!count_eq(messages, "id", json_integer_value(v)))
			fail_msg("%s: a record's %s names message %lld, which is gone", kind, field,
			         (long long)json_integer_value(v));
	}
}

void test_room_delete_leaves_nothing(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], big[ID_MAX], small[ID_MAX];
	struct room_things b, s;
	contract_open("room_delete_leaves_nothing");
	REQUIRE_MEMBER(room_delete);
	REQUIRE_MEMBER(records_read);
	REQUIRE_MEMBER(thread_append);
	REQUIRE_MEMBER(pin_set);
	REQUIRE_MEMBER(notify_set);
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("big", alice, big);
	mk_room("small", alice, small);
	mk_things(big, alice, bob, FILL, &b);
	mk_things(small, alice, bob, 3, &s);

	assert_int_equal(RUN(&r, S->room_delete(self, big, res_done, &r)), PARLEY_OK);

	json_int_t big_n = id_number(big), small_n = id_number(small);
	json_t *messages = read_all("messages");
	assert_int_equal(count_eq(messages, "room", big_n), 0);
	assert_int_equal(count_eq(messages, "room", small_n), 1 + 3 + 1 + 1);
	json_t *follows = read_all("thread_follows");
	assert_refs_live("thread_follows", follows, "root", messages);
	assert_int_equal(count_eq(follows, "root", id_number(s.root)), 2); /* alice, bob */
	json_t *reactions = read_all("reactions");
	assert_refs_live("reactions", reactions, "message", messages);
	assert_int_equal(count_eq(reactions, "message", id_number(s.root)), 1);
	json_t *pins = read_all("pins");
	assert_refs_live("pins", pins, "message", messages);
	assert_int_equal(count_eq(pins, "room", big_n), 0);
	assert_int_equal(count_eq(pins, "message", id_number(s.root)), 1);
	json_t *uploads = read_all("uploads");
	assert_refs_live("uploads", uploads, "message", messages);
	assert_int_equal(count_eq(uploads, "room", big_n), 0);
	assert_int_equal(count_eq(uploads, "message", id_number(s.newest)), 1);
	assert_int_equal(count_eq(uploads, "id", id_number(b.upload)), 1); /* kept, detached */
	const char *per_room[] = {"members", "notify", "room_settings"};
	for (size_t i = 0; i < sizeof per_room / sizeof *per_room; i++) {
		json_t *recs = read_all(per_room[i]);
		assert_int_equal(count_eq(recs, "room", big_n), 0);
		json_decref(recs);
	}
	json_t *members = read_all("members"), *notify = read_all("notify");
	json_t *settings = read_all("room_settings");
	assert_int_equal(count_eq(members, "room", small_n), 2);
	assert_int_equal(count_eq(notify, "room", small_n), 1);
	if (PARLEY_HAS(parley_store_vtable, S, room_settings_set))
		assert_int_equal(count_eq(settings, "room", small_n), 1);
	json_decref(members);
	json_decref(notify);
	json_decref(settings);

	/* The other room reads as before: its thread, reaction, pin. */
	assert_int_equal(RUN(&r, S->history(self, small, 0, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 6);
	assert_int_equal(RUN(&r, S->message_get(self, small, s.root, res_done, &r)), PARLEY_OK);
	char want[ID_MAX + 16];
	snprintf(want, sizeof want, "{\"+1\":[\"%s\"]}", bob);
	assert_reactions(r.v.messages[0].reactions_json, want);
	assert_int_equal(RUN(&r, S->pins_list(self, small, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(RUN(&r, S->room_delete(self, big, res_done, &r)), PARLEY_ENOTFOUND);

	json_decref(messages);
	json_decref(follows);
	json_decref(reactions);
	json_decref(pins);
	json_decref(uploads);
}
