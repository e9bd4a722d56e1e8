/* app/slack_markup.c: Slack markup to parley text, case by case, with
 * names resolved and not, and the input limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/slack_markup.h"

static int mentions;

static const char *user(void *ud, const char *id, size_t n)
{
	(void)ud;
	mentions++;
	return n == 3 && !memcmp(id, "U01", 3) ? "ann" : NULL;
}

static const char *channel(void *ud, const char *id, size_t n)
{
	(void)ud;
	return n == 3 && !memcmp(id, "C01", 3) ? "lab" : NULL;
}

static const struct slack_names NAMES = {user, channel, NULL};

static void expect(const char *in, const char *want)
{
	char *out = slack_markup_convert(in, strlen(in), &NAMES);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void test_references(void **state)
{
	(void)state;
	mentions = 0;
	expect("hi <@U01> and <@U09|zed> and <@U08>", "hi @ann and @zed and @U08");
	assert_int_equal(mentions, 3);
	expect("in <#C01|old> <#C02|other> <#C03>", "in #lab #other #C03");
	expect("<!here> <!channel> <!everyone>", "@here @room @all");
	expect("<!subteam^S1|@chem> at <!date^1392734382^{date}|Feb 18, 2014>",
	       "@chem at Feb 18, 2014");
}

static void test_links_and_entities(void **state)
{
	(void)state;
	expect("<https://x.org/a?b=1&amp;c=2|the docs>", "the docs (https://x.org/a?b=1&c=2)");
	expect("<https://x.org|https://x.org> <https://y.org>", "https://x.org https://y.org");
	expect("<mailto:a@b.c|a@b.c> <mailto:a@b.c|write>", "a@b.c write (a@b.c)");
	expect("1 &lt; 2 &amp;&amp; 3 &gt; 2 &foo;", "1 < 2 && 3 > 2 &foo;");
	expect("&gt; a quote", "> a quote");
	/* Not a token: left as it is. */
	expect("a < b and c<d", "a < b and c<d");
	expect("<no end", "<no end");
}

static void test_emphasis(void **state)
{
	(void)state;
	expect("*bold* _it_ ~gone~", "**bold** _it_ ~~gone~~");
	expect("a*b*c 2*3*4", "a*b*c 2*3*4");
	expect("* list item\n* another", "* list item\n* another");
	expect("*open\nclose*", "*open\nclose*");
	expect("`*code*` and ```\n*pre* :tada:\n``` *out*",
	       "`*code*` and ```\n*pre* :tada:\n``` **out**");
	expect(":tada: :+1::skin-tone-2: :nope: 10:30", "🎉 👍:skin-tone-2: :nope: 10:30");
}

static void test_limit_and_bytes(void **state)
{
	(void)state;
	size_t n = SLACK_MARKUP_IN_MAX + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	assert_null(slack_markup_convert(big, n, &NAMES));
	char *out = slack_markup_convert(big, n - 1, NULL);
	assert_non_null(out);
	assert_int_equal(strlen(out), n - 1);
	free(out);
	free(big);
	expect("héllo wörld ✓", "héllo wörld ✓");
	out = slack_markup_convert("", 0, NULL);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_references),
	    cmocka_unit_test(test_links_and_entities),
	    cmocka_unit_test(test_emphasis),
	    cmocka_unit_test(test_limit_and_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
