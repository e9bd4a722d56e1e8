/* Unit tests of notify_email's self-contained parts: address and header
 * checks, message building, templates (the real files in config/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "message.h"
#include "template.h"

static void test_header_checks(void **state)
{
	(void)state;
	assert_true(email_header_safe("Ünïcode name"));
	assert_false(email_header_safe("a\r\nBcc: x@y"));
	assert_false(email_header_safe("a\tb"));
	assert_true(email_addr_valid("ann.b+tag@example.org"));
	assert_false(email_addr_valid("Ann <ann@example.org>"));
	assert_false(email_addr_valid("ann@@example.org"));
	assert_false(email_addr_valid("@example.org"));
	assert_false(email_addr_valid("ann example@org"));
}

static void test_mailbox_split(void **state)
{
	(void)state;
	char *name, *addr;
	assert_int_equal(email_mailbox_split("Chat <chat@example.org>", &name, &addr), 0);
	assert_string_equal(name, "Chat");
	assert_string_equal(addr, "chat@example.org");
	free(name);
	free(addr);
	assert_int_equal(email_mailbox_split("\"A B\" <ab@example.org>", &name, &addr), 0);
	assert_string_equal(name, "A B");
	free(name);
	free(addr);
	assert_int_equal(email_mailbox_split("plain@example.org", &name, &addr), 0);
	assert_null(name);
	free(addr);
	assert_int_equal(email_mailbox_split("Chat <not an address>", &name, &addr), -1);
	assert_int_equal(email_mailbox_split("Chat <a@b> trailing", &name, &addr), -1);
}

static void test_message_build(void **state)
{
	(void)state;
	/* 3-byte characters: a naive 45-byte cut would split one. */
	const char *subject = "日本語日本語日本語日本語日本語日本語日本語日本語 ✓";
	struct email_parts p = {
	    .from_name = "Chat",
	    .from_addr = "chat@example.org",
	    .to_name = "Zoë \"Z\"",
	    .to_addr = "zoe@example.org",
	    .subject = subject,
	    .text = "line 1\nline 2\n",
	    .html = "<p>hi</p>\n",
	    .id = "0123456789abcdef0123456789abcdef",
	    .boundary_seed = "fedcba9876543210fedcba9876543210",
	    .list_unsubscribe = "https://chat.example.org/unsub",
	    .date_ms = 0,
	};
	size_t len;
	char *msg = email_message_build(&p, &len);
	assert_non_null(msg);
	assert_int_equal(strlen(msg), len);
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)msg[i] < 0x80); /* 7-bit on the wire */
	assert_non_null(strstr(msg, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	assert_non_null(strstr(msg, "Message-ID: <0123456789abcdef0123456789abcdef@example.org>"));
	assert_non_null(strstr(msg, "List-Unsubscribe: <https://chat.example.org/unsub>\r\n"));
	assert_non_null(strstr(msg, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(msg, "?=\r\n =?UTF-8?B?")); /* folded into several words */
	assert_non_null(strstr(msg, "multipart/alternative"));
	/* Each encoded word holds whole characters: its length is a multiple of
	 * 3 bytes here, so its base64 text a multiple of 4 without padding. */
	for (const char *w = strstr(msg, "=?UTF-8?B?"); w; w = strstr(w + 1, "=?UTF-8?B?")) {
		const char *end = strstr(w + 10, "?=");
		assert_non_null(end);
		assert_true(end - (w + 10) <= 60);
	}
	char rcpt[EMAIL_ADDR_MAX + 1];
	assert_int_equal(email_message_rcpt(msg, len, rcpt, sizeof rcpt), 0);
	assert_string_equal(rcpt, "zoe@example.org");
	free(msg);
}

static void test_templates(void **state)
{
	(void)state;
	const char *vars[] = {"link",        "https://x.example/#invite=abc",
	                      "server_name", "<b>&Co",
	                      "inviter",     "Ann\r\nBcc: x"};
	struct email_rendered r;
	char err[256];
	const char *dir = PARLEY_SOURCE_DIR "/config/templates";
	assert_int_equal(email_template_render(dir, "invite", vars, 3, &r, err, sizeof err), 0);
	assert_string_equal(r.subject, "You are invited to <b>&Co");
	assert_non_null(strstr(r.text, "https://x.example/#invite=abc"));
	assert_non_null(strstr(r.html, "&lt;b&gt;&amp;Co"));
	assert_null(strstr(r.html, "<b>&Co"));
	email_rendered_free(&r);
	assert_int_equal(email_template_render(dir, "../etc", vars, 3, &r, err, sizeof err), -1);
	assert_int_equal(email_template_render(dir, "nosuchkind", vars, 3, &r, err, sizeof err),
	                 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_checks),
	    cmocka_unit_test(test_mailbox_split),
	    cmocka_unit_test(test_message_build),
	    cmocka_unit_test(test_templates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
