/* api.c's pure helpers: path parameters, strict integers, the session
 * cookie line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "chat/scope.h"

static void test_path_param(void **state)
{
	(void)state;
	char id[16];
	assert_true(
	    api_path_param("/api/rooms/r_1/messages", "/api/rooms/", "/messages", id, sizeof(id)));
	assert_string_equal(id, "r_1");
	assert_true(api_path_param("/api/admin/users/u_7/disable", "/api/admin/users/", "/disable",
	                           id, sizeof(id)));
	assert_string_equal(id, "u_7");

	assert_false(
	    api_path_param("/api/rooms//messages", "/api/rooms/", "/messages", id, sizeof(id)));
	assert_false(
	    api_path_param("/api/rooms/a/b/messages", "/api/rooms/", "/messages", id, sizeof(id)));
	assert_false(
	    api_path_param("/api/rooms/r_1/messagesx", "/api/rooms/", "/messages", id, sizeof(id)));
	assert_false(api_path_param("/api/rooms/r_1", "/api/rooms/", "/messages", id, sizeof(id)));
	assert_false(
	    api_path_param("/api/roomsr_1/messages", "/api/rooms/", "/messages", id, sizeof(id)));
	assert_false(
	    api_path_param("/api/rooms/messages", "/api/rooms/", "/messages", id, sizeof(id)));
	/* Too long for the buffer: no match rather than a truncated id. */
	assert_false(api_path_param("/api/rooms/0123456789abcdef/messages", "/api/rooms/",
	                            "/messages", id, sizeof(id)));
}

