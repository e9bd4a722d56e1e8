/* Upload retention (issue 17): uploads_expire marks the attachment
 * expired in its message, detaches the oldest attached records in
 * batches, and leaves young, unattached and other attachments alone. */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static void mk_upload(const char *user, const char *key, int64_t ts, char *out)
{
	static struct res r;
	parley_upload u = {.user_id = user,
	                   .name = key,
	                   .type = "text/plain",
	                   .sha256 = "00",
	                   .key = key,
	                   .size = 3,
	                   .created_ts = ts};
	assert_int_equal(RUN(&r, S->upload_create(self, &u, res_done, &r)), PARLEY_OK);
	snprintf(out, ID_MAX, "%s", r.v.uploads[0].id);
}

/* A message carrying the attachments ups[0..n) as the core writes them. */
static void mk_with(const char *room, const char *user, char ups[][ID_MAX], size_t n, char *out)
{
	static struct res r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "id", ups[i], "name", ups[i],
		                                   "url", "/api/uploads/x"));
	char *json = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	parley_message m = {.room_id = room,
	                    .user_id = user,
	                    .text = "files",
	                    .ts = 1000,
	                    .attachments_json = json};
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	free(json);
	snprintf(out, ID_MAX, "%s", r.v.messages[0].id);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
		    RUN(&r, S->upload_attach(self, ups[i], user, room, out, res_done, &r)),
		    PARLEY_OK);
}

void test_uploads_expire(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], msg[ID_MAX], young_msg[ID_MAX];
	char ups[3][ID_MAX], young[1][ID_MAX], loose[ID_MAX];
	contract_open("uploads_expire");
	REQUIRE_MEMBER(uploads_expire);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_upload(alice, "k-old-1", 100, ups[0]);
	mk_upload(alice, "k-old-2", 200, ups[1]);
	mk_upload(alice, "k-old-3", 300, ups[2]);
	mk_upload(alice, "k-young", 5000, young[0]);
	mk_upload(alice, "k-loose", 50, loose); /* never attached */
	mk_with(room, alice, ups, 3, msg);
	mk_with(room, alice, young, 1, young_msg);

	/* Batches of two, oldest first; then one; then none. */
	assert_int_equal(RUN(&r, S->uploads_expire(self, 1000, 2, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_uploads, 2);
	assert_int_equal(r.v.more, 1);
	assert_str(r.v.uploads[0].id, ups[0]);
	assert_str(r.v.uploads[1].id, ups[1]);
	assert_str(r.v.uploads[0].key, "k-old-1");
	assert_null(r.v.uploads[0].message_id);
	assert_null(r.v.uploads[0].room_id);

	/* The message says which are expired: no url, "expired": true; the
	 * third keeps its url until its batch. */
	assert_int_equal(RUN(&r, S->message_get(self, room, msg, res_done, &r)), PARLEY_OK);
	json_t *a = json_loads(r.v.messages[0].attachments_json, 0, NULL);
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *e = json_array_get(a, i);
		assert_str(json_string_value(json_object_get(e, "id")), ups[i]);
		assert_str(json_string_value(json_object_get(e, "name")), ups[i]);
		assert_int_equal(json_is_true(json_object_get(e, "expired")), i < 2);
		assert_int_equal(json_object_get(e, "url") != NULL, i == 2);
	}
	json_decref(a);
	assert_str(r.v.messages[0].text, "files");

	assert_int_equal(RUN(&r, S->uploads_expire(self, 1000, 2, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_uploads, 1);
	assert_int_equal(r.v.more, 0);
	assert_str(r.v.uploads[0].id, ups[2]);
	assert_int_equal(RUN(&r, S->uploads_expire(self, 1000, 2, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_uploads, 0);
	assert_int_equal(r.v.more, 0);

	/* Detached records are the cleanup job's (the unattached one too);
	 * the young attachment is untouched. */
	assert_int_equal(RUN(&r, S->uploads_unattached(self, 1000, 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_uploads, 4);
	assert_int_equal(RUN(&r, S->upload_get(self, young[0], res_done, &r)), PARLEY_OK);
	assert_str(r.v.uploads[0].message_id, young_msg);
	assert_int_equal(RUN(&r, S->message_get(self, room, young_msg, res_done, &r)), PARLEY_OK);
	assert_non_null(strstr(r.v.messages[0].attachments_json, "\"url\""));
	assert_null(strstr(r.v.messages[0].attachments_json, "expired"));

	/* Bad limits are refused. */
	assert_int_equal(RUN(&r, S->uploads_expire(self, 1000, 0, res_done, &r)), PARLEY_EINVAL);
}
