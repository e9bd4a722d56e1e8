/* Contract cases for the records the core keeps for itself: the audit log,
 * per-user settings, the scripts' key-value space and upload records. */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>
#include <string.h>

void test_audit(void **state)
{
	enum { N = 7 };
	static struct res r;
	char alice[ID_MAX];
	contract_open("audit");
	REQUIRE_MEMBER(audit_append);
	REQUIRE_MEMBER(audit_list);
	mk_user("alice", alice);

	assert_int_equal(RUN(&r, S->audit_list(self, 0, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_audit, 0);
	assert_int_equal(r.v.more, 0);

	int64_t ids[N];
	for (int i = 0; i < N; i++) {
		char target[16];
		snprintf(target, sizeof target, "t%d", i);
		parley_audit a = {.ts = i == 0 ? 0 : 1000 + i,
		                  .actor_id = i == N - 1 ? NULL : alice,
		                  .action = i % 2 ? "user.disable" : "invite.create",
		                  .target = target,
		                  .detail = "{\"why\":\"test\"}",
		                  .client = "127.0.0.1"};
		assert_int_equal(RUN(&r, S->audit_append(self, &a, res_done, &r)), PARLEY_OK);
	}
	/* Newest first, paged by id. */
	assert_int_equal(RUN(&r, S->audit_list(self, 0, 3, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_audit, 3);
	assert_int_equal(r.v.more, 1);
	const parley_audit *a = r.v.audit;
	assert_null(a[0].actor_id);
	assert_str(a[0].target, "t6");
	assert_str(a[1].target, "t5");
	assert_str(a[1].actor_id, alice);
	assert_str(a[1].action, "user.disable");
	assert_str(a[1].detail, "{\"why\":\"test\"}");
	assert_str(a[1].client, "127.0.0.1");
	assert_int_equal(a[1].ts, 1005);
	assert_true(a[0].id > a[1].id && a[1].id > a[2].id);
	for (int i = 0; i < 3; i++)
		ids[N - 1 - i] = a[i].id;
	int64_t before = a[2].id;
	int got = 3;
	for (;;) {
		assert_int_equal(RUN(&r, S->audit_list(self, before, 3, res_done, &r)), PARLEY_OK);
		for (size_t i = 0; i < r.v.n_audit; i++) {
			assert_true(r.v.audit[i].id < before);
			before = r.v.audit[i].id;
			ids[N - 1 - got] = before;
			got++;
		}
		if (!r.v.more)
			break;
		assert_int_equal(r.v.n_audit, 3);
	}
	assert_int_equal(got, N);
	/* The oldest, appended with ts 0, was given a time. */
	assert_int_equal(RUN(&r, S->audit_list(self, ids[1], 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_audit, 1);
	assert_int_equal(r.v.more, 0);
	assert_str(r.v.audit[0].target, "t0");
	assert_true(r.v.audit[0].ts > 0);
	assert_int_equal(RUN(&r, S->audit_list(self, ids[0], 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_audit, 0);
	/* Exactly the limit: nothing more. */
	assert_int_equal(RUN(&r, S->audit_list(self, 0, N, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_audit, N);
	assert_int_equal(r.v.more, 0);
	/* Limits 1..500. */
	assert_int_equal(RUN(&r, S->audit_list(self, 0, 500, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->audit_list(self, 0, 0, res_done, &r)), PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->audit_list(self, 0, 501, res_done, &r)), PARLEY_EINVAL);
}

void test_settings(void **state)
{
	static struct res r;
	char bob[ID_MAX], carol[ID_MAX];
	contract_open("settings");
	REQUIRE_MEMBER(settings_get);
	REQUIRE_MEMBER(settings_set);
	mk_user("bob", bob);
	mk_user("carol", carol);
	assert_int_equal(RUN(&r, S->settings_get(self, bob, res_done, &r)), PARLEY_OK);
	assert_null(r.v.text);
	assert_int_equal(
	    RUN(&r, S->settings_set(self, bob, "{\"email_digest\":false}", res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(RUN(&r, S->settings_get(self, bob, res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "{\"email_digest\":false}");
	assert_int_equal(RUN(&r, S->settings_set(self, bob,
	                                         "{\"email_digest\":true,\"theme\":"
	                                         "\"dark\"}",
	                                         res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->settings_get(self, bob, res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "{\"email_digest\":true,\"theme\":\"dark\"}");
	/* Each user's own. */
	assert_int_equal(RUN(&r, S->settings_get(self, carol, res_done, &r)), PARLEY_OK);
	assert_null(r.v.text);
}

void test_kv(void **state)
{
	static struct res r;
	contract_open("kv");
	REQUIRE_MEMBER(kv_get);
	REQUIRE_MEMBER(kv_set);
	REQUIRE_MEMBER(kv_delete);
	REQUIRE_MEMBER(kv_incr);
	assert_int_equal(RUN(&r, S->kv_get(self, "dice", "k", res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->kv_set(self, "dice", "k", "{\"a\":1}", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->kv_set(self, "poll", "k", "other", res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->kv_get(self, "dice", "k", res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "{\"a\":1}");
	/* Replaced; owners are separate spaces. */
	assert_int_equal(RUN(&r, S->kv_set(self, "dice", "k", "2", res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->kv_get(self, "dice", "k", res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "2");
	assert_int_equal(RUN(&r, S->kv_get(self, "poll", "k", res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "other");
	/* Empty values are values. */
	assert_int_equal(RUN(&r, S->kv_set(self, "poll", "empty", "", res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->kv_get(self, "poll", "empty", res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "");

	/* incr: absent counts as 0; stored as decimal text; negative deltas. */
	assert_int_equal(RUN(&r, S->kv_incr(self, "dice", "n", 5, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 5);
	assert_int_equal(RUN(&r, S->kv_incr(self, "dice", "n", -7, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, -2);
	assert_int_equal(RUN(&r, S->kv_get(self, "dice", "n", res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "-2");
	assert_int_equal(RUN(&r, S->kv_incr(self, "poll", "n", 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->kv_set(self, "dice", "m", "40", res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->kv_incr(self, "dice", "m", 2, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 42);
	/* Many increments in flight at once lose none. */
	enum { INCR = 20 };
	static struct res inc[INCR];
	for (int i = 0; i < INCR; i++) {
		res_reset(&inc[i]);
		assert_int_equal(S->kv_incr(self, "dice", "race", 1, res_done, &inc[i]),
		                 PARLEY_PENDING);
	}
	res_wait_all(inc, INCR);
	unsigned seen = 0;
	for (int i = 0; i < INCR; i++) {
		assert_int_equal(inc[i].rc, PARLEY_OK);
		assert_true(inc[i].v.value >= 1 && inc[i].v.value <= INCR);
		seen |= 1u << (inc[i].v.value - 1);
		res_reset(&inc[i]);
	}
	assert_int_equal(seen, (1u << INCR) - 1);

	/* delete: value 1 removed, 0 absent. */
	assert_int_equal(RUN(&r, S->kv_delete(self, "dice", "n", res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->kv_delete(self, "dice", "n", res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	assert_int_equal(RUN(&r, S->kv_get(self, "dice", "n", res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->kv_get(self, "poll", "n", res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "1");
	assert_int_equal(RUN(&r, S->kv_get(self, NULL, "n", res_done, &r)), PARLEY_EINVAL);
}

static parley_upload upload(const char *user, const char *name, int64_t size, int64_t ts)
{
	parley_upload u = {.user_id = user,
	                   .name = name,
	                   .type = "image/png",
	                   .sha256 =
	                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	                   .key = name,
	                   .size = size,
	                   .created_ts = ts};
	return u;
}

static void mk_upload(parley_upload u, char *out)
{
	static struct res r;
	assert_int_equal(RUN(&r, S->upload_create(self, &u, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_uploads, 1);
	snprintf(out, ID_MAX, "%s", r.v.uploads[0].id);
}

static int listed(const struct res *r, const char *id)
{
	for (size_t i = 0; i < r->v.n_uploads; i++)
		if (strcmp(r->v.uploads[i].id, id) == 0)
			return 1;
	return 0;
}

void test_uploads(void **state)
{
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], room[ID_MAX], msg[ID_MAX];
	char up1[ID_MAX], up2[ID_MAX], up3[ID_MAX], up4[ID_MAX];
	contract_open("uploads");
	REQUIRE_MEMBER(upload_create);
	REQUIRE_MEMBER(upload_get);
	REQUIRE_MEMBER(upload_attach);
	REQUIRE_MEMBER(upload_delete);
	REQUIRE_MEMBER(uploads_unattached);
	REQUIRE_MEMBER(upload_usage);
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("general", alice, room);

	/* create keeps every member given and assigns "up_<n>". */
	parley_upload u = upload(alice, "cat photo.png", 1000, 10000);
	u.tags = "scanned";
	assert_int_equal(RUN(&r, S->upload_create(self, &u, res_done, &r)), PARLEY_OK);
	const parley_upload *o = &r.v.uploads[0];
	assert_true(strncmp(o->id, "up_", 3) == 0);
	snprintf(up1, sizeof up1, "%s", o->id);
	assert_str(o->user_id, alice);
	assert_str(o->name, "cat photo.png");
	assert_str(o->type, "image/png");
	assert_str(o->sha256, u.sha256);
	assert_str(o->key, "cat photo.png");
	assert_str(o->tags, "scanned");
	assert_null(o->room_id);
	assert_null(o->message_id);
	assert_int_equal(o->size, 1000);
	assert_int_equal(o->created_ts, 10000);
	mk_upload(upload(alice, "b.png", 2000, 20000), up2);
	mk_upload(upload(bob, "c.png", 4000, 15000), up3);
	mk_upload(upload(alice, "d.png", 8000, 30000), up4);
	assert_true(strcmp(up1, up2) && strcmp(up2, up3) && strcmp(up3, up4));

	assert_int_equal(RUN(&r, S->upload_get(self, up2, res_done, &r)), PARLEY_OK);
	assert_str(r.v.uploads[0].name, "b.png");
	assert_int_equal(r.v.uploads[0].size, 2000);
	assert_null(r.v.uploads[0].tags);
	char nosuch[ID_MAX + 8];
	snprintf(nosuch, sizeof nosuch, "%s77", up4);
	assert_int_equal(RUN(&r, S->upload_get(self, nosuch, res_done, &r)), PARLEY_ENOTFOUND);

	/* Attach: only the uploader; first the room (a send on its way)… */
	assert_int_equal(RUN(&r, S->upload_attach(self, up1, bob, room, NULL, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->upload_attach(self, nosuch, alice, room, NULL, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->upload_attach(self, up1, alice, room, NULL, res_done, &r)),
	                 PARLEY_OK);
	assert_str(r.v.uploads[0].room_id, room);
	assert_null(r.v.uploads[0].message_id);
	/* …then the message; once attached to a message, never again. */
	parley_message m = {.room_id = room, .user_id = alice, .text = "look", .ts = 10};
	char att[160];
	snprintf(att, sizeof att, "[{\"id\":\"%s\"}]", up1);
	m.attachments_json = att;
	static struct res a;
	assert_int_equal(RUN(&a, S->append(self, &m, res_done, &a)), PARLEY_OK);
	snprintf(msg, sizeof msg, "%s", a.v.messages[0].id);
	assert_int_equal(RUN(&r, S->upload_attach(self, up1, alice, room, msg, res_done, &r)),
	                 PARLEY_OK);
	assert_str(r.v.uploads[0].room_id, room);
	assert_str(r.v.uploads[0].message_id, msg);
	assert_int_equal(RUN(&r, S->upload_attach(self, up1, alice, room, msg, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->upload_attach(self, up1, alice, room, NULL, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->upload_get(self, up1, res_done, &r)), PARLEY_OK);
	assert_str(r.v.uploads[0].message_id, msg);
	assert_str(r.v.uploads[0].room_id, room);
	/* Straight to a message, without the room step. */
	assert_int_equal(RUN(&r, S->upload_attach(self, up3, bob, room, msg, res_done, &r)),
	                 PARLEY_OK);
	assert_str(r.v.uploads[0].message_id, msg);

	/* Unattached: not attached to a message, created before before_ts,
	 * oldest first, at most limit. up2 (20000), up4 (30000). */
	assert_int_equal(RUN(&r, S->uploads_unattached(self, 100000, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_uploads, 2);
	assert_str(r.v.uploads[0].id, up2);
	assert_str(r.v.uploads[1].id, up4);
	assert_int_equal(RUN(&r, S->uploads_unattached(self, 30000, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_uploads, 1);
	assert_str(r.v.uploads[0].id, up2);
	assert_int_equal(RUN(&r, S->uploads_unattached(self, 100000, 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_uploads, 1);
	assert_str(r.v.uploads[0].id, up2);
	/* A room taken but no message yet still counts as unattached. */
	assert_int_equal(RUN(&r, S->upload_attach(self, up2, alice, room, NULL, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->uploads_unattached(self, 100000, 10, res_done, &r)), PARLEY_OK);
	assert_true(listed(&r, up2));

	/* Usage: the user's bytes since since_ts, attached or not. */
	assert_int_equal(RUN(&r, S->upload_usage(self, alice, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 11000);
	assert_int_equal(RUN(&r, S->upload_usage(self, alice, 20000, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 10000);
	assert_int_equal(RUN(&r, S->upload_usage(self, bob, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 4000);
	assert_int_equal(RUN(&r, S->upload_usage(self, alice, 40000, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 0);

	/* A message's tombstone detaches its files: cleanup finds them. */
	assert_int_equal(RUN(&r, S->message_delete(self, room, msg, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->upload_get(self, up1, res_done, &r)), PARLEY_OK);
	assert_null(r.v.uploads[0].message_id);
	assert_int_equal(RUN(&r, S->uploads_unattached(self, 100000, 10, res_done, &r)), PARLEY_OK);
	assert_true(listed(&r, up1));
	assert_true(listed(&r, up3));
	assert_int_equal(r.v.n_uploads, 4);
	assert_str(r.v.uploads[0].id, up1);

	/* create keeps every member given, room and message too (a copy of
	 * another store's records). */
	parley_upload copied = upload(bob, "copied.png", 16000, 40000);
	copied.room_id = room;
	copied.message_id = msg;
	assert_int_equal(RUN(&r, S->upload_create(self, &copied, res_done, &r)), PARLEY_OK);
	assert_str(r.v.uploads[0].room_id, room);
	assert_str(r.v.uploads[0].message_id, msg);
	char up5[ID_MAX];
	snprintf(up5, sizeof up5, "%s", r.v.uploads[0].id);
	assert_int_equal(RUN(&r, S->upload_get(self, up5, res_done, &r)), PARLEY_OK);
	assert_str(r.v.uploads[0].room_id, room);
	assert_str(r.v.uploads[0].message_id, msg);
	assert_int_equal(RUN(&r, S->uploads_unattached(self, 100000, 10, res_done, &r)), PARLEY_OK);
	assert_false(listed(&r, up5));

	/* Delete: gone from get, the list and usage. */
	assert_int_equal(RUN(&r, S->upload_delete(self, up4, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->upload_get(self, up4, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->uploads_unattached(self, 100000, 10, res_done, &r)), PARLEY_OK);
	assert_false(listed(&r, up4));
	assert_int_equal(RUN(&r, S->upload_usage(self, alice, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 3000);
	assert_int_equal(RUN(&r, S->upload_attach(self, up4, alice, room, NULL, res_done, &r)),
	                 PARLEY_ENOTFOUND);
}
