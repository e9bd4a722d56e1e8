/* records_write of every kind into an empty store, in store_sqlite's record
 * format (the format `parley store copy` moves between stores): the
 * ordinary calls then read those records back with their ids, seqs, times,
 * password hashes and dedup keys; records_read returns what was written;
 * and the store goes on from them (the next user id, the next seq). Run on
 * every store, it is what makes a copy between two stores lossless. */
#include "contract.h"
#include "contract_cases.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *kind, *json;
} RECORDS[] = {
    {"users", "[{\"id\":7,\"name\":\"Ann\",\"display_name\":\"Ann A\",\"role\":\"admin\","
              "\"email\":\"Ann@Example.org\",\"password_hash\":\"$argon2id$v=19$x\","
              "\"disabled\":0,\"created_ts\":1000},"
              "{\"id\":9,\"name\":\"ben\",\"display_name\":null,\"role\":\"member\","
              "\"email\":null,\"password_hash\":null,\"disabled\":1,\"created_ts\":1001}]"},
    {"rooms", "[{\"id\":3,\"name\":\"Lab\",\"kind\":\"public\",\"topic\":\"bench\","
              "\"created_by\":7,\"created_ts\":1100,\"last_seq\":2,\"pruned_seq\":0,"
              "\"retention_ms\":5000}]"},
    {"members", "[{\"room\":3,\"user\":7,\"role\":\"owner\",\"read_seq\":2},"
                "{\"room\":3,\"user\":9,\"role\":\"member\",\"read_seq\":1}]"},
    {"messages",
     "[{\"id\":40,\"room\":3,\"seq\":1,\"user\":7,\"text\":\"hello\",\"ts\":1200,"
     "\"client_id\":\"c1\",\"reply_to\":null,\"mentions_json\":null,\"attachments_json\":null,"
     "\"edited_ts\":0,\"deleted\":0},"
     "{\"id\":41,\"room\":3,\"seq\":2,\"user\":9,\"text\":\"hi\",\"ts\":1300,"
     "\"client_id\":null,\"reply_to\":\"m_40\",\"mentions_json\":\"[\\\"u_7\\\"]\","
     "\"attachments_json\":null,\"edited_ts\":1400,\"deleted\":0}]"},
    {"reactions", "[{\"message\":40,\"user\":9,\"emoji\":\"\xf0\x9f\x91\x8d\"}]"},
    /* Message 41's text before its edit at 1400. */
    {"edits", "[{\"id\":6,\"message\":41,\"text\":\"hi?\",\"mentions_json\":null,"
              "\"ts\":1300}]"},
    {"room_settings", "[{\"room\":3,\"json\":\"{\\\"may_post\\\":\\\"owners\\\"}\"}]"},
    {"thread_follows", "[{\"root\":40,\"user\":9,\"read_seq\":2}]"},
    {"uploads", "[{\"id\":5,\"user\":7,\"name\":\"a.png\",\"type\":\"image/png\",\"size\":10,"
                "\"sha256\":\"00\",\"key\":\"k5\",\"tags\":null,\"room\":3,\"message\":40,"
                "\"created_ts\":1250}]"},
    {"sessions", "[{\"token_hash\":\"aa\",\"user\":7,\"created_ts\":1000,"
                 "\"expires_ts\":9223372036854775807,\"scopes\":null,\"rooms_json\":null}]"},
    {"invites", "[{\"token_hash\":\"bb\",\"role\":\"member\",\"email\":null,\"created_by\":7,"
                "\"created_ts\":1000,\"expires_ts\":4000000000000,\"used_ts\":0}]"},
    {"tokens", "[{\"token_hash\":\"cc\",\"kind\":\"reset\",\"user\":9,\"created_ts\":1000,"
               "\"expires_ts\":4000000000000,\"used_ts\":0}]"},
    {"audit", "[{\"id\":12,\"ts\":1500,\"actor\":7,\"action\":\"room.create\","
              "\"target\":\"r_3\",\"detail\":null,\"client\":\"cli\"}]"},
    {"settings", "[{\"user\":7,\"json\":\"{\\\"theme\\\":\\\"dark\\\"}\"}]"},
    {"kv", "[{\"owner\":\"dice\",\"key\":\"k\",\"value\":\"v\"}]"},
    {"pins", "[{\"message\":40,\"room\":3,\"user\":7,\"ts\":1600}]"},
    {"notify", "[{\"room\":3,\"user\":9,\"level\":\"mentions\"}]"},
};

#define N_RECORDS (sizeof RECORDS / sizeof RECORDS[0])

/* got has every field of want with its value; fields a store adds beyond
 * those (a later migration's columns) hold only their empty defaults. */
