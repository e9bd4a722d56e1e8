/* mentions_unread: each membership's unread mentions, as the core loads
 * them at start (core/chat/mention_counts.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "contract_cases.h"

/* Appends user's message with these mentions; returns its seq, id into
 * out unless NULL. */
static int64_t say(const char *room, const char *user, const char *mentions_json, char *out)
{
	static struct res r;
	parley_message m = {.room_id = room,
	                    .user_id = user,
	                    .text = "hey",
	                    .mentions_json = mentions_json,
	                    .ts = 2000};
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	if (out)
		snprintf(out, ID_MAX, "%s", r.v.messages[0].id);
	return r.v.messages[0].seq;
}

static void join(const char *room, const char *user)
{
	static struct res r;
	assert_int_equal(RUN(&r, S->member_set(self, room, user, "member", res_done, &r)),
	                 PARLEY_OK);
}

static void read_to(const char *room, const char *user, int64_t seq)
{
	static struct res r;
	assert_int_equal(RUN(&r, S->read_set(self, room, user, seq, res_done, &r)), PARLEY_OK);
}

static int by_line(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The entries, one line each "room user mentions seq", sorted, into out. */
static void unread(char *out, size_t n)
{
	static struct res r;
	assert_int_equal(RUN(&r, S->mentions_unread(self, res_done, &r)), PARLEY_OK);
	assert_non_null(r.v.text);
	json_error_t err;
	json_t *list = json_loads(r.v.text, 0, &err);
	if (!json_is_array(list))
		fail_msg("mentions_unread: not a JSON array: %s", r.v.text);
	char lines[16][256];
	size_t k = 0, i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		assert_true(k < 16);
		json_t *cnt = json_object_get(v, "mentions"), *seq = json_object_get(v, "seq");
		assert_true(json_is_integer(cnt) && json_is_integer(seq));
		snprintf(lines[k++], sizeof lines[0], "%s %s %lld %lld",
		         json_string_value(json_object_get(v, "room")),
		         json_string_value(json_object_get(v, "user")),
		         (long long)json_integer_value(cnt), (long long)json_integer_value(seq));
	}
	json_decref(list);
	qsort(lines, k, sizeof lines[0], by_line);
	size_t used = 0;
	out[0] = '\0';
	for (i = 0; i < k; i++) {
		size_t len = strlen(lines[i]);
		assert_true(used + len + 2 <= n);
		if (i)
			out[used++] = '\n';
		memcpy(out + used, lines[i], len + 1);
		used += len;
	}
}

/* One entry line as unread() writes it. */
static void entry(char *out, const char *room, const char *user, int n, int64_t seq)
{
	snprintf(out, 256, "%s %s %d %lld", room, user, n, (long long)seq);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void test_mentions_unread(void **state)
{
	(void)state;
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], carol[ID_MAX], room[ID_MAX], dm[ID_MAX], quiet[ID_MAX];
	char gone[ID_MAX], second[ID_MAX], got[1024], want[1024];
	char bob_m[2 * ID_MAX], carol_m[2 * ID_MAX], both[4 * ID_MAX], e1[256], e2[256], e3[256];
	contract_open("mentions_unread");
	REQUIRE_MEMBER(mentions_unread);
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_user("carol", carol);
	mk_room("general", alice, room);
	mk_room("alice-bob", alice, dm);
	mk_room("quiet", alice, quiet);
	join(room, bob);
	join(room, carol);
	join(dm, bob);

	unread(got, sizeof got);
	assert_str(got, "");

	snprintf(bob_m, sizeof bob_m, "[\"%s\"]", bob);
	snprintf(carol_m, sizeof carol_m, "[\"%s\"]", carol);
	snprintf(both, sizeof both, "[\"%s\",\"%s\"]", bob, carol);
	int64_t s1 = say(room, alice, bob_m, NULL);  /* read by bob below */
	int64_t s2 = say(room, alice, both, second); /* bob and carol */
	say(room, bob, bob_m, NULL);                 /* bob's own: not counted */
	say(room, alice, bob_m, gone);               /* deleted below */
	say(room, alice, "[]", NULL);
	say(room, alice, NULL, NULL);
	say(room, alice, "[\"u_999999\"]", NULL);   /* no such member */
	int64_t s8 = say(room, carol, bob_m, NULL); /* bob's; carol wrote it */
	int64_t d1 = say(dm, alice, bob_m, NULL);
	say(dm, alice, carol_m, NULL);  /* carol is not in the DM */
	say(quiet, alice, bob_m, NULL); /* bob is not in that room */
	assert_int_equal(RUN(&r, S->message_delete(self, room, gone, res_done, &r)), PARLEY_OK);
	read_to(room, bob, s1);

	/* bob: s2 and s8 in general, 1 in the DM; carol: s2. */
	entry(e1, dm, bob, 1, d1);
	entry(e2, room, bob, 2, s8);
	entry(e3, room, carol, 1, s2);
	const char *es[3] = {e1, e2, e3};
	qsort(es, 3, sizeof es[0], by_text);
	snprintf(want, sizeof want, "%s\n%s\n%s", es[0], es[1], es[2]);
	unread(got, sizeof got);
	assert_str(got, want);

	/* A restart reads the same from the stored messages. */
	contract_close();
	contract_reopen();
	unread(got, sizeof got);
	assert_str(got, want);

	/* Reading up to the newest mention clears the entry. */
	read_to(room, bob, s8);
	read_to(dm, bob, d1);
	unread(got, sizeof got);
	assert_str(got, e3);
	/* An edit that drops the mention drops the count. */
	assert_int_equal(
	    RUN(&r, S->message_edit(self, room, second, "hey", bob_m, 3000, res_done, &r)),
	    PARLEY_OK);
	unread(got, sizeof got);
	assert_str(got, "");

	/* Everyone caught up but for one new mention: a store may read only
	 * the rooms' newest messages now (store_sqlite does), the same answer. */
	read_to(room, alice, s8);
	read_to(room, carol, s8);
	read_to(dm, alice, d1 + 1);
	read_to(dm, bob, d1 + 1);
	read_to(quiet, alice, 1);
	int64_t s9 = say(room, carol, both, NULL);
	entry(e1, room, bob, 1, s9);
	unread(got, sizeof got);
	assert_str(got, e1);
}
