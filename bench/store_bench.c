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
#include <libgen.h>
#include <unistd.h>

#include <sqlite3.h>

#include "app/server.h"
#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "host/plugin_host.h"
#include "base/workers.h"

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

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
		record((now_s() - w->sent_at) * 1000.0);
	}
	if (running)
		send_next(w);
}

static void send_next(struct writer *w)
{
	char cid[48];
	snprintf(cid, sizeof cid, "w%d-%ld", w->index, w->n++);
	parley_message m = {.room_id = w->room, .user_id = w->user, .text = TEXT, .client_id = cid};
	w->sent_at = now_s();
	if (S->append(self, &m, acked_cb, w) != PARLEY_PENDING) {
		fprintf(stderr, "store_bench: append refused\n");
		exit(1);
	}
	in_flight++;
}

/* Setup calls: one at a time, the loop turned until done. */
struct sync_call {
	int fired, rc;
	char id[32];
};

static void sync_done(void *ud, const parley_store_result *res)
{
	struct sync_call *c = ud;
	c->fired = 1;
	c->rc = res->rc;
	if (res->rc == PARLEY_OK && res->n_users)
		snprintf(c->id, sizeof c->id, "%s", res->users[0].id);
	if (res->rc == PARLEY_OK && res->n_rooms)
		snprintf(c->id, sizeof c->id, "%s", res->rooms[0].id);
}

static void sync_wait(struct sync_call *c, int rc, const char *what)
{
	if (rc != PARLEY_PENDING) {
		fprintf(stderr, "store_bench: %s refused (%d)\n", what, rc);
		exit(1);
	}
	while (!c->fired)
		ev_run(loop_ev, EVRUN_ONCE);
	if (c->rc != PARLEY_OK) {
		fprintf(stderr, "store_bench: %s failed (%d)\n", what, c->rc);
		exit(1);
	}
}

static void stop_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	running = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
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
	server_tune_memory(); /* as the server does */
	char exe[512], plugins[600];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(plugins, sizeof plugins, "%s/../plugins", dirname(exe));
	const char *plugin_dir = argc > 2 ? argv[2] : plugins;
	if (seconds <= 0) {
		fprintf(stderr, "usage: store_bench [seconds] [plugin_dir]\n");
		return 2;
	}
	char dir[256];
	snprintf(dir, sizeof dir, "%s/parley-store-bench-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(dir)) {
		perror("store_bench: mkdtemp");
		return 1;
	}
	char src[1024], err[256];
	const char *mongo = getenv("PARLEY_BENCH_MONGO_URI");
	const char *store = mongo ? "store_mongo" : "store_sqlite";
	if (mongo)
		snprintf(src, sizeof src, "store = { uri = \"%s\", database = \"bench%d\" }\n",
		         mongo, (int)getpid());
	else
		snprintf(src, sizeof src, "store = { path = \"bench.db\" }\n");
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	/* The config, filled as config_load would: the store's section parsed by
	 * conf_load, auth_local (required beside a store) on its defaults. */
	cfg.root = conf_load("bench.conf", src, err, sizeof err);
	if (!cfg.root) {
		fprintf(stderr, "store_bench: %s\n", err);
		return 1;
	}
	cfg.base_dir = dir;
	cfg.data_dir = dir;
	cfg.plugin_dir = (char *)plugin_dir;
	cfg.plugins[0].name = (char *)store;
	cfg.plugins[0].section = conf_get(cfg.root, "store");
	cfg.plugins[1].name = "auth_local";
	cfg.n_plugins = 2;
	log_set_level(LOG_WARN);
	if (loop_init() != 0 || workers_start(2) != 0)
		return 1;
	metrics_init();
	/* As an admin command: auth_local leaves the store alone. */
	if (plugins_load(&cfg, 1) != 0 || plugins_init() != 0)
		return 1;
	S = plugins_store(&self);
	const char *index = getenv("PARLEY_BENCH_SEARCH_INDEX");
	if (!mongo && index && strcmp(index, "off") == 0 && drop_search_index(dir) != 0)
		return 1;
	const char *sql = getenv("PARLEY_BENCH_SQL");
	if (!mongo && sql && bench_db_exec(dir, sql, "PARLEY_BENCH_SQL") != 0)
		return 1;

	for (int i = 0; i < WRITERS; i++) {
		struct writer *w = &writers[i];
		char name[32];
		struct sync_call c = {0};
		w->index = i;
		snprintf(name, sizeof name, "writer%d", i);
		parley_user u = {.name = name, .role = "member"};
		sync_wait(&c, S->user_create(self, &u, sync_done, &c), "user_create");
		snprintf(w->user, sizeof w->user, "%s", c.id);
		memset(&c, 0, sizeof c);
		snprintf(name, sizeof name, "room%d", i);
		parley_room r = {.name = name, .kind = "public", .created_by = w->user};
		sync_wait(&c, S->room_create(self, &r, "owner", sync_done, &c), "room_create");
		snprintf(w->room, sizeof w->room, "%s", c.id);
	}

	double batches0 = counter(BATCHES_METRIC), writes0 = counter(WRITES_METRIC);
	ev_timer stop;
	ev_timer_init(&stop, stop_cb, seconds, 0);
	ev_timer_start(loop_ev, &stop);
	running = 1;
	double t0 = now_s();
	for (int i = 0; i < WRITERS; i++)
		send_next(&writers[i]);
	while (running)
		ev_run(loop_ev, EVRUN_ONCE);
	double elapsed = now_s() - t0;
	while (in_flight > 0)
		ev_run(loop_ev, EVRUN_ONCE);
	double batches = counter(BATCHES_METRIC) - batches0;
	double writes = counter(WRITES_METRIC) - writes0;

	qsort(lat_ms, n_lat, sizeof *lat_ms, cmp_double);
	printf("{\"store\":\"%s\",\"search_index\":%s,\"seconds\":%.2f,\"writers\":%d,\"rooms\":%d,"
	       "\"appends\":%ld,"
	       "\"appends_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"batches\":%.0f,"
	       "\"mean_batch\":%.1f,\"failed\":%ld}\n",
	       store, index && strcmp(index, "off") == 0 ? "false" : "true", elapsed, WRITERS,
	       WRITERS, acked, (double)acked / elapsed, pct(50), pct(99), batches,
	       batches > 0 ? writes / batches : 0.0, failed);
	fflush(stdout);

	plugins_fini();
	workers_stop();
	loop_fini();
	conf_free(cfg.root);
	free(lat_ms);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 && failed == 0 ? 0 : 1;
}
