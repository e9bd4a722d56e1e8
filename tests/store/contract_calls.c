/* calls_pending (issue 13, the host's shutdown drain): a call is counted
 * from its PENDING return until its done() has run; one refused at once
 * (an error return) is never counted. Optional: tested only when the
 * store's vtable has it. */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>

#define CALLS 6

void test_calls_pending(void **state)
{
	(void)state;
	static struct res r[CALLS], bad;
	contract_open("calls_pending");
	REQUIRE_MEMBER(calls_pending);
	assert_int_equal(S->calls_pending(self), 0);
	/* Refused at once: no done() to wait for, not counted. */
	assert_int_equal(RUN(&bad, S->kv_set(self, "drain", NULL, "\"v\"", res_done, &bad)),
	                 PARLEY_EINVAL);
	assert_int_equal(S->calls_pending(self), 0);
	/* Writes and reads, none finished yet: done() runs on the loop only,
	 * and the loop has not run since. */
	for (int i = 0; i < CALLS; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i / 2);
		res_reset(&r[i]);
		int rc = i % 2 ? S->kv_get(self, "drain", key, res_done, &r[i])
		               : S->kv_set(self, "drain", key, "\"v\"", res_done, &r[i]);
		assert_int_equal(rc, PARLEY_PENDING);
		assert_int_equal(S->calls_pending(self), i + 1);
	}
	res_wait_all(r, CALLS);
	/* A read may run before the write of its key is committed. */
	for (int i = 0; i < CALLS; i++)
		assert_true(r[i].rc == PARLEY_OK || (i % 2 && r[i].rc == PARLEY_ENOTFOUND));
	assert_int_equal(S->calls_pending(self), 0);
}
