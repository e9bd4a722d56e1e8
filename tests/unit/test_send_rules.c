/* send_rules: the send path's decisions alone — text limits, mutes, a bot
 * token's scope, commands and their resends, the hooks' verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <parley/plugin.h>

#include "base/config.h"
#include "chat/send_rules.h"

static void test_text(void **state)
{
	(void)state;
	const char *why = NULL;
	assert_int_equal(send_rule_text("hi", 0, CONFIG_MAX_TEXT_DEFAULT, &why), PARLEY_OK);
	assert_int_equal(send_rule_text("", 0, 10, &why), PARLEY_EINVAL);
	assert_string_equal(why, "text: empty");
	assert_int_equal(send_rule_text("", 1, 10, &why), PARLEY_OK);
	/* Code points, not bytes: ten "é" (20 bytes) fit a limit of 10. */
	char e10[32] = "";
	for (int i = 0; i < 10; i++)
		strcat(e10, "\xc3\xa9");
	assert_int_equal(send_rule_text(e10, 0, 10, &why), PARLEY_OK);
	assert_int_equal(send_rule_text(e10, 0, 9, &why), PARLEY_ETOOLARGE);
}

static void test_mute(void **state)
{
	(void)state;
	char why[128] = "";
	assert_int_equal(send_rule_mute(0, why, sizeof why), PARLEY_OK);
	assert_int_equal(send_rule_mute(1767225660000LL, why, sizeof why), PARLEY_EFORBIDDEN);
	assert_string_equal(why, "you are muted in this room until 2026-01-01T00:01:00Z");
}

static void test_scope(void **state)
{
	(void)state;
	const char *why = NULL;
	int bad;
	assert_int_equal(send_rule_scope(NULL, "r_1", &why), PARLEY_OK);
	struct scope *reader = scope_parse("read", "[\"r_1\"]", &bad);
	assert_int_equal(send_rule_scope(reader, "r_1", &why), PARLEY_EFORBIDDEN);
	assert_string_equal(why, "outside the token's scope");
	/* A room outside its list is unknown to it, not forbidden. */
	assert_int_equal(send_rule_scope(reader, "r_2", &why), PARLEY_ENOTFOUND);
	scope_free(reader);
	struct scope *poster = scope_parse("read,post", NULL, &bad);
	assert_int_equal(send_rule_scope(poster, "r_2", &why), PARLEY_OK);
	scope_free(poster);
}

static void test_route(void **state)
{
	(void)state;
	assert_int_equal(send_rule_route("hello", 0, 0), SEND_STORE);
	assert_int_equal(send_rule_route("/roll 2d6", 0, 0), SEND_TRY_COMMAND);
	assert_int_equal(send_rule_route("/roll 2d6", 0, 1), SEND_REPEATED);
	assert_int_equal(send_rule_route("/roll 2d6", 1, 0), SEND_STORE); /* a bot's text */
	assert_int_equal(send_rule_route(" /roll", 0, 0), SEND_STORE);
}

static void test_hooks(void **state)
{
	(void)state;
	const char *text = "original", *why = NULL;
	assert_int_equal(send_rule_hooks(PARLEY_OK, NULL, NULL, 100, &text, &why), PARLEY_OK);
	assert_string_equal(text, "original");
	assert_int_equal(send_rule_hooks(PARLEY_OK, NULL, "masked ****", 100, &text, &why),
	                 PARLEY_OK);
	assert_string_equal(text, "masked ****");
	text = "original";
	assert_int_equal(send_rule_hooks(PARLEY_DENY, "no ads", NULL, 100, &text, &why),
	                 PARLEY_EFORBIDDEN);
	assert_string_equal(why, "no ads");
	assert_string_equal(text, "original");
	assert_int_equal(send_rule_hooks(PARLEY_DENY, NULL, NULL, 100, &text, &why),
	                 PARLEY_EFORBIDDEN);
	assert_string_equal(why, "rejected by a moderation hook");
	/* A rewrite to nothing, or past the limit, is refused too. */
	assert_int_equal(send_rule_hooks(PARLEY_OK, NULL, "", 100, &text, &why), PARLEY_EFORBIDDEN);
	assert_int_equal(send_rule_hooks(PARLEY_OK, NULL, "12345", 4, &text, &why),
	                 PARLEY_EFORBIDDEN);
	assert_string_equal(text, "original");
}

static void test_recent_commands(void **state)
{
	(void)state;
	static struct recent_commands rc;
	assert_false(recent_commands_seen(&rc, "u_1", "c1"));
	recent_commands_add(&rc, "u_1", "c1");
	recent_commands_add(&rc, "u_1", NULL); /* nothing to remember */
	assert_true(recent_commands_seen(&rc, "u_1", "c1"));
	assert_false(recent_commands_seen(&rc, "u_2", "c1")); /* per user */
	assert_false(recent_commands_seen(&rc, "u_1", "c"));
	assert_false(recent_commands_seen(&rc, "u_1", NULL));
	/* "u_1 x" + "y" is not "u_1" + "x y". */
	recent_commands_add(&rc, "u_1", "x y");
	assert_false(recent_commands_seen(&rc, "u_1 x", "y"));
	/* The ring forgets the oldest. */
	char id[32];
	for (int i = 0; i < SEND_RECENT_COMMANDS; i++) {
		snprintf(id, sizeof id, "k%d", i);
		recent_commands_add(&rc, "u_9", id);
	}
	assert_false(recent_commands_seen(&rc, "u_1", "c1"));
	assert_true(recent_commands_seen(&rc, "u_9", "k0"));
	recent_commands_add(&rc, "u_9", "one more");
	assert_false(recent_commands_seen(&rc, "u_9", "k0"));
	assert_true(recent_commands_seen(&rc, "u_9", "k1"));
	recent_commands_clear(&rc);
	assert_false(recent_commands_seen(&rc, "u_9", "k1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),  cmocka_unit_test(test_mute),
	    cmocka_unit_test(test_scope), cmocka_unit_test(test_route),
	    cmocka_unit_test(test_hooks), cmocka_unit_test(test_recent_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
