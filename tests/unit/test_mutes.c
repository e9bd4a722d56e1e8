/* mutes: set, lift, expiry by the clock given, the sweep of expired
 * entries past the bound, and the message a muted sender reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chat/mutes.h"

static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

static int setup(void **state)
{
	(void)state;
	fake_now = 1000000;
	mutes_set_clock(fake_clock);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mutes_fini();
	mutes_set_clock(NULL);
	return 0;
}

static void test_set_expire_lift(void **state)
{
	(void)state;
	assert_int_equal(mutes_until("u_1", "r_1", fake_now), 0);
	assert_int_equal(mutes_set("u_1", "r_1", fake_now + 60000), 0);
	assert_int_equal(mutes_until("u_1", "r_1", fake_now), fake_now + 60000);
	/* per room and per user */
	assert_int_equal(mutes_until("u_1", "r_2", fake_now), 0);
	assert_int_equal(mutes_until("u_2", "r_1", fake_now), 0);
	/* a later mute replaces the end */
	assert_int_equal(mutes_set("u_1", "r_1", fake_now + 600000), 0);
	assert_int_equal(mutes_until("u_1", "r_1", fake_now + 60001), fake_now + 600000);
	/* it ends on time */
	assert_int_equal(mutes_until("u_1", "r_1", fake_now + 600000), 0);
	/* lifting: a time not in the future */
	assert_int_equal(mutes_set("u_3", "r_1", fake_now + 1000), 0);
	assert_int_equal(mutes_set("u_3", "r_1", 0), 0);
	assert_int_equal(mutes_until("u_3", "r_1", fake_now), 0);
}

static void test_sweep_keeps_live_ones(void **state)
{
	(void)state;
	char user[32];
	for (int i = 0; i < 3000; i++) {
		snprintf(user, sizeof user, "u_%d", i);
		/* every other one expires after 1 s */
		assert_int_equal(mutes_set(user, "r_1", fake_now + (i % 2 ? 1000 : 3600000)), 0);
		if (i == 1500)
			fake_now += 2000; /* the odd ones so far have expired */
	}
	for (int i = 0; i < 3000; i += 2) {
		snprintf(user, sizeof user, "u_%d", i);
		assert_true(mutes_until(user, "r_1", fake_now) > 0);
	}
}

static void collect(const char *user_id, const char *room_id, int64_t until_ms, int64_t set_ms)
{
	(void)set_ms;
	check_expected(user_id);
	check_expected(room_id);
	check_expected(until_ms);
}

/* Another node's changes: the newest decision wins, whatever the order
 * they arrive in, and a lift is not undone by an older mute said again. */
static void test_apply_newest_wins(void **state)
{
	(void)state;
	assert_int_equal(mutes_apply("u_1", "r_1", fake_now + 60000, fake_now - 10), 1);
	assert_int_equal(mutes_until("u_1", "r_1", fake_now), fake_now + 60000);
	/* lifted later (by another node) */
	assert_int_equal(mutes_apply("u_1", "r_1", 0, fake_now - 5), 1);
	assert_int_equal(mutes_until("u_1", "r_1", fake_now), 0);
	/* the mute said again by a node that missed the lift: ignored */
	assert_int_equal(mutes_apply("u_1", "r_1", fake_now + 60000, fake_now - 10), 0);
	assert_int_equal(mutes_until("u_1", "r_1", fake_now), 0);
	/* a newer mute applies */
	assert_int_equal(mutes_apply("u_1", "r_1", fake_now + 5000, fake_now), 1);
	assert_int_equal(mutes_until("u_1", "r_1", fake_now), fake_now + 5000);
	/* what is said to a new node: the live mute, nothing else */
	expect_string(collect, user_id, "u_1");
	expect_string(collect, room_id, "r_1");
	expect_value(collect, until_ms, fake_now + 5000);
	mutes_each(collect);
	/* the lift of a mute that had ended anyway is forgotten at once */
	fake_now += 6000;
	assert_int_equal(mutes_apply("u_1", "r_1", 0, fake_now), 1);
	mutes_each(collect); /* nothing expected */
}

static void test_describe(void **state)
{
	(void)state;
	char msg[128];
	mutes_describe(1767225660000LL, msg, sizeof msg);
	assert_string_equal(msg, "you are muted in this room until 2026-01-01T00:01:00Z");
}

static void test_too_long_ids(void **state)
{
	(void)state;
	char big[300];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	assert_int_equal(mutes_set(big, "r_1", fake_now + 1000), -1);
	assert_int_equal(mutes_until(big, "r_1", fake_now), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_set_expire_lift, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_keeps_live_ones, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_newest_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_long_ids, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
