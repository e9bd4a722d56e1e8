/* Contract cases for the optional search member: terms (words, prefixes,
 * phrases, all of them), folding of the indexed text, the rooms, author
 * and time bounds, tombstones and edits, both sorts with cursor paging,
 * and refused arguments. Skipped for a store without it. */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>
#include <string.h>

#define TEXTS_MAX 16

static void put(const char *room, const char *user, const char *text, int64_t ts, char *id)
{
	static struct res r;
	parley_message m = {.room_id = room, .user_id = user, .text = text, .ts = ts};
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	if (id)
		snprintf(id, ID_MAX, "%s", r.v.messages[0].id);
}

/* One search; terms as (kind, text) pairs. */
struct ask {
	const char *const *rooms;
	size_t n_rooms;
	const char *user;
	int64_t before, after;
	int sort;
	const char *cursor;
	int limit;
};

static int search(struct res *r, const struct ask *a, size_t n_terms,
                  const parley_search_term *terms)
{
	parley_search_query q = {.struct_size = sizeof q,
	                         .terms = terms,
	                         .n_terms = n_terms,
	                         .room_ids = a->rooms,
	                         .n_rooms = a->n_rooms,
	                         .user_id = a->user,
	                         .before_ts = a->before,
	                         .after_ts = a->after,
	                         .sort = a->sort,
	                         .cursor = a->cursor,
	                         .limit = a->limit ? a->limit : 100};
	return RUN(r, S->search(self, &q, res_done, r));
}

/* The texts found, in order, joined by '|'. */
static const char *found(const struct res *r)
{
	static char buf[1024];
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->v.n_messages; i++) {
		const parley_message *m = &r->v.messages[i];
		assert_int_equal(m->deleted, 0);
		assert_non_null(m->room_id);
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? "|" : "",
		                      m->text ? m->text : "(null)");
	}
	return buf;
}

#define TERM(k, t) ((parley_search_term){.kind = (k), .text = (t)})

/* A one-word search in rooms; the texts found, any order made sorted by
 * asking for recent (ts descending). */
static const char *recent1(const char *const *rooms, size_t n, int kind, const char *text)
{
	static struct res r;
	parley_search_term t = TERM(kind, text);
	struct ask a = {.rooms = rooms, .n_rooms = n, .sort = PARLEY_SEARCH_RECENT};
	assert_int_equal(search(&r, &a, 1, &t), PARLEY_OK);
	assert_int_equal(r.v.more, 0);
	return found(&r);
}

void test_search_terms(void **state)
{
	static struct res r;
	char alice[ID_MAX], room[ID_MAX];
	contract_open("search_terms");
	REQUIRE_MEMBER(search);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	const char *rooms[] = {room};
	put(room, alice, "We used Tris buffer in March", 1000, NULL);
	put(room, alice, "buffering takes ages", 2000, NULL);
	put(room, alice, "Crème BRÛLÉE at the march meeting", 3000, NULL);
	put(room, alice, "an e-mail about nothing", 4000, NULL);

	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "buffer"),
	                    "We used Tris buffer in March");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_PREFIX, "buff"),
	                    "buffering takes ages|We used Tris buffer in March");
	/* The stored text is folded: case and diacritics. */
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "creme"),
	                    "Crème BRÛLÉE at the march meeting");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "brulee"),
	                    "Crème BRÛLÉE at the march meeting");
	/* A prefix matches the folded word too. */
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_PREFIX, "bru"),
	                    "Crème BRÛLÉE at the march meeting");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "march"),
	                    "Crème BRÛLÉE at the march meeting|We used Tris buffer in March");
	/* Words split at punctuation. */
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_PHRASE, "e mail"),
	                    "an e-mail about nothing");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_PHRASE, "buffer in march"),
	                    "We used Tris buffer in March");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_PHRASE, "march buffer"), "");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "buff"), "");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "nowhere"), "");
	/* Every term must match. */
	parley_search_term both[] = {TERM(PARLEY_TERM_WORD, "march"),
	                             TERM(PARLEY_TERM_PREFIX, "buf")};
	struct ask a = {.rooms = rooms, .n_rooms = 1};
	assert_int_equal(search(&r, &a, 2, both), PARLEY_OK);
	assert_string_equal(found(&r), "We used Tris buffer in March");
	/* Text that is query syntax elsewhere is only text here. */
	parley_search_term odd[] = {TERM(PARLEY_TERM_WORD, "\"or\" * near(")};
	assert_int_equal(search(&r, &a, 1, odd), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 0);
}