static int same_record(json_t *want, json_t *got)
{
	const char *k;
	json_t *v;
	json_object_foreach(want, k, v)
	{
		if (!json_equal(v, json_object_get(got, k)))
			return 0;
	}
	json_object_foreach(got, k, v)
	{
		if (!json_object_get(want, k) && !json_is_null(v) && !json_is_false(v) &&
		    !(json_is_integer(v) && json_integer_value(v) == 0))
			return 0;
	}
	return 1;
}

static int same_records(json_t *want, json_t *got)
{
	if (!json_is_array(want) || !json_is_array(got) ||
	    json_array_size(want) != json_array_size(got))
		return 0;
	for (size_t i = 0; i < json_array_size(want); i++)
		if (!same_record(json_array_get(want, i), json_array_get(got, i)))
			return 0;
	return 1;
}

/* records_read of kind equals json (as JSON values, whatever the order of
 * fields). */
static void assert_read_back(const char *kind, const char *json)
{
	static struct res r;
	assert_int_equal(RUN(&r, S->records_read(self, kind, 0, 1000, res_done, &r)), PARLEY_OK);
	json_t *want = json_loads(json, 0, NULL), *got = json_loads(r.v.text, 0, NULL);
	assert_non_null(want);
	assert_non_null(got);
	if (!same_records(want, got))
		fail_msg("records_read %s: got %s, wrote %s", kind, r.v.text, json);
	assert_false(r.v.more);
	json_decref(want);
	json_decref(got);
}

