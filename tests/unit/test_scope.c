/* scope: bot token scopes — parsing, malformed input allowing nothing,
 * room lists, copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat/scope.h"

static void test_unscoped_allows_everything(void **state)
{
	(void)state;
	int bad = 1;
	assert_null(scope_parse(NULL, "[\"r_1\"]", &bad));
	assert_int_equal(bad, 0);
	assert_true(scope_allows(NULL, SCOPE_MODERATE, "r_9"));
	assert_false(scope_hides_room(NULL, "r_9"));
}

static void test_actions(void **state)
{
	(void)state;
	int bad;
	struct scope *s = scope_parse("read,post", NULL, &bad);
	assert_non_null(s);
	assert_int_equal(bad, 0);
	assert_true(scope_allows(s, SCOPE_READ, "r_1"));
	assert_true(scope_allows(s, SCOPE_POST, NULL));
	assert_true(scope_allows(s, SCOPE_READ | SCOPE_POST, "r_1"));
	assert_false(scope_allows(s, SCOPE_REACT, "r_1"));
	assert_false(scope_allows(s, SCOPE_POST | SCOPE_MODERATE, "r_1"));
	assert_false(scope_hides_room(s, "r_1")); /* no room list: every room */
	scope_free(s);
}

static void test_malformed_allows_nothing(void **state)
{
	(void)state;
	const char *bad_scopes[] = {"read,fly", "read,,post", "READ", "read post"};
	for (size_t i = 0; i < sizeof bad_scopes / sizeof bad_scopes[0]; i++) {
		int bad = 0;
		struct scope *s = scope_parse(bad_scopes[i], NULL, &bad);
		assert_int_equal(bad, 1);
		assert_non_null(s);
		assert_false(scope_allows(s, SCOPE_READ, NULL));
		scope_free(s);
	}
	const char *bad_rooms[] = {"r_1", "{\"a\":1}", "[1]", "[\"r_1\", null]"};
	for (size_t i = 0; i < sizeof bad_rooms / sizeof bad_rooms[0]; i++) {
		int bad = 0;
		struct scope *s = scope_parse("read", bad_rooms[i], &bad);
		assert_int_equal(bad, 1);
		assert_false(scope_allows(s, SCOPE_READ, "r_1"));
		scope_free(s);
	}
}

static void test_room_list(void **state)
{
	(void)state;
	int bad;
	struct scope *s = scope_parse("read,react", "[\"r_1\",\"r_3\"]", &bad);
	assert_int_equal(bad, 0);
	assert_true(scope_allows(s, SCOPE_READ, "r_3"));
	assert_false(scope_allows(s, SCOPE_READ, "r_2"));
	assert_true(scope_hides_room(s, "r_2"));
	assert_false(scope_hides_room(s, "r_1"));
	assert_false(scope_hides_room(s, NULL)); /* outside any room */
	assert_true(scope_allows(s, SCOPE_READ, NULL));
	struct scope *c = scope_copy(s);
	scope_free(s);
	assert_non_null(c);
	assert_int_equal(c->n_rooms, 2);
	assert_true(scope_hides_room(c, "r_2"));
	assert_true(scope_allows(c, SCOPE_REACT, "r_1"));
	scope_free(c);
	assert_null(scope_copy(NULL));
}

static void test_too_many_rooms(void **state)
{
	(void)state;
	size_t n = SCOPE_MAX_ROOMS + 1, cap = n * 12 + 4, len = 0;
	char *json = malloc(cap);
	assert_non_null(json);
	len += (size_t)snprintf(json + len, cap - len, "[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(json + len, cap - len, "%s\"r_%zu\"", i ? "," : "", i);
	snprintf(json + len, cap - len, "]");
	int bad = 0;
	struct scope *s = scope_parse("read", json, &bad);
	assert_int_equal(bad, 1);
	assert_false(scope_allows(s, SCOPE_READ, "r_1"));
	scope_free(s);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unscoped_allows_everything),
	    cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_malformed_allows_nothing),
	    cmocka_unit_test(test_room_list),
	    cmocka_unit_test(test_too_many_rooms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
