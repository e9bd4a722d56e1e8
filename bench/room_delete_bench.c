/* room_delete_bench: how long deleting a big room holds the store's writer.
 * Fills one room with MESSAGES appends, then deletes it while a prober in
 * another room keeps one append in flight (as a person chatting elsewhere
 * does). Prints one JSON line: the delete's duration and the prober's
 * worst and p99 append latency while it ran (the writer held).
 *
 *   room_delete_bench [messages=100000] [plugin_dir]
 *
 * With PARLEY_BENCH_MONGO_URI set, the store is store_mongo on that server
 * (a fresh database) instead of store_sqlite, as for store_bench. There is
 * no writer to hold there: the prober waits for the server (CongoDB, the
 * test server, is one thread, which each step of the delete holds) and
 * for the room's lane when the two rooms hash to the same one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/loop.h"
#include "bench_store.h"

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
		lat_ms[n_lat++] = (bench_now_s() - probe_sent_at) * 1000.0;
	if (probing)
		probe_next();
}

static void probe_next(void)
{
	char cid[32];
	snprintf(cid, sizeof cid, "p%ld", probe_n++);
	parley_message m = {
	    .room_id = probe_room, .user_id = user_id, .text = "probe", .client_id = cid};
	probe_sent_at = bench_now_s();
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
	delete_ms = (bench_now_s() - delete_t0) * 1000.0;
	if (res->rc != PARLEY_OK) {
		fprintf(stderr, "room_delete_bench: room_delete failed (%d)\n", res->rc);
		failed++;
	}
}

static void make_room(const char *name, char *id)
{
	struct bench_call c = {0};
	parley_room r = {.name = name, .kind = "public", .created_by = user_id};
	bench_call_wait(&c, S->room_create(self, &r, "owner", bench_call_done, &c), "room_create");
	snprintf(id, 32, "%s", c.id);
}

static void turn_for(double seconds)
{
	double until = bench_now_s() + seconds;
	while (bench_now_s() < until)
		ev_run(loop_ev, EVRUN_ONCE);
}

int main(int argc, char **argv)
{
	fill_total = argc > 1 ? atol(argv[1]) : 100000;
	char plugins[600];
	const char *plugin_dir =
	    argc > 2 ? argv[2] : bench_default_plugin_dir(plugins, sizeof plugins);
	if (fill_total <= 0) {
		fprintf(stderr, "usage: room_delete_bench [messages] [plugin_dir]\n");
		return 2;
	}
	struct bench_store b;
	bench_store_begin(&b, "room_delete_bench", "delete-bench");
	bench_store_open(&b, plugin_dir, "delbench", NULL);
	S = b.S;
	self = b.self;
	if (!PARLEY_HAS(parley_store_vtable, S, room_delete)) {
		fprintf(stderr, "room_delete_bench: %s has no room_delete\n", b.plugin);
		return 1;
	}

	struct bench_call c = {0};
	parley_user u = {.name = "filler", .role = "member"};
	bench_call_wait(&c, S->user_create(self, &u, bench_call_done, &c), "user_create");
	snprintf(user_id, sizeof user_id, "%s", c.id);
	make_room("big", big_room);
	make_room("elsewhere", probe_room);

	double t0 = bench_now_s();
	for (int i = 0; i < FILL_WINDOW; i++)
		fill_next();
	while (fill_acked < fill_total)
		ev_run(loop_ev, EVRUN_ONCE);
	double fill_s = bench_now_s() - t0;

	probing = 1;
	probe_next();
	turn_for(0.3);
	deleting = 1;
	delete_t0 = bench_now_s();
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

	qsort(lat_ms, n_lat, sizeof *lat_ms, bench_cmp_double);
	double worst = n_lat ? lat_ms[n_lat - 1] : delete_ms;
	double p99 = n_lat ? lat_ms[(size_t)((n_lat - 1) * 0.99)] : delete_ms;
	printf("{\"store\":\"%s\",\"messages\":%ld,\"fill_s\":%.1f,\"delete_ms\":%.1f,"
	       "\"probes_during_delete\":%zu,\"probe_worst_ms\":%.1f,\"probe_p99_ms\":%.1f,"
	       "\"failed\":%ld}\n",
	       b.plugin, fill_total, fill_s, delete_ms, n_lat, worst, p99, failed);
	fflush(stdout);

	return bench_store_end(&b) == 0 && failed == 0 ? 0 : 1;
}
