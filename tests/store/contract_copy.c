/* records_read / records_write (appended; what `parley store copy` uses):
 * paging by cursor, writing records back keeps them as they were (a second
 * write changes nothing), and a written record is what the ordinary calls
 * then read. */
#include "contract.h"
#include "contract_cases.h"

#include <stdlib.h>
#include <string.h>

void test_records_copy(void **state)
{
	(void)state;
	static struct res r;
	char user[ID_MAX], other[ID_MAX], room[ID_MAX];
	contract_open("records_copy");
	REQUIRE_MEMBER(records_write);
	mk_user("rec_a", user);
	mk_user("rec_b", other);
	mk_room("recroom", user, room);
	mk_message(room, user, "kept text", "c1", NULL);

	assert_int_equal(S->records_read(self, "nosuchkind", 0, 10, res_done, &r), PARLEY_EINVAL);
	assert_int_equal(S->records_read(self, "users", 0, 0, res_done, &r), PARLEY_EINVAL);
	assert_int_equal(S->records_write(self, "users", "{}", res_done, &r), PARLEY_EINVAL);

	/* Two users, one page at a time. */
	assert_int_equal(RUN(&r, S->records_read(self, "users", 0, 1, res_done, &r)), PARLEY_OK);
	assert_non_null(r.v.text);
	assert_non_null(strstr(r.v.text, "rec_a"));
	assert_true(r.v.more);
	int64_t cursor = r.v.value;
	assert_true(cursor > 0);
	assert_int_equal(RUN(&r, S->records_read(self, "users", cursor, 10, res_done, &r)),
	                 PARLEY_OK);
	assert_non_null(strstr(r.v.text, "rec_b"));
	assert_null(strstr(r.v.text, "rec_a"));
	assert_false(r.v.more);

	/* Writing what was read changes nothing: same records read back. */
	assert_int_equal(RUN(&r, S->records_read(self, "messages", 0, 1000, res_done, &r)),
	                 PARLEY_OK);
	char *before = strdup(r.v.text);
	assert_non_null(strstr(before, "kept text"));
	assert_int_equal(RUN(&r, S->records_write(self, "messages", before, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->records_read(self, "messages", 0, 1000, res_done, &r)),
	                 PARLEY_OK);
	assert_string_equal(r.v.text, before);
	free(before);

	/* A written record is what the ordinary calls read. */
	assert_int_equal(
	    RUN(&r, S->records_write(self, "kv",
	                             "[{\"owner\":\"copy\",\"key\":\"k\",\"value\":\"v1\"}]",
	                             res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(RUN(&r, S->kv_get(self, "copy", "k", res_done, &r)), PARLEY_OK);
	assert_string_equal(r.v.text, "v1");
	contract_close();
}
