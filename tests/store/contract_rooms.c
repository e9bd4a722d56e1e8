/* Contract cases for rooms and membership: create (ECONFLICT on a taken
 * name), get by id or name, topic, list with last_seq; member_set, remove,
 * list, and read markers that only move forward. */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const parley_member *member_of(const struct res *r, const char *room, const char *user)
{
	for (size_t i = 0; i < r->v.n_members; i++)
		if (strcmp(r->v.members[i].user_id, user) == 0 &&
		    strcmp(r->v.members[i].room_id, room) == 0)
			return &r->v.members[i];
	return NULL;
}

void test_rooms(void **state)
{
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], priv[ID_MAX], noone[ID_MAX];
	contract_open("rooms");
	mk_user("alice", alice);

	parley_room g = {.name = "general",
	                 .kind = "public",
	                 .topic = "all of us",
	                 .created_by = alice,
	                 .created_ts = 1234};
	assert_int_equal(RUN(&r, S->room_create(self, &g, "owner", res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_rooms, 1);
	const parley_room *o = &r.v.rooms[0];
	assert_non_null(o->id);
	assert_true(strncmp(o->id, "r_", 2) == 0);
	snprintf(room, sizeof room, "%s", o->id);
	assert_str(o->name, "general");
	assert_str(o->kind, "public");
	assert_str(o->topic, "all of us");
	assert_str(o->created_by, alice);
	assert_int_equal(o->created_ts, 1234);
	assert_int_equal(o->last_seq, 0);

	/* A public room's name, also in other letter case, conflicts with
	 * another public room; a private room may share it (names are unique
	 * among public rooms only, so a private name leaks to no one). */
	parley_room dup = {.name = "general", .kind = "public", .created_by = alice};
	assert_int_equal(RUN(&r, S->room_create(self, &dup, "owner", res_done, &r)),
	                 PARLEY_ECONFLICT);
	dup.name = "General";
	assert_int_equal(RUN(&r, S->room_create(self, &dup, NULL, res_done, &r)), PARLEY_ECONFLICT);
	parley_room twin = {.name = "general", .kind = "private", .created_by = alice};
	assert_int_equal(RUN(&r, S->room_create(self, &twin, "owner", res_done, &r)), PARLEY_OK);
	assert_true(strcmp(r.v.rooms[0].id, room) != 0);

	parley_room p = {.name = "secret", .kind = "private", .created_by = alice};
	assert_int_equal(RUN(&r, S->room_create(self, &p, "moderator", res_done, &r)), PARLEY_OK);
	snprintf(priv, sizeof priv, "%s", r.v.rooms[0].id);
	assert_true(strcmp(priv, room) != 0);
	assert_str(r.v.rooms[0].kind, "private");
	/* No creator: no member (rooms made by the server). */
	parley_room lone = {.name = "announcements", .kind = "public"};
	assert_int_equal(RUN(&r, S->room_create(self, &lone, "owner", res_done, &r)), PARLEY_OK);
	snprintf(noone, sizeof noone, "%s", r.v.rooms[0].id);
	assert_null(r.v.rooms[0].created_by);

	/* By id, by name (any letter case), not found. */
	assert_int_equal(RUN(&r, S->room_get(self, room, NULL, res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].name, "general");
	assert_str(r.v.rooms[0].topic, "all of us");
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "general", res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].id, room);
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "GENERAL", res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].id, room);
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "nowhere", res_done, &r)),
	                 PARLEY_ENOTFOUND);
	/* A name finds public rooms only: a private room is found by its id. */
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "secret", res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->room_get(self, priv, NULL, res_done, &r)), PARLEY_OK);
	char missing[ID_MAX + 8];
	snprintf(missing, sizeof missing, "%s99", noone);
	assert_int_equal(RUN(&r, S->room_get(self, missing, NULL, res_done, &r)), PARLEY_ENOTFOUND);

	/* Topic: set, replaced, cleared; not found. */
	assert_int_equal(RUN(&r, S->room_set_topic(self, room, "hello", res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->room_get(self, room, NULL, res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].topic, "hello");
	assert_int_equal(RUN(&r, S->room_set_topic(self, room, "", res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->room_get(self, room, NULL, res_done, &r)), PARLEY_OK);
	assert_true(r.v.rooms[0].topic == NULL || r.v.rooms[0].topic[0] == '\0');
	assert_int_equal(RUN(&r, S->room_set_topic(self, missing, "x", res_done, &r)),
	                 PARLEY_ENOTFOUND);

	/* The creator is a member with the role given. */
	assert_int_equal(RUN(&r, S->members_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 1);
	assert_str(r.v.members[0].user_id, alice);
	assert_str(r.v.members[0].role, "owner");
	assert_int_equal(r.v.members[0].read_seq, 0);
	assert_int_equal(RUN(&r, S->members_list(self, priv, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 1);
	assert_str(r.v.members[0].role, "moderator");
	assert_int_equal(RUN(&r, S->members_list(self, noone, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 0);

	/* The list: every room with its last_seq. */
	mk_message(room, alice, "one", NULL, NULL);
	mk_message(room, alice, "two", NULL, NULL);
	mk_message(priv, alice, "one", NULL, NULL);
	assert_int_equal(RUN(&r, S->rooms_list(self, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_rooms, 4); /* general, its private twin, secret, announcements */
	int found = 0;
	for (size_t i = 0; i < r.v.n_rooms; i++) {
		const parley_room *x = &r.v.rooms[i];
		if (strcmp(x->id, room) == 0) {
			found |= 1;
			assert_int_equal(x->last_seq, 2);
			assert_str(x->name, "general");
			assert_str(x->kind, "public");
		} else if (strcmp(x->id, priv) == 0) {
			found |= 2;
			assert_int_equal(x->last_seq, 1);
			assert_str(x->kind, "private");
		} else if (strcmp(x->id, noone) == 0) {
			found |= 4;
			assert_int_equal(x->last_seq, 0);
		}
	}
	assert_int_equal(found, 7);
	assert_int_equal(RUN(&r, S->room_get(self, priv, NULL, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.rooms[0].last_seq, 1);
}

/* DM rooms are named "dm:u_1:u_2"; the name is what finds them. */
void test_dm_room(void **state)
{
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], name[3 * ID_MAX];
	contract_open("dm");
	mk_user("alice", alice);
	mk_user("bob", bob);
	snprintf(name, sizeof name, "dm:%s:%s", strcmp(alice, bob) < 0 ? alice : bob,
	         strcmp(alice, bob) < 0 ? bob : alice);
	parley_room dm = {.name = name, .kind = "dm", .created_by = alice};
	assert_int_equal(RUN(&r, S->room_create(self, &dm, "member", res_done, &r)), PARLEY_OK);
	char id[ID_MAX];
	snprintf(id, sizeof id, "%s", r.v.rooms[0].id);
	assert_int_equal(RUN(&r, S->room_create(self, &dm, "member", res_done, &r)),
	                 PARLEY_ECONFLICT);
	assert_int_equal(RUN(&r, S->room_get(self, NULL, name, res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].id, id);
	assert_str(r.v.rooms[0].kind, "dm");
}

static int by_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* A group DM (issue 15) is a DM room named "dm:" and its people's sorted
 * ids: created with its creator as a plain member (a DM has no owner),
 * found by that name, taken once; a person who left is brought back by
 * being set as a member again. */
void test_group_dm_room(void **state)
{
	static struct res r;
	char ids[3][ID_MAX], name[4 * ID_MAX], dm[ID_MAX];
	const char *names[] = {"alice", "bob", "carol"};
	contract_open("group_dm");
	for (int i = 0; i < 3; i++)
		mk_user(names[i], ids[i]);
	qsort(ids, 3, sizeof ids[0], by_id);
	snprintf(name, sizeof name, "dm:%s:%s:%s", ids[0], ids[1], ids[2]);
	parley_room pr = {.name = name, .kind = "dm", .created_by = ids[1], .topic = ""};
	assert_int_equal(RUN(&r, S->room_create(self, &pr, "member", res_done, &r)), PARLEY_OK);
	snprintf(dm, sizeof dm, "%s", r.v.rooms[0].id);
	assert_int_equal(RUN(&r, S->room_create(self, &pr, "member", res_done, &r)),
	                 PARLEY_ECONFLICT);
	/* The same set under the other 1:1 name is another room. */
	char pair[3 * ID_MAX];
	snprintf(pair, sizeof pair, "dm:%s:%s", ids[0], ids[1]);
	parley_room one = {.name = pair, .kind = "dm", .created_by = ids[0], .topic = ""};
	assert_int_equal(RUN(&r, S->room_create(self, &one, "member", res_done, &r)), PARLEY_OK);
	assert_string_not_equal(r.v.rooms[0].id, dm);

	assert_int_equal(RUN(&r, S->room_get(self, NULL, name, res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].id, dm);
	assert_str(r.v.rooms[0].kind, "dm");
	assert_int_equal(RUN(&r, S->members_list(self, dm, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 1);
	assert_str(r.v.members[0].user_id, ids[1]);
	assert_str(r.v.members[0].role, "member");
	for (int i = 0; i < 3; i += 2)
		assert_int_equal(RUN(&r, S->member_set(self, dm, ids[i], "member", res_done, &r)),
		                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->members_list(self, dm, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 3);

	/* carol leaves; opening the set again brings her back. */
	assert_int_equal(RUN(&r, S->member_remove(self, dm, ids[2], res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->members_list(self, dm, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 2);
	assert_int_equal(RUN(&r, S->member_set(self, dm, ids[2], "member", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->members_list(self, dm, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 3);
	for (size_t i = 0; i < r.v.n_members; i++)
		assert_str(r.v.members[i].role, "member");

	/* And after a restart. */
	contract_close();
	contract_reopen();
	assert_int_equal(RUN(&r, S->room_get(self, NULL, name, res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].id, dm);
}

void test_members(void **state)
{
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], carol[ID_MAX], room[ID_MAX], other[ID_MAX];
	contract_open("members");
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_user("carol", carol);
	mk_room("general", alice, room);
	mk_room("other", bob, other);

	/* Insert, then change the role. Result: members[0], the membership. */
	assert_int_equal(RUN(&r, S->member_set(self, room, bob, "member", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_members, 1);
	assert_str(r.v.members[0].user_id, bob);
	assert_str(r.v.members[0].room_id, room);
	assert_str(r.v.members[0].role, "member");
	assert_int_equal(r.v.members[0].read_seq, 0);
	assert_int_equal(RUN(&r, S->member_set(self, room, bob, "moderator", res_done, &r)),
	                 PARLEY_OK);
	assert_str(r.v.members[0].role, "moderator");
	assert_int_equal(RUN(&r, S->member_set(self, room, carol, "member", res_done, &r)),
	                 PARLEY_OK);

	/* Unknown user or room. */
	char nouser[ID_MAX + 8], noroom[ID_MAX + 8];
	snprintf(nouser, sizeof nouser, "%s77", carol);
	snprintf(noroom, sizeof noroom, "%s77", other);
	assert_int_equal(RUN(&r, S->member_set(self, room, nouser, "member", res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->member_set(self, noroom, bob, "member", res_done, &r)),
	                 PARLEY_ENOTFOUND);

	/* One room's members; every membership. */
	assert_int_equal(RUN(&r, S->members_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 3);
	assert_non_null(member_of(&r, room, alice));
	assert_str(member_of(&r, room, alice)->role, "owner");
	assert_str(member_of(&r, room, bob)->role, "moderator");
	assert_str(member_of(&r, room, carol)->role, "member");
	assert_int_equal(RUN(&r, S->members_list(self, NULL, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 4);
	assert_non_null(member_of(&r, other, bob));
	assert_str(member_of(&r, other, bob)->role, "owner");

	/* read_set: forward only, never past the last message. */
	for (int i = 0; i < 5; i++)
		mk_message(room, alice, "hi", NULL, NULL);
	assert_int_equal(RUN(&r, S->read_set(self, room, bob, 3, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 3);
	assert_int_equal(RUN(&r, S->read_set(self, room, bob, 2, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 3);
	assert_int_equal(RUN(&r, S->read_set(self, room, bob, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 3);
	assert_int_equal(RUN(&r, S->read_set(self, room, bob, 4, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 4);
	assert_int_equal(RUN(&r, S->read_set(self, room, bob, 99, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 5);
	assert_int_equal(RUN(&r, S->members_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(member_of(&r, room, bob)->read_seq, 5);
	assert_int_equal(member_of(&r, room, carol)->read_seq, 0);
	/* Each member's marker is their own. */
	assert_int_equal(RUN(&r, S->read_set(self, room, carol, 2, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 2);
	assert_int_equal(RUN(&r, S->members_list(self, NULL, res_done, &r)), PARLEY_OK);
	assert_int_equal(member_of(&r, room, bob)->read_seq, 5);
	assert_int_equal(member_of(&r, room, carol)->read_seq, 2);
	/* A role change keeps read_seq. */
	assert_int_equal(RUN(&r, S->member_set(self, room, bob, "member", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.members[0].read_seq, 5);
	assert_str(r.v.members[0].role, "member");

	/* Not a member: ENOTFOUND. */
	assert_int_equal(RUN(&r, S->read_set(self, other, carol, 1, res_done, &r)),
	                 PARLEY_ENOTFOUND);

	/* Remove: value 1 when removed, 0 when not a member. */
	assert_int_equal(RUN(&r, S->member_remove(self, room, bob, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->member_remove(self, room, bob, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	assert_int_equal(RUN(&r, S->read_set(self, room, bob, 1, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->members_list(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 2);
	assert_null(member_of(&r, room, bob));
	/* Back in: the marker starts again from 0. */
	assert_int_equal(RUN(&r, S->member_set(self, room, bob, "member", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.members[0].read_seq, 0);
}

/* Names compare case-insensitively in ASCII only, as the core's own name
 * maps do (strcasecmp): "Café" is "café", but "CAFÉ" is another name. A
 * store that folded more would refuse names the core sees as free. */
void test_names_fold_ascii_only(void **state)
{
	static struct res r;
	char alice[ID_MAX], cafe[ID_MAX];
	contract_open("fold");
	mk_user("zoë", alice);
	mk_room("café", alice, cafe);
	parley_room same = {.name = "Café", .kind = "public"};
	assert_int_equal(RUN(&r, S->room_create(self, &same, NULL, res_done, &r)),
	                 PARLEY_ECONFLICT);
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "CAFé", res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].id, cafe);
	parley_room other = {.name = "CAFÉ", .kind = "public"};
	assert_int_equal(RUN(&r, S->room_create(self, &other, NULL, res_done, &r)), PARLEY_OK);
	assert_true(strcmp(r.v.rooms[0].id, cafe) != 0);
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "café", res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].id, cafe);

	parley_user zoe = {.name = "Zoë", .role = "member"};
	assert_int_equal(RUN(&r, S->user_create(self, &zoe, res_done, &r)), PARLEY_ECONFLICT);
	parley_user upper = {.name = "ZOË", .role = "member"};
	assert_int_equal(RUN(&r, S->user_create(self, &upper, res_done, &r)), PARLEY_OK);
	assert_true(strcmp(r.v.users[0].id, alice) != 0);
	assert_int_equal(RUN(&r, S->user_get(self, NULL, "ZOë", res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].id, alice);
}
