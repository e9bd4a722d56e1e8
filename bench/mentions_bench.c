/* mentions_bench: what the start-up count of unread mentions costs
 * (mentions_unread, core/chat/mention_counts.c) over MESSAGES messages in
 * ROOMS rooms of USERS members each. 1 in 10 messages mentions one
 * member, 1 in 100 all of them (an @room); the rest mention nobody.
 *
 * Three states of the read marks, in this order (read_set only moves
 * forward), each timed RUNS times (one JSON line with the median and the
 * worst, ms, and the entries returned):
 *   never_read   every member's mark at 0 (a fresh import);
 *   one_behind   in every room one member at 0, the others 50 behind;
 *   caught_up    every member 50 behind the room's last message.
 * A member at 0 makes store_sqlite read the whole room.
 *
 *   mentions_bench [messages=1000000] [plugin_dir]
 *
 * store_sqlite is filled straight into its file in one transaction (as
 * search_bench); with PARLEY_BENCH_MONGO_URI set, store_mongo is filled
 * through the vtable's append (64 in flight).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/loop.h"
#include "bench_store.h"

#define ROOMS  100
#define USERS  20
#define RUNS   3
#define BEHIND 50

static const parley_store_vtable *S;
static void *self;
static char room_ids[ROOMS][32], user_ids[USERS][32];
static long last_seq[ROOMS];

/* The mentions of the next message: "[]", one member or all. */
static const char *mentions_of(char *buf, size_t n)
{
	int r = rand() % 100;
	if (r >= 11)
		return "[]";
	if (r >= 1) {
		snprintf(buf, n, "[\"%s\"]", user_ids[rand() % USERS]);
		return buf;
	}
	size_t used = (size_t)snprintf(buf, n, "[");
	for (int u = 0; u < USERS; u++)
		used +=
		    (size_t)snprintf(buf + used, n - used, "%s\"%s\"", u ? "," : "", user_ids[u]);
	snprintf(buf + used, n - used, "]");
	return buf;
}

static void fill_sqlite(const char *path, long messages)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "mentions_bench: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_busy_timeout(db, 10000);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	sqlite3_stmt *ins;
	sqlite3_prepare_v2(db,
	                   "INSERT INTO messages (room, seq, user, text, ts, mentions_json)"
	                   " VALUES (?, ?, ?, ?, ?, ?)",
	                   -1, &ins, NULL);
	char buf[1024];
	for (long i = 0; i < messages; i++) {
		int room = rand() % ROOMS;
		sqlite3_bind_text(ins, 1, room_ids[room] + 2, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, ++last_seq[room]);
		sqlite3_bind_text(ins, 3, user_ids[rand() % USERS] + 2, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, "a chat message of a typical length, about eighty bytes.",
		                  -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, 1700000000000 + i);
		sqlite3_bind_text(ins, 6, mentions_of(buf, sizeof buf), -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "mentions_bench: insert: %s\n", sqlite3_errmsg(db));
			exit(1);
		}
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	char sql[128];
	for (int r = 0; r < ROOMS; r++) {
		snprintf(sql, sizeof sql, "UPDATE rooms SET last_seq = %ld WHERE id = %s",
		         last_seq[r], room_ids[r] + 2);
		sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "mentions_bench: commit: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_close(db);
}

struct window {
	int in_flight, failed;
};

static void window_done(void *ud, const parley_store_result *res)
{
	struct window *w = ud;
	w->in_flight--;
	if (res->rc != PARLEY_OK)
		w->failed = res->rc;
}

static void fill_appends(long messages)
{
	struct window w = {0};
	char buf[1024];
	for (long i = 0; i < messages && !w.failed; i++) {
		int room = rand() % ROOMS;
		parley_message m = {.room_id = room_ids[room],
		                    .user_id = user_ids[rand() % USERS],
		                    .text =
		                        "a chat message of a typical length, about eighty bytes.",
		                    .mentions_json = mentions_of(buf, sizeof buf),
		                    .ts = 1700000000000 + i};
		last_seq[room]++;
		while (w.in_flight >= 64)
			ev_run(loop_ev, EVRUN_ONCE);
		w.in_flight++;
		if (S->append(self, &m, window_done, &w) != PARLEY_PENDING) {
			fprintf(stderr, "mentions_bench: append refused\n");
			exit(1);
		}
	}
	while (w.in_flight > 0)
		ev_run(loop_ev, EVRUN_ONCE);
	if (w.failed) {
		fprintf(stderr, "mentions_bench: append failed (%d)\n", w.failed);
		exit(1);
	}
}

/* Moves every member's mark (but user `skip`'s; -1: none) to BEHIND
 * before the room's end. */
