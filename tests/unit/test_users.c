/* users: the user cache — two indexes, renames, views, memberships. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chat/users.h"

static int setup(void **state)
{
	(void)state;
	users_init();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	users_fini();
	return 0;
}

static void test_upsert_and_lookups(void **state)
{
	(void)state;
	parley_user ann = {.id = "u_1", .name = "Ann", .role = "admin"};
	user_rec *u = users_upsert(&ann);
	assert_non_null(u);
	assert_ptr_equal(users_by_id("u_1"), u);
	assert_ptr_equal(users_by_name("ann"), u); /* names ignore case */
	assert_ptr_equal(users_by_name("ANN"), u);
	assert_null(users_by_name("bob"));
	assert_null(users_by_id(NULL));
	assert_string_equal(u->display_name, "Ann"); /* defaults to the name */
	parley_user plain = {.id = "u_2", .name = "bob"};
	assert_string_equal(users_upsert(&plain)->role, "member");
	parley_user no_id = {.name = "x"};
	assert_null(users_upsert(&no_id));
	assert_null(users_upsert(NULL));
}

static void test_refresh_keeps_the_record(void **state)
{
	(void)state;
	parley_user v1 = {.id = "u_1", .name = "ann", .display_name = "Ann"};
	user_rec *u = users_upsert(&v1);
	parley_user v2 = {.id = "u_1", .name = "anna", .display_name = "Anna", .disabled = 1};
	assert_ptr_equal(users_upsert(&v2), u); /* pointers stay valid */
	assert_null(users_by_name("ann"));      /* the old name is gone */
	assert_ptr_equal(users_by_name("anna"), u);
	assert_string_equal(u->display_name, "Anna");
	assert_int_equal(u->disabled, 1);

	parley_user view;
	users_view(u, &view);
	assert_string_equal(view.id, "u_1");
	assert_string_equal(view.name, "anna");
	assert_string_equal(view.role, "member");
	assert_int_equal(view.disabled, 1);
	assert_null(view.email);
}

static void test_memberships_and_marks(void **state)
{
	(void)state;
	parley_user pu = {.id = "u_1", .name = "ann"};
	user_rec *u = users_upsert(&pu);
	int a, b, c;
	for (int i = 0; i < 10; i++) /* past the first capacity */
		assert_int_equal(users_add_membership(u, (struct member *)&a), 0);
	assert_int_equal(users_add_membership(u, (struct member *)&b), 0);
	assert_int_equal(u->n_memberships, 11);
	users_remove_membership(u, (struct member *)&b);
	users_remove_membership(u, (struct member *)&c); /* not there: no change */
	assert_int_equal(u->n_memberships, 10);
	for (size_t i = 0; i < u->n_memberships; i++)
		assert_ptr_equal(u->memberships[i], (struct member *)&a);
	uint64_t m1 = users_new_mark(), m2 = users_new_mark();
	assert_true(m2 > m1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_upsert_and_lookups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_keeps_the_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_memberships_and_marks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
