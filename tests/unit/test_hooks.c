/* hooks.c: priority order with ties in registration order, before_message
 * stopping at the first deny, rewrites visible to later hooks, unknown
 * return codes treated as continue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "host/hooks.h"
#include "base/metrics.h"

#define TRACE_MAX 16

static int trace[TRACE_MAX];
static int n_trace;
static char seen_text[TRACE_MAX][64];

struct probe {
	int id;
	int rc;
	const char *rewrite; /* with PARLEY_REWRITE */
	const char *reason;  /* with PARLEY_DENY */
};

static int probe_fn(void *ud, parley_hook_args *args)
{
	struct probe *p = ud;
	if (n_trace < TRACE_MAX) {
		const char *t = args->message && args->message->text ? args->message->text : "";
		snprintf(seen_text[n_trace], sizeof seen_text[0], "%s", t);
		trace[n_trace++] = p->id;
	}
	if (p->rc == PARLEY_REWRITE)
		hooks_rewrite(args, p->rewrite);
	if (p->rc == PARLEY_DENY && p->reason)
		hooks_deny(args, p->reason);
	return p->rc;
}

static int reset(void **state)
{
	(void)state;
	hooks_clear();
	n_trace = 0;
	memset(trace, 0, sizeof trace);
	return 0;
}

static void test_order(void **state)
{
	(void)state;
	struct probe p[] = {{1, PARLEY_OK, NULL, NULL},
	                    {2, PARLEY_OK, NULL, NULL},
	                    {3, PARLEY_OK, NULL, NULL},
	                    {4, PARLEY_OK, NULL, NULL},
	                    {5, PARLEY_OK, NULL, NULL}};
	assert_int_equal(hooks_add(PARLEY_HOOK_JOIN, 10, probe_fn, &p[0], "a"), 0);
	assert_int_equal(hooks_add(PARLEY_HOOK_JOIN, -5, probe_fn, &p[1], "b"), 0);
	assert_int_equal(hooks_add(PARLEY_HOOK_JOIN, 10, probe_fn, &p[2], "c"), 0);
	assert_int_equal(hooks_add(PARLEY_HOOK_JOIN, 0, probe_fn, &p[3], "d"), 0);
	assert_int_equal(hooks_add(PARLEY_HOOK_JOIN, -5, probe_fn, &p[4], "e"), 0);
	assert_int_equal(hooks_count(PARLEY_HOOK_JOIN), 5);
	assert_int_equal(hooks_count(PARLEY_HOOK_LEAVE), 0);

	parley_hook_args args = {.struct_size = sizeof args, .event = PARLEY_HOOK_JOIN};
	assert_int_equal(hooks_run(&args, NULL, NULL), PARLEY_OK);
	int want[] = {2, 5, 4, 1, 3};
	assert_int_equal(n_trace, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(trace[i], want[i]);

	assert_int_equal(hooks_add(-1, 0, probe_fn, NULL, "x"), PARLEY_EINVAL);
	assert_int_equal(hooks_add(PARLEY_HOOK__COUNT, 0, probe_fn, NULL, "x"), PARLEY_EINVAL);
	assert_int_equal(hooks_add(PARLEY_HOOK_JOIN, 0, NULL, NULL, "x"), PARLEY_EINVAL);
}

static void test_deny_stops(void **state)
{
	(void)state;
	struct probe first = {1, PARLEY_OK, NULL, NULL};
	struct probe denier = {2, PARLEY_DENY, NULL, "not here"};
	struct probe after = {3, PARLEY_OK, NULL, NULL};
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 0, probe_fn, &first, "a");
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 1, probe_fn, &denier, "b");
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 2, probe_fn, &after, "c");
	parley_message msg = {.text = "hello"};
	parley_hook_args args = {
	    .struct_size = sizeof args, .event = PARLEY_HOOK_BEFORE_MESSAGE, .message = &msg};
	const char *reason = NULL, *rewritten = "x";
	assert_int_equal(hooks_run(&args, &reason, &rewritten), PARLEY_DENY);
	assert_non_null(reason);
	assert_string_equal(reason, "not here");
	assert_null(rewritten);
	assert_int_equal(n_trace, 2);
	assert_string_equal(msg.text, "hello");
	assert_null(args.host_private);

	/* A deny without a reason names the hook's owner. */
	denier.reason = NULL;
	assert_int_equal(hooks_run(&args, &reason, NULL), PARLEY_DENY);
	assert_string_equal(reason, "rejected by b");

	/* Outside before_message a deny means nothing: every hook runs. */
	n_trace = 0;
	hooks_add(PARLEY_HOOK_MESSAGE, 0, probe_fn, &denier, "b");
	hooks_add(PARLEY_HOOK_MESSAGE, 1, probe_fn, &after, "c");
	args.event = PARLEY_HOOK_MESSAGE;
	assert_int_equal(hooks_run(&args, &reason, NULL), PARLEY_OK);
	assert_null(reason);
	assert_int_equal(n_trace, 2);
}

