/* uploads_s3's ListObjectsV2 reader (list_xml.c): what S3 and s3rver send
 * is read field by field; every limit and malformed answer is refused
 * with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "s3.h"

struct got {
	char keys[4][S3_KEY_MAX + 1];
	int64_t sizes[4], mtimes[4];
	size_t n;
};

static int keep(void *ud, const char *key, int64_t size, int64_t mtime_ms)
{
	struct got *g = ud;
	if (g->n == 4)
		return -1;
	snprintf(g->keys[g->n], sizeof g->keys[0], "%s", key);
	g->sizes[g->n] = size;
	g->mtimes[g->n++] = mtime_ms;
	return 0;
}

static int parse(const char *xml, size_t max, struct got *g, struct s3_list_page *page, char *err)
{
	memset(g, 0, sizeof *g);
	err[0] = '\0';
	return s3_list_parse(xml, strlen(xml), max, keep, g, page, err, 256);
}

static void test_a_page_of_s3(void **state)
{
	(void)state;
	struct got g;
	struct s3_list_page page;
	char err[256];
	const char *xml =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Name>b</Name><Prefix>bk/</Prefix><IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>tok/+=</NextContinuationToken>"
	    "<Contents><Key>bk/1/a&amp;b &#xE9;</Key><LastModified>2026-12-06T05:00:01.250Z"
	    "</LastModified><ETag>&quot;x&quot;</ETag><Size>42</Size>"
	    "<Owner><ID>o</ID></Owner></Contents>"
	    "<Contents><Key>bk/1/manifest.json</Key><Size>0</Size></Contents>"
	    "</ListBucketResult>";
	assert_int_equal(parse(xml, 2, &g, &page, err), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(page.n, 2);
	assert_string_equal(g.keys[0], "bk/1/a&b \xc3\xa9");
	assert_int_equal(g.sizes[0], 42);
	assert_int_equal(g.mtimes[0], 1796533201250LL);
	assert_string_equal(g.keys[1], "bk/1/manifest.json");
	assert_int_equal(g.mtimes[1], 0); /* no LastModified: unknown */
	assert_true(page.truncated);
	assert_string_equal(page.next_token, "tok/+=");
}

static void test_a_key_that_looks_like_markup_stays_a_key(void **state)
{
	(void)state;
	struct got g;
	struct s3_list_page page;
	char err[256];
	const char *xml = "<ListBucketResult><IsTruncated>false</IsTruncated><Contents>"
	                  "<Key>&lt;IsTruncated&gt;true&lt;/IsTruncated&gt;</Key><Size>1</Size>"
	                  "</Contents></ListBucketResult>";
	assert_int_equal(parse(xml, 1000, &g, &page, err), 0);
	assert_string_equal(g.keys[0], "<IsTruncated>true</IsTruncated>");
	assert_false(page.truncated);
}

static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *xml, *why;
		size_t max;
	} cases[] = {
	    {"<ListBucketResult><Contents><Key>a</Key></Contents>", "incomplete", 10},
	    {"<Error><Code>NoSuchBucket</Code></Error>", "not ListBucketResult", 10},
	    {"<ListBucketResult><Contents><Key>a</Key></Contents><Contents><Key>b</Key>"
	     "</Contents></ListBucketResult>",
	     "more objects than the page", 1},
	    {"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
	     "without a NextContinuationToken", 10},
	    {"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
	     "without a Key", 10},
	    {"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents>"
	     "</ListBucketResult>",
	     "not a byte count", 10},
	    {"<ListBucketResult><a><b><c><d><e><f><g><h>x</h></g></f></e></d></c></b></a>"
	     "</ListBucketResult>",
	     "nested too deep", 10},
	    {"<ListBucketResult><Contents><Key>a</Size></Contents></ListBucketResult>",
	     "does not match", 10},
	    {"<ListBucketResult><Contents><Key>&bogus;</Key></Contents></ListBucketResult>",
	     "unknown entity", 10},
	    {"<ListBucketResult><Contents><Key>&#0;</Key></Contents></ListBucketResult>",
	     "out of range", 10},
	    {"<!DOCTYPE x><ListBucketResult></ListBucketResult>", "DOCTYPE", 10},
	    {"<ListBucketResult></ListBucketResult><ListBucketResult>", "second root", 10},
	    {"<ListBucketResult><Contents><Key><b>a</b></Key></Contents></ListBucketResult>",
	     "inside a value", 10},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct got g;
		struct s3_list_page page;
		char err[256];
		assert_int_equal(parse(cases[i].xml, cases[i].max, &g, &page, err), -1);
		if (!strstr(err, cases[i].why))
			fail_msg("case %zu: expected \"%s\" in \"%s\"", i, cases[i].why, err);
	}
}

static void test_key_length_limit(void **state)
{
	(void)state;
	static char xml[3000], key[S3_KEY_MAX + 2];
	struct got g;
	struct s3_list_page page;
	char err[256];
	memset(key, 'k', S3_KEY_MAX);
	key[S3_KEY_MAX] = '\0';
	snprintf(xml, sizeof xml,
	         "<ListBucketResult><Contents><Key>%s</Key></Contents>"
	         "</ListBucketResult>",
	         key);
	assert_int_equal(parse(xml, 10, &g, &page, err), 0);
	assert_int_equal(strlen(g.keys[0]), S3_KEY_MAX);
	key[S3_KEY_MAX] = 'k';
	key[S3_KEY_MAX + 1] = '\0';
	snprintf(xml, sizeof xml,
	         "<ListBucketResult><Contents><Key>%s</Key></Contents>"
	         "</ListBucketResult>",
	         key);
	assert_int_equal(parse(xml, 10, &g, &page, err), -1);
	assert_non_null(strstr(err, "longer than 1024 bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_page_of_s3),
	    cmocka_unit_test(test_a_key_that_looks_like_markup_stays_a_key),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_key_length_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
