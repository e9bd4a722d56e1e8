/* addr_count.c: connections per address, the limit, and an entry's end
 * when its last connection goes (the table follows the open connections,
 * not every address ever seen). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "net/addr_count.h"

static int teardown(void **state)
{
	(void)state;
	addr_count_clear();
	return 0;
}

static void test_limit_per_address(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(addr_count_take("10.0.0.1", 3), 0);
	assert_int_equal(addr_count_take("10.0.0.1", 3), -1);
	assert_int_equal(addr_count_get("10.0.0.1"), 3);
	/* Another address is counted on its own. */
	assert_int_equal(addr_count_take("10.0.0.2", 3), 0);
	addr_count_put("10.0.0.1");
	assert_int_equal(addr_count_take("10.0.0.1", 3), 0);
	/* max 0: no limit. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(addr_count_take("::1", 0), 0);
	assert_int_equal(addr_count_get("::1"), 10);
}

static void test_entries_go_with_their_connections(void **state)
{
	(void)state;
	char addr[32];
	/* Many addresses: the table grows, and every count stays right. */
	for (int i = 0; i < 5000; i++) {
		snprintf(addr, sizeof addr, "10.1.%d.%d", i / 256, i % 256);
		assert_int_equal(addr_count_take(addr, 2), 0);
		assert_int_equal(addr_count_take(addr, 2), 0);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(addr, sizeof addr, "10.1.%d.%d", i / 256, i % 256);
		assert_int_equal(addr_count_get(addr), 2);
		addr_count_put(addr);
		addr_count_put(addr);
		assert_int_equal(addr_count_get(addr), 0);
	}
	/* A put for an address never counted changes nothing. */
	addr_count_put("192.0.2.1");
	assert_int_equal(addr_count_get("192.0.2.1"), 0);
	assert_int_equal(addr_count_take("192.0.2.1", 1), 0);
	assert_int_equal(addr_count_take("192.0.2.1", 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_limit_per_address, teardown),
	    cmocka_unit_test_teardown(test_entries_go_with_their_connections, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
