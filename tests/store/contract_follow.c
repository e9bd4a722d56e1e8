/* Contract cases for the find-and-follow calls (issue 15): pins. Each is
 * an optional vtable member, tested only when the store has it. */
#include <stdio.h>
#include <string.h>

#include "contract.h"
#include "contract_cases.h"

void test_pins(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], other[ID_MAX], m1[ID_MAX], m2[ID_MAX], m3[ID_MAX];
	contract_open("pins");
	REQUIRE_MEMBER(pin_set);
	REQUIRE_MEMBER(pins_list);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_room("random", alice, other);
	mk_message(room, alice, "one", NULL, m1);
	mk_message(room, alice, "two", NULL, m2);
	mk_message(other, alice, "elsewhere", NULL, m3);

	assert_int_equal(RUN(&r, S->pins_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
	/* Pinning changes once; a second pin is no change. */
	assert_int_equal(RUN(&r, S->pin_set(self, room, m1, alice, 1, 1000, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->pin_set(self, room, m1, alice, 1, 1500, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	assert_int_equal(RUN(&r, S->pin_set(self, room, m2, alice, 1, 2000, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->pin_set(self, other, m3, alice, 1, 3000, res_done, &r)),
	                 PARLEY_OK);
	/* A message of another room is not found there. */
	assert_int_equal(RUN(&r, S->pin_set(self, room, m3, alice, 1, 3000, res_done, &r)),
	                 PARLEY_ENOTFOUND);

	/* A room's pins, newest pin first, as whole messages. */
	assert_int_equal(RUN(&r, S->pins_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_str(r.v.messages[0].id, m2);
	assert_str(r.v.messages[0].text, "two");
	assert_str(r.v.messages[0].room_id, room);
	assert_str(r.v.messages[1].id, m1);
	/* Every room's (what a server loads at start). */
	assert_int_equal(RUN(&r, S->pins_list(self, NULL, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 3);
	assert_str(r.v.messages[0].id, m3);
	assert_str(r.v.messages[0].room_id, other);

	/* An edited pinned message stays pinned, listed with its new text. */
	assert_int_equal(
	    RUN(&r, S->message_edit(self, room, m1, "one, edited", NULL, 1200, res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(RUN(&r, S->pins_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_str(r.v.messages[1].id, m1);
	assert_str(r.v.messages[1].text, "one, edited");

	/* Unpinning changes once. */
	assert_int_equal(RUN(&r, S->pin_set(self, room, m2, NULL, 0, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->pin_set(self, room, m2, NULL, 0, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 0);

	/* Deleting a pinned message unpins it, and a tombstone cannot be pinned. */
	assert_int_equal(RUN(&r, S->message_delete(self, room, m1, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->pins_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
	assert_int_equal(RUN(&r, S->pin_set(self, room, m1, alice, 1, 4000, res_done, &r)),
	                 PARLEY_ENOTFOUND);

	/* Pins outlive a restart. */
	contract_close();
	contract_reopen();
	assert_int_equal(RUN(&r, S->pins_list(self, other, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_str(r.v.messages[0].id, m3);
}

/* Expiry (retention's prune) unpins as deleting does: the tombstone is no
 * longer listed and cannot be pinned again. */
void test_pins_expired(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], old[ID_MAX], young[ID_MAX];
	contract_open("pins_expired");
	REQUIRE_MEMBER(pin_set);
	REQUIRE_MEMBER(pins_list);
	REQUIRE_MEMBER(prune);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	parley_message m = {.room_id = room, .user_id = alice, .text = "old runbook", .ts = 1000};
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	snprintf(old, sizeof old, "%s", r.v.messages[0].id);
	m.text = "new runbook";
	m.ts = 5000;
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	snprintf(young, sizeof young, "%s", r.v.messages[0].id);
	assert_int_equal(RUN(&r, S->pin_set(self, room, old, alice, 1, 6000, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->pin_set(self, room, young, alice, 1, 6001, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->prune(self, room, 4000, 10, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(RUN(&r, S->pins_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_str(r.v.messages[0].id, young);
	assert_int_equal(RUN(&r, S->pins_list(self, NULL, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(RUN(&r, S->pin_set(self, room, old, alice, 1, 7000, res_done, &r)),
	                 PARLEY_ENOTFOUND);
}

void test_notify_levels(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], room[ID_MAX], other[ID_MAX];
	contract_open("notify_levels");
	REQUIRE_MEMBER(notify_set);
	REQUIRE_MEMBER(notify_list);
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("general", alice, room);
	mk_room("random", alice, other);

	assert_int_equal(RUN(&r, S->notify_list(self, NULL, res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "[]");
	assert_int_equal(RUN(&r, S->notify_set(self, room, alice, "mentions", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->notify_set(self, other, alice, "none", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->notify_set(self, room, bob, "none", res_done, &r)), PARLEY_OK);
	/* Setting again replaces. */
	assert_int_equal(RUN(&r, S->notify_set(self, room, bob, "mentions", res_done, &r)),
	                 PARLEY_OK);

	char want[512];
	assert_int_equal(RUN(&r, S->notify_list(self, alice, res_done, &r)), PARLEY_OK);
	snprintf(want, sizeof want,
	         "[{\"room\":\"%s\",\"user\":\"%s\",\"level\":\"mentions\"},"
	         "{\"room\":\"%s\",\"user\":\"%s\",\"level\":\"none\"}]",
	         room, alice, other, alice);
	assert_str(r.v.text, want);

	/* "all" is the default: it leaves no entry. */
	assert_int_equal(RUN(&r, S->notify_set(self, other, alice, "all", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->notify_list(self, NULL, res_done, &r)), PARLEY_OK);
	snprintf(want, sizeof want,
	         "[{\"room\":\"%s\",\"user\":\"%s\",\"level\":\"mentions\"},"
	         "{\"room\":\"%s\",\"user\":\"%s\",\"level\":\"mentions\"}]",
	         room, alice, room, bob);
	assert_str(r.v.text, want);

	/* Unknown words and records are refused. */
	int rc = RUN(&r, S->notify_set(self, room, alice, "loud", res_done, &r));
	assert_true(rc == PARLEY_EINVAL || rc == PARLEY_ENOTFOUND);
	rc = RUN(&r, S->notify_set(self, "r_999999", alice, "none", res_done, &r));
	assert_true(rc == PARLEY_ENOTFOUND || rc == PARLEY_EINVAL);
	rc = RUN(&r, S->notify_set(self, room, "u_999999", "none", res_done, &r));
	assert_true(rc == PARLEY_ENOTFOUND || rc == PARLEY_EINVAL);

	contract_close();
	contract_reopen();
	assert_int_equal(RUN(&r, S->notify_list(self, bob, res_done, &r)), PARLEY_OK);
	snprintf(want, sizeof want, "[{\"room\":\"%s\",\"user\":\"%s\",\"level\":\"mentions\"}]",
	         room, bob);
	assert_str(r.v.text, want);
}
