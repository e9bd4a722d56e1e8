/* store_bench: acked, durable appends per second through the store plugin's
 * public interface, loaded by the real host (config file, plugins_load,
 * plugins_init), on a fresh database in a temp folder.
 *
 * WRITERS concurrent writers across as many rooms; each keeps one append
 * in flight, as a chat client awaiting its ack does, and sends the next
 * when the ack arrives. Prints one JSON line: appends/s, p50/p99 append
 * latency (call -> done), and how the writer grouped them (batches, mean
 * batch size, read from the plugin's counters).
 *
 *   store_bench [seconds=10] [plugin_dir]
 *
 * plugin_dir defaults to ../plugins next to this binary (the build tree).
 * With PARLEY_BENCH_MONGO_URI set, the store is store_mongo on that server
 * (a fresh database, dropped by nobody: use a test server) instead of
 * store_sqlite; bench/store_compare.py runs both in one go.
 *
 * PARLEY_BENCH_SEARCH_INDEX=off (store_sqlite): the search index's
 * triggers are dropped before the run, so bench/search_write_cost.sh can
 * show the write cost of the index, with and without, in one run.
 * PARLEY_BENCH_SQL=STATEMENTS (store_sqlite): run on the database before
 * the run, to try settings (e.g. the FTS5 index's automerge).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/loop.h"
#include "base/metrics.h"
#include "bench_store.h"

#define WRITERS         100
#define DEFAULT_SECONDS 10
#define TEXT            "a chat message of a typical length, about eighty bytes, sent by a bench writer."
#define BATCHES_METRIC  "parley_plugin_store_sqlite_batches_total"
#define WRITES_METRIC   "parley_plugin_store_sqlite_writes_total"

struct writer {
	int index;
	char user[32], room[32];
	double sent_at;
	long n;
};

static const parley_store_vtable *S;
static void *self;
static struct writer writers[WRITERS];
static int running, in_flight;
static long acked, failed;
static double *lat_ms;
static size_t n_lat, cap_lat;

static void record(double ms)
{
	if (n_lat == cap_lat) {
		cap_lat = cap_lat ? cap_lat * 2 : 65536;
		lat_ms = realloc(lat_ms, cap_lat * sizeof *lat_ms);
		if (!lat_ms) {
			fprintf(stderr, "store_bench: out of memory\n");
			exit(1);
		}
	}
	lat_ms[n_lat++] = ms;
}

static void send_next(struct writer *w);

static void acked_cb(void *ud, const parley_store_result *res)
{
	struct writer *w = ud;
	in_flight--;
	if (res->rc != PARLEY_OK) {
		failed++;
		fprintf(stderr, "store_bench: append failed: %d %s\n", res->rc,
		        res->error ? res->error : "");
	} else if (running) {
		acked++;
		record((bench_now_s() - w->sent_at) * 1000.0);
	}
	if (running)
		send_next(w);
}

static void send_next(struct writer *w)
{
	char cid[48];
	snprintf(cid, sizeof cid, "w%d-%ld", w->index, w->n++);
	parley_message m = {.room_id = w->room, .user_id = w->user, .text = TEXT, .client_id = cid};
	w->sent_at = bench_now_s();
	if (S->append(self, &m, acked_cb, w) != PARLEY_PENDING) {
		fprintf(stderr, "store_bench: append refused\n");
		exit(1);
	}
	in_flight++;
}

static void stop_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	running = 0;
}

static double pct(double p)
{
	if (!n_lat)
		return 0;
	size_t i = (size_t)ceil(p / 100.0 * (double)n_lat);
	return lat_ms[i ? i - 1 : 0];
}

static double counter(const char *name)
{
	/* Registering an existing name returns it: the plugin's counter. */
	metric *m = metric_counter(name, name, NULL);
	return m ? metric_value(m) : 0;
}

/* Drops store_sqlite's search triggers (schema 5) from the bench's
 * database: appends then cost what they did before the index. */
