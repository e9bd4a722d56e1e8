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

static room *add_room(const char *id, const char *name, const char *kind, int64_t ts)
{
	parley_room pr = {.id = id, .name = name, .kind = kind, .topic = "t", .created_ts = ts};
	return room_upsert(&pr);
}

static user_rec *add_user(const char *id)
{
	parley_user pu = {.id = id, .name = id, .role = "member"};
	return users_upsert(&pu);
}

static void test_view(void **state)
{
	(void)state;
	users_init();
	rooms_init();
	room *r = add_room("r_7", "ops", "private", 1234);
	r->last_seq = 42;
	parley_room v;
	room_view(r, &v);
	assert_string_equal(v.id, "r_7");
	assert_string_equal(v.name, "ops");
	assert_string_equal(v.kind, "private");
	assert_string_equal(v.topic, "t");
	assert_int_equal(v.last_seq, 42); /* one hand-built copy once forgot it */
	assert_int_equal(v.created_ts, 1234);
	assert_null(v.created_by);
	rooms_fini();
	users_fini();
}

/* Names are unique among public rooms (and DMs) only; a lookup by name
 * resolves among the rooms its viewer can see. */
static void test_names_and_lookups(void **state)
{
	(void)state;
	users_init();
	rooms_init();
	user_rec *ann = add_user("u_1"), *bob = add_user("u_2");
	room *pub = add_room("r_1", "ops", "public", 10);
	room *mine = add_room("r_2", "ops", "private", 30);
	room *older = add_room("r_3", "OPS", "private", 20);
	room *theirs = add_room("r_4", "secret", "private", 5);
	room *dm = add_room("r_5", "dm:u_1:u_2", "dm", 1);
	assert_non_null(room_add_member(mine, ann, ROLE_OWNER, 0));
	assert_non_null(room_add_member(older, ann, ROLE_MEMBER, 0));
	assert_non_null(room_add_member(theirs, bob, ROLE_OWNER, 0));
	assert_non_null(room_add_member(dm, ann, ROLE_MEMBER, 0));

	/* The name index holds the public room and the DM only. */
	assert_ptr_equal(room_by_name("OPS"), pub);
	assert_null(room_by_name("secret"));
	assert_ptr_equal(room_by_name("dm:u_1:u_2"), dm);

	/* By name: the public room first, then the viewer's oldest private. */
	assert_ptr_equal(room_find("ops", ann), pub);
	assert_ptr_equal(room_find("secret", bob), theirs);
	assert_null(room_find("secret", ann));
	assert_null(room_find("secret", NULL)); /* the server: public names only */
	/* The public room renamed: the name now finds ann's oldest "ops". */
	assert_ptr_equal(
	    room_upsert(&(parley_room){.id = "r_1", .name = "ops-old", .kind = "public"}), pub);
	assert_null(room_by_name("ops"));
	assert_ptr_equal(room_by_name("ops-old"), pub);
	assert_ptr_equal(room_find("ops", ann), older);
	assert_null(room_find("ops", bob));

	/* By id: any room for the server, visible ones for a person. */
	assert_ptr_equal(room_find("r_4", NULL), theirs);
	assert_ptr_equal(room_find("r_4", bob), theirs);
	assert_null(room_find("r_4", ann));
	assert_null(room_find("r_5", bob)); /* a DM bob is not in */
	assert_null(room_find(NULL, ann));
	assert_false(room_visible(theirs, ann));
	assert_true(room_visible(theirs, NULL));

	/* A script's rooms list: ids, or public names. */
	parley_room v;
	room_view(theirs, &v);
	assert_true(room_named(&v, "r_4"));
	assert_false(room_named(&v, "secret"));
	room_view(add_room("r_6", "Lobby", "public", 1), &v);
	assert_true(room_named(&v, "lobby"));
	rooms_fini();
	users_fini();
}

static void test_public_sorted(void **state)
{
	(void)state;
	users_init();
	rooms_init();
	add_room("r_2", "b", "public", 0);
	add_room("r_10", "a", "public", 0);
	add_room("r_3", "c", "private", 0);
	size_t n;
	room **list = rooms_public_sorted(&n);
	assert_int_equal(n, 2);
	assert_string_equal(list[0]->id, "r_10"); /* id order, as strings */
	assert_string_equal(list[1]->id, "r_2");
	add_room("r_1", "d", "public", 0);
	list = rooms_public_sorted(&n);
	assert_int_equal(n, 3);
	assert_string_equal(list[0]->id, "r_1");
	rooms_fini();
	users_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_members_and_subs),
	    cmocka_unit_test(test_view),
	    cmocka_unit_test(test_names_and_lookups),
	    cmocka_unit_test(test_public_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
