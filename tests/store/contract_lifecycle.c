/* Contract cases about the store as a whole: the vtable's shape, and
 * what a restart finds (every acked write, seq continuing). */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>
#include <string.h>

#define BASE_HAS(member)                                                                           \
	do {                                                                                       \
		if (!STORE_HAS(member))                                                            \
			fail_msg("the store lacks " #member ", which every store must have");      \
	} while (0)

#define OPTIONAL(member) print_message("  %-22s %s\n", #member, STORE_HAS(member) ? "yes" : "no")

void test_vtable(void **state)
{
	contract_open("vtable");
	assert_true(S->struct_size >=
	            offsetof(parley_store_vtable, invite_use) + sizeof S->invite_use);
	BASE_HAS(append);
	BASE_HAS(history);
	BASE_HAS(message_get);
	BASE_HAS(message_edit);
	BASE_HAS(message_delete);
	BASE_HAS(react);
	BASE_HAS(room_create);
	BASE_HAS(room_get);
	BASE_HAS(room_set_topic);
	BASE_HAS(rooms_list);
	BASE_HAS(member_set);
	BASE_HAS(member_remove);
	BASE_HAS(members_list);
	BASE_HAS(read_set);
	BASE_HAS(user_create);
	BASE_HAS(user_get);
	BASE_HAS(user_update);
	BASE_HAS(users_list);
	BASE_HAS(session_create);
	BASE_HAS(session_get);
	BASE_HAS(session_delete);
	BASE_HAS(invite_create);
	BASE_HAS(invite_use);
	/* The appended members: which ones the optional cases will run. */
	print_message("  struct_size %zu; appended members:\n", S->struct_size);
	OPTIONAL(user_by_email);
	OPTIONAL(token_create);
	OPTIONAL(token_use);
	OPTIONAL(invites_list);
	OPTIONAL(invite_revoke);
	OPTIONAL(audit_append);
	OPTIONAL(audit_list);
	OPTIONAL(settings_get);
	OPTIONAL(settings_set);
	OPTIONAL(session_create_scoped);
	OPTIONAL(kv_get);
	OPTIONAL(kv_set);
	OPTIONAL(kv_delete);
	OPTIONAL(kv_incr);
	OPTIONAL(upload_create);
	OPTIONAL(upload_get);
	OPTIONAL(upload_attach);
	OPTIONAL(upload_delete);
	OPTIONAL(uploads_unattached);
	OPTIONAL(upload_usage);
}

/* Close and open the same store: what was acked is there, seq continues,
 * dedup still holds. */
void test_restart(void **state)
{
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], id[ID_MAX];
	contract_open("restart");
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_message(room, alice, "one", "c1", id);
	mk_message(room, alice, "two", "c2", NULL);
	assert_int_equal(RUN(&r, S->read_set(self, room, alice, 1, res_done, &r)), PARLEY_OK);
	contract_close();

	contract_reopen();
	assert_int_equal(RUN(&r, S->user_get(self, NULL, "alice", res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].id, alice);
	assert_int_equal(RUN(&r, S->room_get(self, room, NULL, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.rooms[0].last_seq, 2);
	assert_int_equal(RUN(&r, S->members_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.members[0].read_seq, 1);
	parley_message again = {
	    .room_id = room, .user_id = alice, .text = "one", .client_id = "c1"};
	assert_int_equal(RUN(&r, S->append(self, &again, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.duplicate, 1);
	assert_str(r.v.messages[0].id, id);
	assert_int_equal(mk_message(room, alice, "three", "c3", NULL), 3);
	/* Ids are never reused either. */
	char user2[ID_MAX];
	mk_user("bob", user2);
	assert_true(strcmp(user2, alice) != 0);
	assert_int_equal(RUN(&r, S->history(self, room, 0, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 3);
	assert_str(r.v.messages[0].text, "one");
	assert_str(r.v.messages[2].text, "three");
	assert_true(strcmp(r.v.messages[2].id, id) != 0);
}
