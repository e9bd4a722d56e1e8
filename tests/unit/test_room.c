/* room: members (hash + sorted paging order), subscriptions in both lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat/room.h"
#include "chat/users.h"

static void test_members_and_subs(void **state)
{
	(void)state;
	users_init();
	rooms_init();
	parley_room pr = {.id = "r_1", .name = "general", .kind = "public"};
	room *r = room_upsert(&pr);
	assert_ptr_equal(room_by_name("GENERAL"), r);
	user_rec *us[3];
	const char *ids[3] = {"u_3", "u_1", "u_2"};
	for (int i = 0; i < 3; i++) {
		parley_user pu = {.id = ids[i], .name = ids[i], .role = "member"};
		us[i] = users_upsert(&pu);
		assert_non_null(room_add_member(r, us[i], ROLE_MEMBER, 0));
	}
	member **sorted = room_sorted_members(r);
	assert_string_equal(sorted[0]->user->id, "u_1");
	assert_string_equal(sorted[2]->user->id, "u_3");
	assert_int_equal(us[0]->n_memberships, 1);

	/* Two sessions subscribe; removing one leaves the other. */
	int c1, c2;
	sub *l1 = NULL, *l2 = NULL;
	assert_int_equal(room_subscribe(r, (struct client *)&c1, &l1), 0);
	assert_int_equal(room_subscribe(r, (struct client *)&c1, &l1), 0); /* idempotent */
	assert_int_equal(room_subscribe(r, (struct client *)&c2, &l2), 0);
	assert_int_equal(r->n_subs, 2);
	room_unsubscribe(r, (struct client *)&c1, &l1);
	assert_int_equal(r->n_subs, 1);
	assert_ptr_equal(r->subs->client, (struct client *)&c2);
	assert_null(l1);
	room_unsubscribe_all(&l2);
	assert_int_equal(r->n_subs, 0);
	assert_null(r->subs);

	room_remove_member(r, "u_1");
	assert_null(room_member(r, "u_1"));
	assert_int_equal(us[1]->n_memberships, 0);
	assert_int_equal(r->n_members, 2);

	enum room_role role;
	assert_int_equal(room_role_parse("moderator", &role), 0);
	assert_int_equal(role, ROLE_MODERATOR);
	assert_int_equal(room_role_parse("king", &role), -1);
	rooms_fini();
	users_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_members_and_subs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
