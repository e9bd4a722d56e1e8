/* Contract cases for threads (issue 15): replies that name a root and take
 * room seqs, the root's count and latest reply, thread history, follows
 * with read marks and the followed-threads list, and roots that keep their
 * thread when deleted or pruned. Optional members: skipped without
 * thread_append. */
#include <stdio.h>
#include <string.h>

#include "contract.h"
#include "contract_cases.h"

/* A reply of user in room's thread root at ts; its id in out (may be NULL),
 * its seq returned. The whole result stays in *r. */
static int64_t reply(struct res *r, const char *room, const char *user, const char *root,
                     const char *text, int64_t ts, int also_room, char *out)
{
	parley_message m = {.room_id = room, .user_id = user, .text = text, .ts = ts};
	assert_int_equal(RUN(r, S->thread_append(self, &m, root, also_room, res_done, r)),
	                 PARLEY_OK);
	assert_int_equal(r->v.duplicate, 0);
	assert_int_equal(r->v.n_messages, 2);
	if (out)
		snprintf(out, ID_MAX, "%s", r->v.messages[0].id);
	return r->v.messages[0].seq;
}

#define REQUIRE_THREADS()                                                                          \
	do {                                                                                       \
		REQUIRE_MEMBER(thread_append);                                                     \
		REQUIRE_MEMBER(thread_history);                                                    \
		REQUIRE_MEMBER(thread_follow);                                                     \
		REQUIRE_MEMBER(thread_read);                                                       \
		REQUIRE_MEMBER(threads_list);                                                      \
	} while (0)

