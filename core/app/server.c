/* The serving process. Start-up order: loop → workers → curl → plugins
 * (check, init) → chat state from the store → router and listeners (also
 * when the load failed: it is retried on a timer, and until it works only
 * /healthz and /readyz serve). A stop
 * (SIGTERM/SIGINT) closes the listeners, sends every WebSocket close 1001,
 * and waits — at most limits.shutdown_timeout — for outbound queues to
 * drain; plugins' fini then finishes pending store commits before exit. */
#include "app/link_previews.h"
#include "app/server.h"
#include "app/backup_s3.h"
#include "app/backup_schedule.h"
#include "app/data_lock.h"
#include "base/serving_state.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "chat/chat.h"
#include "chat/chat_retention.h"
#include "base/config.h"
#include "net/conn.h"
#include "base/curl_loop.h"
#include "net/http.h"
#include "net/listener.h"
#include "net/net.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "host/server_secret.h"
#include "host/plugin_host.h"
#include "host/store_members.h"
#include "lua/scripts.h"
#include "net/static_files.h"
#include "net/tls.h"
#include "base/workers.h"
#include "api/uploads.h"
#include "net/ws.h"

#define SERVER_DRAIN_POLL      0.05 /* s between checks while stopping */
#define SERVER_MIN_WORKERS     2
#define SERVER_START_RETRY_MIN 1.0  /* s: first retry of the chat state's load */
#define SERVER_START_RETRY_MAX 10.0 /* s: the longest wait between retries */
#define SERVER_START_BACKOFF   2.0
/* Freed heap kept before glibc returns it to the kernel (see below). */
#define SERVER_TRIM_THRESHOLD (64 * 1024 * 1024)

static struct {
	ev_signal sigterm, sigint, sighup;
	ev_timer stop_timer;
	ev_timer drain_timer;
	ev_timer start_timer; /* the next load of the chat state */
	double start_delay;   /* s before that load; 0: none failed yet */
	int start_attempt;
	int listening;
	double stop_started;
	int stopping;
	int exit_code;
} srv;

int server_stopping(void)
{
	return srv.stopping;
}

static void drain_check(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)revents;
	double waited = ev_now(l) - srv.stop_started;
	if (conn_count() == 0 || waited >= server_config->limits.shutdown_timeout) {
		if (conn_count())
			log_warn("shutdown", NULL,
			         "%zu connections still open after %.1f s: closing", conn_count(),
			         waited);
		ev_timer_stop(l, w);
		ev_break(l, EVBREAK_ALL);
	}
}

void server_stop(void)
{
	if (srv.stopping)
		return;
	srv.stopping = 1;
	srv.stop_started = ev_now(loop_ev);
	log_info("shutdown", NULL, "stopping: no new connections, closing sessions");
	listener_stop();
	ev_timer_stop(loop_ev, &srv.start_timer);
	uploads_stop();
	backup_schedule_stop();
	link_previews_stop();
	chat_retention_stop();
	/* The close frames and what is queued before them may take the
	 * documented limits.shutdown_timeout, not the usual short drain. */
	conn_set_drain_bound(server_config->limits.shutdown_timeout);
	chat_shutdown();
	ev_timer_init(&srv.drain_timer, drain_check, SERVER_DRAIN_POLL, SERVER_DRAIN_POLL);
	ev_timer_start(loop_ev, &srv.drain_timer);
}

static void on_stop_signal(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)l;
	(void)revents;
	log_info("signal", NULL, "received %s", w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
	server_stop();
}

static void on_hup(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	log_info("signal", NULL, "received SIGHUP: reloading");
	/* What can change without a restart: the log level and the TLS
	 * certificates (same paths, new files). Listeners, limits and the
	 * plugin list need one; a broken file changes nothing. */
	if (server_config->file) {
		struct config fresh;
		struct config_overrides ov = {.check_only = 1};
		memset(&fresh, 0, sizeof fresh);
		if (config_load(&fresh, server_config->file, &ov) == 0) {
			log_set_level(fresh.log_level);
			log_info("reload", NULL, "log level now %s",
			         log_level_name(fresh.log_level));
		} else {
			log_error("reload", NULL, "%s has errors: keeping the running settings",
			          server_config->file);
		}
		config_free(&fresh);
	}
	listener_reload_tls();
	plugins_reload();
	json_decref(scripts_reload()); /* reports in the log */
}

/* Opens the listeners (once): after the first load of the chat state,
 * whether it worked or not, so a store that answers at once gives a server
 * that serves from its first connection, and one that does not still gives
 * /healthz and a /readyz that says why. */
static int listeners_open(void)
{
	if (srv.listening)
		return 0;
	http_set_router(api_route);
	http_set_stream_predicate(api_streams_body);
	ws_set_app(&chat_ws_app);
	if (listener_start(server_config) < 0) {
		srv.exit_code = 1;
		ev_break(loop_ev, EVBREAK_ALL);
		return -1;
	}
	srv.listening = 1;
	return 0;
}

static void chat_ready(int ok);

static void start_retry(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	srv.start_attempt++;
	log_info("startup_retry", NULL, "loading the chat state from the store: attempt %d",
	         srv.start_attempt);
	if (chat_start_again() < 0)
		chat_ready(0);
}

/* The store did not answer (a database not up yet, or down): try again on
 * a timer, 1 s after the first failure, doubling up to 10 s. The loop
 * keeps serving /healthz and /readyz meanwhile. */
