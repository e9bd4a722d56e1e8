/* Drives store_mongo through the real host for scripted-server tests
 * (mock_errors.py answers each command it sends from mockupdb):
 *
 *   store_mongo_drive URI DATABASE append ROOM USER TEXT [CLIENT_ID]
 *
 * loads the plugin (pool_max = 1, timeout = 2: one connection, bounded
 * waits), runs the one call, prints
 *
 *   result rc=<rc> dup=<0|1> seq=<seq> id=<id> error=<message>
 *
 * then keeps the loop turning for PARLEY_DRIVE_LINGER seconds (the health
 * monitor's work, such as filling a seq hole), prints `ready=<0|1> <why>`
 * and exits 0. Exits 2 when the plugin does not load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/loop.h"
#include "host/plugin_host.h"
#include "base/workers.h"

static int fired;

static void on_done(void *ud, const parley_store_result *r)
{
	fired = 1;
	const parley_message *m = r->n_messages ? &r->messages[0] : NULL;
	printf("result rc=%d dup=%d seq=%lld id=%s error=%s\n", r->rc, r->duplicate,
	       m ? (long long)m->seq : 0LL, m && m->id ? m->id : "-", r->error ? r->error : "-");
	fflush(stdout);
}

static void tick(struct ev_loop *l, ev_timer *w, int revents) {}

int main(int argc, char **argv)
{
	if (argc < 7 || strcmp(argv[3], "append") != 0) {
		fprintf(stderr, "usage: %s URI DATABASE append ROOM USER TEXT [CLIENT_ID]\n",
		        argv[0]);
		return 2;
	}
	char src[1024], err[256], plugin_dir[512];
	snprintf(src, sizeof src,
	         "store = { uri = \"%s\", database = \"%s\", pool_max = 1, timeout = 2 }\n",
	         argv[1], argv[2]);
	snprintf(plugin_dir, sizeof plugin_dir, "%s/plugins", PARLEY_BUILD_DIR);
	struct config cfg = {0};
	if (!(cfg.root = conf_load("drive.conf", src, err, sizeof err))) {
		fprintf(stderr, "config: %s\n", err);
		return 2;
	}
	cfg.base_dir = cfg.data_dir = "/tmp";
	cfg.plugin_dir = plugin_dir;
	cfg.plugins[0].name = "store_mongo";
	cfg.plugins[0].section = conf_get(cfg.root, "store");
	cfg.plugins[1].name = "auth_local";
	cfg.n_plugins = 2;
	if (loop_init() != 0 || workers_start(1) != 0)
		return 2;
	ev_timer t;
	ev_timer_init(&t, tick, 0.05, 0.05);
	ev_timer_start(loop_ev, &t);
	if (plugins_load(&cfg, 1) != 0 || plugins_init() != 0)
		return 2;
	void *self;
	const parley_store_vtable *S = plugins_store(&self);
	parley_message m = {.room_id = argv[4],
	                    .user_id = argv[5],
	                    .text = argv[6],
	                    .client_id = argc > 7 ? argv[7] : NULL,
	                    .ts = 1000};
	int rc = S->append(self, &m, on_done, NULL);
	if (rc != PARLEY_PENDING) {
		printf("result rc=%d dup=0 seq=0 id=- error=refused\n", rc);
		fired = 1;
	}
	while (!fired)
		ev_run(loop_ev, EVRUN_ONCE);
	const char *linger = getenv("PARLEY_DRIVE_LINGER");
	time_t end = time(NULL) + (linger ? atoi(linger) : 0);
	while (time(NULL) < end)
		ev_run(loop_ev, EVRUN_ONCE);
	char why[512] = "";
	int ready = plugins_ready(why, sizeof why);
	printf("ready=%d %s\n", ready, why);
	fflush(stdout);
	plugins_fini();
	workers_stop();
	ev_timer_stop(loop_ev, &t);
	loop_fini();
	conf_free(cfg.root);
	return 0;
}