static void test_rewrite_chain(void **state)
{
	(void)state;
	struct probe r1 = {1, PARLEY_REWRITE, "the dog sat", NULL};
	struct probe look = {2, PARLEY_OK, NULL, NULL};
	struct probe r2 = {3, PARLEY_REWRITE, "the dog sat down", NULL};
	struct probe last = {4, PARLEY_OK, NULL, NULL};
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 5, probe_fn, &r1, "a");
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 5, probe_fn, &look, "b");
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 6, probe_fn, &r2, "c");
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 7, probe_fn, &last, "d");
	char original[] = "the cat sat";
	parley_message msg = {.text = original};
	parley_hook_args args = {
	    .struct_size = sizeof args, .event = PARLEY_HOOK_BEFORE_MESSAGE, .message = &msg};
	const char *reason = "x", *rewritten = NULL;
	assert_int_equal(hooks_run(&args, &reason, &rewritten), PARLEY_OK);
	assert_null(reason);
	assert_int_equal(n_trace, 4);
	assert_string_equal(seen_text[0], "the cat sat");
	assert_string_equal(seen_text[1], "the dog sat");
	assert_string_equal(seen_text[2], "the dog sat");
	assert_string_equal(seen_text[3], "the dog sat down");
	assert_non_null(rewritten);
	assert_string_equal(rewritten, "the dog sat down");
	assert_ptr_equal(msg.text, rewritten);
	/* The caller's buffer is untouched: only the pointer moved. */
	assert_string_equal(original, "the cat sat");

	/* A later run without rewrites reports none. */
	hooks_clear();
	msg.text = original;
	assert_int_equal(hooks_run(&args, &reason, &rewritten), PARLEY_OK);
	assert_null(rewritten);
}

static void test_unknown_code_continues(void **state)
{
	(void)state;
	struct probe odd = {1, 42, NULL, NULL};
	struct probe err = {2, PARLEY_ERR, NULL, NULL};
	struct probe after = {3, PARLEY_OK, NULL, NULL};
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 0, probe_fn, &odd, "odd");
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 0, probe_fn, &err, "err");
	hooks_add(PARLEY_HOOK_BEFORE_MESSAGE, 0, probe_fn, &after, "after");
	parley_message msg = {.text = "hi"};
	parley_hook_args args = {
	    .struct_size = sizeof args, .event = PARLEY_HOOK_BEFORE_MESSAGE, .message = &msg};
	double errors = metric_value(core_metrics.plugin_errors);
	assert_int_equal(hooks_run(&args, NULL, NULL), PARLEY_OK);
	assert_int_equal(n_trace, 3);
	/* Both misbehaving hooks were counted. */
	assert_true(metric_value(core_metrics.plugin_errors) == errors + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order, reset, reset),
	    cmocka_unit_test_setup_teardown(test_deny_stops, reset, reset),
	    cmocka_unit_test_setup_teardown(test_rewrite_chain, reset, reset),
	    cmocka_unit_test_setup_teardown(test_unknown_code_continues, reset, reset),
	};
	metrics_init();
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	metrics_free_all();
	return failed;
}
