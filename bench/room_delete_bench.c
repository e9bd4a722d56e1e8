/* room_delete_bench: how long deleting a big room holds the store's writer.
 * Fills one room with MESSAGES appends, then deletes it while a prober in
 * another room keeps one append in flight (as a person chatting elsewhere
 * does). Prints one JSON line: the delete's duration and the prober's
 * worst and p99 append latency while it ran (the writer held).
 *
 *   room_delete_bench [messages=100000] [plugin_dir]
 *
 * With PARLEY_BENCH_MONGO_URI set, the store is store_mongo on that server
 * (a fresh database) instead of store_sqlite, as for store_bench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libgen.h>
#include <unistd.h>

#include "app/server.h"
#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "base/workers.h"
#include "host/plugin_host.h"

#define FILL_WINDOW 512 /* appends in flight while filling */
#define TEXT        "a chat message of a typical length, about eighty bytes, in a room to delete."

static const parley_store_vtable *S;
static void *self;
static char user_id[32], big_room[32], probe_room[32];
static long fill_sent, fill_acked, fill_total, failed;
static int probing, deleting, probe_in_flight, probe_during_delete;
static long probe_n;
static double probe_sent_at, delete_t0, delete_ms = -1;
static double lat_ms[1 << 16];
static size_t n_lat;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill_next(void);

static void fill_acked_cb(void *ud, const parley_store_result *res)
{
	(void)ud;
	fill_acked++;
	if (res->rc != PARLEY_OK)
		failed++;
	fill_next();
}

static void fill_next(void)
{
	if (fill_sent >= fill_total)
		return;
	char cid[32];
	snprintf(cid, sizeof cid, "f%ld", fill_sent++);
	parley_message m = {
	    .room_id = big_room, .user_id = user_id, .text = TEXT, .client_id = cid};
	if (S->append(self, &m, fill_acked_cb, NULL) != PARLEY_PENDING) {
		fprintf(stderr, "room_delete_bench: append refused\n");
		exit(1);
	}
}

static void probe_next(void);

static void probe_acked(void *ud, const parley_store_result *res)
{
	(void)ud;
	probe_in_flight = 0;
	if (res->rc != PARLEY_OK)
		failed++;
	else if (probe_during_delete && n_lat < sizeof lat_ms / sizeof lat_ms[0])
		lat_ms[n_lat++] = (now_s() - probe_sent_at) * 1000.0;
	if (probing)
		probe_next();
}

static void probe_next(void)
{
	char cid[32];
	snprintf(cid, sizeof cid, "p%ld", probe_n++);
	parley_message m = {
	    .room_id = probe_room, .user_id = user_id, .text = "probe", .client_id = cid};
	probe_sent_at = now_s();
	probe_during_delete = deleting; /* sent while the delete ran: counted */
	if (S->append(self, &m, probe_acked, NULL) != PARLEY_PENDING) {
		fprintf(stderr, "room_delete_bench: probe refused\n");
		exit(1);
	}
	probe_in_flight = 1;
}

static void deleted(void *ud, const parley_store_result *res)
{
	(void)ud;
	delete_ms = (now_s() - delete_t0) * 1000.0;
	if (res->rc != PARLEY_OK) {
		fprintf(stderr, "room_delete_bench: room_delete failed (%d)\n", res->rc);
		failed++;
	}
}

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
		fprintf(stderr, "room_delete_bench: %s refused (%d)\n", what, rc);
		exit(1);
	}
	while (!c->fired)
		ev_run(loop_ev, EVRUN_ONCE);
	if (c->rc != PARLEY_OK) {
		fprintf(stderr, "room_delete_bench: %s failed (%d)\n", what, c->rc);
		exit(1);
	}
}

static void make_room(const char *name, char *id)
{
	struct sync_call c = {0};
	parley_room r = {.name = name, .kind = "public", .created_by = user_id};
	sync_wait(&c, S->room_create(self, &r, "owner", sync_done, &c), "room_create");
	snprintf(id, 32, "%s", c.id);
}

static void turn_for(double seconds)
{
	double until = now_s() + seconds;
	while (now_s() < until)
		ev_run(loop_ev, EVRUN_ONCE);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	fill_total = argc > 1 ? atol(argv[1]) : 100000;
	server_tune_memory();
	char exe[512], plugins[600];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(plugins, sizeof plugins, "%s/../plugins", dirname(exe));
	const char *plugin_dir = argc > 2 ? argv[2] : plugins;
	if (fill_total <= 0) {
		fprintf(stderr, "usage: room_delete_bench [messages] [plugin_dir]\n");
		return 2;
	}
	char dir[256];
	snprintf(dir, sizeof dir, "%s/parley-delete-bench-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(dir)) {
		perror("room_delete_bench: mkdtemp");
		return 1;
	}
	char src[1024], err[256];
	const char *mongo = getenv("PARLEY_BENCH_MONGO_URI");
	const char *store = mongo ? "store_mongo" : "store_sqlite";
	if (mongo)
		snprintf(src, sizeof src, "store = { uri = \"%s\", database = \"delbench%d\" }\n",
		         mongo, (int)getpid());
	else
		snprintf(src, sizeof src, "store = { path = \"bench.db\" }\n");
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.root = conf_load("bench.conf", src, err, sizeof err);
	if (!cfg.root) {
		fprintf(stderr, "room_delete_bench: %s\n", err);
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
	if (plugins_load(&cfg, 1) != 0 || plugins_init() != 0)
		return 1;
	S = plugins_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, S, room_delete)) {
		fprintf(stderr, "room_delete_bench: %s has no room_delete\n", store);
		return 1;
	}

	struct sync_call c = {0};
	parley_user u = {.name = "filler", .role = "member"};
	sync_wait(&c, S->user_create(self, &u, sync_done, &c), "user_create");
	snprintf(user_id, sizeof user_id, "%s", c.id);
	make_room("big", big_room);
	make_room("elsewhere", probe_room);

	double t0 = now_s();
	for (int i = 0; i < FILL_WINDOW; i++)
		fill_next();
	while (fill_acked < fill_total)
		ev_run(loop_ev, EVRUN_ONCE);
	double fill_s = now_s() - t0;

	probing = 1;
	probe_next();
	turn_for(0.3);
	deleting = 1;
	delete_t0 = now_s();
	if (S->room_delete(self, big_room, deleted, NULL) != PARLEY_PENDING) {
		fprintf(stderr, "room_delete_bench: room_delete refused\n");
		return 1;
	}
	while (delete_ms < 0)
		ev_run(loop_ev, EVRUN_ONCE);
	deleting = 0;
	probing = 0;
	while (probe_in_flight)
		ev_run(loop_ev, EVRUN_ONCE);

	qsort(lat_ms, n_lat, sizeof *lat_ms, cmp_double);
	double worst = n_lat ? lat_ms[n_lat - 1] : delete_ms;
	double p99 = n_lat ? lat_ms[(size_t)((n_lat - 1) * 0.99)] : delete_ms;
	printf("{\"store\":\"%s\",\"messages\":%ld,\"fill_s\":%.1f,\"delete_ms\":%.1f,"
	       "\"probes_during_delete\":%zu,\"probe_worst_ms\":%.1f,\"probe_p99_ms\":%.1f,"
	       "\"failed\":%ld}\n",
	       store, fill_total, fill_s, delete_ms, n_lat, worst, p99, failed);
	fflush(stdout);

	plugins_fini();
	workers_stop();
	loop_fini();
	conf_free(cfg.root);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 && failed == 0 ? 0 : 1;
}