void test_threads_replies(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], room[ID_MAX], other[ID_MAX], root[ID_MAX],
	    elsewhere[ID_MAX], r1[ID_MAX], r2[ID_MAX];
	contract_open("threads_replies");
	REQUIRE_THREADS();
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("general", alice, room);
	mk_room("random", alice, other);
	assert_int_equal(mk_message(room, alice, "which buffer?", NULL, root), 1);
	mk_message(other, alice, "elsewhere", NULL, elsewhere);

	/* A reply takes the room's next seq and names its root; the root
	 * comes back counting it. */
	assert_int_equal(reply(&r, room, bob, root, "PBS", 5000, 0, r1), 2);
	assert_str(r.v.messages[0].room_id, room);
	assert_str(r.v.messages[0].text, "PBS");
	assert_str(r.v.threads[0].thread_id, root);
	assert_int_equal(r.v.threads[0].also_room, 0);
	assert_str(r.v.messages[1].id, root);
	assert_null(r.v.threads[1].thread_id);
	assert_int_equal(r.v.threads[1].replies, 1);
	assert_int_equal(r.v.threads[1].last_reply_ts, 5000);

	/* also_room is kept; the count and latest reply move. */
	assert_int_equal(reply(&r, room, alice, root, "thanks", 6000, 1, r2), 3);
	assert_int_equal(r.v.threads[0].also_room, 1);
	assert_int_equal(r.v.threads[1].replies, 2);
	assert_int_equal(r.v.threads[1].last_reply_ts, 6000);

	/* A resent reply (same client_id) is a duplicate and counts once. */
	parley_message m = {
	    .room_id = room, .user_id = bob, .text = "once", .client_id = "c-1", .ts = 7000};
	assert_int_equal(RUN(&r, S->thread_append(self, &m, root, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.duplicate, 0);
	assert_int_equal(r.v.threads[1].replies, 3);
	assert_int_equal(RUN(&r, S->thread_append(self, &m, root, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.duplicate, 1);
	assert_str(r.v.messages[0].text, "once");
	assert_str(r.v.threads[0].thread_id, root);
	assert_int_equal(RUN(&r, S->message_get(self, room, root, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.threads[0].replies, 3);
	assert_int_equal(r.v.threads[0].last_reply_ts, 7000);

	/* Threads do not nest; a root of another room or none is not found. */
	m.client_id = NULL;
	assert_int_equal(RUN(&r, S->thread_append(self, &m, r1, 0, res_done, &r)), PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->thread_append(self, &m, elsewhere, 0, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->thread_append(self, &m, "m_999999", 0, res_done, &r)),
	                 PARLEY_ENOTFOUND);

	/* Refused replies took no seq: the room's history is dense, and the
	 * replies are in it with their thread. */
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(r.v.messages[i].seq, (int64_t)i + 1);
	assert_null(r.v.threads[0].thread_id);
	assert_int_equal(r.v.threads[0].replies, 3);
	assert_str(r.v.threads[1].thread_id, root);
	assert_str(r.v.threads[2].thread_id, root);
	assert_int_equal(r.v.threads[2].also_room, 1);
	assert_int_equal(mk_message(room, alice, "next", NULL, NULL), 5);

	/* All of it outlives a restart. */
	contract_close();
	contract_reopen();
	assert_int_equal(RUN(&r, S->message_get(self, room, r2, res_done, &r)), PARLEY_OK);
	assert_str(r.v.threads[0].thread_id, root);
	assert_int_equal(r.v.threads[0].also_room, 1);
}

void test_threads_history(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], other[ID_MAX], root[ID_MAX], other_root[ID_MAX];
	contract_open("threads_history");
	REQUIRE_THREADS();
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_room("random", alice, other);
	mk_message(room, alice, "root", NULL, root);
	mk_message(other, alice, "other root", NULL, other_root);
	int64_t seqs[5];
	char text[16];
	for (int i = 0; i < 5; i++) {
		mk_message(room, alice, "between", NULL, NULL); /* room messages interleave */
		snprintf(text, sizeof text, "r%d", i);
		seqs[i] = reply(&r, room, alice, root, text, 3000 + i, 0, NULL);
	}
	/* The newest page, oldest first, with more. */
	assert_int_equal(RUN(&r, S->thread_history(self, room, root, 0, -1, 2, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_int_equal(r.v.more, 1);
	assert_str(r.v.messages[0].text, "r3");
	assert_str(r.v.messages[1].text, "r4");
	assert_str(r.v.threads[1].thread_id, root);
	/* Before a seq: newest first. */
	assert_int_equal(
	    RUN(&r, S->thread_history(self, room, root, seqs[3], -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 3);
	assert_int_equal(r.v.more, 0);
	assert_str(r.v.messages[0].text, "r2");
	assert_str(r.v.messages[2].text, "r0");
	/* After a seq: oldest first. */
	assert_int_equal(RUN(&r, S->thread_history(self, room, root, 0, seqs[1], 2, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_int_equal(r.v.more, 1);
	assert_str(r.v.messages[0].text, "r2");
	assert_str(r.v.messages[1].text, "r3");
	/* A root with no replies has an empty thread; a root of another room
	 * or none is not found. */
	assert_int_equal(
	    RUN(&r, S->thread_history(self, other, other_root, 0, -1, 10, res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
	assert_int_equal(
	    RUN(&r, S->thread_history(self, room, other_root, 0, -1, 10, res_done, &r)),
	    PARLEY_ENOTFOUND);
	assert_int_equal(
	    RUN(&r, S->thread_history(self, room, "m_999999", 0, -1, 10, res_done, &r)),
	    PARLEY_ENOTFOUND);
}

void test_threads_follow_and_list(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], carol[ID_MAX], room[ID_MAX], other[ID_MAX];
	char t1[ID_MAX], t2[ID_MAX], t3[ID_MAX], rooms[3 * ID_MAX + 8], only_other[ID_MAX + 8];
	contract_open("threads_follow");
	REQUIRE_THREADS();
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_user("carol", carol);
	mk_room("general", alice, room);
	mk_room("random", alice, other);
	snprintf(rooms, sizeof rooms, "[\"%s\",\"%s\"]", room, other);
	snprintf(only_other, sizeof only_other, "[\"%s\"]", other);
	mk_message(room, alice, "t1", NULL, t1);
	mk_message(room, alice, "t2", NULL, t2);
	mk_message(other, bob, "t3", NULL, t3);

	/* Writing in a thread follows it, and so does the root's author. */
	int64_t b1 = reply(&r, room, bob, t1, "bob in t1", 4000, 0, NULL);
	assert_int_equal(RUN(&r, S->threads_list(self, bob, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_str(r.v.messages[0].id, t1);
	assert_int_equal(r.v.threads[0].following, 1);
	assert_int_equal(r.v.threads[0].replies, 1);
	assert_int_equal(r.v.threads[0].unread, 0); /* one's own reply is read */
	assert_int_equal(r.v.threads[0].read_seq, b1);
	assert_int_equal(RUN(&r, S->threads_list(self, alice, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.threads[0].unread, 1);
	assert_int_equal(RUN(&r, S->threads_list(self, carol, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);

	/* Following by hand: changes once; the replies so far are unread. */
	assert_int_equal(RUN(&r, S->thread_follow(self, room, t1, carol, 1, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->thread_follow(self, room, t1, carol, 1, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	assert_int_equal(RUN(&r, S->thread_follow(self, other, t1, carol, 1, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->thread_follow(self, room, t1, "u_999999", 1, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	int64_t a1 = reply(&r, room, alice, t1, "alice in t1", 4100, 0, NULL);
	assert_int_equal(RUN(&r, S->threads_list(self, carol, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.threads[0].unread, 2);

	/* Reading moves the mark forward only; one not following has none. */
	assert_int_equal(RUN(&r, S->thread_read(self, room, t1, carol, b1, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, b1);
	assert_int_equal(RUN(&r, S->threads_list(self, carol, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.threads[0].unread, 1);
	assert_int_equal(RUN(&r, S->thread_read(self, room, t1, carol, a1, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->thread_read(self, room, t1, carol, b1, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, a1);
	assert_int_equal(RUN(&r, S->threads_list(self, carol, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.threads[0].unread, 0);
	assert_int_equal(RUN(&r, S->thread_read(self, room, t2, carol, a1, res_done, &r)),
	                 PARLEY_ENOTFOUND);

	/* The list: the latest reply first, only the rooms asked for, paged
	 * after a root. */
	reply(&r, room, alice, t2, "alice in t2", 4200, 0, NULL);
	reply(&r, other, alice, t3, "alice in t3", 4150, 0, NULL);
	assert_int_equal(RUN(&r, S->threads_list(self, alice, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 3);
	assert_str(r.v.messages[0].id, t2);
	assert_str(r.v.messages[1].id, t3);
	assert_str(r.v.messages[1].room_id, other);
	assert_str(r.v.messages[2].id, t1);
	assert_int_equal(RUN(&r, S->threads_list(self, alice, rooms, NULL, 2, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_int_equal(r.v.more, 1);
	assert_int_equal(RUN(&r, S->threads_list(self, alice, rooms, t3, 2, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.more, 0);
	assert_str(r.v.messages[0].id, t1);
	assert_int_equal(RUN(&r, S->threads_list(self, alice, only_other, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_str(r.v.messages[0].id, t3);

	/* Unfollowing changes once; follows outlive a restart. */
	assert_int_equal(RUN(&r, S->thread_follow(self, room, t1, carol, 0, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->thread_follow(self, room, t1, carol, 0, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	contract_close();
	contract_reopen();
	assert_int_equal(RUN(&r, S->threads_list(self, carol, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
	/* bob wrote t3 (alice replied) and in t1 (alice replied after him). */
	assert_int_equal(RUN(&r, S->threads_list(self, bob, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_str(r.v.messages[0].id, t3);
	assert_int_equal(r.v.threads[0].unread, 1);
	assert_str(r.v.messages[1].id, t1);
	assert_int_equal(r.v.threads[1].unread, 1);
}

void test_threads_keep_their_place(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], root[ID_MAX], r1[ID_MAX], rooms[ID_MAX + 8];
	contract_open("threads_place");
	REQUIRE_THREADS();
	mk_user("alice", alice);
	mk_room("general", alice, room);
	snprintf(rooms, sizeof rooms, "[\"%s\"]", room);
	mk_message(room, alice, "root", NULL, root);
	reply(&r, room, alice, root, "one", 3000, 0, r1);
	reply(&r, room, alice, root, "two", 3100, 0, NULL);

	/* A deleted root keeps its thread: count, latest reply, replies, list;
	 * it takes no new replies. */
	assert_int_equal(RUN(&r, S->message_delete(self, room, root, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->message_get(self, room, root, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.messages[0].deleted, 1);
	assert_int_equal(r.v.threads[0].replies, 2);
	assert_int_equal(r.v.threads[0].last_reply_ts, 3100);
	assert_int_equal(RUN(&r, S->thread_history(self, room, root, 0, -1, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_int_equal(RUN(&r, S->threads_list(self, alice, rooms, NULL, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.messages[0].deleted, 1);
	parley_message m = {.room_id = room, .user_id = alice, .text = "late", .ts = 3200};
	assert_int_equal(RUN(&r, S->thread_append(self, &m, root, 0, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	/* A deleted reply keeps its place in the thread. */
	assert_int_equal(RUN(&r, S->message_delete(self, room, r1, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->thread_history(self, room, root, 0, -1, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_int_equal(r.v.messages[0].deleted, 1);
	assert_str(r.v.threads[0].thread_id, root);

	/* Retention tombstones keep the thread too. */
	if (!STORE_HAS(prune))
		return;
	char root2[ID_MAX];
	mk_message(room, alice, "root two", NULL, root2);
	reply(&r, room, alice, root2, "old reply", 2500, 0, NULL);
	assert_int_equal(RUN(&r, S->prune(self, room, 1000000, 100, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->message_get(self, room, root2, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.messages[0].deleted, 1);
	assert_int_equal(r.v.threads[0].replies, 1);
	assert_int_equal(RUN(&r, S->thread_history(self, room, root2, 0, -1, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.messages[0].deleted, 1);
	assert_str(r.v.threads[0].thread_id, root2);
}
