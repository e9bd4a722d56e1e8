/* Contract cases for messages: append and dedup, dense seq per room,
 * tombstones, history paging both ways, get/edit, reactions, and many
 * writers appending to one room at once. */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>
#include <string.h>

static parley_message msg(const char *room, const char *user, const char *text,
                          const char *client_id)
{
	parley_message m = {
	    .room_id = room, .user_id = user, .text = text, .client_id = client_id, .ts = 5000};
	return m;
}

static int64_t last_seq(const char *room)
{
	static struct res r;
	assert_int_equal(RUN(&r, S->room_get(self, room, NULL, res_done, &r)), PARLEY_OK);
	return r.v.rooms[0].last_seq;
}

/* The whole room, oldest first through `after` pages of `page`: its seqs
 * must be exactly 1..n. Returns n. */
static int64_t walk_forward(const char *room, int page)
{
	static struct res r;
	int64_t seen = 0;
	for (;;) {
		assert_int_equal(RUN(&r, S->history(self, room, 0, seen, page, res_done, &r)),
		                 PARLEY_OK);
		assert_true(r.v.n_messages <= (size_t)page);
		for (size_t i = 0; i < r.v.n_messages; i++)
			assert_int_equal(r.v.messages[i].seq, ++seen);
		if (!r.v.more)
			break;
		assert_int_equal(r.v.n_messages, page);
	}
	return seen;
}

