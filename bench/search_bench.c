/* search_bench: search latency through store_sqlite's public interface
 * (the real host loads the plugin) over MESSAGES messages in ROOMS rooms.
 *
 * The messages are written straight into the plugin's database file in one
 * SQLite transaction after the plugin created it (the FTS5 triggers index
 * them as the plugin's own appends would; store_bench measures appends).
 * Texts are 8..20 words drawn from a 4,000-word vocabulary with Zipf
 * weights (a few words in most messages, most words rare), so queries span
 * common and rare terms. Then QUERIES searches of each kind run one at a
 * time (call -> done), as a person asking over every room (100) and over
 * their own 10; one JSON line per kind with p50/p99 ms.
 *
 *   search_bench [messages=1000000] [queries=200] [plugin_dir]
 *
 * PARLEY_BENCH_DB=FILE keeps (or reuses) the filled database there.
 *
 * With PARLEY_BENCH_MONGO_URI set, the store is store_mongo on that server
 * (a fresh database, dropped by nobody: use a test server), filled
 * through the vtable's append (64 in flight) so the plugin writes each
 * message's words itself; the same texts, rooms, authors and times as the
 * SQLite fill (one random sequence). cpu_* is this process only: the
 * database server's own CPU is not in it. query_cpu_* leaves out the
 * main thread (which only waits for the call): the plugin's threads.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/loop.h"
#include "bench_store.h"

#define ROOMS 100
#define USERS 20
#define VOCAB 4000

static const parley_store_vtable *S;
static void *self;
static char room_ids[ROOMS][32];
static char vocab[VOCAB][16];
static double zipf_cdf[VOCAB];

/* CPU seconds of the calling (main) thread: the process's CPU less this
 * is the query's own (the plugin's reader thread), without the main
 * loop's waiting. */
static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (the search runs on a worker thread):
 * what a query costs whatever else the machine runs. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Pronounceable made-up words: "bakelu", "tirano"... distinct by index. */
static void make_vocab(void)
{
	static const char *syl[] = {"ba", "ke", "lu", "ti", "ra", "no", "me", "so",
	                            "di", "fa", "gu", "pe", "vo", "zi", "ha", "jo"};
	double sum = 0;
	for (int i = 0; i < VOCAB; i++) {
		int v = i, n = 0;
		char *w = vocab[i];
		do {
			n += snprintf(w + n, sizeof vocab[i] - (size_t)n, "%s", syl[v % 16]);
			v /= 16;
		} while (v > 0);
		snprintf(w + n, sizeof vocab[i] - (size_t)n, "%s", "x");
		sum += 1.0 / (i + 1);
		zipf_cdf[i] = sum;
	}
	for (int i = 0; i < VOCAB; i++)
		zipf_cdf[i] /= sum;
}

static const char *word(void)
{
	double u = (double)rand() / RAND_MAX;
	int lo = 0, hi = VOCAB - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return vocab[lo];
}

static void fill(const char *path, long messages)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "search_bench: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_busy_timeout(db, 10000);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	sqlite3_stmt *ins;
	sqlite3_prepare_v2(
	    db, "INSERT INTO messages (room, seq, user, text, ts) VALUES (?, ?, ?, ?, ?)", -1, &ins,
	    NULL);
	long seq[ROOMS + 1] = {0};
	int64_t ts = 1700000000000;
	char text[512];
	for (long i = 0; i < messages; i++) {
		int room = 1 + rand() % ROOMS, words = 8 + rand() % 13;
		size_t n = 0;
		for (int k = 0; k < words; k++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", k ? " " : "",
			                      word());
		sqlite3_bind_int(ins, 1, room);
		sqlite3_bind_int64(ins, 2, ++seq[room]);
		sqlite3_bind_int(ins, 3, 1 + rand() % USERS);
		sqlite3_bind_text(ins, 4, text, (int)n, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, ts += 1 + rand() % 2000);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "search_bench: insert: %s\n", sqlite3_errmsg(db));
			exit(1);
		}
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	char sql[128];
	for (int r = 1; r <= ROOMS; r++) {
		snprintf(sql, sizeof sql, "UPDATE rooms SET last_seq = %ld WHERE id = %d", seq[r],
		         r);
		sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "search_bench: commit: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_close(db);
}

struct fill_window {
	int in_flight, failed;
};

static void fill_done(void *ud, const parley_store_result *res)
{
	struct fill_window *w = ud;
	w->in_flight--;
	if (res->rc != PARLEY_OK)
		w->failed = res->rc;
}

