/* The snapshot call (appended; what `parley backup` uses): a new file with
 * the store as of the call, refused over an existing file, and writes go
 * on meanwhile. What the file holds is the store's own format: the
 * integration test restores one and reads it back through the server. */
#include "contract.h"
#include "contract_cases.h"
#include "contract_options.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

void test_snapshot(void **state)
{
	(void)state;
	static struct res r;
	static struct res w[8];
	char user[ID_MAX], room[ID_MAX], path[512];
	contract_open("snapshot");
	REQUIRE_MEMBER(snapshot);
	mk_user("snap", user);
	mk_room("snaproom", user, room);
	mk_message(room, user, "before", "c1", NULL);
	snprintf(path, sizeof path, "%s/snapshot-%s.copy", contract_opt.data_dir,
	         contract_opt.run_id);

	assert_int_equal(S->snapshot(self, NULL, res_done, &r), PARLEY_EINVAL);
	assert_int_equal(S->snapshot(self, "", res_done, &r), PARLEY_EINVAL);

	/* Appends in flight while the copy is taken all succeed. */
	res_reset(&r);
	int rc = S->snapshot(self, path, res_done, &r);
	for (int i = 0; i < 8; i++) {
		char cid[16];
		snprintf(cid, sizeof cid, "w%d", i);
		parley_message m = {.room_id = room,
		                    .user_id = user,
		                    .text = "during",
		                    .client_id = cid,
		                    .ts = 2000 + i};
		res_reset(&w[i]);
		assert_int_equal(S->append(self, &m, res_done, &w[i]), PARLEY_PENDING);
	}
	assert_int_equal(res_finish(&r, rc), PARLEY_OK);
	res_wait_all(w, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(w[i].rc, PARLEY_OK);
	assert_non_null(r.v.text);
	assert_true(r.v.text[0] != '\0');
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((int64_t)sb.st_size, r.v.value);
	assert_true(sb.st_size > 0);

	/* Never over an existing file: that file is kept as it was. */
	assert_int_equal(RUN(&r, S->snapshot(self, path, res_done, &r)), PARLEY_ECONFLICT);
	struct stat again;
	assert_int_equal(stat(path, &again), 0);
	assert_int_equal(again.st_size, sb.st_size);
	unlink(path);
	contract_close();
}
