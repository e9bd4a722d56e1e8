/* protocol: frame decoding with named errors, typed fields, builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat/protocol.h"
#include "chat/room.h"
#include "chat/users.h"

static int decode(const char *s, struct proto_frame *f, char *err)
{
	return proto_decode(s, strlen(s), f, err, PROTO_ERR_LEN);
}

static void test_decode_errors(void **state)
{
	(void)state;
	struct proto_frame f;
	char err[PROTO_ERR_LEN];
	assert_int_equal(decode("{bad", &f, err), -1);
	assert_non_null(strstr(err, "invalid JSON"));
	proto_frame_free(&f);
	assert_int_equal(decode("[1]", &f, err), -1);
	assert_non_null(strstr(err, "object"));
	proto_frame_free(&f);
	assert_int_equal(decode("{\"rid\":3}", &f, err), -1);
	assert_string_equal(err, "type: missing");
	assert_non_null(f.rid); /* the error can still echo the rid */
	proto_frame_free(&f);
	assert_int_equal(decode("{\"type\":5}", &f, err), -1);
	assert_string_equal(err, "type: expected a string");
	proto_frame_free(&f);
	assert_int_equal(decode("{\"type\":\"x\",\"rid\":[1]}", &f, err), -1);
	assert_non_null(strstr(err, "rid"));
	proto_frame_free(&f);
	char deep[256] = "{\"type\":\"x\",\"a\":";
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	for (int i = 0; i < 40; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	assert_int_equal(decode(deep, &f, err), -1);
	assert_non_null(strstr(err, "nested"));
	proto_frame_free(&f);
	/* Duplicate keys are refused: which one wins would be a guess. */
	assert_int_equal(decode("{\"type\":\"a\",\"type\":\"b\"}", &f, err), -1);
	proto_frame_free(&f);
}

static void test_fields(void **state)
{
	(void)state;
	struct proto_frame f;
	char err[PROTO_ERR_LEN];
	assert_int_equal(decode("{\"type\":\"send\",\"rid\":\"a\",\"room\":7,\"text\":\"hé\","
	                        "\"n\":3,\"b\":true}",
	                        &f, err),
	                 0);
	assert_string_equal(f.type, "send");
	const char *s;
	int64_t i;
	int b;
	assert_int_equal(proto_get_str(f.root, "room", 1, 64, &s, err, sizeof err), -1);
	assert_string_equal(err, "room: expected a string, got a number");
	assert_int_equal(proto_get_str(f.root, "absent", 1, 64, &s, err, sizeof err), -1);
	assert_string_equal(err, "absent: missing");
	assert_int_equal(proto_get_str(f.root, "absent", 0, 64, &s, err, sizeof err), 0);
	assert_int_equal(proto_get_str(f.root, "text", 1, 64, &s, err, sizeof err), 1);
	assert_int_equal(proto_utf8_len(s), 2);
	assert_int_equal(proto_get_str(f.root, "text", 1, 2, &s, err, sizeof err), -1);
	assert_int_equal(proto_get_int(f.root, "n", 1, &i, err, sizeof err), 1);
	assert_int_equal(i, 3);
	assert_int_equal(proto_get_int(f.root, "b", 1, &i, err, sizeof err), -1);
	assert_int_equal(proto_get_bool(f.root, "b", 1, &b, err, sizeof err), 1);
	assert_true(b);
	proto_frame_free(&f);
}

static void test_builders(void **state)
{
	(void)state;
	users_init();
	rooms_init();
	parley_user pa = {.id = "u_1", .name = "alice", .role = "member"};
	parley_user pb = {.id = "u_2", .name = "Bob", .role = "member"};
	user_rec *a = users_upsert(&pa);
	user_rec *b = users_upsert(&pb);
	assert_non_null(a);
	assert_non_null(b);

	json_t *ids = proto_mentions("hi @bob and @bob, mail x@bob.org @nobody @alice.");
	char *s = proto_dump(ids, NULL);
	assert_string_equal(s, "[\"u_2\",\"u_1\"]");
	free(s);
	json_decref(ids);

	parley_room pr = {.id = "r_9", .name = "dm:u_1:u_2", .kind = "dm", .last_seq = 5};
	room *r = room_upsert(&pr);
	room_add_member(r, a, ROLE_MEMBER, 2);
	room_add_member(r, b, ROLE_MEMBER, 0);
	json_t *ro = proto_room(r, a);
	assert_string_equal(json_string_value(json_object_get(ro, "name")), "Bob");
	assert_int_equal(json_integer_value(json_object_get(ro, "unread")), 3);
	assert_string_equal(json_string_value(json_object_get(ro, "role")), "member");
	json_decref(ro);

	parley_message m = {.id = "m_1",
	                    .room_id = "r_9",
	                    .user_id = "u_1",
	                    .text = "x",
	                    .client_id = "c",
	                    .seq = 1,
	                    .ts = 10,
	                    .mentions_json = "[]",
	                    .reactions_json = "{\"a\":[\"u_2\"]}"};
	json_t *mo = proto_message(&m, 0);
	assert_null(json_object_get(mo, "client_id"));
	assert_null(json_object_get(mo, "mentions"));
	assert_non_null(json_object_get(mo, "reactions"));
	json_decref(mo);
	mo = proto_message(&m, 1);
	assert_string_equal(json_string_value(json_object_get(mo, "client_id")), "c");
	json_decref(mo);
	m.deleted = 1;
	mo = proto_message(&m, 1);
	assert_null(json_object_get(mo, "text"));
	assert_true(json_is_true(json_object_get(mo, "deleted")));
	json_decref(mo);

	assert_string_equal(proto_error_code(PARLEY_ERATELIMIT), "rate_limited");
	assert_int_equal(proto_error_status(PARLEY_EUNAUTHORIZED), 401);
	rooms_fini();
	users_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_errors),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_builders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