static void start_later(void)
{
	srv.start_delay =
	    srv.start_delay > 0 ? srv.start_delay * SERVER_START_BACKOFF : SERVER_START_RETRY_MIN;
	if (srv.start_delay > SERVER_START_RETRY_MAX)
		srv.start_delay = SERVER_START_RETRY_MAX;
	const char *why = chat_start_error();
	log_warn("startup", NULL, "%s: trying again in %.0f s (attempt %d failed)", why,
	         srv.start_delay, srv.start_attempt);
	serving_state_waiting(
	    (int64_t)(srv.start_delay * 1000),
	    "loading the chat state from the store: %s (attempt %d; next in %.0f s)", why,
	    srv.start_attempt, srv.start_delay);
	ev_timer_init(&srv.start_timer, start_retry, srv.start_delay, 0.);
	ev_timer_start(loop_ev, &srv.start_timer);
}

static void chat_ready(int ok)
{
	if (srv.stopping)
		return;
	if (listeners_open() < 0)
		return;
	if (!ok) {
		start_later();
		return;
	}
	/* Scripts after the chat state: their bots are users. A script that
	 * fails to load is reported; the server serves without it. */
	scripts_start(server_config);
	uploads_start();
	link_previews_start(server_config);
	chat_retention_start();
	backup_schedule_start(server_config);
	serving_state_ready();
	if (srv.start_attempt > 1)
		log_info("startup", NULL, "the store answered: chat state loaded at attempt %d",
		         srv.start_attempt);
	log_info("ready", NULL, "parley %s serving", PARLEY_VERSION);
}

void server_tune_memory(void)
{
	/* The store's writer thread allocates and frees a batch's worth of
	 * memory per group commit; with glibc's default trim threshold every
	 * batch ends in madvise (TLB shootdowns on the other core) and the
	 * next one page-faults it back: measured at ~40 % of the store
	 * benchmark's CPU (plugins/store_sqlite/README.md). */
	mallopt(M_TRIM_THRESHOLD, SERVER_TRIM_THRESHOLD);
}

int server_run(struct config *cfg)
{
	server_tune_memory();
	server_config = cfg;
	signal(SIGPIPE, SIG_IGN);
	log_set_level(cfg->log_level);
	if (tls_check_config(cfg) > 0)
		return 1; /* each reported at its config line */
	metrics_init();
	if (loop_init() < 0) {
		fprintf(stderr, "parley: cannot create the event loop\n");
		return 1;
	}
	int nworkers = (int)cfg->limits.workers;
	if (nworkers <= 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		nworkers = ncpu > SERVER_MIN_WORKERS ? (int)ncpu : SERVER_MIN_WORKERS;
	}
	srv.exit_code = 1;
	/* Before anything opens the data: a second server would serve beside
	 * this one from stale in-memory state. */
	char why[1024];
	if (data_lock_take(cfg->data_dir, why, sizeof why) < 0) {
		log_error("data_dir_locked", NULL, "%s", why);
		fprintf(stderr, "parley: %s\n", why);
		goto out_loop;
	}
	if (workers_start(nworkers) < 0 || curl_loop_init() < 0)
		goto out_lock;
	net_module_init(cfg);
	static_files_init(cfg);
	static_files_set_media_origin(downloads_redirect_origin);
	if (backup_s3_is(cfg->backup.to) &&
	    backup_s3_check(cfg, cfg->backup.to, why, sizeof why) < 0) {
		log_error("config", NULL, "backup.to = %s", why);
		goto out_workers;
	}
	if (plugins_load(cfg, 0) < 0)
		goto out_workers;
	if (plugins_init() < 0)
		goto out_plugins;
	/* The store holds the key every node signs with (or server.key). */
	if (server_secret_load(cfg->data_dir) < 0)
		goto out_plugins;
	store_members_log();
	srv.start_attempt = 1;
	if (chat_start(chat_ready) < 0)
		goto out_plugins;

	ev_signal_init(&srv.sigterm, on_stop_signal, SIGTERM);
	ev_signal_init(&srv.sigint, on_stop_signal, SIGINT);
	ev_signal_init(&srv.sighup, on_hup, SIGHUP);
	ev_signal_start(loop_ev, &srv.sigterm);
	ev_signal_start(loop_ev, &srv.sigint);
	ev_signal_start(loop_ev, &srv.sighup);

	srv.exit_code = 0;
	ev_run(loop_ev, 0);

	ev_signal_stop(loop_ev, &srv.sigterm);
	ev_signal_stop(loop_ev, &srv.sigint);
	ev_signal_stop(loop_ev, &srv.sighup);
	listener_stop();
	net_module_fini();
	tls_module_fini(); /* after the last TLS connection is gone */
out_plugins:
	backup_schedule_stop();
	link_previews_stop(); /* its transfers end before the curl loop does */
	scripts_fini();
	/* fini drains the store's writer: every accepted write is committed. */
	plugins_fini();
	loop_drain_posts();
	chat_fini();
	api_fini();
out_workers:
	workers_stop();
	curl_loop_fini();
out_lock:
	data_lock_release();
out_loop:
	loop_fini();
	metrics_free_all();
	log_info("exit", NULL, "parley stopped (exit code %d)", srv.exit_code);
	return srv.exit_code;
}
