#include "bench_store.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/server.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "base/workers.h"
#include "host/plugin_host.h"

static const char *prog = "bench";

const char *bench_default_plugin_dir(char *buf, size_t size)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(buf, size, "%s/../plugins", dirname(exe));
	return buf;
}

void bench_store_begin(struct bench_store *b, const char *name, const char *tag)
{
	memset(b, 0, sizeof *b);
	prog = name;
	server_tune_memory(); /* as the server does */
	snprintf(b->dir, sizeof b->dir, "%s/parley-%s-XXXXXX", getenv("TMPDIR") ?: "/tmp", tag);
	if (!mkdtemp(b->dir)) {
		fprintf(stderr, "%s: mkdtemp: %s\n", prog, strerror(errno));
		exit(1);
	}
	b->mongo_uri = getenv("PARLEY_BENCH_MONGO_URI");
	b->plugin = b->mongo_uri ? "store_mongo" : "store_sqlite";
}

void bench_store_load(struct bench_store *b, const char *plugin_dir, const char *store_conf)
{
	char err[256];
	/* The config, filled as config_load would: the store's section parsed by
	 * conf_load, auth_local (required beside a store) on its defaults. */
	b->cfg.root = conf_load("bench.conf", store_conf, err, sizeof err);
	if (!b->cfg.root) {
		fprintf(stderr, "%s: %s\n", prog, err);
		exit(1);
	}
	b->cfg.base_dir = b->dir;
	b->cfg.data_dir = b->dir;
	b->cfg.plugin_dir = (char *)plugin_dir;
	b->cfg.plugins[0].name = (char *)b->plugin;
	b->cfg.plugins[0].section = conf_get(b->cfg.root, "store");
	b->cfg.plugins[1].name = "auth_local";
	b->cfg.n_plugins = 2;
	log_set_level(LOG_WARN);
	if (loop_init() != 0 || workers_start(2) != 0)
		exit(1);
	metrics_init();
	/* As an admin command: auth_local leaves the store alone. */
	if (plugins_load(&b->cfg, 1) != 0 || plugins_init() != 0)
		exit(1);
	b->S = plugins_store(&b->self);
}

void bench_store_open(struct bench_store *b, const char *plugin_dir, const char *database,
                      const char *sqlite_path)
{
	char src[1024];
	if (b->mongo_uri)
		/* timeout 60: the test server scans every document for each
		 * query, slower than the default 5 s socket timeout at 50k. */
		snprintf(src, sizeof src,
		         "store = { uri = \"%s\", database = \"%s%d\", timeout = 60 }\n",
		         b->mongo_uri, database, (int)getpid());
	else
		snprintf(src, sizeof src, "store = { path = \"%s\" }\n",
		         sqlite_path ? sqlite_path : "bench.db");
	bench_store_load(b, plugin_dir, src);
}

int bench_store_end(struct bench_store *b)
{
	plugins_fini();
	workers_stop();
	loop_fini();
	conf_free(b->cfg.root);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
	return system(cmd) == 0 ? 0 : -1;
}

void bench_call_done(void *ud, const parley_store_result *res)
{
	struct bench_call *c = ud;
	c->fired = 1;
	c->rc = res->rc;
	if (res->rc == PARLEY_OK && res->n_users)
		snprintf(c->id, sizeof c->id, "%s", res->users[0].id);
	if (res->rc == PARLEY_OK && res->n_rooms)
		snprintf(c->id, sizeof c->id, "%s", res->rooms[0].id);
}

void bench_call_wait(struct bench_call *c, int rc, const char *what)
{
	if (rc != PARLEY_PENDING) {
		fprintf(stderr, "%s: %s refused (%d)\n", prog, what, rc);
		exit(1);
	}
	while (!c->fired)
		ev_run(loop_ev, EVRUN_ONCE);
	if (c->rc != PARLEY_OK) {
		fprintf(stderr, "%s: %s failed (%d)\n", prog, what, c->rc);
		exit(1);
	}
}

double bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