void test_search_filters(void **state)
{
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX], one[ID_MAX], two[ID_MAX], three[ID_MAX];
	contract_open("search_filters");
	REQUIRE_MEMBER(search);
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("one", alice, one);
	mk_room("two", alice, two);
	mk_room("three", alice, three);
	put(one, alice, "sample one alice", 1000, NULL);
	put(two, bob, "sample two bob", 2000, NULL);
	put(three, alice, "sample three alice", 3000, NULL);
	put(one, bob, "sample one bob", 4000, NULL);
	parley_search_term t = TERM(PARLEY_TERM_WORD, "sample");

	const char *some[] = {one, two};
	struct ask a = {.rooms = some, .n_rooms = 2, .sort = PARLEY_SEARCH_RECENT};
	assert_int_equal(search(&r, &a, 1, &t), PARLEY_OK);
	assert_string_equal(found(&r), "sample one bob|sample two bob|sample one alice");
	for (size_t i = 0; i < r.v.n_messages; i++)
		assert_true(strcmp(r.v.messages[i].room_id,
		                   r.v.messages[i].text[7] == 'o' ? one : two) == 0);
	a.user = bob;
	assert_int_equal(search(&r, &a, 1, &t), PARLEY_OK);
	assert_string_equal(found(&r), "sample one bob|sample two bob");
	assert_str(r.v.messages[0].user_id, bob);
	a.user = NULL;
	a.before = 4000;
	a.after = 1000;
	assert_int_equal(search(&r, &a, 1, &t), PARLEY_OK);
	assert_string_equal(found(&r), "sample two bob");
	const char *all[] = {one, two, three};
	struct ask b = {.rooms = all, .n_rooms = 3, .sort = PARLEY_SEARCH_RECENT, .after = 2500};
	assert_int_equal(search(&r, &b, 1, &t), PARLEY_OK);
	assert_string_equal(found(&r), "sample one bob|sample three alice");
}

void test_search_tombstones_and_edits(void **state)
{
	static struct res r;
	char alice[ID_MAX], room[ID_MAX], gone[ID_MAX], kept[ID_MAX];
	contract_open("search_edits");
	REQUIRE_MEMBER(search);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	const char *rooms[] = {room};
	put(room, alice, "centrifuge broken", 1000, gone);
	put(room, alice, "centrifuge spinning", 2000, kept);
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "centrifuge"),
	                    "centrifuge spinning|centrifuge broken");
	assert_int_equal(RUN(&r, S->message_delete(self, room, gone, res_done, &r)), PARLEY_OK);
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "centrifuge"),
	                    "centrifuge spinning");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "broken"), "");
	assert_int_equal(RUN(&r, S->message_edit(self, room, kept, "vortexer spinning", NULL, 3000,
	                                         res_done, &r)),
	                 PARLEY_OK);
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "centrifuge"), "");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "vortexer"), "vortexer spinning");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "spinning"), "vortexer spinning");
	/* And after a restart (what an index rebuilt or kept must show). */
	contract_close();
	contract_reopen();
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "vortexer"), "vortexer spinning");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "broken"), "");
}

/* Expired (pruned by retention) messages are tombstones: never found. */
void test_search_expired(void **state)
{
	static struct res r;
	char alice[ID_MAX], room[ID_MAX];
	contract_open("search_expired");
	REQUIRE_MEMBER(search);
	REQUIRE_MEMBER(prune);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	const char *rooms[] = {room};
	put(room, alice, "autoclave schedule", 1000, NULL);
	put(room, alice, "autoclave broken", 2000, NULL);
	put(room, alice, "autoclave fixed", 5000, NULL);
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "autoclave"),
	                    "autoclave fixed|autoclave broken|autoclave schedule");
	assert_int_equal(RUN(&r, S->prune(self, room, 4000, 10, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 2);
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "autoclave"), "autoclave fixed");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "schedule"), "");
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_PREFIX, "brok"), "");
	contract_close();
	contract_reopen();
	assert_string_equal(recent1(rooms, 1, PARLEY_TERM_WORD, "autoclave"), "autoclave fixed");
}

/* Pages of `limit` until more is 0: every id once, in one order. */
static size_t walk(const char *const *rooms, int sort, int limit, char ids[][ID_MAX], size_t max)
{
	static struct res r;
	parley_search_term t = TERM(PARLEY_TERM_WORD, "pipette");
	char cursor[256] = "";
	size_t n = 0;
	for (int pages = 0; pages < 50; pages++) {
		struct ask a = {.rooms = rooms,
		                .n_rooms = 1,
		                .sort = sort,
		                .limit = limit,
		                .cursor = cursor[0] ? cursor : NULL};
		assert_int_equal(search(&r, &a, 1, &t), PARLEY_OK);
		assert_true(r.v.n_messages <= (size_t)limit);
		for (size_t i = 0; i < r.v.n_messages && n < max; i++)
			snprintf(ids[n++], ID_MAX, "%s", r.v.messages[i].id);
		if (!r.v.more)
			return n;
		assert_int_equal(r.v.n_messages, limit);
		assert_non_null(r.v.text);
		assert_true(strlen(r.v.text) > 0 && strlen(r.v.text) < sizeof cursor);
		snprintf(cursor, sizeof cursor, "%s", r.v.text);
	}
	fail_msg("more than 50 pages");
	return 0;
}