/* The same messages as fill(), through the store's own appends. */
static void fill_appends(long messages)
{
	struct fill_window w = {0};
	int64_t ts = 1700000000000;
	char text[512], user[32];
	for (long i = 0; i < messages && !w.failed; i++) {
		int room = 1 + rand() % ROOMS, words = 8 + rand() % 13;
		size_t n = 0;
		for (int k = 0; k < words; k++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", k ? " " : "",
			                      word());
		snprintf(user, sizeof user, "u_%d", 1 + rand() % USERS);
		parley_message m = {.room_id = room_ids[room - 1],
		                    .user_id = user,
		                    .text = text,
		                    .ts = ts += 1 + rand() % 2000};
		while (w.in_flight >= 64)
			ev_run(loop_ev, EVRUN_ONCE);
		w.in_flight++;
		if (S->append(self, &m, fill_done, &w) != PARLEY_PENDING) {
			fprintf(stderr, "search_bench: append refused\n");
			exit(1);
		}
	}
	while (w.in_flight > 0)
		ev_run(loop_ev, EVRUN_ONCE);
	if (w.failed) {
		fprintf(stderr, "search_bench: append failed (%d)\n", w.failed);
		exit(1);
	}
}

struct kind {
	const char *name;
	int n_terms;
	int kinds[2];
	int rank_lo, rank_hi; /* vocabulary ranks the words come from */
	int sort;
};

static const struct kind kinds[] = {
    {"common word", 1, {PARLEY_TERM_WORD}, 0, 20, PARLEY_SEARCH_RELEVANCE},
    {"mid word", 1, {PARLEY_TERM_WORD}, 100, 400, PARLEY_SEARCH_RELEVANCE},
    {"rare word", 1, {PARLEY_TERM_WORD}, 2000, 4000, PARLEY_SEARCH_RELEVANCE},
    {"two words", 2, {PARLEY_TERM_WORD, PARLEY_TERM_WORD}, 20, 300, PARLEY_SEARCH_RELEVANCE},
    {"prefix (3 chars)", 1, {PARLEY_TERM_PREFIX}, 0, 4000, PARLEY_SEARCH_RELEVANCE},
    {"phrase", 1, {PARLEY_TERM_PHRASE}, 0, 50, PARLEY_SEARCH_RELEVANCE},
    {"common word, recent", 1, {PARLEY_TERM_WORD}, 0, 20, PARLEY_SEARCH_RECENT},
    {"mid word, recent", 1, {PARLEY_TERM_WORD}, 100, 400, PARLEY_SEARCH_RECENT},
};

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)ceil(p / 100.0 * (double)n);
	return n ? v[i ? i - 1 : 0] : 0;
}

static void run_kind(const struct kind *k, int queries, size_t n_rooms)
{
	double *lat = calloc((size_t)queries, sizeof *lat);
	double *cpu = calloc((size_t)queries, sizeof *cpu);
	double *off_main = calloc((size_t)queries, sizeof *off_main);
	long found = 0;
	const char *rooms[ROOMS];
	for (size_t r = 0; r < n_rooms; r++)
		rooms[r] = room_ids[r];
	for (int i = 0; i < queries; i++) {
		char text[2][40];
		parley_search_term t[2];
		for (int j = 0; j < k->n_terms; j++) {
			const char *w = vocab[k->rank_lo + rand() % (k->rank_hi - k->rank_lo)];
			if (k->kinds[j] == PARLEY_TERM_PREFIX)
				snprintf(text[j], sizeof text[j], "%.3s", w);
			else if (k->kinds[j] == PARLEY_TERM_PHRASE)
				snprintf(text[j], sizeof text[j], "%s %s", vocab[rand() % 3],
				         vocab[k->rank_lo + rand() % (k->rank_hi - k->rank_lo)]);
			else
				snprintf(text[j], sizeof text[j], "%s", w);
			t[j] = (parley_search_term){.kind = k->kinds[j], .text = text[j]};
		}
		parley_search_query q = {.struct_size = sizeof q,
		                         .terms = t,
		                         .n_terms = (size_t)k->n_terms,
		                         .room_ids = rooms,
		                         .n_rooms = n_rooms,
		                         .sort = k->sort,
		                         .limit = 20};
		struct bench_call c = {0};
		double t0 = bench_now_s(), c0 = cpu_s(), m0 = thread_cpu_s();
		bench_call_wait(&c, S->search(self, &q, bench_call_done, &c), "search");
		lat[i] = (bench_now_s() - t0) * 1000.0;
		cpu[i] = (cpu_s() - c0) * 1000.0;
		off_main[i] = cpu[i] - (thread_cpu_s() - m0) * 1000.0;
		(void)found;
	}
	qsort(lat, (size_t)queries, sizeof *lat, bench_cmp_double);
	qsort(cpu, (size_t)queries, sizeof *cpu, bench_cmp_double);
	qsort(off_main, (size_t)queries, sizeof *off_main, bench_cmp_double);
	printf("{\"kind\":\"%s\",\"rooms\":%zu,\"queries\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
	       "\"max_ms\":%.2f,\"cpu_p50_ms\":%.2f,\"cpu_p99_ms\":%.2f,"
	       "\"query_cpu_p50_ms\":%.2f,\"query_cpu_p99_ms\":%.2f}\n",
	       k->name, n_rooms, queries, pct(lat, (size_t)queries, 50),
	       pct(lat, (size_t)queries, 99), pct(lat, (size_t)queries, 100),
	       pct(cpu, (size_t)queries, 50), pct(cpu, (size_t)queries, 99),
	       pct(off_main, (size_t)queries, 50), pct(off_main, (size_t)queries, 99));
	free(cpu);
	free(off_main);
	fflush(stdout);
	free(lat);
}

