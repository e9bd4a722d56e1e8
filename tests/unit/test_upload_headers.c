/* upload_headers.c: Range, X-Filename, Content-Disposition, and which
 * types show inline (sniff.c has tests/unit/test_sniff.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/upload_headers.h"

static void test_range(void **state)
{
	(void)state;
	int64_t a = -1, b = -1;
	assert_int_equal(range_parse("bytes=0-9", 100, &a, &b), RANGE_OK);
	assert_true(a == 0 && b == 9);
	assert_int_equal(range_parse("bytes=90-", 100, &a, &b), RANGE_OK);
	assert_true(a == 90 && b == 99);
	assert_int_equal(range_parse("bytes=-10", 100, &a, &b), RANGE_OK);
	assert_true(a == 90 && b == 99);
	assert_int_equal(range_parse("bytes=-1000", 100, &a, &b), RANGE_OK);
	assert_true(a == 0 && b == 99);
	assert_int_equal(range_parse("bytes=50-1000", 100, &a, &b), RANGE_OK);
	assert_true(a == 50 && b == 99);
	assert_int_equal(range_parse("bytes=100-", 100, &a, &b), RANGE_UNSATISFIABLE);
	assert_int_equal(range_parse("bytes=-0", 100, &a, &b), RANGE_UNSATISFIABLE);
	/* Ignored: the whole file. */
	assert_int_equal(range_parse(NULL, 100, &a, &b), RANGE_NONE);
	assert_int_equal(range_parse("bytes=1-2,4-5", 100, &a, &b), RANGE_NONE);
	assert_int_equal(range_parse("items=1-2", 100, &a, &b), RANGE_NONE);
	assert_int_equal(range_parse("bytes=9-1", 100, &a, &b), RANGE_NONE);
	assert_int_equal(range_parse("bytes=-", 100, &a, &b), RANGE_NONE);
	assert_int_equal(range_parse("bytes=+1-2", 100, &a, &b), RANGE_NONE);
	assert_int_equal(range_parse("bytes=99999999999999999999-", 100, &a, &b), RANGE_NONE);
}

static void test_filename(void **state)
{
	(void)state;
	char *n = upload_filename_decode("pl%C3%B6t%201.png");
	assert_string_equal(n, "pl\xc3\xb6t 1.png");
	free(n);
	n = upload_filename_decode("..%2F..%2Fetc%2Fpasswd");
	assert_string_equal(n, "passwd");
	free(n);
	n = upload_filename_decode("C:%5Cdir%5Cx.txt");
	assert_string_equal(n, "x.txt");
	free(n);
	n = upload_filename_decode(NULL);
	assert_string_equal(n, "file");
	free(n);
	assert_null(upload_filename_decode("a%0d%0ab"));
	assert_null(upload_filename_decode("a%00b"));
	assert_null(upload_filename_decode("a%zz"));
	assert_null(upload_filename_decode("a%4"));
	assert_null(upload_filename_decode("%C3%28"));    /* not UTF-8 */
	assert_null(upload_filename_decode("%ED%A0%80")); /* a surrogate */
	assert_null(upload_filename_decode("%C0%AF"));    /* overlong */
	assert_null(upload_filename_decode(".."));
	assert_null(upload_filename_decode("dir/"));
	/* Long names are cut on a character boundary. */
	char big[1200];
	for (int i = 0; i < 199; i++)
		memcpy(big + i * 6, "%C3%B6", 6);
	big[1194] = 0; /* 199 times "ö": 398 bytes decoded */
	n = upload_filename_decode(big);
	assert_non_null(n);
	assert_true(strlen(n) <= UPLOAD_NAME_MAX && strlen(n) % 2 == 0);
	free(n);
}

static void test_disposition(void **state)
{
	(void)state;
	char out[512];
	assert_int_equal(upload_content_disposition(out, sizeof out, 1, "plot.png"), 0);
	assert_string_equal(out, "inline; filename=\"plot.png\"");
	assert_int_equal(upload_content_disposition(out, sizeof out, 0, "a\"b\\c%.txt"), 0);
	assert_string_equal(out, "attachment; filename=\"a_b_c_.txt\"; "
	                         "filename*=UTF-8''a%22b%5Cc%25.txt");
	assert_int_equal(upload_content_disposition(out, sizeof out, 0, "r\xc3\xa9sum\xc3\xa9"), 0);
	assert_string_equal(out, "attachment; filename=\"r__sum__\"; "
	                         "filename*=UTF-8''r%C3%A9sum%C3%A9");
	assert_int_equal(upload_content_disposition(out, 10, 0, "plot.png"), -1);
	assert_true(upload_type_inline("image/png"));
	assert_false(upload_type_inline("image/svg+xml"));
	assert_false(upload_type_inline("text/html"));
}

/* The limits and the corners: blanks and case, an empty file, a header
 * over RANGE_HEADER_MAX, a name over the input limit, a name that tries
 * to end the header. */
static void test_limits(void **state)
{
	(void)state;
	int64_t a = -1, b = -1;
	assert_int_equal(range_parse("BYTES= 1-2 ", 1000, &a, &b), RANGE_OK);
	assert_true(a == 1 && b == 2);
	assert_int_equal(range_parse("bytes=-1", 0, &a, &b), RANGE_UNSATISFIABLE);
	char longer[RANGE_HEADER_MAX + 10];
	memset(longer, ' ', sizeof longer);
	memcpy(longer, "bytes=0-1", 9);
	longer[sizeof longer - 1] = '\0';
	assert_int_equal(range_parse(longer, 1000, &a, &b), RANGE_NONE);

	size_t huge_len = UPLOAD_NAME_MAX * 12 + 1;
	char *huge = malloc(huge_len + 1);
	assert_non_null(huge);
	memset(huge, 'a', huge_len);
	huge[huge_len] = '\0';
	assert_null(upload_filename_decode(huge));
	free(huge);
	assert_null(upload_filename_decode(" . "));

	char out[64 + UPLOAD_NAME_MAX * 4];
	assert_int_equal(upload_content_disposition(out, sizeof out, 0, "x\r\nSet-Cookie: a=b;"),
	                 0);
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\n'));
	assert_true(upload_type_inline("audio/mpeg"));
	assert_true(upload_type_inline("text/plain"));
	assert_false(upload_type_inline("application/xml"));
	assert_false(upload_type_inline("application/octet-stream"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range),
	    cmocka_unit_test(test_filename),
	    cmocka_unit_test(test_disposition),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