void test_search_order_and_paging(void **state)
{
	static struct res r;
	char alice[ID_MAX], room[ID_MAX];
	char ids[8][ID_MAX], got[TEXTS_MAX][ID_MAX], best[ID_MAX];
	contract_open("search_paging");
	REQUIRE_MEMBER(search);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	const char *rooms[] = {room};
	/* Two share a ts: the later id comes first among them. */
	static const int64_t ts[] = {1000, 2000, 3000, 3000, 4000, 5000, 6000};
	for (int i = 0; i < 7; i++) {
		char text[32];
		snprintf(text, sizeof text, "pipette number %d", i);
		put(room, alice, text, ts[i], ids[i]);
	}
	put(room, alice, "pipette pipette pipette calibration", 500, best);

	size_t n = walk(rooms, PARLEY_SEARCH_RECENT, 3, got, TEXTS_MAX);
	assert_int_equal(n, 8);
	for (int i = 0; i < 7; i++)
		assert_string_equal(got[i], ids[6 - i]);
	assert_string_equal(got[7], best);

	/* Relevance: the most matching words first, then equals newest first. */
	n = walk(rooms, PARLEY_SEARCH_RELEVANCE, 3, got, TEXTS_MAX);
	assert_int_equal(n, 8);
	assert_string_equal(got[0], best);
	for (int i = 0; i < 7; i++)
		assert_string_equal(got[1 + i], ids[6 - i]);

	/* A cursor the store never gave, or of the other sort. */
	parley_search_term t = TERM(PARLEY_TERM_WORD, "pipette");
	struct ask a = {.rooms = rooms, .n_rooms = 1, .limit = 3};
	assert_int_equal(search(&r, &a, 1, &t), PARLEY_OK);
	char relevance_cursor[256];
	snprintf(relevance_cursor, sizeof relevance_cursor, "%s", r.v.text);
	a.sort = PARLEY_SEARCH_RECENT;
	a.cursor = relevance_cursor;
	assert_int_equal(search(&r, &a, 1, &t), PARLEY_EINVAL);
	a.cursor = "not a cursor";
	assert_int_equal(search(&r, &a, 1, &t), PARLEY_EINVAL);
}

/* Recent pages cross runs of equal ts one id at a time, and history
 * written after newer messages (an import, a clock step of more than a
 * minute) still comes in ts order. */
void test_search_recent_ties_and_history(void **state)
{
	(void)state;
	char alice[ID_MAX], room[ID_MAX], other[ID_MAX];
	char ties[6][ID_MAX], old[2][ID_MAX], newest[ID_MAX], got[TEXTS_MAX][ID_MAX];
	contract_open("search_recent_ties");
	REQUIRE_MEMBER(search);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	mk_room("random", alice, other);
	const char *rooms[] = {room};
	for (int i = 0; i < 12; i++) {
		char text[32];
		snprintf(text, sizeof text, "pipette tie %d", i);
		put(i % 2 ? other : room, alice, text, 10000000, i % 2 ? NULL : ties[i / 2]);
	}
	/* Written last, in ts order among themselves: a walk by id meets
	 * them first, and must not stop before the newer ones below. */
	put(room, alice, "pipette newest", 20000000, newest);
	put(room, alice, "pipette old 1", 1000, old[1]);
	put(other, alice, "pipette noise", 1500, NULL);
	put(room, alice, "pipette old 0", 2000, old[0]);
	for (int limit = 1; limit <= 5; limit++) {
		size_t n = walk(rooms, PARLEY_SEARCH_RECENT, limit, got, TEXTS_MAX);
		assert_int_equal(n, 9);
		assert_string_equal(got[0], newest);
		for (int i = 0; i < 6; i++)
			assert_string_equal(got[1 + i], ties[5 - i]);
		assert_string_equal(got[7], old[0]);
		assert_string_equal(got[8], old[1]);
	}
	contract_close();
}

void test_search_refused(void **state)
{
	static struct res r;
	char alice[ID_MAX], room[ID_MAX];
	contract_open("search_refused");
	REQUIRE_MEMBER(search);
	mk_user("alice", alice);
	mk_room("general", alice, room);
	const char *rooms[] = {room};
	parley_search_term t = TERM(PARLEY_TERM_WORD, "x");
	struct ask ok = {.rooms = rooms, .n_rooms = 1};
	assert_int_equal(search(&r, &ok, 1, &t), PARLEY_OK);
	assert_int_equal(search(&r, &ok, 0, &t), PARLEY_EINVAL);
	struct ask no_rooms = {.rooms = rooms, .n_rooms = 0};
	assert_int_equal(search(&r, &no_rooms, 1, &t), PARLEY_EINVAL);
	struct ask big = {.rooms = rooms, .n_rooms = 1, .limit = 101};
	assert_int_equal(search(&r, &big, 1, &t), PARLEY_EINVAL);
	struct ask sort = {.rooms = rooms, .n_rooms = 1, .sort = 7};
	assert_int_equal(search(&r, &sort, 1, &t), PARLEY_EINVAL);
	parley_search_term empty = TERM(PARLEY_TERM_WORD, "");
	assert_int_equal(search(&r, &ok, 1, &empty), PARLEY_EINVAL);
	/* A room id of no shape this store makes finds nothing or is refused. */
	const char *foreign[] = {"room-that-is-not"};
	struct ask f = {.rooms = foreign, .n_rooms = 1};
	int rc = search(&r, &f, 1, &t);
	assert_true(rc == PARLEY_EINVAL || (rc == PARLEY_OK && r.v.n_messages == 0));
}