static void read_marks(int skip)
{
	struct window w = {0};
	for (int r = 0; r < ROOMS; r++)
		for (int u = 0; u < USERS; u++) {
			if (u == skip || last_seq[r] <= BEHIND)
				continue;
			while (w.in_flight >= 64)
				ev_run(loop_ev, EVRUN_ONCE);
			w.in_flight++;
			if (S->read_set(self, room_ids[r], user_ids[u], last_seq[r] - BEHIND,
			                window_done, &w) != PARLEY_PENDING) {
				fprintf(stderr, "mentions_bench: read_set refused\n");
				exit(1);
			}
		}
	while (w.in_flight > 0)
		ev_run(loop_ev, EVRUN_ONCE);
	if (w.failed) {
		fprintf(stderr, "mentions_bench: read_set failed (%d)\n", w.failed);
		exit(1);
	}
}

struct count {
	int fired, rc;
	size_t entries;
};

static void counted(void *ud, const parley_store_result *res)
{
	struct count *c = ud;
	c->fired = 1;
	c->rc = res->rc;
	/* Entries are objects: one '{' each. */
	for (const char *p = res->text; p && (p = strchr(p, '{')); p++)
		c->entries++;
}

static void measure(const char *state, const char *store)
{
	double ms[RUNS];
	size_t entries = 0;
	for (int i = 0; i < RUNS; i++) {
		struct count c = {0};
		double t0 = bench_now_s();
		if (S->mentions_unread(self, counted, &c) != PARLEY_PENDING) {
			fprintf(stderr, "mentions_bench: mentions_unread refused\n");
			exit(1);
		}
		while (!c.fired)
			ev_run(loop_ev, EVRUN_ONCE);
		ms[i] = (bench_now_s() - t0) * 1000;
		if (c.rc != PARLEY_OK) {
			fprintf(stderr, "mentions_bench: mentions_unread failed (%d)\n", c.rc);
			exit(1);
		}
		entries = c.entries;
	}
	qsort(ms, RUNS, sizeof ms[0], bench_cmp_double);
	printf(
	    "{\"store\":\"%s\",\"state\":\"%s\",\"entries\":%zu,\"p50_ms\":%.1f,\"max_ms\":%.1f}\n",
	    store, state, entries, ms[RUNS / 2], ms[RUNS - 1]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long messages = argc > 1 ? atol(argv[1]) : 1000000;
	char plugins[512];
	const char *plugin_dir =
	    argc > 2 ? argv[2] : bench_default_plugin_dir(plugins, sizeof plugins);
	if (messages < 1) {
		fprintf(stderr, "usage: mentions_bench [messages] [plugin_dir]\n");
		return 2;
	}
	srand(42);
	struct bench_store b;
	bench_store_begin(&b, "mentions_bench", "mentions-bench");
	bench_store_open(&b, plugin_dir, "mentions_bench", NULL);
	S = b.S;
	self = b.self;
	if (!PARLEY_HAS(parley_store_vtable, S, mentions_unread)) {
		fprintf(stderr, "mentions_bench: the store has no mentions_unread\n");
		return 1;
	}
	for (int i = 0; i < USERS; i++) {
		char name[32];
		struct bench_call c = {0};
		snprintf(name, sizeof name, "user%d", i);
		parley_user u = {.name = name, .role = "member"};
		bench_call_wait(&c, S->user_create(self, &u, bench_call_done, &c), "user_create");
		snprintf(user_ids[i], sizeof user_ids[i], "%s", c.id);
	}
	for (int i = 0; i < ROOMS; i++) {
		char name[32];
		struct bench_call c = {0};
		snprintf(name, sizeof name, "room%d", i);
		parley_room r = {.name = name, .kind = "public", .created_by = user_ids[0]};
		bench_call_wait(&c, S->room_create(self, &r, "owner", bench_call_done, &c),
		                "room_create");
		snprintf(room_ids[i], sizeof room_ids[i], "%s", c.id);
		for (int u = 1; u < USERS; u++) {
			struct bench_call m = {0};
			bench_call_wait(&m,
			                S->member_set(self, room_ids[i], user_ids[u], "member",
			                              bench_call_done, &m),
			                "member_set");
		}
	}
	double t0 = bench_now_s();
	if (b.mongo_uri) {
		fill_appends(messages);
	} else {
		char path[600];
		snprintf(path, sizeof path, "%s/bench.db", b.dir);
		fill_sqlite(path, messages);
	}
	printf("{\"store\":\"%s\",\"filled\":%ld,\"rooms\":%d,\"members\":%d,\"seconds\":%.1f}\n",
	       b.plugin, messages, ROOMS, ROOMS * USERS, bench_now_s() - t0);
	fflush(stdout);
	measure("never_read", b.plugin);
	read_marks(0);
	measure("one_behind", b.plugin);
	read_marks(-1);
	measure("caught_up", b.plugin);
	return bench_store_end(&b) == 0 ? 0 : 1;
}