int main(int argc, char **argv)
{
	long messages = argc > 1 ? atol(argv[1]) : 1000000;
	int queries = argc > 2 ? atoi(argv[2]) : 200;
	char plugins[600];
	const char *plugin_dir =
	    argc > 3 ? argv[3] : bench_default_plugin_dir(plugins, sizeof plugins);
	if (messages < 1 || queries < 1) {
		fprintf(stderr, "usage: search_bench [messages] [queries] [plugin_dir]\n");
		return 2;
	}
	srand(42);
	make_vocab();
	const char *keep = getenv("PARLEY_BENCH_DB");
	struct bench_store b;
	bench_store_begin(&b, "search_bench", "search-bench");
	const char *mongo = b.mongo_uri, *dir = b.dir;
	char path[512];
	snprintf(path, sizeof path, "%s", keep ? keep : "bench.db");
	struct stat sb;
	int reuse = keep && stat(keep, &sb) == 0;
	if (mongo)
		reuse = 0;
	bench_store_open(&b, plugin_dir, "search_bench", path);
	S = b.S;
	self = b.self;
	if (!PARLEY_HAS(parley_store_vtable, S, search)) {
		fprintf(stderr, "search_bench: the store has no search\n");
		return 1;
	}
	if (!reuse) {
		for (int i = 0; i < USERS; i++) {
			char name[32];
			struct bench_call c = {0};
			snprintf(name, sizeof name, "user%d", i);
			parley_user u = {.name = name, .role = "member"};
			bench_call_wait(&c, S->user_create(self, &u, bench_call_done, &c),
			                "user_create");
		}
	}
	for (int i = 0; i < ROOMS; i++) {
		char name[32];
		struct bench_call c = {0};
		snprintf(name, sizeof name, "room%d", i);
		if (reuse) {
			bench_call_wait(&c, S->room_get(self, NULL, name, bench_call_done, &c),
			                "room_get");
		} else {
			parley_room r = {.name = name, .kind = "public", .created_by = "u_1"};
			bench_call_wait(&c, S->room_create(self, &r, "owner", bench_call_done, &c),
			                "room_create");
		}
		snprintf(room_ids[i], sizeof room_ids[i], "%s", c.id);
	}
	if (!reuse) {
		char full[900];
		snprintf(full, sizeof full, "%s/%s", keep ? "" : dir, path);
		double t0 = bench_now_s();
		if (mongo)
			fill_appends(messages);
		else
			fill(keep ? path : full, messages);
		printf("{\"store\":\"%s\",\"filled\":%ld,\"rooms\":%d,\"seconds\":%.1f}\n",
		       b.plugin, messages, ROOMS, bench_now_s() - t0);
		fflush(stdout);
	}
	/* Warm the page cache as a running server's would be. */
	run_kind(&kinds[0], queries < 20 ? queries : 20, ROOMS);
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		run_kind(&kinds[k], queries, ROOMS);
		run_kind(&kinds[k], queries, 10);
	}
	return bench_store_end(&b) == 0 ? 0 : 1;
}
