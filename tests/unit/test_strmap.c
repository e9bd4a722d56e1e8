/* strmap: insert, replace, delete with tombstones, growth, case folding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/strmap.h"

static void test_put_get_replace(void **state)
{
	(void)state;
	strmap m;
	strmap_init(&m, 0);
	int a = 1, b = 2;
	assert_int_equal(strmap_put(&m, "alpha", &a), 0);
	assert_ptr_equal(strmap_get(&m, "alpha"), &a);
	assert_null(strmap_get(&m, "ALPHA"));
	assert_int_equal(strmap_put(&m, "alpha", &b), 0);
	assert_ptr_equal(strmap_get(&m, "alpha"), &b);
	assert_int_equal(m.count, 1);
	strmap_free(&m);
}

static void test_many_and_delete(void **state)
{
	(void)state;
	strmap m;
	strmap_init(&m, 0);
	enum { N = 5000 };
	static char keys[N][16];
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		assert_int_equal(strmap_put(&m, keys[i], keys[i]), 0);
	}
	assert_int_equal(m.count, N);
	for (int i = 0; i < N; i += 2)
		assert_ptr_equal(strmap_del(&m, keys[i]), keys[i]);
	assert_int_equal(m.count, N / 2);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			assert_ptr_equal(strmap_get(&m, keys[i]), keys[i]);
		else
			assert_null(strmap_get(&m, keys[i]));
	}
	/* Reinsert over tombstones. */
	for (int i = 0; i < N; i += 2)
		assert_int_equal(strmap_put(&m, keys[i], keys[i]), 0);
	size_t pos = 0, seen = 0;
	const char *k;
	while (strmap_next(&m, &pos, &k))
		seen++;
	assert_int_equal(seen, N);
	assert_null(strmap_del(&m, "absent"));
	strmap_free(&m);
}

static void test_nocase(void **state)
{
	(void)state;
	strmap m;
	strmap_init(&m, 1);
	int a = 1;
	strmap_put(&m, "Alice", &a);
	assert_ptr_equal(strmap_get(&m, "alice"), &a);
	assert_ptr_equal(strmap_get(&m, "ALICE"), &a);
	assert_ptr_equal(strmap_del(&m, "aLiCe"), &a);
	assert_int_equal(m.count, 0);
	strmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get_replace),
	    cmocka_unit_test(test_many_and_delete),
	    cmocka_unit_test(test_nocase),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