void test_records_every_kind(void **state)
{
	(void)state;
	static struct res r;
	contract_open("records_kinds");
	REQUIRE_MEMBER(records_write);
	for (size_t i = 0; i < N_RECORDS; i++) {
		assert_int_equal(
		    RUN(&r, S->records_write(self, RECORDS[i].kind, RECORDS[i].json, res_done, &r)),
		    PARLEY_OK);
		json_t *a = json_loads(RECORDS[i].json, 0, NULL);
		assert_int_equal(r.v.value, (int64_t)json_array_size(a));
		json_decref(a);
	}
	for (size_t i = 0; i < N_RECORDS; i++)
		assert_read_back(RECORDS[i].kind, RECORDS[i].json);
	/* Written twice: nothing changes (a reaction is not doubled). */
	for (size_t i = 0; i < N_RECORDS; i++)
		assert_int_equal(
		    RUN(&r, S->records_write(self, RECORDS[i].kind, RECORDS[i].json, res_done, &r)),
		    PARLEY_OK);
	for (size_t i = 0; i < N_RECORDS; i++)
		assert_read_back(RECORDS[i].kind, RECORDS[i].json);

	/* Users: by id and by folded name, with the hash; the next id follows. */
	assert_int_equal(RUN(&r, S->user_get(self, NULL, "ann", res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].id, "u_7");
	assert_str(r.v.users[0].password_hash, "$argon2id$v=19$x");
	assert_str(r.v.users[0].role, "admin");
	assert_int_equal(r.v.users[0].created_ts, 1000);
	if (STORE_HAS(user_by_email)) {
		assert_int_equal(RUN(&r, S->user_by_email(self, "ann@example.ORG", res_done, &r)),
		                 PARLEY_OK);
		assert_str(r.v.users[0].id, "u_7");
	}
	assert_int_equal(RUN(&r, S->user_get(self, "u_9", NULL, res_done, &r)), PARLEY_OK);
	assert_true(r.v.users[0].disabled);
	char carl[ID_MAX];
	mk_user("carl", carl);
	assert_str(carl, "u_10");

	/* The room: by name, its last_seq and retention; members. */
	assert_int_equal(RUN(&r, S->room_get(self, NULL, "lab", res_done, &r)), PARLEY_OK);
	assert_str(r.v.rooms[0].id, "r_3");
	assert_str(r.v.rooms[0].topic, "bench");
	assert_str(r.v.rooms[0].created_by, "u_7");
	assert_int_equal(r.v.rooms[0].last_seq, 2);
	if (STORE_HAS(room_retention_get)) {
		assert_int_equal(RUN(&r, S->room_retention_get(self, "r_3", res_done, &r)),
		                 PARLEY_OK);
		assert_int_equal(r.v.value, 5000);
	}
	assert_int_equal(RUN(&r, S->members_list(self, "r_3", res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_members, 2);

	/* History as written, reactions included; appends go on after seq 2,
	 * and a resend of a copied client_id is a duplicate. */
	assert_int_equal(RUN(&r, S->history(self, "r_3", 0, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_str(r.v.messages[0].id, "m_40");
	assert_str(r.v.messages[0].client_id, "c1");
	assert_reactions(r.v.messages[0].reactions_json, "{\"\xf0\x9f\x91\x8d\":[\"u_9\"]}");
	assert_str(r.v.messages[1].reply_to, "m_40");
	assert_str(r.v.messages[1].mentions_json, "[\"u_7\"]");
	assert_int_equal(r.v.messages[1].edited_ts, 1400);
	parley_message m = {.room_id = "r_3", .user_id = "u_7", .text = "again", .client_id = "c1"};
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	assert_true(r.v.duplicate);
	assert_str(r.v.messages[0].id, "m_40");
	assert_int_equal(mk_message("r_3", "u_9", "new", NULL, NULL), 3);

	/* Edit history, room settings and thread follows (where the store
	 * has their calls). Written twice above: one version, not two. */
	if (STORE_HAS(edits_list)) {
		assert_int_equal(RUN(&r, S->edits_list(self, "r_3", "m_41", res_done, &r)),
		                 PARLEY_OK);
		assert_int_equal(r.v.n_messages, 2);
		assert_str(r.v.messages[0].text, "hi?");
		assert_int_equal(r.v.messages[0].ts, 1300);
		assert_str(r.v.messages[1].text, "hi");
	}
	if (STORE_HAS(room_settings_list)) {
		assert_int_equal(RUN(&r, S->room_settings_list(self, res_done, &r)), PARLEY_OK);
		json_t *list = json_loads(r.v.text, 0, NULL);
		assert_int_equal(json_array_size(list), 1);
		json_t *one = json_array_get(list, 0);
		assert_str(json_string_value(json_object_get(one, "room")), "r_3");
		assert_str(json_string_value(
		               json_object_get(json_object_get(one, "settings"), "may_post")),
		           "owners");
		json_decref(list);
	}
	if (STORE_HAS(thread_read)) {
		/* Followed, with the copied read mark (marks only move forward). */
		assert_int_equal(
		    RUN(&r, S->thread_read(self, "r_3", "m_40", "u_9", 1, res_done, &r)),
		    PARLEY_OK);
		assert_int_equal(r.v.value, 2);
		assert_int_equal(
		    RUN(&r, S->thread_read(self, "r_3", "m_40", "u_7", 1, res_done, &r)),
		    PARLEY_ENOTFOUND);
	}

	/* The rest through their own calls. */
	assert_int_equal(RUN(&r, S->upload_get(self, "up_5", res_done, &r)), PARLEY_OK);
	assert_str(r.v.uploads[0].message_id, "m_40");
	assert_str(r.v.uploads[0].room_id, "r_3");
	assert_int_equal(RUN(&r, S->session_get(self, "aa", 5000, res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].id, "u_7");
	assert_int_equal(RUN(&r, S->invite_use(self, "bb", 5000, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->token_use(self, "reset", "cc", 5000, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->audit_list(self, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.audit[0].id, 12);
	assert_str(r.v.audit[0].actor_id, "u_7");
	assert_int_equal(RUN(&r, S->settings_get(self, "u_7", res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "{\"theme\":\"dark\"}");
	assert_int_equal(RUN(&r, S->kv_get(self, "dice", "k", res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "v");
	if (STORE_HAS(pins_list)) {
		assert_int_equal(RUN(&r, S->pins_list(self, "r_3", res_done, &r)), PARLEY_OK);
		assert_int_equal(r.v.n_messages, 1);
		assert_str(r.v.messages[0].id, "m_40");
	}
	if (STORE_HAS(notify_list)) {
		assert_int_equal(RUN(&r, S->notify_list(self, "u_9", res_done, &r)), PARLEY_OK);
		assert_str(r.v.text,
		           "[{\"room\":\"r_3\",\"user\":\"u_9\",\"level\":\"mentions\"}]");
	}

	/* A lease and a counter are no kv records, whatever keeps them. */
	if (STORE_HAS(lease))
		assert_int_equal(
		    RUN(&r, S->lease(self, "prune", "node-a", 60000, 1000, res_done, &r)),
		    PARLEY_OK);
	if (STORE_HAS(counter_add))
		assert_int_equal(
		    RUN(&r, S->counter_add(self, "login:a:ann", 1, 60000, 1000, res_done, &r)),
		    PARLEY_OK);
	assert_read_back("kv", "[{\"owner\":\"dice\",\"key\":\"k\",\"value\":\"v\"}]");

	/* An edit version without an id (store_mongo's from before its edit
	 * counter) written twice is there once, beside the numbered one. */
	const char *idless = "[{\"id\":null,\"message\":40,\"text\":\"hello?\","
	                     "\"mentions_json\":null,\"ts\":1150}]";
	for (int i = 0; i < 2; i++)
		assert_int_equal(RUN(&r, S->records_write(self, "edits", idless, res_done, &r)),
		                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->records_read(self, "edits", 0, 1000, res_done, &r)), PARLEY_OK);
	json_t *edits = json_loads(r.v.text, 0, NULL);
	assert_int_equal(json_array_size(edits), 2);
	json_decref(edits);

	/* A record of the wrong shape is refused (store_mongo says EINVAL;
	 * store_sqlite's NOT NULL constraint, ERR). */
	assert_true(RUN(&r, S->records_write(self, "kv", "[5]", res_done, &r)) < 0);
	contract_close();
}
