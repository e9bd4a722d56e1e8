/* addr_rate: token buckets per client network, in a bounded table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "api/addr_rate.h"

static void test_network_keys(void **state)
{
	(void)state;
	char out[64];
	addr_rate_network("192.0.2.7", out, sizeof out);
	assert_string_equal(out, "192.0.2.7");
	addr_rate_network("::ffff:192.0.2.7", out, sizeof out);
	assert_string_equal(out, "192.0.2.7");
	addr_rate_network("2001:db8:1:2:aaaa:bbbb:cccc:dddd", out, sizeof out);
	assert_string_equal(out, "2001:db8:1:2::/64");
	addr_rate_network("2001:db8:1:3::1", out, sizeof out);
	assert_string_equal(out, "2001:db8:1:3::/64");
	addr_rate_network("not an address", out, 8);
	assert_string_equal(out, "not an ");
}

static void test_one_network_shares_a_bucket(void **state)
{
	(void)state;
	struct rate_spec spec = {.per_s = 0.5, .burst = 3};
	struct addr_rate *r = addr_rate_new(16);
	double t = 1000;
	/* Two hosts of one IPv6 /64 draw on the same three tokens. */
	assert_int_equal(addr_rate_take(r, "2001:db8::1", &spec, t), 0);
	assert_int_equal(addr_rate_take(r, "2001:db8::2", &spec, t), 0);
	assert_int_equal(addr_rate_take(r, "2001:db8::3", &spec, t), 0);
	assert_int_equal(addr_rate_take(r, "2001:db8::4", &spec, t), 2000);
	/* Another network is not affected. */
	assert_int_equal(addr_rate_take(r, "2001:db8:0:1::1", &spec, t), 0);
	assert_int_equal(addr_rate_take(r, "192.0.2.1", &spec, t), 0);
	assert_int_equal(addr_rate_count(r), 3);
	/* Two seconds give one token back. */
	assert_int_equal(addr_rate_take(r, "2001:db8::9", &spec, t + 2), 0);
	assert_true(addr_rate_take(r, "2001:db8::9", &spec, t + 2) > 0);
	addr_rate_free(r);
}

static void test_full_table_drops_refilled_buckets(void **state)
{
	(void)state;
	struct rate_spec spec = {.per_s = 1, .burst = 2};
	struct addr_rate *r = addr_rate_new(4);
	char addr[32];
	double t = 1000;
	for (int i = 0; i < 4; i++) {
		snprintf(addr, sizeof addr, "198.51.100.%d", i);
		assert_int_equal(addr_rate_take(r, addr, &spec, t), 0);
	}
	/* Full, and nobody has refilled: a new network waits; the known ones
	 * still get their own tokens. */
	assert_true(addr_rate_take(r, "203.0.113.1", &spec, t) > 0);
	assert_int_equal(addr_rate_take(r, "198.51.100.0", &spec, t), 0);
	assert_int_equal(addr_rate_count(r), 4);
	/* Within a second of that sweep no new sweep runs. */
	assert_true(addr_rate_take(r, "203.0.113.1", &spec, t + 0.5) > 0);
	/* Later, the refilled buckets (all but the one drawn twice) go. */
	assert_int_equal(addr_rate_take(r, "203.0.113.1", &spec, t + 1.5), 0);
	assert_int_equal(addr_rate_count(r), 2);
	addr_rate_free(r);
}

static void test_no_limit(void **state)
{
	(void)state;
	struct rate_spec off = {.per_s = 0, .burst = 1};
	struct addr_rate *r = addr_rate_new(1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(addr_rate_take(r, "192.0.2.1", &off, 1000), 0);
	assert_int_equal(addr_rate_count(r), 0);
	addr_rate_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_network_keys),
	    cmocka_unit_test(test_one_network_shares_a_bucket),
	    cmocka_unit_test(test_full_table_drops_refilled_buckets),
	    cmocka_unit_test(test_no_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
