/* sbuf.c: reference counting of shared buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/sbuf.h"

static void test_refcount(void **state)
{
	(void)state;
	sbuf *b = sbuf_from("frame", 5);
	assert_non_null(b);
	assert_int_equal(b->refs, 1);
	assert_int_equal(b->len, 5);
	assert_memory_equal(b->data, "frame", 5);
	assert_ptr_equal(sbuf_ref(b), b);
	assert_int_equal(b->refs, 2);
	sbuf_unref(b);
	assert_int_equal(b->refs, 1);
	sbuf_unref(b); /* freed: the sanitizer build checks no leak, no reuse */
	sbuf_unref(NULL);
}

static void test_empty(void **state)
{
	(void)state;
	sbuf *b = sbuf_new(0);
	assert_non_null(b);
	assert_int_equal(b->len, 0);
	sbuf_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refcount),
	    cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
