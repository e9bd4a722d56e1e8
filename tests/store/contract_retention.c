/* Retention (issue 17): prune in batches behind the room's pruned mark,
 * dry runs, named leases, a room's own retention, the edit history. Each
 * member is optional: tested only when the store's vtable has it. */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>
#include <string.h>

/* Appends text at ts; the id into out. */
static int64_t mk_at(const char *room, const char *user, const char *text, int64_t ts, char *out)
{
	static struct res r;
	parley_message m = {.room_id = room, .user_id = user, .text = text, .ts = ts};
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	if (out)
		snprintf(out, ID_MAX, "%s", r.v.messages[0].id);
	return r.v.messages[0].seq;
}

void test_prune(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], other[ID_MAX], ids[6][ID_MAX], up[ID_MAX];
	contract_open("prune");
	REQUIRE_MEMBER(prune);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_room("other", alice, other);
	/* ts 1000..5000 and a late-acked old one: the prefix stops at 4000. */
	int64_t ts[6] = {1000, 2000, 3000, 9000, 1500, 9500};
	for (int i = 0; i < 6; i++)
		mk_at(room, alice, "old text", ts[i], ids[i]);
	mk_at(other, alice, "elsewhere", 1000, NULL);
	assert_int_equal(RUN(&r, S->react(self, room, ids[0], alice, "👍", 1, res_done, &r)),
	                 PARLEY_OK);
	if (STORE_HAS(upload_create)) {
		parley_upload u = {.user_id = alice,
		                   .name = "a.txt",
		                   .type = "text/plain",
		                   .sha256 = "00",
		                   .key = "k-prune",
		                   .size = 3,
		                   .created_ts = 900};
		assert_int_equal(RUN(&r, S->upload_create(self, &u, res_done, &r)), PARLEY_OK);
		snprintf(up, sizeof up, "%s", r.v.uploads[0].id);
		assert_int_equal(
		    RUN(&r, S->upload_attach(self, up, alice, room, ids[1], res_done, &r)),
		    PARLEY_OK);
	}

	/* A dry run counts the whole due prefix and writes nothing. */
	assert_int_equal(RUN(&r, S->prune(self, room, 4000, 2, 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 3);
	assert_int_equal(r.v.n_messages, 2);
	assert_int_equal(r.v.more, 1);
	assert_int_equal(RUN(&r, S->message_get(self, room, ids[0], res_done, &r)), PARLEY_OK);
	assert_str(r.v.messages[0].text, "old text");

	/* Batches of two: seqs 1-2, then 3, then nothing (seq 4 is young). */
	assert_int_equal(RUN(&r, S->prune(self, room, 4000, 2, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_int_equal(r.v.value, 2);
	assert_int_equal(r.v.more, 1);
	assert_int_equal(r.v.messages[0].seq, 1);
	assert_int_equal(r.v.messages[1].seq, 2);
	if (STORE_HAS(upload_create)) {
		assert_int_equal(r.v.n_uploads, 1);
		assert_str(r.v.uploads[0].id, up);
		assert_str(r.v.uploads[0].key, "k-prune");
		assert_null(r.v.uploads[0].message_id);
	}
	assert_int_equal(RUN(&r, S->prune(self, room, 4000, 2, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.value, 3);
	assert_int_equal(r.v.more, 0);
	assert_int_equal(RUN(&r, S->prune(self, room, 4000, 2, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
	assert_int_equal(r.v.value, 3);

	/* Tombstones keep their seq, lose text, reactions, attachments. */
	assert_int_equal(RUN(&r, S->history(self, room, 0, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 6);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r.v.messages[i].seq, i + 1);
		assert_true(r.v.messages[i].deleted);
		assert_null(r.v.messages[i].text);
		assert_reactions(r.v.messages[i].reactions_json, NULL);
	}
	assert_str(r.v.messages[3].text, "old text");
	/* The old message behind a young one waits (the prefix rule). */
	assert_false(r.v.messages[4].deleted);

	/* The mark survives a restart; other rooms are untouched. */
	contract_close();
	contract_reopen();
	assert_int_equal(RUN(&r, S->prune(self, room, 4000, 10, 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	assert_int_equal(RUN(&r, S->prune(self, room, 10000, 10, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 3);
	assert_int_equal(r.v.messages[0].seq, 4);
	assert_int_equal(r.v.value, 6);
	assert_int_equal(RUN(&r, S->history(self, other, 0, 0, 10, res_done, &r)), PARLEY_OK);
	assert_str(r.v.messages[0].text, "elsewhere");

	/* Bad arguments and unknown rooms. */
	assert_int_equal(RUN(&r, S->prune(self, room, 4000, 0, 0, res_done, &r)), PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->prune(self, "r_99999", 4000, 5, 0, res_done, &r)),
	                 PARLEY_ENOTFOUND);
}

void test_lease(void **state)
{
	(void)state;
	static struct res r;
	contract_open("lease");
	REQUIRE_MEMBER(lease);
	assert_int_equal(RUN(&r, S->lease(self, "prune", "node-a", 1000, 10000, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 11000);
	/* Another holder waits while it runs; the holder renews. */
	assert_int_equal(RUN(&r, S->lease(self, "prune", "node-b", 1000, 10500, res_done, &r)),
	                 PARLEY_ECONFLICT);
	assert_int_equal(RUN(&r, S->lease(self, "prune", "node-a", 1000, 10500, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 11500);
	/* Other names are independent. */
	assert_int_equal(RUN(&r, S->lease(self, "backup", "node-b", 1000, 10500, res_done, &r)),
	                 PARLEY_OK);
	/* Expired: taken over. */
	assert_int_equal(RUN(&r, S->lease(self, "prune", "node-b", 1000, 11500, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->lease(self, "prune", "node-a", 1000, 11600, res_done, &r)),
	                 PARLEY_ECONFLICT);
	/* Released by its holder only (someone else's release is a no-op). */
	assert_int_equal(RUN(&r, S->lease(self, "prune", "node-a", 0, 11600, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->lease(self, "prune", "node-a", 1000, 11600, res_done, &r)),
	                 PARLEY_ECONFLICT);
	assert_int_equal(RUN(&r, S->lease(self, "prune", "node-b", 0, 11600, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->lease(self, "prune", "node-a", 1000, 11600, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->lease(self, "", "node-a", 1000, 0, res_done, &r)),
	                 PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->lease(self, "prune", NULL, 1000, 0, res_done, &r)),
	                 PARLEY_EINVAL);
}

void test_room_retention(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX];
	contract_open("room_retention");
	REQUIRE_MEMBER(room_retention_set);
	REQUIRE_MEMBER(room_retention_get);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	assert_int_equal(RUN(&r, S->room_retention_get(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	assert_int_equal(RUN(&r, S->room_retention_set(self, room, 86400000, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 86400000);
	contract_close();
	contract_reopen();
	assert_int_equal(RUN(&r, S->room_retention_get(self, room, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 86400000);
	assert_int_equal(RUN(&r, S->room_retention_set(self, room, -1, res_done, &r)),
	                 PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->room_retention_set(self, "r_99999", 5, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->room_retention_get(self, "r_99999", res_done, &r)),
	                 PARLEY_ENOTFOUND);
}

void test_edits_history(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], other[ID_MAX], id[ID_MAX];
	contract_open("edits_history");
	REQUIRE_MEMBER(edits_list);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_room("other", alice, other);
	mk_at(room, alice, "first", 1000, id);
	assert_int_equal(RUN(&r, S->edits_list(self, room, id, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_str(r.v.messages[0].text, "first");
	assert_int_equal(r.v.messages[0].ts, 1000);
	assert_int_equal(
	    RUN(&r, S->message_edit(self, room, id, "second", NULL, 2000, res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(
	    RUN(&r, S->message_edit(self, room, id, "third", "[\"u_1\"]", 3000, res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(RUN(&r, S->edits_list(self, room, id, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 3);
	const char *texts[3] = {"first", "second", "third"};
	int64_t tss[3] = {1000, 2000, 3000};
	for (int i = 0; i < 3; i++) {
		assert_str(r.v.messages[i].id, id);
		assert_str(r.v.messages[i].user_id, alice);
		assert_str(r.v.messages[i].text, texts[i]);
		assert_int_equal(r.v.messages[i].ts, tss[i]);
	}
	assert_str(r.v.messages[2].mentions_json, "[\"u_1\"]");
	assert_int_equal(RUN(&r, S->edits_list(self, other, id, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->edits_list(self, room, "m_99999", res_done, &r)),
	                 PARLEY_ENOTFOUND);

	/* A deleted message keeps no earlier versions either. */
	char gone[ID_MAX];
	mk_at(room, alice, "to delete", 1500, gone);
	assert_int_equal(
	    RUN(&r, S->message_edit(self, room, gone, "edited", NULL, 1600, res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(RUN(&r, S->message_delete(self, room, gone, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->edits_list(self, room, gone, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_null(r.v.messages[0].text);
	assert_true(r.v.messages[0].deleted);

	/* Pruned with the message. */
	if (STORE_HAS(prune)) {
		assert_int_equal(RUN(&r, S->prune(self, room, 5000, 10, 0, res_done, &r)),
		                 PARLEY_OK);
		assert_int_equal(r.v.n_messages, 2);
		assert_int_equal(RUN(&r, S->edits_list(self, room, id, res_done, &r)), PARLEY_OK);
		assert_int_equal(r.v.n_messages, 1);
		assert_null(r.v.messages[0].text);
		assert_true(r.v.messages[0].deleted);
	}
}
