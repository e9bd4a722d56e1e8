/* base/csv.c: records, quoting, line counting, and the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/csv.h"

#define INIT(r, lit, max) csv_reader_init(r, lit, sizeof(lit) - 1, max)

static void test_records(void **state)
{
	(void)state;
	struct csv_reader r;
	struct csv_record rec;
	INIT(&r, "name,role\nann,member,\"pw, with \"\"quotes\"\"\",a@x\r\n\nbob,admin", 4);

	assert_int_equal(csv_next(&r, &rec), 1);
	assert_int_equal(rec.line, 1);
	assert_int_equal(rec.n, 2);
	assert_string_equal(rec.field[1], "role");
	csv_record_clear(&rec);

	assert_int_equal(csv_next(&r, &rec), 1);
	assert_int_equal(rec.line, 2);
	assert_int_equal(rec.n, 4);
	assert_string_equal(rec.field[2], "pw, with \"quotes\"");
	assert_string_equal(rec.field[3], "a@x");
	csv_record_clear(&rec);

	assert_int_equal(csv_next(&r, &rec), 1); /* a blank line */
	assert_int_equal(rec.n, 0);
	assert_int_equal(rec.line, 3);

	assert_int_equal(csv_next(&r, &rec), 1); /* no final line end */
	assert_int_equal(rec.line, 4);
	assert_string_equal(rec.field[0], "bob");
	csv_record_clear(&rec);
	assert_int_equal(csv_next(&r, &rec), 0);
}

static void test_quoted_lines_and_empty_fields(void **state)
{
	(void)state;
	struct csv_reader r;
	struct csv_record rec;
	INIT(&r, "\"two\nlines\",,\"\"\nnext\n", 4);
	assert_int_equal(csv_next(&r, &rec), 1);
	assert_int_equal(rec.n, 3);
	assert_string_equal(rec.field[0], "two\nlines");
	assert_string_equal(rec.field[1], "");
	assert_string_equal(rec.field[2], "");
	csv_record_clear(&rec);
	assert_int_equal(csv_next(&r, &rec), 1);
	assert_int_equal(rec.line, 3); /* the quoted line end counted */
	csv_record_clear(&rec);
}

static void expect_error(const char *text, size_t max_fields, const char *err, int line)
{
	struct csv_reader r;
	struct csv_record rec;
	int rc;
	csv_reader_init(&r, text, strlen(text), max_fields);
	while ((rc = csv_next(&r, &rec)) == 1)
		csv_record_clear(&rec);
	assert_int_equal(rc, -1);
	assert_string_equal(r.err, err);
	assert_int_equal(rec.line, line);
	assert_int_equal(rec.n, 0);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("ok\n\"open\n", 4, "unterminated quoted field", 2);
	expect_error("\"a\"b,c\n", 4, "text after a closing quote", 1);
	expect_error("a\rb\n", 4, "stray carriage return", 1);
	expect_error("a,b,c,d,e\n", 4, "too many fields (at most 4)", 1);
}

static void test_limits(void **state)
{
	(void)state;
	struct csv_reader r;
	struct csv_record rec;
	/* A field of exactly CSV_FIELD_MAX bytes is read; one more is not. */
	char *text = malloc(CSV_RECORD_MAX * 2);
	assert_non_null(text);
	memset(text, 'a', CSV_FIELD_MAX);
	strcpy(text + CSV_FIELD_MAX, "\n");
	csv_reader_init(&r, text, strlen(text), 4);
	assert_int_equal(csv_next(&r, &rec), 1);
	assert_int_equal(strlen(rec.field[0]), CSV_FIELD_MAX);
	csv_record_clear(&rec);
	memset(text, 'a', CSV_FIELD_MAX + 1);
	strcpy(text + CSV_FIELD_MAX + 1, "\n");
	expect_error(text, 4, "field longer than 4096 bytes", 1);

	/* Fields within their limit, a record over its own: four quoted
	 * fields of doubled quotes (2 bytes written for each kept). */
	size_t o = 0;
	for (int f = 0; f < 4; f++) {
		text[o++] = '"';
		for (int i = 0; i < CSV_FIELD_MAX / 2 + 100; i++) {
			text[o++] = '"';
			text[o++] = '"';
		}
		text[o++] = '"';
		text[o++] = f < 3 ? ',' : '\n';
	}
	text[o] = '\0';
	expect_error(text, 4, "record longer than 16384 bytes", 1);
	free(text);

	/* max_fields is capped. */
	csv_reader_init(&r, "", 0, 1000);
	assert_int_equal(r.max_fields, CSV_FIELDS_CAP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records),
	    cmocka_unit_test(test_quoted_lines_and_empty_fields),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