static void test_parse_int(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_int_equal(api_parse_int("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(api_parse_int("46", &v), 0);
	assert_int_equal(v, 46);
	assert_int_equal(api_parse_int("-1", &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(api_parse_int("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);

	assert_int_equal(api_parse_int("9223372036854775808", &v), -1);
	assert_int_equal(api_parse_int("", &v), -1);
	assert_int_equal(api_parse_int(NULL, &v), -1);
	assert_int_equal(api_parse_int(" 1", &v), -1);
	assert_int_equal(api_parse_int("1 ", &v), -1);
	assert_int_equal(api_parse_int("+1", &v), -1);
	assert_int_equal(api_parse_int("1e3", &v), -1);
	assert_int_equal(api_parse_int("0x10", &v), -1);
	assert_int_equal(api_parse_int("-", &v), -1);
}

static void test_session_cookie(void **state)
{
	(void)state;
	char buf[256];
	assert_int_equal(api_session_cookie(buf, sizeof(buf), "abc_DEF-123", 3600, 0), 0);
	assert_string_equal(buf, "Set-Cookie: parley_session=abc_DEF-123; Path=/; HttpOnly; "
	                         "SameSite=Strict; Max-Age=3600\r\n");
	assert_int_equal(api_session_cookie(buf, sizeof(buf), "t", 60, 1), 0);
	assert_string_equal(buf, "Set-Cookie: parley_session=t; Path=/; HttpOnly; "
	                         "SameSite=Strict; Max-Age=60; Secure\r\n");
	/* Clearing. */
	assert_int_equal(api_session_cookie(buf, sizeof(buf), NULL, 3600, 0), 0);
	assert_string_equal(buf, "Set-Cookie: parley_session=; Path=/; HttpOnly; "
	                         "SameSite=Strict; Max-Age=0\r\n");
	assert_int_equal(api_session_cookie(buf, sizeof(buf), "t", -5, 0), 0);
	assert_non_null(strstr(buf, "Max-Age=0\r\n"));

	/* Nothing that could end the header or start another attribute. */
	assert_int_equal(api_session_cookie(buf, sizeof(buf), "a\r\nX-Evil: 1", 1, 0), -1);
	assert_int_equal(api_session_cookie(buf, sizeof(buf), "a;Domain=evil", 1, 0), -1);
	assert_int_equal(api_session_cookie(buf, sizeof(buf), "a b", 1, 0), -1);
	assert_int_equal(api_session_cookie(buf, sizeof(buf), "a\"b", 1, 0), -1);
	assert_int_equal(api_session_cookie(buf, 20, "abc", 1, 0), -1);
}

static void test_route_match(void **state)
{
	(void)state;
	char id[16];
	assert_true(api_route_match("/api/login", "/api/login", id, sizeof id));
	assert_string_equal(id, "");
	assert_false(api_route_match("/api/login", "/api/login/", id, sizeof id));
	assert_true(
	    api_route_match("/api/rooms/{id}/messages", "/api/rooms/r_1/messages", id, sizeof id));
	assert_string_equal(id, "r_1");
	assert_true(api_route_match("/api/uploads/{id}", "/api/uploads/up_9", id, sizeof id));
	assert_string_equal(id, "up_9");
	assert_false(api_route_match("/api/uploads/{id}", "/api/uploads/a/b", id, sizeof id));
	assert_false(api_route_match("/api/uploads/{id}", "/api/uploads/", id, sizeof id));
	assert_false(api_route_match("/api/admin/bots/{id}/tokens",
	                             "/api/admin/bots/b/tokens/revoke", id, sizeof id));
	assert_true(api_route_match("/api/admin/bots/{id}/tokens/revoke",
	                            "/api/admin/bots/b/tokens/revoke", id, sizeof id));
}

/* The rule every authenticated route applies (issue 13, item 5). */
static void test_access(void **state)
{
	(void)state;
	const struct api_route read_room = {"GET", "/r/{id}", API_USER, SCOPE_READ, 1, NULL};
	const struct api_route post = {"POST", "/p", API_USER, SCOPE_POST, 0, NULL};
	const struct api_route person = {"GET", "/s", API_USER, API_NO_BOT_TOKEN, 0, NULL};
	const struct api_route admin = {"GET", "/a", API_ADMIN, API_NO_BOT_TOKEN, 0, NULL};
	const char *msg;
	int bad = 0;
	struct scope *reader = scope_parse("read", "[\"r_1\"]", &bad);
	assert_false(bad);

	/* A person's session: roles only. */
	assert_int_equal(api_access(&read_room, NULL, 0, "member", "r_2", &msg), PARLEY_OK);
	assert_int_equal(api_access(&person, NULL, 0, "member", NULL, &msg), PARLEY_OK);
	assert_int_equal(api_access(&admin, NULL, 0, "member", NULL, &msg), PARLEY_EFORBIDDEN);
	assert_string_equal(msg, "admin only");
	assert_int_equal(api_access(&admin, NULL, 0, "admin", NULL, &msg), PARLEY_OK);

	/* A bot token: its scope and its rooms. */
	assert_int_equal(api_access(&read_room, reader, 0, "bot", "r_1", &msg), PARLEY_OK);
	assert_int_equal(api_access(&read_room, reader, 0, "bot", "r_2", &msg), PARLEY_ENOTFOUND);
	assert_int_equal(api_access(&post, reader, 0, "bot", NULL, &msg), PARLEY_EFORBIDDEN);
	assert_string_equal(msg, "outside the token's scope");
	assert_int_equal(api_access(&person, reader, 0, "bot", NULL, &msg), PARLEY_EFORBIDDEN);
	assert_string_equal(msg, "not with a bot token");
	/* Even a bot whose account is an admin's. */
	assert_int_equal(api_access(&admin, reader, 0, "admin", NULL, &msg), PARLEY_EFORBIDDEN);
	/* A malformed scope may do nothing. */
	assert_int_equal(api_access(&read_room, NULL, 1, "bot", "r_1", &msg), PARLEY_EFORBIDDEN);
	scope_free(reader);
	struct scope *broken = scope_parse("read,fly", NULL, &bad);
	assert_true(bad);
	assert_int_equal(api_access(&read_room, broken, bad, "bot", "r_1", &msg),
	                 PARLEY_EFORBIDDEN);
	scope_free(broken);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_param),     cmocka_unit_test(test_parse_int),
	    cmocka_unit_test(test_session_cookie), cmocka_unit_test(test_route_match),
	    cmocka_unit_test(test_access),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
