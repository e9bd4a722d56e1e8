/* Contract cases for rooms an owner can run (issue 18): renaming, the
 * room's settings object, deleting a room. Optional members, tested only
 * when the store has them. */
#include <stdio.h>
#include <string.h>

#include "contract.h"
#include "contract_options.h"
#include "contract_cases.h"

void test_room_rename(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], other[ID_MAX];
	contract_open("room_rename");
	REQUIRE_MEMBER(room_rename);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_room("random", alice, other);

	assert_int_equal(RUN(&r, S->room_rename(self, room, "lab", res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_rooms, 1);
	assert_str(r.v.rooms[0].id, room);
	assert_str(r.v.rooms[0].name, "lab");
	/* The new name is found, the old one is free again. */
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "LAB", res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].id, room);
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "general", res_done, &r)),
	                 PARLEY_ENOTFOUND);
	/* Another public room's name (in any case) is taken. */
	assert_int_equal(RUN(&r, S->room_rename(self, other, "Lab", res_done, &r)),
	                 PARLEY_ECONFLICT);
	assert_int_equal(RUN(&r, S->room_get(self, other, NULL, res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].name, "random");
	int rc = RUN(&r, S->room_rename(self, "r_999999", "nowhere", res_done, &r));
	assert_true(rc == PARLEY_ENOTFOUND);

	contract_close();
	contract_reopen();
	assert_int_equal(RUN(&r, S->room_get(self, room, NULL, res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].name, "lab");
}

void test_room_settings(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], other[ID_MAX], want[512];
	contract_open("room_settings");
	REQUIRE_MEMBER(room_settings_set);
	REQUIRE_MEMBER(room_settings_list);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_room("random", alice, other);

	assert_int_equal(RUN(&r, S->room_settings_list(self, res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "[]");
	assert_int_equal(
	    RUN(&r, S->room_settings_set(self, other, "{\"archived\":true}", res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(
	    RUN(&r, S->room_settings_set(self, room, "{\"may_post\":\"members\"}", res_done, &r)),
	    PARLEY_OK);
	/* Setting again replaces the whole object. */
	assert_int_equal(
	    RUN(&r, S->room_settings_set(self, room, "{\"may_pin\":\"moderators\"}", res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(RUN(&r, S->room_settings_list(self, res_done, &r)), PARLEY_OK);
	snprintf(want, sizeof want,
	         "[{\"room\":\"%s\",\"settings\":{\"may_pin\":\"moderators\"}},"
	         "{\"room\":\"%s\",\"settings\":{\"archived\":true}}]",
	         room, other);
	assert_str(r.v.text, want);

	/* Not an object, or no such room: refused, nothing written. */
	int rc = RUN(&r, S->room_settings_set(self, room, "[1]", res_done, &r));
	assert_int_equal(rc, PARLEY_EINVAL);
	rc = RUN(&r, S->room_settings_set(self, "r_999999", "{}", res_done, &r));
	assert_int_equal(rc, PARLEY_ENOTFOUND);

	contract_close();
	contract_reopen();
	assert_int_equal(RUN(&r, S->room_settings_list(self, res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, want);
}

void test_room_delete(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], room[ID_MAX], other[ID_MAX], m1[ID_MAX], m2[ID_MAX];
	contract_open("room_delete");
	REQUIRE_MEMBER(room_delete);
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("general", alice, room);
	mk_room("random", alice, other);
	assert_int_equal(RUN(&r, S->member_set(self, room, bob, "member", res_done, &r)),
	                 PARLEY_OK);
	mk_message(room, alice, "one", NULL, m1);
	mk_message(other, alice, "stays", NULL, m2);
	if (PARLEY_HAS(parley_store_vtable, S, room_settings_set))
		assert_int_equal(
		    RUN(&r, S->room_settings_set(self, room, "{\"archived\":true}", res_done, &r)),
		    PARLEY_OK);

	assert_int_equal(RUN(&r, S->room_delete(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->room_get(self, room, NULL, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->message_get(self, room, m1, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->members_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 0);
	/* Its name is free, the other room untouched. */
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "general", res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->message_get(self, other, m2, res_done, &r)), PARLEY_OK);
	assert_str(r.v.messages[0].text, "stays");
	if (PARLEY_HAS(parley_store_vtable, S, room_settings_list)) {
		assert_int_equal(RUN(&r, S->room_settings_list(self, res_done, &r)), PARLEY_OK);
		assert_str(r.v.text, "[]");
	}
	assert_int_equal(RUN(&r, S->room_delete(self, room, res_done, &r)), PARLEY_ENOTFOUND);
	/* A new room with the name is a different room: ids are not reused,
	 * even of the newest room, and not after a restart either. */
	char again[ID_MAX], newest[ID_MAX], later[ID_MAX];
	mk_room("general", alice, again);
	assert_true(strcmp(again, room) != 0);
	assert_int_equal(RUN(&r, S->room_delete(self, again, res_done, &r)), PARLEY_OK);
	contract_close();
	contract_reopen();
	mk_room("newest", alice, newest);
	assert_true(strcmp(newest, again) != 0 && strcmp(newest, room) != 0);
	assert_int_equal(RUN(&r, S->room_delete(self, newest, res_done, &r)), PARLEY_OK);
	mk_room("later", alice, later);
	assert_true(strcmp(later, newest) != 0);
}

/* A room bigger than a delete step (1000 messages, store_sqlite's chunk
 * and store_mongo's batch): every message goes, at a step's edge too, and
 * the other room keeps its own (test_room_delete_leaves_nothing checks
 * every kind of record). On
 * store_sqlite an append to another room, made after the delete began,
 * is acked before it ends: the delete does not hold the writer. */
void test_room_delete_many(void **state)
{
	(void)state;
	enum { N = 2000 };
	static struct res acks[N], del, other_ack;
	static char cids[N][16];
	char alice[ID_MAX], room[ID_MAX], other[ID_MAX], first[ID_MAX], last[ID_MAX], kept[ID_MAX];
	contract_open("room_delete_many");
	REQUIRE_MEMBER(room_delete);
	mk_user("alice", alice);
	mk_room("big", alice, room);
	mk_room("small", alice, other);
	mk_message(room, alice, "the first", NULL, first);
	for (int i = 0; i < N - 2; i++) {
		snprintf(cids[i], sizeof cids[i], "m%d", i);
		parley_message m = {
		    .room_id = room, .user_id = alice, .text = "filler", .client_id = cids[i]};
		res_reset(&acks[i]);
		assert_int_equal(S->append(self, &m, res_done, &acks[i]), PARLEY_PENDING);
	}
	res_wait_all(acks, N - 2);
	for (int i = 0; i < N - 2; i++)
		assert_int_equal(acks[i].rc, PARLEY_OK);
	mk_message(room, alice, "the last", NULL, last);
	mk_message(other, alice, "kept", NULL, kept);

	res_reset(&del);
	assert_int_equal(S->room_delete(self, room, res_done, &del), PARLEY_PENDING);
	parley_message m = {.room_id = other, .user_id = alice, .text = "meanwhile"};
	res_reset(&other_ack);
	assert_int_equal(S->append(self, &m, res_done, &other_ack), PARLEY_PENDING);
	res_wait_all(&other_ack, 1);
	assert_int_equal(other_ack.rc, PARLEY_OK);
	if (strcmp(contract_opt.plugin_name, "store_sqlite") == 0)
		assert_int_equal(del.fired, 0);
	res_wait_all(&del, 1);
	assert_int_equal(del.rc, PARLEY_OK);

	static struct res r;
	assert_int_equal(RUN(&r, S->room_get(self, room, NULL, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->message_get(self, room, first, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->message_get(self, room, last, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->message_get(self, other, kept, res_done, &r)), PARLEY_OK);
	assert_str(r.v.messages[0].text, "kept");
	assert_int_equal(RUN(&r, S->history(self, other, 0, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
}
