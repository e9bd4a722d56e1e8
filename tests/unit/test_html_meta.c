/* html_meta.c: preview fields from a page's head, with its limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/html_meta.h"

static void parse(const char *html, struct html_meta *m)
{
	html_meta_parse(html, strlen(html), m);
}

static void test_open_graph_wins(void **state)
{
	(void)state;
	struct html_meta m;
	parse("<!doctype html><HTML><head><title> Plain\n  title </title>"
	      "<meta name=description content='plain desc'>"
	      "<meta name=\"twitter:title\" content=\"Twitter title\">"
	      "<meta content=\"OG &amp; title &#x263A; &#9731;\" property=\"og:title\"/>"
	      "<meta property=og:image content=/cover.png>"
	      "<meta property=\"og:site_name\" content=\"Lab\">"
	      "</head><body><meta property=\"og:description\" content=\"too late\"></body>",
	      &m);
	assert_string_equal(m.title, "OG & title \xe2\x98\xba \xe2\x98\x83");
	assert_string_equal(m.description, "plain desc");
	assert_string_equal(m.image, "/cover.png");
	assert_string_equal(m.site_name, "Lab");
	/* <title> alone, whitespace collapsed. */
	parse("<title>\t Just\r\n the  title </title>", &m);
	assert_string_equal(m.title, "Just the title");
	assert_string_equal(m.description, "");
}

static void test_hostile_text(void **state)
{
	(void)state;
	struct html_meta m;
	/* A huge title is cut at a UTF-8 boundary. */
	size_t n = 100000;
	char *big = malloc(n + 32);
	strcpy(big, "<title>");
	for (size_t i = 7; i + 2 < n; i += 2)
		memcpy(big + i, "\xc3\xa9", 2); /* é */
	strcpy(big + n - 1, "</title>");
	html_meta_parse(big, strlen(big), &m);
	assert_int_equal(strlen(m.title), HTML_META_TITLE_MAX);
	free(big);
	/* Invalid UTF-8, control characters, a NUL and unknown entities. */
	const char bad[] =
	    "<title>a\xff\xfe b\x01\x02 c&bogus; &#0; &#x110000; \xed\xa0\x80 d\0e</title>";
	html_meta_parse(bad, sizeof bad - 1, &m);
	assert_string_equal(m.title, "a b c&bogus; d e");
	/* Markup in scripts and comments is not read. */
	parse("<script>var s = '<meta property=\"og:title\" content=\"evil\">';</script>"
	      "<!-- <meta property=\"og:title\" content=\"commented\"> -->"
	      "<meta property=\"og:title\" content=\"real\">",
	      &m);
	assert_string_equal(m.title, "real");
	/* Unclosed everything: no reads past the end. */
	const char *cut[] = {"<meta property=\"og:title\" content=\"x",
	                     "<title>never closed",
	                     "<!-- open",
	                     "<meta",
	                     "<",
	                     "<script>",
	                     "&#x"};
	for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
		size_t l = strlen(cut[i]);
		char *exact = malloc(l);
		memcpy(exact, cut[i], l); /* no NUL after: ASan sees overreads */
		html_meta_parse(exact, l, &m);
		free(exact);
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct html_meta m;
	/* Past HTML_META_TAGS_MAX tags nothing more is read. */
	size_t per = 3, n = (HTML_META_TAGS_MAX + 10) * per;
	char *many = malloc(n + 64);
	for (size_t i = 0; i < n; i += per)
		memcpy(many + i, "<p>", per);
	strcpy(many + n, "<title>late</title>");
	html_meta_parse(many, strlen(many), &m);
	assert_string_equal(m.title, "");
	free(many);
	/* Past HTML_META_SCAN_MAX bytes nothing more is read. */
	size_t big = HTML_META_SCAN_MAX + 10;
	char *pad = malloc(big + 64);
	memset(pad, ' ', big);
	strcpy(pad + big, "<title>late</title>");
	html_meta_parse(pad, strlen(pad), &m);
	assert_string_equal(m.title, "");
	free(pad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_graph_wins),
	    cmocka_unit_test(test_hostile_text),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