/* Every field given to append comes back; id and seq are the store's. */
void test_append_fields(void **state)
{
	static struct res r;
	char alice[ID_MAX], room[ID_MAX];
	contract_open("append");
	mk_user("alice", alice);
	mk_room("general", alice, room);

	parley_message m = msg(room, alice, "héllo 👋", "c-1");
	m.reply_to = "m_0";
	m.mentions_json = "[\"u_2\"]";
	m.attachments_json = "[{\"id\":\"up_1\"}]";
	m.ts = 1700000000123;
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.duplicate, 0);
	const parley_message *o = &r.v.messages[0];
	assert_non_null(o->id);
	assert_true(strncmp(o->id, "m_", 2) == 0);
	assert_int_equal(o->seq, 1);
	assert_str(o->room_id, room);
	assert_str(o->user_id, alice);
	assert_str(o->text, "héllo 👋");
	assert_str(o->client_id, "c-1");
	assert_str(o->reply_to, "m_0");
	assert_str(o->mentions_json, "[\"u_2\"]");
	assert_str(o->attachments_json, "[{\"id\":\"up_1\"}]");
	assert_int_equal(o->ts, 1700000000123);
	assert_int_equal(o->edited_ts, 0);
	assert_int_equal(o->deleted, 0);
	assert_reactions(o->reactions_json, "{}");
	char id[ID_MAX];
	snprintf(id, sizeof id, "%s", o->id);

	/* And the same from the store, by message_get and in history. */
	assert_int_equal(RUN(&r, S->message_get(self, room, id, res_done, &r)), PARLEY_OK);
	o = &r.v.messages[0];
	assert_str(o->id, id);
	assert_str(o->text, "héllo 👋");
	assert_str(o->user_id, alice);
	assert_str(o->reply_to, "m_0");
	assert_str(o->mentions_json, "[\"u_2\"]");
	assert_str(o->attachments_json, "[{\"id\":\"up_1\"}]");
	assert_int_equal(o->ts, 1700000000123);
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_str(r.v.messages[0].id, id);
	assert_str(r.v.messages[0].client_id, "c-1");

	/* Optional members left NULL stay NULL. */
	parley_message bare = msg(room, alice, "bare", NULL);
	assert_int_equal(RUN(&r, S->append(self, &bare, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.messages[0].seq, 2);
	assert_true(strcmp(r.v.messages[0].id, id) != 0);
	assert_int_equal(RUN(&r, S->history(self, room, 0, 1, 10, res_done, &r)), PARLEY_OK);
	assert_null(r.v.messages[0].client_id);
	assert_null(r.v.messages[0].reply_to);

	/* A room that does not exist. */
	char missing[ID_MAX + 8];
	snprintf(missing, sizeof missing, "%s9", room);
	parley_message lost = msg(missing, alice, "x", NULL);
	assert_int_equal(RUN(&r, S->append(self, &lost, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(last_seq(room), 2);
}

/* (user, client_id) dedup: the resend reports the original and stores
 * nothing; another user's same client_id, and no client_id, are new. */
void test_append_dedup(void **state)
{
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], room[ID_MAX], other[ID_MAX], orig[ID_MAX];
	contract_open("dedup");
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("general", alice, room);
	mk_room("other", alice, other);

	assert_int_equal(mk_message(room, alice, "first", "c1", orig), 1);
	assert_int_equal(mk_message(room, alice, "second", "c2", NULL), 2);

	parley_message again = msg(room, alice, "first, edited by the client", "c1");
	assert_int_equal(RUN(&r, S->append(self, &again, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.duplicate, 1);
	assert_int_equal(r.v.n_messages, 1);
	assert_str(r.v.messages[0].id, orig);
	assert_int_equal(r.v.messages[0].seq, 1);
	assert_str(r.v.messages[0].text, "first");
	assert_int_equal(last_seq(room), 2);

	/* The key is the user's, whatever room the resend names. */
	parley_message elsewhere = msg(other, alice, "first", "c1");
	assert_int_equal(RUN(&r, S->append(self, &elsewhere, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.duplicate, 1);
	assert_str(r.v.messages[0].id, orig);
	assert_int_equal(last_seq(other), 0);

	/* Bob's c1 is his own. */
	parley_message bobs = msg(room, bob, "bob's", "c1");
	assert_int_equal(RUN(&r, S->append(self, &bobs, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.duplicate, 0);
	assert_int_equal(r.v.messages[0].seq, 3);

	/* Without client_id nothing is deduplicated. */
	assert_int_equal(mk_message(room, alice, "same", NULL, NULL), 4);
	assert_int_equal(mk_message(room, alice, "same", NULL, NULL), 5);

	/* A duplicate of an edited, reacted message reports it as it is now. */
	assert_int_equal(
	    RUN(&r, S->message_edit(self, room, orig, "first!", NULL, 7000, res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(RUN(&r, S->react(self, room, orig, bob, "👍", 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->append(self, &again, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.duplicate, 1);
	assert_str(r.v.messages[0].text, "first!");
	assert_int_equal(r.v.messages[0].edited_ts, 7000);
	assert_int_equal(walk_forward(room, 10), 5);
}

/* Interleaved appends to three rooms: each room counts 1, 2, 3… on its own. */
void test_seq_dense_per_room(void **state)
{
	enum { ROOMS = 3, PER = 12 };
	static struct res r;
	char alice[ID_MAX], rooms[ROOMS][ID_MAX];
	contract_open("seq");
	mk_user("alice", alice);
	for (int i = 0; i < ROOMS; i++) {
		char name[16];
		snprintf(name, sizeof name, "room%d", i);
		mk_room(name, alice, rooms[i]);
		assert_int_equal(last_seq(rooms[i]), 0);
	}
	for (int k = 1; k <= PER; k++)
		for (int i = 0; i < ROOMS; i++)
			if (k % (i + 1) == 0)
				mk_message(rooms[i], alice, "x", NULL, NULL);
	int64_t want[ROOMS];
	for (int i = 0; i < ROOMS; i++) {
		want[i] = walk_forward(rooms[i], 5);
		assert_int_equal(last_seq(rooms[i]), want[i]);
	}
	assert_int_equal(want[0], PER);
	assert_int_equal(want[1], PER / 2);
	assert_int_equal(want[2], PER / 3);
	/* rooms_list carries the same last_seq. */
	assert_int_equal(RUN(&r, S->rooms_list(self, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_rooms, ROOMS);
	for (size_t j = 0; j < r.v.n_rooms; j++)
		for (int i = 0; i < ROOMS; i++)
			if (strcmp(r.v.rooms[j].id, rooms[i]) == 0)
				assert_int_equal(r.v.rooms[j].last_seq, want[i]);
}

/* A delete leaves a tombstone: seq kept, text, attachments and reactions
 * gone, nothing more can be done to it, and seq is never reused. */
void test_tombstone(void **state)
{
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], room[ID_MAX], id[ID_MAX];
	contract_open("tombstone");
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("general", alice, room);
	mk_message(room, alice, "one", NULL, NULL);
	parley_message m = msg(room, alice, "two", "c2");
	m.attachments_json = "[{\"id\":\"up_9\"}]";
	m.mentions_json = "[\"u_9\"]";
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	snprintf(id, sizeof id, "%s", r.v.messages[0].id);
	mk_message(room, alice, "three", NULL, NULL);
	assert_int_equal(RUN(&r, S->react(self, room, id, bob, "🎉", 1, res_done, &r)), PARLEY_OK);

	assert_int_equal(RUN(&r, S->message_delete(self, room, id, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 3);
	const parley_message *t = &r.v.messages[1];
	assert_str(t->id, id);
	assert_int_equal(t->seq, 2);
	assert_int_equal(t->deleted, 1);
	assert_null(t->text);
	assert_null(t->attachments_json);
	assert_reactions(t->reactions_json, "{}");
	assert_str(t->user_id, alice);
	assert_str(r.v.messages[0].text, "one");
	assert_str(r.v.messages[2].text, "three");
	/* message_get finds the tombstone as a tombstone. */
	assert_int_equal(RUN(&r, S->message_get(self, room, id, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.messages[0].deleted, 1);
	assert_null(r.v.messages[0].text);

	assert_int_equal(RUN(&r, S->message_edit(self, room, id, "back", NULL, 9000, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->react(self, room, id, bob, "👍", 1, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->message_get(self, room, id, res_done, &r)), PARLEY_OK);
	assert_null(r.v.messages[0].text);
	assert_reactions(r.v.messages[0].reactions_json, "{}");

	/* The next message takes the next seq; the room's count is unchanged. */
	assert_int_equal(last_seq(room), 3);
	assert_int_equal(mk_message(room, alice, "four", NULL, NULL), 4);
	/* A resend of the deleted message's client_id is still a duplicate:
	 * the client must not post it again. */
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.duplicate, 1);
	assert_int_equal(r.v.messages[0].seq, 2);
	assert_int_equal(r.v.messages[0].deleted, 1);
	assert_int_equal(walk_forward(room, 2), 4);

	/* Unknown messages and rooms. */
	char room2[ID_MAX];
	mk_room("second", alice, room2);
	assert_int_equal(RUN(&r, S->message_delete(self, room2, id, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	char nosuch[ID_MAX + 8];
	snprintf(nosuch, sizeof nosuch, "%s77", id);
	assert_int_equal(RUN(&r, S->message_delete(self, room, nosuch, res_done, &r)),
	                 PARLEY_ENOTFOUND);
}

/* history: newest (oldest first), before (newest first), after (oldest
 * first), limits, `more`, and both walks covering the room exactly. */
void test_history_paging(void **state)
{
	enum { N = 25 };
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], empty[ID_MAX];
	contract_open("history");
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_room("empty", alice, empty);

	assert_int_equal(RUN(&r, S->history(self, empty, 0, -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
	assert_int_equal(r.v.more, 0);
	assert_int_equal(RUN(&r, S->history(self, empty, 0, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
	assert_int_equal(r.v.more, 0);

	for (int i = 1; i <= N; i++) {
		char text[16];
		snprintf(text, sizeof text, "m%d", i);
		assert_int_equal(mk_message(room, alice, text, NULL, NULL), i);
	}

	/* The newest page, oldest first. */
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 10);
	assert_int_equal(r.v.more, 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(r.v.messages[i].seq, 16 + i);
	assert_str(r.v.messages[9].text, "m25");
	/* All of it, as the newest page: nothing more. */
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, N, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, N);
	assert_int_equal(r.v.more, 0);
	assert_int_equal(r.v.messages[0].seq, 1);

	/* Backwards: newest first below `before`. */
	assert_int_equal(RUN(&r, S->history(self, room, 16, -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 10);
	assert_int_equal(r.v.more, 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(r.v.messages[i].seq, 15 - i);
	assert_int_equal(RUN(&r, S->history(self, room, 6, -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 5);
	assert_int_equal(r.v.more, 0);
	assert_int_equal(r.v.messages[0].seq, 5);
	assert_int_equal(r.v.messages[4].seq, 1);
	assert_int_equal(RUN(&r, S->history(self, room, 11, -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 10);
	assert_int_equal(r.v.more, 0);
	assert_int_equal(RUN(&r, S->history(self, room, 1, -1, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
	assert_int_equal(r.v.more, 0);
	/* before wins over after. */
	assert_int_equal(RUN(&r, S->history(self, room, 4, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 3);
	assert_int_equal(r.v.messages[0].seq, 3);
	/* before past the end: the newest, newest first. */
	assert_int_equal(RUN(&r, S->history(self, room, 1000, -1, 3, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 3);
	assert_int_equal(r.v.messages[0].seq, N);
	assert_int_equal(r.v.more, 1);

	/* Forwards: oldest first above `after`. */
	assert_int_equal(RUN(&r, S->history(self, room, 0, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 10);
	assert_int_equal(r.v.more, 1);
	assert_int_equal(r.v.messages[0].seq, 1);
	assert_int_equal(RUN(&r, S->history(self, room, 0, 20, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 5);
	assert_int_equal(r.v.more, 0);
	assert_int_equal(r.v.messages[0].seq, 21);
	assert_str(r.v.messages[4].text, "m25");
	/* Exactly the limit left: nothing more. */
	assert_int_equal(RUN(&r, S->history(self, room, 0, 15, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 10);
	assert_int_equal(r.v.more, 0);
	assert_int_equal(RUN(&r, S->history(self, room, 0, N, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
	assert_int_equal(r.v.more, 0);

	/* One at a time, both ways, covering the room with no gap. */
	assert_int_equal(walk_forward(room, 1), N);
	int64_t before = N + 1, seen = 0;
	for (;;) {
		assert_int_equal(RUN(&r, S->history(self, room, before, -1, 7, res_done, &r)),
		                 PARLEY_OK);
		for (size_t i = 0; i < r.v.n_messages; i++) {
			assert_int_equal(r.v.messages[i].seq, before - 1);
			before--;
			seen++;
		}
		if (!r.v.more)
			break;
	}
	assert_int_equal(seen, N);
	assert_int_equal(before, 1);

	/* Limits are 1..1000: outside is EINVAL (returned or reported). */
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.messages[0].seq, N);
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 1000, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, N);
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 0, res_done, &r)), PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 1001, res_done, &r)), PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, -5, res_done, &r)), PARLEY_EINVAL);

	char missing[ID_MAX + 8];
	snprintf(missing, sizeof missing, "%s9", room);
	assert_int_equal(RUN(&r, S->history(self, missing, 0, -1, 10, res_done, &r)),
	                 PARLEY_ENOTFOUND);
}

/* message_get in its room only; edit replaces text and mentions, sets
 * edited_ts, keeps everything else. */
void test_get_edit(void **state)
{
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], other[ID_MAX], id[ID_MAX];
	contract_open("edit");
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_room("other", alice, other);
	mk_message(room, alice, "zero", NULL, NULL);
	parley_message m = msg(room, alice, "hello", "c1");
	m.mentions_json = "[\"u_1\"]";
	m.reply_to = "m_1";
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	snprintf(id, sizeof id, "%s", r.v.messages[0].id);

	assert_int_equal(RUN(&r, S->message_get(self, room, id, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.messages[0].seq, 2);
	assert_str(r.v.messages[0].text, "hello");
	assert_int_equal(RUN(&r, S->message_get(self, other, id, res_done, &r)), PARLEY_ENOTFOUND);
	char nosuch[ID_MAX + 8];
	snprintf(nosuch, sizeof nosuch, "%s77", id);
	assert_int_equal(RUN(&r, S->message_get(self, room, nosuch, res_done, &r)),
	                 PARLEY_ENOTFOUND);

	assert_int_equal(RUN(&r, S->message_edit(self, room, id, "hello, world", "[\"u_2\"]", 1234,
	                                         res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	const parley_message *e = &r.v.messages[0];
	assert_str(e->id, id);
	assert_str(e->text, "hello, world");
	assert_str(e->mentions_json, "[\"u_2\"]");
	assert_int_equal(e->edited_ts, 1234);
	assert_int_equal(e->seq, 2);
	assert_int_equal(e->ts, 5000);
	assert_str(e->client_id, "c1");
	assert_str(e->reply_to, "m_1");
	assert_int_equal(RUN(&r, S->message_get(self, room, id, res_done, &r)), PARLEY_OK);
	assert_str(r.v.messages[0].text, "hello, world");
	assert_int_equal(r.v.messages[0].edited_ts, 1234);
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 10, res_done, &r)), PARLEY_OK);
	assert_str(r.v.messages[1].text, "hello, world");
	assert_str(r.v.messages[1].mentions_json, "[\"u_2\"]");
	/* The edit's result carries the reactions, which the edit keeps. */
	assert_int_equal(RUN(&r, S->react(self, room, id, alice, "👀", 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->message_edit(self, room, id, "hello, again", "[\"u_2\"]", 1250,
	                                         res_done, &r)),
	                 PARLEY_OK);
	char want[128];
	snprintf(want, sizeof want, "{\"👀\":[\"%s\"]}", alice);
	assert_reactions(r.v.messages[0].reactions_json, want);
	/* Mentions may be cleared. */
	assert_int_equal(
	    RUN(&r, S->message_edit(self, room, id, "plain", NULL, 1300, res_done, &r)), PARLEY_OK);
	assert_null(r.v.messages[0].mentions_json);
	assert_int_equal(r.v.messages[0].edited_ts, 1300);
	assert_int_equal(last_seq(room), 2);

	assert_int_equal(
	    RUN(&r, S->message_edit(self, other, id, "elsewhere", NULL, 1, res_done, &r)),
	    PARLEY_ENOTFOUND);
	assert_int_equal(
	    RUN(&r, S->message_edit(self, room, nosuch, "nothing", NULL, 1, res_done, &r)),
	    PARLEY_ENOTFOUND);
}

/* react: add is idempotent, remove takes one user's one emoji, the
 * message's reactions come back with every message read. */
void test_react(void **state)
{
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], room[ID_MAX], other[ID_MAX], id[ID_MAX], want[256];
	contract_open("react");
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("general", alice, room);
	mk_room("other", alice, other);
	mk_message(room, alice, "hello", NULL, id);

	assert_int_equal(RUN(&r, S->react(self, room, id, alice, "👍", 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_str(r.v.messages[0].id, id);
	snprintf(want, sizeof want, "{\"👍\":[\"%s\"]}", alice);
	assert_reactions(r.v.messages[0].reactions_json, want);
	assert_int_equal(RUN(&r, S->react(self, room, id, bob, "🎉", 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->react(self, room, id, bob, "👍", 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->react(self, room, id, bob, "👍", 1, res_done, &r)), PARLEY_OK);
	snprintf(want, sizeof want, "{\"👍\":[\"%s\",\"%s\"],\"🎉\":[\"%s\"]}", alice, bob, bob);
	assert_reactions(r.v.messages[0].reactions_json, want);

	/* Remove one; removing what is not there changes nothing. */
	assert_int_equal(RUN(&r, S->react(self, room, id, bob, "🎉", 0, res_done, &r)), PARLEY_OK);
	snprintf(want, sizeof want, "{\"👍\":[\"%s\",\"%s\"]}", alice, bob);
	assert_reactions(r.v.messages[0].reactions_json, want);
	assert_int_equal(RUN(&r, S->react(self, room, id, bob, "🎉", 0, res_done, &r)), PARLEY_OK);
	assert_reactions(r.v.messages[0].reactions_json, want);
	assert_int_equal(RUN(&r, S->react(self, room, id, alice, "😀", 0, res_done, &r)), PARLEY_OK);
	assert_reactions(r.v.messages[0].reactions_json, want);

	/* Read back by history and message_get. */
	assert_int_equal(RUN(&r, S->history(self, room, 0, -1, 10, res_done, &r)), PARLEY_OK);
	assert_reactions(r.v.messages[0].reactions_json, want);
	assert_int_equal(RUN(&r, S->history(self, room, 0, 0, 10, res_done, &r)), PARLEY_OK);
	assert_reactions(r.v.messages[0].reactions_json, want);
	assert_int_equal(RUN(&r, S->message_get(self, room, id, res_done, &r)), PARLEY_OK);
	assert_reactions(r.v.messages[0].reactions_json, want);

	/* Everyone's last reaction removed: none left. */
	assert_int_equal(RUN(&r, S->react(self, room, id, alice, "👍", 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->react(self, room, id, bob, "👍", 0, res_done, &r)), PARLEY_OK);
	assert_reactions(r.v.messages[0].reactions_json, "{}");

	/* Keys the store must escape: the reactions stay one valid object. */
	assert_int_equal(RUN(&r, S->react(self, room, id, bob, "\"\\}", 1, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(
	    RUN(&r, S->react(self, room, id, alice, "👩‍👩‍👧", 1, res_done, &r)),
	    PARLEY_OK);
	snprintf(want, sizeof want, "{\"\\\"\\\\}\":[\"%s\"],\"👩‍👩‍👧\":[\"%s\"]}", bob,
	         alice);
	assert_reactions(r.v.messages[0].reactions_json, want);

	/* Not found: another room, an unknown message. */
	assert_int_equal(RUN(&r, S->react(self, other, id, bob, "👍", 1, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	char nosuch[ID_MAX + 8];
	snprintf(nosuch, sizeof nosuch, "%s77", id);
	assert_int_equal(RUN(&r, S->react(self, room, nosuch, bob, "👍", 1, res_done, &r)),
	                 PARLEY_ENOTFOUND);
}

/* Many writers, every append in flight before the first ack: every ack is
 * OK with a unique seq, and the seqs are exactly 1..n with no hole. */
void test_concurrent_appends(void **state)
{
	enum { WRITERS = 8 };
	long per = contract_env_long("PARLEY_CONTRACT_APPENDS", 50);
	size_t n = (size_t)(WRITERS * per);
	static struct res acks[WRITERS * 1000];
	assert_true(per > 0 && per <= 1000);
	char users[WRITERS][ID_MAX], room[ID_MAX];
	contract_open("concurrent");
	for (int w = 0; w < WRITERS; w++) {
		char name[16];
		snprintf(name, sizeof name, "writer%d", w);
		mk_user(name, users[w]);
	}
	mk_room("busy", users[0], room);

	static char cids[WRITERS * 1000][24];
	for (long k = 0; k < per; k++)
		for (int w = 0; w < WRITERS; w++) {
			size_t i = (size_t)(k * WRITERS + w);
			snprintf(cids[i], sizeof cids[i], "w%d-%ld", w, k);
			parley_message m = msg(room, users[w], cids[i], cids[i]);
			res_reset(&acks[i]);
			assert_int_equal(S->append(self, &m, res_done, &acks[i]), PARLEY_PENDING);
		}
	res_wait_all(acks, n);

	static unsigned char seen[WRITERS * 1000 + 1];
	memset(seen, 0, sizeof seen);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(acks[i].rc, PARLEY_OK);
		assert_int_equal(acks[i].v.duplicate, 0);
		int64_t seq = acks[i].v.messages[0].seq;
		assert_true(seq >= 1 && seq <= (int64_t)n);
		assert_int_equal(seen[seq], 0);
		seen[seq] = 1;
		assert_str(acks[i].v.messages[0].text, cids[i]);
	}
	assert_int_equal(last_seq(room), (int64_t)n);
	assert_int_equal(walk_forward(room, 1000), (int64_t)n);
	static struct res r;
	/* The stored text is the acked one at the acked seq. */
	assert_int_equal(RUN(&r, S->history(self, room, 0, 0, 1000, res_done, &r)), PARLEY_OK);
	for (size_t i = 0; i < n && i < 1000; i++) {
		int64_t seq = acks[i].v.messages[0].seq;
		if (seq <= (int64_t)r.v.n_messages)
			assert_str(r.v.messages[seq - 1].text, cids[i]);
	}
	for (size_t i = 0; i < n; i++)
		res_reset(&acks[i]);
}

/* The same (user, client_id) twice in flight at once, as a client that
 * resends after a reconnect before the first ack: one message, and both
 * acks name it. */
void test_dedup_in_flight(void **state)
{
	enum { SAME = 4 };
	static struct res acks[SAME];
	char alice[ID_MAX], room[ID_MAX];
	contract_open("dedupfly");
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_message(room, alice, "before", NULL, NULL);
	for (int i = 0; i < SAME; i++) {
		parley_message m = msg(room, alice, "once", "resent");
		res_reset(&acks[i]);
		assert_int_equal(S->append(self, &m, res_done, &acks[i]), PARLEY_PENDING);
	}
	res_wait_all(acks, SAME);
	int originals = 0;
	for (int i = 0; i < SAME; i++) {
		assert_int_equal(acks[i].rc, PARLEY_OK);
		assert_int_equal(acks[i].v.messages[0].seq, 2);
		assert_str(acks[i].v.messages[0].id, acks[0].v.messages[0].id);
		originals += !acks[i].v.duplicate;
	}
	assert_int_equal(originals, 1);
	assert_int_equal(last_seq(room), 2);
	assert_int_equal(walk_forward(room, 10), 2);
	for (int i = 0; i < SAME; i++)
		res_reset(&acks[i]);
}

/* Appends that fail (no such room, no such user) use no seq: the next
 * good append takes the next number, also with the failures in flight
 * among good ones. */
void test_failed_appends_leave_no_hole(void **state)
{
	enum { N = 30 };
	static struct res acks[N];
	char alice[ID_MAX], room[ID_MAX], noroom[ID_MAX + 8], nouser[ID_MAX + 8];
	contract_open("nohole");
	mk_user("alice", alice);
	mk_room("general", alice, room);
	snprintf(noroom, sizeof noroom, "%s77", room);
	snprintf(nouser, sizeof nouser, "%s77", alice);
	assert_int_equal(mk_message(room, alice, "one", NULL, NULL), 1);

	/* An unknown user: refused or stored, never a hole. */
	static struct res r;
	parley_message ghost = msg(room, nouser, "boo", NULL);
	int rc = RUN(&r, S->append(self, &ghost, res_done, &r));
	int64_t next = rc == PARLEY_OK ? 3 : 2;
	if (rc != PARLEY_OK)
		assert_true(rc == PARLEY_ENOTFOUND || rc == PARLEY_EINVAL);
	assert_int_equal(mk_message(room, alice, "two", NULL, NULL), next);

	/* Every third in flight names a room that does not exist. */
	int good = 0;
	for (int i = 0; i < N; i++) {
		parley_message m = msg(i % 3 == 1 ? noroom : room, alice, "x", NULL);
		res_reset(&acks[i]);
		assert_int_equal(S->append(self, &m, res_done, &acks[i]), PARLEY_PENDING);
		good += i % 3 != 1;
	}
	res_wait_all(acks, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(acks[i].rc, i % 3 == 1 ? PARLEY_ENOTFOUND : PARLEY_OK);
		res_reset(&acks[i]);
	}
	assert_int_equal(last_seq(room), next + good);
	assert_int_equal(walk_forward(room, 7), next + good);
	assert_int_equal(mk_message(room, alice, "last", NULL, NULL), next + good + 1);
}

static void assert_not_there(int rc, const char *id)
{
	if (rc != PARLEY_ENOTFOUND && rc != PARLEY_EINVAL)
		fail_msg("id \"%.40s\" of another kind: rc %d", id, rc);
}

/* Ids come from clients: malformed or foreign ones are never found and
 * never crash the store (ENOTFOUND, or EINVAL for a malformed one). */
void test_foreign_ids(void **state)
{
	static const char *const bad[] = {
	    "",       "m_",   "m_0", "m_-1", "m_99999999999999999999999",
	    "m_1'--", "m_1 ", "x",   "%s%n", "m_1\"}",
	};
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], msgid[ID_MAX];
	contract_open("ids");
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_message(room, alice, "hello", NULL, msgid);
	char longid[600];
	memset(longid, '9', sizeof longid - 1);
	longid[0] = 'm', longid[1] = '_', longid[sizeof longid - 1] = '\0';
	for (size_t i = 0; i <= sizeof bad / sizeof *bad; i++) {
		const char *id = i < sizeof bad / sizeof *bad ? bad[i] : longid;
		int rc;
#define NOT_THERE(call)                                                                            \
	do {                                                                                       \
		rc = RUN(&r, call);                                                                \
		if (rc != PARLEY_ENOTFOUND && rc != PARLEY_EINVAL)                                 \
			fail_msg("%s with id \"%.40s\": rc %d", #call, id, rc);                    \
	} while (0)
		NOT_THERE(S->message_get(self, room, id, res_done, &r));
		NOT_THERE(S->message_get(self, id, msgid, res_done, &r));
		NOT_THERE(S->message_edit(self, room, id, "x", NULL, 1, res_done, &r));
		NOT_THERE(S->message_delete(self, room, id, res_done, &r));
		NOT_THERE(S->react(self, room, id, alice, "👍", 1, res_done, &r));
		NOT_THERE(S->room_get(self, id, NULL, res_done, &r));
		NOT_THERE(S->room_set_topic(self, id, "x", res_done, &r));
		NOT_THERE(S->history(self, id, 0, -1, 10, res_done, &r));
		NOT_THERE(S->user_get(self, id, NULL, res_done, &r));
		NOT_THERE(S->member_set(self, room, id, "member", res_done, &r));
		NOT_THERE(S->member_set(self, id, alice, "member", res_done, &r));
		NOT_THERE(S->read_set(self, id, alice, 1, res_done, &r));
		parley_message m = {.room_id = id, .user_id = alice, .text = "x"};
		NOT_THERE(S->append(self, &m, res_done, &r));
		if (STORE_HAS(upload_get))
			NOT_THERE(S->upload_get(self, id, res_done, &r));
#undef NOT_THERE
	}
	/* An id of one kind never finds a record of another. */
	assert_not_there(RUN(&r, S->message_get(self, room, room, res_done, &r)), room);
	assert_not_there(RUN(&r, S->message_get(self, room, alice, res_done, &r)), alice);
	assert_not_there(RUN(&r, S->user_get(self, room, NULL, res_done, &r)), room);
	assert_not_there(RUN(&r, S->user_get(self, msgid, NULL, res_done, &r)), msgid);
	assert_not_there(RUN(&r, S->room_get(self, alice, NULL, res_done, &r)), alice);
	assert_not_there(RUN(&r, S->room_get(self, msgid, NULL, res_done, &r)), msgid);
	/* The room is untouched. */
	assert_int_equal(last_seq(room), 1);
	assert_int_equal(RUN(&r, S->message_get(self, room, msgid, res_done, &r)), PARLEY_OK);
	assert_str(r.v.messages[0].text, "hello");
}