/* Runs sql on the bench database (what: for the error message). */
static int bench_db_exec(const char *dir, const char *sql, const char *what)
{
	char path[512];
	snprintf(path, sizeof path, "%s/bench.db", dir);
	sqlite3 *db;
	int rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "store_bench: %s: %s\n", what, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int drop_search_index(const char *dir)
{
	return bench_db_exec(dir,
	                     "DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_update;"
	                     " DROP TRIGGER messages_fts_delete;",
	                     "dropping the search index");
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : DEFAULT_SECONDS;
	char plugins[600];
	const char *plugin_dir =
	    argc > 2 ? argv[2] : bench_default_plugin_dir(plugins, sizeof plugins);
	if (seconds <= 0) {
		fprintf(stderr, "usage: store_bench [seconds] [plugin_dir]\n");
		return 2;
	}
	struct bench_store b;
	bench_store_begin(&b, "store_bench", "store-bench");
	const char *mongo = b.mongo_uri, *dir = b.dir;
	bench_store_open(&b, plugin_dir, "bench", NULL);
	S = b.S;
	self = b.self;
	const char *index = getenv("PARLEY_BENCH_SEARCH_INDEX");
	if (!mongo && index && strcmp(index, "off") == 0 && drop_search_index(dir) != 0)
		return 1;
	const char *sql = getenv("PARLEY_BENCH_SQL");
	if (!mongo && sql && bench_db_exec(dir, sql, "PARLEY_BENCH_SQL") != 0)
		return 1;

	for (int i = 0; i < WRITERS; i++) {
		struct writer *w = &writers[i];
		char name[32];
		struct bench_call c = {0};
		w->index = i;
		snprintf(name, sizeof name, "writer%d", i);
		parley_user u = {.name = name, .role = "member"};
		bench_call_wait(&c, S->user_create(self, &u, bench_call_done, &c), "user_create");
		snprintf(w->user, sizeof w->user, "%s", c.id);
		memset(&c, 0, sizeof c);
		snprintf(name, sizeof name, "room%d", i);
		parley_room r = {.name = name, .kind = "public", .created_by = w->user};
		bench_call_wait(&c, S->room_create(self, &r, "owner", bench_call_done, &c),
		                "room_create");
		snprintf(w->room, sizeof w->room, "%s", c.id);
	}

	double batches0 = counter(BATCHES_METRIC), writes0 = counter(WRITES_METRIC);
	ev_timer stop;
	ev_timer_init(&stop, stop_cb, seconds, 0);
	ev_timer_start(loop_ev, &stop);
	running = 1;
	double t0 = bench_now_s();
	for (int i = 0; i < WRITERS; i++)
		send_next(&writers[i]);
	while (running)
		ev_run(loop_ev, EVRUN_ONCE);
	double elapsed = bench_now_s() - t0;
	while (in_flight > 0)
		ev_run(loop_ev, EVRUN_ONCE);
	double batches = counter(BATCHES_METRIC) - batches0;
	double writes = counter(WRITES_METRIC) - writes0;

	qsort(lat_ms, n_lat, sizeof *lat_ms, bench_cmp_double);
	printf("{\"store\":\"%s\",\"search_index\":%s,\"seconds\":%.2f,\"writers\":%d,\"rooms\":%d,"
	       "\"appends\":%ld,"
	       "\"appends_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"batches\":%.0f,"
	       "\"mean_batch\":%.1f,\"failed\":%ld}\n",
	       b.plugin, index && strcmp(index, "off") == 0 ? "false" : "true", elapsed, WRITERS,
	       WRITERS, acked, (double)acked / elapsed, pct(50), pct(99), batches,
	       batches > 0 ? writes / batches : 0.0, failed);
	fflush(stdout);

	free(lat_ms);
	return bench_store_end(&b) == 0 && failed == 0 ? 0 : 1;
}
