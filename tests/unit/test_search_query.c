/* search_query: words, prefixes, phrases, from:/in:, folding, and each
 * limit refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <parley/search_fold.h>
#include "chat/search_query.h"

static struct search_query q;
static char err[SEARCH_QUERY_ERR];

static int parse(const char *s)
{
	err[0] = '\0';
	return search_query_parse(s, strlen(s), &q, err, sizeof err);
}

static void term_is(size_t i, int kind, const char *text)
{
	assert_true(i < q.n_terms);
	assert_int_equal(q.terms[i].kind, kind);
	assert_string_equal(q.terms[i].text, text);
}

static void test_words_prefix_phrase(void **state)
{
	(void)state;
	assert_int_equal(parse("  Buffer  MARCH buff* \"tris  HCl, pH 8\" e-mail"), 0);
	assert_int_equal(q.n_terms, 5);
	term_is(0, PARLEY_TERM_WORD, "buffer");
	term_is(1, PARLEY_TERM_WORD, "march");
	term_is(2, PARLEY_TERM_PREFIX, "buff");
	term_is(3, PARLEY_TERM_PHRASE, "tris hcl ph 8");
	term_is(4, PARLEY_TERM_PHRASE, "e mail");
	assert_null(q.from);
	assert_null(q.in);
}

static void test_folding(void **state)
{
	(void)state;
	assert_int_equal(parse("Crème BRÛLÉE Ærø Łódź naïve"), 0);
	term_is(0, PARLEY_TERM_WORD, "creme");
	term_is(1, PARLEY_TERM_WORD, "brulee");
	term_is(2, PARLEY_TERM_WORD, "ærø");
	term_is(3, PARLEY_TERM_WORD, "łodz");
	term_is(4, PARLEY_TERM_WORD, "naive");
	/* Typographic quotes and dashes separate words; × is no letter. */
	assert_int_equal(parse("“smart”—quotes 3×4"), 0);
	term_is(0, PARLEY_TERM_PHRASE, "smart quotes");
	term_is(1, PARLEY_TERM_PHRASE, "3 4");
	assert_int_equal(parley_fold_cp(0x00c9), 'e');
	assert_int_equal(parley_fold_cp('Q'), 'q');
	assert_int_equal(parley_fold_cp(0x4e2d), 0x4e2d);
}

static void test_filters(void **state)
{
	(void)state;
	assert_int_equal(parse("from:@Ann plan IN:#Lab-Notes"), 0);
	assert_string_equal(q.from, "Ann");
	assert_string_equal(q.in, "Lab-Notes");
	assert_int_equal(q.n_terms, 1);
	term_is(0, PARLEY_TERM_WORD, "plan");
}

static void refused(const char *s, const char *why)
{
	assert_int_equal(parse(s), -1);
	if (!strstr(err, why))
		fail_msg("%s: \"%s\" does not say \"%s\"", s, err, why);
}

static void test_refusals(void **state)
{
	(void)state;
	char long_q[SEARCH_QUERY_MAX + 2];
	memset(long_q, 'a', sizeof long_q - 1);
	long_q[sizeof long_q - 1] = '\0';
	refused(long_q, "at most 256 bytes");
	char long_word[SEARCH_WORD_MAX + 2];
	memset(long_word, 'w', sizeof long_word - 1);
	long_word[sizeof long_word - 1] = '\0';
	refused(long_word, "longer than");
	refused("", "at least one word");
	refused(" - ... !", "at least one word");
	refused("a b c d e f g h i", "at most 8 terms");
	refused("\"a b c d e f g h i\"", "at most 8 words");
	refused("\"open", "not closed");
	refused("b*", "prefix");
	refused("é*", "prefix");
	refused("x from:", "from:");
	refused("x from:a from:b", "once");
	refused("x in:#", "in:");
	refused("bad \xc3\x28 utf8", "UTF-8");
	refused("x from:\xff", "UTF-8");
	assert_int_equal(search_query_parse("a\0b", 3, &q, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_words_prefix_phrase),
	    cmocka_unit_test(test_folding),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
