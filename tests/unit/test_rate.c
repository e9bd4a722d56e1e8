/* rate: token buckets for per-user rate limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chat/rate.h"

static void test_burst_then_refill(void **state)
{
	(void)state;
	struct rate_spec spec = {.per_s = 5, .burst = 20};
	struct rate_bucket b = {0};
	double t = 1000;
	for (int i = 0; i < 20; i++) /* a fresh bucket is full */
		assert_int_equal(rate_take(&b, &spec, t), 0);
	int64_t wait = rate_take(&b, &spec, t);
	assert_int_equal(wait, 200); /* one token at 5 a second */
	/* Refused requests take nothing: the wait does not grow. */
	assert_int_equal(rate_take(&b, &spec, t), 200);
	assert_int_equal(rate_take(&b, &spec, t + 0.1), 100);
	assert_int_equal(rate_take(&b, &spec, t + 0.2), 0);
	assert_true(rate_take(&b, &spec, t + 0.2) > 0);
	/* A long pause refills to the burst, no more. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(rate_take(&b, &spec, t + 3600), 0);
	assert_true(rate_take(&b, &spec, t + 3600) > 0);
}

static void test_off_and_slow_rates(void **state)
{
	(void)state;
	struct rate_spec off = {.per_s = 0, .burst = 1};
	struct rate_bucket b = {0};
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rate_take(&b, &off, 5), 0);
	struct rate_spec minute = {.per_s = 1.0 / 60, .burst = 1};
	struct rate_bucket m = {0};
	assert_int_equal(rate_take(&m, &minute, 10), 0);
	assert_int_equal(rate_take(&m, &minute, 10), 60000);
	assert_int_equal(rate_take(&m, &minute, 40), 30000);
	/* A clock that went back starts a full bucket rather than refusing. */
	assert_int_equal(rate_take(&m, &minute, 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_refill),
	    cmocka_unit_test(test_off_and_slow_rates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
